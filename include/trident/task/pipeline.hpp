#pragma once
/// \file task/pipeline.hpp
/// `trident::run_pipeline`: a typed pipeline whose items overlap in their stages.
///
/// A pipeline is a source followed by stages.  The source makes items one at a time until it
/// says "no more"; each item then flows through the stages in order, and different items are in
/// different stages at once (Load of batch 3 beside Clean of batch 2 beside Extract of batch 1).
///
/// \code
///   std::size_t next = 0;
///   trident::pipeline_stats stats = trident::run_pipeline(trident::par,
///       trident::source("load", [&]() -> std::optional<Batch> {
///           if (next == batches) return std::nullopt;          // no more
///           return load(next++);
///       }),
///       trident::stage("clean", trident::serial_in_order, [](Batch b) { return clean(std::move(b)); }),
///       trident::stage("extract", trident::parallel, [](const Batch& b) { return features(b); }),
///       trident::stage("train", trident::parallel.limit(3), [&](Features f) { return train(f); }),
///       trident::stage("eval", trident::serial_in_order, [&](Model m) { report(m); }));
///   std::cout << stats;                                        // per-stage table
/// \endcode
///
/// **Types.**  The source returns `std::optional<T0>`; `std::nullopt` ends the input.  Stage k
/// takes the previous stage's output type (by value, `const&` or `&&`) and returns its own; the
/// last stage returns `void` (it consumes the items).  A stage whose input type is not the output
/// type of the stage before it is a compile-time error naming the stage's position and both types.
///
/// **Stage modes.**
/// | mode                      | at once                | order of items                     |
/// |---------------------------|------------------------|------------------------------------|
/// | `serial_in_order`         | one item               | the order the source made them     |
/// | `serial_out_of_order`     | one item               | any                                |
/// | `parallel`                | as many as threads     | any                                |
/// | `parallel.limit(k)`       | at most k items        | any                                |
/// A serial stage's function may keep state (a `mutable` lambda, say): it is never called by two
/// threads at once.  A parallel stage's function is, so it must be callable as `const`.
///
/// **Tokens.**  At most `pipeline_options::max_tokens` items are alive at once (made by the source
/// and not yet through the last stage): the source waits when the bound is reached, so memory stays
/// bounded whatever the source could produce.  The default is four per thread.  Any bound is
/// accepted and none is allocated up front: an item's storage is made when the item enters and
/// reused once it leaves, so a run holds storage for the most items it had in flight at once, never
/// for the bound (2^40 tokens for a 3-item run cost three items' storage).
///
/// **Policies.**  `trident::par` (with `threads(n)` or `on(cores)`) runs on oneTBB
/// (`tbb::parallel_pipeline`); `trident::seq` runs every item through every stage on the calling
/// thread, one item at a time, in source order (for debugging); `trident::automatic` is `par`.
/// GPU work goes into a stage of its own (`trident::gpu_stage`, in .cu files).
///
/// **Exceptions and cancellation.**  When a stage throws, the source is not called again, the items
/// in flight are dropped (destroyed, never leaked) and the first exception reaches the caller.
/// Precisely, under `par`: the run is marked failed as the exception leaves the stage function,
/// before oneTBB (which cancels the run only once the exception has reached its scheduler) sees
/// it, and every call of the source first reads the mark (both sequentially consistent atomics),
/// so no call of the source starts after the exception has left the stage function: none whose
/// start that exit happens before, and none that starts later in time.  A call that had already
/// started (the source runs beside the stages, on another thread) finishes, and its item is dropped
/// with the others.  The same holds when the source throws.  Under `seq` nothing runs after the
/// throw.
/// `pipeline_options::stop` (a `std::stop_token`) stops a run from outside: the source is not
/// called again, the items in flight are dropped, and the call returns normally with
/// `pipeline_stats::cancelled` set.
///
/// **Statistics.**  The call returns, per stage, the items that went through it, its busy time
/// (time inside the stage function), its utilisation and which stage or resource bounded the
/// throughput (see pipeline_stats).
///
/// **Complexity and cost.**  On top of the stage functions, about 20-25 ns per item and stage on
/// one thread, within about 10% of a raw tbb::parallel_pipeline with the same stages
/// (benchmarks/bench_pipeline.cpp, pipeline_overhead); with several threads the hand-offs between
/// them cost hundreds of ns per item for both.  A `parallel.limit(k)` stage holds a thread while an
/// item waits for one of its k places (the thread does not steal other work meanwhile).

#include "trident/backend/tbb/executor.hpp"
#include "trident/cpu_cores.hpp"
#include "trident/detail/recorder.hpp"
#include "trident/detail/slot_pool.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/detail/tsan.hpp"
#include "trident/policy.hpp"

