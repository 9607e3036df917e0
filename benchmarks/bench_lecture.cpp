// The lecture's data-parallel claims, each as "<workload>/<implementation>" rows that the report
// (benchmarks/report.py, registry benchmarks/claims.py) puts next to the lecture's figure.
//
//   lecture_batches/...   claim 1: 1000 batches of 1 unit each (the lecture: 1000 units
//                         sequentially, 125 units on 8 workers); seq_loop, trident_par, tbb, omp
//   cpu_bound_loop/...    claim 4: the lecture's CPU-bound loop s += sqrt(i) * sin(i), the work it
//                         runs in Python threads (no speedup under the GIL) and processes;
//                         seq_loop, trident_par (benchmarks/python_peers.py adds the Python rows)
//   gemm/...              claim 5: C = A x B for n x n doubles (the lecture's 10000 x 10000 NumPy /
//                         PyTorch example, scaled down); seq_loop (cache-blocked i-k-j loops, block
//                         after block), trident_par, tbb, omp (the same blocks in parallel), GFLOP/s;
//                         the GPU rows (cuBLAS, trident::gpu) are in gpu/bench_gpu_lecture.cu
//   monte_carlo/...       claim 6: pi from random points, trident::map_reduce over batches; tbb, omp
//   image_filter/...      claim 6: 3x3 box blur of a grayscale image, trident::for_each_index; tbb, omp
//
// Every parallel row calls the same non-inlined kernel as its seq_loop row (a batch, a block of
// GEMM rows, a row of the image), so the speedup compares the same machine code run by one worker
// and by many.  Counters on every row: threads; on the parallel rows ideal_speedup (what this
// machine allows: min(threads, independent pieces of work)); the report divides the seq_loop row's
// time by the parallel row's for the measured speedup.  trident_par rows of claims 1, 5 and 6 also
// run at 1, 2, 4, ... workers below all of them ("<workload>/trident_par/workers:k", in a oneTBB
// arena of k): the report's speedup-against-workers sweep.  Sizes and inputs of claims 5 and 6:
// lecture_workloads.hpp.  Scale: the default sizes take 0.02-0.3 s sequentially on one core;
// TRIDENT_LECTURE_SCALE=k (environment) multiplies the work (the report's --full mode).
#include "common.hpp"
#include "lecture_workloads.hpp"
#include "work_units.hpp"

#include <trident/trident.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/task_arena.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using bench::spin;
using bench::unit;
using lecture::scale;

int all_threads() { return tbb::this_task_arena::max_concurrency(); }

/// The workers the suite runs with: TRIDENT_BENCH_THREADS, else oneTBB's default (one per core).
int suite_workers()
{
    const int requested = bench::requested_threads();
    return requested > 0 ? requested : tbb::info::default_concurrency();
}

/// The sequential (seq_loop) time of each workload: set by its seq_loop row, or measured once by
/// the first parallel row that needs it before that (random interleaving may run that row first).
std::map<std::string, double>& sequential_times()
{
    static std::map<std::string, double> times;
    return times;
}

/// The CPU time of the calling thread's sequential runs, beside sequential_times(): explain
/// compares the two (other processes took the difference) and says when the reference is too long.
std::map<std::string, double>& sequential_cpu_times()
{
    static std::map<std::string, double> times;
    return times;
}

/// The calling thread's CPU time in seconds.
double thread_cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// The machine's memory bandwidth in bytes per second: the best of 5 STREAM-style triads
/// (a[i] = b[i] + 3 c[i] on 3 x 32 MiB, counted as 3 x 32 MiB moved) run by trident::par on all
/// the suite's workers; measured once per process, the first time a row asks.
double peak_bytes_per_second()
{
    static const double peak = [] {
        const std::size_t n = std::size_t{4} << 20;
        std::vector<double> a(n), b(n, 1.0), c(n, 2.0);
        double best = 1e300;
        tbb::task_arena(suite_workers()).execute([&] {
            for (int rep = 0; rep < 5; ++rep) {
                const auto t0 = std::chrono::steady_clock::now();
                trident::for_each_index(trident::par, n, [&](std::size_t i) { a[i] = b[i] + 3.0 * c[i]; });
                best = std::min(best, bench::seconds_since(t0));
            }
        });
        benchmark::DoNotOptimize(a.data());
        return 3.0 * static_cast<double>(n * sizeof(double)) / best;
    }();
    return peak;
}

