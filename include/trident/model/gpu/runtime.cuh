#pragma once
/// \file model/gpu/runtime.cuh
/// The GPU stage runtime of a pipeline plan (nvcc only; included by <trident/model/gpu.cuh>):
/// including it in one .cu file of a program lets `model::shard` place stages on GPU devices
/// (without it, shard() refuses a GPU device and says to include <trident/model/gpu.cuh>).  It
/// installs, before main, the factory of model/detail/gpu_hooks.hpp; there is nothing to call.
///
/// \code
///   // train.cu, compiled by nvcc
///   #include <trident/trident.hpp>
///   #include <trident/model/gpu.cuh>
///   namespace mp = trident::model;
///   std::vector<trident::device> devices{trident::gpu_device(0, 1_GiB, "g0"), trident::gpu_device(0, 1_GiB, "g1")};
///   auto plan = mp::shard(net, devices, {.micro_batches = 4, .batch_size = 64});
///   plan.step(x, y);                                      // net's parameters are the trained ones
/// \endcode
///
/// What a GPU device of a plan does:
/// - At shard(): one `layer_kernels` per layer of its stages (parameters and gradients copied to
///   the device) and the optimizer's state as a device_tensor per layer, all booked on the GPU
///   device (not through the CPU bookings); one CUDA stream (non-blocking) for all its work, driven
///   by the device's one host thread in a step.
/// - In a step: the gradients zeroed on the device; each F / B / W of the device's action list on
///   the stream, the activations between a stage's layers, the saved floats and the gradients
///   kept for W in device memory booked on the device (recomputation: only the stage's input kept).
///   Messages stay in GPU memory: an activation or gradient leaving the stage is a device_tensor
///   carried by the message (a buffer's device_payload), complete when sent (the stream is
///   synchronised first).  A GPU device receiving it takes the tensor as it is when it lives on its
///   own CUDA device (two budgets of one GPU: no copy, the booking moves), else copies it with
///   cudaMemcpyPeerAsync; a CPU device receiving it gets a host copy (buffer::rebook).  A host
///   message arriving from a CPU device is uploaded; stage 0 uploads its rows of x; the last stage
///   uploads its targets and computes the loss with `loss_kernels`.
/// - After the step: the optimizer (`gpu::update`) on the device, then the parameters and
///   gradients downloaded into the network's host layers, so that `net` holds the trained values
///   as on a CPU device.  Parameters changed on the host after shard() are not seen by the GPU.
/// - Results: the same kernels in the same micro-batch order for every schedule, so every built-in
///   schedule gives the same bits on a GPU plan; against a CPU plan or reference_trainer, equal
///   within float rounding (layer_kernels.cuh says where the order of additions differs).
/// - Costs: a GPU first device is not profiled (estimated costs, costs_from::estimate).
/// - Memory: the plan's memory model (plan_memory.hpp) is a CPU stage's; a GPU stage also books on
///   its device, in a step, a second copy of a message while it is uploaded or copied from another
///   GPU, the copy of its output activation that it sends (the output itself is kept for
///   backward), the targets' device copy and loss_kernels' scratch: a budget cut to the predicted
///   peak can be exceeded in the step (out_of_memory, reaching the caller as a stage_error).
///
/// \throws (from shard()) std::invalid_argument for a layer with no GPU implementation on a GPU
///   stage; trident::out_of_memory naming the GPU device when its parameters, gradients or state do
///   not fit; trident::device_unavailable / trident::cuda_error from CUDA.  In a step, any of these
///   reaches the caller as a stage_error naming the stage and micro-batch, as on a CPU device.

#if !defined(__CUDACC__)
#  error "trident/model/gpu/runtime.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/detail/cpu_executor.hpp"
#include "trident/model/detail/gpu_hooks.hpp"
#include "trident/model/gpu/device_tensor.cuh"
#include "trident/model/gpu/layer_kernels.cuh"
#include "trident/model/gpu/loss_kernels.cuh"
#include "trident/model/gpu/optimizer_kernels.cuh"

#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace trident::model::gpu::detail {

using model::detail::buffer;
using model::detail::stage_layout;
using model::detail::step_context;
using model::detail::step_label;

/// A non-blocking CUDA stream of one device, synchronised and destroyed with its owner.
class owned_stream {
public:
    explicit owned_stream(int index) : index_(index)
    {
        trident::detail::require_device(index);
        const trident::detail::device_guard guard(index);
        TRIDENT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    }
    owned_stream(const owned_stream&) = delete;
    owned_stream& operator=(const owned_stream&) = delete;
    ~owned_stream()
    {
        int previous = -1;
        const bool switched =
            cudaGetDevice(&previous) == cudaSuccess && previous != index_ && cudaSetDevice(index_) == cudaSuccess;
        (void)cudaStreamSynchronize(stream_);
        (void)cudaStreamDestroy(stream_);
        if (switched)
            (void)cudaSetDevice(previous);
        (void)cudaGetLastError();
    }
    [[nodiscard]] cudaStream_t get() const noexcept { return stream_; }

private:
    int index_;
    cudaStream_t stream_{};
};

