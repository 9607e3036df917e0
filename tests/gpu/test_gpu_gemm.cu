// [gpu] trident::gemm under trident::gpu (cuBLAS) on device memory: float and double, all four
// transposes, alpha / beta, padded strides, against trident::gemm(seq) on the CPU BLAS within the
// rounding bound of a k-term dot product; shape errors before any device work; empty matrices; an
// explicit stream.

#include "common/algorithm_checks.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <vector>

namespace {

template <class T>
std::vector<T> random_values(std::size_t n, unsigned seed)
{
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    std::vector<T> v(std::max<std::size_t>(n, 1));
    for (T& x : v)
        x = static_cast<T>(dist(gen));
    return v;
}

// The largest |gpu - cpu| over the largest allowed: 2 (k + 2) eps (|alpha| sum|a||b| + |beta c|) per
// element, both results being within half of it of the exact value.  At most 1 passes.
template <class T>
double worst_error(const std::vector<T>& gpu, const std::vector<T>& cpu, const std::vector<T>& a,
                   const std::vector<T>& b, const std::vector<T>& c_in, std::size_t m, std::size_t n, std::size_t k,
                   std::size_t lda, std::size_t ldb, std::size_t ldc, const trident::gemm_options<T>& o)
{
    double worst = 0;
    const double eps = std::numeric_limits<T>::epsilon();
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double magnitude = 0;
            for (std::size_t p = 0; p < k; ++p) {
                const double x = o.transpose_a ? a[p * lda + i] : a[i * lda + p];
                const double y = o.transpose_b ? b[j * ldb + p] : b[p * ldb + j];
                magnitude += std::fabs(x * y);
            }
            const double bound =
                2.0 * (k + 2) * eps * (std::fabs(o.alpha) * magnitude + std::fabs(o.beta * c_in[i * ldc + j])) + 1e-30;
            worst = std::max(worst, std::fabs(double(gpu[i * ldc + j]) - double(cpu[i * ldc + j])) / bound);
        }
    return worst;
}

template <class T>
void check_against_cpu()
{
    struct shape {
        std::size_t m, n, k;
    };
    unsigned seed = 1;
    for (const shape s : {shape{1, 1, 1}, shape{3, 5, 7}, shape{64, 48, 9}, shape{300, 270, 40}, shape{129, 513, 257}})
        for (const bool ta : {false, true})
            for (const bool tb : {false, true})
                for (const auto& [alpha, beta] : {std::pair<T, T>{1, 0}, {T(-0.5), T(2)}}) {
                    const std::size_t a_rows = ta ? s.k : s.m, a_cols = ta ? s.m : s.k;
                    const std::size_t b_rows = tb ? s.n : s.k, b_cols = tb ? s.k : s.n;
                    const std::size_t lda = a_cols + 1, ldb = b_cols + 2, ldc = s.n + 3; // padded rows
                    const auto a = random_values<T>(a_rows * lda, seed++);
                    const auto b = random_values<T>(b_rows * ldb, seed++);
                    const auto c_in = random_values<T>(s.m * ldc, seed++);
                    const trident::gemm_options<T> o{alpha, beta, ta, tb};
                    CAPTURE(s.m, s.n, s.k, ta, tb, alpha, beta);

                    std::vector<T> cpu = c_in;
                    trident::gemm(trident::seq, trident::matrix_view<const T>(a.data(), a_rows, a_cols, lda),
                                  trident::matrix_view<const T>(b.data(), b_rows, b_cols, ldb),
                                  trident::matrix_view<T>(cpu.data(), s.m, s.n, ldc), o);

                    trident::device_vector<T> da(a), db(b), dc(c_in);
                    trident::gemm(trident::gpu, trident::matrix_view<const T>(da.data(), a_rows, a_cols, lda),
                                  trident::matrix_view<const T>(db.data(), b_rows, b_cols, ldb),
                                  trident::matrix_view<T>(dc.data(), s.m, s.n, ldc), o);
                    const std::vector<T> gpu = dc.to_host();
                    REQUIRE(worst_error(gpu, cpu, a, b, c_in, s.m, s.n, s.k, lda, ldb, ldc, o) <= 1.0);
                    // The padding after each row of C is left alone.
                    bool padding_kept = true;
                    for (std::size_t i = 0; i < s.m; ++i)
                        for (std::size_t j = s.n; j < ldc; ++j)
                            padding_kept = padding_kept && gpu[i * ldc + j] == c_in[i * ldc + j];
                    REQUIRE(padding_kept);
                }
}

} // namespace

TEST_CASE("gpu: gemm (cuBLAS) matches the CPU BLAS, float", "[gpu][gemm]")
{
    check_against_cpu<float>();
}

TEST_CASE("gpu: gemm (cuBLAS) matches the CPU BLAS, double", "[gpu][gemm]")
{
    check_against_cpu<double>();
}

TEST_CASE("gpu: gemm names the shapes before touching the device; empty matrices; a stream", "[gpu][gemm]")
{
    trident::device_vector<float> a(12), b(30), c(18, 5.0f);
    using cview = trident::matrix_view<const float>;
    REQUIRE_THROWS_WITH(trident::gemm(trident::gpu, cview(a.data(), 3, 4), cview(b.data(), 5, 6),
                                      trident::matrix_view<float>(c.data(), 3, 6)),
                        Catch::Matchers::Contains("op(A)'s columns must equal op(B)'s rows"));
    REQUIRE(c.to_host() == std::vector<float>(18, 5.0f));

    // k == 0: C = beta C.
    trident::gemm(trident::gpu, cview(a.data(), 3, 0), cview(b.data(), 0, 6), trident::matrix_view<float>(c.data(), 3, 6),
                  {.beta = 2.0f});
    REQUIRE(c.to_host() == std::vector<float>(18, 10.0f));
    // An empty C: nothing happens.
    trident::gemm(trident::gpu, cview(a.data(), 0, 4), cview(b.data(), 4, 6), trident::matrix_view<float>(c.data(), 0, 6));
    REQUIRE(c.to_host() == std::vector<float>(18, 10.0f));

    // On an explicit stream: enqueued, done after the stream synchronises.  A = ones(3 x 4), B = ones(4 x 6).
    trident::device_vector<float> ones_a(12, 1.0f), ones_b(24, 1.0f);
    cudaStream_t s{};
    REQUIRE(cudaStreamCreate(&s) == cudaSuccess);
    trident::gemm(trident::gpu.stream(s), cview(ones_a.data(), 3, 4), cview(ones_b.data(), 4, 6),
                  trident::matrix_view<float>(c.data(), 3, 6));
    REQUIRE(cudaStreamSynchronize(s) == cudaSuccess);
    REQUIRE(cudaStreamDestroy(s) == cudaSuccess);
    REQUIRE(c.to_host() == std::vector<float>(18, 4.0f));
}
