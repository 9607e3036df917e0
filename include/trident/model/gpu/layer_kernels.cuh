#pragma once
/// \file model/gpu/layer_kernels.cuh
/// `trident::model::gpu::layer_kernels`: one built-in layer (dense, relu, gelu, layer_norm) on a GPU
/// `trident::device`: device copies of its parameters and gradients (device_tensors booked on the
/// device) and its forward, backward_input and backward_weight on device memory, enqueued on a CUDA
/// stream.  The same conventions as the CPU layer, so that a buffer means the same thing on both:
/// the parameter layout ([W (out x in, row-major), b] for dense, [gain, bias] for layer_norm),
/// `saved` (layer_norm: per row mean then 1/stddev), backward_weight ADDING into the gradients.
/// Only nvcc sees this header.
///
/// \code
///   namespace mp = trident::model; namespace mg = trident::model::gpu;
///   trident::device g = trident::gpu_device(0, 1_GiB);
///   mp::any_layer cpu = mp::dense(64, 32, /*seed*/ 1);
///   mg::layer_kernels k(cpu, g);                        // parameters and gradients copied to the GPU
///   mg::device_tensor x(g, 8, 64, "x"), y(g, 8, 32, "y"), dy(g, 8, 32, "dy"), dx(g, 8, 64, "dx");
///   k.forward(x.view(), y.view(), {}, stream);          // y = x W^T + b (cuBLAS)
///   k.backward_input(x.view(), y.view(), {}, dy.view(), dx.view(), stream);   // dx = dy W
///   k.backward_weight(x.view(), y.view(), {}, dy.view(), stream);            // dW += dy^T x, db += sums
///   k.download_parameters(cpu, stream);                 // back into the CPU layer
/// \endcode
///
/// - dense: products through trident::gemm under trident::gpu (cuBLAS, full FP32: no TF32), bias
///   rows written first (forward), the bias gradient added one thread per column over the rows in
///   order.  relu, gelu (erf form): element-wise.  layer_norm: one warp per row, statistics in
///   double combined in a fixed order; gain and bias gradients one thread per feature over the rows
///   in order.  No atomics: two runs give the same bits.  Results equal the CPU layer's within
///   rounding (products and per-row sums add in another order; erff/expf differ in the last bits);
///   sums over rows and element-wise products are rounded as the CPU rounds them.
/// - Views and `saved` are device memory of the device's CUDA index (checked: a host pointer is
///   std::invalid_argument, never a kernel fault).  Calls only enqueue work on `stream` (a stream
///   of that device; nullptr: the calling thread's default stream) and return; the caller
///   synchronises before reading results on the host.  upload_*/download_* wait for `stream`.
/// - relu and gelu do not split their backward (splits_backward() false): backward_input computes
///   dx and backward_weight does nothing, as any_layer does on the CPU.
///
/// Complexity: dense O(rows * in * out) on the GPU; the others O(rows * features).
/// \throws std::invalid_argument for a CPU device, a layer with no GPU implementation (naming it and
///   the layers that run on a GPU), shapes that do not fit (the CPU layer's sentences), views that
///   are not memory of the device; trident::out_of_memory when the parameters and gradients do not
///   fit the budget; trident::cuda_error naming the failed CUDA or cuBLAS call.

#if !defined(__CUDACC__)
#  error "trident/model/gpu/layer_kernels.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/data/gemm.hpp"
#include "trident/detail/layer_shapes.hpp"
#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/any_layer.hpp"
#include "trident/model/gpu/detail/layer_kernels.cuh"
#include "trident/model/gpu/detail/launch.cuh"
#include "trident/model/gpu/device_tensor.cuh"
#include "trident/model/layers/dense.hpp"
#include "trident/model/layers/gelu.hpp"
#include "trident/model/layers/layer_norm.hpp"
#include "trident/model/layers/relu.hpp"
#include "trident/policy.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

namespace trident::model::gpu {

enum class layer_kind { dense, relu, gelu, layer_norm };

class layer_kernels {
public:
    /// The GPU form of `layer` on `dev`; its parameters and gradients are copied to the device.
    layer_kernels(any_layer& layer, const trident::device& dev) : device_(dev), name_(layer.name())
    {
        detail::require_gpu_device(dev, "layer_kernels");
        if (const auto* d = layer.target<model::dense>()) {
            kind_ = layer_kind::dense;
            in_ = d->input_features();
            out_ = d->output_features();
        } else if (layer.target<model::relu>()) {
            kind_ = layer_kind::relu;
        } else if (layer.target<model::gelu>()) {
            kind_ = layer_kind::gelu;
        } else if (const auto* n = layer.target<model::layer_norm>()) {
            kind_ = layer_kind::layer_norm;
            in_ = out_ = n->input_features();
            epsilon_ = n->epsilon();
        } else {
            throw std::invalid_argument("trident::model::gpu::layer_kernels: layer '" + name_ +
                                        "' has no GPU implementation; the layers that run on a GPU are dense, "
                                        "relu, gelu and layer_norm (a user layer runs on CPU devices)");
        }
        const std::size_t n = layer.parameters().size();
        parameters_ = device_tensor(dev, 1, n, name_ + " parameters");
        gradients_ = device_tensor(dev, 1, n, name_ + " gradients");
        parameters_.upload(layer.parameters());
        gradients_.upload(layer.gradients());
    }