#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <semaphore>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace trident {

// ---- stage modes ------------------------------------------------------------------------------

/// How a stage runs: serially in source order, serially in any order, or in parallel (optionally
/// at most k copies at once).  Use the constants `trident::serial_in_order`,
/// `trident::serial_out_of_order` and `trident::parallel` (and `parallel.limit(k)`).
class stage_mode {
public:
    enum class kind { serial_in_order, serial_out_of_order, parallel };

    constexpr explicit stage_mode(kind k) noexcept : kind_(k) {}

    /// At most `k` copies of a parallel stage run at once ("at most 3 copies of Train").
    /// \throws std::invalid_argument if k < 1 or the mode is serial (a serial stage runs one copy).
    [[nodiscard]] constexpr stage_mode limit(int k) const
    {
        if (kind_ != kind::parallel)
            throw std::invalid_argument("trident::stage_mode::limit(k): only a parallel stage takes a limit");
        if (k < 1)
            throw std::invalid_argument("trident::parallel.limit(k): k must be at least 1, got " + std::to_string(k));
        stage_mode m = *this;
        m.limit_ = k;
        return m;
    }

    [[nodiscard]] constexpr kind mode() const noexcept { return kind_; }
    [[nodiscard]] constexpr bool is_serial() const noexcept { return kind_ != kind::parallel; }
    /// The limit of a parallel stage, 0 when none was set (serial stages: 1).
    [[nodiscard]] constexpr int limit() const noexcept { return kind_ == kind::parallel ? limit_ : 1; }

    /// "serial in order", "serial out of order", "parallel" or "parallel, at most k".
    [[nodiscard]] std::string name() const
    {
        switch (kind_) {
        case kind::serial_in_order: return "serial in order";
        case kind::serial_out_of_order: return "serial out of order";
        case kind::parallel: break;
        }
        return limit_ > 0 ? "parallel, at most " + std::to_string(limit_) : "parallel";
    }

    friend constexpr bool operator==(const stage_mode&, const stage_mode&) = default;

private:
    kind kind_;
    int limit_ = 0;
};

inline constexpr stage_mode serial_in_order{stage_mode::kind::serial_in_order};
inline constexpr stage_mode serial_out_of_order{stage_mode::kind::serial_out_of_order};
inline constexpr stage_mode parallel{stage_mode::kind::parallel};

// ---- stage descriptions -----------------------------------------------------------------------

/// The first stage: `fn()` returns `std::optional<T>`, empty when there is nothing more.  It is
/// called by one thread at a time, and not again once it returned empty.
template <class Fn>
struct pipeline_source {
    std::string name;
    Fn fn;
};

/// A stage after the source: `fn(input)` returns the next stage's input (the last stage: void).
template <class Fn>
struct pipeline_stage {
    std::string name;
    stage_mode mode;
    Fn fn;
};

/// The source of a pipeline, named for the statistics ("load").
template <class Fn>
[[nodiscard]] pipeline_source<std::decay_t<Fn>> source(std::string name, Fn&& fn)
{
    return {std::move(name), std::forward<Fn>(fn)};
}

/// The source of a pipeline, named "source" in the statistics.
template <class Fn>
[[nodiscard]] pipeline_source<std::decay_t<Fn>> source(Fn&& fn)
{
    return {"source", std::forward<Fn>(fn)};
}

/// A stage named for the statistics ("train"), run in the given mode.
template <class Fn>
[[nodiscard]] pipeline_stage<std::decay_t<Fn>> stage(std::string name, stage_mode mode, Fn&& fn)
{
    return {std::move(name), mode, std::forward<Fn>(fn)};
}

/// A stage named "stage k" in the statistics (k its position, the source being 0).
template <class Fn>
[[nodiscard]] pipeline_stage<std::decay_t<Fn>> stage(stage_mode mode, Fn&& fn)
{
    return {std::string(), mode, std::forward<Fn>(fn)};
}

// ---- options and statistics -------------------------------------------------------------------

struct pipeline_options {
    /// At most this many items alive at once; 0 means four per thread of the policy.  Any value
    /// is accepted: storage follows the items in flight, not this bound (see the file comment).
    std::size_t max_tokens = 0;
    /// Stops the run when stop is requested (see the file comment).
    std::stop_token stop{};
};

