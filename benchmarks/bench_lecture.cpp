// The lecture's data-parallel claims, each as "<workload>/<implementation>" rows that the report
// (benchmarks/report.py, registry benchmarks/claims.py) puts next to the lecture's figure.
//
//   lecture_batches/...   claim 1: 1000 batches of 1 unit each (the lecture: 1000 units
//                         sequentially, 125 units on 8 workers); seq_loop, trident_par, tbb, omp
//   cpu_bound_loop/...    claim 4: the lecture's CPU-bound loop s += sqrt(i) * sin(i), the work it
//                         runs in Python threads (no speedup under the GIL) and processes;
//                         seq_loop, trident_par (benchmarks/python_peers.py adds the Python rows)
//   gemm/...              claim 5: C = A x B for n x n doubles (the lecture's 10000 x 10000 NumPy /
//                         PyTorch example, scaled down); seq_loop (i-k-j loops), trident_par (row
//                         blocks of the same loops), GFLOP/s
//   monte_carlo/...       claim 6: pi from random points, trident::map_reduce over batches
//   image_filter/...      claim 6: 3x3 box blur of a grayscale image, trident::for_each_index
//
// Counters on every row: threads; on the parallel rows ideal_speedup (what this machine allows:
// min(threads, independent pieces of work)); the report divides the seq_loop row's time by the
// parallel row's for the measured speedup.  Scale: the default sizes take 0.05-0.3 s
// sequentially on one core; TRIDENT_LECTURE_SCALE=k (environment) multiplies the work by k
// (the report's --full mode).
#include "common.hpp"
#include "work_units.hpp"

#include <trident/trident.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace {

using bench::spin;
using bench::unit;

int all_threads() { return tbb::this_task_arena::max_concurrency(); }

std::size_t scale()
{
    static const std::size_t k = [] {
        const char* env = std::getenv("TRIDENT_LECTURE_SCALE");
        const long v = env ? std::strtol(env, nullptr, 10) : 1;
        return static_cast<std::size_t>(std::max(1L, v));
    }();
    return k;
}

/// The sequential (seq_loop) time of each workload: set by its seq_loop row, or measured once by
/// the first parallel row that needs it before that (random interleaving may run that row first).
std::map<std::string, double>& sequential_times()
{
    static std::map<std::string, double> times;
    return times;
}

/// A seq_loop row: times `body()` per iteration.
template <class Body>
void timed_sequential(benchmark::State& state, const std::string& workload, Body&& body)
{
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state)
        body();
    sequential_times()[workload] = bench::seconds_since(t0) / static_cast<double>(state.iterations());
    state.counters["threads"] = 1;
}

/// A peer's parallel row (raw oneTBB, OpenMP): times `body()` per iteration; no explanation (the
/// explain facility records trident's calls only).
template <class Body>
void timed_peer(benchmark::State& state, int threads, double ideal, Body&& body)
{
    for (auto _ : state)
        body();
    state.counters["threads"] = threads;
    state.counters["ideal_speedup"] = ideal;
}

/// A parallel row: times `body()` per iteration and sets threads and the ideal speedup on this
/// machine (the report divides the seq_loop row's time by this row's for the measured speedup).
/// It then runs body() once more under trident::explain (once per process), told the sequential
/// time, and takes the sentence explain gives (why the speedup falls short of the thread count, from the recorded busy
/// and idle times) as the row's label: the report's "why" column.
template <class Body, class Sequential>
void timed_parallel(benchmark::State& state, const std::string& workload, int threads, double ideal, Body&& body,
                    Sequential&& sequential_body)
{
    for (auto _ : state)
        body();
    state.counters["threads"] = threads;
    state.counters["ideal_speedup"] = ideal;
    trident::explain_options options;
    auto& times = sequential_times();
    if (times.find(workload) == times.end()) {
        const auto t0 = std::chrono::steady_clock::now();
        sequential_body();
        times[workload] = bench::seconds_since(t0);
    }
    options.sequential_seconds = times[workload];
    // Explained once per process, so that every repetition carries the same label (the report
    // reads it from the repetitions: Google Benchmark's aggregates carry no label).
    static std::map<std::string, trident::explanation> explained;
    auto it = explained.find(workload);
    if (it == explained.end())
        it = explained.emplace(workload, trident::explain(body, options)).first;
    state.counters["explain_serial_fraction"] = it->second.serial_fraction;
    state.counters["explain_predicted_speedup"] = it->second.predicted_speedup;
    state.SetLabel(it->second.why());
}

