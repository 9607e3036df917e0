#pragma once
// Least-significant-digit radix sort for arithmetic keys, written once over the executor contract.
// Stable; 8-bit digits; digits on which every key agrees are skipped.  Its scratch comes from the
// scratch cache (buffers.hpp), so repeated sorts touch no fresh pages.

#include "trident/detail/buffers.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident::detail {

template <std::size_t Bytes> struct unsigned_of;
template <> struct unsigned_of<1> { using type = std::uint8_t; };
template <> struct unsigned_of<2> { using type = std::uint16_t; };
template <> struct unsigned_of<4> { using type = std::uint32_t; };
template <> struct unsigned_of<8> { using type = std::uint64_t; };

/// Maps a value to an unsigned key whose unsigned order is the value's order (descending when
/// Descending).  -0.0 and +0.0 map to one key, as they compare equal; NaN has no place in an order
/// and is not allowed (as for std::sort).
template <class T, bool Descending>
struct radix_key {
    using key_type = typename unsigned_of<sizeof(T)>::type;
    static constexpr key_type top_bit = key_type(key_type(1) << (sizeof(T) * CHAR_BIT - 1));

    key_type operator()(T value) const noexcept
    {
        key_type k;
        if constexpr (std::is_floating_point_v<T>) {
            k = std::bit_cast<key_type>(value == T(0) ? T(0) : value);
            k = (k & top_bit) ? key_type(~k) : key_type(k | top_bit);
        } else if constexpr (std::is_signed_v<T>) {
            k = key_type(static_cast<key_type>(value) ^ top_bit);
        } else {
            k = static_cast<key_type>(value);
        }
        if constexpr (Descending)
            k = key_type(~k);
        return k;
    }
};

template <class T>
inline constexpr bool radix_sortable_v = std::is_arithmetic_v<T> && !std::is_same_v<T, bool> &&
                                         (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);

/// Which sorts are radix sorts: 0 none; 1 ascending; 2 descending (arithmetic keys, not bool, with
/// the default order, std::less or std::greater).
template <class T, class Compare>
constexpr int radix_order()
{
    if constexpr (!radix_sortable_v<T>)
        return 0;
    else if constexpr (std::is_same_v<Compare, std::less<>> || std::is_same_v<Compare, std::less<T>>)
        return 1;
    else if constexpr (std::is_same_v<Compare, std::greater<>> || std::is_same_v<Compare, std::greater<T>>)
        return 2;
    else
        return 0;
}

/// Sorts data[0, n) by key(x) in ascending unsigned order, stably.
template <class Exec, class T, class Key>
void radix_sort(const Exec& exec, T* data, std::size_t n, Key key)
{
    using K = typename Key::key_type;
    constexpr unsigned radix_bits = 8;
    constexpr std::size_t buckets = std::size_t{1} << radix_bits;
    constexpr unsigned digits = sizeof(K) * CHAR_BIT / radix_bits;

    if (n < 256) {
        std::stable_sort(data, data + n, [&](const T& a, const T& b) { return key(a) < key(b); });
        return;
    }

    // Four blocks per worker (none under 65,536 keys) so that oneTBB can even out a slow worker;
    // the result does not depend on the block count (every pass is stable).
    std::size_t blocks = 1;
    if constexpr (Exec::is_parallel)
        blocks = std::clamp<std::size_t>(n / 65536, 1, 4 * static_cast<std::size_t>(exec.concurrency()));
    auto block_begin = [&](std::size_t k) { return n / blocks * k + std::min(k, n % blocks); };

    // Which digits vary at all: bits where some keys differ.
    std::vector<std::pair<K, K>> and_or(blocks);
    exec.for_tasks(blocks, [&](std::size_t k) {
        K all = K(~K(0)), any = 0;
        for (std::size_t i = block_begin(k), e = block_begin(k + 1); i < e; ++i) {
            const K x = key(data[i]);
            all &= x;
            any |= x;
        }
        and_or[k] = {all, any};
    });
    K varying = 0;
    {
        K all = K(~K(0)), any = 0;
        for (auto [a, o] : and_or) {
            all &= a;
            any |= o;
        }
        varying = K(all ^ any);
    }

    raw_buffer<T> scratch(n);
    T* src = data;
    T* dst = scratch.get();
    std::vector<std::array<std::size_t, buckets>> offsets(blocks);

    for (unsigned d = 0; d < digits; ++d) {
        const unsigned shift = d * radix_bits;
        if (((varying >> shift) & (buckets - 1)) == 0)
            continue;
        exec.for_tasks(blocks, [&](std::size_t k) {
            auto& count = offsets[k];
            count.fill(0);
            for (std::size_t i = block_begin(k), e = block_begin(k + 1); i < e; ++i)
                ++count[(key(src[i]) >> shift) & (buckets - 1)];
        });
        std::size_t running = 0;
        for (std::size_t v = 0; v < buckets; ++v)
            for (std::size_t k = 0; k < blocks; ++k)
                running += std::exchange(offsets[k][v], running);
        exec.for_tasks(blocks, [&](std::size_t k) {
            auto& next = offsets[k];
            for (std::size_t i = block_begin(k), e = block_begin(k + 1); i < e; ++i)
                dst[next[(key(src[i]) >> shift) & (buckets - 1)]++] = src[i];
        });
        std::swap(src, dst);
    }
    if (src != data)
        exec.for_tasks(blocks, [&](std::size_t k) {
            std::copy(src + block_begin(k), src + block_begin(k + 1), data + block_begin(k));
        });
}

} // namespace trident::detail
