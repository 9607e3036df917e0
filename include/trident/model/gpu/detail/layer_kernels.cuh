#pragma once
// The CUDA kernels of the built-in layers (model/gpu/layer_kernels.cuh calls them).  Conventions:
// - views are row-major with a row stride (s*: elements between rows), std::size_t indices,
//   grid-stride loops (detail/launch.cuh);
// - float products and sums that the CPU layer rounds one by one are written with __fmul_rn /
//   __fadd_rn / __fsub_rn, so that nvcc does not fuse them into an FMA and the GPU rounds as the CPU
//   does (the CPU build has no FMA contraction);
// - sums over rows (bias, gain gradients) run one thread per column over the rows in order, as the
//   CPU layers add them: no atomics, the same bits in every run (and the CPU's bits);
// - kernels are templates (one definition in every translation unit that includes this);
// - per-row statistics (layer_norm) take one warp per row, partial sums in double combined by a
//   fixed butterfly (warp_sum): deterministic, within rounding of the CPU's serial double sums.

#if !defined(__CUDACC__)
#  error "trident/model/gpu/detail/layer_kernels.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/model/gpu/detail/launch.cuh"

#include <cuda_runtime.h>

#include <cstddef>

namespace trident::model::gpu::detail {

/// op(r, c) for every element of a rows x cols matrix.
template <class Op>
__global__ void __launch_bounds__(block_threads) each_element(std::size_t rows, std::size_t cols, Op op)
{
    const std::size_t n = rows * cols;
    for (std::size_t i = thread_index(); i < n; i += thread_count()) {
        const std::size_t r = i / cols;
        op(r, i - r * cols);
    }
}

template <class Op>
void launch_each(std::size_t rows, std::size_t cols, const Op& op, cudaStream_t stream, const char* name)
{
    if (rows == 0 || cols == 0)
        return;
    each_element<<<blocks_for(rows * cols), block_threads, 0, stream>>>(rows, cols, op);
    trident::detail::cuda_check(cudaGetLastError(), name, __FILE__, __LINE__);
}

struct bias_rows_op { // y(r, c) = b[c]
    const float* b;
    float* y;
    std::size_t sy;
    __device__ void operator()(std::size_t r, std::size_t c) const { y[r * sy + c] = b[c]; }
};

struct relu_forward_op {
    const float* x;
    std::size_t sx;
    float* y;
    std::size_t sy;
    __device__ void operator()(std::size_t r, std::size_t c) const
    {
        const float v = x[r * sx + c];
        y[r * sy + c] = v > 0.0f ? v : 0.0f;
    }
};

struct relu_backward_op {
    const float* x;
    std::size_t sx;
    const float* dy;
    std::size_t sdy;
    float* dx;
    std::size_t sdx;
    __device__ void operator()(std::size_t r, std::size_t c) const
    {
        dx[r * sdx + c] = x[r * sx + c] > 0.0f ? dy[r * sdy + c] : 0.0f;
    }
};

struct gelu_forward_op { // y = 0.5 x (1 + erf(x / sqrt 2))
    const float* x;
    std::size_t sx;
    float* y;
    std::size_t sy;
    __device__ void operator()(std::size_t r, std::size_t c) const
    {
        constexpr float inv_sqrt2 = 0.70710678118654752440f;
        const float v = x[r * sx + c];
        y[r * sy + c] = __fmul_rn(__fmul_rn(0.5f, v), __fadd_rn(1.0f, erff(__fmul_rn(v, inv_sqrt2))));
    }
};

struct gelu_backward_op { // dx = dy (Phi(x) + x phi(x))
    const float* x;
    std::size_t sx;
    const float* dy;
    std::size_t sdy;
    float* dx;
    std::size_t sdx;
    __device__ void operator()(std::size_t r, std::size_t c) const
    {
        constexpr float inv_sqrt2 = 0.70710678118654752440f;
        constexpr float inv_sqrt_2pi = 0.39894228040143267794f;
        const float v = x[r * sx + c];
        const float cdf = __fmul_rn(0.5f, __fadd_rn(1.0f, erff(__fmul_rn(v, inv_sqrt2))));
        const float pdf = __fmul_rn(inv_sqrt_2pi, expf(__fmul_rn(__fmul_rn(-0.5f, v), v)));
        dx[r * sdx + c] = __fmul_rn(dy[r * sdy + c], __fadd_rn(cdf, __fmul_rn(v, pdf)));
    }
};

/// acc[c] += dy(0, c) + dy(1, c) + ... in row order, one thread per column (dense's bias gradient).
template <int = 0>
__global__ void __launch_bounds__(block_threads) add_column_sums(std::size_t rows, std::size_t cols,
                                                                 const float* dy, std::size_t sdy, float* acc)
{
    for (std::size_t c = thread_index(); c < cols; c += thread_count()) {
        float s = acc[c];
        for (std::size_t r = 0; r < rows; ++r)
            s = __fadd_rn(s, dy[r * sdy + c]);
        acc[c] = s;
    }
}

/// layer_norm forward, one warp per row: saved[2r] = mean, saved[2r + 1] = 1 / sqrt(var + eps),
/// y = (x - mean) * rstd * gain + bias.
template <int = 0>
__global__ void __launch_bounds__(block_threads)
    layer_norm_forward(std::size_t rows, std::size_t n, const float* x, std::size_t sx, const float* gain,
                       const float* bias, float* y, std::size_t sy, float* saved, float epsilon)
{
    const std::size_t lane = threadIdx.x % warp_threads;
    const std::size_t warps = thread_count() / warp_threads;
    for (std::size_t r = thread_index() / warp_threads; r < rows; r += warps) {
        const float* xr = x + r * sx;
        double sum = 0.0;
        for (std::size_t j = lane; j < n; j += warp_threads)
            sum += xr[j];
        const double mean = warp_sum(sum) / static_cast<double>(n);
        double squares = 0.0;
        for (std::size_t j = lane; j < n; j += warp_threads) {
            const double d = xr[j] - mean;
            squares += d * d;
        }
        squares = warp_sum(squares);
        const auto mean_f = static_cast<float>(mean);
        const auto rstd = static_cast<float>(1.0 / sqrt(squares / static_cast<double>(n) + epsilon));
        if (lane == 0) {
            saved[2 * r] = mean_f;
            saved[2 * r + 1] = rstd;
        }
        float* yr = y + r * sy;
        for (std::size_t j = lane; j < n; j += warp_threads)
            yr[j] = __fadd_rn(__fmul_rn(__fmul_rn(__fsub_rn(xr[j], mean_f), rstd), gain[j]), bias[j]);
    }
}

/// layer_norm backward_input, one warp per row:
/// dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dy * gain.
template <int = 0>
__global__ void __launch_bounds__(block_threads)
    layer_norm_backward_input(std::size_t rows, std::size_t n, const float* x, std::size_t sx, const float* saved,
                              const float* gain, const float* dy, std::size_t sdy, float* dx, std::size_t sdx)
{
    const std::size_t lane = threadIdx.x % warp_threads;
    const std::size_t warps = thread_count() / warp_threads;
    for (std::size_t r = thread_index() / warp_threads; r < rows; r += warps) {
        const float mean = saved[2 * r];
        const float rstd = saved[2 * r + 1];
        const float* xr = x + r * sx;
        const float* dyr = dy + r * sdy;
        double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
        for (std::size_t j = lane; j < n; j += warp_threads) {
            const float xhat = __fmul_rn(__fsub_rn(xr[j], mean), rstd);
            const float dxhat = __fmul_rn(dyr[j], gain[j]);
            sum_dxhat += dxhat;
            sum_dxhat_xhat += static_cast<double>(dxhat) * xhat;
        }
        const auto a = static_cast<float>(warp_sum(sum_dxhat) / static_cast<double>(n));
        const auto b = static_cast<float>(warp_sum(sum_dxhat_xhat) / static_cast<double>(n));
        float* dxr = dx + r * sdx;
        for (std::size_t j = lane; j < n; j += warp_threads) {
            const float xhat = __fmul_rn(__fsub_rn(xr[j], mean), rstd);
            const float dxhat = __fmul_rn(dyr[j], gain[j]);
            dxr[j] = __fmul_rn(rstd, __fsub_rn(__fsub_rn(dxhat, a), __fmul_rn(xhat, b)));
        }
    }
}

/// layer_norm backward_weight, one thread per feature over the rows in order:
/// dgain[j] += sum dy * xhat, dbias[j] += sum dy.
template <int = 0>
__global__ void __launch_bounds__(block_threads)
    layer_norm_backward_weight(std::size_t rows, std::size_t n, const float* x, std::size_t sx, const float* saved,
                               const float* dy, std::size_t sdy, float* dgain, float* dbias)
{
    for (std::size_t j = thread_index(); j < n; j += thread_count()) {
        float g = dgain[j];
        float b = dbias[j];
        for (std::size_t r = 0; r < rows; ++r) {
            const float xhat = __fmul_rn(__fsub_rn(x[r * sx + j], saved[2 * r]), saved[2 * r + 1]);
            const float d = dy[r * sdy + j];
            g = __fadd_rn(g, __fmul_rn(d, xhat));
            b = __fadd_rn(b, d);
        }
        dgain[j] = g;
        dbias[j] = b;
    }
}

} // namespace trident::model::gpu::detail
