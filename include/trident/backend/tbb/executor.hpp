#pragma once
// The oneTBB backend: trident::executor (backend/executor.hpp) on oneTBB.
//
// Every call runs in the task arena the policy names (detail::arena_for: a cached arena for
// par.threads(n), the caller's group for par.on(cores), the current arena otherwise).  oneTBB
// cancels the rest of a parallel call when a body throws and rethrows the first exception in the
// caller.
//
// Small inputs run inline (run_inline_part): a parallel call costs microseconds of wake-up and
// scheduling that a loop over a thousand cheap elements never earns back.  The decision rests on
// the estimated sequential time (elements x measured cost per element), not on n alone, so that a
// few hundred expensive elements still run in parallel; the constants are in grain_tuning, and the
// measurements behind them in benchmarks/results/ (bench_overhead: overhead/*, overhead_int/*).

#include "trident/backend/executor.hpp"
#include "trident/thread_arena.hpp"
#include "trident/detail/arena_cache.hpp"
#include "trident/detail/recorder.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/detail/tsan.hpp"
#include "trident/policy.hpp"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_invoke.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident::detail {

/// Tuning of the inline-or-parallel decision and of the chunk size.  Ticks are detail::ticks()
/// (the TSC where there is one).  The figures they rest on are measured by
/// benchmarks/bench_overhead.cpp (x[i] += 1 over n floats and ints, against the plain loop, oneTBB
/// with its auto and static partitioners, OpenMP and std::execution::par) and recorded in
/// benchmarks/results/: a oneTBB parallel_for costs a few microseconds of wake-up and scheduling
/// (less with a static partition, more with grain 1), parallel beats the plain loop from a couple
/// of microseconds of sequential work, and a pair of TSC reads costs a sizeable part of a
/// 1000-element loop of the cheapest body.
struct grain_tuning {
    /// At most this many elements per worker: every element is its own task (a handful of
    /// elements is taken to be a handful of tasks, worth running at once).
    static constexpr std::size_t tasks_per_worker = 4;
    /// From this many elements on, the call goes parallel without estimating: the cheapest
    /// element (x[i] += 1) adds up to more than parallel_work_ticks there.
    static constexpr std::size_t probe_limit = std::size_t{1} << 16;
    /// Below the probe limit, a call goes parallel when its estimated sequential time exceeds this
    /// many ticks: about twice the measured break-even, so that a call near it,
    /// where parallel gains nothing, stays inline, and a worker that must be woken still pays off.
    static constexpr std::uint64_t parallel_work_ticks = 10000;
    /// One element timed below this many ticks is timer noise: the estimate then times a batch of
    /// up to probe_batch elements (at most 512 x 128 ticks, all of it useful work).
    static constexpr std::uint64_t timer_floor_ticks = 128;
    static constexpr std::size_t probe_batch = 512;
    /// A loop body's measured cost per element is remembered (per body type) and reused by the
    /// next calls without timing, re-measured every reprobe_every-th call, so that a call of 1000
    /// cheap elements costs no more than the plain loop.  The price: a body type whose cost per
    /// element changes from call to call (a std::function wrapping different functions, say)
    /// may be decided on a stale estimate for up to reprobe_every calls.
    static constexpr std::uint32_t reprobe_every = 16;
    /// Without an explicit grain, a parallel call is cut into at most this many chunks per worker
    /// (oneTBB's auto_partitioner still balances them): enough to even out uneven elements, few
    /// enough that a call costs about what a static partition costs (grain 1 costs more).
    static constexpr std::size_t chunks_per_worker = 8;
    /// When the cost per element is known, chunks of about this much work: a chunk costs oneTBB
    /// far less, and small chunks let a free worker take over from a slow one (bench_compute's
    /// uneven rows).
    static constexpr std::uint64_t chunk_work_ticks = 65536;
};

/// The last measured cost per element (ticks x 16, 0 when not measured yet) of one loop body type,
/// and how many calls have reused it.  Relaxed: a stale value only changes one decision.
template <class Key>
struct element_cost_memo {
    static inline std::atomic<std::uint64_t> ticks_x16{0};
    static inline std::atomic<std::uint32_t> reuses{0};
};

class tbb_executor {
public:
    static constexpr bool is_parallel = true;

    explicit tbb_executor(const par_policy& policy)
        : cores_(arena_for(policy)), grain_(policy.grain_size())
    {
    }

    [[nodiscard]] int concurrency() const
    {
        return cores_ ? cores_->concurrency() : tbb::this_task_arena::max_concurrency();
    }
    [[nodiscard]] std::size_t grain() const noexcept { return grain_; }