// ---- claim 1: 1000 batches of 1 unit ------------------------------------------------------------

constexpr std::size_t lecture_batch_count = 1000;

std::uint64_t batch_work(std::size_t i) { return spin(i + 1, unit().steps_per_unit * scale()); }

void check_batches(benchmark::State& state, const std::vector<std::uint64_t>& out)
{
    for (std::size_t i = 0; i < out.size(); i += 97)
        if (out[i] != batch_work(i)) {
            state.SkipWithError("a batch's result differs from the sequential loop's");
            return;
        }
}

void batches_sequential(std::vector<std::uint64_t>& out)
{
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = batch_work(i);
}

void batches_seq_loop(benchmark::State& state)
{
    std::vector<std::uint64_t> out(lecture_batch_count);
    timed_sequential(state, "lecture_batches", [&] { batches_sequential(out); });
    check_batches(state, out);
    state.counters["unit_us"] = unit().unit_seconds * static_cast<double>(scale()) * 1e6;
}

void batches_trident_par(benchmark::State& state)
{
    std::vector<std::uint64_t> out(lecture_batch_count);
    const int p = all_threads();
    timed_parallel(
        state, "lecture_batches", p, std::min<double>(p, lecture_batch_count),
        [&] { trident::for_each_index(trident::par, out.size(), [&](std::size_t i) { out[i] = batch_work(i); }); },
        [&] { batches_sequential(out); });
    check_batches(state, out);
}

void batches_tbb(benchmark::State& state)
{
    std::vector<std::uint64_t> out(lecture_batch_count);
    const int p = all_threads();
    timed_peer(state, p, std::min<double>(p, lecture_batch_count), [&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, out.size()), [&](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t i = r.begin(); i < r.end(); ++i)
                out[i] = batch_work(i);
        });
    });
    check_batches(state, out);
}

void batches_omp(benchmark::State& state)
{
    std::vector<std::uint64_t> out(lecture_batch_count);
    const int p = omp_get_max_threads();
    timed_peer(state, p, std::min<double>(p, lecture_batch_count), [&] {
        const auto n = static_cast<long long>(out.size());
#pragma omp parallel for schedule(dynamic, 1)
        for (long long i = 0; i < n; ++i)
            out[static_cast<std::size_t>(i)] = batch_work(static_cast<std::size_t>(i));
    });
    check_batches(state, out);
}

// ---- claim 4: a CPU-bound loop ------------------------------------------------------------------

/// The loop the lecture (and benchmarks/python_peers.py) runs in Python: s += sqrt(i) * sin(i) for i
/// in [begin, end).
double cpu_loop(std::uint64_t begin, std::uint64_t end)
{
    double s = 0;
    for (std::uint64_t i = begin; i < end; ++i)
        s += std::sqrt(static_cast<double>(i)) * std::sin(static_cast<double>(i));
    return s;
}

/// 16 million iterations: python_peers.py's 8 tasks of 2,000,000 (times the scale).
std::uint64_t cpu_loop_n() { return std::uint64_t{16'000'000} * scale(); }

void cpu_seq_loop(benchmark::State& state)
{
    timed_sequential(state, "cpu_bound_loop", [] { benchmark::DoNotOptimize(cpu_loop(0, cpu_loop_n())); });
    state.counters["iterations_of_loop"] = static_cast<double>(cpu_loop_n());
}

