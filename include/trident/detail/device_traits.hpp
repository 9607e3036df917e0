#pragma once
// What the policies that may run on a GPU (gpu, automatic) ask of a call's ranges and functions,
// at compile time: whether a function may be called on the device, whether a range lives there or
// could be copied there.  The CUDA backend's entry point (cuda_backend) is declared here and
// defined in backend/cuda/backend.cuh, which only nvcc sees.

#include "trident/detail/offload.hpp"
#include "trident/hints.hpp"

#include <ranges>
#include <type_traits>

namespace trident {

/// Specialise to `true` for a function object whose call operator is `__host__ __device__`, so that
/// `trident::automatic` may run it on the GPU.  TRIDENT_LAMBDA lambdas and the std:: arithmetic and
/// comparison functors are recognised without it.
template <class F> inline constexpr bool is_device_callable_v = false;

} // namespace trident

namespace trident::detail {

template <class...> inline constexpr bool always_false = false;

/// The CUDA backend.  Declared here, defined in backend/cuda/backend.cuh, which only nvcc sees.
template <class Policy> struct cuda_backend;

// is_device_range_v (ranges whose elements live in GPU memory) and is_std_functor_v: offload.hpp.

/// Whether F (inside any hint wrappers, hints.hpp) can be called on the device.
template <class F>
constexpr bool device_callable()
{
    using D = unwrapped_t<F>;
    if constexpr (is_device_callable_v<D>)
        return true;
#if defined(__CUDACC__)
    else if constexpr (__nv_is_extended_host_device_lambda_closure_type(D))
        return true;
#endif
    else
        return is_std_functor_v<D>;
}

/// Whether some range already lives on the GPU (automatic then runs there whatever the size).
template <class... Ranges>
constexpr bool any_device_range()
{
    return (is_device_range_v<std::remove_cvref_t<Ranges>> || ...);
}

/// Whether automatic may move a call to the GPU: every range host-contiguous with trivially copyable
/// elements (or already on the device) and every function callable on the device.
template <class... Ranges>
constexpr bool device_ranges()
{
    return ((is_device_range_v<std::remove_cvref_t<Ranges>> ||
             (std::ranges::contiguous_range<Ranges> && std::is_trivially_copyable_v<std::ranges::range_value_t<Ranges>>)) &&
            ...);
}

template <class Policy>
constexpr void require_cuda_compiler()
{
#if !defined(__CUDACC__)
    static_assert(always_false<Policy>,
                  "trident::gpu runs only in translation units compiled by nvcc: put this call in a .cu file "
                  "(a CUDA source linked to trident::trident), or use trident::par or trident::automatic");
#endif
}

} // namespace trident::detail
