#pragma once
/// \file backend/cuda/launch.cuh
/// One trident::gpu call on the device (gpu_call: the policy's device, made current for the call,
/// and its stream) and the one element-wise kernel every element-wise algorithm launches.  Only
/// nvcc sees this header.
///
/// - `gpu_call call(policy)`: checks the device (trident::device_unavailable) and the process's
///   sticky CUDA error, makes the device current (restored when the call ends) and picks the
///   stream: `policy.stream_handle()`, or the calling thread's default stream
///   (cudaStreamPerThread) when the policy names none, never the legacy default stream.
/// - `call.launch(n, body)`: body(i) for every i < n, in a grid-stride loop over std::size_t
///   indices (safe past 2^32 elements), 256 threads a block.
/// - `call.launch_elementwise<K>(n, step, name)`: the same loop over packs of K elements
///   (step.pack(p) for p < n / K), then step.one(i) for the rest; for_each.cuh's vectorised steps.
/// - `TRIDENT_CUB_CALL(call, name, run)`: a CUB device algorithm with its scratch storage.
/// - `call.finish(to_host)`, `call.fetch(ptr)`: the end of a call (see finish).

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/launch.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/backend/cuda/functors.cuh"
#include "trident/backend/cuda/memory.cuh"
#include "trident/policy.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <utility>

namespace trident::detail {

inline constexpr unsigned block_threads = 256;
inline constexpr std::size_t max_blocks = std::size_t{1} << 20; // then each thread loops (grid-stride)

/// The element-wise kernel: step.pack(p) for every whole pack p of K elements (K > 1), then
/// step.one(i) for the elements after the last whole pack (every element when K == 1), each in a
/// grid-stride loop.
template <int K, class Step>
__global__ void __launch_bounds__(block_threads) elementwise_kernel(std::size_t n, Step step)
{
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    const std::size_t first = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    std::size_t done = 0;
    if constexpr (K > 1) {
        const std::size_t packs = n / K;
        for (std::size_t p = first; p < packs; p += stride)
            step.pack(p);
        done = packs * K;
    }
    for (std::size_t i = done + first; i < n; i += stride)
        step.one(i);
}

/// An index body as an element-wise step (one index at a time).
template <class Body>
struct index_step {
    Body body;
    __device__ void one(std::size_t i) const { body(i); }
};

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

    /// body(i) for every i < n.
    template <class Body>
    void launch(std::size_t n, const Body& body) const
    {
        launch_elementwise<1>(n, index_step<Body>{body}, "launch of trident::detail::elementwise_kernel (index)");
    }

    /// The element-wise kernel over n elements in packs of K (see elementwise_kernel); a failed
    /// launch throws trident::cuda_error naming `what` ("launch of ...").
    template <int K, class Step>
    void launch_elementwise(std::size_t n, const Step& step, const char* what) const
    {
        if (n == 0)
            return;
        elementwise_kernel<K><<<blocks_for(K > 1 ? n / K + 1 : n), block_threads, 0, stream>>>(n, step);
        cuda_check(cudaGetLastError(), what, __FILE__, __LINE__);
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

} // namespace trident::detail
