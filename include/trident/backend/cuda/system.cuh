#pragma once
/// \file backend/cuda/system.cuh
/// The CUDA system: the primitives the generic device algorithms are written from
/// (backend/generic/device_algorithms.hpp), each a thin name for this directory's parts:
/// | primitive              | CUDA                                                             |
/// |------------------------|------------------------------------------------------------------|
/// | call                   | gpu_call (launch.cuh): the policy's device and stream            |
/// | staged<R>              | staging.cuh: device ranges in place, host ranges copied          |
/// | ranges_ok, value_ok    | staging.cuh / check.cuh: contiguous or device ranges, trivially  |
/// |                        | copyable elements and init values                                |
/// | launch_n               | launch.cuh's element-wise kernel, one index per step             |
/// | for_each_n, transform_n| for_each.cuh: the element-wise kernel, 16 bytes per step         |
/// | map_reduce_n           | reduce.cuh: cub::DeviceReduce or the order-keeping reduction     |
/// The algorithms CUB does better than the generic layer are the system's own overloads of
/// device_algorithm: scan.cuh and sort.cuh.  Only nvcc sees this header.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/system.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/for_each.cuh"
#include "trident/backend/cuda/functors.cuh"
#include "trident/backend/cuda/launch.cuh"
#include "trident/backend/cuda/reduce.cuh"
#include "trident/backend/cuda/staging.cuh"
#include "trident/backend/generic/device_algorithms.hpp"

#include <cstddef>
#include <type_traits>

namespace trident::detail {

struct cuda_system : device_system<cuda_system> {
    using call = gpu_call;
    template <class R>
    using staged = trident::detail::staged<R>;

    template <class... R>
    static constexpr bool ranges_ok()
    {
        return gpu_ranges_ok<R...>();
    }

    template <class T>
    static constexpr bool value_ok()
    {
        require_trivially_copyable<T>();
        return std::is_trivially_copyable_v<T>;
    }

    template <class F>
    static void launch_n(const gpu_call& c, std::size_t n, const F& f)
    {
        c.launch(n, device_fn(f));
    }

    template <class P, class F>
    static void for_each_n(const gpu_call& c, P data, std::size_t n, const F& f)
    {
        trident::detail::for_each_n(c, data, n, f);
    }

    template <class InP, class OutP, class F>
    static void transform_n(const gpu_call& c, InP in, OutP out, std::size_t n, const F& f)
    {
        trident::detail::transform_n(c, in, out, n, f);
    }

    template <class V, class P, class F, class T, class Op>
    static T map_reduce_n(const gpu_call& c, P data, std::size_t n, const F& f, const T& init, const Op& op)
    {
        return device_map_reduce<V>(c, data, n, device_fn(f), init, op);
    }
};

} // namespace trident::detail
