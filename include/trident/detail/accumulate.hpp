#pragma once
// Sequential building blocks shared by every CPU backend's chunks.

#include <cstddef>
#include <utility>

namespace trident::detail {

/// op-fold of get(i) for i in [b, e), b < e, in index order.  Long chunks run as four chains over
/// four contiguous quarters, folded left to right at the end: four independent dependency chains
/// keep the FP adders busy (a single chain is latency-bound) and only associativity is assumed.
template <class T, class Get, class Op>
T accumulate_chunk(std::size_t b, std::size_t e, Get& get, Op& op)
{
    const std::size_t n = e - b;
    if (n < 64) {
        T acc = get(b);
        for (std::size_t i = b + 1; i < e; ++i)
            acc = op(std::move(acc), get(i));
        return acc;
    }
    const std::size_t q = n / 4;
    const std::size_t b1 = b + q, b2 = b + 2 * q, b3 = b + 3 * q;
    T a0 = get(b), a1 = get(b1), a2 = get(b2), a3 = get(b3);
    for (std::size_t i = 1; i < q; ++i) {
        a0 = op(std::move(a0), get(b + i));
        a1 = op(std::move(a1), get(b1 + i));
        a2 = op(std::move(a2), get(b2 + i));
        a3 = op(std::move(a3), get(b3 + i));
    }
    for (std::size_t i = b3 + q; i < e; ++i)
        a3 = op(std::move(a3), get(i));
    a0 = op(std::move(a0), std::move(a1));
    a2 = op(std::move(a2), std::move(a3));
    return op(std::move(a0), std::move(a2));
}

} // namespace trident::detail
