#pragma once
// Policy -> backend, for the data algorithms (data/).  A CPU policy runs the generic algorithm on
// the executor its trident::executor_of names (seq: backend/seq, par: backend/tbb, or a user's
// policy), checked against trident::executor (backend/executor.hpp); gpu runs the CUDA backend (a
// translation unit compiled by nvcc only); automatic picks one of par and gpu per call.

#include "trident/backend/executor.hpp"
#include "trident/backend/instrumented.hpp"
#include "trident/backend/seq/executor.hpp"
#include "trident/backend/tbb/executor.hpp"
#include "trident/detail/call_checks.hpp"
#include "trident/detail/device_traits.hpp"
#include "trident/detail/offload.hpp"
#include "trident/policy.hpp"

#include <type_traits>
#include <utility>

namespace trident::detail {

/// cpu(the executor a CPU policy's calls run on, wrapped in instrumented<> for trident::explain),
/// the executor checked against trident::executor:
/// a failed check is a compile-time error per missing member, and nothing else fails after it (the
/// algorithm is then instantiated on seq_executor only to give the call its type).
template <class Policy, class Cpu>
decltype(auto) run_on_executor(const Policy& policy, Cpu& cpu)
{
    using E = std::remove_cvref_t<decltype(executor_of<Policy>::make(policy))>;
    if constexpr (check_executor<E>())
        return cpu(instrumented<E>(executor_of<Policy>::make(policy)));
    else
        return cpu(instrumented<seq_executor>(seq_executor{}));
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
                  "trident::seq, trident::par, trident::gpu, trident::automatic, or a type with a "
                  "trident::executor_of specialisation (backend/executor.hpp)");
    if constexpr (is_gpu_policy_v<P>) {
#if defined(__CUDACC__)
        return gpu(policy);
#else
        // Asserted here, not in a function: the assertion is then the first error, and the CPU
        // path (never run) gives the call its result type, so that nothing else fails after it.
        static_assert(always_false<P>,
                      "trident::gpu runs only in translation units compiled by nvcc: put this call in a .cu file "
                      "(a CUDA source linked to trident::trident), or use trident::par or trident::automatic");
        return cpu(instrumented<seq_executor>(seq_executor{}));
#endif
    } else if constexpr (!is_automatic_policy_v<P>) {
        return run_on_executor(policy, cpu);
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
        return run_on_executor(policy.cpu_part(), cpu);
    }
}

} // namespace trident::detail

#if defined(__CUDACC__)
#  include "trident/backend/cuda/backend.cuh"
#endif