/// One stage's share of a run.  The source is stage 0.
struct stage_stats {
    std::string name;
    stage_mode mode = serial_in_order;
    /// Items that went through the stage (the source: items it made).
    std::size_t items = 0;
    /// Time spent inside the stage function, summed over its copies.  Calls under about a
    /// microsecond are timed one in 16 (reading the clock would cost as much as the call) and the
    /// total is scaled from those.
    double busy_seconds = 0;
    /// How many copies could run at once: 1 for a serial stage, min(limit, threads) for a parallel one.
    int capacity = 1;
    /// busy_seconds / (wall_seconds x capacity): 1 means the stage never rested.
    double utilisation = 0;
};

/// What bounds a pipeline's throughput.
struct pipeline_bound {
    /// True when the threads bound it (total busy time / threads is the largest bound), false when
    /// one stage did (its busy time / its capacity is).
    bool by_threads = false;
    /// The stage with the largest busy time per copy (the bottleneck when !by_threads).
    std::size_t stage = 0;
    /// The bound itself: the shortest wall time these busy times allow.
    double seconds = 0;
};

/// A run's statistics, returned by run_pipeline.
struct pipeline_stats {
    std::vector<stage_stats> stages; ///< the source first, then the stages in order
    double wall_seconds = 0;
    int threads = 1;           ///< threads that could work on the run
    std::size_t max_tokens = 0; ///< the bound on items alive at once
    bool cancelled = false;     ///< stopped through pipeline_options::stop

    /// The sum of every stage's busy time: the run's sequential time (without overlap).
    [[nodiscard]] double busy_seconds() const
    {
        double total = 0;
        for (const auto& s : stages)
            total += s.busy_seconds;
        return total;
    }

    /// What bounded the throughput: max over stages of busy / capacity (a serial stage can do no
    /// better than its own busy time), and total busy / threads (the cores can do no better).
    [[nodiscard]] pipeline_bound bound() const
    {
        pipeline_bound b;
        double worst = -1;
        for (std::size_t k = 0; k < stages.size(); ++k) {
            const double per_copy = stages[k].busy_seconds / std::max(1, stages[k].capacity);
            if (per_copy > worst) {
                worst = per_copy;
                b.stage = k;
            }
        }
        const double by_threads = busy_seconds() / std::max(1, threads);
        b.by_threads = by_threads > worst;
        b.seconds = std::max(worst, by_threads);
        return b;
    }

    /// bound().seconds / wall_seconds, at most 1: 1 means the run reached its bound.  (Busy times of
    /// stages whose calls take under a microsecond are estimated from a sample of their calls, so
    /// the unclamped ratio can exceed 1 by the sampling error.)
    [[nodiscard]] double efficiency() const
    {
        return wall_seconds > 0 ? std::min(1.0, bound().seconds / wall_seconds) : 0;
    }

    /// A table: one line per stage (items, busy, utilisation), then the wall time, the bound and
    /// what set it.
    friend std::ostream& operator<<(std::ostream& os, const pipeline_stats& s)
    {
        std::ostringstream out;
        out << std::fixed;
        out << std::left << std::setw(16) << "stage" << std::setw(24) << "mode" << std::right << std::setw(10)
            << "items" << std::setw(12) << "busy [s]" << std::setw(8) << "util" << '\n';
        for (const auto& st : s.stages)
            out << std::left << std::setw(16) << st.name << std::setw(24) << st.mode.name() << std::right
                << std::setw(10) << st.items << std::setw(12) << std::setprecision(4) << st.busy_seconds
                << std::setw(7) << std::setprecision(0) << st.utilisation * 100 << "%\n";
        const pipeline_bound b = s.bound();
        out << std::setprecision(4) << "wall " << s.wall_seconds << " s on " << s.threads << " thread"
            << (s.threads == 1 ? "" : "s") << ", " << s.max_tokens << " tokens; sequential " << s.busy_seconds()
            << " s; bound " << b.seconds << " s set by "
            << (b.by_threads ? std::string("the threads") : "stage '" + s.stages[b.stage].name + "'")
            << "; efficiency " << std::setprecision(1) << s.efficiency() * 100 << "%"
            << (s.cancelled ? " (cancelled)" : "") << '\n';
        return os << out.str();
    }
};

