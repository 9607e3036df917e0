#pragma once
// The data movement of the in-process collectives (comm/communicator.hpp), run by each rank
// between the arrive and depart meetings of a collective, on the buffers the ranks posted.
//
// Deterministic reductions: every element is combined in rank order, ((x0 op x1) op x2) ...,
// then divided by N for an average, whichever rank computes it and whatever the timing, so the
// result is bitwise the same on every rank and in every run.  The work is split: rank r reduces
// the r-th of N balanced chunks of an all_reduce (reading that chunk of every send buffer once and
// writing it to every receive buffer), or its own block of a reduce_scatter.

#include "trident/comm/detail/rendezvous.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace trident::comm::detail {

// reduce_op's values (kept in sync with comm::reduce_op).
inline constexpr int op_sum = 0, op_average = 1, op_min = 2, op_max = 3;

template <class T>
inline void combine(T* acc, const T* x, std::size_t n, int op)
{
    switch (op) {
    case op_min:
        for (std::size_t j = 0; j < n; ++j)
            acc[j] = x[j] < acc[j] ? x[j] : acc[j];
        break;
    case op_max:
        for (std::size_t j = 0; j < n; ++j)
            acc[j] = acc[j] < x[j] ? x[j] : acc[j];
        break;
    default:
        for (std::size_t j = 0; j < n; ++j)
            acc[j] = static_cast<T>(acc[j] + x[j]);
    }
}

// acc[0, n) = the reduction of element `offset + j` of every rank's send buffer, in rank order.
template <class T>
inline void reduce_block(const rendezvous& g, std::size_t offset, T* acc, std::size_t n, int op)
{
    std::memcpy(acc, static_cast<const T*>(g.slot_of(0).send) + offset, n * sizeof(T));
    for (int k = 1; k < g.size(); ++k)
        combine(acc, static_cast<const T*>(g.slot_of(k).send) + offset, n, op);
    if (op == op_average) {
        const T ranks = static_cast<T>(g.size());
        for (std::size_t j = 0; j < n; ++j)
            acc[j] = acc[j] / ranks;
    }
}

// [first, last) of rank r's share of n elements split into N balanced chunks.
inline std::size_t chunk_begin(std::size_t n, int ranks, int r)
{
    const auto N = static_cast<std::size_t>(ranks), R = static_cast<std::size_t>(r);
    return (n / N) * R + std::min(R, n % N);
}

inline constexpr std::size_t block_elements = 1024;

template <class T>
inline void all_reduce_share(const rendezvous& g, int rank, std::size_t n, int op)
{
    T acc[block_elements];
    const std::size_t last = chunk_begin(n, g.size(), rank + 1);
    for (std::size_t i = chunk_begin(n, g.size(), rank); i < last; i += block_elements) {
        const std::size_t len = std::min(block_elements, last - i);
        reduce_block(g, i, acc, len, op); // reads element i.. of every send buffer before any write
        for (int k = 0; k < g.size(); ++k)
            std::memcpy(static_cast<T*>(g.slot_of(k).recv) + i, acc, len * sizeof(T));
    }
}

template <class T>
inline void reduce_scatter_share(const rendezvous& g, int rank, std::size_t block, int op)
{
    T acc[block_elements];
    T* out = static_cast<T*>(g.slot_of(rank).recv);
    const std::size_t base = block * static_cast<std::size_t>(rank);
    for (std::size_t i = 0; i < block; i += block_elements) {
        const std::size_t len = std::min(block_elements, block - i);
        reduce_block(g, base + i, acc, len, op);
        std::memcpy(out + i, acc, len * sizeof(T));
    }
}

template <class T>
inline void all_gather_share(const rendezvous& g, int rank, std::size_t block)
{
    T* out = static_cast<T*>(g.slot_of(rank).recv);
    for (int k = 0; k < g.size(); ++k)
        if (block != 0)
            std::memcpy(out + block * static_cast<std::size_t>(k), g.slot_of(k).send, block * sizeof(T));
}

template <class T>
inline void broadcast_share(const rendezvous& g, int rank, std::size_t n, int root)
{
    if (rank != root && n != 0)
        std::memcpy(g.slot_of(rank).recv, g.slot_of(root).send, n * sizeof(T));
}

} // namespace trident::comm::detail
