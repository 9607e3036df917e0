#pragma once
/// \file model/gpu/optimizer_kernels.cuh
/// `trident::model::gpu::update(optimizer, params, grads, state, step, stream)`: one step of
/// model/optimizer.hpp's `sgd` (momentum) or `adam` on device_tensors of a GPU device, with the same
/// formulas, state layout (adam: [exp_avg, exp_avg_sq]), step counting (from 1; state starts zeroed)
/// and checks as the CPU update.  Only nvcc sees this header.
///
/// \code
///   namespace mp = trident::model; namespace mg = trident::model::gpu;
///   mp::adam opt{.learning_rate = 1e-3};
///   mg::device_tensor state(g, 1, opt.state_floats(k.parameters().size()), "adam state");
///   mg::update(opt, k.parameters(), k.gradients(), state, /*step*/ 1, stream);
/// \endcode
///
/// Each element is updated in double and rounded once, as on the CPU, with every double operation
/// written as an IEEE-rounded intrinsic (__dmul_rn, __dadd_rn, __ddiv_rn, __dsqrt_rn: no FMA
/// contraction) and the step's bias corrections (std::pow) computed on the host as the CPU does, so
/// the GPU gives the CPU optimizer's bits.  One thread per element: deterministic.
/// Enqueued on `stream` (a stream of the tensors' device; nullptr: the calling thread's default
/// stream); returns at once.
///
/// Complexity: O(n) on the GPU.
/// \throws std::invalid_argument with optimizer.hpp's sentences (grads or state of the wrong size,
///   step 0), or when the tensors are on different CUDA devices; trident::cuda_error naming the call.

#if !defined(__CUDACC__)
#  error "trident/model/gpu/optimizer_kernels.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/model/gpu/detail/launch.cuh"
#include "trident/model/gpu/device_tensor.cuh"
#include "trident/model/optimizer.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace trident::model::gpu {

namespace detail {

template <int = 0>
__global__ void __launch_bounds__(block_threads) sgd_kernel(std::size_t n, float* p, const float* g, float* buf,
                                                            double lr, double momentum, bool first_step)
{
    for (std::size_t i = thread_index(); i < n; i += thread_count()) {
        double direction = g[i];
        if (momentum != 0.0) {
            const double b = first_step ? direction : __dadd_rn(__dmul_rn(momentum, static_cast<double>(buf[i])), direction);
            const auto rounded = static_cast<float>(b);
            buf[i] = rounded;
            direction = rounded;
        }
        p[i] = static_cast<float>(__dsub_rn(static_cast<double>(p[i]), __dmul_rn(lr, direction)));
    }
}

struct adam_constants {
    double beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, correction2_sqrt, epsilon;
};

template <int = 0>
__global__ void __launch_bounds__(block_threads) adam_kernel(std::size_t n, float* p, const float* g, float* m,
                                                             float* v, adam_constants k)
{
    for (std::size_t i = thread_index(); i < n; i += thread_count()) {
        const double gi = g[i];
        const auto mi = static_cast<float>(__dadd_rn(__dmul_rn(k.beta1, static_cast<double>(m[i])),
                                                     __dmul_rn(k.one_minus_beta1, gi)));
        const auto vi = static_cast<float>(__dadd_rn(__dmul_rn(k.beta2, static_cast<double>(v[i])),
                                                     __dmul_rn(__dmul_rn(k.one_minus_beta2, gi), gi)));
        m[i] = mi;
        v[i] = vi;
        const double denom = __dadd_rn(__ddiv_rn(__dsqrt_rn(static_cast<double>(vi)), k.correction2_sqrt), k.epsilon);
        p[i] = static_cast<float>(
            __dsub_rn(static_cast<double>(p[i]), __ddiv_rn(__dmul_rn(k.step_size, static_cast<double>(mi)), denom)));
    }
}

inline void require_same_device(const device_tensor& params, const device_tensor& grads, const device_tensor& state,
                                const std::string& who)
{
    const auto off = [&](const device_tensor& t) { return t.size() != 0 && t.cuda_index() != params.cuda_index(); };
    if (off(grads) || off(state))
        throw std::invalid_argument("trident::model::gpu::update (" + who +
                                    "): parameters, gradients and state must be on one CUDA device, got devices " +
                                    std::to_string(params.cuda_index()) + ", " + std::to_string(grads.cuda_index()) +
                                    " and " + std::to_string(state.cuda_index()));
}

} // namespace detail

/// One SGD step (momentum buffer in `state`, empty without momentum).
inline void update(const sgd& o, device_tensor& params, const device_tensor& grads, device_tensor& state,
                   std::size_t step, cudaStream_t stream = nullptr)
{
    const std::size_t n = params.size();
    model::detail_optimizer::check(o.name(), n, grads.size(), state.size(), o.state_floats(n), step);
    detail::require_same_device(params, grads, state, o.name());
    if (n == 0)
        return;
    const trident::detail::device_guard guard(params.cuda_index());
    detail::sgd_kernel<><<<detail::blocks_for(n), detail::block_threads, 0, detail::stream_or_default(stream)>>>(
        n, params.data(), grads.data(), state.data(), o.learning_rate, o.momentum, step == 1);
    trident::detail::cuda_check(cudaGetLastError(), "launch of the sgd kernel", __FILE__, __LINE__);
}

/// One Adam step; `state` holds [exp_avg (n), exp_avg_sq (n)].
inline void update(const adam& o, device_tensor& params, const device_tensor& grads, device_tensor& state,
                   std::size_t step, cudaStream_t stream = nullptr)
{
    const std::size_t n = params.size();
    model::detail_optimizer::check(o.name(), n, grads.size(), state.size(), o.state_floats(n), step);
    detail::require_same_device(params, grads, state, o.name());
    if (n == 0)
        return;
    const double t = static_cast<double>(step);
    const detail::adam_constants k{o.beta1,
                                   1.0 - o.beta1,
                                   o.beta2,
                                   1.0 - o.beta2,
                                   o.learning_rate / (1.0 - std::pow(o.beta1, t)),
                                   std::sqrt(1.0 - std::pow(o.beta2, t)),
                                   o.epsilon};
    const trident::detail::device_guard guard(params.cuda_index());
    detail::adam_kernel<><<<detail::blocks_for(n), detail::block_threads, 0, detail::stream_or_default(stream)>>>(
        n, params.data(), grads.data(), state.data(), state.data() + n, k);
    trident::detail::cuda_check(cudaGetLastError(), "launch of the adam kernel", __FILE__, __LINE__);
}

} // namespace trident::model::gpu