/// A host matrix (any stride) as a new device_tensor on `dev`; returns with the copy done.
inline device_tensor upload_matrix(const trident::device& dev, matrix_view<const float> m, const std::string& what,
                                   cudaStream_t stream)
{
    device_tensor t(dev, m.rows(), m.cols(), what);
    if (m.rows() <= 1 || m.stride() == m.cols()) {
        t.upload(std::span<const float>(m.data(), m.rows() * m.cols()), stream);
    } else {
        std::vector<float> packed(m.rows() * m.cols());
        for (std::size_t r = 0; r < m.rows(); ++r)
            for (std::size_t c = 0; c < m.cols(); ++c)
                packed[r * m.cols() + c] = m(r, c);
        t.upload(packed, stream);
    }
    return t;
}

/// A message's floats in GPU memory: a device_tensor that a buffer carries between devices.
class tensor_payload final : public model::detail::device_payload {
public:
    explicit tensor_payload(device_tensor t) : tensor(std::move(t)) {}
    void copy_to_host(std::span<float> out) const override { tensor.download(out); }
    void rebook(const trident::device& dev, std::string_view what) override { tensor.rebook(dev, what); }
    device_tensor tensor;
};

/// `t` as a message: waits for `stream` (the tensor is complete when another device takes it).
inline buffer send_tensor(device_tensor t, cudaStream_t stream)
{
    TRIDENT_CUDA_CHECK(cudaStreamSynchronize(stream));
    const std::size_t rows = t.rows(), cols = t.cols();
    return buffer(std::make_unique<tensor_payload>(std::move(t)), rows, cols);
}

/// A received message as a device_tensor on `dev`: the sender's tensor itself when it lives on
/// dev's CUDA device (its booking already moved to `dev` by the receive), a peer copy when it lives
/// on another GPU, an upload of a host buffer.  Returns with the data usable on `stream`.
inline device_tensor take_tensor(buffer message, const trident::device& dev, const std::string& what,
                                 cudaStream_t stream)
{
    if (message.payload() == nullptr)
        return upload_matrix(dev, message.view(), what, stream);
    std::unique_ptr<model::detail::device_payload> p = message.release_payload();
    auto* tp = dynamic_cast<tensor_payload*>(p.get());
    if (tp == nullptr)
        throw std::logic_error("trident::model: a GPU message of another runtime reached " + what);
    if (tp->tensor.cuda_index() == dev.gpu_index())
        return std::move(tp->tensor);
    device_tensor copy(dev, tp->tensor.rows(), tp->tensor.cols(), what);
    copy.copy_from(tp->tensor, stream);
    TRIDENT_CUDA_CHECK(cudaStreamSynchronize(stream)); // before the source is freed on its device
    return copy;
}

class stage_runtime;

/// One step of a GPU device (a model::detail::stage_executor): see the file comment.
class gpu_stage_executor final : public model::detail::stage_executor {
public:
    gpu_stage_executor(stage_runtime& rt, step_context& ctx);

    buffer forward(int stage, int mb, buffer received) override;
    buffer backward(int stage, int mb, buffer grad, bool weights) override;
    void backward_weight(int stage, int mb) override;

private:
    struct layer_state {
        device_tensor out;
        device_tensor saved;
        device_tensor grad_out; // kept from backward_input for backward_weight
    };
    struct micro_batch_state {
        device_tensor input;
        std::vector<layer_state> layers;
        bool forward_kept = false;
    };
    void run_forward(const stage_layout& sl, int stage, int mb, micro_batch_state& st);
    [[nodiscard]] matrix_view<const float> layer_input(const stage_layout& sl, const micro_batch_state& st, int j) const
    {
        return j == sl.first ? st.input.view() : st.layers[static_cast<std::size_t>(j - sl.first - 1)].out.view();
    }

    stage_runtime& rt_;
    step_context& ctx_;
    trident::device dev_;
    cudaStream_t stream_;
    std::map<std::pair<int, int>, micro_batch_state> states_;
};

