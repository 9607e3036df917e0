#pragma once
/// \file backend/cuda/reduce.cuh
/// The CUDA system's device reduction (map_reduce_n in system.cuh), on which the generic reduce
/// and map_reduce run (backend/generic/device_algorithms.hpp).  The accumulator is init's type T, as on the CPU (each
/// op result converted to T).
/// - Commutative operators (trident::commutative(op), trident::is_commutative_v, or std::plus /
///   std::multiplies / cuda::minimum / cuda::maximum on arithmetic T): cub::DeviceReduce::Reduce or
///   TransformReduce.
/// - Any other operator keeps the order of its operands: each block reduces a contiguous run of
///   tiles (a tile: 256 threads x 16 bytes of T, loaded coalesced, exchanged so that each thread
///   holds consecutive elements, folded in order, then cub::BlockReduce, which keeps the thread
///   order), the per-block partials (at most 1024) are reduced the same way by one block, and init
///   is combined first.  Scratch: 1025 T; the data is read once.
/// Only nvcc sees this header.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/reduce.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/functors.cuh"
#include "trident/backend/cuda/launch.cuh"
#include "trident/backend/cuda/memory.cuh"

#include <cub/block/block_exchange.cuh>
#include <cub/block/block_reduce.cuh>
#include <cub/device/device_reduce.cuh>
#include <cuda/functional>
#include <cuda/std/functional>

#include <algorithm>
#include <cstddef>
#include <type_traits>

