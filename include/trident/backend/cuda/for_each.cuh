#pragma once
/// \file backend/cuda/for_each.cuh
/// The element-wise primitives of the CUDA system, on device pointers: `for_each_n` (f(data[i]))
/// and `transform_n` (out[i] = f(in[i])), both on launch.cuh's element-wise kernel.  The generic
/// for_each and map (backend/generic/device_algorithms.hpp) stage their ranges and call these.
/// Only nvcc sees this header.
///
/// Each thread takes 16 bytes of input per step (e.g. 16 one-byte elements, two doubles) with one
/// vector load and store when the pointers are aligned for it; other element sizes, unaligned
/// pointers and read-only elements take one element per step.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/for_each.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/functors.cuh"
#include "trident/backend/cuda/launch.cuh"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace trident::detail {

/// Elements per vector step: 16 bytes of T when T's size divides 16, else 1.
template <class T>
constexpr int vector_items()
{
    if constexpr (sizeof(T) < 16 && 16 % sizeof(T) == 0 && std::is_default_constructible_v<T>)
        return static_cast<int>(16 / sizeof(T));
    else
        return 1;
}

/// The largest power of two (at most 16) that divides `bytes`, at least `least`.
constexpr std::size_t pack_alignment(std::size_t bytes, std::size_t least)
{
    std::size_t a = 16;
    while (a > least && bytes % a != 0)
        a /= 2;
    return a;
}

template <class T, int K>
struct alignas(pack_alignment(sizeof(T) * K, alignof(T))) vector_pack {
    T v[K];
};

template <class T>
bool aligned_for(const void* p) noexcept
{
    return reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0;
}

/// out[i] = f(in[i]); K elements at a time in whole packs.
template <int K, class InP, class OutP, class F>
struct transform_step {
    using In = std::remove_cv_t<std::remove_pointer_t<InP>>;
    using Out = std::remove_pointer_t<OutP>;
    InP in;
    OutP out;
    F f;

    __device__ void pack(std::size_t p)
    {
        const vector_pack<In, K> a = reinterpret_cast<const vector_pack<In, K>*>(in)[p];
        vector_pack<Out, K> b;
#pragma unroll
        for (int k = 0; k < K; ++k)
            b.v[k] = f(a.v[k]);
        reinterpret_cast<vector_pack<Out, K>*>(out)[p] = b;
    }

    __device__ void one(std::size_t i) { out[i] = f(in[i]); }
};

/// f(data[i]); a whole pack is loaded, passed element by element, and stored back.
template <int K, class P, class F>
struct for_each_step {
    using T = std::remove_pointer_t<P>;
    P data;
    F f;

    __device__ void pack(std::size_t p)
    {
        auto* all = reinterpret_cast<vector_pack<T, K>*>(data);
        vector_pack<T, K> a = all[p];
#pragma unroll
        for (int k = 0; k < K; ++k)
            f(a.v[k]);
        all[p] = a;
    }

    __device__ void one(std::size_t i) { f(data[i]); }
};

/// out[i] = device_fn(f)(in[i]) for i < n, on the call's stream.
template <class InP, class OutP, class F>
void transform_n(const gpu_call& call, InP in, OutP out, std::size_t n, const F& user_f)
{
    using In = std::remove_cv_t<std::remove_pointer_t<InP>>;
    using Out = std::remove_pointer_t<OutP>;
    constexpr int K = std::is_default_constructible_v<Out> ? vector_items<In>() : 1;
    const auto& f = device_fn(user_f);
    using D = std::remove_cvref_t<decltype(f)>;
    if (K > 1 && aligned_for<vector_pack<In, K>>(in) && aligned_for<vector_pack<Out, K>>(out))
        call.launch_elementwise<K>(n, transform_step<K, InP, OutP, D>{in, out, f},
                                   "launch of trident::detail::elementwise_kernel (map)");
    else
        call.launch_elementwise<1>(n, transform_step<1, InP, OutP, D>{in, out, f},
                                   "launch of trident::detail::elementwise_kernel (map)");
}

/// device_fn(f)(data[i]) for i < n, on the call's stream; read-only elements are not written back.
template <class P, class F>
void for_each_n(const gpu_call& call, P data, std::size_t n, const F& user_f)
{
    using T = std::remove_pointer_t<P>;
    constexpr int K = std::is_const_v<T> ? 1 : vector_items<T>();
    const auto& f = device_fn(user_f);
    using D = std::remove_cvref_t<decltype(f)>;
    if (K > 1 && aligned_for<vector_pack<std::remove_const_t<T>, K>>(data))
        call.launch_elementwise<K>(n, for_each_step<K, P, D>{data, f},
                                   "launch of trident::detail::elementwise_kernel (for_each)");
    else
        call.launch_elementwise<1>(n, for_each_step<1, P, D>{data, f},
                                   "launch of trident::detail::elementwise_kernel (for_each)");
}

} // namespace trident::detail