class stage_runtime final : public model::detail::gpu_stage_runtime {
public:
    stage_runtime(sequential& net, const std::vector<stage_layout>& layout, const std::vector<trident::device>& devices,
                  int device, const optimizer_choice& optimizer, const loss_choice& loss)
        : stream_(devices.at(static_cast<std::size_t>(device)).gpu_index()), net_(&net),
          dev_(devices[static_cast<std::size_t>(device)]), optimizer_(optimizer), loss_(loss)
    {
        const std::string state_name = std::visit([](const auto& o) { return o.name() + " state"; }, optimizer);
        for (const stage_layout& sl : layout) {
            if (sl.device != device)
                continue;
            for (int j = sl.first; j < sl.last; ++j) {
                any_layer& l = net.layers()[static_cast<std::size_t>(j)];
                kernels_.emplace(j, layer_kernels(l, dev_));
                const std::size_t n = l.parameters().size();
                const std::size_t floats = std::visit([&](const auto& o) { return o.state_floats(n); }, optimizer);
                states_.emplace(j, device_tensor(dev_, 1, floats,
                                                 state_name + " of layer " + std::to_string(j) + " (" + l.name() + ")"));
            }
        }
    }

    std::unique_ptr<model::detail::stage_executor> begin_step(step_context& ctx) override
    {
        for (auto& entry : kernels_)
            entry.second.zero_gradients(stream_.get());
        return std::make_unique<gpu_stage_executor>(*this, ctx);
    }

    void update(std::size_t step_number) override
    {
        const cudaStream_t s = stream_.get();
        for (auto& entry : kernels_) {
            layer_kernels& k = entry.second;
            device_tensor& state = states_.at(entry.first);
            if (k.parameters().size() != 0)
                std::visit([&](const auto& o) { gpu::update(o, k.parameters(), k.gradients(), state, step_number, s); },
                           optimizer_);
        }
        for (auto& entry : kernels_) { // each download waits for the stream: the updates are done
            any_layer& l = net_->layers()[static_cast<std::size_t>(entry.first)];
            entry.second.download_parameters(l, s);
            entry.second.download_gradients(l, s);
        }
    }

    [[nodiscard]] layer_kernels& kernels(int j) { return kernels_.at(j); }
    [[nodiscard]] cudaStream_t stream() const noexcept { return stream_.get(); }
    [[nodiscard]] const trident::device& device() const noexcept { return dev_; }
    [[nodiscard]] const loss_choice& loss() const noexcept { return loss_; }

    static std::unique_ptr<model::detail::gpu_stage_runtime> make(sequential& net, const std::vector<stage_layout>& layout,
                                                                  const std::vector<trident::device>& devices, int device,
                                                                  const optimizer_choice& optimizer, const loss_choice& loss)
    {
        return std::make_unique<stage_runtime>(net, layout, devices, device, optimizer, loss);
    }

private:
    owned_stream stream_; // first: destroyed last, after every tensor (each waits for the device)
    sequential* net_;
    trident::device dev_;
    optimizer_choice optimizer_;
    loss_choice loss_;
    std::map<int, layer_kernels> kernels_; // by layer index
    std::map<int, device_tensor> states_;  // optimizer state by layer index
};

inline gpu_stage_executor::gpu_stage_executor(stage_runtime& rt, step_context& ctx)
    : rt_(rt), ctx_(ctx), dev_(rt.device()), stream_(rt.stream())
{
}

inline void gpu_stage_executor::run_forward(const stage_layout& sl, int stage, int mb, micro_batch_state& st)
{
    const auto& feat = *ctx_.features;
    st.layers.clear();
    st.layers.resize(static_cast<std::size_t>(sl.last - sl.first));
    matrix_view<const float> in = st.input.view();
    const std::size_t rows = in.rows();
    for (int j = sl.first; j < sl.last; ++j) {
        auto& ls = st.layers[static_cast<std::size_t>(j - sl.first)];
        layer_kernels& k = rt_.kernels(j);
        const auto jj = static_cast<std::size_t>(j);
        ls.out = device_tensor(dev_, rows, feat[jj + 1], step_label("output", stage, mb, j));
        ls.saved = device_tensor(dev_, 1, k.saved_floats(rows, feat[jj]), step_label("saved floats", stage, mb, j));
        k.forward(in, ls.out.view(), ls.saved.span(), stream_);
        in = ls.out.view();
    }
    st.forward_kept = true;
}

