#pragma once
// The oneTBB backend: the per-backend contract (see backend/seq/executor.hpp) on oneTBB.
//
// Every call runs in the task arena the policy names (a cached arena for par.threads(n), the
// caller's group for par.on(cores), the current arena otherwise).  oneTBB cancels the rest of a
// parallel call when a body throws and rethrows the first exception in the caller.
//
// Small inputs run inline (see decide()): a parallel call costs microseconds of wake-up and
// scheduling that a loop over a thousand cheap elements never earns back.

#include "trident/cpu_cores.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/policy.hpp"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_invoke.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

namespace trident::detail {

/// Tuning of the inline-or-parallel decision (measured by benchmarks/bench_overhead.cpp).
struct inline_cutoff {
    /// At most this many elements per worker: every element is its own task (a handful of
    /// elements is taken to be a handful of tasks, worth running at once).
    static constexpr std::size_t tasks_per_worker = 4;
    /// From this many elements on, the call goes parallel without probing.
    static constexpr std::size_t probe_limit = 4096;
    /// An element cheaper than this many ticks is "cheap" (the timer itself costs a few dozen).
    static constexpr std::uint64_t cheap_element_ticks = 128;
    /// Below the probe limit, an input of expensive elements goes parallel when its estimated
    /// sequential time exceeds this many ticks (about 10 us at 3 GHz).
    static constexpr std::uint64_t parallel_work_ticks = 30000;
};

class tbb_executor {
public:
    static constexpr bool is_parallel = true;

    explicit tbb_executor(const par_policy& policy)
        : cores_(policy.cores() ? policy.cores()
                                : (policy.thread_limit() > 0 ? &cached_cores(policy.thread_limit()) : nullptr)),
          grain_(policy.grain_size())
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
        const std::size_t start = decide(n, [&](std::size_t b, std::size_t e) { body(b, e); });
        if (start < n)
            in_arena([&] {
                tbb::parallel_for(tbb::blocked_range<std::size_t>(start, n, effective_grain()),
                                  [&](const tbb::blocked_range<std::size_t>& r) { body(r.begin(), r.end()); });
            });
    }

    template <class Chunk, class Combine>
    auto reduce_chunks(std::size_t n, Chunk&& chunk, Combine&& combine) const
        -> std::optional<std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>>
    {
        using T = std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>;
        std::optional<T> head;
        const std::size_t start = decide(n, [&](std::size_t b, std::size_t e) {
            head = head ? combine(std::move(*head), chunk(b, e)) : std::optional<T>(chunk(b, e));
        });
        if (start >= n)
            return head;

        reduce_body<T, std::remove_reference_t<Chunk>, std::remove_reference_t<Combine>> body{chunk, combine};
        in_arena([&] {
            tbb::parallel_reduce(tbb::blocked_range<std::size_t>(start, n, effective_grain()), body);
        });
        if (!head)
            return std::move(body.acc);
        return combine(std::move(*head), std::move(*body.acc));
    }

    template <class Task>
    void for_tasks(std::size_t count, Task&& task) const
    {
        if (count == 1 || concurrency() == 1) {
            for (std::size_t k = 0; k < count; ++k)
                task(k);
            return;
        }
        in_arena([&] {
            tbb::parallel_for(tbb::blocked_range<std::size_t>(0, count, 1),
                              [&](const tbb::blocked_range<std::size_t>& r) {
                                  for (std::size_t k = r.begin(); k < r.end(); ++k)
                                      task(k);
                              },
                              tbb::simple_partitioner{});
        });
    }

    template <class F, class G>
    void invoke(F&& f, G&& g) const
    {
        in_arena([&] { tbb::parallel_invoke(f, g); });
    }

private:
    template <class T, class Chunk, class Combine>
    struct reduce_body {
        Chunk& chunk;
        Combine& combine;
        std::optional<T> acc{};

        reduce_body(Chunk& c, Combine& op) : chunk(c), combine(op) {}
        reduce_body(reduce_body& other, tbb::split) : chunk(other.chunk), combine(other.combine) {}

        void operator()(const tbb::blocked_range<std::size_t>& r)
        {
            if (acc)
                acc = combine(std::move(*acc), chunk(r.begin(), r.end()));
            else
                acc.emplace(chunk(r.begin(), r.end()));
        }
        void join(reduce_body& right)
        {
            if (!right.acc)
                return;
            if (acc)
                acc = combine(std::move(*acc), std::move(*right.acc));
            else
                acc = std::move(right.acc);
        }
    };

    template <class F>
    void in_arena(F&& f) const
    {
        if (cores_)
            cores_->execute(f);
        else
            f();
    }

    std::size_t effective_grain() const noexcept { return grain_ > 0 ? grain_ : 1; }

    // Runs what should run inline through run_inline(begin, end) and returns the index from which
    // the rest of [0, n) should run in parallel (n when nothing is left).
    template <class RunInline>
    std::size_t decide(std::size_t n, RunInline&& run_inline) const
    {
        if (n == 0)
            return 0;
        const auto workers = static_cast<std::size_t>(concurrency());
        if (workers <= 1 || (grain_ > 0 && n <= grain_) || n == 1) {
            run_inline(0, n);
            return n;
        }
        if (grain_ > 0 || n <= workers * inline_cutoff::tasks_per_worker || n >= inline_cutoff::probe_limit)
            return 0;
        // Between a handful and the probe limit: time the first element, then decide.
        const std::uint64_t t0 = ticks();
        run_inline(0, 1);
        const std::uint64_t first = ticks() - t0;
        if (first < inline_cutoff::cheap_element_ticks || first * (n - 1) < inline_cutoff::parallel_work_ticks) {
            run_inline(1, n);
            return n;
        }
        return 1;
    }

    cpu_cores* cores_;
    std::size_t grain_;
};

} // namespace trident::detail
