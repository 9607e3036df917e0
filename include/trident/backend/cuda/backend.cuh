#pragma once
/// \file backend/cuda/backend.cuh
/// The CUDA backend of trident::gpu (and of trident::automatic when it picks the GPU).  Reached
/// through detail/dispatch.hpp in translation units compiled by nvcc; never by g++.
///
/// What runs where:
/// | algorithm                   | on the device                                                    |
/// |-----------------------------|------------------------------------------------------------------|
/// | for_each, for_each_index    | trident's grid-stride kernel (256 threads a block)               |
/// | map                         | the same kernel, out[i] = f(in[i])                               |
/// | reduce, map_reduce          | cub::DeviceReduce (TransformReduce / Reduce) for `std::plus` and |
/// |                             | `std::multiplies` on arithmetic types; any other operator keeps  |
/// |                             | its order: f(x) into a scratch array, cub::DeviceScan over it,   |
/// |                             | the last element returned (CUB's reduction needs commutativity)  |
/// | inclusive/exclusive_scan    | cub::DeviceScan (InclusiveScan, InclusiveScanInit, ExclusiveScan) |
/// | sort, stable_sort           | cub::DeviceRadixSort (arithmetic keys, std::less / std::greater), |
/// |                             | else cub::DeviceMergeSort (SortKeys / StableSortKeys)            |
///
/// Every call runs on `policy.device_index()` (made current for the call, the previous device
/// restored after) and on `policy.stream_handle()`, and returns once its result is ready (the
/// stream is synchronised).  Host ranges must be contiguous; they are copied to scratch device
/// memory and, for outputs, back.  Ranges in GPU memory (trident::device_vector, device_span) are
/// used in place and must live on the policy's device.  Elements and init values must be
/// trivially copyable.  std::plus / multiplies / less / greater become their cuda::std:: twins on
/// the device.
///
/// Errors: trident::device_unavailable (no driver, no device, index out of range),
/// trident::cuda_error (any failed CUDA call or kernel launch), std::invalid_argument (a device
/// range on another device than the policy's).

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/backend.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/device_vector.cuh"
#include "trident/detail/radix_sort.hpp"
#include "trident/detail/dispatch.hpp"
#include "trident/lambda.hpp"
#include "trident/policy.hpp"

#include <cub/device/device_merge_sort.cuh>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/util_type.cuh>
#include <cuda/functional>
#include <cuda/std/functional>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <functional>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace trident {
struct identity_fn; // data/reduce.hpp
}