namespace detail {

// ---- the stage chain's types ------------------------------------------------------------------

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

/// The one parameter type of a non-generic callable (a lambda, a function object with a single
/// operator(), a function pointer), or void when it cannot be told.
template <class F, class = void>
struct single_parameter { using type = void; };
template <class R, class A> struct single_parameter<R (*)(A)> { using type = A; };
template <class C, class R, class A> struct single_parameter<R (C::*)(A)> { using type = A; };
template <class C, class R, class A> struct single_parameter<R (C::*)(A) const> { using type = A; };
template <class C, class R, class A> struct single_parameter<R (C::*)(A) noexcept> { using type = A; };
template <class C, class R, class A> struct single_parameter<R (C::*)(A) const noexcept> { using type = A; };
template <class F>
struct single_parameter<F, std::void_t<decltype(&F::operator())>> : single_parameter<decltype(&F::operator())> {};

/// Stands for the output of a stage that could not be typed (an error was reported already).
struct untyped_stage_output {};

// The compile-time checks of one stage, as a function template so that the compiler names the
// stage's position and both types in the note it prints with the failed assertion:
//   "In instantiation of ... check_stage_types() [with long unsigned int stage_position = 2;
//    previous_stage_output = std::string; stage_input = int; ...]"
template <std::size_t stage_position, class previous_stage_output, class stage_input, class stage_function,
          bool is_last_stage>
constexpr bool check_stage_types()
{
    if constexpr (std::is_same_v<previous_stage_output, untyped_stage_output>) {
        return false;
    } else {
        constexpr bool known_input = !std::is_void_v<stage_input>;
        constexpr bool same_type =
            !known_input || std::is_same_v<std::remove_cvref_t<stage_input>, previous_stage_output>;
        static_assert(same_type,
                      "trident::run_pipeline: the input type of each stage must be the output type of the "
                      "stage before it (the stage's position and both types are named in the 'with' "
                      "list of this instantiation)");
        constexpr bool invocable = std::is_invocable_v<stage_function&, previous_stage_output&&>;
        static_assert(!same_type || invocable,
                      "trident::run_pipeline: a stage function cannot be called with the output of the "
                      "stage before it (see the 'with' list of this instantiation for the types)");
        if constexpr (same_type && invocable) {
            using result = std::invoke_result_t<stage_function&, previous_stage_output&&>;
            static_assert(!is_last_stage || std::is_void_v<result>,
                          "trident::run_pipeline: the last stage must return void: it consumes the items "
                          "(collect results inside it)");
            static_assert(is_last_stage || !std::is_void_v<result>,
                          "trident::run_pipeline: only the last stage may return void; every other stage "
                          "returns the next stage's input");
            static_assert(is_last_stage || std::is_move_constructible_v<std::remove_cvref_t<result>>,
                          "trident::run_pipeline: a stage's output must be move-constructible");
            return true;
        } else {
            return false;
        }
    }
}

template <std::size_t Position, class In, class F, bool Last>
struct stage_output {
    static constexpr bool ok =
        check_stage_types<Position, In, typename single_parameter<F>::type, F, Last>();
    using type = typename std::conditional_t<ok, std::invoke_result<F&, In&&>,
                                             std::type_identity<untyped_stage_output>>::type;
};

template <class... Ts> struct type_list {};

/// The item types between stages: type_list<T0 (the source's), T1, ..., T(k-1)> for k stages.
template <std::size_t Position, class Produced, class In, class... Fs>
struct chain_types;
template <std::size_t Position, class... Ts, class In>
struct chain_types<Position, type_list<Ts...>, In> {
    using type = type_list<Ts..., In>;
};
template <std::size_t Position, class... Ts, class In, class F, class... Rest>
struct chain_types<Position, type_list<Ts...>, In, F, Rest...> {
    using out = std::remove_cvref_t<typename stage_output<Position, In, F, sizeof...(Rest) == 0>::type>;
    using type = std::conditional_t<sizeof...(Rest) == 0, type_list<Ts..., In>,
                                    typename chain_types<Position + 1, type_list<Ts..., In>, out, Rest...>::type>;
};

template <class List> struct slot_value;
template <class... Ts> struct slot_value<type_list<Ts...>> {
    using type = std::variant<std::monostate, Ts...>;
};

// ---- per-stage accounting ---------------------------------------------------------------------

// Reading the clock twice per call costs about as much as oneTBB's own scheduling of an empty
// stage, so calls that took less than timed_always_ticks (about 1 us) are timed one in
// sampled_every, and the busy time is scaled up from the timed calls.  While a trident::explain
// region records (explain/explain.hpp), every call is timed and handed to the recorder as an
// event; otherwise the recorder costs one relaxed load per call.
inline constexpr std::uint64_t timed_always_ticks = 2048;
inline constexpr std::uint64_t sampled_every = 16;

/// One stage's calls made on one item slot.  A slot is held by one thread at a time (the thread
/// running its item), so the counters need no synchronisation of their own: they travel with the
/// item, and a parallel stage's copies never share a counter.
struct stage_counter {
    std::uint64_t busy_ticks = 0;
    std::uint64_t items = 0;
    std::uint64_t timed = 0;
    std::uint64_t last_ticks = 0;

