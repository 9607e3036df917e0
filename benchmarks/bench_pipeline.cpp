// The lecture's five-stage data pipeline, Load -> Clean -> Extract -> Train -> Eval with stage
// costs 5, 3, 4, 10 and 2 units of CPU work (24 per batch), over `batches` batches; and the
// per-token cost of trident::run_pipeline against a raw tbb::parallel_pipeline.
//
//   lecture_pipeline/...                   every stage serial in order (one Train at a time)
//     seq_loop      a plain loop calling the five stage functions per batch
//     trident_seq   trident::run_pipeline(trident::seq, ...)
//     trident_par   trident::run_pipeline(trident::par, ...)
//     tbb           the same pipeline written with tbb::parallel_pipeline (the peer)
//   lecture_pipeline_train_replicated/...  Train parallel, the other stages serial in order
//     trident_par, tbb
//   pipeline_overhead/...                  empty stages over int items, all threads
//   pipeline_overhead_1thread/...          the same on one thread (trident::par.threads(1) against
//     trident_par, tbb                      tbb in a task_arena(1)): on 2 cores the 2-thread number
//                                           is noisy, the 1-thread one is the scheduling cost alone
//
// A unit is a fixed amount of CPU work: a dependent chain of xorshift-multiply steps (no memory
// traffic, no sleeping), calibrated once at start-up to about 50 us on one thread; the counter
// unit_us (and the context entry pipeline_unit_us) is the duration measured then.  The parallel
// rows also report unit_us_all_threads, the same unit timed while every thread runs one: when it
// is longer, the machine itself (clock, shared core) costs the parallel runs that much against the
// model, which uses unit_us.
//
// The model (counter model_seconds) is the shortest wall time any schedule could reach on the P
// threads the run has (counter threads), from two bounds:
//   - the cores: the work spread evenly over P threads,                           24 N / P units
//   - each serial stage s (cost c_s): it takes one batch at a time, the first batch must get to it
//     and the last batch must get out of it:      (costs before s) + N c_s + (costs after s) units
// model = the largest of these (fill and drain of the other stages are thus counted only around a
// serial stage; the cores bound leaves them out).
//   Train serial: the lecture's own model 12 + 10 N + 2 = 24 + (N - 1) x 10 units, for as many
//     cores as stages; reported as lecture_model_seconds.  On 2 threads the cores bind: 12 N units.
//   Train replicated: the serial Load gives 5 N + 19 units, the cores 24 N / P.
//   seq_loop and trident_seq run on one thread: 24 N units.
// Counters: efficiency = model_seconds / measured wall time (1 = the bound reached; the issue's
// target is 0.98); speedup = sequential time (24 N units) / measured wall time; ideal_speedup =
// sequential time / model_seconds; util_<stage> (trident's rows) = the stage's utilisation.  trident's runs
// also report the bound the library derives from its own per-stage busy times
// (pipeline_stats::bound(): stats_bound_seconds) and its efficiency against it (stats_efficiency):
// the same kind of model from measured stage times instead of calibrated units.
//
// Tokens: trident's default, four per thread (8 on 2 threads), and the same number for tbb: more
// than the stages that can be busy at once, so no stage waits for a token.
//
// The 2-thread overhead is bimodal on 2 cores: while the second thread stays out (asleep), a token
// costs about what it costs on one thread; once it joins, the serial stages' state moves between
// the cores with every token, and a token costs 1.5 to several times more.  Which mode a
// repetition gets is up to oneTBB's thread wake-ups, for trident and tbb alike: the 1-thread rows
// are the stable comparison.
#include "common.hpp"
#include "work_units.hpp"

#include <trident/trident.hpp>

#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using bench::seconds_since;
using bench::spin;
using bench::unit;
using bench::unit_seconds_all_threads;

// ---- the lecture's pipeline -------------------------------------------------------------------

constexpr std::size_t batches = 200;
constexpr std::array<int, 5> cost = {5, 3, 4, 10, 2}; // Load, Clean, Extract, Train, Eval
constexpr int batch_units = cost[0] + cost[1] + cost[2] + cost[3] + cost[4]; // 24

struct batch {
    std::uint64_t index = 0;
    std::uint64_t value = 0;
};

batch work(batch b, int units)
{
    b.value = spin(b.value, static_cast<std::uint64_t>(units) * unit().steps_per_unit);
    return b;
}

