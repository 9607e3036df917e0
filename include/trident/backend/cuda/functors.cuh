#pragma once
/// \file backend/cuda/functors.cuh
/// The device form of the user's functions (std:: functors swapped for their cuda::std:: twins,
/// hint wrappers removed) and the conversions that keep a reduction's accumulator in init's type.
/// Only nvcc sees this header.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/functors.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/hints.hpp"
#include "trident/lambda.hpp"

#include <cuda/functional>
#include <cuda/std/functional>

#include <functional>
#include <type_traits>
#include <utility>

namespace trident {
struct identity_fn; // data/reduce.hpp
}

namespace trident::detail {

/// std:: functors are host-only: swap them for their cuda::std:: twins; anything else is kept.
template <class Op> struct to_device_fn {
    static const Op& make(const Op& op) { return op; }
};
template <class X> struct to_device_fn<std::plus<X>> {
    static cuda::std::plus<X> make(const std::plus<X>&) { return {}; }
};
template <class X> struct to_device_fn<std::multiplies<X>> {
    static cuda::std::multiplies<X> make(const std::multiplies<X>&) { return {}; }
};
template <class X> struct to_device_fn<std::less<X>> {
    static cuda::std::less<X> make(const std::less<X>&) { return {}; }
};
template <class X> struct to_device_fn<std::greater<X>> {
    static cuda::std::greater<X> make(const std::greater<X>&) { return {}; }
};

/// The device form of a function: hint wrappers (hints.hpp) removed, std:: functors swapped.
template <class F>
decltype(auto) device_fn(const F& f)
{
    return to_device_fn<unwrapped_t<F>>::make(unwrap_hints(f));
}

/// x -> T(f(x)); identity_fn is skipped (its std::forward is not a device function).
template <class F, class T>
struct convert_fn {
    F f;
    template <class X>
    TRIDENT_HOST_DEVICE T operator()(X&& x) const
    {
        if constexpr (std::is_same_v<F, trident::identity_fn>)
            return T(x);
        else
            return T(f(x));
    }
};

/// op with its result converted to T, so that an accumulator keeps init's type as on the CPU.
template <class T, class Op>
struct accumulate_as {
    Op op;
    TRIDENT_HOST_DEVICE T operator()(const T& a, const T& b) const { return T(op(a, b)); }
};

/// The operator a reduction over T accumulates with: op itself when op(T, T) is already a T.
template <class T, class Op>
auto accumulating(const Op& op)
{
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(op(std::declval<const T&>(), std::declval<const T&>()))>, T>)
        return op;
    else
        return accumulate_as<T, Op>{op};
}

} // namespace trident::detail
