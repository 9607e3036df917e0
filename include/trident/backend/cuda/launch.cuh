#pragma once
/// \file backend/cuda/launch.cuh
/// One trident::gpu call's device, stream and ranges (gpu_call, staged), the element-wise kernels
/// and the functor conversions shared by backend.cuh and reduce.cuh.  Only nvcc sees this header.
///
/// Element-wise kernels take 16 bytes of input per thread and step (e.g. 16 one-byte elements, two
/// doubles) with one vector load and store when the pointers allow it, in a grid-stride loop over
/// std::size_t indices (safe past 2^32 elements); other element sizes take one element per step.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/launch.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/backend/cuda/memory.cuh"
#include "trident/detail/device_traits.hpp"
#include "trident/hints.hpp"
#include "trident/lambda.hpp"
#include "trident/policy.hpp"

#include <cuda/functional>
#include <cuda/std/functional>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
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

/// The device form of a function: hint wrappers (hints.hpp) removed, std:: functors swapped.
template <class F>
decltype(auto) device_fn(const F& f)
{
    return to_device_fn<unwrapped_t<F>>::make(unwrap_hints(f));
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

/// op with its result converted to T, so that an accumulator keeps init's type as on the CPU.
template <class T, class Op>
struct accumulate_as {
    Op op;
    TRIDENT_HOST_DEVICE T operator()(const T& a, const T& b) const { return T(op(a, b)); }
};

/// The operator a reduction over T accumulates with: op itself when op(T, T) is already a T.
template <class T, class Op>
auto accumulating(const Op& op)
{
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(op(std::declval<const T&>(), std::declval<const T&>()))>, T>)
        return op;
    else
        return accumulate_as<T, Op>{op};
}

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

/// Elements per vector step: 16 bytes of T when T's size divides 16, else 1.
template <class T>
constexpr int vector_items()
{
    if constexpr (sizeof(T) < 16 && 16 % sizeof(T) == 0 && std::is_default_constructible_v<T>)
        return static_cast<int>(16 / sizeof(T));
    else
        return 1;
}

/// The largest power of two (at most 16) that divides `bytes`, at least `least`.
constexpr std::size_t pack_alignment(std::size_t bytes, std::size_t least)
{
    std::size_t a = 16;
    while (a > least && bytes % a != 0)
        a /= 2;
    return a;
}

template <class T, int K>
struct alignas(pack_alignment(sizeof(T) * K, alignof(T))) pack {
    T v[K];
};

template <int K, class InP, class OutP, class F>
__global__ void __launch_bounds__(block_threads) map_kernel(InP in, OutP out, std::size_t n, F f)
{
    using In = std::remove_cv_t<std::remove_pointer_t<InP>>;
    using Out = std::remove_pointer_t<OutP>;
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    const std::size_t first = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    std::size_t done = 0;
    if constexpr (K > 1) {
        const std::size_t packs = n / K;
        const auto* src = reinterpret_cast<const pack<In, K>*>(in);
        auto* dst = reinterpret_cast<pack<Out, K>*>(out);
        for (std::size_t p = first; p < packs; p += stride) {
            pack<In, K> a = src[p];
            pack<Out, K> b;
#pragma unroll
            for (int k = 0; k < K; ++k)
                b.v[k] = f(a.v[k]);
            dst[p] = b;
        }
        done = packs * K;
    }
    for (std::size_t i = done + first; i < n; i += stride)
        out[i] = f(in[i]);
}

template <int K, class P, class F>
__global__ void __launch_bounds__(block_threads) for_each_kernel(P data, std::size_t n, F f)
{
    using T = std::remove_pointer_t<P>;
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    const std::size_t first = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    std::size_t done = 0;
    if constexpr (K > 1) {
        const std::size_t packs = n / K;
        auto* all = reinterpret_cast<pack<T, K>*>(data);
        for (std::size_t p = first; p < packs; p += stride) {
            pack<T, K> a = all[p];
#pragma unroll
            for (int k = 0; k < K; ++k)
                f(a.v[k]);
            all[p] = a;
        }
        done = packs * K;
    }
    for (std::size_t i = done + first; i < n; i += stride)
        f(data[i]);
}

