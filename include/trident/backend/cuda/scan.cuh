#pragma once
/// \file backend/cuda/scan.cuh
/// inclusive_scan and exclusive_scan on the device: cub::DeviceScan (InclusiveScan without init,
/// InclusiveScanInit with it, ExclusiveScan), on the call's stream.  The CUDA system's own
/// overload of device_algorithm for device_algo::scan.  Only nvcc sees this header.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/scan.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/system.cuh"

#include <cub/device/device_scan.cuh>

#include <cstddef>
#include <optional>
#include <ranges>

namespace trident::detail {

/// out[i] = [init ⊕] in[0] ⊕ ... ⊕ in[i] (Inclusive), or init ⊕ in[0] ⊕ ... ⊕ in[i-1]; an exclusive
/// scan always has init.
template <bool Inclusive, class In, class Out, class Op, class T>
void device_algorithm(const cuda_system&, device_algo::scan<Inclusive>, const gpu_policy& policy, In& in, Out& out,
                      Op& op, std::optional<T>& init)
{
    constexpr bool ranges_ok = cuda_system::ranges_ok<In, Out>();
    constexpr bool value_ok = cuda_system::value_ok<T>();
    if constexpr (ranges_ok && value_ok) {
        const auto dop = device_fn(op);
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
}

} // namespace trident::detail
