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
/// the input's value type for inclusive_scan without init) copyable, `op(T, element)` and
/// `op(T, T)` returning T.
///
/// Complexity: under `par` the input is cut into about two blocks per worker; each block is
/// reduced, the block totals are scanned, then each block is scanned from its carry: about 2n
/// applications of `op` and three passes over memory (the sequential scan makes two), which is why a
/// memory-bound scan gains less than a compute-bound one.
///
/// Exceptions: `std::invalid_argument` when `out` is shorter than `in`; the first exception from
/// `op` reaches the caller.  GPU: CUB's device scans (cub::DeviceScan).

#include "trident/detail/accumulate.hpp"
#include "trident/detail/dispatch.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident {
namespace detail {

/// The smallest block a parallel scan hands to a task; below two of these the scan is inline.
inline constexpr std::size_t scan_min_block = 16384;

template <class T, class InIt, class OutIt, class Op>
void scan_block(InIt in, OutIt out, std::size_t b, std::size_t e, std::optional<T> carry, Op& op, bool inclusive)
{
    if (inclusive) {
        std::size_t i = b;
        if (!carry) {
            carry.emplace(in[static_cast<std::ptrdiff_t>(i)]);
            out[static_cast<std::ptrdiff_t>(i)] = *carry;
            ++i;
        }
        T acc = std::move(*carry);
        for (; i < e; ++i) {
            acc = std::invoke(op, std::move(acc), in[static_cast<std::ptrdiff_t>(i)]);
            out[static_cast<std::ptrdiff_t>(i)] = acc;
        }
    } else {
        T acc = std::move(*carry);
        for (std::size_t i = b; i < e; ++i) {
            T next = std::invoke(op, acc, in[static_cast<std::ptrdiff_t>(i)]);
            out[static_cast<std::ptrdiff_t>(i)] = std::move(acc);
            acc = std::move(next);
        }
    }
}

template <class T, class Exec, class InIt, class OutIt, class Op>
void scan(const Exec& exec, InIt in, OutIt out, std::size_t n, std::optional<T> init, Op& op, bool inclusive)
{
    if (n == 0)
        return;
    const std::size_t min_block = std::max<std::size_t>(exec.grain(), scan_min_block);
    std::size_t blocks = 1;
    if constexpr (Exec::is_parallel)
        blocks = std::min<std::size_t>(n / min_block, static_cast<std::size_t>(exec.concurrency()) * 2);
    if (blocks <= 1) {
        scan_block<T>(in, out, 0, n, std::move(init), op, inclusive);
        return;
    }
    auto block_begin = [&](std::size_t k) { return n / blocks * k + std::min(k, n % blocks); };

    // 1. each block's total (the last block's is never needed)
    std::vector<std::optional<T>> carry(blocks);
    auto get = [&](std::size_t i) -> T { return T(in[static_cast<std::ptrdiff_t>(i)]); };
    auto combine = [&](T a, T b) -> T { return std::invoke(op, std::move(a), std::move(b)); };
    exec.for_tasks(blocks - 1, [&](std::size_t k) {
        carry[k + 1].emplace(accumulate_chunk<T>(block_begin(k), block_begin(k + 1), get, combine));
    });
    // 2. block totals -> carry into each block
    carry[0] = std::move(init);
    for (std::size_t k = 1; k < blocks; ++k)
        if (carry[k - 1])
            carry[k] = combine(*carry[k - 1], std::move(*carry[k]));
    // 3. each block scanned from its carry
    exec.for_tasks(blocks, [&](std::size_t k) {
        scan_block<T>(in, out, block_begin(k), block_begin(k + 1), carry[k], op, inclusive);
    });
}

template <bool Inclusive, class Policy, class In, class Out, class Op, class T>
auto scan_entry(const char* name, const Policy& policy, In& in, Out& out, Op& op, std::optional<T> init)
{
    const auto n = static_cast<std::size_t>(std::ranges::size(in));
    check_output_size(name, n, static_cast<std::size_t>(std::ranges::size(out)));
    dispatch<device_ranges<In, Out>() && device_callable<Op>()>(
        policy, n,
        [&](const auto& exec) {
            require_host_range<In>();
            require_host_range<Out>();
            scan<T>(exec, std::ranges::begin(in), std::ranges::begin(out), n, std::move(init), op, Inclusive);
        },
        [&](const auto& gpu_policy) {
            using backend = cuda_backend<std::remove_cvref_t<decltype(gpu_policy)>>;
            if constexpr (Inclusive)
                backend::inclusive_scan(gpu_policy, in, out, op, std::move(init));
            else
                backend::exclusive_scan(gpu_policy, in, out, std::move(*init), op);
        });
    return std::ranges::next(std::ranges::begin(out), static_cast<std::ptrdiff_t>(n));
}

template <class In, class Out>
constexpr void check_scan_ranges()
{
    static_assert(std::ranges::random_access_range<In>,
                  "trident scans: the input range must be random-access (std::vector, std::array, std::span, ...)");
    static_assert(std::ranges::random_access_range<Out>, "trident scans: the output range must be random-access");
}

} // namespace detail

template <class Policy, class In, class Out, class Op = std::plus<>>
auto inclusive_scan(const Policy& policy, In&& in, Out&& out, Op op = {})
{
    detail::check_scan_ranges<In, Out>();
    using T = std::ranges::range_value_t<In>;
    static_assert(std::is_invocable_r_v<T, Op&, T, std::ranges::range_reference_t<In>>,
                  "trident::inclusive_scan: op must combine two values of the input's value type into one");
    return detail::scan_entry<true>("trident::inclusive_scan", policy, in, out, op, std::optional<T>{});
}

template <class Policy, class In, class Out, class Op, class T>
auto inclusive_scan(const Policy& policy, In&& in, Out&& out, Op op, T init)
{
    detail::check_scan_ranges<In, Out>();
    static_assert(std::is_invocable_r_v<T, Op&, T, std::ranges::range_reference_t<In>>,
                  "trident::inclusive_scan: op(init, element) must return a value of init's type");
    return detail::scan_entry<true>("trident::inclusive_scan", policy, in, out, op, std::optional<T>(std::move(init)));
}

template <class Policy, class In, class Out, class T, class Op = std::plus<>>
auto exclusive_scan(const Policy& policy, In&& in, Out&& out, T init, Op op = {})
{
    detail::check_scan_ranges<In, Out>();
    static_assert(std::is_invocable_r_v<T, Op&, T, std::ranges::range_reference_t<In>>,
                  "trident::exclusive_scan: op(init, element) must return a value of init's type");
    return detail::scan_entry<false>("trident::exclusive_scan", policy, in, out, op, std::optional<T>(std::move(init)));
}

} // namespace trident
