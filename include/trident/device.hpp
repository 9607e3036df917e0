#pragma once
/// \file device.hpp
/// `trident::device`: where a model-parallel stage runs, with a memory budget that every tensor of
/// the stage is accounted against (parameters, gradients, optimizer state, activations, buffers in
/// transit).
///
/// - `cpu_device(threads, budget)`: a group of `threads` threads (a `trident::thread_arena` of its
///   own: work sent to `arena()` runs on at most that many threads) and a budget in bytes.
/// - `gpu_device(cuda_index, budget)`: a CUDA device (or a share of one: several gpu_device values may
///   name the same index, each with its own budget).  This header only records the index and does
///   the accounting; it includes no CUDA header.
///
/// Several devices can be carved out of one machine (two cpu_device(1, ...) on a 2-core machine, two
/// budgets on one GPU), so that everything is testable without several machines or GPUs.
///
/// A `device` is a cheap shared handle: copies refer to the same accounting and the same arena
/// (`a == b` says whether two handles do).  `reserve(bytes, what)` books bytes against the budget and
/// returns a `memory_lease` that gives them back when destroyed; it throws `trident::out_of_memory`
/// (naming the device, `what`, the bytes asked, the bytes in use and the budget) instead of going
/// over, and then changes nothing.  The accounting is thread-safe (several stages' threads reserve at
/// once) and exact: `in_use()` is the sum of the live leases, `peak()` the largest value `in_use()`
/// has had since construction or `reset_peak()`, never above `budget()`.
///
/// \code
///   using namespace trident::literals;
///   trident::device d = trident::cpu_device(2, 64_MiB);          // named "cpu0" (first cpu device)
///   {
///       trident::memory_lease w = d.reserve(16_MiB, "dense weights");
///       // d.in_use() == 16_MiB
///   }                                                           // released: d.in_use() == 0
///   d.arena().execute([] { /* trident::par here runs on at most 2 threads */ });
///   d.reserve(100_MiB, "activations");                          // throws trident::out_of_memory
/// \endcode
///
/// Complexity: reserve, release and the queries take one mutex (constant time).  Constructing a cpu
/// device starts a oneTBB arena (microseconds).
/// \throws std::invalid_argument from cpu_device when threads < 1, from gpu_device when
///   cuda_index < 0; std::logic_error from arena() on a GPU device; trident::out_of_memory from
///   reserve().

#include "trident/errors.hpp"
#include "trident/thread_arena.hpp"

#include <atomic>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace trident {

enum class device_kind { cpu, gpu };

class device;

namespace detail {
struct device_state {
    device_kind kind = device_kind::cpu;
    std::string name;
    int threads = 1;
    int gpu_index = -1;
    std::size_t budget = 0;
    std::unique_ptr<thread_arena> arena; // cpu devices only
    std::mutex mutex;
    std::size_t in_use = 0;
    std::size_t peak = 0;
};
} // namespace detail

/// Bytes booked on a device; gives them back when destroyed (or at release()).  Move-only.  A lease
/// keeps the device's accounting alive, so it may outlive every `device` handle.
class memory_lease {
public:
    memory_lease() = default;
    memory_lease(memory_lease&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), bytes_(std::exchange(other.bytes_, 0))
    {
    }
    memory_lease& operator=(memory_lease&& other) noexcept
    {
        if (this != &other) {
            release();
            owner_ = std::exchange(other.owner_, nullptr);
            bytes_ = std::exchange(other.bytes_, 0);
        }
        return *this;
    }
    memory_lease(const memory_lease&) = delete;
    memory_lease& operator=(const memory_lease&) = delete;
    ~memory_lease() { release(); }

    /// The bytes this lease holds (0 once released or moved from).
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
    /// Gives the bytes back now (idempotent).
    void release() noexcept;

private:
    friend class device;
    memory_lease(std::shared_ptr<detail::device_state> owner, std::size_t bytes) : owner_(std::move(owner)), bytes_(bytes) {}

    std::shared_ptr<detail::device_state> owner_;
    std::size_t bytes_ = 0;
};

inline void memory_lease::release() noexcept
{
    if (owner_) {
        std::lock_guard lock(owner_->mutex);
        owner_->in_use -= bytes_;
    }
    owner_.reset();
    bytes_ = 0;
}

class device {
public:
    [[nodiscard]] device_kind kind() const noexcept { return s_->kind; }
    [[nodiscard]] const std::string& name() const noexcept { return s_->name; }
    /// CPU: the threads of its arena, min(threads asked, trident::max_threads()).  GPU: 1 (one host
    /// thread drives the device's stream).
    [[nodiscard]] int threads() const noexcept { return s_->threads; }
    /// The CUDA device index of a GPU device; -1 for a CPU device.
    [[nodiscard]] int gpu_index() const noexcept { return s_->gpu_index; }
    [[nodiscard]] std::size_t budget() const noexcept { return s_->budget; }
    [[nodiscard]] std::size_t in_use() const
    {
        std::lock_guard lock(s_->mutex);
        return s_->in_use;
    }
    [[nodiscard]] std::size_t peak() const
    {
        std::lock_guard lock(s_->mutex);
        return s_->peak;
    }
    /// Starts a new peak measurement: peak() becomes in_use().
    void reset_peak() const
    {
        std::lock_guard lock(s_->mutex);
        s_->peak = s_->in_use;
    }

