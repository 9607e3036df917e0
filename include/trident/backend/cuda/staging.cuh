#pragma once
/// \file backend/cuda/staging.cuh
/// A call's ranges on the device: `staged<R>` is the range itself when it lives in GPU memory
/// (trident::device_vector, device_span; it must live on the call's device), otherwise scratch
/// device memory filled from the contiguous host range and, for outputs, copied back
/// (`copy_back`, stream-ordered on the call's stream).  `gpu_ranges_ok<R...>()` checks at compile
/// time that ranges can be staged, with a sentence per failed requirement.  Only nvcc sees this
/// header.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/staging.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/launch.cuh"
#include "trident/backend/cuda/memory.cuh"
#include "trident/detail/device_traits.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace trident::detail {

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

/// Checks every range in order (a static_assert with a sentence for each failed requirement) and
/// says whether all can be staged: an algorithm instantiates its device work only when they can,
/// so that a bad range gives one error, not pages of CUB's.
template <class... R>
constexpr bool gpu_ranges_ok()
{
    (check_gpu_range<R>(), ...);
    return (gpu_range_ok<R>() && ...);
}

/// The device memory of a range for the length of one call: the range itself when it lives on the
/// device, otherwise a scratch copy (filled from the host when `copy_in`; `copy_back` returns it).
template <class R>
class staged {
public:
    using value_type = std::ranges::range_value_t<R>;
    using pointer = std::conditional_t<on_device_v<R>, decltype(std::ranges::data(std::declval<R&>())), value_type*>;
    /// Whether results written here must be copied back to the host.
    static constexpr bool host_output =
        !on_device_v<R> && !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>;

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
        if constexpr (host_output) {
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