/// A seq_loop row: times `body()` per iteration.
template <class Body>
void timed_sequential(benchmark::State& state, const std::string& workload, Body&& body)
{
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = thread_cpu_seconds();
    for (auto _ : state)
        body();
    sequential_times()[workload] = bench::seconds_since(t0) / static_cast<double>(state.iterations());
    sequential_cpu_times()[workload] = (thread_cpu_seconds() - cpu0) / static_cast<double>(state.iterations());
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

/// What a trident_par row tells explain besides the recording: the bytes one call moves through
/// memory (then explain compares bytes / time with the measured peak bandwidth).
struct explain_hints {
    std::optional<double> bytes;
};

/// A parallel row: times `body()` per iteration and sets threads and the ideal speedup on this
/// machine (the report divides the seq_loop row's time by this row's for the measured speedup).
/// It then runs body() again under trident::explain (once per process and worker count: the median
/// of 3 regions of about 0.1 s), told the sequential time and its CPU time (and the bytes and peak bandwidth, with hints.bytes), and takes the
/// sentence explain gives (why the speedup falls short of the worker count, from the recorded busy
/// and idle times) as the row's label: the report's "why" column.
template <class Body, class Sequential>
void timed_parallel(benchmark::State& state, const std::string& workload, int threads, double ideal, Body&& body,
                    Sequential&& sequential_body, explain_hints hints = {})
{
    for (auto _ : state)
        body();
    state.counters["threads"] = threads;
    state.counters["ideal_speedup"] = ideal;
    trident::explain_options options;
    auto& times = sequential_times();
    if (times.find(workload) == times.end()) {
        const auto t0 = std::chrono::steady_clock::now();
        const double cpu0 = thread_cpu_seconds();
        sequential_body();
        times[workload] = bench::seconds_since(t0);
        sequential_cpu_times()[workload] = thread_cpu_seconds() - cpu0;
    }
    // Each region explained makes enough calls to last about 0.1 s (one call of a few ms is at
    // the mercy of a single preemption); the sequential reference scales with them.
    const int calls = static_cast<int>(std::clamp(std::ceil(0.1 / std::max(times[workload], 1e-9)), 1.0, 100.0));
    options.sequential_seconds = times[workload] * calls;
    options.sequential_cpu_seconds = std::min(sequential_cpu_times()[workload], times[workload]) * calls;
    options.workers = threads;
    if (hints.bytes) {
        options.bytes = *hints.bytes * calls;
        options.peak_bytes_per_second = peak_bytes_per_second();
    }
    // Explained once per process and worker count, so that every repetition carries the same label
    // (the report reads it from the repetitions: Google Benchmark's aggregates carry no label).
    static std::map<std::string, trident::explanation> explained;
    const std::string key = workload + "/" + std::to_string(threads);
    auto it = explained.find(key);
    if (it == explained.end()) {
        // Three regions; the one with the median wall time speaks (one disturbed region does not).
        std::vector<trident::explanation> runs;
        for (int run = 0; run < 3; ++run)
            runs.push_back(trident::explain(
                [&] {
                    for (int call = 0; call < calls; ++call)
                        body();
                },
                options));
        std::sort(runs.begin(), runs.end(), [](const auto& x, const auto& y) { return x.wall_seconds < y.wall_seconds; });
        it = explained.emplace(key, std::move(runs[1])).first;
    }
    state.counters["explain_serial_fraction"] = it->second.serial_fraction;
    state.counters["explain_predicted_speedup"] = it->second.predicted_speedup;
    if (it->second.bandwidth_fraction)
        state.counters["explain_bandwidth_fraction"] = *it->second.bandwidth_fraction;
    // The busy machine (explain/cpu_time.hpp): the report says such a row cannot be trusted.
    if (it->second.cpu.measured)
        state.counters["explain_other_processes"] = it->second.cpu.other_processes_fraction;
    if (it->second.cpu.sequential_off_cpu_fraction)
        state.counters["explain_sequential_off_cpu"] = *it->second.cpu.sequential_off_cpu_fraction;
    state.SetLabel(it->second.why());
}

// ---- claim 1: 1000 batches of 1 unit ------------------------------------------------------------

constexpr std::size_t lecture_batch_count = 1000;

[[gnu::noinline]] std::uint64_t batch_work(std::size_t i) { return spin(i + 1, unit().steps_per_unit * scale()); }

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
[[gnu::noinline]] double cpu_loop(std::uint64_t begin, std::uint64_t end)
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

using matrices = lecture::gemm_matrices;

void gemm_counters(benchmark::State& state, std::size_t n)
{
    state.counters["n"] = static_cast<double>(n);
    state.counters["GFLOP/s"] =
        benchmark::Counter(lecture::gemm_flops(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void check_gemm(benchmark::State& state, const matrices& m)
{
    matrices reference(m.n);
    reference.all_blocks();
    if (reference.c != m.c)
        state.SkipWithError("the parallel product differs from the sequential one");
    gemm_counters(state, m.n);
}

void gemm_seq_loop(benchmark::State& state)
{
    matrices m(lecture::gemm_n());
    timed_sequential(state, "gemm", [&] { m.all_blocks(); });
    gemm_counters(state, m.n);
}

void gemm_trident_par(benchmark::State& state)
{
    matrices m(lecture::gemm_n());
    const int p = all_threads();
    timed_parallel(
        state, "gemm", p, std::min<double>(p, static_cast<double>(m.blocks())),
        [&] { trident::for_each_index(trident::par.grain(1), m.blocks(), [&](std::size_t b) { m.block_of_rows(b); }); },
        [&] { m.all_blocks(); });
    check_gemm(state, m);
}

void gemm_tbb(benchmark::State& state)
{
    matrices m(lecture::gemm_n());
    const int p = all_threads();
    timed_peer(state, p, std::min<double>(p, static_cast<double>(m.blocks())), [&] {
        tbb::parallel_for(std::size_t{0}, m.blocks(), [&](std::size_t b) { m.block_of_rows(b); });
    });
    check_gemm(state, m);
}

void gemm_omp(benchmark::State& state)
{
    matrices m(lecture::gemm_n());
    const int p = omp_get_max_threads();
    timed_peer(state, p, std::min<double>(p, static_cast<double>(m.blocks())), [&] {
        const auto blocks = static_cast<long long>(m.blocks());
#pragma omp parallel for schedule(dynamic, 1)
        for (long long b = 0; b < blocks; ++b)
            m.block_of_rows(static_cast<std::size_t>(b));
    });
    check_gemm(state, m);
}

// ---- claim 6: Monte Carlo and image processing ---------------------------------------------------

/// Points of one batch (a task) inside the quarter circle.
[[gnu::noinline]] std::uint64_t mc_hits(std::uint64_t batch)
{
    std::uint64_t hits = 0;
    for (std::uint64_t k = 0; k < lecture::mc_batch; ++k)
        hits += lecture::mc_point_inside(batch * lecture::mc_batch + k) ? 1 : 0;
    return hits;
}

template <class Policy>
std::uint64_t mc_run(const Policy& policy)
{
    return trident::map_reduce(policy, std::views::iota(std::uint64_t{0}, lecture::mc_batches()), mc_hits,
                               std::uint64_t{0});
}

std::uint64_t mc_sequential()
{
    std::uint64_t hits = 0;
    for (std::uint64_t b = 0; b < lecture::mc_batches(); ++b)
        hits += mc_hits(b);
    return hits;
}

void mc_counters(benchmark::State& state, std::uint64_t hits)
{
    const auto samples = static_cast<double>(lecture::mc_batches() * lecture::mc_batch);
    state.counters["pi"] = 4.0 * static_cast<double>(hits) / samples;
    state.counters["samples"] = samples;
}

void check_mc(benchmark::State& state, std::uint64_t hits)
{
    if (hits != mc_run(trident::seq))
        state.SkipWithError("the parallel run counted other hits than the sequential one");
    mc_counters(state, hits);
}

void mc_seq_loop(benchmark::State& state)
{
    std::uint64_t hits = 0;
    timed_sequential(state, "monte_carlo", [&] { hits = mc_sequential(); });
    mc_counters(state, hits);
}

void mc_trident_par(benchmark::State& state)
{
    std::uint64_t hits = 0;
    const int p = all_threads();
    timed_parallel(
        state, "monte_carlo", p, std::min<double>(p, static_cast<double>(lecture::mc_batches())),
        [&] { hits = mc_run(trident::par); }, [] { benchmark::DoNotOptimize(mc_sequential()); });
    check_mc(state, hits);
}

void mc_tbb(benchmark::State& state)
{
    std::uint64_t hits = 0;
    const int p = all_threads();
    timed_peer(state, p, std::min<double>(p, static_cast<double>(lecture::mc_batches())), [&] {
        hits = tbb::parallel_reduce(
            tbb::blocked_range<std::uint64_t>(0, lecture::mc_batches()), std::uint64_t{0},
            [](const tbb::blocked_range<std::uint64_t>& r, std::uint64_t acc) {
                for (std::uint64_t b = r.begin(); b < r.end(); ++b)
                    acc += mc_hits(b);
                return acc;
            },
            std::plus<>());
    });
    check_mc(state, hits);
}

void mc_omp(benchmark::State& state)
{
    std::uint64_t hits = 0;
    const int p = omp_get_max_threads();
    timed_peer(state, p, std::min<double>(p, static_cast<double>(lecture::mc_batches())), [&] {
        const auto batches = static_cast<long long>(lecture::mc_batches());
        std::uint64_t sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
        for (long long b = 0; b < batches; ++b)
            sum += mc_hits(static_cast<std::uint64_t>(b));
        hits = sum;
    });
    check_mc(state, hits);
}

struct image {
    std::size_t side;
    std::vector<float> in, out;
    explicit image(std::size_t s) : side(s), in(s * s), out(s * s)
    {
        for (std::size_t i = 0; i < in.size(); ++i)
            in[i] = lecture::image_pixel(i);
    }
    /// Row y of the 3x3 box blur (edges clamped).
    [[gnu::noinline]] void blur_row(std::size_t y)
    {
        for (std::size_t x = 0; x < side; ++x)
            out[y * side + x] = lecture::blur_pixel(in.data(), side, x, y);
    }
    void blur_all()
    {
        for (std::size_t y = 0; y < side; ++y)
            blur_row(y);
    }
    /// Bytes one filter pass moves through memory: the image read and the result written.
    double bytes() const { return 2.0 * static_cast<double>(side * side * sizeof(float)); }
};

void check_image(benchmark::State& state, const image& img)
{
    image reference(img.side);
    reference.blur_all();
    if (reference.out != img.out)
        state.SkipWithError("the parallel blur differs from the sequential one");
    state.counters["pixels"] = static_cast<double>(img.side * img.side);
}

void image_seq_loop(benchmark::State& state)
{
    image img(lecture::image_side());
    timed_sequential(state, "image_filter", [&] { img.blur_all(); });
    state.counters["pixels"] = static_cast<double>(img.side * img.side);
}

void image_trident_par(benchmark::State& state)
{
    image img(lecture::image_side());
    const int p = all_threads();
    timed_parallel(
        state, "image_filter", p, std::min<double>(p, static_cast<double>(img.side)),
        [&] { trident::for_each_index(trident::par, img.side, [&](std::size_t y) { img.blur_row(y); }); },
        [&] { img.blur_all(); }, explain_hints{img.bytes()});
    check_image(state, img);
}

void image_tbb(benchmark::State& state)
{
    image img(lecture::image_side());
    const int p = all_threads();
    timed_peer(state, p, std::min<double>(p, static_cast<double>(img.side)),
               [&] { tbb::parallel_for(std::size_t{0}, img.side, [&](std::size_t y) { img.blur_row(y); }); });
    check_image(state, img);
}

void image_omp(benchmark::State& state)
{
    image img(lecture::image_side());
    const int p = omp_get_max_threads();
    timed_peer(state, p, std::min<double>(p, static_cast<double>(img.side)), [&] {
        const auto rows = static_cast<long long>(img.side);
#pragma omp parallel for schedule(static)
        for (long long y = 0; y < rows; ++y)
            img.blur_row(static_cast<std::size_t>(y));
    });
    check_image(state, img);
}

/// "<workload>/trident_par/workers:k": the trident_par row run in a oneTBB arena of k workers.
void register_sweep(const char* workload, void (*row)(benchmark::State&), int workers)
{
    const std::string name = std::string(workload) + "/trident_par/workers:" + std::to_string(workers);
    benchmark::RegisterBenchmark(name.c_str(),
                                 [row, workers](benchmark::State& state) {
                                     tbb::task_arena arena(workers);
                                     arena.execute([&] { row(state); });
                                 })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
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
BENCHMARK(gemm_tbb)->Name("gemm/tbb")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(gemm_omp)->Name("gemm/omp")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(mc_seq_loop)->Name("monte_carlo/seq_loop")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(mc_trident_par)->Name("monte_carlo/trident_par")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(mc_tbb)->Name("monte_carlo/tbb")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(mc_omp)->Name("monte_carlo/omp")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(image_seq_loop)->Name("image_filter/seq_loop")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(image_trident_par)->Name("image_filter/trident_par")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(image_tbb)->Name("image_filter/tbb")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(image_omp)->Name("image_filter/omp")->UseRealTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv)
{
    // The sweep's worker counts: 1, 2, 4, ... below the workers the suite runs with
    // (TRIDENT_BENCH_THREADS, else oneTBB's default: one per core); the full count is the plain row.
    for (int k = 1; k < suite_workers(); k *= 2) {
        register_sweep("lecture_batches", batches_trident_par, k);
        register_sweep("gemm", gemm_trident_par, k);
        register_sweep("monte_carlo", mc_trident_par, k);
        register_sweep("image_filter", image_trident_par, k);
    }
    // Calibrate the unit of work before anything is timed.
    benchmark::AddCustomContext("lecture_unit_us", std::to_string(unit().unit_seconds * 1e6));
    benchmark::AddCustomContext("lecture_scale", std::to_string(scale()));
    return bench::run_main(argc, argv, "0.2");
}