    /// The thread group of a CPU device (send work there with `arena().execute(f)` or
    /// `trident::par.on(d.arena())`).  \throws std::logic_error on a GPU device.
    [[nodiscard]] thread_arena& arena() const
    {
        if (!s_->arena)
            throw std::logic_error("trident::device::arena(): device '" + s_->name +
                                   "' is a GPU device and has no thread arena");
        return *s_->arena;
    }

    /// Runs `f()` where this device's work runs: inside its arena (CPU), on the calling thread
    /// (GPU: the caller drives the device).  Inside, a plain `trident::par` call (the built-in
    /// layers' gemm) stays in the arena, hence on at most threads() threads (the one exception, as
    /// for any arena: an arena of exactly oneTBB's default size under a container CPU quota below it
    /// runs plain par in the quota's arena; see thread_arena.hpp).  Returns f's result (a value);
    /// exceptions propagate.
    template <class F>
    decltype(auto) execute(F&& f) const
    {
        if (s_->arena)
            return s_->arena->execute(std::forward<F>(f));
        return std::forward<F>(f)();
    }

    /// Books `bytes` against the budget for `what` (a name for messages: "stage 1 activations").
    /// \throws trident::out_of_memory when in_use() + bytes would exceed budget(); nothing changes then.
    [[nodiscard]] memory_lease reserve(std::size_t bytes, std::string_view what) const
    {
        std::unique_lock lock(s_->mutex);
        const std::size_t used = s_->in_use;
        if (bytes > s_->budget - used) {
            lock.unlock();
            throw out_of_memory(s_->name, std::string(what), bytes, used, s_->budget);
        }
        s_->in_use = used + bytes;
        if (s_->in_use > s_->peak)
            s_->peak = s_->in_use;
        return memory_lease(s_, bytes);
    }

    /// Whether both handles refer to the same device (the same accounting).
    friend bool operator==(const device& a, const device& b) noexcept { return a.s_ == b.s_; }

private:
    friend device cpu_device(int, std::size_t, std::string);
    friend device gpu_device(int, std::size_t, std::string);
    explicit device(std::shared_ptr<detail::device_state> s) : s_(std::move(s)) {}

    std::shared_ptr<detail::device_state> s_;
};

namespace detail {
inline std::string next_device_name(device_kind kind)
{
    static std::atomic<int> cpus{0}, gpus{0};
    return kind == device_kind::cpu ? "cpu" + std::to_string(cpus++) : "gpu" + std::to_string(gpus++);
}
} // namespace detail

/// A CPU device: a thread_arena of `threads` threads (capped at trident::max_threads()) and a budget
/// of `budget_bytes`.  Without a name it is called cpu0, cpu1, ... in the order of creation.
/// \throws std::invalid_argument if threads < 1.
[[nodiscard]] inline device cpu_device(int threads, std::size_t budget_bytes, std::string name = {})
{
    if (threads < 1)
        throw std::invalid_argument("trident::cpu_device: threads must be at least 1, got " +
                                    std::to_string(threads));
    auto s = std::make_shared<detail::device_state>();
    s->kind = device_kind::cpu;
    s->name = name.empty() ? detail::next_device_name(device_kind::cpu) : std::move(name);
    s->arena = std::make_unique<thread_arena>(threads);
    s->threads = s->arena->concurrency();
    s->gpu_index = -1;
    s->budget = budget_bytes;
    return device(std::move(s));
}

/// A GPU device: CUDA device `cuda_index` with a budget of `budget_bytes` (accounting only: whether
/// the index exists is checked by whoever runs work there).  Without a name it is called gpu0,
/// gpu1, ... in the order of creation (not by CUDA index: several may share one GPU).
/// \throws std::invalid_argument if cuda_index < 0.
[[nodiscard]] inline device gpu_device(int cuda_index, std::size_t budget_bytes, std::string name = {})
{
    if (cuda_index < 0)
        throw std::invalid_argument("trident::gpu_device: cuda_index must be at least 0, got " +
                                    std::to_string(cuda_index));
    auto s = std::make_shared<detail::device_state>();
    s->kind = device_kind::gpu;
    s->name = name.empty() ? detail::next_device_name(device_kind::gpu) : std::move(name);
    s->threads = 1;
    s->gpu_index = cuda_index;
    s->budget = budget_bytes;
    return device(std::move(s));
}

/// Byte counts: `64_KiB`, `512_MiB`, `2_GiB` (powers of 1024), std::size_t.  A value that does not
/// fit std::size_t is a compile-time error in a constant expression.
inline namespace literals {
namespace detail_bytes {
consteval std::size_t scaled(unsigned long long v, unsigned shift)
{
    if (v > (std::numeric_limits<std::size_t>::max() >> shift))
        throw "trident byte literal: the value does not fit std::size_t";
    return static_cast<std::size_t>(v) << shift;
}
} // namespace detail_bytes
consteval std::size_t operator""_KiB(unsigned long long v) { return detail_bytes::scaled(v, 10); }
consteval std::size_t operator""_MiB(unsigned long long v) { return detail_bytes::scaled(v, 20); }
consteval std::size_t operator""_GiB(unsigned long long v) { return detail_bytes::scaled(v, 30); }
} // namespace literals

} // namespace trident
