#pragma once
/// \file data/reduce.hpp
/// `trident::reduce` and `trident::map_reduce`: combine every element (or f of every element).
///
/// \code
///   double total = trident::reduce(trident::par, x, 0.0);                               // sum
///   double big   = trident::reduce(trident::par, x, -inf, [](double a, double b) { return std::max(a, b); });
///   double ss    = trident::map_reduce(trident::par, x, [](double v) { return v * v; }, 0.0, std::plus<>{});
/// \endcode
///
/// Result: init ⊕ e0 ⊕ e1 ⊕ ... ⊕ e(n-1) (with ei = f(in[i]) for map_reduce), grouped in any way
/// but never reordered.  `op` must be associative; it need NOT be commutative (string
/// concatenation, matrix products and other order-sensitive operators give the sequential result).
/// `init` is used once, so it need not be an identity.  Floating-point sums may differ from a
/// sequential left fold in the last bits, because the grouping differs.
///
/// Requirements: `op(T, T)` with T = the type of `init`, and elements (or f's results) convertible
/// to T.  T may be move-only.  An empty range returns `init`.
///
/// Complexity: n - 1 + chunks applications of `op` (and n calls of `f`); O(n / workers + log workers) time.
///
/// Exceptions: the first exception thrown by `f` or `op` under `par` reaches the caller; the rest of
/// the call is cancelled.
///
/// Commutative operators: `trident::commutative(op)` (hints.hpp), or specialising
/// `trident::is_commutative_v<Op>`, says that op's operands may be swapped.  On the CPU it changes
/// nothing (the order is always kept).
///
/// GPU: the accumulator is T, as on the CPU.  CUB's device reduction (cub::DeviceReduce) for
/// commutative operators (declared so, or std::plus / std::multiplies on arithmetic types); any
/// other operator takes trident's order-keeping reduction (each block reduces a contiguous run in
/// order, then the per-block partials are reduced in order: one pass over the data, at most 1025 T
/// of scratch; T must then be default constructible).  A host range is copied to the device first;
/// only the result comes back.

#include "trident/detail/accumulate.hpp"
#include "trident/backend/dispatch.hpp"
#include "trident/detail/device_call.hpp"
#include "trident/lambda.hpp"

#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

namespace trident {
namespace detail {

// Each requirement is checked only when the ones before it hold, and the algorithm is instantiated
// only when all hold: a failed requirement is the only error.
template <class Range, class F, class T, class Op>
constexpr bool map_reduce_requirements()
{
    constexpr bool random_access = std::ranges::random_access_range<Range>;
    static_assert(random_access,
                  "trident::map_reduce: the range must be random-access (std::vector, std::array, std::span, ...)");
    if constexpr (!random_access) {
        return false;
    } else {
        constexpr bool callable = std::is_invocable_v<F&, std::ranges::range_reference_t<Range>>;
        static_assert(callable, "trident::map_reduce: f must be callable with a reference to an element");
        if constexpr (!callable) {
            return false;
        } else {
            using Mapped = std::invoke_result_t<F&, std::ranges::range_reference_t<Range>>;
            constexpr bool convertible = std::is_constructible_v<T, Mapped>;
            static_assert(convertible, "trident::map_reduce: f's result must be convertible to the type of init");
            constexpr bool combines = std::is_invocable_r_v<T, Op&, T, T>;
            static_assert(!convertible || combines,
                          "trident::map_reduce: op must take two values of init's type and return one");
            return convertible && combines;
        }
    }
}

template <class Range, class T, class Op>
constexpr bool reduce_requirements()
{
    constexpr bool random_access = std::ranges::random_access_range<Range>;
    static_assert(random_access,
                  "trident::reduce: the range must be random-access (std::vector, std::array, std::span, ...)");
    if constexpr (!random_access) {
        return false;
    } else {
        constexpr bool convertible = std::is_constructible_v<T, std::ranges::range_reference_t<Range>>;
        static_assert(convertible, "trident::reduce: the elements must be convertible to the type of init");
        constexpr bool combines = std::is_invocable_r_v<T, Op&, T, T>;
        static_assert(!convertible || combines, "trident::reduce: op must take two values of init's type and return one");
        return convertible && combines;
    }
}

} // namespace detail

template <class Policy, class Range, class F, class T, class Op = std::plus<>>
T map_reduce(const Policy& policy, Range&& range, F f, T init, Op op = {})
{
    if constexpr (!detail::map_reduce_requirements<Range, F, T, Op>()) {
        return init; // never runs: the requirement's static_assert failed
    } else {
        const auto n = static_cast<std::size_t>(std::ranges::size(range));
        return detail::dispatch<detail::device_ranges<Range>() && detail::device_callable<F>() &&
                                    detail::device_callable<Op>(),
                                detail::any_device_range<Range>()>(
            policy, detail::offload_reduce<Range>(n, f, op),
            [&](const auto& exec) -> T {
                detail::require_host_range<Range>();
                auto first = std::ranges::begin(range);
                auto get = [&](std::size_t i) -> T { return T(std::invoke(f, first[static_cast<std::ptrdiff_t>(i)])); };
                auto combine = [&](T a, T b) -> T { return std::invoke(op, std::move(a), std::move(b)); };
                std::optional<T> body = exec.reduce_chunks(
                    n, [&](std::size_t b, std::size_t e) { return detail::accumulate_chunk<T>(b, e, get, combine); },
                    combine);
                if (!body)
                    return std::move(init);
                return combine(std::move(init), std::move(*body));
            },
            detail::on_device<detail::device_algo::map_reduce>(range, f, init, op));
    }
}

struct identity_fn {
    template <class X>
    TRIDENT_HOST_DEVICE constexpr X&& operator()(X&& x) const noexcept
    {
        return std::forward<X>(x);
    }
};

template <class Policy, class Range, class T, class Op = std::plus<>>
T reduce(const Policy& policy, Range&& range, T init, Op op = {})
{
    if constexpr (!detail::reduce_requirements<Range, T, Op>())
        return init; // never runs: the requirement's static_assert failed
    else
        return trident::map_reduce(policy, std::forward<Range>(range), identity_fn{}, std::move(init), std::move(op));
}

template <> inline constexpr bool is_device_callable_v<identity_fn> = true;

} // namespace trident
