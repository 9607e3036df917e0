#pragma once
// Parallel stable merge sort over the executor contract: blocks (a power of two, twice as many as
// workers) sorted at once by block_sort, then rounds of merges of pairs of runs, each merge cut into
// pieces at merge-path split points, more pieces than workers so that oneTBB can balance them.
// Small trivially copyable elements in contiguous memory merge without data-dependent branches
// (merge_branch_free) with the range itself as home; other elements are moved into scratch first
// and merged by moving.  The splits, and so the result, depend only on n and the worker count.
//
// Whatever comp does, every element stays in the range: a comparator that is not a strict weak
// order gives an unspecified order; one that throws leaves the range a permutation of its input
// (each step's exception guarantee is in merge_kernels.hpp; the rounds below restore the rest).
// This holds as long as moving an element does not throw.

#include "trident/detail/buffers.hpp"
#include "trident/detail/merge_kernels.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident::detail {

/// How many of the first k outputs of a stable merge of a[0, la) and b[0, lb) come from a: always
/// in [k - lb, min(k, la)], whatever comp returns.
template <class It, class Compare>
std::size_t merge_path_split(It a, std::size_t la, It b, std::size_t lb, std::size_t k, Compare& comp)
{
    std::size_t lo = k > lb ? k - lb : 0;
    std::size_t hi = std::min(k, la);
    while (lo < hi) {
        const std::size_t i = lo + (hi - lo) / 2;
        const std::size_t j = k - i;
        // a[i] is taken before b[j-1] unless b[j-1] < a[i] (ties go to a)
        if (j > 0 && i < la && !comp(*advance_by(b, j - 1), *advance_by(a, i)))
            lo = i + 1;
        else
            hi = i;
    }
    return lo;
}

/// How many sorted runs a merge sort of n elements starts from: a power of two, twice the workers
/// at most (so that one slow worker does not hold up the block phase), none under 4096 elements.
template <class Exec>
std::size_t merge_sort_blocks(const Exec& exec, std::size_t n)
{
    std::size_t blocks = 1;
    if constexpr (Exec::is_parallel)
        blocks = 2 * std::bit_ceil(static_cast<std::size_t>(exec.concurrency()));
    while (blocks > 1 && n / blocks < 4096)
        blocks /= 2;
    return blocks;
}

/// One round of merges from src to dst: pairs of runs of `width` blocks, each pair's merge cut
/// into `pieces`.  On an exception from comp dst holds all n elements, in some order.
template <bool BranchFree, class Exec, class Src, class Dst, class RunBegin, class Compare>
void merge_round(const Exec& exec, Src src, Dst dst, std::size_t blocks, std::size_t width, RunBegin run_begin,
                 Compare& comp)
{
    const std::size_t pairs = blocks / (2 * width);
    const std::size_t n = run_begin(blocks);
    const std::size_t target = 4 * static_cast<std::size_t>(exec.concurrency());
    const std::size_t pieces = std::clamp<std::size_t>((target + pairs - 1) / pairs, 1, std::max<std::size_t>(1, n / pairs / 4096));
    struct pair_bounds {
        std::size_t lo, mid, hi;
    };
    auto bounds = [&](std::size_t pair) {
        return pair_bounds{run_begin(2 * pair * width), run_begin((2 * pair + 1) * width), run_begin((2 * pair + 2) * width)};
    };
    // Where each piece starts in its pair's first run, all found before any element moves.  A
    // comparator that is no strict weak order may give splits out of order: they are clamped so
    // that the pieces still cut both runs into consecutive parts.
    std::vector<std::size_t> split(pairs * (pieces + 1));
    try {
        exec.for_tasks(pairs * (pieces + 1), [&](std::size_t task) {
            const std::size_t pair = task / (pieces + 1), piece = task % (pieces + 1);
            const auto [lo, mid, hi] = bounds(pair);
            const std::size_t k = (hi - lo) * piece / pieces;
            split[task] = merge_path_split(advance_by(src, lo), mid - lo, advance_by(src, mid), hi - mid, k, comp);
        });
    } catch (...) {
        std::move(src, advance_by(src, n), dst); // nothing has moved yet
        throw;
    }
    for (std::size_t pair = 0; pair < pairs; ++pair) {
        const auto [lo, mid, hi] = bounds(pair);
        const std::size_t la = mid - lo, lb = hi - mid;
        std::size_t* s = split.data() + pair * (pieces + 1);
        s[0] = 0;
        for (std::size_t p = 1; p <= pieces; ++p) {
            const std::size_t k0 = (la + lb) * (p - 1) / pieces, k1 = (la + lb) * p / pieces;
            const std::size_t low = std::max(s[p - 1], k1 > lb ? k1 - lb : 0);
            s[p] = std::clamp(s[p], low, std::max(low, std::min(s[p - 1] + (k1 - k0), la)));
        }
    }
    auto merge_piece = [&](std::size_t task, bool compare) {
        const std::size_t pair = task / pieces, piece = task % pieces;
        const auto [lo, mid, hi] = bounds(pair);
        const std::size_t total = hi - lo;
        const std::size_t k0 = total * piece / pieces, k1 = total * (piece + 1) / pieces;
        const std::size_t i0 = split[pair * (pieces + 1) + piece], i1 = split[pair * (pieces + 1) + piece + 1];
        const auto a = advance_by(src, lo + i0);
        const auto b = advance_by(src, mid + (k0 - i0));
        const auto out = advance_by(dst, lo + k0);
        if (compare)
            merge_runs<BranchFree>(a, i1 - i0, b, (k1 - i1) - (k0 - i0), out, comp);
        else
            std::move(b, advance_by(b, (k1 - i1) - (k0 - i0)), std::move(a, advance_by(a, i1 - i0), out));
    };
    std::vector<unsigned char> started(pairs * pieces, 0);
    try {
        exec.for_tasks(pairs * pieces, [&](std::size_t task) {
            started[task] = 1;
            merge_piece(task, true);
        });
    } catch (...) {
        for (std::size_t task = 0; task < pairs * pieces; ++task)
            if (!started[task])
                merge_piece(task, false);
        throw;
    }
}

