#pragma once
/// \file backend/cuda/backend.cuh
/// The CUDA backend of trident::gpu (and of trident::automatic when it picks the GPU).  Reached
/// through backend/dispatch.hpp in translation units compiled by nvcc; never by g++.  A data
/// algorithm hands dispatch `on_device<device_algo::X>(args...)` (detail/device_call.hpp), which
/// calls `cuda_backend<gpu_policy>::run`: the CUDA system's own algorithm for X where it has one
/// (a CUB algorithm), else the generic one written from the system's primitives
/// (backend/generic/device_algorithms.hpp over backend/cuda/system.cuh).
///
/// The system, one header per part:
/// | header         | what                                                                       |
/// |----------------|----------------------------------------------------------------------------|
/// | devices.cuh    | which devices can be used (census, automatic's probe), device_guard        |
/// | check.cuh      | CUDA error checking, sticky errors                                         |
/// | memory.cuh     | scratch device memory (stream-ordered pools)                               |
/// | launch.cuh     | one call's device and stream (gpu_call), the element-wise kernel, CUB calls |
/// | staging.cuh    | host ranges copied to the device and back, device ranges used in place     |
/// | functors.cuh   | std:: functors as cuda::std:: twins, hint wrappers removed                 |
/// | for_each.cuh   | element-wise primitives (for_each_n, transform_n), 16 bytes per step       |
/// | reduce.cuh     | the device reduction (CUB, or the order-keeping reduction)                 |
/// | scan.cuh       | inclusive / exclusive scans (CUB)                                          |
/// | sort.cuh       | sort, stable_sort (CUB)                                                    |
/// | system.cuh     | the CUDA system: the primitives the generic algorithms use                 |
///
/// What runs where:
/// | algorithm                   | on the device                                                    |
/// |-----------------------------|------------------------------------------------------------------|
/// | for_each, for_each_index    | generic: trident's grid-stride element-wise kernel (256 threads  |
/// | map                         | a block; for_each and map move 16 bytes of input per thread and  |
/// |                             | step where aligned)                                              |
/// | reduce, map_reduce          | generic: cub::DeviceReduce (Reduce / TransformReduce) for        |
/// |                             | commutative operators; any other operator: trident's             |
/// |                             | order-keeping reduction (reduce.cuh: one pass, at most 1025 T of |
/// |                             | scratch)                                                         |
/// | inclusive/exclusive_scan    | cub::DeviceScan (InclusiveScan, InclusiveScanInit, ExclusiveScan) |
/// | sort, stable_sort           | cub::DeviceRadixSort (arithmetic keys, std::less / std::greater), |
/// |                             | else cub::DeviceMergeSort (SortKeys / StableSortKeys)            |
///
/// Every call runs on `policy.device_index()` (made current for the call, the previous device
/// restored after) and on `policy.stream_handle()`, or on the calling thread's default stream
/// (cudaStreamPerThread) when the policy names none.  Without a named stream a call returns with
/// its work done.  With one, a call whose results stay on the device (device ranges in and out)
/// returns once its work is enqueued on that stream (stream-ordered: later work on the stream sees
/// the results; synchronise the stream before reading them elsewhere); a call with a host output
/// or a value result (reduce) returns once it is ready.  Host ranges must be contiguous; they are
/// copied to scratch device memory and, for outputs, back.  Ranges in GPU memory
/// (trident::device_vector, device_span) are used in place and must live on the policy's device.
/// Elements and init values must be trivially copyable.  std::plus / multiplies / less / greater
/// become their cuda::std:: twins on the device; hint wrappers (hints.hpp) are removed.
///
/// Errors: trident::device_unavailable (no driver, no device, index out of range, prohibited or
/// busy exclusive-process device), trident::cuda_error (any failed CUDA call or kernel launch; out
/// of memory after trimming the pools; every call after a sticky error, which poisons the CUDA
/// context), std::invalid_argument (a device range on another device than the policy's).

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/backend.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/device_vector.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/backend/cuda/scan.cuh"
#include "trident/backend/cuda/sort.cuh"
#include "trident/backend/cuda/system.cuh"
#include "trident/detail/device_call.hpp"
#include "trident/detail/device_traits.hpp"
#include "trident/policy.hpp"

#include <cuda_runtime.h>

#include <exception>

namespace trident::detail {

template <>
struct cuda_backend<gpu_policy> {
    /// Whether trident::automatic may use `device` now: a driver, a device, the index in range, not
    /// prohibited, no sticky error in the process, and this program's kernels run there (a failed
    /// probe is asked again after a back-off, devices.cuh).  Never throws.  A probe that meets a
    /// sticky error made before trident's first call (a user's kernel that faulted) records it and
    /// answers true once, so that this call reports the error (gpu_call throws it) and later calls
    /// see the record and run on par.
    static bool device_answers(int device) noexcept
    {
        try {
            if (sticky_error().code.load() != 0 || !device_problem(device).empty())
                return false;
            return device_runs_kernels(device) || sticky_error().code.load() != 0;
        } catch (...) {
            return false;
        }
    }

    /// After an automatic call on the GPU threw `failure` (before any host output was written):
    /// true when the call should run on par instead (out of device memory, a device that is
    /// unavailable: asked again after a back-off), false when the failure reaches the caller (a
    /// sticky error, which also turns automatic to par for the rest of the process; a bug).
    static bool fall_back_after_failure(int device, std::exception_ptr failure) noexcept
    {
        try {
            std::rethrow_exception(failure);
        } catch (const device_unavailable&) {
            note_device_unavailable(device);
            return true;
        } catch (const cuda_error& e) {
            switch (e.code()) {
            case cudaErrorMemoryAllocation:
                return true;
            case cudaErrorDevicesUnavailable: case cudaErrorNoDevice: case cudaErrorInsufficientDriver:
            case cudaErrorSystemNotReady: case cudaErrorInitializationError: case cudaErrorDeviceUninitialized:
                note_device_unavailable(device);
                return true;
            default:
                return false;
            }
        } catch (...) {
            return false;
        }
    }

    /// Runs a data algorithm on `policy`'s device: the CUDA system's own overload of
    /// device_algorithm for `Algorithm` (scan.cuh, sort.cuh) or the generic one
    /// (backend/generic/device_algorithms.hpp).  Each checks its ranges and types first (a
    /// static_assert with a sentence) and instantiates its device work only when they pass, so
    /// that a bad type gives one error, not pages of CUB's.
    template <class Algorithm, class... Args>
    static decltype(auto) run(Algorithm algorithm, const gpu_policy& policy, Args&... args)
    {
        return device_algorithm(cuda_system{}, algorithm, policy, args...);
    }
};

} // namespace trident::detail
