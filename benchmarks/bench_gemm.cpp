// trident::gemm against the BLAS called directly, a threaded OpenBLAS and the machine's peak.
//
//   sgemm/..., dgemm/...   C = A B on n x n floats / doubles (n = 1024, 2048 when scaled)
//   dense_forward/...      a dense layer's forward product: (256 x 1024) x (1024 x 4096) floats,
//                          the mp::dense(1024, 4096) on a micro-batch of 256 rows
//   dense_forward_16rows/...  the same on 16 rows of 4096 inputs: (16 x 4096) x (4096 x 4096)
//                          floats, a tall-skinny product (par cuts only its columns)
//   gemm/...               claim 5's workload (n x n doubles, lecture_workloads.hpp), rows added to
//                          bench_lecture.cpp's: blas, trident_gemm_par, openblas_threads,
//                          machine_peak (python_peers.py adds numpy, the lecture's np.dot)
//
// Implementations:
//   blas                  one call of the BLAS trident links (BLIS without threads), made here
//                         directly (sgemm_ / dgemm_): the BLAS called directly
//   trident_seq           trident::gemm(seq): the same one call through trident
//   trident_par_1thread   trident::gemm(par.threads(1)): par's tiles, one after another (what the
//                         tiling costs against one call)
//   trident_par           trident::gemm(par) on all the suite's workers
//   openblas_threads      the threaded OpenBLAS (Debian's libopenblas0-pthread) on as many threads,
//                         cblas_sgemm / cblas_dgemm, loaded by path with dlopen (RTLD_DEEPBIND: its
//                         own symbols first, not the linked BLIS's); skipped with a message when the
//                         library is not installed (scripts/install-deps.sh installs it)
//   machine_peak          no product: as many flops as the product has, done as independent
//                         fused multiply-adds on registers by every worker (AVX-512 where the CPU
//                         has it, else AVX2 + FMA), so its GFLOP/s is the measured peak of the
//                         machine in that precision; x86-64 only
//
// Every row has the counter GFLOP/s (2 m n k per iteration) and threads; every product is checked
// once against trident::gemm(seq) (a row that differs beyond rounding reports an error).
#include "common.hpp"
#include "lecture_workloads.hpp"

#include <trident/trident.hpp>

#include <oneapi/tbb/task_arena.h>

#include <dlfcn.h>

#if defined(__x86_64__)
#  include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

extern "C" {
// The BLAS trident links, called directly (Fortran interface; trailing: the CHARACTER lengths).
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
            const float*, const int*, const float*, float*, const int*, std::size_t, std::size_t);
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*, std::size_t, std::size_t);
}

namespace {

int all_threads() { return tbb::this_task_arena::max_concurrency(); }

/// One product of the benchmark: C (m x n) = A (m x k) B (k x n), row-major, contiguous.
template <class T>
struct problem {
    std::size_t m, n, k;
    std::vector<T> a, b, c;
    problem(std::size_t rows, std::size_t cols, std::size_t inner)
        : m(rows), n(cols), k(inner), a(rows * inner), b(inner * cols), c(rows * cols)
    {
        for (std::size_t i = 0; i < a.size(); ++i)
            a[i] = static_cast<T>(lecture::gemm_a(i));
        for (std::size_t i = 0; i < b.size(); ++i)
            b[i] = static_cast<T>(lecture::gemm_b(i));
    }
    double flops() const { return 2.0 * double(m) * double(n) * double(k); }
    trident::matrix_view<const T> A() const { return {a.data(), m, k}; }
    trident::matrix_view<const T> B() const { return {b.data(), k, n}; }
    trident::matrix_view<T> C() { return {c.data(), m, n}; }
};

/// The BLAS called directly: row-major C = A B as column-major C^T = B^T A^T.
template <class T>
void blas_direct(problem<T>& p)
{
    const int m = int(p.n), n = int(p.m), k = int(p.k), lda = int(p.n), ldb = int(p.k), ldc = int(p.n);
    const T one = 1, zero = 0;
    if constexpr (std::is_same_v<T, float>)
        sgemm_("N", "N", &m, &n, &k, &one, p.b.data(), &lda, p.a.data(), &ldb, &zero, p.c.data(), &ldc, 1, 1);
    else
        dgemm_("N", "N", &m, &n, &k, &one, p.b.data(), &lda, p.a.data(), &ldb, &zero, p.c.data(), &ldc, 1, 1);
}

/// The threaded OpenBLAS, loaded once by path.
struct threaded_openblas {
    using sgemm_t = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
    using dgemm_t = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double,
                             double*, int);
    sgemm_t sgemm = nullptr;
    dgemm_t dgemm = nullptr;
    void (*set_num_threads)(int) = nullptr;
    std::string error; // why it is not available ("" when it is)

