#pragma once
// trident::detail: the lanes of a GPU pipeline stage (task/gpu_stage.cuh).  A lane is a
// non-blocking CUDA stream on the stage's device with an event per chunk of the copy back and
// pinned and device buffers for the input and the output (grown on demand, reused); a
// gpu_lane_pool makes up to `lanes` of them on first use and hands them to one call at a time.
// Nothing here throws from a destructor, and a lane whose call failed waits for its stream before
// it is reused or freed.  nvcc only.

#if !defined(__CUDACC__)
#  error "trident/task/detail/gpu_lanes.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace trident::detail {

/// A copy is cut into at most this many chunks ...
inline constexpr std::size_t gpu_stage_max_chunks = 8;
/// ... of at least this many bytes (smaller chunks cost more in CUDA calls than they overlap).
inline constexpr std::size_t gpu_stage_min_chunk_bytes = std::size_t{1} << 20;

/// Elements per chunk for a copy of n elements of `element_bytes` bytes each.
constexpr std::size_t gpu_stage_chunk(std::size_t n, std::size_t element_bytes) noexcept
{
    const std::size_t at_least = std::max<std::size_t>(1, gpu_stage_min_chunk_bytes / element_bytes);
    const std::size_t by_count = (n + gpu_stage_max_chunks - 1) / gpu_stage_max_chunks;
    return std::max(at_least, by_count);
}

/// Makes `device` current until destroyed, without throwing (for destructors and failure paths).
class quiet_device_guard {
public:
    explicit quiet_device_guard(int device) noexcept
    {
        restore_ = cudaGetDevice(&previous_) == cudaSuccess && previous_ != device &&
                   cudaSetDevice(device) == cudaSuccess;
    }
    quiet_device_guard(const quiet_device_guard&) = delete;
    quiet_device_guard& operator=(const quiet_device_guard&) = delete;
    ~quiet_device_guard()
    {
        if (restore_)
            (void)cudaSetDevice(previous_);
        (void)cudaGetLastError();
    }

private:
    int previous_ = 0;
    bool restore_ = false;
};

/// Raw bytes of pinned host memory (Pinned) or device memory (!Pinned), grown on demand.  Freed
/// by the owning lane (with its device current); never copied.
template <bool Pinned>
class lane_buffer {
public:
    lane_buffer() = default;
    lane_buffer(const lane_buffer&) = delete;
    lane_buffer& operator=(const lane_buffer&) = delete;
    ~lane_buffer() { release(); }

    /// At least n elements of T; the contents are not kept when the buffer grows.  Call with the
    /// device current and no work on the buffer in flight.
    template <class T>
    T* reserve(std::size_t n)
    {
        if (n > static_cast<std::size_t>(-1) / sizeof(T))
            throw std::invalid_argument("trident::gpu_stage: a batch of " + std::to_string(n) +
                                        " elements does not fit in memory");
        const std::size_t need = n * sizeof(T);
        if (need > bytes_) {
            const std::size_t grown = bytes_ + bytes_ / 2;
            const std::size_t bytes = std::max(need, grown);
            release();
            void* p = nullptr;
            if constexpr (Pinned)
                TRIDENT_CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocPortable));
            else
                TRIDENT_CUDA_CHECK(cudaMalloc(&p, bytes));
            data_ = p;
            bytes_ = bytes;
        }
        return static_cast<T*>(data_);
    }

    void release() noexcept
    {
        if (data_) {
            if constexpr (Pinned)
                (void)cudaFreeHost(data_);
            else
                (void)cudaFree(data_);
        }
        data_ = nullptr;
        bytes_ = 0;
    }

private:
    void* data_ = nullptr;
    std::size_t bytes_ = 0;
};

/// One lane: a non-blocking stream on its device, an event per chunk of the copy back, pinned and
/// device buffers for the input and the output.
class gpu_lane {
public:
    /// Call with `device` current.
    explicit gpu_lane(int device) : device_(device)
    {
        try {
            TRIDENT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
            for (cudaEvent_t& e : chunk_done_)
                TRIDENT_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        } catch (...) {
            release();
            throw;
        }
    }
    gpu_lane(const gpu_lane&) = delete;
    gpu_lane& operator=(const gpu_lane&) = delete;
    ~gpu_lane() { release(); }

