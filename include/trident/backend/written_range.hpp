#pragma once
// How a parallel algorithm may cut a range that it writes (for_each's range, map's and the scans'
// outputs) into pieces for different threads.
//
// Distinct elements of an ordinary range are distinct memory locations, so any cut is safe.  A
// range whose elements are reached through a proxy reference may pack several elements into one
// memory word: two threads writing neighbouring elements then read-modify-write the same word, and
// one thread's bit is lost.  std::vector<bool> packs its bits into unsigned words of at most 64 bits
// (libstdc++: unsigned long; libc++: size_t; MSVC: unsigned int) starting at bit 0 of its first word,
// so a whole vector is safe to cut at multiples of 64 elements.  Of any other proxy range (a view
// that starts inside a vector<bool>'s word, a user's packed container) the packing is unknown: it
// is written by one thread.

#include "trident/backend/instrumented.hpp"
#include "trident/backend/seq/executor.hpp"

#include <algorithm>
#include <cstddef>
#include <ranges>
#include <type_traits>
#include <vector>

namespace trident::detail {

enum class write_cut {
    any,      // every element its own memory location
    words_64, // a whole std::vector<bool>: cut only at multiples of 64 elements
    none,     // another proxy-reference range: no cut, one thread writes it
};

template <class R> inline constexpr bool is_whole_bool_vector_v = false;
template <class A> inline constexpr bool is_whole_bool_vector_v<std::vector<bool, A>> = true;
template <class A> inline constexpr bool is_whole_bool_vector_v<std::ranges::ref_view<std::vector<bool, A>>> = true;
template <class A> inline constexpr bool is_whole_bool_vector_v<std::ranges::owning_view<std::vector<bool, A>>> = true;

/// Elements per word boundary for a std::vector<bool> cut (a multiple of every word size in use).
inline constexpr std::size_t bool_vector_cut = 64;

template <class R>
constexpr write_cut write_cut_of()
{
    using ref = std::ranges::range_reference_t<R>;
    if constexpr (std::is_reference_v<ref> || std::is_same_v<std::remove_cv_t<ref>, std::ranges::range_value_t<R>>)
        return write_cut::any; // a real reference, or a value (nothing to write through)
    else if constexpr (is_whole_bool_vector_v<std::remove_cvref_t<R>>)
        return write_cut::words_64;
    else
        return write_cut::none;
}

/// The smallest step at which a range written by several threads may be cut (0: not at all).
template <class R>
constexpr std::size_t write_cut_step()
{
    constexpr write_cut cut = write_cut_of<R>();
    return cut == write_cut::any ? 1 : cut == write_cut::words_64 ? bool_vector_cut : 0;
}

/// exec.for_chunks(n, body) for a loop whose chunk [b, e) writes elements [b, e) of a range of type
/// R: for a std::vector<bool> every chunk boundary is moved up to a multiple of 64 (the moved
/// boundaries still cover [0, n) exactly once; chunks left empty are skipped); for an unknown proxy
/// range the whole loop runs on the calling thread.
template <class R, class Exec, class Body>
void for_written_chunks(const Exec& exec, std::size_t n, Body&& body)
{
    constexpr std::size_t step = write_cut_step<R>();
    if constexpr (step == 1) {
        exec.for_chunks(n, body);
    } else if constexpr (step == 0) {
        instrumented<seq_executor>(seq_executor{}).for_chunks(n, body);
    } else {
        const auto up = [n](std::size_t x) { return std::min(n, (x + step - 1) / step * step); };
        exec.for_chunks(n, [&](std::size_t b, std::size_t e) {
            const std::size_t bb = up(b), ee = up(e);
            if (bb < ee)
                body(bb, ee);
        });
    }
}

} // namespace trident::detail
