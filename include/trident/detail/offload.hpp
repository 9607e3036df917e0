#pragma once
// trident::automatic's choice between the GPU and par for one call on host data: what the call
// would copy over PCIe, what the CPU would spend, and whether its functions may run on the GPU at
// all.  Built by the algorithms (offload_* below), weighed by backend/dispatch.hpp.
//
// The model (documented in policy.hpp and the README, "Policies"): the GPU pays when
//   launch + copies + device work  <  CPU work / workers,
// with copies = bytes moved / pageable PCIe bandwidth, CPU work = per element (bytes touched at one
// core's streaming rate + the declared cost of the user's function) and device work = the same
// at the device's rates.  An O(1)-per-element call on host data never pays (its copies read and
// write at least the bytes the CPU would touch, over a slower link); a sort, or a function declared
// expensive with trident::offloadable(f, ns), does.

#include "trident/hints.hpp"

#include <bit>
#include <cstddef>
#include <functional>
#include <ranges>
#include <type_traits>

namespace trident {
struct identity_fn; // data/reduce.hpp
}

namespace trident::detail {

template <class R> inline constexpr bool is_device_range_v = false; // specialised by device_vector.cuh

/// std::plus, std::multiplies, std::less, std::greater (any argument type): the CUDA backend maps
/// them to device-callable equivalents.
template <class D> inline constexpr bool is_std_functor_v = false;
template <class T> inline constexpr bool is_std_functor_v<std::plus<T>> = true;
template <class T> inline constexpr bool is_std_functor_v<std::multiplies<T>> = true;
template <class T> inline constexpr bool is_std_functor_v<std::less<T>> = true;
template <class T> inline constexpr bool is_std_functor_v<std::greater<T>> = true;

// Rates of the model: rough figures for a current server (an H100 on PCIe 5), not measurements of
// this machine.  Their ratios, not their values, decide.
inline constexpr double pcie_bytes_per_ns = 10;         // pageable copies, staged by the driver
inline constexpr double cpu_core_bytes_per_ns = 10;     // one core streaming through memory
inline constexpr double device_bytes_per_ns = 2000;     // HBM
inline constexpr double device_speedup_per_call = 256;  // a declared-cost call on the GPU vs one core
inline constexpr double gpu_call_overhead_ns = 20'000;  // launches, allocation, synchronisation
inline constexpr double cpu_sort_ns_per_level = 2.5;    // one comparison and move per element and level

/// One call's numbers (all for the whole call).
struct offload_cost {
    std::size_t n = 0;
    double transfer_bytes = 0; // host <-> device, if it ran on the GPU
    double touched_bytes = 0;  // read and written by the work itself
    double cpu_ns = 0;         // the user functions' declared CPU cost (one core), plus fixed work
    double log_factor = 1;     // sort: log2(n) passes of comparisons

    /// Whether the GPU is expected to finish first, the CPU part using `workers` threads.
    [[nodiscard]] constexpr bool gpu_pays(int workers) const noexcept
    {
        const double w = workers < 1 ? 1.0 : static_cast<double>(workers);
        const double cpu = (touched_bytes / cpu_core_bytes_per_ns * log_factor + cpu_ns) / w;
        const double gpu = gpu_call_overhead_ns + transfer_bytes / pcie_bytes_per_ns +
                           touched_bytes / device_bytes_per_ns * log_factor + cpu_ns / device_speedup_per_call;
        return gpu < cpu;
    }
};

/// `Safe`: every function of the call may run on the GPU for automatic (declared offloadable, or
/// one trident knows touches only its arguments).
template <bool Safe>
struct offload_work {
    static constexpr bool safe = Safe;
    offload_cost cost;
};

/// Functions trident knows touch nothing but their arguments.
template <class F>
constexpr bool known_pure()
{
    using D = unwrapped_t<F>;
    return is_std_functor_v<D> || std::is_same_v<D, trident::identity_fn>;
}

template <class F>
constexpr bool offload_safe()
{
    return declared_offloadable<F>() || known_pure<F>();
}

template <class R>
constexpr double host_bytes(std::size_t n) noexcept
{
    if constexpr (is_device_range_v<std::remove_cvref_t<R>>)
        return 0;
    else
        return static_cast<double>(n) * static_cast<double>(sizeof(std::ranges::range_value_t<R>));
}

template <class R>
constexpr double element_bytes(std::size_t n) noexcept
{
    return static_cast<double>(n) * static_cast<double>(sizeof(std::ranges::range_value_t<R>));
}

template <class Range, class F>
constexpr auto offload_for_each(std::size_t n, const F& f)
{
    return offload_work<offload_safe<F>()>{
        {n, 2 * host_bytes<Range>(n), 2 * element_bytes<Range>(n), static_cast<double>(n) * declared_cpu_ns(f)}};
}

template <class F>
constexpr auto offload_index(std::size_t n, const F& f)
{
    return offload_work<declared_offloadable<F>()>{{n, 0, 0, static_cast<double>(n) * (1 + declared_cpu_ns(f))}};
}

template <class In, class Out, class F>
constexpr auto offload_map(std::size_t n, const F& f)
{
    return offload_work<offload_safe<F>()>{{n, host_bytes<In>(n) + host_bytes<Out>(n),
                                            element_bytes<In>(n) + element_bytes<Out>(n),
                                            static_cast<double>(n) * declared_cpu_ns(f)}};
}

template <class Range, class F, class Op>
constexpr auto offload_reduce(std::size_t n, const F& f, const Op& op)
{
    return offload_work<offload_safe<F>() && offload_safe<Op>()>{
        {n, host_bytes<Range>(n), element_bytes<Range>(n),
         static_cast<double>(n) * (declared_cpu_ns(f) + declared_cpu_ns(op))}};
}

template <class In, class Out, class Op>
constexpr auto offload_scan(std::size_t n, const Op& op)
{
    return offload_work<offload_safe<Op>()>{{n, host_bytes<In>(n) + host_bytes<Out>(n),
                                             element_bytes<In>(n) + element_bytes<Out>(n),
                                             2 * static_cast<double>(n) * declared_cpu_ns(op)}};
}

/// `Radix`: the keys are sorted without calling the comparator.
template <class Range, bool Radix, class Compare>
constexpr auto offload_sort(std::size_t n, const Compare& comp)
{
    const double levels = n < 2 ? 1.0 : static_cast<double>(std::bit_width(n));
    return offload_work<Radix || offload_safe<Compare>()>{
        {n, 2 * host_bytes<Range>(n), element_bytes<Range>(n), static_cast<double>(n) * levels * (cpu_sort_ns_per_level + declared_cpu_ns(comp)), levels}};
}

} // namespace trident::detail