namespace trident::detail {

// ---- functors -------------------------------------------------------------------------------

/// std:: functors are host-only: swap them for their cuda::std:: twins; anything else is kept.
template <class Op> struct to_device_fn {
    static const Op& make(const Op& op) { return op; }
};
template <class X> struct to_device_fn<std::plus<X>> {
    static cuda::std::plus<X> make(const std::plus<X>&) { return {}; }
};
template <class X> struct to_device_fn<std::multiplies<X>> {
    static cuda::std::multiplies<X> make(const std::multiplies<X>&) { return {}; }
};
template <class X> struct to_device_fn<std::less<X>> {
    static cuda::std::less<X> make(const std::less<X>&) { return {}; }
};
template <class X> struct to_device_fn<std::greater<X>> {
    static cuda::std::greater<X> make(const std::greater<X>&) { return {}; }
};

template <class Op> inline constexpr bool is_sum_or_product_v = false;
template <class X> inline constexpr bool is_sum_or_product_v<std::plus<X>> = true;
template <class X> inline constexpr bool is_sum_or_product_v<std::multiplies<X>> = true;
template <class X> inline constexpr bool is_sum_or_product_v<cuda::std::plus<X>> = true;
template <class X> inline constexpr bool is_sum_or_product_v<cuda::std::multiplies<X>> = true;
template <class X> inline constexpr bool is_sum_or_product_v<cuda::minimum<X>> = true;
template <class X> inline constexpr bool is_sum_or_product_v<cuda::maximum<X>> = true;

/// Operators whose order of application CUB's reduction may change: sums and products (and
/// min/max) of arithmetic values.  Every other operator gets the order-keeping path.
template <class Op, class T>
inline constexpr bool reorderable_v = is_sum_or_product_v<std::remove_cv_t<Op>> && std::is_arithmetic_v<T>;

/// Key types cub::DeviceRadixSort handles (radix_order also requires arithmetic, not bool).
template <class T>
inline constexpr bool cub_radix_key_v =
    std::is_same_v<T, char> || std::is_same_v<T, signed char> || std::is_same_v<T, unsigned char> ||
    std::is_same_v<T, short> || std::is_same_v<T, unsigned short> || std::is_same_v<T, int> ||
    std::is_same_v<T, unsigned> || std::is_same_v<T, long> || std::is_same_v<T, unsigned long> ||
    std::is_same_v<T, long long> || std::is_same_v<T, unsigned long long> || std::is_same_v<T, float> ||
    std::is_same_v<T, double>;

/// radix_order (detail/radix_sort.hpp) restricted to the key types CUB sorts.
template <class T, class Compare>
constexpr int gpu_radix_order()
{
    if constexpr (cub_radix_key_v<T>)
        return radix_order<T, Compare>();
    else
        return 0;
}

/// x -> T(f(x)); identity_fn is skipped (its std::forward is not a device function).
template <class F, class T>
struct convert_fn {
    F f;
    template <class X>
    TRIDENT_HOST_DEVICE T operator()(X&& x) const
    {
        if constexpr (std::is_same_v<F, trident::identity_fn>)
            return T(x);
        else
            return T(f(x));
    }
};

template <class P, class F>
struct each_body {
    P data;
    F f;
    TRIDENT_HOST_DEVICE void operator()(std::size_t i) { f(data[i]); }
};

template <class In, class Out, class F>
struct map_body {
    In in;
    Out out;
    F f;
    TRIDENT_HOST_DEVICE void operator()(std::size_t i) { out[i] = f(in[i]); }
};

// ---- kernels --------------------------------------------------------------------------------

inline constexpr unsigned block_threads = 256;
inline constexpr std::size_t max_blocks = std::size_t{1} << 20; // then each thread loops (grid-stride)

template <class Body>
__global__ void __launch_bounds__(block_threads) grid_stride_kernel(std::size_t n, Body body)
{
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        body(i);
}

/// Runs a CUB device algorithm with scratch storage; errors name `name` and this file:line.
#define TRIDENT_CUB_CALL(call, name, ...) (call).with_temp_storage(name, __FILE__, __LINE__, __VA_ARGS__)

// ---- one call's device, stream and ranges ---------------------------------------------------

/// The device and stream of one call; the device is current while it lives.
struct gpu_call {
    int device;
    cudaStream_t stream;
    device_guard guard;

    explicit gpu_call(const gpu_policy& policy)
        : device(policy.device_index()), stream(policy.stream_handle()), guard((require_device(device), device))
    {
    }

    void sync() const { TRIDENT_CUDA_CHECK(cudaStreamSynchronize(stream)); }

    template <class Body>
    void launch(std::size_t n, const Body& body) const
    {
        if (n == 0)
            return;
        const std::size_t blocks = std::min((n + block_threads - 1) / block_threads, max_blocks);
        grid_stride_kernel<<<static_cast<unsigned>(blocks), block_threads, 0, stream>>>(n, body);
        TRIDENT_CUDA_CHECK_LAUNCH("trident::detail::grid_stride_kernel");
    }

    /// Scratch bytes for a CUB call: `run(ptr, bytes)` is called once to size, once to work; a
    /// failure names `what` and the caller's file:line (use TRIDENT_CUB_CALL).
    template <class Run>
    void with_temp_storage(const char* what, const char* file, int line, Run&& run) const
    {
        std::size_t bytes = 0;
        cuda_check(run(static_cast<void*>(nullptr), bytes), what, file, line);
        scratch<unsigned char> temp(bytes == 0 ? 1 : bytes, device, stream);
        cuda_check(run(static_cast<void*>(temp.get()), bytes), what, file, line);
    }

