// GPU rows of the lecture's data-parallel claims 5 and 6, beside the CPU rows of
// benchmarks/bench_lecture.cpp: the same workloads, sizes and inputs (benchmarks/lecture_workloads.hpp,
// TRIDENT_LECTURE_SCALE included), so that the report (benchmarks/report.py) can divide the
// seq_loop row's time by these.  Linked into trident_bench_gpu (bench_gpu.cu holds main, which
// says "no GPU" and exits 0 on a machine without one; nothing here touches CUDA before a
// benchmark runs).
//
//   gemm/cublas               C = A x B on n x n row-major doubles: cublasDgemm (cuBLAS is
//                             column-major, so it computes C^T = B^T A^T, which is C in row-major)
//   gemm/trident_gemm_gpu     the same product with trident::gemm(trident::gpu.stream(s)): one
//                             cublasDgemm through trident, timed by events on s
//   gemm/trident_gpu          the same product with trident::for_each_index(trident::gpu, n * n, ...):
//                             one thread per element of C, a plain loop over k (no tiling, no shared
//                             memory: what trident's data-parallel primitive gives; gemm/cublas shows
//                             what a tuned GEMM kernel adds)
//   monte_carlo/trident_gpu   pi from mc_batches() x mc_batch points: trident::map_reduce on the GPU
//                             over pieces of mc_piece points each (one element per piece; see below)
//   image_filter/trident_gpu  3x3 box blur, edges clamped: trident::for_each_index(trident::gpu,
//                             side * side, ...), one thread per pixel
//
// What is timed: the computation on data already in GPU memory.  The inputs are uploaded once
// (trident::device_vector), outside the timed loop, and the results stay on the device; the cuBLAS
// handle is created once per run, outside the timing.  That is the fair comparison with cuBLAS
// and with the CPU rows, whose data are in RAM; what moving data over PCIe costs is measured on
// its own by gpu_host_map_f32 (bench_gpu.cu).  Every iteration is timed with CUDA events on the
// default stream (UseManualTime): trident's calls return once their result is ready, and the stop
// event of the cuBLAS row waits for the product on the stream cuBLAS runs on (the default one).
//
// Checked once per run, before the timed loop (a warm-up that also loads the kernels and lets
// cuBLAS allocate its workspace), against the host: the Monte Carlo hits exactly equal; the blurred
// image bit-identical (sums of at most nine integers 0..255 are exact in float and the division
// by 9.0f is IEEE-rounded on the device as on the host); the products within a relative 1e-11 of
// a host product (cuBLAS and the FMAs reorder and round the sums differently; the bound for sums of
// n non-negative terms is about n x 1.1e-16).  The outputs start as NaN, so an element a kernel
// never writes fails the check.  A mismatch skips the row with an error naming it.  The host
// references are computed once per process.
//
// The Monte Carlo range: CUB's reduction (under trident::map_reduce) hands each GPU thread several
// consecutive elements, so mapping over the 4096 batches of 4096 points (as the CPU rows do) would
// give the GPU only a few thread blocks, each thread looping over tens of thousands of points.  The
// mapped range is instead one element per piece of mc_piece consecutive points (about 2M elements
// at the default scale, enough to fill an H100), each element the piece's index, in a
// device_vector<uint32_t> filled once outside the timing: the GPU backend takes contiguous ranges
// only, not the std::views::iota the CPU rows map over.  The hits are integers, so the grouping
// does not change the count.
//
// Counters: n and GFLOP/s (2 n^3 / time) on the gemm rows; pi and samples on monte_carlo; pixels
// on image_filter: as on the CPU rows.

#include "trident/trident.hpp"

#include "gpu_timing.cuh"
#include "lecture_workloads.hpp"

#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace {

using bench_gpu::check;
using bench_gpu::event_timer;

