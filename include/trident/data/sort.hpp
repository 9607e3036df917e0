#pragma once
/// \file data/sort.hpp
/// `trident::sort` and `trident::stable_sort`.
///
/// \code
///   trident::sort(trident::par, keys);                        // radix sort: arithmetic keys, default order
///   trident::sort(trident::par, keys, std::greater<>{});      // radix sort, descending
///   trident::stable_sort(trident::par, people, [](const person& a, const person& b) { return a.age < b.age; });
/// \endcode
///
/// Which algorithm runs:
/// - arithmetic elements (not bool) with no comparator, `std::less<>`/`std::less<T>` or
///   `std::greater<>`/`std::greater<T>`: a least-significant-digit radix sort (8-bit digits, digits on
///   which all keys agree skipped), O(n * sizeof(T)) work, parallel histogram and scatter per pass.
///   It is stable, so it serves `stable_sort` too.  -0.0 and +0.0 are equal keys; NaN is not
///   allowed (as for std::sort).
/// - otherwise a merge sort: one block per worker sorted, then rounds of parallel merges, each
///   merge cut at merge-path split points.  Trivially copyable elements of at most 32 bytes in
///   contiguous memory use trident's stable merge sort with branch-free merges throughout (random
///   keys make std::sort mispredict a branch per comparison); other elements are sorted per block
///   with std::sort (std::stable_sort for stable_sort) and merged by moving.  O(n log n)
///   comparisons; n elements of scratch.  Move-only elements are fine.
///
/// Requirements: a random-access range of move-assignable elements; `comp` a strict weak order.
///
/// Exceptions: the first exception from `comp` (or from moving an element) reaches the caller;
/// the range is then left valid but unspecified, as std::sort leaves it (an element held aside by
/// an insertion step when `comp` throws may be lost, moved-from, in the range).
///
/// GPU: CUB's radix sort (cub::DeviceRadixSort) for the radix case, CUB's merge sort otherwise.

#include "trident/detail/dispatch.hpp"
#include "trident/detail/merge_sort.hpp"
#include "trident/detail/radix_sort.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <ranges>
#include <type_traits>

namespace trident {
namespace detail {

template <class Range, class Compare>
void sort_entry(const auto& policy, Range& range, Compare& comp, bool stable)
{
    using T = std::ranges::range_value_t<Range>;
    const auto n = static_cast<std::size_t>(std::ranges::size(range));
    dispatch<device_ranges<Range>() && (radix_order<T, Compare>() != 0 || device_callable<Compare>()),
             any_device_range<Range>()>(
        policy, offload_sort<Range, radix_order<T, Compare>() != 0>(n, comp),
        [&](const auto& exec) {
            require_host_range<Range>();
            auto first = std::ranges::begin(range);
            constexpr int order = radix_order<T, Compare>();
            if constexpr (order != 0 && std::ranges::contiguous_range<Range>) {
                T* data = std::to_address(first);
                if constexpr (order == 1)
                    radix_sort(exec, data, n, radix_key<T, false>{});
                else
                    radix_sort(exec, data, n, radix_key<T, true>{});
            } else {
                merge_sort(exec, first, n, comp, stable);
            }
        },
        [&](const auto& gpu_policy) {
            cuda_backend<std::remove_cvref_t<decltype(gpu_policy)>>::sort(gpu_policy, range, comp, stable);
        });
}

template <class Range, class Compare>
constexpr void check_sort_arguments()
{
    static_assert(std::ranges::random_access_range<Range>,
                  "trident::sort: the range must be random-access (std::vector, std::array, std::span, ...)");
    using T = std::ranges::range_value_t<Range>;
    static_assert(std::is_move_constructible_v<T> && std::is_move_assignable_v<T>,
                  "trident::sort: the elements must be move-constructible and move-assignable");
    static_assert(std::is_invocable_r_v<bool, Compare&, const T&, const T&>,
                  "trident::sort: the comparator must take two elements and return bool (a strict weak order)");
}

} // namespace detail

template <class Policy, class Range, class Compare = std::less<>>
void sort(const Policy& policy, Range&& range, Compare comp = {})
{
    detail::check_sort_arguments<Range, Compare>();
    detail::sort_entry(policy, range, comp, false);
}

template <class Policy, class Range, class Compare = std::less<>>
void stable_sort(const Policy& policy, Range&& range, Compare comp = {})
{
    detail::check_sort_arguments<Range, Compare>();
    detail::sort_entry(policy, range, comp, true);
}

} // namespace trident