    /// Calls f() and counts the call (timing it when the sampling rule says so), unless f returns
    /// false (the source's last call, which made no item).  While a trident::explain region
    /// records, every call is timed and recorded as an event under `label`.
    template <class F>
    void count(std::uint32_t label, F&& f)
    {
        const bool record = recorder::active();
        if (record || last_ticks >= timed_always_ticks || items % sampled_every == 0) {
            const std::uint64_t t0 = ticks();
            if (f()) {
                last_ticks = ticks() - t0;
                busy_ticks += last_ticks;
                ++timed;
                ++items;
                if (record) [[unlikely]]
                    record_event(label, t0, t0 + last_ticks);
            } else if (record) [[unlikely]] {
                record_event(label, t0, ticks());
            }
        } else if (f()) {
            ++items;
        }
    }
};

/// A stage's counters summed over the slots.
struct stage_total {
    std::uint64_t busy_ticks = 0, items = 0, timed = 0;
    void add(const stage_counter& c) noexcept
    {
        busy_ticks += c.busy_ticks;
        items += c.items;
        timed += c.timed;
    }
    /// The timed calls' ticks, scaled to all calls.
    [[nodiscard]] std::uint64_t scaled_busy_ticks() const noexcept
    {
        return timed == 0 ? 0
                          : static_cast<std::uint64_t>(static_cast<double>(busy_ticks) * static_cast<double>(items) /
                                                       static_cast<double>(timed));
    }
};

/// A counting semaphore for parallel.limit(k), waited on in isolation: a thread waiting for a
/// place takes no other oneTBB task meanwhile, so it cannot end up holding one place while waiting
/// for another.
class stage_gate {
public:
    explicit stage_gate(int places) : places_(places) {}
    template <class F>
    decltype(auto) run(F&& f)
    {
        places_.acquire();
        struct release_on_exit {
            std::counting_semaphore<>& s;
            ~release_on_exit() { s.release(); }
        } release{places_};
        return tbb::this_task_arena::isolate(std::forward<F>(f));
    }

private:
    std::counting_semaphore<> places_;
};

// ---- recording for trident::explain ----------------------------------------------------------

/// A finished run's statistics and its span in ticks(), kept while an explain region records.
struct recorded_pipeline {
    pipeline_stats stats;
    std::uint64_t begin_ticks = 0;
    std::uint64_t end_ticks = 0;
};

/// The runs recorded in the current region; guarded by recorder::instance().mutex().
inline std::vector<recorded_pipeline>& recorded_pipelines()
{
    static std::vector<recorded_pipeline> runs;
    return runs;
}

/// Hands a finished run to the recorder (called only while recording()).
inline void record_pipeline(const pipeline_stats& stats, const tick_clock& clock) noexcept
{
    try {
        const std::lock_guard lock(recorder::instance().mutex());
        if (recorder::active())
            recorded_pipelines().push_back({stats, clock.begin_ticks(), clock.end_ticks()});
    } catch (...) { // out of memory: the explanation lacks this run's statistics
    }
}

// ---- the run ----------------------------------------------------------------------------------

// For ThreadSanitizer only: the caller releases it after building the filters, and every filter
// body acquires it before reading its own captures (which the caller wrote).
inline char pipeline_tsan_anchor = 0;

template <class Source, class... Stages>
class pipeline_run {
    using items = typename chain_types<1, type_list<>, typename std::invoke_result_t<Source&>::value_type,
                                       Stages...>::type;
    using value_type = typename slot_value<items>::type;
    static constexpr std::size_t stage_count = sizeof...(Stages);

    // An item's storage, reused by the next item once the last stage released it.
    struct alignas(64) slot {
        value_type value;
        slot* next_free = nullptr;               // slot_pool's link, on the item's first cache line
        stage_counter counters[stage_count + 1]; // the source's, then each stage's
    };

public:
    pipeline_run(pipeline_source<Source>& source, std::tuple<pipeline_stage<Stages>&...> stages)
        : source_(source), stages_(stages)
    {
        std::fill(std::begin(labels_), std::end(labels_), std::uint32_t{label_stage});
    }

    pipeline_stats run_seq(const pipeline_options& options)
    {
        check_modes(std::make_index_sequence<stage_count>{});
        pipeline_stats stats = make_stats(1, 1);
        if (recording())
            intern_labels(stats);
        slot item;
        tick_clock clock;
        bool cancelled = false;
        while (true) {
            if (options.stop.stop_requested()) {
                cancelled = true;
                break;
            }
            if (!produce(item))
                break;
            if (!seq_stages(item, options.stop, std::make_index_sequence<stage_count>{})) {
                cancelled = true;
                break;
            }
        }
        clock.stop();
        finish(stats, clock, cancelled, [&](auto&& add) { add(item); });
        if (recording())
            record_pipeline(stats, clock);
        return stats;
    }

