#pragma once
/// \file backend/cuda/check.cuh
/// CUDA error checking, device selection and temporary device memory for trident's CUDA backend.
/// Only nvcc sees this header (it is reached through detail/dispatch.hpp or device_vector.cuh).
///
/// - `TRIDENT_CUDA_CHECK(call)`: runs a CUDA runtime call; on failure throws `trident::cuda_error`
///   whose message names the call expression, the file:line and CUDA's error string.
/// - `TRIDENT_CUDA_CHECK_LAUNCH(kernel)`: checks a kernel launch (cudaGetLastError).
/// - `trident::detail::require_device(i)`: throws `trident::device_unavailable` saying why device
///   `i` cannot be used (no driver, no device, index out of range).
///
/// Nothing here touches CUDA during static initialisation: the device census is a function-local
/// static, computed on first use.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/check.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/errors.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>

namespace trident::detail {

/// Throws trident::cuda_error for a failed CUDA call (and clears CUDA's last-error slot, so that a
/// later launch check does not report this error again).
inline void cuda_check(cudaError_t code, const char* expression, const char* file, int line)
{
    if (code == cudaSuccess)
        return;
    (void)cudaGetLastError();
    throw cuda_error(static_cast<int>(code), std::string("trident: CUDA call `") + expression + "` failed at " + file +
                                                 ":" + std::to_string(line) + ": " + cudaGetErrorString(code) + " (" +
                                                 cudaGetErrorName(code) + ")");
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
    return {};
}

/// An empty kernel: whether it has an image for a device says whether this program's kernels can
/// run there (a template, so that every translation unit may define it).
template <int = 0>
__global__ void probe_kernel()
{
}

/// Whether this program's kernels run on `device` (its compute capability is among those compiled
/// for, CMAKE_CUDA_ARCHITECTURES).  Asked once per device index; never throws.  Creates the
/// device's context on first use.
inline bool device_runs_kernels(int device) noexcept
{
    try {
        static std::mutex mutex;
        static std::map<int, bool>* cache = new std::map<int, bool>; // never destroyed
        std::lock_guard<std::mutex> lock(mutex);
        if (auto it = cache->find(device); it != cache->end())
            return it->second;
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
        cache->emplace(device, ok);
        return ok;
    } catch (...) {
        return false;
    }
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

/// trident's own stream-ordered memory pool for a device (temporary storage of CUB calls and
/// staging copies of host ranges), or nullptr where the device has no memory pools.  The pool
/// keeps up to `pool_release_threshold` bytes between calls, so repeated calls do not pay for
/// cudaMalloc/cudaFree; it never touches the device's default pool.  Pools live until the process
/// ends.  Call with `device` current.
inline constexpr std::uint64_t pool_release_threshold = std::uint64_t{2} << 30; // 2 GiB

inline cudaMemPool_t scratch_pool(int device)
{
    static std::mutex mutex;
    static std::map<int, cudaMemPool_t>* pools = new std::map<int, cudaMemPool_t>; // never destroyed
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = pools->find(device); it != pools->end())
        return it->second;
    cudaMemPool_t pool = nullptr;
    int supported = 0;
    if (cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device) == cudaSuccess && supported) {
        cudaMemPoolProps props{};
        props.allocType = cudaMemAllocationTypePinned;
        props.handleTypes = cudaMemHandleTypeNone;
        props.location.type = cudaMemLocationTypeDevice;
        props.location.id = device;
        if (cudaMemPoolCreate(&pool, &props) == cudaSuccess) {
            std::uint64_t threshold = pool_release_threshold;
            (void)cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold);
        } else {
            pool = nullptr;
        }
    }
    (void)cudaGetLastError();
    pools->emplace(device, pool);
    return pool;
}

/// An uninitialised device array of `n` T, freed (stream-ordered) when it goes out of scope.
/// Allocated from scratch_pool(device) on `stream`, or with cudaMalloc where pools are missing.
template <class T>
class scratch {
public:
    scratch() = default;
    scratch(std::size_t n, int device, cudaStream_t stream) : stream_(stream), pool_(scratch_pool(device)), size_(n)
    {
        if (n == 0)
            return;
        void* p = nullptr;
        if (pool_)
            TRIDENT_CUDA_CHECK(cudaMallocFromPoolAsync(&p, n * sizeof(T), pool_, stream_));
        else
            TRIDENT_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
        data_ = static_cast<T*>(p);
    }
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;
    ~scratch()
    {
        if (!data_)
            return;
        if (pool_)
            (void)cudaFreeAsync(data_, stream_);
        else
            (void)cudaFree(data_);
    }

    [[nodiscard]] T* get() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    T* data_ = nullptr;
    cudaStream_t stream_ = nullptr;
    cudaMemPool_t pool_ = nullptr;
    std::size_t size_ = 0;
};

template <class T>
constexpr void require_trivially_copyable()
{
    static_assert(std::is_trivially_copyable_v<T>,
                  "trident::gpu: the element type (or init/result type) must be trivially copyable, because it is "
                  "copied to and from GPU memory byte for byte; use plain structs of arithmetic members");
}

} // namespace trident::detail
