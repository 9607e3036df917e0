#pragma once
/// \file backend/cuda/memory.cuh
/// Device memory for trident's CUDA backend: the scratch pool of each device (temporary storage of
/// CUB calls, partials, staging copies of host ranges), stream-ordered allocation that trims the
/// pools and retries once when the device is out of memory, and `scratch<T>`.
///
/// The scratch pool of a device keeps at most min(512 MiB, 1/16 of the device's memory) idle
/// between calls (its release threshold); the rest goes back to the driver at the next
/// synchronisation.  When an allocation fails for lack of memory, the idle memory of the scratch
/// pool and of the device's current pool (cudaDeviceGetMemPool, which device_vector uses) is
/// released (cudaMemPoolTrimTo) and the allocation tried once more; a second failure is a
/// trident::cuda_error with code cudaErrorMemoryAllocation, naming the bytes and the device.
/// Only nvcc sees this header.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/memory.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

namespace trident::detail {

inline constexpr std::uint64_t scratch_pool_max_idle = std::uint64_t{512} << 20;

/// trident's own stream-ordered pool for `device` (a valid index), or nullptr where the device has
/// no memory pools.  Made once per device; later calls take no lock.  Never the device's default
/// pool.  Pools live until the process ends.
inline cudaMemPool_t scratch_pool(int device)
{
    struct slot {
        std::once_flag once;
        cudaMemPool_t pool = nullptr;
    };
    static slot slots[max_tracked_devices];
    slot& s = slots[static_cast<unsigned>(device) % max_tracked_devices];
    std::call_once(s.once, [&] {
        int supported = 0;
        if (cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device) == cudaSuccess && supported) {
            cudaMemPoolProps props{};
            props.allocType = cudaMemAllocationTypePinned;
            props.handleTypes = cudaMemHandleTypeNone;
            props.location.type = cudaMemLocationTypeDevice;
            props.location.id = device;
            cudaMemPool_t pool = nullptr;
            if (cudaMemPoolCreate(&pool, &props) == cudaSuccess) {
                cudaDeviceProp prop{};
                std::uint64_t keep = scratch_pool_max_idle;
                if (cudaGetDeviceProperties(&prop, device) == cudaSuccess)
                    keep = std::min<std::uint64_t>(keep, prop.totalGlobalMem / 16);
                (void)cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
                s.pool = pool;
            }
        }
        (void)cudaGetLastError();
    });
    return s.pool;
}

/// Releases the idle memory of trident's scratch pool and of the device's current pool, after
/// `stream`'s pending frees.  Call with `device` current.
inline void trim_pools(int device, cudaStream_t stream) noexcept
{
    (void)cudaStreamSynchronize(stream);
    if (cudaMemPool_t pool = scratch_pool(device))
        (void)cudaMemPoolTrimTo(pool, 0);
    cudaMemPool_t current = nullptr;
    if (cudaDeviceGetMemPool(&current, device) == cudaSuccess && current)
        (void)cudaMemPoolTrimTo(current, 0);
    (void)cudaGetLastError();
}

/// `bytes` of device memory on `stream`, from `pool` (nullptr: the device's current pool through
/// cudaMallocAsync, or plain cudaMalloc where `pooled` is false).  Out of memory: trims the pools
/// and tries once more.  Call with `device` current.
/// \throws trident::cuda_error (cudaErrorMemoryAllocation and others) naming `what`.
inline void* device_allocate(std::size_t bytes, int device, cudaStream_t stream, cudaMemPool_t pool, bool pooled,
                             const char* what)
{
    auto attempt = [&](void** p) {
        if (!pooled)
            return cudaMalloc(p, bytes);
        return pool ? cudaMallocFromPoolAsync(p, bytes, pool, stream) : cudaMallocAsync(p, bytes, stream);
    };
    void* p = nullptr;
    cudaError_t code = attempt(&p);
    if (code == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        trim_pools(device, stream);
        code = attempt(&p);
    }
    if (code != cudaSuccess) {
        (void)cudaGetLastError();
        note_cuda_failure(code);
        std::string why = std::string("trident: could not allocate ") + std::to_string(bytes) + " bytes for " + what +
                          " on device " + std::to_string(device);
        if (code == cudaErrorMemoryAllocation)
            why += " (out of device memory, also after releasing the idle memory of the pools)";
        throw cuda_error(static_cast<int>(code),
                         why + ": " + cudaGetErrorString(code) + " (" + cudaGetErrorName(code) + ")");
    }
    return p;
}

/// An uninitialised device array of `n` T from the scratch pool of `device` on `stream` (cudaMalloc
/// where the device has no pools), freed stream-ordered when it goes out of scope.
template <class T>
class scratch {
public:
    scratch() = default;
    scratch(std::size_t n, int device, cudaStream_t stream) : stream_(stream), pool_(scratch_pool(device)), size_(n)
    {
        if (n == 0)
            return;
        if (n > static_cast<std::size_t>(-1) / sizeof(T))
            throw cuda_error(static_cast<int>(cudaErrorMemoryAllocation),
                             "trident: " + std::to_string(n) + " elements of scratch do not fit in memory");
        data_ = static_cast<T*>(device_allocate(n * sizeof(T), device, stream, pool_, pool_ != nullptr, "scratch"));
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

} // namespace trident::detail
