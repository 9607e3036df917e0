#pragma once
/// \file backend/cuda/sort.cuh
/// sort and stable_sort on the device: cub::DeviceRadixSort for arithmetic keys with std::less /
/// std::greater (stable, so it serves stable_sort too), else cub::DeviceMergeSort (SortKeys /
/// StableSortKeys).  The CUDA system's own overload of device_algorithm for device_algo::sort.
/// Only nvcc sees this header.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/sort.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/system.cuh"
#include "trident/detail/radix_sort.hpp"

#include <cub/device/device_merge_sort.cuh>
#include <cub/device/device_radix_sort.cuh>
#include <cub/util_type.cuh>
#include <cuda_runtime.h>

#include <cstddef>
#include <ranges>
#include <type_traits>

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

template <class Range, class Compare>
void device_algorithm(const cuda_system&, device_algo::sort, const gpu_policy& policy, Range& range, Compare& comp,
                      const bool& stable)
{
    if constexpr (cuda_system::ranges_ok<Range>()) {
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
}

} // namespace trident::detail