    /// One value from device memory (T need not be default constructible).
    template <class T>
    T fetch(const T* device_value) const
    {
        alignas(T) std::array<std::byte, sizeof(T)> raw;
        TRIDENT_CUDA_CHECK(cudaMemcpyAsync(raw.data(), device_value, sizeof(T), cudaMemcpyDeviceToHost, stream));
        sync();
        return std::bit_cast<T>(raw);
    }
};

template <class R>
inline constexpr bool on_device_v = is_device_range_v<std::remove_cvref_t<R>>;

template <class R>
constexpr bool gpu_range_ok()
{
    return (on_device_v<R> || std::ranges::contiguous_range<R>) && std::is_trivially_copyable_v<std::ranges::range_value_t<R>>;
}

template <class R>
constexpr void check_gpu_range()
{
    static_assert(on_device_v<R> || std::ranges::contiguous_range<R>,
                  "trident::gpu: a host range must be contiguous (std::vector, std::array, std::span) to be copied to "
                  "the GPU; or keep the data in a trident::device_vector");
    require_trivially_copyable<std::ranges::range_value_t<R>>();
}

/// The device memory of a range for the length of one call: the range itself when it lives on the
/// device, otherwise a scratch copy (filled from the host when `copy_in`; `copy_back` returns it).
template <class R>
class staged {
public:
    using value_type = std::ranges::range_value_t<R>;
    using pointer = std::conditional_t<on_device_v<R>, decltype(std::ranges::data(std::declval<R&>())), value_type*>;

    staged(R& range, std::size_t n, const gpu_call& call, bool copy_in)
        : range_(range), call_(call), buffer_(on_device_v<R> ? 0 : n, call.device, call.stream)
    {
        if constexpr (on_device_v<R>) {
            if (range.device() != call.device)
                throw std::invalid_argument("trident::gpu: the device range lives on device " +
                                            std::to_string(range.device()) + " but the policy runs on device " +
                                            std::to_string(call.device) + " (use trident::gpu.device(" +
                                            std::to_string(range.device()) + "))");
            data_ = std::ranges::data(range);
        } else {
            data_ = buffer_.get();
            if (copy_in && n != 0)
                TRIDENT_CUDA_CHECK(cudaMemcpyAsync(data_, std::ranges::data(range), n * sizeof(value_type),
                                                   cudaMemcpyHostToDevice, call.stream));
        }
    }

    [[nodiscard]] pointer get() const noexcept { return data_; }

    /// Host ranges: the first n elements back from the device (from `from` when given).
    void copy_back(std::size_t n, const value_type* from = nullptr) const
    {
        if constexpr (!on_device_v<R> && !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>) {
            if (n != 0)
                TRIDENT_CUDA_CHECK(cudaMemcpyAsync(std::ranges::data(range_), from ? from : data_,
                                                   n * sizeof(value_type), cudaMemcpyDeviceToHost, call_.stream));
        } else {
            (void)n;
            (void)from;
        }
    }

private:
    R& range_;
    const gpu_call& call_;
    scratch<value_type> buffer_;
    pointer data_ = nullptr;
};

} // namespace trident::detail

namespace trident::detail {

template <>
struct cuda_backend<gpu_policy> {
    /// Whether `device` can run trident::gpu calls: a driver, a device, the index in range, and a
    /// kernel image for the device's architecture.  Asked once per process (the count) and once per
    /// device index (the image); never throws.  trident::automatic falls back to par when false.
    static bool device_answers(int device) noexcept
    {
        try {
            return device_problem(device).empty() && device_runs_kernels(device);
        } catch (...) {
            return false;
        }
    }

    // Each entry checks its ranges and types (a static_assert with a sentence), then runs the
    // implementation only when they pass, so that a bad type gives one error, not pages of CUB's.
    template <class Range, class F>
    static void for_each(const gpu_policy& policy, Range& range, F f)
    {
        check_gpu_range<Range>();
        if constexpr (gpu_range_ok<Range>())
            for_each_impl(policy, range, f);
    }

    template <class In, class Out, class F>
    static void map(const gpu_policy& policy, In& in, Out& out, F f)
    {
        check_gpu_range<In>();
        check_gpu_range<Out>();
        if constexpr (gpu_range_ok<In>() && gpu_range_ok<Out>())
            map_impl(policy, in, out, f);
    }

    template <class Range, class F, class T, class Op>
    static T map_reduce(const gpu_policy& policy, Range& range, F f, T init, Op op)
    {
        check_gpu_range<Range>();
        require_trivially_copyable<T>();
        if constexpr (gpu_range_ok<Range>() && std::is_trivially_copyable_v<T>)
            return map_reduce_impl(policy, range, f, std::move(init), op);
        else
            return init;
    }