    static const threaded_openblas& get()
    {
        static const threaded_openblas lib = [] {
            threaded_openblas l;
            const char* paths[] = {
                "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",  // Debian, Ubuntu
                "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
                "/usr/lib64/libopenblasp.so.0",                                 // Fedora's pthread build
            };
            void* handle = nullptr;
            for (const char* path : paths)
                if ((handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND)) != nullptr)
                    break;
            if (handle == nullptr) {
                l.error = "the threaded OpenBLAS is not installed (Debian: libopenblas0-pthread; "
                          "scripts/install-deps.sh)";
                return l;
            }
            l.sgemm = reinterpret_cast<sgemm_t>(dlsym(handle, "cblas_sgemm"));
            l.dgemm = reinterpret_cast<dgemm_t>(dlsym(handle, "cblas_dgemm"));
            l.set_num_threads = reinterpret_cast<void (*)(int)>(dlsym(handle, "openblas_set_num_threads"));
            if (!l.sgemm || !l.dgemm || !l.set_num_threads)
                l.error = "the threaded OpenBLAS lacks cblas_sgemm, cblas_dgemm or openblas_set_num_threads";
            return l;
        }();
        return lib;
    }

    template <class T>
    void run(problem<T>& p) const
    {
        constexpr int row_major = 101, no_trans = 111; // CblasRowMajor, CblasNoTrans
        const int m = int(p.m), n = int(p.n), k = int(p.k);
        if constexpr (std::is_same_v<T, float>)
            sgemm(row_major, no_trans, no_trans, m, n, k, 1.0f, p.a.data(), k, p.b.data(), n, 0.0f, p.c.data(), n);
        else
            dgemm(row_major, no_trans, no_trans, m, n, k, 1.0, p.a.data(), k, p.b.data(), n, 0.0, p.c.data(), n);
    }
};

/// Checks p.c against trident::gemm(seq) within a relative 1e-4 (float) / 1e-10 (double) of the
/// largest element: different blockings round differently, a wrong product is off by far more.
template <class T>
bool product_ok(benchmark::State& state, const problem<T>& p, const char* row)
{
    problem<T> reference(p.m, p.n, p.k);
    trident::gemm(trident::seq, reference.A(), reference.B(), reference.C());
    double scale = 0, worst = 0;
    for (std::size_t i = 0; i < p.c.size(); ++i) {
        scale = std::max(scale, std::fabs(double(reference.c[i])));
        worst = std::max(worst, std::fabs(double(p.c[i]) - double(reference.c[i])));
    }
    const double tolerance = std::is_same_v<T, float> ? 1e-4 : 1e-10;
    if (!(worst <= tolerance * scale)) {
        state.SkipWithError((std::string(row) + ": the product differs from trident::gemm(seq)").c_str());
        return false;
    }
    return true;
}

