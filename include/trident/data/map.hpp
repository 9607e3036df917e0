#pragma once
/// \file data/map.hpp
/// `trident::map`: out[i] = f(in[i]) for every element.
///
/// \code
///   std::vector<double> squares = trident::map(trident::par, x, [](double v) { return v * v; });
///   trident::map(trident::par, x, y, [](double v) { return 2 * v; });   // into an existing range
/// \endcode
///
/// Two forms:
/// - `map(policy, in, out, f)` writes into the random-access range `out` and returns the iterator
///   past the last element written.  `out` may be `in` itself (an in-place map).
/// - `map(policy, in, f)` returns a new `std::vector` of f's result type, which must be default
///   constructible (the vector is sized first, then filled in parallel).
///
/// Requirements: `in` random-access; `f` callable with an element reference; its result assignable
/// to an element of `out`.  Calls of `f` may run at once and in any order.  Move-only results are
/// fine (each is moved into place).  A `std::vector<bool>` output (which `map(policy, in, f)`
/// returns for a `bool` result) is cut only at multiples of 64 elements, because its bits share
/// words; any other output whose elements are proxies (not `value_type&`) is written by one thread.
///
/// Complexity: n calls of `f`.  Exceptions: as for_each; `std::invalid_argument` when `out` is
/// shorter than `in` (the message gives both sizes).
///
/// GPU: with host ranges the input is copied to the device and the output back; see the README's
/// "Data on the GPU" for what that costs and how `trident::device_vector` avoids it.

#include "trident/backend/dispatch.hpp"
#include "trident/detail/device_call.hpp"
#include "trident/backend/written_range.hpp"

#include <cstddef>
#include <functional>
#include <iterator>
#include <ranges>
#include <type_traits>
#include <vector>

namespace trident {
namespace detail {

// Each requirement is checked only when the ones before it hold, and the algorithm is instantiated
// only when all hold: a failed requirement is the only error.
template <class In, class F>
constexpr bool map_input_requirements()
{
    constexpr bool random_access = std::ranges::random_access_range<In>;
    static_assert(random_access,
                  "trident::map: the input range must be random-access (std::vector, std::array, std::span, ...)");
    if constexpr (!random_access) {
        return false;
    } else {
        constexpr bool callable = std::is_invocable_v<F&, std::ranges::range_reference_t<In>>;
        static_assert(callable, "trident::map: f must be callable with a reference to an input element");
        return callable;
    }
}

template <class In, class Out, class F>
constexpr bool map_requirements()
{
    if constexpr (!map_input_requirements<In, F>()) {
        return false;
    } else {
        constexpr bool random_access = std::ranges::random_access_range<Out>;
        static_assert(random_access, "trident::map: the output range must be random-access");
        if constexpr (!random_access) {
            return false;
        } else {
            constexpr bool assignable =
                std::is_assignable_v<std::ranges::range_reference_t<Out>,
                                     std::invoke_result_t<F&, std::ranges::range_reference_t<In>>>;
            static_assert(assignable, "trident::map: f's result must be assignable to an element of the output range");
            return assignable;
        }
    }
}

} // namespace detail

template <class Policy, class In, class Out, class F>
auto map(const Policy& policy, In&& in, Out&& out, F f)
{
    if constexpr (detail::map_requirements<In, Out, F>()) {
        const auto n = static_cast<std::size_t>(std::ranges::size(in));
        detail::check_output_size("trident::map", n, static_cast<std::size_t>(std::ranges::size(out)));
        detail::dispatch<detail::device_ranges<In, Out>() && detail::device_callable<F>(),
                         detail::any_device_range<In, Out>()>(
            policy, detail::offload_map<In, Out>(n, f),
            [&](const auto& exec) {
                detail::require_host_range<In>();
                detail::require_host_range<Out>();
                auto src = std::ranges::begin(in);
                auto dst = std::ranges::begin(out);
                // a std::vector<bool> output is cut at word boundaries (see detail/written_range.hpp)
                detail::for_written_chunks<Out>(exec, n, [&](std::size_t b, std::size_t e) {
                    for (std::size_t i = b; i < e; ++i) {
                        const auto k = static_cast<std::ptrdiff_t>(i);
                        dst[k] = std::invoke(f, src[k]);
                    }
                });
            },
            detail::on_device<detail::device_algo::map>(in, out, f));
        return std::ranges::next(std::ranges::begin(out), static_cast<std::ptrdiff_t>(n));
    } else if constexpr (std::ranges::range<Out>) {
        return std::ranges::iterator_t<Out>{}; // never runs: the caller's use of the result adds no error
    }
}

template <class Policy, class In, class F>
auto map(const Policy& policy, In&& in, F f)
{
    if constexpr (detail::map_input_requirements<In, F>()) {
        using R = std::remove_cvref_t<std::invoke_result_t<F&, std::ranges::range_reference_t<In>>>;
        constexpr bool default_constructible = std::is_default_constructible_v<R>;
        static_assert(default_constructible,
                      "trident::map(policy, in, f) returns a std::vector, so f's result type must be default "
                      "constructible; use map(policy, in, out, f) to write into a range of your own");
        std::vector<R> out;
        if constexpr (default_constructible) {
            out.resize(static_cast<std::size_t>(std::ranges::size(in)));
            trident::map(policy, in, out, std::move(f));
        }
        return out;
    } else {
        return std::vector<int>{}; // never runs: the caller's use of the result adds no error
    }
}

} // namespace trident
