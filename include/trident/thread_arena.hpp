#pragma once
/// \file thread_arena.hpp
/// `trident::thread_arena`: a fixed number of threads that calls can be confined to, and
/// `trident::default_concurrency()`: how many threads a plain `trident::par` call uses.
///
/// A thread_arena (a "group" below) is a oneTBB task arena of a fixed size: it caps how many
/// threads work on the calls sent to it; it pins no thread to a core.  It was called `cpu_cores`
/// before, a name that promised pinning: `trident::cpu_cores` remains as a deprecated alias for
/// one release.  Work submitted with
/// `trident::par.on(group)` runs on at most `group.concurrency()` threads, whatever runs
/// elsewhere in the process; two groups split a machine between two jobs (a data-loading pipeline
/// and a training loop, say).  `trident::par.threads(n)` uses a cached group (see policy.hpp).
///
/// \code
///   trident::thread_arena loaders(2), trainers(6);
///   trident::for_each(trident::par.on(trainers), batch, step);
/// \endcode
///
/// A group is neither copyable nor movable (work may be running in it); it must outlive every call
/// that uses it.
///
/// A group never has more threads than oneTBB can supply: `max_threads()`, oneTBB's allowed
/// parallelism (the hardware threads of the process's affinity mask, or what a
/// `tbb::global_control(max_allowed_parallelism, p)` alive at construction allows).  oneTBB would
/// not give a bigger arena more workers anyway, and it prints a warning ("The number of workers is
/// currently limited to ...") on stderr when an arena asks for more.

#include "trident/detail/cpu_limit.hpp"

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace trident {

/// The most threads oneTBB lets one arena have now: its allowed parallelism
/// (`tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism)`).
/// Complexity: a oneTBB call that takes a lock.
[[nodiscard]] inline int max_threads()
{
    const std::size_t p = tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
    return static_cast<int>(std::clamp<std::size_t>(p, 1, 1 << 20));
}

/// How many threads a plain `trident::par` call (no `threads(n)`, no `on(cores)`) made outside any
/// arena uses: the smallest of the CPUs in the affinity mask, the CPUs the container's quota
/// allows (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us / cpu.cfs_period_us`, rounded up),
/// oneTBB's default concurrency and max_threads().  The mask and the quota are read once, at the
/// first call of this function or of a `par` algorithm (a quota changed later is not seen).
/// When the quota or the mask is below oneTBB's default, plain `par` calls run in a trident arena
/// of this size (oneTBB 2021 ignores the quota), and so do the defaults that depend on the thread
/// count (`pipeline_options::max_tokens`, a `task_group`'s arena).  Inside an arena (a group,
/// `threads(n)`, a user's `tbb::task_arena`) a plain `par` call stays there, except in an arena of
/// exactly oneTBB's default size, which it cannot tell from oneTBB's own.
/// \code
///   std::printf("%d threads\n", trident::default_concurrency());
/// \endcode
[[nodiscard]] inline int default_concurrency()
{
    return std::max(1, std::min({detail::usable_cpus(), tbb::info::default_concurrency(), max_threads()}));
}

class thread_arena {
public:
    /// A group of min(`threads`, max_threads()) threads (the calling thread of each call included).
    /// \throws std::invalid_argument if threads < 1.
    explicit thread_arena(int threads) : arena_(std::min(checked(threads), max_threads())) { arena_.initialize(); }

    thread_arena(const thread_arena&) = delete;
    thread_arena& operator=(const thread_arena&) = delete;

    /// How many threads may work in this group at once: min(threads, max_threads()) of the
    /// constructor.
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
            throw std::invalid_argument("trident::thread_arena(threads): threads must be at least 1, got " +
                                        std::to_string(threads));
        return threads;
    }

    tbb::task_arena arena_;
};

/// The old name of thread_arena (it pins no core).
using cpu_cores [[deprecated("trident::cpu_cores is now trident::thread_arena (it caps threads, it pins no core)")]] =
    thread_arena;

} // namespace trident