void cpu_trident_par(benchmark::State& state)
{
    const int p = all_threads();
    const std::uint64_t n = cpu_loop_n();
    const std::uint64_t pieces = 1024; // independent pieces of the loop
    double s = 0;
    timed_parallel(
        state, "cpu_bound_loop", p, std::min<double>(p, pieces),
        [&] {
            // (No DoNotOptimize(s) on the double here: its read-write "+m,r" form made g++ 12
            // at -O3 leave a wrong value in s; the store through the reference is kept anyway.)
            s = trident::map_reduce(
                trident::par, std::views::iota(std::uint64_t{0}, pieces),
                [n, pieces](std::uint64_t k) { return cpu_loop(n * k / pieces, n * (k + 1) / pieces); }, 0.0);
        },
        [n] { benchmark::DoNotOptimize(cpu_loop(0, n)); });
    // Summed in another grouping: equal up to rounding, relative to the sum of the terms' sizes
    // (about n^1.5 * 2/3), not to the (much smaller) sum itself.
    const double expected = cpu_loop(0, n);
    const double magnitude = std::pow(static_cast<double>(n), 1.5);
    if (std::abs(s - expected) > 1e-12 * magnitude)
        state.SkipWithError(("the parallel sum " + std::to_string(s) + " differs from the sequential loop's " +
                             std::to_string(expected))
                                .c_str());
    state.counters["iterations_of_loop"] = static_cast<double>(n);
}

// ---- claim 5: GEMM ------------------------------------------------------------------------------

std::size_t gemm_n() { return std::size_t{512} * (scale() > 1 ? 2 : 1); }

struct matrices {
    std::size_t n;
    std::vector<double> a, b, c;
    explicit matrices(std::size_t size) : n(size), a(size * size), b(size * size), c(size * size)
    {
        for (std::size_t i = 0; i < a.size(); ++i) {
            a[i] = static_cast<double>((i * 7919) % 1000) / 1000.0;
            b[i] = static_cast<double>((i * 104729) % 1000) / 1000.0;
        }
    }
    /// Rows [r0, r1) of C = A x B, i-k-j order (unit stride in the inner loop, which the compiler
    /// vectorises; B streams through the cache once per row).
    void rows(std::size_t r0, std::size_t r1)
    {
        for (std::size_t i = r0; i < r1; ++i) {
            double* ci = &c[i * n];
            std::fill(ci, ci + n, 0.0);
            for (std::size_t k = 0; k < n; ++k) {
                const double aik = a[i * n + k];
                const double* bk = &b[k * n];
                for (std::size_t j = 0; j < n; ++j)
                    ci[j] += aik * bk[j];
            }
        }
    }
};

void gemm_counters(benchmark::State& state, std::size_t n)
{
    state.counters["n"] = static_cast<double>(n);
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n) * static_cast<double>(n) *
                                                       static_cast<double>(n) * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

void gemm_seq_loop(benchmark::State& state)
{
    matrices m(gemm_n());
    timed_sequential(state, "gemm", [&] { m.rows(0, m.n); });
    gemm_counters(state, m.n);
}

void gemm_trident_par(benchmark::State& state)
{
    matrices m(gemm_n());
    const int p = all_threads();
    timed_parallel(
        state, "gemm", p, std::min<double>(p, static_cast<double>(m.n)),
        [&] {
            trident::for_each_index(trident::par.grain(1), (m.n + 7) / 8, [&](std::size_t block) {
                m.rows(block * 8, std::min(m.n, block * 8 + 8));
            });
        },
        [&] { m.rows(0, m.n); });
    matrices reference(m.n);
    reference.rows(0, reference.n);
    if (reference.c != m.c)
        state.SkipWithError("the parallel product differs from the sequential one");
    gemm_counters(state, m.n);
}

// ---- claim 6: Monte Carlo and image processing ---------------------------------------------------

