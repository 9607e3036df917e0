#pragma once
// Helpers of the [gpu] model tests (test_gpu_model_*.cu): random host matrices with padded rows,
// their device copies, the comparison of a GPU result with the CPU layer's, a guard that lowers the
// kernels' grid to a few blocks (so that every grid-stride loop strides).
#include <trident/model/gpu/device_tensor.cuh>
#include <trident/model/gpu/detail/launch.cuh>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <cstddef>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace gpu_checks {

namespace mg = trident::model::gpu;

inline constexpr double eps = std::numeric_limits<float>::epsilon(); // 2^-23

inline std::vector<float> random_values(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f)
{
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v)
        x = dist(gen);
    return v;
}

/// A rows x cols matrix stored with `pad` floats after each row, on the host and on the device
/// (the same values).  host_view() / device_view() see the rows x cols part.
struct padded {
    std::size_t rows, cols, stride;
    std::vector<float> host;
    mg::device_tensor dev;

    padded(const trident::device& g, std::size_t r, std::size_t c, std::size_t pad, unsigned seed, float lo = -1.0f,
           float hi = 1.0f)
        : rows(r), cols(c), stride(c + pad), host(random_values(r * (c + pad), seed, lo, hi)),
          dev(g, r, c + pad, "test matrix")
    {
        dev.upload(host);
    }
    [[nodiscard]] trident::matrix_view<float> host_view() { return {host.data(), rows, cols, stride}; }
    [[nodiscard]] trident::matrix_view<float> device_view() { return dev.view().col_block(0, cols); }
    void upload() { dev.upload(host); }
    [[nodiscard]] std::vector<float> download(cudaStream_t s) const { return dev.download(s); }
};

/// Sets the kernels' block limit for a scope (0: the default).
class grid_limit {
public:
    explicit grid_limit(unsigned blocks) : saved_(mg::detail::grid_block_limit().load())
    {
        if (blocks != 0)
            mg::detail::grid_block_limit() = blocks;
    }
    grid_limit(const grid_limit&) = delete;
    grid_limit& operator=(const grid_limit&) = delete;
    ~grid_limit() { mg::detail::grid_block_limit() = saved_; }

private:
    unsigned saved_;
};

/// The worst |gpu - cpu| / bound(i) over the elements of the rows x cols part (stride `stride`),
/// and whether the padding after each row still holds `before`.  bound(i) is the element's allowed
/// difference; a worst ratio <= 1 passes.  Reports the first element over its bound.
struct comparison {
    double worst = 0;
    bool padding_kept = true;
    std::string first_bad;
};

inline comparison compare(const std::vector<float>& gpu, const std::vector<float>& cpu, std::size_t rows,
                          std::size_t cols, std::size_t stride, const std::function<double(std::size_t)>& bound,
                          const std::vector<float>* before = nullptr)
{
    comparison c;
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < cols; ++j) {
            const std::size_t i = r * stride + j;
            const double b = bound(i) + 1e-30;
            const double d = std::fabs(static_cast<double>(gpu[i]) - static_cast<double>(cpu[i]));
            const double ratio = std::isnan(gpu[i]) != std::isnan(cpu[i]) ? INFINITY : d / b;
            if (ratio > 1 && c.first_bad.empty()) {
                std::ostringstream os;
                os.precision(9);
                os << "(" << r << ", " << j << "): gpu " << gpu[i] << ", cpu " << cpu[i] << ", allowed " << b;
                c.first_bad = os.str();
            }
            if (ratio > c.worst)
                c.worst = ratio;
        }
        if (before)
            for (std::size_t j = cols; j < stride; ++j)
                c.padding_kept = c.padding_kept && gpu[r * stride + j] == (*before)[r * stride + j];
    }
    return c;
}

/// The negative control of a bound: whether a result 1% off the reference (v + 0.01 (1 + |v|) in
/// every element) would fail it, so that a passing comparison says something.
inline bool bound_detects_one_percent(const std::vector<float>& cpu, std::size_t rows, std::size_t cols,
                                      std::size_t stride, const std::function<double(std::size_t)>& bound)
{
    if (rows == 0 || cols == 0)
        return true;
    std::vector<float> off = cpu;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j) {
            float& v = off[r * stride + j];
            v = static_cast<float>(v + 0.01 * (1.0 + std::fabs(static_cast<double>(v))));
        }
    return compare(off, cpu, rows, cols, stride, bound).worst > 1.0;
}

/// Whether the rows x cols parts are bitwise equal.
inline bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b, std::size_t rows,
                          std::size_t cols, std::size_t stride)
{
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j)
            if (std::memcmp(&a[r * stride + j], &b[r * stride + j], sizeof(float)) != 0)
                return false;
    return true;
}

} // namespace gpu_checks

/// REQUIRE that a comparison passed, printing the first element over its bound.
#define GPU_CHECKS_REQUIRE_CLOSE(c)                                                                                    \
    do {                                                                                                               \
        const ::gpu_checks::comparison& cmp_ = (c);                                                                    \
        INFO("worst |gpu - cpu| / bound = " << cmp_.worst << "; first over: " << cmp_.first_bad);                      \
        REQUIRE(cmp_.worst <= 1.0);                                                                                    \
        REQUIRE(cmp_.padding_kept);                                                                                    \
    } while (false)