    [[nodiscard]] cudaStream_t stream() const noexcept { return stream_; }
    [[nodiscard]] cudaEvent_t chunk_done(std::size_t k) const noexcept { return chunk_done_[k]; }

    /// Waits for the lane's stream; false when that failed (the lane is then unfit for reuse).
    bool settle() noexcept
    {
        const bool ok = cudaStreamSynchronize(stream_) == cudaSuccess;
        (void)cudaGetLastError();
        return ok;
    }

    lane_buffer<true> host_in, host_out;
    lane_buffer<false> device_in, device_out;

private:
    void release() noexcept
    {
        const quiet_device_guard guard(device_);
        if (stream_)
            (void)cudaStreamSynchronize(stream_); // nothing may still read or write the buffers
        host_in.release();
        host_out.release();
        device_in.release();
        device_out.release();
        for (cudaEvent_t& e : chunk_done_) {
            if (e)
                (void)cudaEventDestroy(e);
            e = nullptr;
        }
        if (stream_)
            (void)cudaStreamDestroy(stream_);
        stream_ = nullptr;
    }

    int device_;
    cudaStream_t stream_ = nullptr;
    std::array<cudaEvent_t, gpu_stage_max_chunks> chunk_done_{};
};

/// Up to `lanes` lanes on one device, made on first use and shared by every copy of a stage.
class gpu_lane_pool {
public:
    gpu_lane_pool(int device, int lanes) : device_(device), lanes_(static_cast<std::size_t>(lanes)) {}
    gpu_lane_pool(const gpu_lane_pool&) = delete;
    gpu_lane_pool& operator=(const gpu_lane_pool&) = delete;
    ~gpu_lane_pool() = default; // each lane waits for its stream, then frees what it holds

    /// A lane held by one call; given back when destroyed.  A call that ended by an exception
    /// (done() not called) first waits for the lane's stream; a lane whose stream failed is freed.
    class lease {
    public:
        lease(gpu_lane_pool& pool, gpu_lane& lane) noexcept : pool_(&pool), lane_(&lane) {}
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        ~lease() { pool_->give_back(*lane_, done_); }
        [[nodiscard]] gpu_lane& lane() const noexcept { return *lane_; }
        /// The call finished normally: the lane's stream has no work left.
        void done() noexcept { done_ = true; }

    private:
        gpu_lane_pool* pool_;
        gpu_lane* lane_;
        bool done_ = false;
    };

    [[nodiscard]] int device() const noexcept { return device_; }

    /// \throws trident::device_unavailable when the device cannot be used.
    void check_device()
    {
        if (device_ok_.load(std::memory_order_acquire))
            return;
        require_device(device_);
        device_ok_.store(true, std::memory_order_release);
    }

    /// A free lane (a new one while fewer than `lanes` exist); waits when all are busy (only when
    /// copies of the stage run in several pipelines at once).  Call with the device current.
    gpu_lane& acquire()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        freed_.wait(lock, [&] { return !idle_.empty() || all_.size() < lanes_; });
        if (!idle_.empty()) {
            gpu_lane* lane = idle_.back();
            idle_.pop_back();
            return *lane;
        }
        all_.reserve(lanes_);
        idle_.reserve(lanes_);
        all_.push_back(std::make_unique<gpu_lane>(device_)); // a lane that fails to build is not kept
        return *all_.back();
    }

private:
    void give_back(gpu_lane& lane, bool clean) noexcept
    {
        bool fit = true;
        if (!clean) {
            const quiet_device_guard guard(device_);
            fit = lane.settle();
        }
        std::unique_ptr<gpu_lane> broken;
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            if (fit) {
                idle_.push_back(&lane); // capacity reserved in acquire(): no allocation, no throw
            } else {
                auto it = std::find_if(all_.begin(), all_.end(), [&](const auto& p) { return p.get() == &lane; });
                if (it != all_.end()) {
                    broken = std::move(*it);
                    all_.erase(it);
                }
            }
        }
        freed_.notify_one();
        // `broken` (if any) is freed here, outside the lock.
    }

    int device_;
    std::size_t lanes_;
    std::atomic<bool> device_ok_{false};
    std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<gpu_lane>> all_;
    std::vector<gpu_lane*> idle_;
};

} // namespace trident::detail
