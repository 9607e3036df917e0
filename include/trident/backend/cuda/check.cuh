#pragma once
/// \file backend/cuda/check.cuh
/// CUDA error checking for trident's CUDA backend.  Only nvcc sees this
/// header (it is reached through backend/dispatch.hpp or device_vector.cuh).
///
/// - `TRIDENT_CUDA_CHECK(call)`: runs a CUDA runtime call; on failure throws `trident::cuda_error`
///   whose message names the call expression, the file:line and CUDA's error string
///   (`trident::device_unavailable` for a device held by another process).
/// - `TRIDENT_CUDA_CHECK_LAUNCH(kernel)`: checks a kernel launch (cudaGetLastError).
/// - Sticky errors (an illegal address, a kernel fault: the CUDA context is unusable until the
///   process ends) are recorded when first seen; then `require_no_sticky_error()` throws for every
///   trident::gpu call and trident::automatic stops using the GPU.
///
/// Which devices can be used: devices.cuh.  Device memory: memory.cuh.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/check.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/errors.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace trident::detail {

/// Errors after which the process's CUDA context is unusable: every later CUDA call fails with the
/// same error, and only a new process recovers (driver_types.h: "This leaves the process in an
/// inconsistent state and any further CUDA work will return the same error").
constexpr bool is_sticky_cuda_error(int code) noexcept
{
    switch (code) {
    case cudaErrorIllegalAddress: case cudaErrorLaunchTimeout: case cudaErrorAssert:
    case cudaErrorHardwareStackError: case cudaErrorIllegalInstruction: case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace: case cudaErrorInvalidPc: case cudaErrorLaunchFailure:
    case cudaErrorECCUncorrectable: case cudaErrorContained: case cudaErrorMpsClientTerminated:
        return true;
    default:
        return false;
    }
}

/// The first sticky error seen in this process (0: none).  Sticky errors poison the context of the
/// device they happened on; trident records the first one so that automatic stops using the GPU and
/// trident::gpu calls say why they cannot run.
struct sticky_record {
    std::atomic<int> code{0};
    std::atomic<int> device{-1};
};
inline sticky_record& sticky_error() noexcept
{
    static sticky_record record;
    return record;
}

inline void note_cuda_failure(cudaError_t code) noexcept
{
    if (!is_sticky_cuda_error(static_cast<int>(code)))
        return;
    int device = -1;
    (void)cudaGetDevice(&device);
    int none = 0;
    if (sticky_error().code.compare_exchange_strong(none, static_cast<int>(code)))
        sticky_error().device.store(device);
}

/// Throws for a failed CUDA call (and clears CUDA's last-error slot, so that a later launch check
/// does not report this error again): trident::device_unavailable when the device is taken by
/// another process (exclusive-process compute mode) or prohibited, trident::cuda_error otherwise.
inline void cuda_check(cudaError_t code, const char* expression, const char* file, int line)
{
    if (code == cudaSuccess)
        return;
    (void)cudaGetLastError();
    note_cuda_failure(code);
    std::string what = std::string("trident: CUDA call `") + expression + "` failed at " + file + ":" +
                       std::to_string(line) + ": " + cudaGetErrorString(code) + " (" + cudaGetErrorName(code) + ")";
    if (code == cudaErrorDevicesUnavailable)
        throw device_unavailable(what + "; the device is in exclusive-process or prohibited compute mode and "
                                        "another process holds it (see nvidia-smi's compute mode)");
    if (is_sticky_cuda_error(static_cast<int>(code)))
        what += "; this error is sticky: the process's CUDA context can no longer be used (restart the process)";
    throw cuda_error(static_cast<int>(code), what);
}

} // namespace trident::detail

/// Checks a CUDA runtime call (variadic so that template arguments with commas pass through).
#define TRIDENT_CUDA_CHECK(...) ::trident::detail::cuda_check((__VA_ARGS__), #__VA_ARGS__, __FILE__, __LINE__)
/// Checks the kernel launch just made (launch configuration errors, missing kernel image, ...).
#define TRIDENT_CUDA_CHECK_LAUNCH(kernel_name) \
    ::trident::detail::cuda_check(cudaGetLastError(), "launch of " kernel_name, __FILE__, __LINE__)

namespace trident::detail {

/// \throws trident::cuda_error when an earlier sticky error made the process's CUDA context unusable.
inline void require_no_sticky_error()
{
    const int code = sticky_error().code.load();
    if (code == 0)
        return;
    const auto e = static_cast<cudaError_t>(code);
    throw cuda_error(code, "trident::gpu: the process's CUDA context is unusable since an earlier error on device " +
                               std::to_string(sticky_error().device.load()) + ": " + cudaGetErrorString(e) + " (" +
                               cudaGetErrorName(e) + "); CUDA cannot recover from it in this process, restart it");
}

template <class T>
constexpr void require_trivially_copyable()
{
    static_assert(std::is_trivially_copyable_v<T>,
                  "trident::gpu: the element type (or init/result type) must be trivially copyable, because it is "
                  "copied to and from GPU memory byte for byte; use plain structs of arithmetic members");
}

} // namespace trident::detail