inline buffer gpu_stage_executor::forward(int stage, int mb, buffer received)
{
    const stage_layout& sl = (*ctx_.stages)[static_cast<std::size_t>(stage)];
    const int last_stage = static_cast<int>(ctx_.stages->size()) - 1;
    const auto r = ctx_.ranges[static_cast<std::size_t>(mb)];
    micro_batch_state& st = states_[{stage, mb}];
    if (stage == 0) {
        st.input = upload_matrix(dev_, ctx_.x.row_block(r.first, r.count), step_label("input", stage, mb), stream_);
    } else {
        st.input = take_tensor(std::move(received), dev_, step_label("activation received", stage, mb), stream_);
    }
    run_forward(sl, stage, mb, st);
    const device_tensor& logits = st.layers.back().out;
    buffer message;
    if (stage == last_stage) {
        const device_tensor targets = upload_matrix(dev_, ctx_.y.row_block(r.first, r.count),
                                                    step_label("targets", stage, mb), stream_);
        device_tensor grad(dev_, logits.rows(), logits.cols(), step_label("loss gradient", stage, mb));
        ctx_.losses[static_cast<std::size_t>(mb)] = std::visit(
            [&](const auto& l) {
                const loss_kernels<std::decay_t<decltype(l)>> lk(dev_, l);
                return lk.value_and_gradient(logits.view(), targets.view(), grad.view(), ctx_.scale, stream_);
            },
            rt_.loss());
        message = send_tensor(std::move(grad), stream_);
    } else { // the output stays for backward: a copy leaves
        device_tensor out(dev_, logits.rows(), logits.cols(), step_label("activation to send", stage, mb));
        out.copy_from(logits, stream_);
        message = send_tensor(std::move(out), stream_);
    }
    if (sl.recompute) { // keep only the input
        st.layers.clear();
        st.forward_kept = false;
    }
    return message;
}

inline buffer gpu_stage_executor::backward(int stage, int mb, buffer received, bool weights)
{
    const stage_layout& sl = (*ctx_.stages)[static_cast<std::size_t>(stage)];
    const auto& feat = *ctx_.features;
    auto it = states_.find({stage, mb});
    if (it == states_.end())
        throw std::logic_error("trident::model: backward before forward on stage " + std::to_string(stage));
    micro_batch_state& st = it->second;
    if (!st.forward_kept)
        run_forward(sl, stage, mb, st); // recomputation
    device_tensor grad = take_tensor(std::move(received), dev_, step_label("gradient received", stage, mb), stream_);
    bool pending_weights = false;
    for (int j = sl.last - 1; j >= sl.first; --j) {
        auto& ls = st.layers[static_cast<std::size_t>(j - sl.first)];
        layer_kernels& k = rt_.kernels(j);
        const matrix_view<const float> in = layer_input(sl, st, j);
        const bool first_of_model = stage == 0 && j == sl.first;
        device_tensor grad_in;
        if (!first_of_model || !k.splits_backward())
            grad_in = device_tensor(dev_, in.rows(), feat[static_cast<std::size_t>(j)],
                                    step_label("input gradient", stage, mb, j));
        if (k.splits_backward()) {
            if (!first_of_model)
                k.backward_input(in, ls.out.view(), ls.saved.span(), grad.view(), grad_in.view(), stream_);
            if (weights) {
                k.backward_weight(in, ls.out.view(), ls.saved.span(), grad.view(), stream_);
            } else {
                ls.grad_out = std::move(grad);
                pending_weights = true;
            }
        } else { // relu, gelu: backward_input is all of it
            k.backward_input(in, ls.out.view(), ls.saved.span(), grad.view(), grad_in.view(), stream_);
        }
        grad = std::move(grad_in); // a gradient still read by queued kernels: its free waits for them
    }
    buffer out;
    if (stage > 0)
        out = send_tensor(std::move(grad), stream_);
    if (!pending_weights)
        states_.erase(it);
    return out;
}

inline void gpu_stage_executor::backward_weight(int stage, int mb)
{
    const stage_layout& sl = (*ctx_.stages)[static_cast<std::size_t>(stage)];
    bool any_split = false;
    for (int j = sl.first; j < sl.last; ++j)
        any_split = any_split || rt_.kernels(j).splits_backward();
    if (!any_split)
        return; // backward_input did all of it
    auto it = states_.find({stage, mb});
    if (it == states_.end())
        throw std::logic_error("trident::model: backward_weight before backward_input on stage " + std::to_string(stage));
    micro_batch_state& st = it->second;
    for (int j = sl.last - 1; j >= sl.first; --j) {
        layer_kernels& k = rt_.kernels(j);
        if (!k.splits_backward())
            continue;
        auto& ls = st.layers[static_cast<std::size_t>(j - sl.first)];
        k.backward_weight(layer_input(sl, st, j), ls.out.view(), ls.saved.span(), ls.grad_out.view(), stream_);
    }
    states_.erase(it); // the tensors' frees wait for the queued kernels
}

inline constexpr model::detail::gpu_hooks hooks{&stage_runtime::make};

/// Installs the hooks before main (an inline variable: one initialisation per program).
inline const bool hooks_installed = [] {
    model::detail::installed_gpu_hooks.store(&hooks);
    return true;
}();

} // namespace trident::model::gpu::detail
