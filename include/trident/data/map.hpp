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
/// fine (each is moved into place).
///
/// Complexity: n calls of `f`.  Exceptions: as for_each; `std::invalid_argument` when `out` is
/// shorter than `in` (the message gives both sizes).
///
/// GPU: with host ranges the input is copied to the device and the output back; see the README's
/// "Data on the GPU" for what that costs and how `trident::device_vector` avoids it.

#include "trident/detail/dispatch.hpp"

#include <cstddef>
#include <functional>
#include <iterator>
#include <ranges>
#include <type_traits>
#include <vector>

namespace trident {

template <class Policy, class In, class Out, class F>
auto map(const Policy& policy, In&& in, Out&& out, F f)
{
    static_assert(std::ranges::random_access_range<In>,
                  "trident::map: the input range must be random-access (std::vector, std::array, std::span, ...)");
    static_assert(std::ranges::random_access_range<Out>, "trident::map: the output range must be random-access");
    static_assert(std::is_invocable_v<F&, std::ranges::range_reference_t<In>>,
                  "trident::map: f must be callable with a reference to an input element");
    static_assert(std::is_assignable_v<std::ranges::range_reference_t<Out>,
                                       std::invoke_result_t<F&, std::ranges::range_reference_t<In>>>,
                  "trident::map: f's result must be assignable to an element of the output range");
    const auto n = static_cast<std::size_t>(std::ranges::size(in));
    detail::check_output_size("trident::map", n, static_cast<std::size_t>(std::ranges::size(out)));
    detail::dispatch<detail::device_ranges<In, Out>() && detail::device_callable<F>(), detail::any_device_range<In, Out>()>(
        policy, detail::offload_map<In, Out>(n, f),
        [&](const auto& exec) {
            detail::require_host_range<In>();
            detail::require_host_range<Out>();
            auto src = std::ranges::begin(in);
            auto dst = std::ranges::begin(out);
            exec.for_chunks(n, [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i) {
                    const auto k = static_cast<std::ptrdiff_t>(i);
                    dst[k] = std::invoke(f, src[k]);
                }
            });
        },
        [&](const auto& gpu_policy) { detail::cuda_backend<std::remove_cvref_t<decltype(gpu_policy)>>::map(gpu_policy, in, out, f); });
    return std::ranges::next(std::ranges::begin(out), static_cast<std::ptrdiff_t>(n));
}

template <class Policy, class In, class F>
auto map(const Policy& policy, In&& in, F f)
{
    static_assert(std::ranges::random_access_range<In>,
                  "trident::map: the input range must be random-access (std::vector, std::array, std::span, ...)");
    static_assert(std::is_invocable_v<F&, std::ranges::range_reference_t<In>>,
                  "trident::map: f must be callable with a reference to an input element");
    using R = std::remove_cvref_t<std::invoke_result_t<F&, std::ranges::range_reference_t<In>>>;
    static_assert(std::is_default_constructible_v<R>,
                  "trident::map(policy, in, f) returns a std::vector, so f's result type must be default "
                  "constructible; use map(policy, in, out, f) to write into a range of your own");
    std::vector<R> out(static_cast<std::size_t>(std::ranges::size(in)));
    trident::map(policy, in, out, std::move(f));
    return out;
}

} // namespace trident
