// Task parallelism: blocking (I/O-bound) tasks on a pool, side by side with compute, and the
// per-call cost of parallel_invoke.
//
//   io_tasks/...             the lecture's I/O case: 8 tasks, each blocking (sleeping) for one unit
//     seq_loop                 the 8 sleeps one after the other (8 units)
//     trident_blocking_pool    blocking_pool(4).submit x 8, then the futures (ideal: 2 units)
//     trident_task_group       a task_group over the same pool (ideal: 2 units)
//     trident_parallel_invoke  parallel_invoke(pool, 8 functions) (ideal: 2 units)
//     std_async                std::async(std::launch::async) x 8: a thread per task (ideal: 1 unit)
//     tbb_task_group           tbb::task_group on the default arena: the sleeps hold oneTBB's compute
//                              workers, as many at once as the arena has threads (2 cores: 4 units)
//   io_tasks_beside_map/...  the same 8 tasks while the calling thread runs a CPU-bound
//                            trident::par map of fixed size; the time is the wall time until both
//                            are done, the counters say what happened to the map
//     map_alone                the map with nothing beside it (the reference)
//     trident_blocking_pool    the tasks on blocking_pool(4): no oneTBB worker is taken
//     tbb_task_group           the tasks on tbb::task_group: they take oneTBB's workers (and the
//                              calling thread, waiting in the map, may pick one up and sleep)
//   invoke/<impl>/<n>        one parallel_invoke of n empty functions (n = 2, 8): the cost per call
//     seq_loop (the n calls inline), trident_seq, trident_par (trident::parallel_invoke(par, ...)),
//     tbb (tbb::parallel_invoke), trident_blocking_pool (parallel_invoke on a pool of 8 threads)
//
// A unit is 20 ms of std::this_thread::sleep_for (the lecture's "2 s", scaled down; sleep
// overshoot is about 0.1 ms, 0.5% of a unit).  Counters on io_tasks and io_tasks_beside_map:
// units_per_task (1), tasks (8), workers (threads that can run the tasks), wall_units (measured wall
// time per iteration / unit), ideal_units (ceil(tasks / workers) x units_per_task).  On
// io_tasks_beside_map also map_ms (the map's own time per iteration), map_alone_ms (the map alone,
// measured before the loop) and map_slowdown (map_ms / map_alone_ms; 1 = the map lost nothing).
// The trident rows of io_tasks carry trident::explain's sentence as their label.
#include "common.hpp"

#include <trident/trident.hpp>
#include <trident/task/blocking_pool.hpp>
#include <trident/task/invoke.hpp>
#include <trident/task/task_group.hpp>

#include <oneapi/tbb/parallel_invoke.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr auto unit = std::chrono::milliseconds(20);
constexpr int tasks = 8;
constexpr int pool_threads = 4;

using clock_type = std::chrono::steady_clock;

double seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }
double unit_seconds() { return seconds(unit); }

void io_task() { std::this_thread::sleep_for(unit); }

void io_counters(benchmark::State& state, int workers, double wall_seconds_total)
{
    state.counters["units_per_task"] = 1;
    state.counters["tasks"] = tasks;
    state.counters["workers"] = workers;
    state.counters["ideal_units"] = static_cast<double>((tasks + workers - 1) / workers);
    state.counters["wall_units"] = wall_seconds_total / static_cast<double>(state.iterations()) / unit_seconds();
}

trident::blocking_pool& shared_pool()
{
    static trident::blocking_pool pool(pool_threads);
    return pool;
}

// ---- the 8 blocking tasks, each way -------------------------------------------------------------

void run_seq_loop()
{
    for (int k = 0; k < tasks; ++k)
        io_task();
}

void run_blocking_pool()
{
    std::vector<std::future<void>> f;
    f.reserve(tasks);
    for (int k = 0; k < tasks; ++k)
        f.push_back(shared_pool().submit(io_task));
    for (auto& x : f)
        x.get();
}

void run_task_group()
{
    trident::task_group group(shared_pool());
    for (int k = 0; k < tasks; ++k)
        (void)group.run(io_task);
    group.wait();
}

void run_parallel_invoke()
{
    (void)trident::parallel_invoke(shared_pool(), io_task, io_task, io_task, io_task, io_task, io_task, io_task, io_task);
}

void run_std_async()
{
    std::vector<std::future<void>> f;
    f.reserve(tasks);
    for (int k = 0; k < tasks; ++k)
        f.push_back(std::async(std::launch::async, io_task));
    for (auto& x : f)
        x.get();
}

void run_tbb_task_group()
{
    tbb::task_group group;
    for (int k = 0; k < tasks; ++k)
        group.run(io_task);
    group.wait();
}

/// The 8 tasks `Run` starts, timed per iteration.  With `explained` (trident's rows) one more run
/// under trident::explain (once per process), told the pool's size and the sequential time (8
/// units), labels the row: the report's "why".
template <void (*Run)()>
void io_tasks(benchmark::State& state, int workers, bool explained = false)
{
    double total = 0;
    for (auto _ : state) {
        const auto t0 = clock_type::now();
        Run();
        total += seconds(clock_type::now() - t0);
    }
    io_counters(state, workers, total);
    if (explained) {
        static const trident::explanation e = [workers] {
            trident::explain_options options;
            options.workers = workers;
            options.sequential_seconds = tasks * unit_seconds();
            return trident::explain(Run, options);
        }();
        state.SetLabel(e.why());
    }
}

// ---- beside a CPU-bound map ---------------------------------------------------------------------

