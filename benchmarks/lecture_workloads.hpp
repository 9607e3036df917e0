#pragma once
// The lecture's data-parallel workloads (claims 5 and 6): sizes and inputs shared by the CPU rows
// (bench_lecture.cpp) and the GPU rows (gpu/bench_gpu_lecture.cu), so that both measure the same
// work and the report can divide one's time by the other's.  Host and device code alike: nvcc
// sees the functions marked LECTURE_HD as __host__ __device__.
//
//   scale()           TRIDENT_LECTURE_SCALE=k (environment; the report's --full mode sets 4)
//   gemm_n()          C = A x B on n x n doubles: 512, or 1024 when scaled
//   gemm_a / gemm_b   the inputs' elements, from the element index (values in [0, 1))
//   mix()             splitmix64, the counter-based generator of the Monte Carlo points and the image
//   mc_batch, mc_batches(), mc_point_inside()   pi from mc_batches() x mc_batch random points
//   image_side(), image_pixel()                 the grayscale image the 3x3 box blur filters

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

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

} // namespace lecture
