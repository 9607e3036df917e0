#pragma once
/// \file model/gpu/loss_kernels.cuh
/// `trident::model::gpu::loss_kernels`: the losses of model/loss.hpp (softmax_cross_entropy,
/// mean_squared_error) on device memory of a GPU `trident::device`, with loss.hpp's conventions:
/// `value` is the loss SUMMED over the rows (double), `gradient(..., scale)` writes scale times its
/// derivative; cross-entropy targets are rows x 1 class indices stored as float.  Only nvcc sees this
/// header.
///
/// \code
///   namespace mg = trident::model::gpu;
///   mg::loss_kernels ce(g, trident::model::softmax_cross_entropy{});
///   double sum = ce.value_and_gradient(logits.view(), targets.view(), grad.view(), 1.0f / 64, stream);
/// \endcode
///
/// - One warp per row: the row's maximum, then the sum of exp(z - max) (or of squared differences)
///   in double, combined by a fixed butterfly; each row's loss goes to device scratch and the host
///   adds the rows in row order, as loss.hpp does.  Deterministic; equal to the CPU loss within
///   double rounding.  The gradient is computed per element in double and rounded once, as on the
///   CPU.
/// - value() and value_and_gradient() return the value, so they wait for `stream`.  Cross-entropy's
///   gradient() waits too: it reports a target that is not a class index (as the CPU loss does, with
///   the same sentence).  mean_squared_error's gradient() only enqueues its kernel.
/// - Scratch: rows doubles and one flag, booked on the device for the call ("<loss> row losses").
/// - Views are device memory of the device's CUDA index (checked); `stream` a stream of that device
///   (nullptr: the calling thread's default stream).
///
/// Complexity: O(rows * cols) on the GPU, O(rows) on the host for value.
/// \throws std::invalid_argument for a CPU device, shapes that do not fit, views not on the device, a
///   cross-entropy target that is not an integer in [0, cols) (naming the row and the value; grad is
///   then unspecified); trident::out_of_memory for the scratch; trident::cuda_error naming the call.

#if !defined(__CUDACC__)
#  error "trident/model/gpu/loss_kernels.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/backend/cuda/memory.cuh"
#include "trident/detail/layer_shapes.hpp"
#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/gpu/detail/layer_kernels.cuh"
#include "trident/model/gpu/detail/launch.cuh"
#include "trident/model/gpu/device_tensor.cuh"
#include "trident/model/loss.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace trident::model::gpu {