/// The CPU-bound map: 2^21 elements of sqrt(x) * sin(x) (about 40 ms on one core of the 2-core
/// machine, 20 ms on two).
struct cpu_map {
    std::vector<double> in, out;
    cpu_map() : in(std::size_t{1} << 21), out(in.size()) { std::iota(in.begin(), in.end(), 0.0); }
    double run()
    {
        const auto t0 = clock_type::now();
        trident::map(trident::par, in, out, [](double x) { return std::sqrt(x) * std::sin(x); });
        benchmark::DoNotOptimize(out.data());
        return seconds(clock_type::now() - t0);
    }
    /// The map alone: the best of 5 calls after a warm-up.
    double alone()
    {
        run();
        double best = 1e9;
        for (int k = 0; k < 5; ++k)
            best = std::min(best, run());
        return best;
    }
};

void map_alone(benchmark::State& state)
{
    cpu_map map;
    map.run();
    double total = 0;
    for (auto _ : state)
        total += map.run();
    state.counters["map_ms"] = 1e3 * total / static_cast<double>(state.iterations());
}

/// Starts the 8 tasks (returns something to wait on), runs the map, waits for the tasks.
template <class Start>
void beside_map(benchmark::State& state, int workers, Start start)
{
    cpu_map map;
    const double alone = map.alone();
    double map_total = 0, wall_total = 0;
    for (auto _ : state) {
        const auto t0 = clock_type::now();
        auto pending = start();
        map_total += map.run();
        pending.wait();
        wall_total += seconds(clock_type::now() - t0);
    }
    io_counters(state, workers, wall_total);
    const double map_ms = 1e3 * map_total / static_cast<double>(state.iterations());
    state.counters["map_ms"] = map_ms;
    state.counters["map_alone_ms"] = 1e3 * alone;
    state.counters["map_slowdown"] = map_ms / (1e3 * alone);
}

struct pool_batch {
    std::vector<std::future<void>> f;
    void wait()
    {
        for (auto& x : f)
            x.get();
    }
};

struct tbb_batch {
    std::unique_ptr<tbb::task_group> group = std::make_unique<tbb::task_group>();
    void wait() { group->wait(); }
};

// ---- parallel_invoke per-call cost --------------------------------------------------------------

std::atomic<std::uint64_t> sink{0};
inline void empty_fn() { benchmark::DoNotOptimize(sink.load(std::memory_order_relaxed)); }

template <class Call>
void invoke_bench(benchmark::State& state, Call call)
{
    const auto n = state.range(0);
    for (auto _ : state) {
        if (n == 2)
            call([] { empty_fn(); }, [] { empty_fn(); });
        else
            call([] { empty_fn(); }, [] { empty_fn(); }, [] { empty_fn(); }, [] { empty_fn(); }, [] { empty_fn(); },
                 [] { empty_fn(); }, [] { empty_fn(); }, [] { empty_fn(); });
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * n);
}

trident::blocking_pool& invoke_pool()
{
    static trident::blocking_pool pool(8);
    return pool;
}

const int registered = [] {
    const int tbb_threads = tbb::this_task_arena::max_concurrency();
    auto io = [](const char* impl, auto f) {
        benchmark::RegisterBenchmark((std::string("io_tasks/") + impl).c_str(), f)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    };
    io("seq_loop", [](benchmark::State& s) { io_tasks<run_seq_loop>(s, 1); });
    io("trident_blocking_pool", [](benchmark::State& s) { io_tasks<run_blocking_pool>(s, pool_threads, true); });
    io("trident_task_group", [](benchmark::State& s) { io_tasks<run_task_group>(s, pool_threads, true); });
    io("trident_parallel_invoke", [](benchmark::State& s) { io_tasks<run_parallel_invoke>(s, pool_threads, true); });
    io("std_async", [](benchmark::State& s) { io_tasks<run_std_async>(s, tasks); });
    io("tbb_task_group", [tbb_threads](benchmark::State& s) { io_tasks<run_tbb_task_group>(s, tbb_threads); });

    auto beside = [](const char* impl, auto f) {
        benchmark::RegisterBenchmark((std::string("io_tasks_beside_map/") + impl).c_str(), f)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    };
    beside("map_alone", map_alone);
    beside("trident_blocking_pool", [](benchmark::State& s) {
        beside_map(s, pool_threads, [] {
            pool_batch b;
            for (int k = 0; k < tasks; ++k)
                b.f.push_back(shared_pool().submit(io_task));
            return b;
        });
    });
    beside("tbb_task_group", [tbb_threads](benchmark::State& s) {
        beside_map(s, tbb_threads, [] {
            tbb_batch b;
            for (int k = 0; k < tasks; ++k)
                b.group->run(io_task);
            return b;
        });
    });

    auto inv = [](const char* impl, auto f) {
        benchmark::RegisterBenchmark((std::string("invoke/") + impl).c_str(), f)->Arg(2)->Arg(8)->UseRealTime();
    };
    inv("seq_loop", [](benchmark::State& s) { invoke_bench(s, [](auto... f) { (f(), ...); }); });
    inv("trident_seq", [](benchmark::State& s) {
        invoke_bench(s, [](auto... f) { benchmark::DoNotOptimize(trident::parallel_invoke(trident::seq, f...)); });
    });
    inv("trident_par", [](benchmark::State& s) {
        invoke_bench(s, [](auto... f) { benchmark::DoNotOptimize(trident::parallel_invoke(trident::par, f...)); });
    });
    inv("tbb", [](benchmark::State& s) { invoke_bench(s, [](auto... f) { tbb::parallel_invoke(f...); }); });
    inv("trident_blocking_pool", [](benchmark::State& s) {
        invoke_bench(s, [](auto... f) { benchmark::DoNotOptimize(trident::parallel_invoke(invoke_pool(), f...)); });
    });
    return 0;
}();

} // namespace

TRIDENT_BENCH_MAIN("0.1")