/// threads and GFLOP/s; on the rows with more than one thread, ideal_speedup: the thread count (the
/// report's ideal for a row against one call of the serial BLAS).
template <class T>
void counters(benchmark::State& state, const problem<T>& p, int threads)
{
    state.counters["threads"] = threads;
    if (threads > 1)
        state.counters["ideal_speedup"] = threads;
    state.counters["GFLOP/s"] = benchmark::Counter(p.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

enum class impl { blas, trident_seq, trident_par_1thread, trident_par, openblas_threads };

template <class T, impl I>
void run_product(benchmark::State& state, std::size_t m, std::size_t n, std::size_t k, const char* row)
{
    problem<T> p(m, n, k);
    int threads = 1;
    auto once = [&] {
        if constexpr (I == impl::blas)
            blas_direct(p);
        else if constexpr (I == impl::trident_seq)
            trident::gemm(trident::seq, p.A(), p.B(), p.C());
        else if constexpr (I == impl::trident_par_1thread)
            trident::gemm(trident::par.threads(1), p.A(), p.B(), p.C());
        else if constexpr (I == impl::trident_par)
            trident::gemm(trident::par, p.A(), p.B(), p.C());
        else
            threaded_openblas::get().run(p);
    };
    if constexpr (I == impl::trident_par)
        threads = all_threads();
    if constexpr (I == impl::openblas_threads) {
        const auto& lib = threaded_openblas::get();
        if (!lib.error.empty()) {
            state.SkipWithError(lib.error.c_str());
            return;
        }
        threads = all_threads();
        lib.set_num_threads(threads);
    }
    once();
    if (!product_ok(state, p, row))
        return;
    for (auto _ : state) {
        once();
        benchmark::DoNotOptimize(p.c.data());
    }
    counters(state, p, threads);
}

std::size_t square_n() { return std::size_t{1024} * (lecture::scale() > 1 ? 2 : 1); }

// ---- the machine's peak ------------------------------------------------------------------------

#if defined(__x86_64__)
// fma_chains below is one body for both instruction sets, compiled only inside its wrappers, which
// carry the target: GCC warns that a vector type loses its may_alias attribute as a template
// argument (the registers are never reached through pointers here) and that the body, seen on its
// own, returns AVX vectors without AVX (it never stands on its own: always_inline into a flattened
// wrapper with the target).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#pragma GCC diagnostic ignored "-Wpsabi"
// The register of T (float or double) that is `bytes` wide: 64 for AVX-512, 32 for AVX2.
template <class T, std::size_t bytes>
using vector_of = std::conditional_t<bytes == 64, std::conditional_t<std::is_same_v<T, float>, __m512, __m512d>,
                                     std::conditional_t<std::is_same_v<T, float>, __m256, __m256d>>;

// a * b + c in one instruction; each overload carries the target its instruction set needs.
[[gnu::target("avx512f")]] inline __m512 fmadd(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
[[gnu::target("avx512f")]] inline __m512d fmadd(__m512d a, __m512d b, __m512d c) { return _mm512_fmadd_pd(a, b, c); }
[[gnu::target("avx2,fma")]] inline __m256 fmadd(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
[[gnu::target("avx2,fma")]] inline __m256d fmadd(__m256d a, __m256d b, __m256d c) { return _mm256_fmadd_pd(a, b, c); }

// `rounds` rounds of 12 independent vector FMA chains (enough to cover the FMA latency on two
// ports), unrolled so that the chains stay in registers (a loop over the array kept them in memory
// and ran at a third of the rate); returns a value that depends on every chain.  Flops: rounds x 12
// x 2 x lanes.  Only the wrappers below call it: they carry the instruction set, and `flatten`
// inlines this body and the fmadd calls into them (broadcasts and sums: the vector extensions' [i]
// and +).
template <class T, std::size_t bytes>
[[gnu::always_inline]] inline T fma_chains(std::size_t rounds, T seed)
{
    using V = vector_of<T, bytes>;
    constexpr std::size_t lanes = bytes / sizeof(T);
    V acc[12] = {}, x = {}, y = {};
    for (std::size_t i = 0; i < lanes; ++i) {
        x[i] = T(0.999999);
        y[i] = T(1e-7);
        for (V& a : acc)
            a[i] = seed;
    }
    for (std::size_t r = 0; r < rounds; ++r)
#pragma GCC unroll 12
        for (V& a : acc)
            a = fmadd(a, x, y);
    V s = acc[0];
    for (int i = 1; i < 12; ++i)
        s = s + acc[i];
    T sum = 0;
    for (std::size_t i = 0; i < lanes; ++i)
        sum += s[i];
    return sum;
}

template <class T>
[[gnu::target("avx512f"), gnu::flatten]] T fma_chains_avx512(std::size_t rounds, T seed)
{
    return fma_chains<T, 64>(rounds, seed);
}

template <class T>
[[gnu::target("avx2,fma"), gnu::flatten]] T fma_chains_avx2(std::size_t rounds, T seed)
{
    return fma_chains<T, 32>(rounds, seed);
}
#pragma GCC diagnostic pop
#endif

/// A row of the machine's peak in T for the flops of an m x n x k product: every worker runs its
/// share of them as FMA chains at once (std::threads, started and joined inside the timed region:
/// a few tens of microseconds against milliseconds of work).
template <class T>
void machine_peak(benchmark::State& state, std::size_t m, std::size_t n, std::size_t k)
{
#if defined(__x86_64__)
    const bool avx512 = __builtin_cpu_supports("avx512f");
    if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        state.SkipWithError("machine_peak needs AVX2 and FMA or AVX-512");
        return;
    }
    const int threads = all_threads();
    const double flops = 2.0 * double(m) * double(n) * double(k);
    const std::size_t lanes = (avx512 ? 64 : 32) / sizeof(T);
    const auto rounds = static_cast<std::size_t>(flops / (24.0 * double(lanes) * threads)) + 1;
    std::atomic<double> sink{0};
    for (auto _ : state) {
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                const T seed = T(1) + T(t) * T(1e-3);
                const T r = avx512 ? fma_chains_avx512<T>(rounds, seed) : fma_chains_avx2<T>(rounds, seed);
                sink.store(double(r), std::memory_order_relaxed);
            });
        for (auto& w : workers)
            w.join();
    }
    benchmark::DoNotOptimize(sink.load());
    state.counters["threads"] = threads;
    state.counters["GFLOP/s"] = benchmark::Counter(double(rounds) * 24.0 * double(lanes) * threads * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::string(avx512 ? "AVX-512" : "AVX2") + " FMA, " + std::to_string(threads) + " threads");
#else
    (void)m, (void)n, (void)k;
    state.SkipWithError("machine_peak is measured on x86-64 only");
#endif
}

template <class T, impl I>
void register_row(const std::string& workload, const char* impl_name, std::size_t m, std::size_t n, std::size_t k)
{
    const std::string name = workload + "/" + impl_name;
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { run_product<T, I>(s, m, n, k, impl_name); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

template <class T>
void register_workload(const std::string& workload, std::size_t m, std::size_t n, std::size_t k, bool all_rows)
{
    register_row<T, impl::blas>(workload, "blas", m, n, k);
    if (all_rows) {
        register_row<T, impl::trident_seq>(workload, "trident_seq", m, n, k);
        register_row<T, impl::trident_par_1thread>(workload, "trident_par_1thread", m, n, k);
        register_row<T, impl::trident_par>(workload, "trident_par", m, n, k);
    } else {
        register_row<T, impl::trident_par>(workload, "trident_gemm_par", m, n, k);
    }
    register_row<T, impl::openblas_threads>(workload, "openblas_threads", m, n, k);
    benchmark::RegisterBenchmark((workload + "/machine_peak").c_str(),
                                 [=](benchmark::State& s) { machine_peak<T>(s, m, n, k); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

} // namespace

int main(int argc, char** argv)
{
    const std::size_t n = square_n();
    register_workload<float>("sgemm", n, n, n, true);
    register_workload<double>("dgemm", n, n, n, true);
    register_workload<float>("dense_forward", 256, 4096, 1024, true);
    register_workload<float>("dense_forward_16rows", 16, 4096, 4096, true);
    const std::size_t g = lecture::gemm_n();
    register_workload<double>("gemm", g, g, g, false); // claim 5's rows beside bench_lecture.cpp's
    benchmark::AddCustomContext("blas", "BLIS without threads (find_package(BLAS), vendor FLAME)");
    return bench::run_main(argc, argv, "0.2");
}