template <class T>
bool aligned_for(const void* p) noexcept
{
    return reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0;
}

// ---- one call's device, stream and ranges ---------------------------------------------------

/// The device and stream of one call; the device is current while it lives.  Without an explicit
/// stream the call runs on the calling thread's default stream (cudaStreamPerThread), never on the
/// legacy default stream that every host thread shares.
struct gpu_call {
    int device;
    cudaStream_t stream;
    bool explicit_stream;
    device_guard guard;

    explicit gpu_call(const gpu_policy& policy)
        : device(policy.device_index()),
          stream(policy.stream_handle() ? policy.stream_handle() : cudaStreamPerThread),
          explicit_stream(policy.stream_handle() != nullptr),
          guard((require_device(device), require_no_sticky_error(), device))
    {
    }

    void sync() const { TRIDENT_CUDA_CHECK(cudaStreamSynchronize(stream)); }

    /// The end of a call: waits for the stream when a result must reach the host (`to_host`) or
    /// no stream was named (the call then returns with its work done); with an explicit stream,
    /// work on device ranges stays enqueued (stream-ordered).
    void finish(bool to_host) const
    {
        if (to_host || !explicit_stream)
            sync();
    }

    template <class Body>
    void launch(std::size_t n, const Body& body) const
    {
        if (n == 0)
            return;
        grid_stride_kernel<<<blocks_for(n), block_threads, 0, stream>>>(n, body);
        TRIDENT_CUDA_CHECK_LAUNCH("trident::detail::grid_stride_kernel");
    }

    /// out[i] = f(in[i]) for i < n, 16 bytes of input per thread and step where aligned.
    template <class InP, class OutP, class F>
    void launch_map(InP in, OutP out, std::size_t n, const F& f) const
    {
        using In = std::remove_cv_t<std::remove_pointer_t<InP>>;
        using Out = std::remove_pointer_t<OutP>;
        constexpr int K = std::is_default_constructible_v<Out> ? vector_items<In>() : 1;
        if (n == 0)
            return;
        if (K > 1 && aligned_for<pack<In, K>>(in) && aligned_for<pack<Out, K>>(out))
            map_kernel<K><<<blocks_for(n / K + 1), block_threads, 0, stream>>>(in, out, n, f);
        else
            map_kernel<1><<<blocks_for(n), block_threads, 0, stream>>>(in, out, n, f);
        TRIDENT_CUDA_CHECK_LAUNCH("trident::detail::map_kernel");
    }

    /// f(data[i]) for i < n, vectorised as launch_map.
    template <class P, class F>
    void launch_for_each(P data, std::size_t n, const F& f) const
    {
        using T = std::remove_pointer_t<P>;
        constexpr int K = std::is_const_v<T> ? 1 : vector_items<T>(); // read-only elements: no write-back
        if (n == 0)
            return;
        if (K > 1 && aligned_for<pack<std::remove_const_t<T>, K>>(data))
            for_each_kernel<K><<<blocks_for(n / K + 1), block_threads, 0, stream>>>(data, n, f);
        else
            for_each_kernel<1><<<blocks_for(n), block_threads, 0, stream>>>(data, n, f);
        TRIDENT_CUDA_CHECK_LAUNCH("trident::detail::for_each_kernel");
    }

    static unsigned blocks_for(std::size_t items) noexcept
    {
        return static_cast<unsigned>(std::min((items + block_threads - 1) / block_threads, max_blocks));
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

    /// One value from device memory (T need not be default constructible); waits for the stream.
    template <class T>
    T fetch(const T* device_value) const
    {
        alignas(T) std::array<std::byte, sizeof(T)> raw;
        TRIDENT_CUDA_CHECK(cudaMemcpyAsync(raw.data(), device_value, sizeof(T), cudaMemcpyDeviceToHost, stream));
        sync();
        return std::bit_cast<T>(raw);
    }
};

/// Runs a CUB device algorithm with scratch storage; errors name `name` and this file:line.
#define TRIDENT_CUB_CALL(call, name, ...) (call).with_temp_storage(name, __FILE__, __LINE__, __VA_ARGS__)

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