namespace detail {

inline constexpr unsigned long long no_bad_row = ~0ull;

/// softmax_cross_entropy, one warp per row: row_loss[r] = logsumexp(z_r) - z_r[t_r] (when row_loss),
/// grad_r = scale (softmax(z_r) - onehot(t_r)) (when grad); a row whose target is not a class index
/// lowers *bad_row to its index and is skipped.
template <int = 0>
__global__ void __launch_bounds__(block_threads)
    cross_entropy_rows(std::size_t rows, std::size_t cols, const float* z, std::size_t sz, const float* t,
                       std::size_t st, float* grad, std::size_t sg, float scale, double* row_loss,
                       unsigned long long* bad_row)
{
    const std::size_t lane = threadIdx.x % warp_threads;
    const std::size_t warps = thread_count() / warp_threads;
    for (std::size_t r = thread_index() / warp_threads; r < rows; r += warps) {
        const float tv = t[r * st];
        if (!(tv >= 0.0f) || tv != floorf(tv) || static_cast<double>(tv) >= static_cast<double>(cols)) {
            if (lane == 0)
                atomicMin(bad_row, static_cast<unsigned long long>(r)); // only the lowest bad row is kept
            continue; // the whole warp: tv is the same on every lane
        }
        const auto target = static_cast<std::size_t>(tv);
        const float* zr = z + r * sz;
        float m = zr[0];
        for (std::size_t j = lane; j < cols; j += warp_threads)
            m = fmaxf(m, zr[j]);
        const double max = warp_max(m);
        double sum = 0.0;
        for (std::size_t j = lane; j < cols; j += warp_threads)
            sum += exp(static_cast<double>(zr[j]) - max);
        sum = warp_sum(sum);
        if (row_loss != nullptr && lane == 0)
            row_loss[r] = log(sum) + max - static_cast<double>(zr[target]);
        if (grad != nullptr) {
            float* gr = grad + r * sg;
            for (std::size_t j = lane; j < cols; j += warp_threads) {
                const double p = exp(static_cast<double>(zr[j]) - max) / sum;
                gr[j] = static_cast<float>(static_cast<double>(scale) * (p - (j == target ? 1.0 : 0.0)));
            }
        }
    }
}

/// mean_squared_error's value, one warp per row: row_loss[r] = mean over the columns of (z - t)^2.
template <int = 0>
__global__ void __launch_bounds__(block_threads) squared_error_rows(std::size_t rows, std::size_t cols, const float* z,
                                                                    std::size_t sz, const float* t, std::size_t st,
                                                                    double* row_loss)
{
    const std::size_t lane = threadIdx.x % warp_threads;
    const std::size_t warps = thread_count() / warp_threads;
    for (std::size_t r = thread_index() / warp_threads; r < rows; r += warps) {
        double s = 0.0;
        for (std::size_t j = lane; j < cols; j += warp_threads) {
            const double d = static_cast<double>(z[r * sz + j]) - t[r * st + j];
            s += d * d;
        }
        s = warp_sum(s);
        if (lane == 0)
            row_loss[r] = cols != 0 ? s / static_cast<double>(cols) : 0.0;
    }
}

struct squared_error_gradient_op { // g = factor (z - t), in double, rounded once
    const float* z;
    std::size_t sz;
    const float* t;
    std::size_t st;
    float* g;
    std::size_t sg;
    double factor;
    __device__ void operator()(std::size_t r, std::size_t c) const
    {
        g[r * sg + c] = static_cast<float>(factor * (static_cast<double>(z[r * sz + c]) - t[r * st + c]));
    }
};

} // namespace detail

template <class Loss>
class loss_kernels {
    static_assert(std::is_same_v<Loss, softmax_cross_entropy> || std::is_same_v<Loss, mean_squared_error>,
                  "trident::model::gpu::loss_kernels: the losses that run on a GPU are softmax_cross_entropy and "
                  "mean_squared_error");

public:
    loss_kernels(const trident::device& dev, Loss loss = {}) : device_(dev), loss_(loss)
    {
        detail::require_gpu_device(dev, "loss_kernels");
    }

    [[nodiscard]] std::string name() const { return loss_.name(); }
    [[nodiscard]] std::size_t target_features(std::size_t logits_cols) const
    {
        return loss_.target_features(logits_cols);
    }

    /// The loss summed over the rows; waits for `stream`.
    [[nodiscard]] double value(matrix_view<const float> logits, matrix_view<const float> targets,
                               cudaStream_t stream = nullptr) const
    {
        return run(logits, targets, nullptr, 0.0f, true, stream);
    }
    /// grad = scale * d(value)/d(logits).  Cross-entropy waits for `stream` (it checks the targets).
    void gradient(matrix_view<const float> logits, matrix_view<const float> targets, matrix_view<float> grad,
                  float scale, cudaStream_t stream = nullptr) const
    {
        (void)run(logits, targets, &grad, scale, false, stream);
    }
    /// Both in one pass; waits for `stream`.
    double value_and_gradient(matrix_view<const float> logits, matrix_view<const float> targets,
                              matrix_view<float> grad, float scale, cudaStream_t stream = nullptr) const
    {
        return run(logits, targets, &grad, scale, true, stream);
    }

private:
    static constexpr bool cross_entropy = std::is_same_v<Loss, softmax_cross_entropy>;

