#pragma once
/// \file backend/cuda/check.cuh
/// CUDA error checking and device selection for trident's CUDA backend.  Only nvcc sees this
/// header (it is reached through backend/dispatch.hpp or device_vector.cuh).
///
/// - `TRIDENT_CUDA_CHECK(call)`: runs a CUDA runtime call; on failure throws `trident::cuda_error`
///   whose message names the call expression, the file:line and CUDA's error string
///   (`trident::device_unavailable` for a device held by another process).
/// - `TRIDENT_CUDA_CHECK_LAUNCH(kernel)`: checks a kernel launch (cudaGetLastError).
/// - Sticky errors (an illegal address, a kernel fault: the CUDA context is unusable until the
///   process ends) are recorded when first seen; then `require_no_sticky_error()` throws for every
///   trident::gpu call and trident::automatic stops using the GPU.
/// - `trident::detail::require_device(i)`: throws `trident::device_unavailable` saying why device
///   `i` cannot be used (no driver, no device, index out of range, prohibited compute mode).
/// - `device_runs_kernels(i)`: automatic's probe; a failure is asked again after a back-off.
///
/// Nothing here touches CUDA during static initialisation: the device census is a function-local
/// static, computed on first use.  Device memory: memory.cuh.

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

/// What cudaGetDeviceCount said, once per process.
struct device_census {
    cudaError_t status = cudaSuccess;
    int count = 0;
};

inline const device_census& census() noexcept
{
    static const device_census c = [] {
        device_census r;
        r.status = cudaGetDeviceCount(&r.count);
        if (r.status != cudaSuccess)
            r.count = 0;
        (void)cudaGetLastError(); // an absent driver or device must not linger as the last error
        return r;
    }();
    return c;
}

/// Why `device` cannot be used, or an empty string when it can.
inline std::string device_problem(int device)
{
    const device_census& c = census();
    if (c.status == cudaErrorInsufficientDriver)
        return "no usable CUDA driver: the driver is missing or older than the CUDA runtime (" +
               std::string(cudaGetErrorString(c.status)) + ")";
    if (c.status == cudaErrorNoDevice)
        return "no CUDA device: " + std::string(cudaGetErrorString(c.status));
    if (c.status != cudaSuccess)
        return "the CUDA runtime could not count the devices: " + std::string(cudaGetErrorString(c.status)) + " (" +
               cudaGetErrorName(c.status) + ")";
    if (c.count == 0)
        return "no CUDA device: 0 device(s)";
    if (device < 0 || device >= c.count)
        return "device index " + std::to_string(device) + " out of range: " + std::to_string(c.count) + " device(s)";
    int mode = cudaComputeModeDefault;
    if (cudaDeviceGetAttribute(&mode, cudaDevAttrComputeMode, device) == cudaSuccess && mode == cudaComputeModeProhibited)
        return "device " + std::to_string(device) + " is in prohibited compute mode (no process may use it)";
    (void)cudaGetLastError();
    return {};
}

/// An empty kernel: whether it has an image for a device says whether this program's kernels can
/// run there (a template, so that every translation unit may define it).
template <int = 0>
__global__ void probe_kernel()
{
}

/// What automatic knows about one device: whether its kernels run there (-1: not asked yet, or
/// asked and failed), and until when (steady-clock ns) it is not asked again after a failure.
struct device_health {
    std::atomic<int> runs_kernels{-1};
    std::atomic<long long> retry_at_ns{0};
    std::atomic<int> failures{0};
};

inline constexpr int max_tracked_devices = 64;

/// Call with a valid device index (device_problem(device) empty).
inline device_health& health(int device) noexcept
{
    static device_health table[max_tracked_devices];
    return table[static_cast<unsigned>(device) % max_tracked_devices];
}

inline long long steady_ns() noexcept
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// A device that failed (busy in exclusive-process mode, no context, gone): automatic asks it again
/// after a back-off of 50 ms, doubled per failure in a row, at most 30 s.
inline void note_device_unavailable(int device) noexcept
{
    device_health& h = health(device);
    const int failures = std::min(h.failures.fetch_add(1) + 1, 10);
    const long long backoff_ms = std::min<long long>(50LL << (failures - 1), 30'000);
    h.runs_kernels.store(-1);
    h.retry_at_ns.store(steady_ns() + backoff_ms * 1'000'000);
}

/// Whether this program's kernels run on `device` now (its compute capability is among those
/// compiled for, and a context can be made there).  A success is remembered; a failure is asked
/// again after the back-off above.  Never throws.  Creates the device's context on first use.
inline bool device_runs_kernels(int device) noexcept
{
    device_health& h = health(device);
    if (h.runs_kernels.load(std::memory_order_acquire) == 1)
        return true;
    if (steady_ns() < h.retry_at_ns.load())
        return false;
    int previous = 0;
    bool ok = cudaGetDevice(&previous) == cudaSuccess;
    const bool switched = ok && previous != device;
    if (switched)
        ok = cudaSetDevice(device) == cudaSuccess;
    cudaFuncAttributes attributes{};
    ok = ok && cudaFuncGetAttributes(&attributes, probe_kernel<0>) == cudaSuccess;
    if (switched)
        (void)cudaSetDevice(previous);
    (void)cudaGetLastError();
    if (ok) {
        h.failures.store(0);
        h.runs_kernels.store(1, std::memory_order_release);
    } else {
        note_device_unavailable(device);
    }
    return ok;
}

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

/// \throws trident::device_unavailable naming the reason when `device` cannot be used.
inline void require_device(int device)
{
    std::string why = device_problem(device);
    if (!why.empty())
        throw device_unavailable("trident::gpu: " + why);
}

/// Makes `device` current for its lifetime and restores the previous current device afterwards.
class device_guard {
public:
    explicit device_guard(int device)
    {
        TRIDENT_CUDA_CHECK(cudaGetDevice(&previous_));
        if (previous_ != device)
            TRIDENT_CUDA_CHECK(cudaSetDevice(device));
        changed_ = previous_ != device;
    }
    device_guard(const device_guard&) = delete;
    device_guard& operator=(const device_guard&) = delete;
    ~device_guard()
    {
        if (changed_)
            (void)cudaSetDevice(previous_);
    }

private:
    int previous_ = 0;
    bool changed_ = false;
};

template <class T>
constexpr void require_trivially_copyable()
{
    static_assert(std::is_trivially_copyable_v<T>,
                  "trident::gpu: the element type (or init/result type) must be trivially copyable, because it is "
                  "copied to and from GPU memory byte for byte; use plain structs of arithmetic members");
}

} // namespace trident::detail
