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
/// - arithmetic elements (not bool) in contiguous memory with no comparator, `std::less<>`/`std::less<T>`
///   or `std::greater<>`/`std::greater<T>`: a least-significant-digit radix sort (8-bit digits, digits
///   on which all keys agree skipped), O(n * sizeof(T)) work, parallel histogram and scatter per
///   pass in four blocks per worker.  It is stable, so it serves `stable_sort` too.  -0.0 and +0.0
///   are equal keys; NaN is not allowed (as for std::sort: memory-safe, order unspecified).
/// - otherwise a stable merge sort (so `sort` is stable too): blocks, twice as many as workers,
///   sorted at once, then rounds of parallel merges, each cut at merge-path split points into more
///   pieces than workers.  Trivially copyable elements of at most 32 bytes in contiguous memory are
///   merged without data-dependent branches; other elements are moved into scratch and merged by
///   moving.  O(n log n) comparisons.  Move-only elements are fine (trivially copyable or not).
///   The split, and so the result, depends only on n and the worker count.
///
/// Scratch: n elements.  Blocks of 1 MiB or more are kept, once a sort is done, in a process-wide
/// cache for the next sorts (so that a repeated sort touches no fresh pages): at most 4 idle blocks
/// and TRIDENT_SORT_SCRATCH_CACHE_BYTES bytes (default 256 MiB; define it to 0 before including
/// trident to keep none), the least recently used freed first.  `trident::release_sort_scratch()`
/// frees the idle blocks now.
///
/// Requirements (each checked by a static_assert that says what is wrong): a random-access range
/// whose references are real references (not std::vector<bool>'s proxies) to non-const,
/// move-constructible and move-assignable elements; `comp(a, b)` callable on two const elements,
/// returning bool (with the default, the elements need operator<).  `comp` should be a strict weak
/// order; when it is not (NaN with `<`, a random answer) the order is unspecified, but the sort
/// stays memory-safe and the range stays a permutation of its input.
///
/// Exceptions: the first exception from `comp` reaches the caller, the rest of the work is
/// cancelled, and the range is left a permutation of its input (every element exactly once, in an
/// unspecified order) under every policy: stronger than std::sort and std::stable_sort, which may
/// leave elements moved-from.  This assumes that moving an element does not throw.  The radix sort
/// calls no comparator.
///
/// Complexity: as above; at most one scratch allocation per call (none when the cache has a block).
///
/// GPU: CUB's radix sort (cub::DeviceRadixSort) for the radix case, CUB's merge sort otherwise.

#include "trident/backend/dispatch.hpp"
#include "trident/detail/device_call.hpp"
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
                merge_sort(exec, first, n, comp);
            }
        },
        on_device<device_algo::sort>(range, comp, stable));
}

/// Whether sort's requirements hold; when not, one static_assert says which (the first that fails)
/// and the caller instantiates nothing else, so that the sentence is the first and only error.
template <class Range, class Compare>
constexpr bool check_sort_arguments()
{
    if constexpr (!std::ranges::random_access_range<Range>) {
        static_assert(always_false<Range>,
                      "trident::sort: the range must be random-access (std::vector, std::deque, std::array, std::span, "
                      "...); copy a std::list into a std::vector, or use std::list::sort");
        return false;
    } else if constexpr (!std::is_lvalue_reference_v<std::ranges::range_reference_t<Range>>) {
        static_assert(always_false<Range>,
                      "trident::sort: the range hands out proxy references (std::vector<bool> packs elements into "
                      "shared words, which parallel chunks would race on); sort a std::vector<char> or "
                      "std::vector<std::uint8_t> instead, or count the trues with trident::map_reduce and refill");
        return false;
    } else if constexpr (std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<Range>>>) {
        static_assert(always_false<Range>,
                      "trident::sort: the elements are const (a const container or std::span<const T>) and cannot "
                      "be reordered; sort a non-const range, or sort a copy");
        return false;
    } else if constexpr (!std::is_move_constructible_v<std::ranges::range_value_t<Range>> ||
                         !std::is_move_assignable_v<std::ranges::range_value_t<Range>>) {
        static_assert(always_false<Range>, "trident::sort: the elements must be move-constructible and move-assignable");
        return false;
    } else if constexpr (!std::is_invocable_r_v<bool, Compare&, const std::ranges::range_value_t<Range>&,
                                                 const std::ranges::range_value_t<Range>&>) {
        if constexpr (std::is_same_v<Compare, std::less<>> || std::is_same_v<Compare, std::less<std::ranges::range_value_t<Range>>>)
            static_assert(always_false<Range>,
                          "trident::sort: the elements have no operator< (for two const elements); declare one, or "
                          "pass a comparator: trident::sort(policy, range, [](const T& a, const T& b) { return ...; })");
        else
            static_assert(always_false<Range>,
                          "trident::sort: the comparator must be callable as comp(const T&, const T&) on two elements "
                          "and return bool (a strict weak order)");
        return false;
    } else {
        return true;
    }
}

} // namespace detail

/// Sorts `range` by `comp` (see the file's documentation).
template <class Policy, class Range, class Compare = std::less<>>
void sort(const Policy& policy, Range&& range, Compare comp = {})
{
    if constexpr (detail::check_sort_arguments<Range, Compare>())
        detail::sort_entry(policy, range, comp, false);
}

/// Sorts `range` by `comp`, keeping equal elements in their input order.
template <class Policy, class Range, class Compare = std::less<>>
void stable_sort(const Policy& policy, Range&& range, Compare comp = {})
{
    if constexpr (detail::check_sort_arguments<Range, Compare>())
        detail::sort_entry(policy, range, comp, true);
}

/// Frees the idle scratch memory that sorts keep for later sorts (see "Scratch" above); returns
/// how many bytes were idle.
inline std::size_t release_sort_scratch() noexcept
{
    const std::size_t bytes = detail::scratch_cache::idle_bytes();
    detail::scratch_cache::trim();
    return bytes;
}

} // namespace trident