    template <class In, class Out, class Op, class T>
    static void inclusive_scan(const gpu_policy& policy, In& in, Out& out, Op& op, std::optional<T> init)
    {
        check_gpu_range<In>();
        check_gpu_range<Out>();
        require_trivially_copyable<T>();
        if constexpr (gpu_range_ok<In>() && gpu_range_ok<Out>() && std::is_trivially_copyable_v<T>)
            inclusive_scan_impl(policy, in, out, op, std::move(init));
    }

    template <class In, class Out, class T, class Op>
    static void exclusive_scan(const gpu_policy& policy, In& in, Out& out, T init, Op& op)
    {
        check_gpu_range<In>();
        check_gpu_range<Out>();
        require_trivially_copyable<T>();
        if constexpr (gpu_range_ok<In>() && gpu_range_ok<Out>() && std::is_trivially_copyable_v<T>)
            exclusive_scan_impl(policy, in, out, std::move(init), op);
    }

    template <class F>
    static void for_each_index(const gpu_policy& policy, std::size_t n, F f)
    {
        gpu_call call(policy);
        if (n == 0)
            return;
        call.launch(n, f);
        call.sync();
    }

    template <class Range, class Compare>
    static void sort(const gpu_policy& policy, Range& range, Compare& comp, bool stable)
    {
        check_gpu_range<Range>();
        if constexpr (gpu_range_ok<Range>())
            sort_impl(policy, range, comp, stable);
    }

private:
    template <class Range, class F>
    static void for_each_impl(const gpu_policy& policy, Range& range, F f)
    {
        const auto n = static_cast<std::size_t>(std::ranges::size(range));
        gpu_call call(policy);
        if (n == 0)
            return;
        staged<Range> data(range, n, call, true);
        using P = typename staged<Range>::pointer;
        call.launch(n, each_body<P, F>{data.get(), f});
        data.copy_back(n);
        call.sync();
    }

    template <class In, class Out, class F>
    static void map_impl(const gpu_policy& policy, In& in, Out& out, F f)
    {
        const auto n = static_cast<std::size_t>(std::ranges::size(in));
        gpu_call call(policy);
        if (n == 0)
            return;
        staged<In> src(in, n, call, true);
        staged<Out> dst(out, n, call, false);
        call.launch(n, map_body<typename staged<In>::pointer, typename staged<Out>::pointer, F>{src.get(), dst.get(), f});
        dst.copy_back(n);
        call.sync();
    }

    template <class Range, class F, class T, class Op>
    static T map_reduce_impl(const gpu_policy& policy, Range& range, F f, T init, Op op)
    {
        using V = std::ranges::range_value_t<Range>;
        const auto n = static_cast<std::size_t>(std::ranges::size(range));
        gpu_call call(policy);
        if (n == 0)
            return init;
        staged<Range> data(range, n, call, true);
        auto dop = to_device_fn<Op>::make(op);
        if constexpr (reorderable_v<Op, T>) {
            scratch<T> result(1, call.device, call.stream);
            if constexpr (std::is_same_v<F, trident::identity_fn> && std::is_same_v<V, T>) {
                TRIDENT_CUB_CALL(call, "cub::DeviceReduce::Reduce", [&](void* temp, std::size_t& bytes) {
                    return cub::DeviceReduce::Reduce(temp, bytes, data.get(), result.get(), n, dop, init, call.stream);
                });
            } else {
                TRIDENT_CUB_CALL(call, "cub::DeviceReduce::TransformReduce", [&](void* temp, std::size_t& bytes) {
                    return cub::DeviceReduce::TransformReduce(temp, bytes, data.get(), result.get(), n, dop,
                                                              convert_fn<F, T>{f}, init, call.stream);
                });
            }
            return call.fetch(result.get());
        } else {
            // Order-keeping: mapped values into scratch, an inclusive scan (which never reorders)
            // seeded with init, and its last element.
            scratch<T> mapped(n, call.device, call.stream);
            call.launch(n, map_body<typename staged<Range>::pointer, T*, convert_fn<F, T>>{data.get(), mapped.get(),
                                                                                            convert_fn<F, T>{f}});
            TRIDENT_CUB_CALL(call, "cub::DeviceScan::InclusiveScanInit", [&](void* temp, std::size_t& bytes) {
                return cub::DeviceScan::InclusiveScanInit(temp, bytes, mapped.get(), mapped.get(), dop, init, n,
                                                          call.stream);
            });
            return call.fetch(mapped.get() + (n - 1));
        }
    }