batch load(std::uint64_t index) { return work(batch{index, index * 0x9E3779B97F4A7C15ULL + 1}, cost[0]); }
batch clean(batch b) { return work(b, cost[1]); }
batch extract(batch b) { return work(b, cost[2]); }
batch train(batch b) { return work(b, cost[3]); }
std::uint64_t eval(batch b) { return work(b, cost[4]).value; }

/// The model in units for N batches on P threads (see the file comment); serial[s] tells whether
/// stage s runs one batch at a time.
double model_units(std::size_t n, int threads, const std::array<bool, 5>& serial)
{
    const double total = static_cast<double>(batch_units) * static_cast<double>(n);
    double bound = total / threads;
    int before = 0;
    for (std::size_t s = 0; s < cost.size(); ++s) {
        const int after = batch_units - before - cost[s];
        if (serial[s])
            bound = std::max(bound, before + static_cast<double>(n) * cost[s] + after);
        before += cost[s];
    }
    return bound;
}

constexpr std::array<bool, 5> train_serial = {true, true, true, true, true};
constexpr std::array<bool, 5> train_replicated = {true, true, true, false, true};

/// The checksum every implementation must reach: the sum of eval() over the batches, in order.
std::uint64_t reference_checksum()
{
    static const std::uint64_t sum = [] {
        std::uint64_t s = 0;
        for (std::size_t i = 0; i < batches; ++i)
            s += eval(train(extract(clean(load(i)))));
        return s;
    }();
    return sum;
}

std::uint64_t run_seq_loop()
{
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < batches; ++i)
        sum += eval(train(extract(clean(load(i)))));
    return sum;
}

template <class Policy>
trident::pipeline_stats run_trident(const Policy& policy, trident::stage_mode train_mode, std::uint64_t& sum)
{
    std::size_t next = 0;
    return trident::run_pipeline(
        policy,
        trident::source("load", [&]() -> std::optional<batch> {
            if (next == batches)
                return std::nullopt;
            return load(next++);
        }),
        trident::stage("clean", trident::serial_in_order, [](batch b) { return clean(b); }),
        trident::stage("extract", trident::serial_in_order, [](batch b) { return extract(b); }),
        trident::stage("train", train_mode, [](batch b) { return train(b); }),
        trident::stage("eval", trident::serial_in_order, [&sum](batch b) { sum += eval(b); }));
}

void run_tbb(std::size_t tokens, tbb::filter_mode train_mode, std::uint64_t& sum)
{
    using tbb::filter_mode;
    std::size_t next = 0;
    const auto load_filter = tbb::make_filter<void, batch>(filter_mode::serial_in_order, [&](tbb::flow_control& fc) {
        if (next == batches) {
            fc.stop();
            return batch{};
        }
        return load(next++);
    });
    const auto clean_filter =
        tbb::make_filter<batch, batch>(filter_mode::serial_in_order, [](batch b) { return clean(b); });
    const auto extract_filter =
        tbb::make_filter<batch, batch>(filter_mode::serial_in_order, [](batch b) { return extract(b); });
    const auto train_filter = tbb::make_filter<batch, batch>(train_mode, [](batch b) { return train(b); });
    const auto eval_filter =
        tbb::make_filter<batch, void>(filter_mode::serial_in_order, [&sum](batch b) { sum += eval(b); });
    tbb::parallel_pipeline(tokens, load_filter & clean_filter & extract_filter & train_filter & eval_filter);
}

int all_threads() { return tbb::this_task_arena::max_concurrency(); }

double loaded_unit_seconds()
{
    static const double u = unit_seconds_all_threads(all_threads());
    return u;
}