/// splitmix64: a counter-based generator, so every policy draws the same points.
std::uint64_t mix(std::uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

constexpr std::uint64_t mc_batch = 4096;
std::uint64_t mc_batches() { return std::uint64_t{4096} * scale(); }

std::uint64_t mc_hits(std::uint64_t batch)
{
    std::uint64_t hits = 0;
    for (std::uint64_t k = 0; k < mc_batch; ++k) {
        const std::uint64_t r = mix(batch * mc_batch + k);
        const double x = static_cast<double>(r >> 40) / 16777216.0;
        const double y = static_cast<double>(r & 0xFFFFFF) / 16777216.0;
        hits += x * x + y * y <= 1.0 ? 1 : 0;
    }
    return hits;
}

template <class Policy>
std::uint64_t mc_run(const Policy& policy)
{
    return trident::map_reduce(policy, std::views::iota(std::uint64_t{0}, mc_batches()), mc_hits, std::uint64_t{0});
}

std::uint64_t mc_sequential()
{
    std::uint64_t hits = 0;
    for (std::uint64_t b = 0; b < mc_batches(); ++b)
        hits += mc_hits(b);
    return hits;
}

void mc_seq_loop(benchmark::State& state)
{
    std::uint64_t hits = 0;
    timed_sequential(state, "monte_carlo", [&] { hits = mc_sequential(); });
    state.counters["pi"] = 4.0 * static_cast<double>(hits) / static_cast<double>(mc_batches() * mc_batch);
    state.counters["samples"] = static_cast<double>(mc_batches() * mc_batch);
}

void mc_trident_par(benchmark::State& state)
{
    std::uint64_t hits = 0;
    const int p = all_threads();
    timed_parallel(
        state, "monte_carlo", p, std::min<double>(p, static_cast<double>(mc_batches())),
        [&] { hits = mc_run(trident::par); }, [] { benchmark::DoNotOptimize(mc_sequential()); });
    if (hits != mc_run(trident::seq))
        state.SkipWithError("par counted other hits than seq");
    state.counters["pi"] = 4.0 * static_cast<double>(hits) / static_cast<double>(mc_batches() * mc_batch);
}

std::size_t image_side() { return std::size_t{2048} * (scale() > 1 ? 2 : 1); }

struct image {
    std::size_t side;
    std::vector<float> in, out;
    explicit image(std::size_t s) : side(s), in(s * s), out(s * s)
    {
        for (std::size_t i = 0; i < in.size(); ++i)
            in[i] = static_cast<float>(mix(i) & 0xFF);
    }
    /// Row y of the 3x3 box blur (edges clamped).
    void blur_row(std::size_t y)
    {
        const auto clampi = [this](long long v) {
            return static_cast<std::size_t>(std::clamp<long long>(v, 0, static_cast<long long>(side) - 1));
        };
        for (std::size_t x = 0; x < side; ++x) {
            float s = 0;
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx)
                    s += in[clampi(static_cast<long long>(y) + dy) * side + clampi(static_cast<long long>(x) + dx)];
            out[y * side + x] = s / 9.0f;
        }
    }
    void blur_all()
    {
        for (std::size_t y = 0; y < side; ++y)
            blur_row(y);
    }
};

void image_seq_loop(benchmark::State& state)
{
    image img(image_side());
    timed_sequential(state, "image_filter", [&] { img.blur_all(); });
    state.counters["pixels"] = static_cast<double>(img.side * img.side);
}

void image_trident_par(benchmark::State& state)
{
    image img(image_side());
    const int p = all_threads();
    timed_parallel(
        state, "image_filter", p, std::min<double>(p, static_cast<double>(img.side)),
        [&] { trident::for_each_index(trident::par, img.side, [&](std::size_t y) { img.blur_row(y); }); },
        [&] { img.blur_all(); });
    image reference(img.side);
    reference.blur_all();
    if (reference.out != img.out)
        state.SkipWithError("the parallel blur differs from the sequential one");
    state.counters["pixels"] = static_cast<double>(img.side * img.side);
}

} // namespace

BENCHMARK(batches_seq_loop)->Name("lecture_batches/seq_loop")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(batches_trident_par)->Name("lecture_batches/trident_par")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(batches_tbb)->Name("lecture_batches/tbb")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(batches_omp)->Name("lecture_batches/omp")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(cpu_seq_loop)->Name("cpu_bound_loop/seq_loop")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(cpu_trident_par)->Name("cpu_bound_loop/trident_par")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(gemm_seq_loop)->Name("gemm/seq_loop")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(gemm_trident_par)->Name("gemm/trident_par")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(mc_seq_loop)->Name("monte_carlo/seq_loop")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(mc_trident_par)->Name("monte_carlo/trident_par")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(image_seq_loop)->Name("image_filter/seq_loop")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(image_trident_par)->Name("image_filter/trident_par")->UseRealTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv)
{
    // Calibrate the unit of work before anything is timed.
    benchmark::AddCustomContext("lecture_unit_us", std::to_string(unit().unit_seconds * 1e6));
    benchmark::AddCustomContext("lecture_scale", std::to_string(scale()));
    return bench::run_main(argc, argv, "0.2");
}