void check(cublasStatus_t s, const char* what)
{
    if (s != CUBLAS_STATUS_SUCCESS) {
        std::fprintf(stderr, "trident_bench_gpu: %s failed: %s\n", what, cublasGetStatusString(s));
        std::exit(1);
    }
}

/// One cuBLAS handle (on the current device, the default stream).
class cublas_handle {
public:
    cublas_handle() { check(cublasCreate(&handle_), "cublasCreate"); }
    cublas_handle(const cublas_handle&) = delete;
    cublas_handle& operator=(const cublas_handle&) = delete;
    ~cublas_handle() { cublasDestroy(handle_); }
    [[nodiscard]] cublasHandle_t get() const noexcept { return handle_; }

private:
    cublasHandle_t handle_{};
};

// ---- claim 5: GEMM ------------------------------------------------------------------------------

/// C = A x B on the host, the seq_loop row's own product: the reference, computed once.
const lecture::gemm_matrices& gemm_reference()
{
    static const lecture::gemm_matrices m = [] {
        lecture::gemm_matrices product(lecture::gemm_n());
        product.all_blocks();
        return product;
    }();
    return m;
}

/// The inputs on the device and the output, NaN until a product is written.
struct gemm_data {
    std::size_t n;
    trident::device_vector<double> a, b, c;

    explicit gemm_data(const lecture::gemm_matrices& host)
        : n(host.n), a(host.a), b(host.b), c(host.n * host.n, std::numeric_limits<double>::quiet_NaN())
    {
    }
};

/// Whether the device's C matches the host product (relative 1e-11); skips `row` with an error if not.
bool gemm_matches(benchmark::State& state, const gemm_data& d, const char* row)
{
    const std::vector<double> c = d.c.to_host();
    const std::vector<double>& expected = gemm_reference().c;
    for (std::size_t i = 0; i < c.size(); ++i) {
        if (!(std::abs(c[i] - expected[i]) <= 1e-11 * std::abs(expected[i]))) {
            char values[96];
            std::snprintf(values, sizeof values, "%.17g, the host product's %.17g", c[i], expected[i]);
            state.SkipWithError((std::string(row) + ": C[" + std::to_string(i / d.n) + "][" + std::to_string(i % d.n) +
                                 "] = " + values)
                                    .c_str());
            return false;
        }
    }
    return true;
}