/// Times `body(sum)` per iteration and sets the lecture pipeline's counters; `stats_bound` (called
/// after each iteration) adds the library's own bound for trident's runs.
template <class Body>
void lecture_benchmark(benchmark::State& state, int threads, const std::array<bool, 5>& serial, bool lecture_model,
                       Body body)
{
    const double u = unit().unit_seconds;
    double wall = 0, stats_bound = 0, stats_efficiency = 0;
    std::vector<std::pair<std::string, double>> utilisation; // per stage, summed over iterations
    bool has_stats = false;
    std::uint64_t sum = 0;
    for (auto _ : state) {
        sum = 0;
        const auto t0 = std::chrono::steady_clock::now();
        const std::optional<trident::pipeline_stats> stats = body(sum);
        wall += seconds_since(t0);
        if (stats) {
            has_stats = true;
            stats_bound += stats->bound().seconds;
            stats_efficiency += stats->efficiency();
            utilisation.resize(stats->stages.size());
            for (std::size_t k = 0; k < stats->stages.size(); ++k) {
                utilisation[k].first = stats->stages[k].name;
                utilisation[k].second += stats->stages[k].utilisation;
            }
        }
    }
    if (sum != reference_checksum()) {
        state.SkipWithError("the pipeline's checksum differs from the sequential loop's");
        return;
    }
    const auto iterations = static_cast<double>(state.iterations());
    const double measured = wall / iterations;
    const double model = model_units(batches, threads, serial) * u;
    const double sequential = static_cast<double>(batch_units) * static_cast<double>(batches) * u;
    state.counters["batches"] = static_cast<double>(batches);
    state.counters["unit_us"] = u * 1e6;
    if (threads > 1)
        state.counters["unit_us_all_threads"] = loaded_unit_seconds() * 1e6;
    state.counters["threads"] = threads;
    state.counters["model_seconds"] = model;
    state.counters["efficiency"] = model / measured;
    state.counters["speedup"] = sequential / measured;
    state.counters["ideal_speedup"] = sequential / model; // what the model allows on these threads
    if (lecture_model)
        state.counters["lecture_model_seconds"] =
            (batch_units + static_cast<double>(batches - 1) * cost[3]) * u;
    if (has_stats) {
        state.counters["stats_bound_seconds"] = stats_bound / iterations;
        state.counters["stats_efficiency"] = stats_efficiency / iterations;
        for (const auto& [stage, sum_of_utilisation] : utilisation) // util_load ... util_eval
            state.counters["util_" + stage] = sum_of_utilisation / iterations;
        // One run more under trident::explain: its sentence (why the speedup falls short of the
        // threads) is the row's label, the report's "why" column.
        // Explained once per benchmark (each has its own Body type) and process, so that every
        // repetition carries the same label.
        static std::optional<std::string> explained;
        if (!explained) {
            trident::explain_options options;
            options.sequential_seconds = sequential;
            explained = trident::explain([&] { body(sum); }, options).why();
        }
        state.SetLabel(*explained);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(batches));
}

using maybe_stats = std::optional<trident::pipeline_stats>;

void lecture_seq_loop(benchmark::State& state)
{
    lecture_benchmark(state, 1, train_serial, false, [](std::uint64_t& sum) {
        sum = run_seq_loop();
        return maybe_stats();
    });
}

void lecture_trident_seq(benchmark::State& state)
{
    lecture_benchmark(state, 1, train_serial, false, [](std::uint64_t& sum) {
        return maybe_stats(run_trident(trident::seq, trident::serial_in_order, sum));
    });
}

template <bool Replicated>
void lecture_trident_par(benchmark::State& state)
{
    lecture_benchmark(state, all_threads(), Replicated ? train_replicated : train_serial, !Replicated,
                      [](std::uint64_t& sum) {
                          const trident::stage_mode train = Replicated ? trident::parallel_out_of_order : trident::serial_in_order;
                          return maybe_stats(run_trident(trident::par, train, sum));
                      });
}

template <bool Replicated>
void lecture_tbb(benchmark::State& state)
{
    const int threads = all_threads();
    const auto tokens = static_cast<std::size_t>(4 * threads); // trident's default
    lecture_benchmark(state, threads, Replicated ? train_replicated : train_serial, !Replicated,
                      [tokens](std::uint64_t& sum) {
                          run_tbb(tokens, Replicated ? tbb::filter_mode::parallel : tbb::filter_mode::serial_in_order,
                                  sum);
                          return maybe_stats();
                      });
}

// ---- per-token overhead -----------------------------------------------------------------------

constexpr std::size_t overhead_tokens = 400'000;

std::uint64_t overhead_trident(const trident::par_policy& policy, std::size_t max_tokens)
{
    std::uint64_t sum = 0;
    int next = 0;
    constexpr int count = static_cast<int>(overhead_tokens);
    trident::run_pipeline(
        policy, trident::pipeline_options{.max_tokens = max_tokens},
        trident::source("source", [&]() -> std::optional<int> {
            if (next == count)
                return std::nullopt;
            return next++;
        }),
        trident::stage("parallel", trident::parallel_out_of_order, [](int x) { return x; }),
        trident::stage("serial 1", trident::serial_in_order, [](int x) { return x; }),
        trident::stage("serial 2", trident::serial_in_order, [](int x) { return x; }),
        trident::stage("sink", trident::serial_in_order, [&sum](int x) { sum += static_cast<std::uint64_t>(x); }));
    return sum;
}

