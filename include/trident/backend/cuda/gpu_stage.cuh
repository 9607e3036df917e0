#pragma once
/// \file backend/cuda/gpu_stage.cuh
/// `trident::gpu_stage` and `trident::gpu_map_stage`: a pipeline stage that runs on a CUDA device
/// and overlaps the copy in, the kernel and the copy out of successive items.
///
/// A GPU stage is an ordinary `trident::pipeline_stage` (see task/pipeline.hpp): it takes the
/// previous stage's `std::vector<In>` and returns a `std::vector<Out>` of the same length, so the
/// stages around it do not change.  Inside, it owns `lanes` *lanes*; a lane is
///   - a CUDA stream of its own, created non-blocking on the policy's device,
///   - a pinned (page-locked) host buffer for the input and one for the output,
///   - a device buffer for the input and one for the output.
/// Each call takes a free lane and, on that lane's stream:
///   1. copies the input into the pinned buffer and from there to the device (cudaMemcpyAsync,
///      host to device), in chunks, so the first chunks cross PCIe while the host copies the next;
///   2. runs the kernel on the device buffers;
///   3. copies the result back (device to host, in chunks, each followed by an event) and moves
///      each chunk into the returned vector as soon as its event completes (when In and Out are the
///      same type the returned vector is the input vector itself, overwritten: no allocation and
///      no page faults per item);
/// then gives the lane back.  The stage's mode is `trident::parallel.limit(lanes)`, so successive
/// items run on different threads and different lanes at once: while item k is copied out, item
/// k+1's kernel runs and item k+2 is copied in (the H100 has separate copy engines for each
/// direction, so the three overlap).  Two lanes give double buffering, three triple buffering.
///
/// \code
///   #include "trident/trident.hpp"
///   #include "trident/backend/cuda/gpu_stage.cuh"   // (a .cu file: nvcc only)
///
///   std::size_t next = 0;
///   trident::run_pipeline(trident::par,
///       trident::source("load", [&]() -> std::optional<std::vector<float>> {
///           if (next == batches) return std::nullopt;
///           return load(next++);                                         // a host batch
///       }),
///       trident::stage("clean", trident::parallel, [](std::vector<float> b) { return clean(std::move(b)); }),
///       trident::gpu_map_stage<float>("score", trident::gpu, TRIDENT_LAMBDA(float x) { return score(x); }),
///       trident::stage("save", trident::serial_in_order, [&](std::vector<float> s) { save(s); }));
///
///   // The general form: any work on the lane's device buffers and stream.
///   auto smooth = trident::gpu_stage<float, float>("smooth", trident::gpu.device(1),
///       [](trident::device_span<const float> in, trident::device_span<float> out, const trident::gpu_policy& on) {
///           const std::size_t n = in.size();
///           trident::for_each_index(on, n, TRIDENT_LAMBDA(std::size_t i) {
///               out[i] = (in[i == 0 ? 0 : i - 1] + in[i] + in[i + 1 == n ? i : i + 1]) / 3;
///           });
///       }, /*lanes=*/3);
/// \endcode
///
/// **Interface.**
/// - `gpu_stage<In, Out>(name, where, kernel, lanes = 2)`: `kernel(device_span<const In> in,
///   device_span<Out> out, const gpu_policy& on_lane)` must leave out[i] for every i (in.size() ==
///   out.size() > 0).  `on_lane` is `where.stream(lane stream)`: pass it to trident::map,
///   for_each_index, reduce, ... or launch kernels of your own on `on_lane.stream_handle()`.  The
///   kernel may return before its work is done if that work is on the lane's stream (the copy back
///   is queued behind it).  It is called by several threads at once (one per busy lane), as const.
/// - `gpu_map_stage<In>(name, where, f, lanes = 2)`: out[i] = f(in[i]) through trident::map; `f`
///   must be device-callable (TRIDENT_LAMBDA, or a function object with a TRIDENT_HOST_DEVICE call
///   operator and `trident::is_device_callable_v` specialised); Out is f's result type.
/// Both return a `trident::pipeline_stage` for trident::run_pipeline, in mode
/// `trident::parallel.limit(lanes)`.  The stage object is cheap to copy: copies share the lanes.
/// An empty input gives an empty output without calling the kernel or taking a lane (the device
/// is still checked, so a bad device index is reported whatever the first batch).
///
/// **Requirements.**  In and Out trivially copyable (they are copied byte for byte); the stage
/// runs on `where.device_index()`; `where` must not name a stream (the lanes have their own);
/// nvcc with --extended-lambda (linking trident::trident adds it).
///
/// **Lifetime and memory.**  Nothing touches CUDA when the stage is made (a pipeline can be
/// described on a machine without a GPU): the device is checked at the first call, and lanes are
/// made at first use, up to `lanes` of them.  A lane's buffers grow on demand (to at least the
/// batch size, and at least 1.5 times their previous size, so a growing series of batches
/// reallocates O(log) times); they are reused afterwards.  Growing costs a cudaFree / cudaFreeHost
/// and cudaMalloc / cudaHostAlloc, which synchronise the device, so steady-state batches should be
/// of similar size.  Per lane, the memory held is about the largest batch's bytes (In + Out), twice:
/// once pinned on the host, once on the device.  The lanes (streams, events, pinned and device
/// buffers) are freed when the last copy of the stage object goes, after their work finished.
///
/// **Complexity and cost.**  Per item: two host copies of the data (into the pinned buffer and out
/// of it into the returned vector; an output of another type than the input is a new vector), the
/// two PCIe transfers, the kernel, and a few microseconds of CUDA calls per chunk (chunks of at
/// least 1 MiB, at most 8 each way).  The host copies run on the stage's threads, one per busy
/// lane, so more lanes also spread them over more cores.  Throughput with L lanes on L threads is
/// about one item per max(T / L, t_h2d, t_kernel, t_d2h), T being one item's whole time through
/// the stage; with one lane it is one item per T.  Under `trident::seq` (one item at a time) or a
/// pipeline with fewer threads than lanes, fewer lanes are busy at once and the overlap shrinks.
///
/// **Exceptions.**
/// - `std::invalid_argument` when the stage is made: lanes < 1 (the message gives the value), or a
///   policy that names a stream.
/// - `trident::device_unavailable` at the first call when the device cannot be used (no driver, no
///   device, index out of range); again at every later call.
/// - `trident::cuda_error` naming the CUDA call that failed (out of memory, a failed launch, ...).
/// - Whatever the kernel throws.
/// Every one of them reaches run_pipeline's caller, which drops the items in flight; a lane whose
/// call failed waits for its stream before it is reused or freed, so no copy still reads or writes
/// its buffers.  Destructors never throw.
///
/// Only nvcc sees this header: include it from .cu files.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/gpu_stage.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/device_vector.cuh"
#include "trident/data/map.hpp"
#include "trident/backend/dispatch.hpp"
#include "trident/errors.hpp"
#include "trident/lambda.hpp"
#include "trident/policy.hpp"
#include "trident/task/pipeline.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
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

