#pragma once
// The sequential parts of the merge sort: the insertion sort of a leaf, the two merges (branch-free
// for small trivially copyable elements, moving otherwise) and the block sort built from them.
// Whatever comp returns (a comparator that is not a strict weak order, or one that throws), each
// stays inside its ranges and keeps every element: the order is then unspecified, the elements are
// all there.  Elements are only ever moved (a move of a trivially copyable element is a copy).

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <utility>

namespace trident::detail {

template <class It>
It advance_by(It it, std::size_t k)
{
    return it + static_cast<std::iter_difference_t<It>>(k);
}

/// Stable insertion sort of a[0, n).  On an exception from comp every element is still in a.
template <class It, class Compare>
void insertion_sort(It a, std::size_t n, Compare& comp)
{
    for (std::size_t i = 1; i < n; ++i) {
        std::iter_value_t<It> x = std::move(*advance_by(a, i));
        std::size_t j = i;
        try {
            while (j > 0 && comp(x, *advance_by(a, j - 1))) {
                *advance_by(a, j) = std::move(*advance_by(a, j - 1));
                --j;
            }
        } catch (...) {
            *advance_by(a, j) = std::move(x);
            throw;
        }
        *advance_by(a, j) = std::move(x);
    }
}

/// Stable merge of a[0, la) and b[0, lb) into out, moving.  On an exception from comp the elements
/// not merged yet are moved after the merged ones: out then holds all la + lb elements.
template <class In, class Out, class Compare>
void merge_moving(In a, std::size_t la, In b, std::size_t lb, Out out, Compare& comp)
{
    const In ea = advance_by(a, la), eb = advance_by(b, lb);
    try {
        while (a != ea && b != eb) {
            if (comp(*b, *a)) {
                *out = std::move(*b);
                ++b;
            } else {
                *out = std::move(*a);
                ++a;
            }
            ++out;
        }
    } catch (...) {
        std::move(b, eb, std::move(a, ea, out));
        throw;
    }
    std::move(b, eb, std::move(a, ea, out));
}

/// Stable merge of a[0, la) and b[0, lb) into out without data-dependent branches (ties take a),
/// for trivially copyable T, whose sources a move (a trivial one: a copy) leaves intact.  On an exception from comp out
/// holds a followed by b.
template <class T, class Compare>
void merge_branch_free(T* a, std::size_t la, T* b, std::size_t lb, T* out, Compare& comp)
{
    T* const a0 = a;
    T* const b0 = b;
    T* const out0 = out;
    try {
        // Two independent chains for min(la, lb) steps each: the smallest from the fronts and the
        // largest from the backs.  Under a strict weak order the two never take the same element;
        // the writes never overlap and the reads stay in range whatever comp says.
        T* ea = a + la;
        T* eb = b + lb;
        T* back = out + la + lb;
        for (std::size_t k = std::min(la, lb); k > 0; --k) {
            const bool front_b = comp(*b, *a);
            *out++ = std::move(*(front_b ? b : a));
            b += static_cast<std::size_t>(front_b);
            a += static_cast<std::size_t>(!front_b);
            const bool back_a = comp(eb[-1], ea[-1]);
            *--back = std::move(*(back_a ? ea - 1 : eb - 1));
            ea -= static_cast<std::size_t>(back_a);
            eb -= static_cast<std::size_t>(!back_a);
        }
        if (a > ea || b > eb) {
            // The chains crossed: comp is no strict weak order.  Merge again with one chain.
            merge_moving(a0, la, b0, lb, out0, comp);
            return;
        }
        while (a != ea && b != eb) {
            const bool front_b = comp(*b, *a);
            *out++ = std::move(*(front_b ? b : a));
            b += static_cast<std::size_t>(front_b);
            a += static_cast<std::size_t>(!front_b);
        }
        std::move(b, eb, std::move(a, ea, out));
    } catch (...) {
        std::move(b0, b0 + lb, std::move(a0, a0 + la, out0));
        throw;
    }
}

template <bool BranchFree, class In, class Out, class Compare>
void merge_runs(In a, std::size_t la, In b, std::size_t lb, Out out, Compare& comp)
{
    if constexpr (BranchFree)
        merge_branch_free(a, la, b, lb, out, comp);
    else
        merge_moving(a, la, b, lb, out, comp);
}

/// Stable merge sort of the n elements at home, using other[0, n) (scratch, or the range itself):
/// the result lands in other when into_other, at home otherwise.  On an exception from comp the n
/// elements are all where the result would have been, in some order.
template <bool BranchFree, class H, class O, class Compare>
void block_sort(H home, O other, std::size_t n, bool into_other, Compare& comp)
{
    constexpr std::size_t leaf = 16;
    if (n <= leaf) {
        try {
            insertion_sort(home, n, comp);
        } catch (...) {
            if (into_other)
                std::move(home, advance_by(home, n), other);
            throw;
        }
        if (into_other)
            std::move(home, advance_by(home, n), other);
        return;
    }
    // The halves are sorted onto the side the final merge reads from.
    const std::size_t h = n / 2;
    try {
        block_sort<BranchFree>(home, other, h, !into_other, comp);
    } catch (...) {
        // the left half is on the halves' side, the right one still at home
        if (into_other)
            std::move(home, advance_by(home, n), other);
        else
            std::move(other, advance_by(other, h), home);
        throw;
    }
    try {
        block_sort<BranchFree>(advance_by(home, h), advance_by(other, h), n - h, !into_other, comp);
    } catch (...) {
        if (into_other)
            std::move(home, advance_by(home, n), other);
        else
            std::move(other, advance_by(other, n), home);
        throw;
    }
    if (into_other)
        merge_runs<BranchFree>(home, h, advance_by(home, h), n - h, other, comp);
    else
        merge_runs<BranchFree>(other, h, advance_by(other, h), n - h, home, comp);
}

} // namespace trident::detail
