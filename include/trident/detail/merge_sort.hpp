#pragma once
// Parallel merge sort over the executor contract: sort one block per worker, then merge pairs of
// sorted runs, each merge cut into pieces at merge-path split points so that every round is
// parallel too.  Stable when the blocks are sorted stably.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <iterator>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace trident::detail {

/// How many of the first k outputs of a stable merge of a[0, la) and b[0, lb) come from a.
template <class It, class Compare>
std::size_t merge_path_split(It a, std::size_t la, It b, std::size_t lb, std::size_t k, Compare& comp)
{
    std::size_t lo = k > lb ? k - lb : 0;
    std::size_t hi = std::min(k, la);
    while (lo < hi) {
        const std::size_t i = lo + (hi - lo) / 2;
        const std::size_t j = k - i;
        // a[i] is taken before b[j-1] unless b[j-1] < a[i] (ties go to a)
        if (j > 0 && i < la && !comp(b[j - 1], a[i]))
            lo = i + 1;
        else
            hi = i;
    }
    return lo;
}

/// Raw storage for n objects of T, alive only between construct_from and the destructor.
template <class T>
class scratch_buffer {
public:
    explicit scratch_buffer(std::size_t n) : data_(std::allocator<T>{}.allocate(n)), capacity_(n) {}
    ~scratch_buffer()
    {
        std::destroy(data_, data_ + constructed_);
        std::allocator<T>{}.deallocate(data_, capacity_);
    }
    scratch_buffer(const scratch_buffer&) = delete;
    scratch_buffer& operator=(const scratch_buffer&) = delete;

    template <class It>
    void construct_from(It first)
    {
        std::uninitialized_move(first, first + static_cast<std::ptrdiff_t>(capacity_), data_);
        constructed_ = capacity_;
    }
    T* data() const noexcept { return data_; }

private:
    T* data_;
    std::size_t capacity_;
    std::size_t constructed_ = 0;
};

template <class Exec, class It, class Compare>
void merge_sort(const Exec& exec, It first, std::size_t n, Compare& comp, bool stable)
{
    using T = typename std::iterator_traits<It>::value_type;
    auto sort_run = [&](It b, It e) {
        if (stable)
            std::stable_sort(b, e, comp);
        else
            std::sort(b, e, comp);
    };
    std::size_t blocks = 1;
    if constexpr (Exec::is_parallel)
        blocks = std::bit_ceil(static_cast<std::size_t>(exec.concurrency()));
    while (blocks > 1 && n / blocks < 4096)
        blocks /= 2;
    if (blocks <= 1) {
        sort_run(first, first + static_cast<std::ptrdiff_t>(n));
        return;
    }
    auto run_begin = [&](std::size_t k) { return n / blocks * k + std::min(k, n % blocks); };
    exec.for_tasks(blocks, [&](std::size_t k) {
        sort_run(first + static_cast<std::ptrdiff_t>(run_begin(k)), first + static_cast<std::ptrdiff_t>(run_begin(k + 1)));
    });

    scratch_buffer<T> scratch(n);
    scratch.construct_from(first);
    // The sorted runs now sit in scratch; merge rounds alternate between scratch and the input.
    T* buffer = scratch.data();
    bool in_scratch = true;
    const std::size_t pieces_per_round = static_cast<std::size_t>(exec.concurrency()) * 2;
    for (std::size_t width = 1; width < blocks; width *= 2) {
        const std::size_t pairs = blocks / (2 * width);
        const std::size_t pieces = std::max<std::size_t>(1, pieces_per_round / pairs);
        exec.for_tasks(pairs * pieces, [&](std::size_t task) {
            const std::size_t pair = task / pieces, piece = task % pieces;
            const std::size_t lo = run_begin(2 * pair * width), mid = run_begin((2 * pair + 1) * width),
                              hi = run_begin((2 * pair + 2) * width);
            const std::size_t la = mid - lo, lb = hi - mid, total = la + lb;
            const std::size_t k0 = total * piece / pieces, k1 = total * (piece + 1) / pieces;
            auto merge_into = [&](auto src, auto dst) {
                auto a = src + static_cast<std::ptrdiff_t>(lo);
                auto b = src + static_cast<std::ptrdiff_t>(mid);
                const std::size_t i0 = merge_path_split(a, la, b, lb, k0, comp);
                const std::size_t i1 = merge_path_split(a, la, b, lb, k1, comp);
                std::merge(std::make_move_iterator(a + static_cast<std::ptrdiff_t>(i0)),
                           std::make_move_iterator(a + static_cast<std::ptrdiff_t>(i1)),
                           std::make_move_iterator(b + static_cast<std::ptrdiff_t>(k0 - i0)),
                           std::make_move_iterator(b + static_cast<std::ptrdiff_t>(k1 - i1)),
                           dst + static_cast<std::ptrdiff_t>(lo + k0), comp);
            };
            if (in_scratch)
                merge_into(buffer, first);
            else
                merge_into(first, buffer);
        });
        in_scratch = !in_scratch;
    }
    if (in_scratch)
        exec.for_tasks(blocks, [&](std::size_t k) {
            std::move(buffer + run_begin(k), buffer + run_begin(k + 1), first + static_cast<std::ptrdiff_t>(run_begin(k)));
        });
}

} // namespace trident::detail