/// What a GPU stage's copies share: the kernel, the policy and the lanes.
template <class In, class Out, class Kernel>
class gpu_stage_state {
public:
    gpu_stage_state(gpu_policy where, Kernel kernel, int lanes)
        : where_(where), kernel_(std::move(kernel)), pool_(where.device_index(), lanes)
    {
    }

    /// The input is taken by reference and, when In is Out, reused for the result.
    std::vector<Out> run(std::vector<In>& input)
    {
        pool_.check_device();
        const std::size_t n = input.size();
        if (n == 0)
            return {};
        const device_guard current(pool_.device());
        gpu_lane_pool::lease held(pool_, pool_.acquire());
        gpu_lane& lane = held.lane();
        const cudaStream_t stream = lane.stream();

        In* host_in = lane.host_in.reserve<In>(n);
        Out* host_out = lane.host_out.reserve<Out>(n);
        In* device_in = lane.device_in.reserve<In>(n);
        Out* device_out = lane.device_out.reserve<Out>(n);

        // Copy in: chunk k crosses PCIe while the host stages chunk k + 1.
        const std::size_t in_chunk = gpu_stage_chunk(n, sizeof(In));
        for (std::size_t b = 0; b < n; b += in_chunk) {
            const std::size_t count = std::min(in_chunk, n - b);
            std::memcpy(static_cast<void*>(host_in + b), static_cast<const void*>(input.data() + b), count * sizeof(In));
            TRIDENT_CUDA_CHECK(
                cudaMemcpyAsync(device_in + b, host_in + b, count * sizeof(In), cudaMemcpyHostToDevice, stream));
        }

        kernel_(device_span<const In>(device_in, n, pool_.device()), device_span<Out>(device_out, n, pool_.device()),
                where_.stream(stream));

        // Copy out: the host moves chunk k into the result while chunk k + 1 crosses PCIe.
        const std::size_t out_chunk = gpu_stage_chunk(n, sizeof(Out));
        std::size_t chunks = 0;
        for (std::size_t b = 0; b < n; b += out_chunk, ++chunks) {
            const std::size_t count = std::min(out_chunk, n - b);
            TRIDENT_CUDA_CHECK(
                cudaMemcpyAsync(host_out + b, device_out + b, count * sizeof(Out), cudaMemcpyDeviceToHost, stream));
            TRIDENT_CUDA_CHECK(cudaEventRecord(lane.chunk_done(chunks), stream));
        }
        if constexpr (std::is_same_v<In, Out>) {
            // The input's own memory takes the result: no allocation (and no page faults) per item.
            for (std::size_t k = 0, b = 0; k < chunks; ++k, b += out_chunk) {
                TRIDENT_CUDA_CHECK(cudaEventSynchronize(lane.chunk_done(k)));
                std::memcpy(static_cast<void*>(input.data() + b), static_cast<const void*>(host_out + b),
                            std::min(out_chunk, n - b) * sizeof(Out));
            }
            held.done(); // the last event completed: nothing is left on the lane's stream
            return std::move(input);
        } else {
            std::vector<Out> output;
            output.reserve(n);
            for (std::size_t k = 0, b = 0; k < chunks; ++k, b += out_chunk) {
                TRIDENT_CUDA_CHECK(cudaEventSynchronize(lane.chunk_done(k)));
                output.insert(output.end(), host_out + b, host_out + std::min(n, b + out_chunk));
            }
            held.done();
            return output;
        }
    }

private:
    gpu_policy where_;
    const Kernel kernel_; // called by several lanes at once, as const
    gpu_lane_pool pool_;
};