    double run(matrix_view<const float> z, matrix_view<const float> t, const matrix_view<float>* grad, float scale,
               bool want_value, cudaStream_t stream) const
    {
        const std::string who = name();
        if (cross_entropy && z.cols() == 0)
            throw std::invalid_argument("trident::model::softmax_cross_entropy: logits have no columns");
        trident::detail::check_shape(who, "targets", t, z.rows(), target_features(z.cols()));
        if (grad)
            trident::detail::check_shape(who, "grad", *grad, z.rows(), z.cols());
        const int index = device_.gpu_index();
        detail::require_device_view(z, index, who, "logits");
        detail::require_device_view(t, index, who, "targets");
        if (grad)
            detail::require_device_view(*grad, index, who, "grad");
        const std::size_t rows = z.rows(), cols = z.cols();
        if (rows == 0)
            return 0.0;
        const trident::detail::device_guard guard(index);
        const cudaStream_t s = detail::stream_or_default(stream);
        if (!cross_entropy && !want_value) { // MSE's gradient alone: element-wise, nothing to wait for
            detail::launch_each(rows, cols, gradient_op(z, t, *grad, scale), s,
                                "launch of the mean_squared_error gradient kernel");
            return 0.0;
        }
        const memory_lease lease =
            device_.reserve(rows * sizeof(double) + sizeof(unsigned long long), who + " row losses");
        trident::detail::scratch<double> row_loss(rows, index, s);
        trident::detail::scratch<unsigned long long> bad_row(1, index, s);
        TRIDENT_CUDA_CHECK(cudaMemsetAsync(bad_row.get(), 0xff, sizeof(unsigned long long), s)); // no_bad_row
        const unsigned blocks = detail::blocks_for_rows(rows);
        if constexpr (cross_entropy) {
            detail::cross_entropy_rows<><<<blocks, detail::block_threads, 0, s>>>(
                rows, cols, z.data(), z.stride(), t.data(), t.stride(), grad ? grad->data() : nullptr,
                grad ? grad->stride() : 0, scale, want_value ? row_loss.get() : nullptr, bad_row.get());
            trident::detail::cuda_check(cudaGetLastError(), "launch of the softmax_cross_entropy kernel", __FILE__,
                                        __LINE__);
        } else {
            detail::squared_error_rows<><<<blocks, detail::block_threads, 0, s>>>(rows, cols, z.data(), z.stride(),
                                                                                  t.data(), t.stride(), row_loss.get());
            trident::detail::cuda_check(cudaGetLastError(), "launch of the mean_squared_error kernel", __FILE__,
                                        __LINE__);
            if (grad)
                detail::launch_each(rows, cols, gradient_op(z, t, *grad, scale), s,
                                    "launch of the mean_squared_error gradient kernel");
        }
        std::vector<double> host(want_value ? rows : 0);
        unsigned long long bad = detail::no_bad_row;
        if (want_value)
            TRIDENT_CUDA_CHECK(cudaMemcpyAsync(host.data(), row_loss.get(), rows * sizeof(double),
                                               cudaMemcpyDeviceToHost, s));
        TRIDENT_CUDA_CHECK(cudaMemcpyAsync(&bad, bad_row.get(), sizeof bad, cudaMemcpyDeviceToHost, s));
        TRIDENT_CUDA_CHECK(cudaStreamSynchronize(s));
        if (bad != detail::no_bad_row) {
            float value = 0.0f;
            TRIDENT_CUDA_CHECK(cudaMemcpyAsync(&value, t.data() + bad * t.stride(), sizeof value,
                                               cudaMemcpyDeviceToHost, s));
            TRIDENT_CUDA_CHECK(cudaStreamSynchronize(s));
            throw std::invalid_argument("trident::model::softmax_cross_entropy: target of row " + std::to_string(bad) +
                                        " is " + std::to_string(value) + ", not a class index in [0, " +
                                        std::to_string(cols) + ")");
        }
        double total = 0.0;
        for (const double v : host) // row order, as loss.hpp adds them
            total += v;
        return total;
    }

    static detail::squared_error_gradient_op gradient_op(matrix_view<const float> z, matrix_view<const float> t,
                                                         matrix_view<float> g, float scale)
    {
        const double factor = 2.0 * scale / static_cast<double>(z.cols() ? z.cols() : 1);
        return {z.data(), z.stride(), t.data(), t.stride(), g.data(), g.stride(), factor};
    }

    trident::device device_;
    Loss loss_;
};

template <class Loss>
loss_kernels(const trident::device&, Loss) -> loss_kernels<Loss>;

} // namespace trident::model::gpu
