#pragma once
// Which arena a par call runs in (arena_for), and the bounded cache of arenas behind
// par.threads(n).
//
// An arena costs about half a kilobyte per slot for the life of the arena, so one kept per
// distinct n grew without bound (n = 1..5000: 7 GB).  Now n is clamped to max_threads() (oneTBB
// gives no arena more threads than that), and the cache keeps the arena_cache_capacity most
// recently used sizes.  A call holds its arena by shared ownership: an arena evicted while calls
// run in it (on other threads) is destroyed when the last of them ends.

#include "trident/thread_arena.hpp"
#include "trident/policy.hpp"

#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace trident::detail {

/// Arenas kept for par.threads(n) when no call uses them.
inline constexpr std::size_t arena_cache_capacity = 8;

/// A cache of arenas by size, least recently used evicted first.  Thread-safe.
class arena_cache {
public:
    explicit arena_cache(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

    /// The cached arena of `threads` threads, made when missing.  With more than `capacity`
    /// arenas, the least recently used one that no call holds is dropped (the least recently used
    /// one when every one is held: it lives on until its calls end).
    /// \throws what thread_arena(threads) throws.
    std::shared_ptr<thread_arena> get(int threads)
    {
        std::shared_ptr<thread_arena> evicted; // destroyed after the lock is released
        const std::lock_guard lock(mutex_);
        ++clock_;
        for (entry& e : entries_) {
            if (e.threads == threads) {
                e.last_use = clock_;
                return e.cores;
            }
        }
        auto made = std::make_shared<thread_arena>(threads);
        if (entries_.size() >= capacity_)
            evicted = evict_one();
        entries_.push_back(entry{threads, clock_, made});
        return made;
    }

    /// Arenas held by the cache (calls may hold evicted ones besides).
    [[nodiscard]] std::size_t size() const
    {
        const std::lock_guard lock(mutex_);
        return entries_.size();
    }

private:
    struct entry {
        int threads;
        std::uint64_t last_use;
        std::shared_ptr<thread_arena> cores;
    };

    std::shared_ptr<thread_arena> evict_one()
    {
        std::size_t victim = 0;
        bool victim_idle = false;
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            // use_count() == 1: only the cache holds it (a racing get() on another thread would
            // need this mutex, so no new holder can appear meanwhile).
            const bool idle = entries_[i].cores.use_count() == 1;
            if ((idle && !victim_idle) ||
                (idle == victim_idle && entries_[i].last_use < entries_[victim].last_use)) {
                victim = i;
                victim_idle = idle;
            }
        }
        std::shared_ptr<thread_arena> evicted = std::move(entries_[victim].cores);
        entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(victim));
        return evicted;
    }

    mutable std::mutex mutex_;
    std::vector<entry> entries_;
    std::uint64_t clock_ = 0;
    std::size_t capacity_;
};

/// The process-wide cache behind par.threads(n).  Never destroyed: arenas are not torn down
/// during static destruction, when oneTBB may be shutting down.
inline arena_cache& threads_arena_cache()
{
    static arena_cache* const cache = new arena_cache(arena_cache_capacity);
    return *cache;
}

/// The arena of par.threads(n): each thread remembers its last one (by a weak reference, so that
/// an evicted arena still dies with its last call), which spares the common case of a loop of
/// calls with one n the cache's mutex and oneTBB's limit query.  Only an arena of exactly n is
/// reused so: a clamped one is looked up again, since a tbb::global_control may have raised the
/// limit since (one that lowered it leaves an arena of n with fewer workers, which is still at
/// most n threads).
inline std::shared_ptr<thread_arena> threads_arena(int n)
{
    struct last_arena {
        int threads = 0;
        std::weak_ptr<thread_arena> cores;
    };
    thread_local last_arena last;
    if (last.threads == n) {
        if (auto cores = last.cores.lock(); cores && cores->concurrency() == n)
            return cores;
    }
    auto cores = threads_arena_cache().get(std::min(n, max_threads()));
    last.threads = n;
    last.cores = cores;
    return cores;
}

/// The arena of plain par under a CPU quota or mask below oneTBB's default: a process-wide arena
/// of default_concurrency() threads, made once (null when the default needs none).
inline thread_arena* quota_arena()
{
    static thread_arena* const cores =
        usable_cpus() < tbb::info::default_concurrency() ? new thread_arena(default_concurrency()) : nullptr;
    return cores;
}

/// The arena a call under `policy` runs in: the caller's group (not owned), a cached arena of
/// min(n, max_threads()) for threads(n), the quota arena for a plain par call made outside any
/// arena (an arena of oneTBB's default size is taken to be that), or null (the current arena).
inline std::shared_ptr<thread_arena> arena_for(const par_policy& policy)
{
    if (thread_arena* cores = policy.cores())
        return std::shared_ptr<thread_arena>(std::shared_ptr<thread_arena>(), cores);
    if (const int n = policy.thread_limit(); n > 0)
        return threads_arena(n);
    if (thread_arena* cores = quota_arena()) {
        static const int oneTBB_default = tbb::info::default_concurrency();
        if (tbb::this_task_arena::max_concurrency() == oneTBB_default)
            return std::shared_ptr<thread_arena>(std::shared_ptr<thread_arena>(), cores);
    }
    return nullptr;
}

} // namespace trident::detail
