#pragma once
/// \file data/scan.hpp
/// `trident::inclusive_scan` and `trident::exclusive_scan`: running totals.
///
/// \code
///   std::vector<int> x{3, 1, 4, 1, 5}, out(5);
///   trident::inclusive_scan(trident::par, x, out);              // 3 4 8 9 14
///   trident::exclusive_scan(trident::par, x, out, 0);           // 0 3 4 8 9
///   trident::inclusive_scan(trident::par, x, out, std::multiplies<>{}, 1);
/// \endcode
///
/// inclusive: out[i] = [init ⊕] in[0] ⊕ ... ⊕ in[i];  exclusive: out[i] = init ⊕ in[0] ⊕ ... ⊕ in[i-1].
/// `op` must be associative; it need not be commutative (a 2x2 matrix product gives the sequential
/// result).  `out` may be `in` (an in-place scan).  Both return the iterator past the last output.
///
/// Requirements: random-access `in` and `out`; `out` at least as long as `in`; T (init's type, or
/// the input's value type for inclusive_scan without init) copyable and assignable to `out`'s
/// elements; `op(T, element)` returning T.  No element is ever converted to T.
///
/// Complexity: under `par` the input is cut into tiles of at most 256 KiB that the workers take in
/// order: each tile is reduced, its carry is chained from the previous tile's, then the tile is
/// scanned from that carry while it is still in cache: about 2n applications of `op`, and the
/// memory traffic of the sequential scan (a tile is read from memory once).  A tile's reduction
/// needs a T made of its elements alone, so this parallel scan runs when T is the elements' type
/// (then `op(T, T)` combines two partial totals) or when T is an arithmetic type that holds the
/// arithmetic elements exactly and `op` is `std::plus` or `std::multiplies` (an int scan into a
/// long long total).  With any other T (an accumulator struct, a `std::pair`) the scan runs
/// sequentially under every policy, n applications of `op(T, element)`: without an identity every
/// T is init folded with elements from the left, one chain with no parallel form.
/// A `std::vector<bool>` output is cut into tiles at multiples of 64 elements (its bits share
/// words); any other output whose elements are proxies (not `value_type&`) is scanned by one thread.
///
/// Exceptions: `std::invalid_argument` when `out` is shorter than `in`; the first exception from
/// `op` reaches the caller.  GPU: CUB's device scans (cub::DeviceScan).

#include "trident/detail/accumulate.hpp"
#include "trident/backend/dispatch.hpp"
#include "trident/detail/device_call.hpp"
#include "trident/backend/written_range.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <type_traits>
#include <thread>
#include <utility>
#include <vector>

