// Memory-bound kernels, all in one binary so that the bandwidth references are measured in the
// same run as the algorithms they judge:
//   saxpy: y = a*x + y over 64M floats              (trident for_each_index and peers)
//   triad: a[i] = b[i] + s*c[i] over 64M floats     (STREAM's triad, raw oneTBB / OpenMP loop)
//   sum:   the sum of 100M doubles                  (trident reduce and peers)
//   read:  the same sum, hand-vectorised with 8 accumulators (raw oneTBB / OpenMP), and with
//          four read streams per thread (raw oneTBB): the read bandwidth references for sum
//
// Bytes.  bytes_per_second counts what the program asks for, STREAM's way: saxpy reads x and y
// and writes y (12 B/element), triad reads b and c and writes a (12 B/element), sum/read read
// 8 B/element.  The "traffic" counter (bytes/s) counts what crosses the memory bus: a plain
// store to a line that was not read first makes the core read the line before writing it
// (write-allocate), so the triad moves 16 B/element while saxpy, whose stores go to lines it has
// just read, moves 12.  saxpy is judged against the triad's traffic; summary.md shows both.
#include "common.hpp"

#include <trident/trident.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/partitioner.h>

#include <algorithm>
#include <cstddef>
#include <execution>
#include <functional>
#include <numeric>
#include <span>

namespace {

constexpr std::size_t saxpy_n = std::size_t{64} << 20; // 64M floats, 256 MiB per array
constexpr std::size_t sum_n = 100'000'000;              // 100M doubles, 800 MB

template <class T>
void fill_parallel(bench::buffer<T>& b, T value)
{
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, b.size()), [&](const tbb::blocked_range<std::size_t>& r) {
        for (std::size_t i = r.begin(); i < r.end(); ++i)
            b[i] = value;
    });
}

struct saxpy_data {
    bench::buffer<float> x{saxpy_n}, y{saxpy_n};
    saxpy_data()
    {
        fill_parallel(x, 1.0f);
        fill_parallel(y, 2.0f);
    }
};
saxpy_data& saxpy_arrays()
{
    static saxpy_data d;
    return d;
}

struct triad_data {
    bench::buffer<float> a{saxpy_n}, b{saxpy_n}, c{saxpy_n};
    triad_data()
    {
        fill_parallel(a, 0.0f);
        fill_parallel(b, 1.0f);
        fill_parallel(c, 2.0f);
    }
};
triad_data& triad_arrays()
{
    static triad_data d;
    return d;
}

bench::buffer<double>& sum_array()
{
    static bench::buffer<double> d = [] {
        bench::buffer<double> b(sum_n);
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, sum_n), [&](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t i = r.begin(); i < r.end(); ++i)
                b[i] = static_cast<double>(i % 1024) * 0.25; // exact in binary: every order sums alike
        });
        return b;
    }();
    return d;
}

void counters(benchmark::State& state, std::size_t n, double asked_bytes, double traffic_bytes)
{
    const auto items = static_cast<double>(state.iterations()) * static_cast<double>(n);
    state.SetItemsProcessed(static_cast<std::int64_t>(items));
    state.SetBytesProcessed(static_cast<std::int64_t>(items * asked_bytes));
    state.counters["traffic"] = benchmark::Counter(items * traffic_bytes, benchmark::Counter::kIsRate);
}

constexpr float saxpy_a = 1e-3f;

// ---- saxpy ----
void saxpy_seq_loop(benchmark::State& state)
{
    auto& d = saxpy_arrays();
    float* x = d.x.begin();
    float* y = d.y.begin();
    for (auto _ : state) {
        for (std::size_t i = 0; i < saxpy_n; ++i)
            y[i] = saxpy_a * x[i] + y[i];
        benchmark::ClobberMemory();
    }
    counters(state, saxpy_n, 12, 12);
}

template <class Policy>
void saxpy_trident(benchmark::State& state, Policy policy)
{
    auto& d = saxpy_arrays();
    float* x = d.x.begin();
    float* y = d.y.begin();
    for (auto _ : state) {
        trident::for_each_index(policy, saxpy_n, [=](std::size_t i) { y[i] = saxpy_a * x[i] + y[i]; });
        benchmark::ClobberMemory();
    }
    counters(state, saxpy_n, 12, 12);
}

