#pragma once
/// \file backend/generic/device_algorithms.hpp
/// The generic device algorithms: the data algorithms that need no device algorithm of their own,
/// written once from a device system's primitives (as Thrust's system/detail/generic serves its
/// systems).  A device system is a type `S` derived from `device_system<S>`; a call
///   device_algorithm(S{}, device_algo::X{}, policy, args...)
/// takes the system's own overload for X (parameter `const S&`) when there is one, otherwise the
/// generic one here (parameter `const device_system<S>&`, a worse match).  Today the CUDA system
/// (backend/cuda/system.cuh) runs for_each, for_each_index, map and map_reduce from here, and has
/// its own scans and sorts (CUB).
///
/// What a system supplies (backend/cuda/system.cuh for CUDA):
/// - `S::call`: one call's device and stream, built from the policy; it checks the device when
///   built; `finish(to_host)` ends the call (waits when results reach the host or no stream was named).
/// - `S::staged<R>`: a range's device memory for the call (`get()`, `copy_back(n)`, `host_output`).
/// - `S::ranges_ok<R...>()`, `S::value_ok<T>()`: compile-time checks, a static_assert with a
///   sentence for each failed requirement.
/// - `S::launch_n(call, n, f)`: f(i) for i < n; `S::for_each_n(call, p, n, f)`: f(p[i]);
///   `S::transform_n(call, in, out, n, f)`: out[i] = f(in[i]); `S::map_reduce_n<V>(call, p, n, f,
///   init, op)`: init ⊕ f(p[0]) ⊕ ... ⊕ f(p[n-1]) as init's type, waiting for the result.
/// Each algorithm builds its call before anything else (so that an unusable device is reported
/// for empty input too), stages its inputs, runs, copies host outputs back and finishes the call.

#include "trident/detail/device_call.hpp"

#include <cstddef>
#include <ranges>

namespace trident::detail {

/// The base of a device system S (CRTP): names S for the generic algorithms.
template <class S>
struct device_system {};

template <class S, class Policy, class Range, class F>
void device_algorithm(const device_system<S>&, device_algo::for_each, const Policy& policy, Range& range, F& f)
{
    if constexpr (S::template ranges_ok<Range>()) {
        const auto n = static_cast<std::size_t>(std::ranges::size(range));
        typename S::call call(policy);
        if (n == 0)
            return;
        typename S::template staged<Range> data(range, n, call, true);
        S::for_each_n(call, data.get(), n, f);
        data.copy_back(n);
        call.finish(S::template staged<Range>::host_output);
    }
}

template <class S, class Policy, class F>
void device_algorithm(const device_system<S>&, device_algo::for_each_index, const Policy& policy, const std::size_t& n,
                      F& f)
{
    typename S::call call(policy);
    if (n == 0)
        return;
    S::launch_n(call, n, f);
    call.finish(false);
}

template <class S, class Policy, class In, class Out, class F>
void device_algorithm(const device_system<S>&, device_algo::map, const Policy& policy, In& in, Out& out, F& f)
{
    if constexpr (S::template ranges_ok<In, Out>()) {
        const auto n = static_cast<std::size_t>(std::ranges::size(in));
        typename S::call call(policy);
        if (n == 0)
            return;
        typename S::template staged<In> src(in, n, call, true);
        typename S::template staged<Out> dst(out, n, call, false);
        S::transform_n(call, src.get(), dst.get(), n, f);
        dst.copy_back(n);
        call.finish(S::template staged<Out>::host_output);
    }
}

template <class S, class Policy, class Range, class F, class T, class Op>
T device_algorithm(const device_system<S>&, device_algo::map_reduce, const Policy& policy, Range& range, F& f, T& init,
                   Op& op)
{
    constexpr bool ranges_ok = S::template ranges_ok<Range>();
    constexpr bool value_ok = S::template value_ok<T>();
    if constexpr (ranges_ok && value_ok) {
        const auto n = static_cast<std::size_t>(std::ranges::size(range));
        typename S::call call(policy);
        if (n == 0)
            return init;
        typename S::template staged<Range> data(range, n, call, true);
        return S::template map_reduce_n<std::ranges::range_value_t<Range>>(call, data.get(), n, f, init, op);
    } else {
        return init;
    }
}

} // namespace trident::detail