/// The stage function: cheap to copy (copies share the state), callable as const.
template <class In, class Out, class Kernel>
class gpu_stage_fn {
public:
    explicit gpu_stage_fn(std::shared_ptr<gpu_stage_state<In, Out, Kernel>> state) noexcept : state_(std::move(state)) {}

    /// By value: the pipeline moves its item in, and when In is Out the result goes back into the
    /// same memory.
    std::vector<Out> operator()(std::vector<In> input) const { return state_->run(input); }

private:
    std::shared_ptr<gpu_stage_state<In, Out, Kernel>> state_;
};

/// gpu_map_stage's kernel: trident::map on the lane's device buffers and stream.
template <class F>
struct gpu_map_kernel {
    F f;
    template <class In, class Out>
    void operator()(device_span<const In> in, device_span<Out> out, const gpu_policy& on_lane) const
    {
        trident::map(on_lane, in, out, f);
    }
};

inline void check_gpu_stage_arguments(const gpu_policy& where, int lanes)
{
    if (lanes < 1)
        throw std::invalid_argument("trident::gpu_stage: lanes must be at least 1, got " + std::to_string(lanes));
    if (where.stream_handle() != nullptr)
        throw std::invalid_argument("trident::gpu_stage: the policy names a stream, but a GPU stage runs on streams "
                                    "of its own (one per lane); pass trident::gpu or trident::gpu.device(i)");
}

} // namespace trident::detail

namespace trident {

/// A pipeline stage on a CUDA device (see the file comment): `std::vector<In>` in, `std::vector<Out>`
/// of the same length out, through `kernel(device_span<const In>, device_span<Out>, const gpu_policy&
/// on_lane)` on one of `lanes` lanes, in mode `parallel.limit(lanes)`.
/// \throws std::invalid_argument if lanes < 1 or `where` names a stream.  Touches no CUDA.
template <class In, class Out, class Kernel>
[[nodiscard]] pipeline_stage<detail::gpu_stage_fn<In, Out, std::decay_t<Kernel>>>
gpu_stage(std::string name, const gpu_policy& where, Kernel&& kernel, int lanes = 2)
{
    static_assert(std::is_trivially_copyable_v<In> && std::is_trivially_copyable_v<Out>,
                  "trident::gpu_stage<In, Out>: In and Out must be trivially copyable (they are copied to and from "
                  "GPU memory byte for byte)");
    static_assert(!std::is_const_v<In> && !std::is_const_v<Out> && !std::is_volatile_v<In> && !std::is_volatile_v<Out>,
                  "trident::gpu_stage<In, Out>: name the element types without const or volatile");
    static_assert(std::is_copy_constructible_v<Out>, "trident::gpu_stage<In, Out>: Out must be copy constructible");
    using K = std::decay_t<Kernel>;
    static_assert(std::is_invocable_v<const K&, device_span<const In>, device_span<Out>, const gpu_policy&>,
                  "trident::gpu_stage: the kernel must be callable as const with (trident::device_span<const In>, "
                  "trident::device_span<Out>, const trident::gpu_policy& on_lane)");
    detail::check_gpu_stage_arguments(where, lanes);
    auto state = std::make_shared<detail::gpu_stage_state<In, Out, K>>(where, std::forward<Kernel>(kernel), lanes);
    return {std::move(name), parallel.limit(lanes), detail::gpu_stage_fn<In, Out, K>(std::move(state))};
}

/// An element-wise GPU stage: out[i] = f(in[i]) (trident::map on the lane's stream); Out is f's
/// result type.  `f` must be device-callable (TRIDENT_LAMBDA).
/// \throws std::invalid_argument if lanes < 1 or `where` names a stream.  Touches no CUDA.
template <class In, class F>
[[nodiscard]] auto gpu_map_stage(std::string name, const gpu_policy& where, F f, int lanes = 2)
{
    static_assert(std::is_invocable_v<const F&, const In&>,
                  "trident::gpu_map_stage<In>: f must be callable with an element of type In");
    static_assert(detail::device_callable<F>(),
                  "trident::gpu_map_stage: f must be device-callable: write it with TRIDENT_LAMBDA, or give a function "
                  "object a TRIDENT_HOST_DEVICE call operator and specialise trident::is_device_callable_v for it");
    using Out = std::remove_cvref_t<std::invoke_result_t<const F&, const In&>>;
    return gpu_stage<In, Out>(std::move(name), where, detail::gpu_map_kernel<F>{std::move(f)}, lanes);
}

} // namespace trident