/// Sorts the n elements at range[0, n), stably, with buf[0, n) as scratch.  When RangeHome the
/// elements start in the range, else in buf (the range then holds moved-from objects); they end
/// in the range, also on an exception from comp.
template <bool BranchFree, bool RangeHome, class Exec, class R, class B, class Compare>
void merge_sort_with(const Exec& exec, R range, B buf, std::size_t n, Compare& comp)
{
    const std::size_t blocks = merge_sort_blocks(exec, n);
    const auto rounds = std::bit_width(blocks) - 1;
    auto run_begin = [&](std::size_t k) { return n / blocks * k + std::min(k, n % blocks); };
    // The blocks land where the rounds (each from one side to the other) leave the result in the
    // range, so that no final copy is needed.
    const bool blocks_in_range = rounds % 2 == 0;
    const bool into_other = RangeHome ? !blocks_in_range : blocks_in_range;
    auto home = [&] {
        if constexpr (RangeHome)
            return range;
        else
            return buf;
    }();
    auto other = [&] {
        if constexpr (RangeHome)
            return buf;
        else
            return range;
    }();
    auto gather_in_range = [&](bool in_range) {
        if (!in_range)
            std::move(buf, advance_by(buf, n), range);
    };
    std::vector<unsigned char> started(blocks, 0);
    try {
        exec.for_tasks(blocks, [&](std::size_t k) {
            started[k] = 1;
            block_sort<BranchFree>(advance_by(home, run_begin(k)), advance_by(other, run_begin(k)),
                                   run_begin(k + 1) - run_begin(k), into_other, comp);
        });
    } catch (...) {
        // A block that ran holds its elements where its result would be; the others are at home.
        if (into_other)
            for (std::size_t k = 0; k < blocks; ++k)
                if (!started[k])
                    std::move(advance_by(home, run_begin(k)), advance_by(home, run_begin(k + 1)),
                              advance_by(other, run_begin(k)));
        gather_in_range(blocks_in_range);
        throw;
    }
    bool in_range = blocks_in_range;
    for (std::size_t width = 1; width < blocks; width *= 2) {
        try {
            if (in_range)
                merge_round<BranchFree>(exec, range, buf, blocks, width, run_begin, comp);
            else
                merge_round<BranchFree>(exec, buf, range, blocks, width, run_begin, comp);
        } catch (...) {
            gather_in_range(!in_range);
            throw;
        }
        in_range = !in_range;
    }
}

template <class Exec, class It, class Compare>
void merge_sort(const Exec& exec, It first, std::size_t n, Compare& comp)
{
    using T = std::iter_value_t<It>;
    if (n < 2)
        return;
    if constexpr (std::contiguous_iterator<It> && std::is_trivially_copyable_v<T> && sizeof(T) <= 32) {
        raw_buffer<T> buffer(n);
        merge_sort_with<true, true>(exec, std::to_address(first), buffer.get(), n, comp);
    } else {
        scratch_buffer<T> scratch(n);
        scratch.construct_from(first);
        merge_sort_with<false, false>(exec, first, scratch.data(), n, comp);
    }
}

} // namespace trident::detail