std::uint64_t overhead_tbb(std::size_t max_tokens)
{
    using tbb::filter_mode;
    std::uint64_t sum = 0;
    int next = 0;
    constexpr int count = static_cast<int>(overhead_tokens);
    const auto source = tbb::make_filter<void, int>(filter_mode::serial_in_order, [&](tbb::flow_control& fc) {
        if (next == count) {
            fc.stop();
            return 0;
        }
        return next++;
    });
    const auto pass_parallel = tbb::make_filter<int, int>(filter_mode::parallel, [](int x) { return x; });
    const auto pass_serial_1 = tbb::make_filter<int, int>(filter_mode::serial_in_order, [](int x) { return x; });
    const auto pass_serial_2 = tbb::make_filter<int, int>(filter_mode::serial_in_order, [](int x) { return x; });
    const auto sink = tbb::make_filter<int, void>(filter_mode::serial_in_order,
                                                  [&sum](int x) { sum += static_cast<std::uint64_t>(x); });
    tbb::parallel_pipeline(max_tokens, source & pass_parallel & pass_serial_1 & pass_serial_2 & sink);
    return sum;
}

template <class Body>
void overhead_benchmark(benchmark::State& state, int threads, Body body)
{
    const std::uint64_t expected = static_cast<std::uint64_t>(overhead_tokens) * (overhead_tokens - 1) / 2;
    const auto max_tokens = static_cast<std::size_t>(4 * threads); // trident's default, for both
    double wall = 0;
    std::uint64_t sum = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        sum = body(max_tokens);
        wall += seconds_since(t0);
    }
    if (sum != expected) {
        state.SkipWithError("the pipeline lost or repeated items");
        return;
    }
    state.counters["tokens"] = static_cast<double>(overhead_tokens);
    state.counters["max_tokens"] = static_cast<double>(max_tokens);
    state.counters["threads"] = threads;
    state.counters["ns_per_token"] =
        wall / static_cast<double>(state.iterations()) / static_cast<double>(overhead_tokens) * 1e9;
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(overhead_tokens));
}

void overhead_trident_all(benchmark::State& state)
{
    overhead_benchmark(state, all_threads(), [](std::size_t t) { return overhead_trident(trident::par, t); });
}

void overhead_tbb_all(benchmark::State& state)
{
    overhead_benchmark(state, all_threads(), [](std::size_t t) { return overhead_tbb(t); });
}

void overhead_trident_one(benchmark::State& state)
{
    overhead_benchmark(state, 1, [](std::size_t t) { return overhead_trident(trident::par.threads(1), t); });
}

void overhead_tbb_one(benchmark::State& state)
{
    static tbb::task_arena arena(1); // made once, as trident keeps its par.threads(1) arena
    overhead_benchmark(state, 1, [](std::size_t t) { return arena.execute([t] { return overhead_tbb(t); }); });
}

const int registered = [] {
    benchmark::AddCustomContext("pipeline_unit_us", std::to_string(unit().unit_seconds * 1e6));
    benchmark::AddCustomContext("pipeline_unit_us_all_threads", std::to_string(loaded_unit_seconds() * 1e6));
    auto reg = [](const std::string& name, void (*f)(benchmark::State&)) {
        benchmark::RegisterBenchmark(name.c_str(), f)->Unit(benchmark::kMillisecond)->UseRealTime();
    };
    reg("lecture_pipeline/seq_loop", lecture_seq_loop);
    reg("lecture_pipeline/trident_seq", lecture_trident_seq);
    reg("lecture_pipeline/trident_par", lecture_trident_par<false>);
    reg("lecture_pipeline/tbb", lecture_tbb<false>);
    reg("lecture_pipeline_train_replicated/trident_par", lecture_trident_par<true>);
    reg("lecture_pipeline_train_replicated/tbb", lecture_tbb<true>);
    reg("pipeline_overhead/trident_par", overhead_trident_all);
    reg("pipeline_overhead/tbb", overhead_tbb_all);
    reg("pipeline_overhead_1thread/trident_par", overhead_trident_one);
    reg("pipeline_overhead_1thread/tbb", overhead_tbb_one);
    return 0;
}();

} // namespace

TRIDENT_BENCH_MAIN("0.3")
