#pragma once
// The launch shapes of the model's GPU kernels (model/gpu/): grid-stride loops over std::size_t
// indices, 256 threads a block, at most `grid_block_limit()` blocks (tests lower it to one block so
// that every loop strides), and the check that a view is memory of the right CUDA device.

#if !defined(__CUDACC__)
#  error "trident/model/gpu/detail/launch.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/matrix_view.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace trident::model::gpu::detail {

inline constexpr unsigned block_threads = 256;
inline constexpr unsigned warp_threads = 32;
inline constexpr unsigned warps_per_block = block_threads / warp_threads;

/// The most blocks a launch uses (then each thread loops).  Tests set 1 to exercise the strides.
inline std::atomic<unsigned>& grid_block_limit() noexcept
{
    static std::atomic<unsigned> limit{1u << 20};
    return limit;
}

/// Blocks for `items` work items of one thread each (at least 1).
inline unsigned blocks_for(std::size_t items) noexcept
{
    const std::size_t wanted = std::max<std::size_t>((items + block_threads - 1) / block_threads, 1);
    return static_cast<unsigned>(std::min<std::size_t>(wanted, std::max(grid_block_limit().load(), 1u)));
}
/// Blocks for `rows` rows of one warp each (at least 1).
inline unsigned blocks_for_rows(std::size_t rows) noexcept
{
    const std::size_t wanted = std::max<std::size_t>((rows + warps_per_block - 1) / warps_per_block, 1);
    return static_cast<unsigned>(std::min<std::size_t>(wanted, std::max(grid_block_limit().load(), 1u)));
}

/// \throws std::invalid_argument unless the (non-empty) view's memory is device or managed memory
/// of CUDA device `index`: a host pointer in a kernel would poison the whole CUDA context.
template <class T>
void require_device_view(const matrix_view<T>& v, int index, const std::string& layer, const char* what)
{
    if (v.empty())
        return;
    cudaPointerAttributes a{};
    TRIDENT_CUDA_CHECK(cudaPointerGetAttributes(&a, static_cast<const void*>(v.data())));
    const bool ok = (a.type == cudaMemoryTypeDevice && a.device == index) || a.type == cudaMemoryTypeManaged;
    if (!ok)
        throw std::invalid_argument("trident::model::gpu::" + layer + ": " + what +
                                    " is not memory of CUDA device " + std::to_string(index) +
                                    (a.type == cudaMemoryTypeDevice ? " (it is on CUDA device " + std::to_string(a.device) + ")"
                                                                    : " (it is host memory)"));
}

/// The sum over the 32 lanes of a warp, the same bits on every lane whatever the timing: a fixed
/// butterfly (lanes i and i ^ m add the same two values, and addition commutes).
template <class T>
__device__ T warp_sum(T v)
{
    for (int m = static_cast<int>(warp_threads) / 2; m > 0; m /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, m);
    return v;
}
/// The maximum over the 32 lanes of a warp (fmaxf: NaN only when every value is NaN).
__device__ inline float warp_max(float v)
{
    for (int m = static_cast<int>(warp_threads) / 2; m > 0; m /= 2)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, m));
    return v;
}

/// This thread's global index and the grid's thread count (grid-stride loops).
__device__ inline std::size_t thread_index() noexcept
{
    return static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::size_t thread_count() noexcept { return static_cast<std::size_t>(gridDim.x) * blockDim.x; }

} // namespace trident::model::gpu::detail