    template <class Body>
    void for_chunks(std::size_t n, Body&& body) const
    {
        using key = std::remove_cvref_t<Body>;
        const std::size_t start = run_inline_part<key>(n, [&](std::size_t b, std::size_t e) { body(b, e); });
        if (start < n) {
            tsan_fork_join edges;
            in_arena([&] {
                tbb::parallel_for(tbb::blocked_range<std::size_t>(start, n, effective_grain<key>(n - start)),
                                  [&](const tbb::blocked_range<std::size_t>& r) {
                                      const tsan_fork_join::body_scope scope(edges);
                                      body(r.begin(), r.end());
                                  });
            }, edges);
        }
    }

    template <class Chunk, class Combine>
    auto reduce_chunks(std::size_t n, Chunk&& chunk, Combine&& combine) const
        -> std::optional<std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>>
    {
        using T = std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>;
        std::optional<T> head;
        using key = std::remove_cvref_t<Chunk>;
        const std::size_t start = run_inline_part<key>(n, [&](std::size_t b, std::size_t e) {
            head = head ? combine(std::move(*head), chunk(b, e)) : std::optional<T>(chunk(b, e));
        });
        if (start >= n)
            return head;

        // Fixed chunks, each its own task, combined in index order on the calling thread: the
        // result depends only on the chunking (so on n, the grain and the thread count), never on
        // which thread ran what.
        const std::size_t count = n - start;
        std::size_t grain = effective_grain<key>(count);
        const std::size_t max_chunks = static_cast<std::size_t>(concurrency()) * 64;
        if ((count + grain - 1) / grain > max_chunks)
            grain = (count + max_chunks - 1) / max_chunks;
        const std::size_t chunks = (count + grain - 1) / grain;
        std::vector<std::optional<T>> partial(chunks);
        run_tasks(chunks, [&](std::size_t k) {
            const std::size_t b = start + k * grain;
            partial[k].emplace(chunk(b, std::min(n, b + grain)));
        });
        for (auto& p : partial)
            head = head ? combine(std::move(*head), std::move(*p)) : std::move(p);
        return head;
    }

    template <class Task>
    void for_tasks(std::size_t count, Task&& task) const
    {
        run_tasks(count, task);
    }

private:
    // Each task(k) its own oneTBB task (in order on the caller when there is one task or one thread).
    template <class Task>
    void run_tasks(std::size_t count, Task&& task) const
    {
        if (count == 1 || concurrency() == 1) {
            for (std::size_t k = 0; k < count; ++k)
                task(k);
            return;
        }
        // Each task is isolated: a thread waiting inside one (for nested parallel work, say) takes no
        // sibling task meanwhile, so tasks may wait for one another (the parallel scan's carries).
        tsan_fork_join edges;
        in_arena([&] {
            tbb::parallel_for(tbb::blocked_range<std::size_t>(0, count, 1),
                              [&](const tbb::blocked_range<std::size_t>& r) {
                                  const tsan_fork_join::body_scope scope(edges);
                                  tbb::this_task_arena::isolate([&] {
                                      for (std::size_t k = r.begin(); k < r.end(); ++k)
                                          task(k);
                                  });
                              },
                              tbb::simple_partitioner{});
        }, edges);
    }

    template <class F>
    void in_arena(F&& f, tsan_fork_join& edges) const
    {
        struct join_on_exit {
            tsan_fork_join& edges;
            ~join_on_exit() { edges.join(); }
        } joined{edges};
        edges.fork();
        const event_scope span(label_parallel_call); // for trident::explain: "inside a parallel call"
        if (cores_) {
            // Another thread of the arena may run f for this one (see tsan_delegated).
            const tsan_delegated<F> handed(f);
            cores_->execute(handed);
        } else {
            f();
        }
    }

    // The user's grain, else chunks of about chunk_work_ticks of estimated work (when the body's
    // cost per element has been measured), never fewer than chunks_per_worker per worker.
    template <class Key>
    std::size_t effective_grain(std::size_t count) const
    {
        if (grain_ > 0)
            return grain_;
        const auto chunks = static_cast<std::size_t>(concurrency()) * grain_tuning::chunks_per_worker;
        std::size_t g = std::max<std::size_t>(1, count / chunks);
        if (const std::uint64_t cost_x16 = element_cost_memo<Key>::ticks_x16.load(std::memory_order_relaxed); cost_x16 != 0)
            g = std::clamp<std::size_t>(static_cast<std::size_t>(grain_tuning::chunk_work_ticks * 16 / cost_x16), 1, g);
        return g;
    }