    pipeline_stats run_par(const par_policy& policy, const pipeline_options& options)
    {
        check_modes(std::make_index_sequence<stage_count>{});
        const std::shared_ptr<cpu_cores> cores = arena_for(policy); // held until the run ends
        const int threads = cores ? cores->concurrency() : tbb::this_task_arena::max_concurrency();
        const std::size_t max_tokens =
            options.max_tokens > 0 ? options.max_tokens : static_cast<std::size_t>(threads) * 4;
        pipeline_stats stats = make_stats(threads, max_tokens);
        if (recording())
            intern_labels(stats);

        make_gates(std::make_index_sequence<stage_count>{});

        tbb::task_group_context context;
        const std::stop_callback on_stop(options.stop, [&context] { context.cancel_group_execution(); });
        const auto chain = filters(options.stop, std::make_index_sequence<stage_count>{});

        tsan_fork_join edges;
        edges_ = &edges;
        struct join_on_exit {
            tsan_fork_join& edges;
            ~join_on_exit() { edges.join(); }
        } joined{edges};
        edges.fork();
        tsan_release(&pipeline_tsan_anchor);
        tick_clock clock;
        auto run = [&] { tbb::parallel_pipeline(max_tokens, chain, context); };
        if (cores)
            cores->execute(run);
        else
            run();
        clock.stop();
        edges.join(); // before reading the slots' counters (again on exit, for the throwing path)
        finish(stats, clock, context.is_group_execution_cancelled(),
               [&](auto&& add) { slots_.for_each(add); });
        if (recording())
            record_pipeline(stats, clock);
        return stats;
    }

private:
    template <std::size_t K>
    pipeline_stage<std::tuple_element_t<K, std::tuple<Stages...>>>& stage_at() const
    {
        return std::get<K>(stages_);
    }

    pipeline_stats make_stats(int threads, std::size_t max_tokens) const
    {
        pipeline_stats stats;
        stats.threads = threads;
        stats.max_tokens = max_tokens;
        stats.stages.resize(stage_count + 1);
        stats.stages[0].name = source_.name;
        stats.stages[0].mode = serial_in_order;
        describe_stages(stats, std::make_index_sequence<stage_count>{});
        return stats;
    }

    template <std::size_t... K>
    void describe_stages(pipeline_stats& stats, std::index_sequence<K...>) const
    {
        ((stats.stages[K + 1].name = stage_at<K>().name.empty() ? "stage " + std::to_string(K + 1) : stage_at<K>().name,
          stats.stages[K + 1].mode = stage_at<K>().mode,
          stats.stages[K + 1].capacity = stage_at<K>().mode.is_serial()
                                             ? 1
                                             : (stage_at<K>().mode.limit() > 0 ? std::min(stage_at<K>().mode.limit(), stats.threads)
                                                                               : stats.threads)),
         ...);
    }

    // The stages' names as recorder labels (once per run, only while a region records).
    void intern_labels(const pipeline_stats& stats)
    {
        for (std::size_t k = 0; k <= stage_count; ++k)
            labels_[k] = recorder::instance().intern(stats.stages[k].name);
    }

    // for_each_slot(add) calls add(slot) for every slot the run used.
    template <class ForEachSlot>
    pipeline_stats& finish(pipeline_stats& stats, const tick_clock& clock, bool cancelled,
                           ForEachSlot&& for_each_slot) const
    {
        stats.wall_seconds = clock.wall_seconds();
        stats.cancelled = cancelled;
        for (std::size_t k = 0; k <= stage_count; ++k) {
            stage_total total;
            for_each_slot([&](const slot& s) { total.add(s.counters[k]); });
            auto& st = stats.stages[k];
            st.items = total.items;
            st.busy_seconds = clock.seconds(total.scaled_busy_ticks());
            st.busy_seconds = std::min(st.busy_seconds, stats.wall_seconds * st.capacity); // sampling error
            st.utilisation = stats.wall_seconds > 0 ? st.busy_seconds / (stats.wall_seconds * st.capacity) : 0;
        }
        return stats;
    }

    // Calls the source into `item`; false when it has no more.
    bool produce(slot& item)
    {
        bool made_one = false;
        item.counters[0].count(labels_[0], [&] {
            std::optional<std::variant_alternative_t<1, value_type>> made = source_.fn();
            if (made) {
                item.value.template emplace<1>(std::move(*made));
                made_one = true;
            }
            return made_one;
        });
        return made_one;
    }