template <class Partitioner>
void saxpy_tbb(benchmark::State& state)
{
    auto& d = saxpy_arrays();
    float* x = d.x.begin();
    float* y = d.y.begin();
    for (auto _ : state) {
        tbb::parallel_for(
            tbb::blocked_range<std::size_t>(0, saxpy_n),
            [=](const tbb::blocked_range<std::size_t>& r) {
                for (std::size_t i = r.begin(); i < r.end(); ++i)
                    y[i] = saxpy_a * x[i] + y[i];
            },
            Partitioner{});
        benchmark::ClobberMemory();
    }
    counters(state, saxpy_n, 12, 12);
}

void saxpy_omp(benchmark::State& state)
{
    auto& d = saxpy_arrays();
    float* x = d.x.begin();
    float* y = d.y.begin();
    for (auto _ : state) {
#pragma omp parallel for
        for (std::size_t i = 0; i < saxpy_n; ++i)
            y[i] = saxpy_a * x[i] + y[i];
        benchmark::ClobberMemory();
    }
    counters(state, saxpy_n, 12, 12);
}

void saxpy_std_par(benchmark::State& state)
{
    auto& d = saxpy_arrays();
    for (auto _ : state) {
        std::transform(std::execution::par, d.x.begin(), d.x.end(), d.y.begin(), d.y.begin(),
                       [](float xi, float yi) { return saxpy_a * xi + yi; });
        benchmark::ClobberMemory();
    }
    counters(state, saxpy_n, 12, 12);
}

// ---- triad ----
constexpr float triad_s = 3.0f;

void triad_seq_loop(benchmark::State& state)
{
    auto& d = triad_arrays();
    float *a = d.a.begin(), *b = d.b.begin(), *c = d.c.begin();
    for (auto _ : state) {
        for (std::size_t i = 0; i < saxpy_n; ++i)
            a[i] = b[i] + triad_s * c[i];
        benchmark::ClobberMemory();
    }
    counters(state, saxpy_n, 12, 16);
}

void triad_tbb(benchmark::State& state)
{
    auto& d = triad_arrays();
    float *a = d.a.begin(), *b = d.b.begin(), *c = d.c.begin();
    for (auto _ : state) {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, saxpy_n), [=](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t i = r.begin(); i < r.end(); ++i)
                a[i] = b[i] + triad_s * c[i];
        });
        benchmark::ClobberMemory();
    }
    counters(state, saxpy_n, 12, 16);
}

void triad_omp(benchmark::State& state)
{
    auto& d = triad_arrays();
    float *a = d.a.begin(), *b = d.b.begin(), *c = d.c.begin();
    for (auto _ : state) {
#pragma omp parallel for
        for (std::size_t i = 0; i < saxpy_n; ++i)
            a[i] = b[i] + triad_s * c[i];
        benchmark::ClobberMemory();
    }
    counters(state, saxpy_n, 12, 16);
}

// ---- sum ----
void sum_seq_loop(benchmark::State& state)
{
    auto& d = sum_array();
    for (auto _ : state)
        benchmark::DoNotOptimize(std::accumulate(d.begin(), d.end(), 0.0));
    counters(state, sum_n, 8, 8);
}

template <class Policy>
void sum_trident(benchmark::State& state, Policy policy)
{
    auto& d = sum_array();
    const std::span<const double> x(d.begin(), d.size());
    for (auto _ : state)
        benchmark::DoNotOptimize(trident::reduce(policy, x, 0.0));
    counters(state, sum_n, 8, 8);
}

void sum_tbb(benchmark::State& state)
{
    auto& d = sum_array();
    const double* x = d.begin();
    for (auto _ : state)
        benchmark::DoNotOptimize(tbb::parallel_reduce(
            tbb::blocked_range<std::size_t>(0, sum_n), 0.0,
            [=](const tbb::blocked_range<std::size_t>& r, double s) {
                for (std::size_t i = r.begin(); i < r.end(); ++i)
                    s += x[i];
                return s;
            },
            std::plus<>{}));
    counters(state, sum_n, 8, 8);
}

void sum_omp(benchmark::State& state)
{
    auto& d = sum_array();
    const double* x = d.begin();
    for (auto _ : state) {
        double s = 0;
#pragma omp parallel for reduction(+ : s)
        for (std::size_t i = 0; i < sum_n; ++i)
            s += x[i];
        benchmark::DoNotOptimize(s);
    }
    counters(state, sum_n, 8, 8);
}

void sum_std_par(benchmark::State& state)
{
    auto& d = sum_array();
    for (auto _ : state)
        benchmark::DoNotOptimize(std::reduce(std::execution::par, d.begin(), d.end(), 0.0));
    counters(state, sum_n, 8, 8);
}

