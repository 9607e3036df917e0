#pragma once
/// \file backend/cuda/devices.cuh
/// Which CUDA devices trident's CUDA backend can use.  Only nvcc sees this header.
///
/// - `trident::detail::require_device(i)`: throws `trident::device_unavailable` saying why device
///   `i` cannot be used (no driver, no device, index out of range, prohibited compute mode).
/// - `device_runs_kernels(i)`: automatic's probe; a failure is asked again after a back-off.
/// - `device_guard`: makes a device current for a scope and restores the caller's afterwards.
///
/// Nothing here touches CUDA during static initialisation: the device census is a function-local
/// static, computed on first use.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/devices.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/errors.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>

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
    cudaError_t status = cudaGetDevice(&previous);
    const bool switched = status == cudaSuccess && previous != device;
    if (switched)
        status = cudaSetDevice(device);
    cudaFuncAttributes attributes{};
    if (status == cudaSuccess)
        status = cudaFuncGetAttributes(&attributes, probe_kernel<0>);
    if (switched)
        (void)cudaSetDevice(previous);
    (void)cudaGetLastError();
    note_cuda_failure(status); // a sticky error from before trident's first call: recorded (check.cuh)
    const bool ok = status == cudaSuccess;
    if (ok) {
        h.failures.store(0);
        h.runs_kernels.store(1, std::memory_order_release);
    } else {
        note_device_unavailable(device);
    }
    return ok;
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

} // namespace trident::detail
