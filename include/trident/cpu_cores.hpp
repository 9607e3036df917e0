#pragma once
/// \file cpu_cores.hpp
/// `trident::cpu_cores`: a group of CPU cores that calls can be pinned to.
///
/// A group is a oneTBB task arena of a fixed size.  Work submitted with
/// `trident::par.on(group)` runs on at most `group.concurrency()` threads, whatever runs
/// elsewhere in the process; two groups split a machine between two jobs (a data-loading pipeline
/// and a training loop, say).  `trident::par.threads(n)` uses a process-wide cached group of n.
///
/// \code
///   trident::cpu_cores loaders(2), trainers(6);
///   trident::for_each(trident::par.on(trainers), batch, step);
/// \endcode
///
/// A group is neither copyable nor movable (work may be running in it); it must outlive every call
/// that uses it.

#include <oneapi/tbb/task_arena.h>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace trident {

class cpu_cores {
public:
    /// A group of `threads` threads (the calling thread of each call included).
    /// \throws std::invalid_argument if threads < 1.
    explicit cpu_cores(int threads) : arena_(checked(threads)) { arena_.initialize(); }

    cpu_cores(const cpu_cores&) = delete;
    cpu_cores& operator=(const cpu_cores&) = delete;

    /// How many threads may work in this group at once.
    [[nodiscard]] int concurrency() const { return const_cast<tbb::task_arena&>(arena_).max_concurrency(); }

    /// Runs `f()` inside the group and returns its result; exceptions propagate.
    template <class F>
    decltype(auto) execute(F&& f)
    {
        return arena_.execute(std::forward<F>(f));
    }

private:
    static int checked(int threads)
    {
        if (threads < 1)
            throw std::invalid_argument("trident::cpu_cores(threads): threads must be at least 1, got " +
                                        std::to_string(threads));
        return threads;
    }

    tbb::task_arena arena_;
};

namespace detail {

/// The process-wide group of `threads` threads behind `par.threads(n)`.  Created on first use and
/// kept for the life of the process (creating an arena per call would cost more than most calls).
inline cpu_cores& cached_cores(int threads)
{
    constexpr int direct_slots = 512;
    static std::array<std::atomic<cpu_cores*>, direct_slots> direct{};
    static std::map<int, std::unique_ptr<cpu_cores>> large;
    static std::mutex mutex;

    if (threads < direct_slots) {
        if (cpu_cores* found = direct[threads].load(std::memory_order_acquire))
            return *found;
    }
    std::lock_guard lock(mutex);
    if (threads < direct_slots) {
        if (cpu_cores* found = direct[threads].load(std::memory_order_relaxed))
            return *found;
        auto* made = new cpu_cores(threads); // kept until exit, reachable through `direct`
        direct[threads].store(made, std::memory_order_release);
        return *made;
    }
    auto& slot = large[threads];
    if (!slot)
        slot = std::make_unique<cpu_cores>(threads);
    return *slot;
}

} // namespace detail
} // namespace trident
