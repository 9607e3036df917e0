#pragma once
// The lecture's data-parallel workloads (claims 5 and 6): sizes and inputs shared by the CPU rows
// (bench_lecture.cpp) and the GPU rows (gpu/bench_gpu_lecture.cu), so that both measure the same
// work and the report can divide one's time by the other's.  Host and device code alike: nvcc
// sees the functions marked LECTURE_HD as __host__ __device__.
//
//   scale()           TRIDENT_LECTURE_SCALE=k (environment; the report's --full mode sets 4)
//   gemm_n()          C = A x B on n x n doubles: 512, or 1024 when scaled
//   gemm_a / gemm_b   the inputs' elements, from the element index (values in [0, 1))
//   gemm_matrices     A, B and C on the host, and the cache-blocked product the CPU rows time (the
//                     GPU rows' reference)
//   mix()             splitmix64, the counter-based generator of the Monte Carlo points and the image
//   mc_batch, mc_batches(), mc_point_inside()   pi from mc_batches() x mc_batch random points
//   image_side(), image_pixel()                 the grayscale image the 3x3 box blur filters
//   blur_pixel()                                one pixel of the blur, on the host and the device

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#if defined(__CUDACC__)
#  define LECTURE_HD __host__ __device__
#else
#  define LECTURE_HD
#endif

namespace lecture {

inline std::size_t scale()
{
    static const std::size_t k = [] {
        const char* env = std::getenv("TRIDENT_LECTURE_SCALE");
        const long v = env ? std::strtol(env, nullptr, 10) : 1;
        return static_cast<std::size_t>(std::max(1L, v));
    }();
    return k;
}

// ---- claim 5: GEMM --------------------------------------------------------------------------------

inline std::size_t gemm_n() { return std::size_t{512} * (scale() > 1 ? 2 : 1); }

LECTURE_HD inline double gemm_a(std::size_t i) { return static_cast<double>((i * 7919) % 1000) / 1000.0; }
LECTURE_HD inline double gemm_b(std::size_t i) { return static_cast<double>((i * 104729) % 1000) / 1000.0; }

/// 2 n^3: the floating-point operations of one product.
inline double gemm_flops(std::size_t n) { return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n); }

/// C = A x B on n x n row-major doubles, computed in blocks of block_rows rows of C: the independent
/// pieces of work, one after another sequentially, spread over the workers in parallel.
struct gemm_matrices {
    static constexpr std::size_t block_rows = 16;

    std::size_t n;
    std::vector<double> a, b, c;

    explicit gemm_matrices(std::size_t size) : n(size), a(size * size), b(size * size), c(size * size)
    {
        for (std::size_t i = 0; i < a.size(); ++i) {
            a[i] = gemm_a(i);
            b[i] = gemm_b(i);
        }
    }
    std::size_t blocks() const { return (n + block_rows - 1) / block_rows; }
    /// Block `block` of C's rows: i-k-j loops (unit stride in the inner loop, which the compiler
    /// vectorises), k taken in panels of B small enough (256 KiB) to stay in a core's L2 cache while
    /// every row of the block uses them.  Each C element sums over k in ascending order whatever
    /// the blocking, so every schedule gives the same bits.  Not inlined: the sequential and the
    /// parallel rows run the same machine code.
    [[gnu::noinline]] void block_of_rows(std::size_t block)
    {
        const std::size_t r0 = block * block_rows, r1 = std::min(n, r0 + block_rows);
        const std::size_t panel = std::max<std::size_t>(8, (std::size_t{256} << 10) / (n * sizeof(double)));
        std::fill(c.begin() + static_cast<std::ptrdiff_t>(r0 * n), c.begin() + static_cast<std::ptrdiff_t>(r1 * n), 0.0);
        for (std::size_t k0 = 0; k0 < n; k0 += panel) {
            const std::size_t k1 = std::min(n, k0 + panel);
            for (std::size_t i = r0; i < r1; ++i) {
                double* ci = &c[i * n];
                for (std::size_t k = k0; k < k1; ++k) {
                    const double aik = a[i * n + k];
                    const double* bk = &b[k * n];
                    for (std::size_t j = 0; j < n; ++j)
                        ci[j] += aik * bk[j];
                }
            }
        }
    }
    void all_blocks()
    {
        for (std::size_t block = 0; block < blocks(); ++block)
            block_of_rows(block);
    }
};

// ---- claim 6: Monte Carlo and image processing -------------------------------------------------------

/// splitmix64: a counter-based generator, so every policy and device draws the same points.
LECTURE_HD inline std::uint64_t mix(std::uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

inline constexpr std::uint64_t mc_batch = 4096; ///< points per batch (one task)
inline std::uint64_t mc_batches() { return std::uint64_t{4096} * scale(); }

/// Whether point number `k` falls inside the quarter circle.
LECTURE_HD inline bool mc_point_inside(std::uint64_t k)
{
    const std::uint64_t r = mix(k);
    const double x = static_cast<double>(r >> 40) / 16777216.0;
    const double y = static_cast<double>(r & 0xFFFFFF) / 16777216.0;
    return x * x + y * y <= 1.0;
}

inline std::size_t image_side() { return std::size_t{2048} * (scale() > 1 ? 2 : 1); }

/// Pixel i (row-major) of the input image: an integer grey level 0..255.
LECTURE_HD inline float image_pixel(std::size_t i) { return static_cast<float>(mix(i) & 0xFF); }

/// Pixel (x, y) of the 3x3 box blur of `in` (side x side, row-major), edges clamped: the nine
/// neighbours summed dy outer, dx inner, from 0, then / 9 (sums of grey levels are exact in float,
/// and the division is IEEE-rounded on host and device alike, so both give the same bits).
LECTURE_HD inline std::size_t blur_neighbour(std::size_t v, int d, std::size_t side)
{
    return d < 0 ? (v == 0 ? 0 : v - 1) : (d > 0 ? (v + 1 == side ? v : v + 1) : v);
}

LECTURE_HD inline float blur_pixel(const float* in, std::size_t side, std::size_t x, std::size_t y)
{
    float s = 0.0f;
    for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx)
            s += in[blur_neighbour(y, dy, side) * side + blur_neighbour(x, dx, side)];
    return s / 9.0f;
}

} // namespace lecture