namespace trident::detail {

template <class Op> inline constexpr bool is_commutative_std_v = false;
template <class X> inline constexpr bool is_commutative_std_v<std::plus<X>> = true;
template <class X> inline constexpr bool is_commutative_std_v<std::multiplies<X>> = true;
template <class X> inline constexpr bool is_commutative_std_v<cuda::std::plus<X>> = true;
template <class X> inline constexpr bool is_commutative_std_v<cuda::std::multiplies<X>> = true;
template <class X> inline constexpr bool is_commutative_std_v<cuda::minimum<X>> = true;
template <class X> inline constexpr bool is_commutative_std_v<cuda::maximum<X>> = true;

/// Whether the device may apply op to T values in any order (CUB's reduction).
template <class Op, class T>
inline constexpr bool reorderable_v =
    declared_commutative<Op>() || (is_commutative_std_v<unwrapped_t<Op>> && std::is_arithmetic_v<T>);

/// T items per thread and tile of the order-keeping reduction: 16 bytes of T, at least one.
template <class T>
inline constexpr int ordered_items = sizeof(T) >= 16 ? 1 : static_cast<int>(16 / sizeof(T));

inline constexpr std::size_t ordered_max_blocks = 1024;

/// Element i of the input as a T.
template <class P, class F, class T>
struct load_as {
    P data;
    convert_fn<F, T> convert;
    __device__ T operator()(std::size_t i) const { return convert(data[i]); }
};

/// Block b reduces, in order, elements [b * per_block, min(n, (b + 1) * per_block)) (per_block a
/// whole number of tiles) and writes the result to out[b]; with `init`, op(*init, result).
template <class T, class Src, class Op>
__global__ void __launch_bounds__(block_threads)
    ordered_reduce_kernel(Src src, std::size_t n, std::size_t per_block, Op op, const T* init, T* out)
{
    constexpr int K = ordered_items<T>;
    constexpr std::size_t tile = std::size_t{block_threads} * K;
    using exchange_t = cub::BlockExchange<T, block_threads, K>;
    using reduce_t = cub::BlockReduce<T, block_threads, cub::BLOCK_REDUCE_WARP_REDUCTIONS>;
    __shared__ typename exchange_t::TempStorage exchange_storage;
    __shared__ typename reduce_t::TempStorage reduce_storage;

    const std::size_t first = static_cast<std::size_t>(blockIdx.x) * per_block;
    const std::size_t last = per_block < n - first ? first + per_block : n;
    T total{};
    for (std::size_t base = first; base < last; base += tile) {
        T block_part{};
        if (last - base >= tile) {
            T items[K];
#pragma unroll
            for (int k = 0; k < K; ++k)
                items[k] = src(base + std::size_t(k) * block_threads + threadIdx.x); // striped: coalesced
            if constexpr (K > 1) {
                exchange_t(exchange_storage).StripedToBlocked(items); // thread t: elements t*K .. t*K+K-1
                __syncthreads();
            }
            T mine = items[0];
#pragma unroll
            for (int k = 1; k < K; ++k)
                mine = T(op(mine, items[k]));
            block_part = reduce_t(reduce_storage).Reduce(mine, op);
        } else {
            // The last, partial tile: thread t folds its (at most K) elements straight from memory.
            const std::size_t count = last - base;
            const int valid = static_cast<int>((count + K - 1) / K);
            T mine{};
            const std::size_t b = base + std::size_t(threadIdx.x) * K;
            if (static_cast<int>(threadIdx.x) < valid) {
                mine = src(b);
                for (std::size_t i = b + 1; i < b + K && i < last; ++i)
                    mine = T(op(mine, src(i)));
            }
            block_part = reduce_t(reduce_storage).Reduce(mine, op, valid);
        }
        __syncthreads(); // the temporary storage is reused by the next tile
        if (threadIdx.x == 0)
            total = base == first ? block_part : T(op(total, block_part));
    }
    if (threadIdx.x == 0)
        out[blockIdx.x] = init ? T(op(*init, total)) : total;
}

template <class P, class F, class T, class Op>
T ordered_map_reduce(const gpu_call& call, P data, std::size_t n, const F& f, const T& init, const Op& op)
{
    static_assert(std::is_default_constructible_v<T>,
                  "trident::gpu: reduce / map_reduce with an operator not declared commutative keeps the operands' "
                  "order on the GPU, which needs a default-constructible init type; give it a default constructor, "
                  "or declare the operator commutative with trident::commutative(op)");
    constexpr std::size_t tile = std::size_t{block_threads} * ordered_items<T>;
    const std::size_t tiles = (n + tile - 1) / tile;
    const std::size_t per_block = (tiles + ordered_max_blocks - 1) / ordered_max_blocks * tile;
    const std::size_t blocks = (n + per_block - 1) / per_block;
    scratch<T> partials(blocks + 2, call.device, call.stream);
    T* seed = partials.get() + blocks;
    T* result = seed + 1;
    TRIDENT_CUDA_CHECK(cudaMemcpyAsync(seed, &init, sizeof(T), cudaMemcpyHostToDevice, call.stream));

    ordered_reduce_kernel<T><<<static_cast<unsigned>(blocks), block_threads, 0, call.stream>>>(
        load_as<P, F, T>{data, {f}}, n, per_block, op, static_cast<const T*>(nullptr), partials.get());
    TRIDENT_CUDA_CHECK_LAUNCH("trident::detail::ordered_reduce_kernel");
    const std::size_t all = (blocks + tile - 1) / tile * tile;
    ordered_reduce_kernel<T><<<1, block_threads, 0, call.stream>>>(
        load_as<const T*, trident::identity_fn, T>{partials.get(), {}}, blocks, all, op, seed, result);
    TRIDENT_CUDA_CHECK_LAUNCH("trident::detail::ordered_reduce_kernel");
    return call.fetch(result);
}

/// init ⊕ f(data[0]) ⊕ ... ⊕ f(data[n-1]) on the call's stream (n > 0); waits for the result.
template <class V, class P, class F, class T, class Op>
T device_map_reduce(const gpu_call& call, P data, std::size_t n, const F& f, const T& init, const Op& user_op)
{
    const auto op = accumulating<T>(device_fn(user_op));
    if constexpr (reorderable_v<Op, T>) {
        scratch<T> result(1, call.device, call.stream);
        if constexpr (std::is_same_v<F, trident::identity_fn> && std::is_same_v<V, T>) {
            TRIDENT_CUB_CALL(call, "cub::DeviceReduce::Reduce", [&](void* temp, std::size_t& bytes) {
                return cub::DeviceReduce::Reduce(temp, bytes, data, result.get(), n, op, init, call.stream);
            });
        } else {
            TRIDENT_CUB_CALL(call, "cub::DeviceReduce::TransformReduce", [&](void* temp, std::size_t& bytes) {
                return cub::DeviceReduce::TransformReduce(temp, bytes, data, result.get(), n, op, convert_fn<F, T>{f},
                                                          init, call.stream);
            });
        }
        return call.fetch(result.get());
    } else {
        return ordered_map_reduce(call, data, n, f, init, op);
    }
}

} // namespace trident::detail