    [[nodiscard]] layer_kind kind() const noexcept { return kind_; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] const trident::device& device() const noexcept { return device_; }
    [[nodiscard]] bool splits_backward() const noexcept
    {
        return kind_ == layer_kind::dense || kind_ == layer_kind::layer_norm;
    }
    [[nodiscard]] std::size_t output_features(std::size_t in) const
    {
        if (kind_ == layer_kind::relu || kind_ == layer_kind::gelu)
            return in;
        trident::detail::check_input_features(name_, in_, in);
        return out_;
    }
    [[nodiscard]] std::size_t saved_floats(std::size_t rows, std::size_t /*in*/) const noexcept
    {
        return kind_ == layer_kind::layer_norm ? 2 * rows : 0;
    }
    /// The device copies (1 x n floats, the CPU layer's layout).
    [[nodiscard]] device_tensor& parameters() noexcept { return parameters_; }
    [[nodiscard]] const device_tensor& parameters() const noexcept { return parameters_; }
    [[nodiscard]] device_tensor& gradients() noexcept { return gradients_; }
    [[nodiscard]] const device_tensor& gradients() const noexcept { return gradients_; }

    void forward(matrix_view<const float> x, matrix_view<float> y, std::span<float> saved,
                 cudaStream_t stream = nullptr) const
    {
        const std::size_t rows = x.rows(), out = output_features(x.cols());
        trident::detail::check_shape(name_, "out", y, rows, out);
        check_saved(saved.size(), rows);
        require_memory(x, "in");
        require_memory(y, "out");
        if (kind_ == layer_kind::layer_norm)
            require_memory(saved_view(saved), "saved");
        const trident::detail::device_guard guard(device_.gpu_index());
        const cudaStream_t s = detail::stream_or_default(stream);
        switch (kind_) {
        case layer_kind::dense:
            detail::launch_each(rows, out, detail::bias_rows_op{bias(), y.data(), y.stride()}, s,
                                "launch of the dense bias kernel");
            if (rows != 0)
                trident::gemm(on(s), x, weight(), y, gemm_options<float>{.alpha = 1.0f, .beta = 1.0f, .transpose_b = true});
            break;
        case layer_kind::relu:
            detail::launch_each(rows, out, detail::relu_forward_op{x.data(), x.stride(), y.data(), y.stride()}, s,
                                "launch of the relu forward kernel");
            break;
        case layer_kind::gelu:
            detail::launch_each(rows, out, detail::gelu_forward_op{x.data(), x.stride(), y.data(), y.stride()}, s,
                                "launch of the gelu forward kernel");
            break;
        case layer_kind::layer_norm:
            if (rows == 0)
                break;
            detail::layer_norm_forward<><<<detail::blocks_for_rows(rows), detail::block_threads, 0, s>>>(
                rows, in_, x.data(), x.stride(), parameters_.data(), parameters_.data() + in_, y.data(), y.stride(),
                saved.data(), epsilon_);
            trident::detail::cuda_check(cudaGetLastError(), "launch of the layer_norm forward kernel", __FILE__, __LINE__);
            break;
        }
    }

    /// Writes dx (for relu and gelu the whole backward: they have no weights).
    void backward_input(matrix_view<const float> x, matrix_view<const float> y, std::span<const float> saved,
                        matrix_view<const float> dy, matrix_view<float> dx, cudaStream_t stream = nullptr) const
    {
        check_backward(x, y, saved, dy);
        trident::detail::check_shape(name_, "grad_in", dx, x.rows(), x.cols());
        require_memory(dx, "grad_in");
        const std::size_t rows = x.rows(), n = x.cols();
        const trident::detail::device_guard guard(device_.gpu_index());
        const cudaStream_t s = detail::stream_or_default(stream);
        switch (kind_) {
        case layer_kind::dense:
            if (rows != 0)
                trident::gemm(on(s), dy, weight(), dx, gemm_options<float>{});
            break;
        case layer_kind::relu:
            detail::launch_each(rows, n,
                                detail::relu_backward_op{x.data(), x.stride(), dy.data(), dy.stride(), dx.data(),
                                                         dx.stride()},
                                s, "launch of the relu backward kernel");
            break;
        case layer_kind::gelu:
            detail::launch_each(rows, n,
                                detail::gelu_backward_op{x.data(), x.stride(), dy.data(), dy.stride(), dx.data(),
                                                         dx.stride()},
                                s, "launch of the gelu backward kernel");
            break;
        case layer_kind::layer_norm:
            if (rows == 0)
                break;
            detail::layer_norm_backward_input<><<<detail::blocks_for_rows(rows), detail::block_threads, 0, s>>>(
                rows, n, x.data(), x.stride(), saved.data(), parameters_.data(), dy.data(), dy.stride(), dx.data(),
                dx.stride());
            trident::detail::cuda_check(cudaGetLastError(), "launch of the layer_norm backward_input kernel", __FILE__,
                                        __LINE__);
            break;
        }
    }