namespace trident {
namespace detail {

/// The smallest block a parallel scan hands to a task; below two of these the scan is inline.
inline constexpr std::size_t scan_min_block = 16384;

// Scans [b, e), b < e, from carry; returns the running total after e - 1.  No carry (an inclusive
// scan without init, whose T is the elements' type): start with in[b].
template <class T, class InIt, class OutIt, class Op>
T scan_block(InIt in, OutIt out, std::size_t b, std::size_t e, std::optional<T> carry, Op& op, bool inclusive)
{
    if (inclusive) {
        std::size_t i = b;
        if constexpr (std::is_same_v<T, std::iter_value_t<InIt>>) {
            if (!carry) {
                carry.emplace(in[static_cast<std::ptrdiff_t>(i)]);
                out[static_cast<std::ptrdiff_t>(i)] = *carry;
                ++i;
            }
        }
        T acc = std::move(*carry);
        for (; i < e; ++i) {
            acc = std::invoke(op, std::move(acc), in[static_cast<std::ptrdiff_t>(i)]);
            out[static_cast<std::ptrdiff_t>(i)] = acc;
        }
        return acc;
    } else {
        T acc = std::move(*carry);
        for (std::size_t i = b; i < e; ++i) {
            T next = std::invoke(op, acc, in[static_cast<std::ptrdiff_t>(i)]);
            out[static_cast<std::ptrdiff_t>(i)] = std::move(acc);
            acc = std::move(next);
        }
        return acc;
    }
}

/// Largest tile of the parallel scan: a tile is reduced and then scanned, and the scan should find it
/// in the worker's L2 cache.
inline constexpr std::size_t scan_tile_bytes = std::size_t{256} << 10;

// Tiles taken in order by whichever worker is free.  Tile t's carry (init and every element
// before it, folded left to right) is published by the worker that took tile t - 1: a worker
// reduces its tile, waits for the previous carry, publishes its own, then scans its tile.  The
// wait is short: the previous tile's worker publishes before scanning.  A worker that finds the
// previous carry already published scans at once and publishes after.
template <class T, std::size_t cut_step, class Exec, class InIt, class OutIt, class Op>
void scan_tiles(const Exec& exec, InIt in, OutIt out, std::size_t n, std::size_t workers, std::optional<T> init,
                Op& op, bool inclusive)
{
    const std::size_t max_tile = std::max<std::size_t>({scan_tile_bytes / sizeof(T), 1024, exec.grain()});
    std::size_t tile = std::clamp<std::size_t>(n / (workers * 8), std::min<std::size_t>(max_tile, 2048), max_tile);
    tile = (tile + cut_step - 1) / cut_step * cut_step; // tiles meet at word boundaries of a vector<bool>
    const std::size_t tiles = (n + tile - 1) / tile;
    std::vector<std::optional<T>> carry(tiles);
    std::vector<std::atomic<bool>> ready(tiles);
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    auto get = [&](std::size_t i) -> T { return T(in[static_cast<std::ptrdiff_t>(i)]); };
    auto combine = [&](T a, T b) -> T { return std::invoke(op, std::move(a), std::move(b)); };

    exec.for_tasks(workers, [&](std::size_t) {
        try {
            for (;;) {
                const std::size_t t = next.fetch_add(1, std::memory_order_relaxed);
                if (t >= tiles || failed.load(std::memory_order_relaxed))
                    return;
                const std::size_t b = t * tile, e = std::min(n, b + tile);
                if (t == 0 || ready[t - 1].load(std::memory_order_acquire)) {
                    carry[t].emplace(scan_block<T>(in, out, b, e, t == 0 ? init : carry[t - 1], op, inclusive));
                    ready[t].store(true, std::memory_order_release);
                    continue;
                }
                T local = accumulate_chunk<T>(b, e, get, combine);
                for (unsigned spins = 0; !ready[t - 1].load(std::memory_order_acquire); ++spins) {
                    if (failed.load(std::memory_order_relaxed))
                        return;
                    if (spins >= 64)
                        std::this_thread::yield();
                }
                carry[t].emplace(combine(*carry[t - 1], std::move(local)));
                ready[t].store(true, std::memory_order_release);
                scan_block<T>(in, out, b, e, carry[t - 1], op, inclusive);
            }
        } catch (...) {
            failed.store(true, std::memory_order_relaxed);
            throw;
        }
    });
}

/// Whether the parallel scan may fold a tile's elements into a T without the carry before it:
/// when T is the elements' type, or T is an arithmetic type that holds the arithmetic elements
/// exactly and op is std::plus / std::multiplies (then op(t, e) == op(t, T(e))).  Otherwise only
/// op(T, element) is known to mean anything: every T is then init folded with elements from the
/// left (there is no identity to start a tile from), the fold is one chain, and the scan runs
/// sequentially.  No element is ever converted to T by a user-visible constructor.
template <class T, class E, class Op>
constexpr bool scan_tiles_from_elements()
{
    if constexpr (std::is_same_v<T, E>)
        return true;
    else if constexpr (std::is_arithmetic_v<T> && std::is_arithmetic_v<E> && !std::is_same_v<T, bool>)
        return std::is_same_v<std::common_type_t<T, E>, T> &&
               (std::is_same_v<Op, std::plus<>> || std::is_same_v<Op, std::plus<T>> ||
                std::is_same_v<Op, std::multiplies<>> || std::is_same_v<Op, std::multiplies<T>>);
    else
        return false;
}

/// The parallel scan: see the Complexity paragraph at the top of this file.  `cut_step` is
/// write_cut_step<Out>() (detail/written_range.hpp): tiles end at multiples of it, and 0 keeps the
/// scan on one thread.
template <class T, std::size_t cut_step, class Exec, class InIt, class OutIt, class Op>
void scan(const Exec& exec, InIt in, OutIt out, std::size_t n, std::optional<T> init, Op& op, bool inclusive)
{
    if (n == 0)
        return;
    using E = std::iter_value_t<InIt>;
    constexpr bool tiled = Exec::is_parallel && cut_step > 0 && scan_tiles_from_elements<T, E, Op>();
    if constexpr (tiled) {
        const std::size_t min_block = std::max<std::size_t>(exec.grain(), scan_min_block);
        const std::size_t workers = std::min<std::size_t>(n / min_block, static_cast<std::size_t>(exec.concurrency()));
        if (workers > 1) {
            scan_tiles<T, cut_step>(exec, in, out, n, workers, std::move(init), op, inclusive);
            return;
        }
    }
    scan_block<T>(in, out, 0, n, std::move(init), op, inclusive);
}

template <bool Inclusive, class Policy, class In, class Out, class Op, class T>
auto scan_entry(const char* name, const Policy& policy, In& in, Out& out, Op& op, std::optional<T> init)
{
    const auto n = static_cast<std::size_t>(std::ranges::size(in));
    check_output_size(name, n, static_cast<std::size_t>(std::ranges::size(out)));
    dispatch<device_ranges<In, Out>() && device_callable<Op>(), any_device_range<In, Out>()>(
        policy, offload_scan<In, Out>(n, op),
        [&](const auto& exec) {
            require_host_range<In>();
            require_host_range<Out>();
            scan<T, write_cut_step<Out>()>(exec, std::ranges::begin(in), std::ranges::begin(out), n, std::move(init), op,
                                          Inclusive);
        },
        on_device<device_algo::scan<Inclusive>>(in, out, op, init));
    return std::ranges::next(std::ranges::begin(out), static_cast<std::ptrdiff_t>(n));
}

// The requirements are checked one after the other, each only when the ones before hold, and the
// algorithm is instantiated only when all hold: a failed requirement is the only error.
template <class In, class Out>
constexpr bool scan_ranges_ok()
{
    constexpr bool in_random_access = std::ranges::random_access_range<In>;
    static_assert(in_random_access,
                  "trident scans: the input range must be random-access (std::vector, std::array, std::span, ...)");
    if constexpr (!in_random_access) {
        return false;
    } else {
        constexpr bool out_random_access = std::ranges::random_access_range<Out>;
        static_assert(out_random_access, "trident scans: the output range must be random-access");
        return out_random_access;
    }
}

template <class In, class Out, class T>
constexpr bool scan_output_ok()
{
    constexpr bool assignable = std::is_assignable_v<std::ranges::range_reference_t<Out>, T&>;
    static_assert(assignable, "trident scans: the running total (init's type, or the input's value type without "
                              "init) must be assignable to an element of the output range");
    return assignable;
}

/// What a call whose requirements failed returns (it never runs): the output's iterator type, so
/// that the caller's use of the result adds no error.
template <class Out>
auto failed_scan_result()
{
    if constexpr (std::ranges::range<Out>)
        return std::ranges::iterator_t<Out>{};
}

} // namespace detail

template <class Policy, class In, class Out, class Op = std::plus<>>
auto inclusive_scan(const Policy& policy, In&& in, Out&& out, Op op = {})
{
    if constexpr (detail::scan_ranges_ok<In, Out>()) {
        using T = std::ranges::range_value_t<In>;
        constexpr bool op_ok = std::is_invocable_r_v<T, Op&, T, std::ranges::range_reference_t<In>>;
        static_assert(op_ok, "trident::inclusive_scan: op must combine two values of the input's value type into one");
        if constexpr (op_ok && detail::scan_output_ok<In, Out, T>())
            return detail::scan_entry<true>("trident::inclusive_scan", policy, in, out, op, std::optional<T>{});
        else
            return detail::failed_scan_result<Out>();
    } else {
        return detail::failed_scan_result<Out>();
    }
}

template <class Policy, class In, class Out, class Op, class T>
auto inclusive_scan(const Policy& policy, In&& in, Out&& out, Op op, T init)
{
    if constexpr (detail::scan_ranges_ok<In, Out>()) {
        constexpr bool op_ok = std::is_invocable_r_v<T, Op&, T, std::ranges::range_reference_t<In>>;
        static_assert(op_ok, "trident::inclusive_scan: op(init, element) must return a value of init's type");
        if constexpr (op_ok && detail::scan_output_ok<In, Out, T>())
            return detail::scan_entry<true>("trident::inclusive_scan", policy, in, out, op,
                                            std::optional<T>(std::move(init)));
        else
            return detail::failed_scan_result<Out>();
    } else {
        return detail::failed_scan_result<Out>();
    }
}

template <class Policy, class In, class Out, class T, class Op = std::plus<>>
auto exclusive_scan(const Policy& policy, In&& in, Out&& out, T init, Op op = {})
{
    if constexpr (detail::scan_ranges_ok<In, Out>()) {
        constexpr bool op_ok = std::is_invocable_r_v<T, Op&, T, std::ranges::range_reference_t<In>>;
        static_assert(op_ok, "trident::exclusive_scan: op(init, element) must return a value of init's type");
        if constexpr (op_ok && detail::scan_output_ok<In, Out, T>())
            return detail::scan_entry<false>("trident::exclusive_scan", policy, in, out, op,
                                             std::optional<T>(std::move(init)));
        else
            return detail::failed_scan_result<Out>();
    } else {
        return detail::failed_scan_result<Out>();
    }
}

} // namespace trident