    // Stage K (0-based after the source) on one item: its input is the variant's alternative K + 1.
    template <std::size_t K>
    void apply(slot& item)
    {
        auto& st = stage_at<K>();
        auto& input = std::get<K + 1>(item.value);
        // A parallel stage's copies share its function object: they call it as const (the run
        // refused a parallel stage whose function is not const-callable before it started).
        auto call = [&]() -> decltype(auto) {
            if constexpr (const_callable<K>)
                return std::invoke(std::as_const(st.fn), std::move(input));
            else
                return std::invoke(st.fn, std::move(input));
        };
        item.counters[K + 1].count(labels_[K + 1], [&] {
            try {
                if constexpr (K + 1 == stage_count) {
                    call();
                    item.value.template emplace<0>(); // the item's memory is free from here on
                } else {
                    item.value.template emplace<K + 2>(call());
                }
            } catch (...) {
                // Marked before the exception goes on to oneTBB, which cancels the run only once
                // it has caught it: the source checks the mark before each call.
                failed_.store(true);
                throw;
            }
            return true;
        });
    }

    template <std::size_t K>
    static constexpr bool const_callable =
        std::is_invocable_v<const std::tuple_element_t<K, std::tuple<Stages...>>&,
                            std::variant_alternative_t<K + 1, value_type>&&>;

    // A parallel stage must be callable as const; its mode is a run-time value, so this is checked
    // here rather than at compile time.
    template <std::size_t... K>
    void check_modes(std::index_sequence<K...>) const
    {
        auto check = [](const auto& st, bool const_ok, std::size_t position) {
            if (!st.mode.is_serial() && !const_ok)
                throw std::invalid_argument(
                    "trident::run_pipeline: stage " + std::to_string(position) +
                    (st.name.empty() ? std::string() : " ('" + st.name + "')") +
                    " is parallel but its function is not callable as const (a mutable lambda?): parallel "
                    "copies would share its state unsynchronised; make the stage serial or its call operator const");
        };
        (check(stage_at<K>(), const_callable<K>, K + 1), ...);
    }

    template <std::size_t... K>
    bool seq_stages(slot& item, const std::stop_token& stop, std::index_sequence<K...>)
    {
        // Stops between stages when asked to; the item is dropped.
        return ((stop.stop_requested() ? false : (apply<K>(item), true)) && ...);
    }

    template <std::size_t... K>
    void make_gates(std::index_sequence<K...>)
    {
        ((stage_at<K>().mode.is_serial() || stage_at<K>().mode.limit() == 0
              ? void()
              : void(gates_[K] = std::make_unique<stage_gate>(stage_at<K>().mode.limit()))),
         ...);
    }

    static constexpr tbb::filter_mode tbb_mode(stage_mode m)
    {
        switch (m.mode()) {
        case stage_mode::kind::serial_in_order: return tbb::filter_mode::serial_in_order;
        case stage_mode::kind::serial_out_of_order: return tbb::filter_mode::serial_out_of_order;
        case stage_mode::kind::parallel: break;
        }
        return tbb::filter_mode::parallel;
    }

    // Happens-before edges for ThreadSanitizer along an item's path and a serial stage's calls
    // (oneTBB's own synchronisation is invisible to it; see detail/tsan.hpp).
    struct tsan_item_scope {
        tsan_item_scope(slot* item, const void* serial_stage) : item(item), serial_stage(serial_stage)
        {
            if (item)
                tsan_acquire(item);
            if (serial_stage)
                tsan_acquire(serial_stage);
        }
        ~tsan_item_scope()
        {
            if (serial_stage)
                tsan_release(serial_stage);
            if (item)
                tsan_release(item);
        }
        slot* item;
        const void* serial_stage;
    };

    auto source_filter(const std::stop_token& stop)
    {
        return tbb::make_filter<void, slot*>(tbb::filter_mode::serial_in_order, [this, stop](tbb::flow_control& fc) -> slot* {
            tsan_acquire(&pipeline_tsan_anchor); // before reading this lambda's captures
            const tsan_fork_join::body_scope body(*edges_);
            const tsan_item_scope serial(nullptr, &source_);
            // A stage that threw marked the run failed before its exception left trident's frame
            // (see apply); oneTBB may still call this filter until the exception reaches it.
            if (failed_.load() || stop.stop_requested()) {
                fc.stop();
                return nullptr;
            }
            slot* item = slots_.acquire(); // a freed slot, or a new one: never more than items in flight
            const tsan_item_scope scope(item, nullptr);
            bool made = false;
            try {
                made = produce(*item);
            } catch (...) {
                failed_.store(true); // the pool destroys the slot at the end of the run
                throw;
            }
            if (!made) {
                slots_.release(item);
                fc.stop();
                return nullptr;
            }
            return item;
        });
    }

