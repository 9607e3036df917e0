// The lecture's CPU-bound loop, s += sqrt(i) * sin(i) over 8,000,000 iterations, cut into tasks:
//   compute_coarse: 4 tasks x 2,000,000 iterations (the lecture's "4 workers")
//   compute_fine:   8000 tasks x 1000 iterations (the same work in small tasks)
// Every implementation sums the same per-task kernel; the task is the unit of parallel work
// (items/s counts loop iterations).
#include "common.hpp"

#include <trident/trident.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>

#include <cmath>
#include <cstddef>
#include <execution>
#include <functional>
#include <numeric>
#include <ranges>
#include <vector>

namespace {

constexpr std::size_t total_iterations = 8'000'000;

// The lecture's loop body over [b, e).
inline double kernel(std::size_t b, std::size_t e)
{
    double s = 0;
    for (std::size_t i = b; i < e; ++i) {
        const double x = static_cast<double>(i);
        s += std::sqrt(x) * std::sin(x);
    }
    return s;
}

struct shape {
    std::size_t tasks;
    std::size_t per_task() const { return total_iterations / tasks; }
    double task(std::size_t k) const { return kernel(k * per_task(), (k + 1) * per_task()); }
};

template <std::size_t Tasks>
void finish(benchmark::State& state)
{
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(total_iterations));
    state.counters["tasks"] = static_cast<double>(Tasks);
}

template <std::size_t Tasks>
void seq_loop(benchmark::State& state)
{
    for (auto _ : state)
        benchmark::DoNotOptimize(kernel(0, total_iterations));
    finish<Tasks>(state);
}

template <std::size_t Tasks>
void trident_seq(benchmark::State& state)
{
    const shape sh{Tasks};
    for (auto _ : state)
        benchmark::DoNotOptimize(trident::map_reduce(trident::seq, std::views::iota(std::size_t{0}, Tasks),
                                                     [&](std::size_t k) { return sh.task(k); }, 0.0));
    finish<Tasks>(state);
}

template <std::size_t Tasks>
void trident_par(benchmark::State& state)
{
    const shape sh{Tasks};
    for (auto _ : state)
        benchmark::DoNotOptimize(trident::map_reduce(trident::par, std::views::iota(std::size_t{0}, Tasks),
                                                     [&](std::size_t k) { return sh.task(k); }, 0.0));
    finish<Tasks>(state);
}

// The same with for_each_index writing one partial sum per task, summed afterwards.
template <std::size_t Tasks>
void trident_par_for_each(benchmark::State& state)
{
    const shape sh{Tasks};
    std::vector<double> partial(Tasks);
    for (auto _ : state) {
        trident::for_each_index(trident::par, Tasks, [&](std::size_t k) { partial[k] = sh.task(k); });
        benchmark::DoNotOptimize(std::accumulate(partial.begin(), partial.end(), 0.0));
    }
    finish<Tasks>(state);
}

template <std::size_t Tasks>
void tbb_raw(benchmark::State& state)
{
    const shape sh{Tasks};
    for (auto _ : state)
        benchmark::DoNotOptimize(tbb::parallel_reduce(
            tbb::blocked_range<std::size_t>(0, Tasks), 0.0,
            [&](const tbb::blocked_range<std::size_t>& r, double s) {
                for (std::size_t k = r.begin(); k < r.end(); ++k)
                    s += sh.task(k);
                return s;
            },
            std::plus<>{}));
    finish<Tasks>(state);
}

template <std::size_t Tasks>
void omp(benchmark::State& state)
{
    const shape sh{Tasks};
    for (auto _ : state) {
        double s = 0;
#pragma omp parallel for reduction(+ : s)
        for (std::size_t k = 0; k < Tasks; ++k)
            s += sh.task(k);
        benchmark::DoNotOptimize(s);
    }
    finish<Tasks>(state);
}

template <std::size_t Tasks>
void std_par(benchmark::State& state)
{
    const shape sh{Tasks};
    std::vector<std::size_t> ids(Tasks); // the parallel algorithms want random-access iterators
    std::iota(ids.begin(), ids.end(), std::size_t{0});
    for (auto _ : state)
        benchmark::DoNotOptimize(std::transform_reduce(std::execution::par, ids.begin(), ids.end(), 0.0, std::plus<>{},
                                                       [&](std::size_t k) { return sh.task(k); }));
    finish<Tasks>(state);
}

template <std::size_t Tasks>
void register_shape(const char* workload)
{
    const std::string w = workload;
    benchmark::RegisterBenchmark((w + "/seq_loop").c_str(), seq_loop<Tasks>)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark((w + "/trident_seq").c_str(), trident_seq<Tasks>)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark((w + "/trident_par").c_str(), trident_par<Tasks>)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark((w + "/trident_par_for_each").c_str(), trident_par_for_each<Tasks>)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((w + "/tbb").c_str(), tbb_raw<Tasks>)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark((w + "/omp").c_str(), omp<Tasks>)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark((w + "/std_par").c_str(), std_par<Tasks>)->Unit(benchmark::kMillisecond)->UseRealTime();
}

const int registered = [] {
    register_shape<4>("compute_coarse");
    register_shape<8000>("compute_fine");
    return 0;
}();

} // namespace

TRIDENT_BENCH_MAIN("0.3")