void gemm_counters(benchmark::State& state, std::size_t n)
{
    state.counters["n"] = static_cast<double>(n);
    state.counters["GFLOP/s"] =
        benchmark::Counter(lecture::gemm_flops(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

/// Row-major C = A x B as cuBLAS (column-major) sees it: the arrays are B^T, A^T and C^T, and
/// C^T = B^T A^T, so B comes first.
void gemm_cublas_once(const cublas_handle& handle, gemm_data& d)
{
    const int n = static_cast<int>(d.n);
    const double one = 1.0, zero = 0.0;
    check(cublasDgemm(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, d.b.data(), n, d.a.data(), n, &zero,
                      d.c.data(), n),
          "cublasDgemm");
}

void gemm_cublas(benchmark::State& state)
{
    gemm_data d(gemm_reference());
    const cublas_handle handle;
    gemm_cublas_once(handle, d);
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    if (!gemm_matches(state, d, "gemm/cublas"))
        return;
    event_timer t;
    for (auto _ : state) {
        t.start();
        gemm_cublas_once(handle, d);
        state.SetIterationTime(t.stop());
    }
    gemm_counters(state, d.n);
}

/// C = A x B with trident::gemm(gpu) (one cublasDgemm through trident) on a stream of its own, timed
/// by events on that stream as the cuBLAS row is on its own: the two rows differ only by what
/// trident adds around the call (the row is the target "within 5% of cuBLAS").
void gemm_trident_gemm_gpu(benchmark::State& state)
{
    gemm_data d(gemm_reference());
    cudaStream_t s{};
    check(cudaStreamCreate(&s), "cudaStreamCreate");
    const auto policy = trident::gpu.stream(s);
    const std::size_t n = d.n;
    auto once = [&] {
        trident::gemm(policy, trident::matrix_view<const double>(d.a.data(), n, n),
                      trident::matrix_view<const double>(d.b.data(), n, n), trident::matrix_view<double>(d.c.data(), n, n));
    };
    once();
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    if (gemm_matches(state, d, "gemm/trident_gemm_gpu")) {
        cudaEvent_t start{}, stop{};
        check(cudaEventCreate(&start), "cudaEventCreate");
        check(cudaEventCreate(&stop), "cudaEventCreate");
        for (auto _ : state) {
            check(cudaEventRecord(start, s), "cudaEventRecord");
            once();
            check(cudaEventRecord(stop, s), "cudaEventRecord");
            check(cudaEventSynchronize(stop), "cudaEventSynchronize");
            float ms = 0;
            check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
            state.SetIterationTime(ms / 1e3);
        }
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
        gemm_counters(state, d.n);
    }
    cudaStreamDestroy(s);
}

/// C = A x B with trident's GPU for_each_index: element e = (i, j) of C is one index.
void gemm_trident_once(gemm_data& d)
{
    const std::size_t n = d.n;
    const trident::device_span<const double> a = d.a.span(), b = d.b.span();
    const trident::device_span<double> c = d.c.span();
    trident::for_each_index(trident::gpu, n * n, TRIDENT_LAMBDA(std::size_t e) {
        const std::size_t i = e / n, j = e % n;
        double s = 0.0;
        for (std::size_t k = 0; k < n; ++k)
            s += a[i * n + k] * b[k * n + j];
        c[e] = s;
    });
}

void gemm_trident_gpu(benchmark::State& state)
{
    gemm_data d(gemm_reference());
    gemm_trident_once(d);
    if (!gemm_matches(state, d, "gemm/trident_gpu"))
        return;
    event_timer t;
    for (auto _ : state) {
        t.start();
        gemm_trident_once(d);
        state.SetIterationTime(t.stop());
    }
    gemm_counters(state, d.n);
}

// ---- claim 6: Monte Carlo -------------------------------------------------------------------------

/// Points per element of the mapped range (a divisor of mc_batch, so that the pieces tile the batches).
constexpr std::uint64_t mc_piece = 8;
static_assert(lecture::mc_batch % mc_piece == 0, "mc_piece must divide mc_batch");

std::uint64_t mc_points() { return lecture::mc_batches() * lecture::mc_batch; }

/// Hits among all the points, counted on the host once: the reference.
std::uint64_t mc_reference_hits()
{
    static const std::uint64_t hits = [] {
        std::uint64_t h = 0;
        for (std::uint64_t k = 0; k < mc_points(); ++k)
            h += lecture::mc_point_inside(k) ? 1 : 0;
        return h;
    }();
    return hits;
}

std::uint64_t mc_trident_once(const trident::device_vector<std::uint32_t>& pieces)
{
    return trident::map_reduce(
        trident::gpu, pieces,
        TRIDENT_LAMBDA(std::uint32_t piece)->std::uint64_t {
            const std::uint64_t first = std::uint64_t{piece} * mc_piece;
            std::uint64_t hits = 0;
            for (std::uint64_t k = first; k < first + mc_piece; ++k)
                hits += lecture::mc_point_inside(k) ? 1 : 0;
            return hits;
        },
        std::uint64_t{0});
}

void mc_trident_gpu(benchmark::State& state)
{
    const std::uint64_t count = mc_points() / mc_piece;
    if (count > std::numeric_limits<std::uint32_t>::max()) {
        state.SkipWithError("monte_carlo/trident_gpu: too many pieces for 32-bit indices (TRIDENT_LECTURE_SCALE too large)");
        return;
    }
    std::vector<std::uint32_t> host(static_cast<std::size_t>(count));
    std::iota(host.begin(), host.end(), std::uint32_t{0});
    const trident::device_vector<std::uint32_t> pieces(host);

    std::uint64_t hits = mc_trident_once(pieces);
    if (hits != mc_reference_hits()) {
        state.SkipWithError(("monte_carlo/trident_gpu: " + std::to_string(hits) + " hits, the host counts " +
                             std::to_string(mc_reference_hits()))
                                .c_str());
        return;
    }
    event_timer t;
    for (auto _ : state) {
        t.start();
        hits = mc_trident_once(pieces);
        state.SetIterationTime(t.stop());
        benchmark::DoNotOptimize(hits);
    }
    state.counters["pi"] = 4.0 * static_cast<double>(hits) / static_cast<double>(mc_points());
    state.counters["samples"] = static_cast<double>(mc_points());
}

// ---- claim 6: image filter ------------------------------------------------------------------------

std::vector<float> image_input(std::size_t side)
{
    std::vector<float> in(side * side);
    for (std::size_t i = 0; i < in.size(); ++i)
        in[i] = lecture::image_pixel(i);
    return in;
}

/// The blurred image on the host, computed once: the reference.
const std::vector<float>& image_reference()
{
    static const std::vector<float> out = [] {
        const std::size_t side = lecture::image_side();
        const std::vector<float> in = image_input(side);
        std::vector<float> o(in.size());
        for (std::size_t y = 0; y < side; ++y)
            for (std::size_t x = 0; x < side; ++x)
                o[y * side + x] = lecture::blur_pixel(in.data(), side, x, y);
        return o;
    }();
    return out;
}

/// The blur with trident's GPU for_each_index, one index per pixel (32-bit arithmetic for the
/// pixel's coordinates: a 64-bit division costs the GPU several times more).
void image_trident_once(std::uint32_t side, trident::device_span<const float> in, trident::device_span<float> out)
{
    trident::for_each_index(trident::gpu, std::size_t{side} * side, TRIDENT_LAMBDA(std::size_t e) {
        const auto p = static_cast<std::uint32_t>(e);
        out[e] = lecture::blur_pixel(in.data(), side, p % side, p / side);
    });
}

void image_trident_gpu(benchmark::State& state)
{
    const std::size_t side = lecture::image_side();
    if (side * side > std::numeric_limits<std::uint32_t>::max()) {
        state.SkipWithError("image_filter/trident_gpu: too many pixels for 32-bit indices (TRIDENT_LECTURE_SCALE too large)");
        return;
    }
    const auto side32 = static_cast<std::uint32_t>(side);
    const trident::device_vector<float> in(image_input(side));
    trident::device_vector<float> out(side * side, std::numeric_limits<float>::quiet_NaN());

    image_trident_once(side32, in.span(), out.span());
    const std::vector<float> result = out.to_host();
    const std::vector<float>& expected = image_reference();
    for (std::size_t i = 0; i < result.size(); ++i) {
        // Bit-identical (NaN, an unwritten pixel, differs from everything).
        if (!(result[i] == expected[i])) {
            state.SkipWithError(("image_filter/trident_gpu: pixel (" + std::to_string(i % side) + ", " +
                                 std::to_string(i / side) + ") = " + std::to_string(result[i]) +
                                 " differs from the host's " + std::to_string(expected[i]))
                                    .c_str());
            return;
        }
    }
    event_timer t;
    for (auto _ : state) {
        t.start();
        image_trident_once(side32, in.span(), out.span());
        state.SetIterationTime(t.stop());
    }
    state.counters["pixels"] = static_cast<double>(side * side);
}

} // namespace

BENCHMARK(gemm_cublas)->Name("gemm/cublas")->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(gemm_trident_gpu)->Name("gemm/trident_gpu")->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(gemm_trident_gemm_gpu)->Name("gemm/trident_gemm_gpu")->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(mc_trident_gpu)->Name("monte_carlo/trident_gpu")->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(image_trident_gpu)->Name("image_filter/trident_gpu")->UseManualTime()->Unit(benchmark::kMillisecond);