    template <std::size_t K>
    auto stage_filter()
    {
        auto& st = stage_at<K>();
        constexpr bool last = K + 1 == stage_count;
        auto body = [this, &st](slot* item) {
            tsan_acquire(&pipeline_tsan_anchor); // before reading this lambda's captures
            const tsan_fork_join::body_scope body(*edges_);
            const tsan_item_scope scope(item, st.mode.is_serial() ? static_cast<const void*>(&st) : nullptr);
            if (stage_gate* gate = gates_[K].get())
                gate->run([&] { apply<K>(*item); });
            else
                apply<K>(*item);
            if constexpr (last)
                slots_.release(item); // the source may reuse it
        };
        if constexpr (last) {
            return tbb::make_filter<slot*, void>(tbb_mode(st.mode), body);
        } else {
            return tbb::make_filter<slot*, slot*>(tbb_mode(st.mode), [body](slot* item) -> slot* {
                body(item);
                return item;
            });
        }
    }

    template <std::size_t... K>
    tbb::filter<void, void> filters(const std::stop_token& stop, std::index_sequence<K...>)
    {
        return (source_filter(stop) & ... & stage_filter<K>());
    }

    pipeline_source<Source>& source_;
    std::tuple<pipeline_stage<Stages>&...> stages_;
    std::unique_ptr<stage_gate> gates_[stage_count];
    slot_pool<slot> slots_;
    std::atomic<bool> failed_{false}; ///< a stage or the source threw (sequentially consistent)
    tsan_fork_join* edges_ = nullptr;
    std::uint32_t labels_[stage_count + 1] = {}; ///< recorder labels of the source and stages
};

template <class T> inline constexpr bool is_pipeline_source_v = false;
template <class F> inline constexpr bool is_pipeline_source_v<pipeline_source<F>> = true;
template <class T> inline constexpr bool is_pipeline_stage_v = false;
template <class F> inline constexpr bool is_pipeline_stage_v<pipeline_stage<F>> = true;

template <class Policy, class Source, class... Stages>
pipeline_stats run_pipeline_impl(const Policy& policy, const pipeline_options& options,
                                 pipeline_source<Source>& source, pipeline_stage<Stages>&... stages)
{
    static_assert(is_execution_policy_v<Policy> && !is_gpu_policy_v<Policy>,
                  "trident::run_pipeline: the policy must be trident::seq, trident::par (with options) or "
                  "trident::automatic; GPU work goes into a stage of its own (trident::gpu_stage)");
    static_assert(sizeof...(Stages) >= 1,
                  "trident::run_pipeline: a pipeline needs a source and at least one stage (the last stage "
                  "consumes the items)");
    static_assert(std::is_invocable_v<Source&>, "trident::run_pipeline: the source must be callable with no arguments");
    if constexpr (std::is_invocable_v<Source&>) {
        using made = std::remove_cvref_t<std::invoke_result_t<Source&>>;
        static_assert(is_optional<made>::value,
                      "trident::run_pipeline: the source must return std::optional<T> (std::nullopt when there "
                      "is nothing more)");
        if constexpr (is_optional<made>::value) {
            pipeline_run<Source, Stages...> run(source, std::tuple<pipeline_stage<Stages>&...>(stages...));
            if constexpr (std::is_same_v<Policy, seq_policy>)
                return run.run_seq(options);
            else if constexpr (std::is_same_v<Policy, automatic_policy>)
                return run.run_par(policy.cpu_part(), options);
            else
                return run.run_par(policy, options);
        }
    }
    return {};
}

} // namespace detail

/// Runs a pipeline: `source`, then `stages...` in order (see the file comment), under `policy`
/// (`seq`, `par` with options, or `automatic`), with `options` (token bound, stop token).
/// \returns the run's statistics.
/// \throws  std::invalid_argument for a stage limit below 1 (when the mode is made); whatever a
///          stage function throws (the first one), after the items in flight were dropped.
template <class Policy, class Source, class... Stages>
    requires execution_policy<Policy>
pipeline_stats run_pipeline(const Policy& policy, const pipeline_options& options, pipeline_source<Source> source,
                            pipeline_stage<Stages>... stages)
{
    return detail::run_pipeline_impl(policy, options, source, stages...);
}

/// run_pipeline with the default options: four tokens per thread, no stop token.
template <class Policy, class Source, class... Stages>
    requires execution_policy<Policy>
pipeline_stats run_pipeline(const Policy& policy, pipeline_source<Source> source, pipeline_stage<Stages>... stages)
{
    return detail::run_pipeline_impl(policy, pipeline_options{}, source, stages...);
}

} // namespace trident