    /// ADDS the weight gradients of this micro-batch into gradients() (nothing for relu and gelu).
    void backward_weight(matrix_view<const float> x, matrix_view<const float> y, std::span<const float> saved,
                         matrix_view<const float> dy, cudaStream_t stream = nullptr)
    {
        check_backward(x, y, saved, dy);
        const std::size_t rows = x.rows();
        if (rows == 0 || !splits_backward())
            return;
        const trident::detail::device_guard guard(device_.gpu_index());
        const cudaStream_t s = detail::stream_or_default(stream);
        float* g = gradients_.data();
        if (kind_ == layer_kind::dense) {
            trident::gemm(on(s), dy, x, matrix_view<float>(g, out_, in_),
                          gemm_options<float>{.alpha = 1.0f, .beta = 1.0f, .transpose_a = true});
            detail::add_column_sums<><<<detail::blocks_for(out_), detail::block_threads, 0, s>>>(
                rows, out_, dy.data(), dy.stride(), g + in_ * out_);
            trident::detail::cuda_check(cudaGetLastError(), "launch of the dense bias-gradient kernel", __FILE__,
                                        __LINE__);
        } else {
            detail::layer_norm_backward_weight<><<<detail::blocks_for(in_), detail::block_threads, 0, s>>>(
                rows, in_, x.data(), x.stride(), saved.data(), dy.data(), dy.stride(), g, g + in_);
            trident::detail::cuda_check(cudaGetLastError(), "launch of the layer_norm backward_weight kernel",
                                        __FILE__, __LINE__);
        }
    }

    /// Both parts: dx written, weight gradients added.
    void backward(matrix_view<const float> x, matrix_view<const float> y, std::span<const float> saved,
                  matrix_view<const float> dy, matrix_view<float> dx, cudaStream_t stream = nullptr)
    {
        backward_input(x, y, saved, dy, dx, stream);
        backward_weight(x, y, saved, dy, stream);
    }

    /// Parameters from / to the host (the layer's layout and size); return with the copy done.
    void upload_parameters(std::span<const float> host, cudaStream_t stream = nullptr) { parameters_.upload(host, stream); }
    void download_parameters(std::span<float> host, cudaStream_t stream = nullptr) const
    {
        parameters_.download(host, stream);
    }
    void download_gradients(std::span<float> host, cudaStream_t stream = nullptr) const
    {
        gradients_.download(host, stream);
    }
    /// Into the CPU layer (the same kind and shape as the one these kernels were made from).
    void download_parameters(any_layer& layer, cudaStream_t stream = nullptr) const
    {
        download_parameters(layer.parameters(), stream);
    }
    void download_gradients(any_layer& layer, cudaStream_t stream = nullptr) const
    {
        download_gradients(layer.gradients(), stream);
    }
    /// Gradients = 0, enqueued on `stream`.
    void zero_gradients(cudaStream_t stream = nullptr) { gradients_.fill_zero(stream); }

private:
    [[nodiscard]] gpu_policy on(cudaStream_t s) const { return trident::gpu.device(device_.gpu_index()).stream(s); }
    [[nodiscard]] matrix_view<const float> weight() const { return {parameters_.data(), out_, in_}; }
    [[nodiscard]] const float* bias() const noexcept { return parameters_.data() + in_ * out_; }
    static matrix_view<const float> saved_view(std::span<const float> saved)
    {
        return {saved.data(), saved.empty() ? std::size_t{0} : std::size_t{1}, saved.size()};
    }
    void check_saved(std::size_t got, std::size_t rows) const
    {
        if (kind_ == layer_kind::layer_norm)
            trident::detail::check_saved(name_, got, 2 * rows);
    }
    template <class T>
    void require_memory(const matrix_view<T>& v, const char* what) const
    {
        detail::require_device_view(v, device_.gpu_index(), name_, what);
    }
    void check_backward(matrix_view<const float> x, matrix_view<const float> y, std::span<const float> saved,
                        matrix_view<const float> dy) const
    {
        const std::size_t out = output_features(x.cols());
        if (splits_backward()) // as on the CPU: relu and gelu never read their output
            trident::detail::check_shape(name_, "out", y, x.rows(), out);
        trident::detail::check_shape(name_, "grad_out", dy, x.rows(), out);
        check_saved(saved.size(), x.rows());
        require_memory(x, "in");
        require_memory(dy, "grad_out");
        if (kind_ == layer_kind::layer_norm)
            require_memory(saved_view(saved), "saved");
    }

    trident::device device_;
    std::string name_;
    layer_kind kind_ = layer_kind::relu;
    std::size_t in_ = 0, out_ = 0; // dense: in, out; layer_norm: features twice
    float epsilon_ = 0.0f;
    device_tensor parameters_;
    device_tensor gradients_;
};

} // namespace trident::model::gpu
