// Per-call cost of a parallel loop: x[i] += 1 over n floats (for_each, n from 100 to 10^7), and the
// same over n ints written as a user would (for_each_index with x[i] += 1 on a captured vector).
// The targets read n = 1000 (a call that should not pay for parallelism: at most 1.2x the plain
// loop) and n = 10^6 (within 5% of the raw oneTBB loop), for both element types; the float sweep
// locates where parallel starts to pay, which is what trident's inline cutoff
// (backend/tbb/executor.hpp) is tuned from.
#include "common.hpp"

#include <trident/trident.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <execution>
#include <span>
#include <string>
#include <vector>

namespace {

template <class T>
void counters(benchmark::State& state, std::size_t n)
{
    const auto items = static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n);
    state.SetItemsProcessed(items);
    state.SetBytesProcessed(items * static_cast<std::int64_t>(2 * sizeof(T)));
}

template <class Loop>
void run(benchmark::State& state, Loop loop)
{
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<float> x(n, 0.0f);
    for (auto _ : state) {
        loop(std::span<float>(x));
        benchmark::ClobberMemory();
    }
    counters<float>(state, n);
}

// The int rows: each loop gets the std::vector<int> itself, as a user's code has it.
template <class Loop>
void run_int(benchmark::State& state, Loop loop)
{
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<int> x(n, 0);
    for (auto _ : state) {
        loop(x);
        benchmark::ClobberMemory();
    }
    counters<int>(state, n);
}

void int_seq_loop(benchmark::State& state)
{
    run_int(state, [](std::vector<int>& x) {
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] += 1;
    });
}

void int_trident_par(benchmark::State& state)
{
    run_int(state, [](std::vector<int>& x) { trident::for_each_index(trident::par, x.size(), [&](std::size_t i) { x[i] += 1; }); });
}

template <class Partitioner>
void int_tbb_loop(benchmark::State& state)
{
    run_int(state, [](std::vector<int>& x) {
        tbb::parallel_for(
            tbb::blocked_range<std::size_t>(0, x.size()),
            [&](const tbb::blocked_range<std::size_t>& r) {
                for (std::size_t i = r.begin(); i < r.end(); ++i)
                    x[i] += 1;
            },
            Partitioner{});
    });
}

void seq_loop(benchmark::State& state)
{
    run(state, [](std::span<float> x) {
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] += 1.0f;
    });
}

template <class Policy>
void trident_loop(benchmark::State& state, Policy policy)
{
    run(state, [policy](std::span<float> x) { trident::for_each(policy, x, [](float& v) { v += 1.0f; }); });
}

template <class Partitioner>
void tbb_loop(benchmark::State& state)
{
    run(state, [](std::span<float> x) {
        float* p = x.data();
        tbb::parallel_for(
            tbb::blocked_range<std::size_t>(0, x.size()),
            [p](const tbb::blocked_range<std::size_t>& r) {
                for (std::size_t i = r.begin(); i < r.end(); ++i)
                    p[i] += 1.0f;
            },
            Partitioner{});
    });
}

void omp_loop(benchmark::State& state)
{
    run(state, [](std::span<float> x) {
        float* p = x.data();
        const std::size_t n = x.size();
#pragma omp parallel for
        for (std::size_t i = 0; i < n; ++i)
            p[i] += 1.0f;
    });
}

void std_par(benchmark::State& state)
{
    run(state, [](std::span<float> x) { std::for_each(std::execution::par, x.begin(), x.end(), [](float& v) { v += 1.0f; }); });
}

const int registered = [] {
    const std::vector<std::int64_t> sizes = {100,     300,     1000,    3000,      10'000,    30'000,
                                             100'000, 300'000, 1'000'000, 3'000'000, 10'000'000};
    auto reg = [&](const std::string& impl, auto f) {
        auto* b = benchmark::RegisterBenchmark(("overhead/" + impl).c_str(), f);
        for (auto n : sizes)
            b->Arg(n);
        b->UseRealTime();
    };
    reg("seq_loop", seq_loop);
    reg("trident_seq", [](benchmark::State& s) { trident_loop(s, trident::seq); });
    reg("trident_par", [](benchmark::State& s) { trident_loop(s, trident::par); });
    reg("tbb", tbb_loop<tbb::auto_partitioner>);
    reg("tbb_static", tbb_loop<tbb::static_partitioner>);
    reg("omp", omp_loop);
    reg("std_par", std_par);

    // overhead_int: the target sizes only.
    auto reg_int = [](const std::string& impl, auto f) {
        benchmark::RegisterBenchmark(("overhead_int/" + impl).c_str(), f)->Arg(1000)->Arg(1'000'000)->UseRealTime();
    };
    reg_int("seq_loop", int_seq_loop);
    reg_int("trident_par", int_trident_par);
    reg_int("tbb", int_tbb_loop<tbb::auto_partitioner>);
    reg_int("tbb_static", int_tbb_loop<tbb::static_partitioner>);
    return 0;
}();

} // namespace

TRIDENT_BENCH_MAIN("0.1")