    template <class In, class Out, class Op, class T>
    static void inclusive_scan_impl(const gpu_policy& policy, In& in, Out& out, Op& op, std::optional<T> init)
    {
        const auto n = static_cast<std::size_t>(std::ranges::size(in));
        gpu_call call(policy);
        if (n == 0)
            return;
        staged<In> src(in, n, call, true);
        staged<Out> dst(out, n, call, false);
        auto dop = to_device_fn<Op>::make(op);
        if (init) {
            const T seed = *init;
            TRIDENT_CUB_CALL(call, "cub::DeviceScan::InclusiveScanInit", [&](void* temp, std::size_t& bytes) {
                return cub::DeviceScan::InclusiveScanInit(temp, bytes, src.get(), dst.get(), dop, seed, n, call.stream);
            });
        } else {
            TRIDENT_CUB_CALL(call, "cub::DeviceScan::InclusiveScan", [&](void* temp, std::size_t& bytes) {
                return cub::DeviceScan::InclusiveScan(temp, bytes, src.get(), dst.get(), dop, n, call.stream);
            });
        }
        dst.copy_back(n);
        call.sync();
    }

    template <class In, class Out, class T, class Op>
    static void exclusive_scan_impl(const gpu_policy& policy, In& in, Out& out, T init, Op& op)
    {
        const auto n = static_cast<std::size_t>(std::ranges::size(in));
        gpu_call call(policy);
        if (n == 0)
            return;
        staged<In> src(in, n, call, true);
        staged<Out> dst(out, n, call, false);
        auto dop = to_device_fn<Op>::make(op);
        TRIDENT_CUB_CALL(call, "cub::DeviceScan::ExclusiveScan", [&](void* temp, std::size_t& bytes) {
            return cub::DeviceScan::ExclusiveScan(temp, bytes, src.get(), dst.get(), dop, init, n, call.stream);
        });
        dst.copy_back(n);
        call.sync();
    }

    template <class Range, class Compare>
    static void sort_impl(const gpu_policy& policy, Range& range, Compare& comp, bool stable)
    {
        using T = std::ranges::range_value_t<Range>;
        const auto n = static_cast<std::size_t>(std::ranges::size(range));
        gpu_call call(policy);
        if (n < 2)
            return;
        staged<Range> data(range, n, call, true);
        constexpr int order = gpu_radix_order<T, Compare>();
        if constexpr (order != 0) {
            // Radix sort is stable, so it serves stable_sort too.
            (void)stable;
            scratch<T> other(n, call.device, call.stream);
            cub::DoubleBuffer<T> keys(data.get(), other.get());
            TRIDENT_CUB_CALL(call, "cub::DeviceRadixSort::SortKeys", [&](void* temp, std::size_t& bytes) {
                if constexpr (order == 1)
                    return cub::DeviceRadixSort::SortKeys(temp, bytes, keys, n, 0, int(sizeof(T) * 8), call.stream);
                else
                    return cub::DeviceRadixSort::SortKeysDescending(temp, bytes, keys, n, 0, int(sizeof(T) * 8),
                                                                    call.stream);
            });
            if constexpr (on_device_v<Range>) {
                if (keys.Current() != data.get())
                    TRIDENT_CUDA_CHECK(cudaMemcpyAsync(data.get(), keys.Current(), n * sizeof(T),
                                                       cudaMemcpyDeviceToDevice, call.stream));
            } else {
                data.copy_back(n, keys.Current());
            }
            call.sync();
        } else {
            auto dcomp = to_device_fn<Compare>::make(comp);
            if (stable)
                TRIDENT_CUB_CALL(call, "cub::DeviceMergeSort::StableSortKeys", [&](void* temp, std::size_t& bytes) {
                    return cub::DeviceMergeSort::StableSortKeys(temp, bytes, data.get(), n, dcomp, call.stream);
                });
            else
                TRIDENT_CUB_CALL(call, "cub::DeviceMergeSort::SortKeys", [&](void* temp, std::size_t& bytes) {
                    return cub::DeviceMergeSort::SortKeys(temp, bytes, data.get(), n, dcomp, call.stream);
                });
            data.copy_back(n);
            call.sync();
        }
    }
};

} // namespace trident::detail
