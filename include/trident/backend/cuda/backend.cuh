#pragma once
/// \file backend/cuda/backend.cuh
/// The CUDA backend of trident::gpu (and of trident::automatic when it picks the GPU).  Reached
/// through backend/dispatch.hpp in translation units compiled by nvcc; never by g++.
///
/// What runs where:
/// | algorithm                   | on the device                                                    |
/// |-----------------------------|------------------------------------------------------------------|
/// | for_each, for_each_index    | trident's grid-stride kernels (256 threads a block; for_each and |
/// | map                         | map move 16 bytes of input per thread and step where aligned)    |
/// | reduce, map_reduce          | cub::DeviceReduce (Reduce / TransformReduce) for commutative     |
/// |                             | operators; any other operator: trident's order-keeping reduction |
/// |                             | (reduce.cuh: one pass, at most 1025 T of scratch)                |
/// | inclusive/exclusive_scan    | cub::DeviceScan (InclusiveScan, InclusiveScanInit, ExclusiveScan) |
/// | sort, stable_sort           | cub::DeviceRadixSort (arithmetic keys, std::less / std::greater), |
/// |                             | else cub::DeviceMergeSort (SortKeys / StableSortKeys)            |
///
/// Every call runs on `policy.device_index()` (made current for the call, the previous device
/// restored after) and on `policy.stream_handle()`, or on the calling thread's default stream
/// (cudaStreamPerThread) when the policy names none.  Without a named stream a call returns with
/// its work done.  With one, a call whose results stay on the device (device ranges in and out)
/// returns once its work is enqueued on that stream (stream-ordered: later work on the stream sees
/// the results; synchronise the stream before reading them elsewhere); a call with a host output
/// or a value result (reduce) returns once it is ready.  Host ranges must be contiguous; they are
/// copied to scratch device memory and, for outputs, back.  Ranges in GPU memory
/// (trident::device_vector, device_span) are used in place and must live on the policy's device.
/// Elements and init values must be trivially copyable.  std::plus / multiplies / less / greater
/// become their cuda::std:: twins on the device; hint wrappers (hints.hpp) are removed.
///
/// Errors: trident::device_unavailable (no driver, no device, index out of range, prohibited or
/// busy exclusive-process device), trident::cuda_error (any failed CUDA call or kernel launch; out
/// of memory after trimming the pools; every call after a sticky error, which poisons the CUDA
/// context), std::invalid_argument (a device range on another device than the policy's).

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/backend.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/backend/cuda/device_vector.cuh"
#include "trident/backend/cuda/launch.cuh"
#include "trident/backend/cuda/reduce.cuh"
#include "trident/detail/radix_sort.hpp"
#include "trident/detail/device_traits.hpp"
#include "trident/lambda.hpp"
#include "trident/policy.hpp"

#include <cub/device/device_merge_sort.cuh>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#include <cub/util_type.cuh>
#include <cuda_runtime.h>

#include <cstddef>
#include <exception>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

namespace trident {
struct identity_fn; // data/reduce.hpp
}

namespace trident::detail {

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

} // namespace trident::detail

namespace trident::detail {

template <>
struct cuda_backend<gpu_policy> {
    /// Whether trident::automatic may use `device` now: a driver, a device, the index in range, not
    /// prohibited, no sticky error in the process, and this program's kernels run there (a failed
    /// probe is asked again after a back-off, check.cuh).  Never throws.
    static bool device_answers(int device) noexcept
    {
        try {
            return sticky_error().code.load() == 0 && device_problem(device).empty() && device_runs_kernels(device);
        } catch (...) {
            return false;
        }
    }