    // Runs what should run inline through run_inline(begin, end) and returns the index from which
    // the rest of [0, n) should run in parallel (n when nothing is left).
    //
    // Between a handful of elements and probe_limit the decision rests on an estimate of the
    // sequential time: the cost per element, measured on the first elements (run inline, so the
    // measurement is not wasted) or remembered from a recent call of the same body.  A remembered
    // cost is looked at first: a call it sends inline costs two relaxed loads and a store, with no
    // timing and no look-up of the arena's concurrency.
    template <class Key, class RunInline>
    std::size_t run_inline_part(std::size_t n, RunInline&& run_inline) const
    {
        if (n <= 1 || (grain_ > 0 && n <= grain_)) {
            if (n > 0)
                run_inline(0, n);
            return n;
        }
        using memo = element_cost_memo<Key>;
        constexpr std::uint64_t budget_x16 = grain_tuning::parallel_work_ticks * 16;
        const bool probed = grain_ == 0 && n < grain_tuning::probe_limit;
        if (probed) {
            if (const std::uint64_t known = memo::ticks_x16.load(std::memory_order_relaxed); known != 0) {
                const std::uint32_t reuses = memo::reuses.load(std::memory_order_relaxed);
                if (reuses < grain_tuning::reprobe_every) {
                    memo::reuses.store(reuses + 1, std::memory_order_relaxed);
                    if (known * n < budget_x16) {
                        run_inline(0, n);
                        return n;
                    }
                    return parallel_from(0, n, run_inline);
                }
            }
        }
        const auto workers = static_cast<std::size_t>(concurrency());
        if (workers <= 1) {
            run_inline(0, n);
            return n;
        }
        if (!probed || n <= workers * grain_tuning::tasks_per_worker)
            return 0;
        return measure_element_cost<Key>(n, run_inline);
    }

    // `begin` when the call has more than one worker, else runs [begin, n) inline and returns n.
    template <class RunInline>
    std::size_t parallel_from(std::size_t begin, std::size_t n, RunInline& run_inline) const
    {
        if (concurrency() > 1)
            return begin;
        run_inline(begin, n);
        return n;
    }

    // run_inline_part()'s measuring part (kept out of line: the inline path stays small).  Times the first
    // element; then, when that is below the timer's resolution, a batch; or, when it alone says
    // "parallel", the second element too (a first element is often slowed by cold caches, and one
    // element more inline costs little when elements are expensive), and a batch after it when the
    // second is below the timer's resolution.
    template <class Key, class RunInline>
    [[gnu::noinline]] std::size_t measure_element_cost(std::size_t n, RunInline& run_inline) const
    {
        using memo = element_cost_memo<Key>;
        constexpr std::uint64_t budget_x16 = grain_tuning::parallel_work_ticks * 16;
        const auto timed = [&](std::size_t from, std::size_t to) {
            const std::uint64_t t0 = ticks();
            run_inline(from, to);
            return ticks() - t0;
        };
        // Runs a batch of up to probe_batch elements from `from`; the cost of one element, x16.
        const auto batch_cost_x16 = [&](std::size_t from) {
            const std::size_t k = std::min(n - from, grain_tuning::probe_batch);
            const std::uint64_t cost = timed(from, from + k) * 16 / k;
            return std::pair{cost, from + k};
        };
        const std::uint64_t first = timed(0, 1);
        std::size_t done = 1;
        std::uint64_t cost_x16 = first * 16;
        if (first < grain_tuning::timer_floor_ticks) {
            std::tie(cost_x16, done) = batch_cost_x16(1);
        } else if (cost_x16 * (n - 1) >= budget_x16 && n > 2) {
            const std::uint64_t second = timed(1, 2);
            if (second < grain_tuning::timer_floor_ticks) {
                // The first element was slowed by something else (cold code or caches, an
                // interrupt): one element below the timer's resolution says little, so time a batch.
                std::tie(cost_x16, done) = batch_cost_x16(2);
            } else {
                cost_x16 = std::min(cost_x16, second * 16);
                done = 2;
            }
        }
        memo::ticks_x16.store(std::max<std::uint64_t>(cost_x16, 1), std::memory_order_relaxed);
        memo::reuses.store(0, std::memory_order_relaxed);
        if (done < n && cost_x16 * (n - done) < budget_x16) {
            run_inline(done, n);
            return n;
        }
        return done;
    }

    std::shared_ptr<thread_arena> cores_; // held for the call: see arena_for()
    std::size_t grain_;
};

static_assert(check_executor<tbb_executor>());

} // namespace trident::detail

template <>
struct trident::executor_of<trident::par_policy> {
    static detail::tbb_executor make(const par_policy& policy) { return detail::tbb_executor{policy}; }
};
