#pragma once
/// \file data/for_each.hpp
/// `trident::for_each` and `trident::for_each_index`: run a function on every element / index.
///
/// \code
///   trident::for_each(trident::par, pixels, [](pixel& p) { p = gray(p); });
///   trident::for_each_index(trident::par, n, [&](std::size_t i) { y[i] = a * x[i] + y[i]; });
///   // in a .cu file, on the GPU:
///   trident::for_each_index(trident::gpu, n, TRIDENT_LAMBDA(std::size_t i) { d[i] *= 2; });
/// \endcode
///
/// Requirements: `range` is a random-access range; `f` is callable with an element reference
/// (`for_each`) or a `std::size_t` index (`for_each_index`).  Calls of `f` on different elements may
/// run at once and in any order, so `f` must not race with itself.  `for_each_index` refuses at
/// compile time an `f` whose index parameter is an integer narrower than `std::size_t` (`f(int)`,
/// `f(unsigned)`: the index would wrap at 2^31 or 2^32); a generic `f(auto i)` gets a `std::size_t`.
/// A `std::vector<bool>` is cut only at multiples of 64 elements (its bits share words), and any
/// other range whose elements are proxies (not `value_type&`) is processed by one thread, because
/// `f` may write through the proxy and trident cannot know which elements share a memory word.
///
/// Complexity: n calls of `f`; O(n / workers + log workers) time under `par`.
///
/// Exceptions: the first exception thrown by `f` under `par` is rethrown in the caller and the
/// remaining chunks are cancelled (elements already processed stay processed).
/// `std::invalid_argument` for a negative count.
///
/// GPU: `f` must be device-callable (TRIDENT_LAMBDA).  `for_each` over a host range copies the
/// range to the device and back (two PCIe transfers); over a `trident::device_vector` nothing moves.
/// `for_each_index` moves nothing: whatever `f` touches must already be device memory.

#include "trident/backend/dispatch.hpp"
#include "trident/detail/device_call.hpp"
#include "trident/detail/index_arg.hpp"
#include "trident/backend/written_range.hpp"

#include <cstddef>
#include <functional>
#include <iterator>
#include <ranges>
#include <type_traits>

namespace trident {
namespace detail {

// Each requirement is checked only when the ones before it hold, and the algorithm is instantiated
// only when all hold: a failed requirement is the only error.
template <class Range, class F>
constexpr bool for_each_requirements()
{
    constexpr bool random_access = std::ranges::random_access_range<Range>;
    static_assert(random_access,
                  "trident::for_each: the range must be random-access (std::vector, std::array, std::span, ...)");
    if constexpr (!random_access) {
        return false;
    } else {
        constexpr bool callable = std::is_invocable_v<F&, std::ranges::range_reference_t<Range>>;
        static_assert(callable, "trident::for_each: f must be callable with a reference to an element of the range");
        return callable;
    }
}

template <class Size, class F>
constexpr bool for_each_index_requirements()
{
    constexpr bool integral = std::is_integral_v<Size>;
    static_assert(integral, "trident::for_each_index: the count must be an integer");
    constexpr bool callable = std::is_invocable_v<F&, std::size_t>;
    static_assert(!integral || callable, "trident::for_each_index: f must be callable with a std::size_t index");
    constexpr bool full_index = !callable || takes_full_index<F>();
    static_assert(!integral || full_index,
                  "trident::for_each_index: f must take its index as std::size_t (or another 64-bit integer): "
                  "a narrower parameter such as int or unsigned would wrap silently at 2^31 or 2^32");
    return integral && callable && full_index;
}

} // namespace detail

template <class Policy, class Range, class F>
void for_each(const Policy& policy, Range&& range, F f)
{
    if constexpr (detail::for_each_requirements<Range, F>()) {
        const auto n = static_cast<std::size_t>(std::ranges::size(range));
        detail::dispatch<detail::device_ranges<Range>() && detail::device_callable<F>(), detail::any_device_range<Range>()>(
            policy, detail::offload_for_each<Range>(n, f),
            [&](const auto& exec) {
                detail::require_host_range<Range>();
                auto first = std::ranges::begin(range);
                // f may write its element: a std::vector<bool> is cut at word boundaries
                detail::for_written_chunks<Range>(exec, n, [&](std::size_t b, std::size_t e) {
                    for (std::size_t i = b; i < e; ++i)
                        std::invoke(f, first[static_cast<std::ptrdiff_t>(i)]);
                });
            },
            detail::on_device<detail::device_algo::for_each>(range, f));
    }
}

template <class Policy, class Size, class F>
void for_each_index(const Policy& policy, Size count, F f)
{
    if constexpr (detail::for_each_index_requirements<Size, F>()) {
        const std::size_t n = detail::checked_count("trident::for_each_index", count);
        detail::dispatch<detail::device_callable<F>()>(
            policy, detail::offload_index(n, f),
            [&](const auto& exec) {
                exec.for_chunks(n, [&](std::size_t b, std::size_t e) {
                    for (std::size_t i = b; i < e; ++i)
                        std::invoke(f, i);
                });
            },
            detail::on_device<detail::device_algo::for_each_index>(n, f));
    }
}

} // namespace trident