    /// After an automatic call on the GPU threw `failure` (before any host output was written):
    /// true when the call should run on par instead (out of device memory, a device that is
    /// unavailable: asked again after a back-off), false when the failure reaches the caller (a
    /// sticky error, which also turns automatic to par for the rest of the process; a bug).
    static bool fall_back_after_failure(int device, std::exception_ptr failure) noexcept
    {
        try {
            std::rethrow_exception(failure);
        } catch (const device_unavailable&) {
            note_device_unavailable(device);
            return true;
        } catch (const cuda_error& e) {
            switch (e.code()) {
            case cudaErrorMemoryAllocation:
                return true;
            case cudaErrorDevicesUnavailable: case cudaErrorNoDevice: case cudaErrorInsufficientDriver:
            case cudaErrorSystemNotReady: case cudaErrorInitializationError: case cudaErrorDeviceUninitialized:
                note_device_unavailable(device);
                return true;
            default:
                return false;
            }
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
            for_each_impl(policy, range, device_fn(f));
    }

    template <class In, class Out, class F>
    static void map(const gpu_policy& policy, In& in, Out& out, F f)
    {
        check_gpu_range<In>();
        check_gpu_range<Out>();
        if constexpr (gpu_range_ok<In>() && gpu_range_ok<Out>())
            map_impl(policy, in, out, device_fn(f));
    }

    template <class Range, class F, class T, class Op>
    static T map_reduce(const gpu_policy& policy, Range& range, F f, T init, Op op)
    {
        check_gpu_range<Range>();
        require_trivially_copyable<T>();
        if constexpr (gpu_range_ok<Range>() && std::is_trivially_copyable_v<T>) {
            using V = std::ranges::range_value_t<Range>;
            const auto n = static_cast<std::size_t>(std::ranges::size(range));
            gpu_call call(policy);
            if (n == 0)
                return init;
            staged<Range> data(range, n, call, true);
            return device_map_reduce<V>(call, data.get(), n, device_fn(f), init, op);
        } else {
            return init;
        }
    }

    template <class In, class Out, class Op, class T>
    static void inclusive_scan(const gpu_policy& policy, In& in, Out& out, Op& op, std::optional<T> init)
    {
        check_gpu_range<In>();
        check_gpu_range<Out>();
        require_trivially_copyable<T>();
        if constexpr (gpu_range_ok<In>() && gpu_range_ok<Out>() && std::is_trivially_copyable_v<T>)
            scan_impl<true>(policy, in, out, device_fn(op), std::move(init));
    }

    template <class In, class Out, class T, class Op>
    static void exclusive_scan(const gpu_policy& policy, In& in, Out& out, T init, Op& op)
    {
        check_gpu_range<In>();
        check_gpu_range<Out>();
        require_trivially_copyable<T>();
        if constexpr (gpu_range_ok<In>() && gpu_range_ok<Out>() && std::is_trivially_copyable_v<T>)
            scan_impl<false>(policy, in, out, device_fn(op), std::optional<T>(std::move(init)));
    }

    template <class F>
    static void for_each_index(const gpu_policy& policy, std::size_t n, F f)
    {
        gpu_call call(policy);
        if (n == 0)
            return;
        call.launch(n, device_fn(f));
        call.finish(false);
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
    static void for_each_impl(const gpu_policy& policy, Range& range, const F& f)
    {
        const auto n = static_cast<std::size_t>(std::ranges::size(range));
        gpu_call call(policy);
        if (n == 0)
            return;
        staged<Range> data(range, n, call, true);
        call.launch_for_each(data.get(), n, f);
        data.copy_back(n);
        call.finish(staged<Range>::host_output);
    }

    template <class In, class Out, class F>
    static void map_impl(const gpu_policy& policy, In& in, Out& out, const F& f)
    {
        const auto n = static_cast<std::size_t>(std::ranges::size(in));
        gpu_call call(policy);
        if (n == 0)
            return;
        staged<In> src(in, n, call, true);
        staged<Out> dst(out, n, call, false);
        call.launch_map(src.get(), dst.get(), n, f);
        dst.copy_back(n);
        call.finish(staged<Out>::host_output);
    }

    template <bool Inclusive, class In, class Out, class Op, class T>
    static void scan_impl(const gpu_policy& policy, In& in, Out& out, const Op& dop, std::optional<T> init)
    {
        const auto n = static_cast<std::size_t>(std::ranges::size(in));
        gpu_call call(policy);
        if (n == 0)
            return;
        staged<In> src(in, n, call, true);
        staged<Out> dst(out, n, call, false);
        if constexpr (!Inclusive) {
            const T seed = *init;
            TRIDENT_CUB_CALL(call, "cub::DeviceScan::ExclusiveScan", [&](void* temp, std::size_t& bytes) {
                return cub::DeviceScan::ExclusiveScan(temp, bytes, src.get(), dst.get(), dop, seed, n, call.stream);
            });
        } else if (init) {
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
        call.finish(staged<Out>::host_output);
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
        constexpr int order = gpu_radix_order<T, unwrapped_t<Compare>>();
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
        } else {
            const auto dcomp = device_fn(comp);
            if (stable)
                TRIDENT_CUB_CALL(call, "cub::DeviceMergeSort::StableSortKeys", [&](void* temp, std::size_t& bytes) {
                    return cub::DeviceMergeSort::StableSortKeys(temp, bytes, data.get(), n, dcomp, call.stream);
                });
            else
                TRIDENT_CUB_CALL(call, "cub::DeviceMergeSort::SortKeys", [&](void* temp, std::size_t& bytes) {
                    return cub::DeviceMergeSort::SortKeys(temp, bytes, data.get(), n, dcomp, call.stream);
                });
            data.copy_back(n);
        }
        call.finish(staged<Range>::host_output);
    }
};

} // namespace trident::detail
