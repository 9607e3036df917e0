#pragma once
// Policy -> backend.  seq and par run the generic algorithms on a CPU executor; gpu runs the CUDA
// backend (a translation unit compiled by nvcc only); automatic picks per call.

#include "trident/backend/seq/executor.hpp"
#include "trident/backend/tbb/executor.hpp"
#include "trident/detail/offload.hpp"
#include "trident/hints.hpp"
#include "trident/policy.hpp"

#include <cstddef>
#include <functional>
#include <iterator>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace trident {

/// Specialise to `true` for a function object whose call operator is `__host__ __device__`, so that
/// `trident::automatic` may run it on the GPU.  TRIDENT_LAMBDA lambdas and the std:: arithmetic and
/// comparison functors are recognised without it.
template <class F> inline constexpr bool is_device_callable_v = false;

} // namespace trident

namespace trident::detail {

template <class...> inline constexpr bool always_false = false;

/// The CUDA backend.  Declared here, defined in backend/cuda/backend.cuh, which only nvcc sees.
template <class Policy> struct cuda_backend;

// is_device_range_v (ranges whose elements live in GPU memory) and is_std_functor_v: offload.hpp.

/// Whether F (inside any hint wrappers, hints.hpp) can be called on the device.
template <class F>
constexpr bool device_callable()
{
    using D = unwrapped_t<F>;
    if constexpr (is_device_callable_v<D>)
        return true;
#if defined(__CUDACC__)
    else if constexpr (__nv_is_extended_host_device_lambda_closure_type(D))
        return true;
#endif
    else
        return is_std_functor_v<D>;
}

/// Whether some range already lives on the GPU (automatic then runs there whatever the size).
template <class... Ranges>
constexpr bool any_device_range()
{
    return (is_device_range_v<std::remove_cvref_t<Ranges>> || ...);
}

/// Whether automatic may move a call to the GPU: every range host-contiguous with trivially copyable
/// elements (or already on the device) and every function callable on the device.
template <class... Ranges>
constexpr bool device_ranges()
{
    return ((is_device_range_v<std::remove_cvref_t<Ranges>> ||
             (std::ranges::contiguous_range<Ranges> && std::is_trivially_copyable_v<std::ranges::range_value_t<Ranges>>)) &&
            ...);
}

template <class Policy>
constexpr void require_cuda_compiler()
{
#if !defined(__CUDACC__)
    static_assert(always_false<Policy>,
                  "trident::gpu runs only in translation units compiled by nvcc: put this call in a .cu file "
                  "(a CUDA source linked to trident::trident), or use trident::par or trident::automatic");
#endif
}

/// Runs `cpu(executor)` for seq/par, `gpu(gpu_policy)` for gpu, and for automatic one of the two.
/// `DeviceEligible` says whether the call's ranges and functions can go to the GPU at all;
/// `DeviceResident` that some range is already there (automatic then never instantiates the CPU path).
/// `work` is the element count, or an offload_work (detail/offload.hpp) for automatic's cost
/// model: with a bare count, automatic keeps host data on the CPU.
template <bool DeviceEligible, bool DeviceResident = false, class Policy, class Work, class Cpu, class Gpu>
decltype(auto) dispatch(const Policy& policy, const Work& work, Cpu&& cpu, [[maybe_unused]] Gpu&& gpu)
{
    using P = std::remove_cvref_t<Policy>;
    static_assert(is_execution_policy_v<P>,
                  "the first argument of a trident algorithm must be an execution policy: "
                  "trident::seq, trident::par, trident::gpu or trident::automatic");
    if constexpr (std::is_same_v<P, seq_policy>) {
        return cpu(seq_executor{});
    } else if constexpr (std::is_same_v<P, par_policy>) {
        return cpu(tbb_executor{policy});
    } else if constexpr (std::is_same_v<P, gpu_policy>) {
#if defined(__CUDACC__)
        return gpu(policy);
#else
        // Asserted here, not in a function: the assertion is then the first error, and the CPU
        // path (never run) gives the call its result type, so that nothing else fails after it.
        static_assert(always_false<P>,
                      "trident::gpu runs only in translation units compiled by nvcc: put this call in a .cu file "
                      "(a CUDA source linked to trident::trident), or use trident::par or trident::automatic");
        return cpu(seq_executor{});
#endif
    } else if constexpr (DeviceResident) {
        require_cuda_compiler<P>();
        static_assert(DeviceEligible, "this call's data lives on the GPU, so its functions must be device-callable "
                                      "(write them with TRIDENT_LAMBDA, or specialise trident::is_device_callable_v)");
#if defined(__CUDACC__)
        return gpu(policy.gpu_part());
#endif
    } else {
#if defined(__CUDACC__)
        if constexpr (DeviceEligible && requires { Work::safe; }) {
            if constexpr (Work::safe) {
                using backend = cuda_backend<std::remove_cvref_t<decltype(policy.gpu_part())>>;
                const auto& on_gpu = policy.gpu_part();
                const int workers = policy.cpu_part().thread_limit() > 0 ? policy.cpu_part().thread_limit()
                                                                         : tbb::this_task_arena::max_concurrency();
                if (work.cost.n >= policy.gpu_threshold() && work.cost.gpu_pays(workers) &&
                    backend::device_answers(on_gpu.device_index())) {
                    // Out of device memory or a device that went away: this call runs on par
                    // instead (nothing of the host data was written yet); anything else reaches
                    // the caller.
                    try {
                        return gpu(on_gpu);
                    } catch (...) {
                        if (!backend::fall_back_after_failure(on_gpu.device_index(), std::current_exception()))
                            throw;
                    }
                }
            }
        }
#endif
        (void)work;
        return cpu(tbb_executor{policy.cpu_part()});
    }
}

template <class R>
constexpr void require_host_range()
{
    static_assert(!is_device_range_v<std::remove_cvref_t<R>>,
                  "this range lives in GPU memory (trident::device_vector): use trident::gpu or trident::automatic, "
                  "or copy it to the host first");
}

template <class Size>
std::size_t checked_count(const char* algorithm, Size n)
{
    static_assert(std::is_integral_v<Size>, "the element count must be an integer");
    if constexpr (std::is_signed_v<Size>) {
        if (n < 0)
            throw std::invalid_argument(std::string(algorithm) + ": the count n must not be negative, got " +
                                        std::to_string(n));
    }
    return static_cast<std::size_t>(n);
}

inline void check_output_size(const char* algorithm, std::size_t input, std::size_t output)
{
    if (output < input)
        throw std::invalid_argument(std::string(algorithm) + ": the output range has " + std::to_string(output) +
                                    " elements, fewer than the input's " + std::to_string(input));
}

} // namespace trident::detail

#if defined(__CUDACC__)
#  include "trident/backend/cuda/backend.cuh"
#endif
