#pragma once
/// \file hints.hpp
/// What trident cannot see in a function, said by the caller: `trident::commutative(op)` and
/// `trident::offloadable(f)`.
///
/// \code
///   // a user operator that may be applied in any order: the GPU uses CUB's reduction for it
///   auto total = trident::reduce(trident::gpu, d, stats{}, trident::commutative(TRIDENT_LAMBDA(stats a, stats b) {
///       return merge(a, b); }));
///   // a function that touches only its argument (or memory both CPU and GPU reach): automatic may
///   // run it on the GPU; 200 ns is its CPU cost per call, which makes the copies pay off
///   trident::map(trident::automatic, x, y, trident::offloadable(TRIDENT_LAMBDA(double v) { return heavy(v); }, 200));
/// \endcode
///
/// **commutative(op)** says that `op(a, b) == op(b, a)` (op must be associative in any case).  On
/// the CPU nothing changes: `reduce` and `map_reduce` always combine in index order.  On the GPU a
/// commutative operator runs through `cub::DeviceReduce` (one pass, a few KiB of scratch); any
/// other operator through trident's order-keeping reduction (also one pass, one partial per block
/// of scratch).  `std::plus`, `std::multiplies` (and `cuda::minimum` / `cuda::maximum` under nvcc)
/// on arithmetic types count as commutative without the wrapper.  For a function object type of
/// your own, specialise `trident::is_commutative_v<Op>` to `true` instead.
///
/// **offloadable(f[, cpu_ns_per_call])** says that `f` touches nothing but its arguments, the
/// values it captured by copy, and memory both the CPU and the GPU can reach (managed memory), so
/// that `trident::automatic` may run it on either; without it automatic keeps every call with a
/// user function on the CPU (a `TRIDENT_LAMBDA` that captures a host pointer would fault on the
/// GPU).  `cpu_ns_per_call` is the function's own CPU cost per call, in nanoseconds, for
/// automatic's cost model (see policy.hpp): 0, the default, means "cheap".  For a function object
/// type of your own, specialise `trident::is_offloadable_v<F>` to `true` instead (cost 0).
/// Wrappers nest (`commutative(offloadable(op))`); explicit policies ignore `offloadable`.
///
/// Requirements: the wrapped function is copied into the wrapper.  The wrappers are for passing to
/// trident algorithms; their call operators are host functions (the GPU backend unwraps them).
/// \throws std::invalid_argument from offloadable() when cpu_ns_per_call is negative or not finite.

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace trident {

/// `op`, declared commutative (see the file comment).
template <class Op>
struct commutative_fn {
    Op op;

    template <class A, class B>
    constexpr decltype(auto) operator()(A&& a, B&& b) const
    {
        return std::invoke(op, std::forward<A>(a), std::forward<B>(b));
    }
    template <class A, class B>
    constexpr decltype(auto) operator()(A&& a, B&& b)
    {
        return std::invoke(op, std::forward<A>(a), std::forward<B>(b));
    }
};

/// `f`, declared safe for trident::automatic to run on the GPU (see the file comment).
template <class F>
struct offloadable_fn {
    F f;
    double cpu_ns_per_call = 0;

    template <class... A>
    constexpr decltype(auto) operator()(A&&... a) const
    {
        return std::invoke(f, std::forward<A>(a)...);
    }
    template <class... A>
    constexpr decltype(auto) operator()(A&&... a)
    {
        return std::invoke(f, std::forward<A>(a)...);
    }
};

/// Specialise to `true` for an operator type that is commutative.
template <class Op> inline constexpr bool is_commutative_v = false;
template <class Op> inline constexpr bool is_commutative_v<commutative_fn<Op>> = true;

/// Specialise to `true` for a function type that automatic may run on the GPU (cost 0).
template <class F> inline constexpr bool is_offloadable_v = false;
template <class F> inline constexpr bool is_offloadable_v<offloadable_fn<F>> = true;

template <class Op>
[[nodiscard]] constexpr commutative_fn<std::decay_t<Op>> commutative(Op&& op)
{
    return {std::forward<Op>(op)};
}

template <class F>
[[nodiscard]] offloadable_fn<std::decay_t<F>> offloadable(F&& f, double cpu_ns_per_call = 0)
{
    if (!std::isfinite(cpu_ns_per_call) || cpu_ns_per_call < 0)
        throw std::invalid_argument("trident::offloadable(f, cpu_ns_per_call): the cost must be a finite number of "
                                    "nanoseconds >= 0, got " + std::to_string(cpu_ns_per_call));
    return {std::forward<F>(f), cpu_ns_per_call};
}

} // namespace trident

namespace trident::detail {

/// What the hint wrappers around F say (through any nesting).
template <class F>
struct hint_traits {
    using inner = F;
    static constexpr bool commutative = is_commutative_v<F>;
    static constexpr bool offloadable = is_offloadable_v<F>;
};
template <class F>
struct hint_traits<commutative_fn<F>> {
    using inner = typename hint_traits<F>::inner;
    static constexpr bool commutative = true;
    static constexpr bool offloadable = hint_traits<F>::offloadable;
};
template <class F>
struct hint_traits<offloadable_fn<F>> {
    using inner = typename hint_traits<F>::inner;
    static constexpr bool commutative = hint_traits<F>::commutative;
    static constexpr bool offloadable = true;
};

template <class F> constexpr const F& unwrap_hints(const F& f) noexcept;
template <class F> constexpr const typename hint_traits<F>::inner& unwrap_hints(const commutative_fn<F>& w) noexcept;
template <class F> constexpr const typename hint_traits<F>::inner& unwrap_hints(const offloadable_fn<F>& w) noexcept;

/// The function inside any number of hint wrappers.
template <class F>
constexpr const F& unwrap_hints(const F& f) noexcept
{
    return f;
}
template <class F>
constexpr const typename hint_traits<F>::inner& unwrap_hints(const commutative_fn<F>& w) noexcept
{
    return unwrap_hints(w.op);
}
template <class F>
constexpr const typename hint_traits<F>::inner& unwrap_hints(const offloadable_fn<F>& w) noexcept
{
    return unwrap_hints(w.f);
}

template <class F>
using unwrapped_t = typename hint_traits<std::remove_cvref_t<F>>::inner;

template <class F>
constexpr bool declared_commutative()
{
    return hint_traits<std::remove_cvref_t<F>>::commutative;
}

template <class F>
constexpr bool declared_offloadable()
{
    return hint_traits<std::remove_cvref_t<F>>::offloadable;
}

/// The cpu_ns_per_call the offloadable() layers gave (their sum), or 0.
template <class F>
constexpr double declared_cpu_ns(const F&) noexcept
{
    return 0;
}
template <class F>
constexpr double declared_cpu_ns(const offloadable_fn<F>& w) noexcept;
template <class F>
constexpr double declared_cpu_ns(const commutative_fn<F>& w) noexcept
{
    return declared_cpu_ns(w.op);
}
template <class F>
constexpr double declared_cpu_ns(const offloadable_fn<F>& w) noexcept
{
    return w.cpu_ns_per_call + declared_cpu_ns(w.f);
}

} // namespace trident::detail