// ---- read: the sum written for bandwidth (8 independent accumulators, which g++ vectorises) ----
inline double sum8(const double* x, std::size_t b, std::size_t e)
{
    double a[8] = {};
    std::size_t i = b;
    for (; i + 8 <= e; i += 8)
        for (int j = 0; j < 8; ++j)
            a[j] += x[i + static_cast<std::size_t>(j)];
    for (; i < e; ++i)
        a[0] += x[i];
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// The same over four contiguous quarters at once: four read streams per thread keep more cache
// misses in flight than one (a single core here is limited by misses in flight, not by the bus).
inline double sum4x4(const double* x, std::size_t b, std::size_t e)
{
    const std::size_t q = (e - b) / 4;
    const double* s[4] = {x + b, x + b + q, x + b + 2 * q, x + b + 3 * q};
    double a[4][4] = {};
    std::size_t i = 0;
    for (; i + 4 <= q; i += 4)
        for (int k = 0; k < 4; ++k)
            for (int j = 0; j < 4; ++j)
                a[k][j] += s[k][i + static_cast<std::size_t>(j)];
    double total = 0;
    for (int k = 0; k < 4; ++k)
        total += (a[k][0] + a[k][1]) + (a[k][2] + a[k][3]);
    for (int k = 0; k < 4; ++k)
        for (std::size_t j = i; j < q; ++j)
            total += s[k][j];
    for (std::size_t j = b + 4 * q; j < e; ++j)
        total += x[j];
    return total;
}

void read_tbb_streams(benchmark::State& state)
{
    auto& d = sum_array();
    const double* x = d.begin();
    for (auto _ : state)
        benchmark::DoNotOptimize(tbb::parallel_reduce(
            tbb::blocked_range<std::size_t>(0, sum_n, sum_n / 16), 0.0,
            [=](const tbb::blocked_range<std::size_t>& r, double s) { return s + sum4x4(x, r.begin(), r.end()); },
            std::plus<>{}));
    counters(state, sum_n, 8, 8);
}

void read_tbb(benchmark::State& state)
{
    auto& d = sum_array();
    const double* x = d.begin();
    for (auto _ : state)
        benchmark::DoNotOptimize(tbb::parallel_reduce(
            tbb::blocked_range<std::size_t>(0, sum_n), 0.0,
            [=](const tbb::blocked_range<std::size_t>& r, double s) { return s + sum8(x, r.begin(), r.end()); },
            std::plus<>{}));
    counters(state, sum_n, 8, 8);
}

void read_omp(benchmark::State& state)
{
    auto& d = sum_array();
    const double* x = d.begin();
    for (auto _ : state) {
        double s = 0;
#pragma omp parallel reduction(+ : s)
        {
            const auto t = static_cast<std::size_t>(omp_get_thread_num());
            const auto nt = static_cast<std::size_t>(omp_get_num_threads());
            s += sum8(x, sum_n * t / nt, sum_n * (t + 1) / nt);
        }
        benchmark::DoNotOptimize(s);
    }
    counters(state, sum_n, 8, 8);
}

template <class F>
void reg(const char* name, F f)
{
    benchmark::RegisterBenchmark(name, f)->Unit(benchmark::kMillisecond)->UseRealTime();
}

const int registered = [] {
    // The references first: triad and read, then the algorithms they judge.
    reg("triad/seq_loop", triad_seq_loop);
    reg("triad/tbb", triad_tbb);
    reg("triad/omp", triad_omp);
    reg("saxpy/seq_loop", saxpy_seq_loop);
    reg("saxpy/trident_seq", [](benchmark::State& s) { saxpy_trident(s, trident::seq); });
    reg("saxpy/trident_par", [](benchmark::State& s) { saxpy_trident(s, trident::par); });
    reg("saxpy/tbb", saxpy_tbb<tbb::auto_partitioner>);
    reg("saxpy/tbb_static", saxpy_tbb<tbb::static_partitioner>);
    reg("saxpy/omp", saxpy_omp);
    reg("saxpy/std_par", saxpy_std_par);
    reg("read/tbb", read_tbb);
    reg("read/omp", read_omp);
    reg("read/tbb_4streams", read_tbb_streams);
    reg("sum/seq_loop", sum_seq_loop);
    reg("sum/trident_seq", [](benchmark::State& s) { sum_trident(s, trident::seq); });
    reg("sum/trident_par", [](benchmark::State& s) { sum_trident(s, trident::par); });
    reg("sum/tbb", sum_tbb);
    reg("sum/omp", sum_omp);
    reg("sum/std_par", sum_std_par);
    return 0;
}();

} // namespace

TRIDENT_BENCH_MAIN("0.3")
