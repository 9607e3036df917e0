#pragma once
// trident::detail: the work of a GPU pipeline stage (task/gpu_stage.cuh).  gpu_stage_state holds
// what the stage's copies share (the policy, the kernel, the lane pool) and runs one item: copy
// in through the lane's pinned buffer in chunks, the kernel on the lane's stream, copy out in
// chunks, each moved into the result as its event completes.  gpu_stage_fn is the stage function
// (cheap to copy, callable as const); gpu_map_kernel is gpu_map_stage's kernel (trident::map).
// nvcc only.

#if !defined(__CUDACC__)
#  error "trident/task/detail/gpu_stage_state.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/device_vector.cuh"
#include "trident/data/map.hpp"
#include "trident/policy.hpp"
#include "trident/task/detail/gpu_lanes.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident::detail {

/// What a GPU stage's copies share: the kernel, the policy and the lanes.
template <class In, class Out, class Kernel>
class gpu_stage_state {
public:
    gpu_stage_state(gpu_policy where, Kernel kernel, int lanes)
        : where_(where), kernel_(std::move(kernel)), pool_(where.device_index(), lanes)
    {
    }

    /// The input is taken by reference and, when In is Out, reused for the result.
    std::vector<Out> run(std::vector<In>& input)
    {
        pool_.check_device();
        const std::size_t n = input.size();
        if (n == 0)
            return {};
        const device_guard current(pool_.device());
        gpu_lane_pool::lease held(pool_, pool_.acquire());
        gpu_lane& lane = held.lane();
        const cudaStream_t stream = lane.stream();

        In* host_in = lane.host_in.reserve<In>(n);
        Out* host_out = lane.host_out.reserve<Out>(n);
        In* device_in = lane.device_in.reserve<In>(n);
        Out* device_out = lane.device_out.reserve<Out>(n);

        // Copy in: chunk k crosses PCIe while the host stages chunk k + 1.
        const std::size_t in_chunk = gpu_stage_chunk(n, sizeof(In));
        for (std::size_t b = 0; b < n; b += in_chunk) {
            const std::size_t count = std::min(in_chunk, n - b);
            std::memcpy(static_cast<void*>(host_in + b), static_cast<const void*>(input.data() + b), count * sizeof(In));
            TRIDENT_CUDA_CHECK(
                cudaMemcpyAsync(device_in + b, host_in + b, count * sizeof(In), cudaMemcpyHostToDevice, stream));
        }

        kernel_(device_span<const In>(device_in, n, pool_.device()), device_span<Out>(device_out, n, pool_.device()),
                where_.stream(stream));

        // Copy out: the host moves chunk k into the result while chunk k + 1 crosses PCIe.
        const std::size_t out_chunk = gpu_stage_chunk(n, sizeof(Out));
        std::size_t chunks = 0;
        for (std::size_t b = 0; b < n; b += out_chunk, ++chunks) {
            const std::size_t count = std::min(out_chunk, n - b);
            TRIDENT_CUDA_CHECK(
                cudaMemcpyAsync(host_out + b, device_out + b, count * sizeof(Out), cudaMemcpyDeviceToHost, stream));
            TRIDENT_CUDA_CHECK(cudaEventRecord(lane.chunk_done(chunks), stream));
        }
        if constexpr (std::is_same_v<In, Out>) {
            // The input's own memory takes the result: no allocation (and no page faults) per item.
            for (std::size_t k = 0, b = 0; k < chunks; ++k, b += out_chunk) {
                TRIDENT_CUDA_CHECK(cudaEventSynchronize(lane.chunk_done(k)));
                std::memcpy(static_cast<void*>(input.data() + b), static_cast<const void*>(host_out + b),
                            std::min(out_chunk, n - b) * sizeof(Out));
            }
            held.done(); // the last event completed: nothing is left on the lane's stream
            return std::move(input);
        } else {
            std::vector<Out> output;
            output.reserve(n);
            for (std::size_t k = 0, b = 0; k < chunks; ++k, b += out_chunk) {
                TRIDENT_CUDA_CHECK(cudaEventSynchronize(lane.chunk_done(k)));
                output.insert(output.end(), host_out + b, host_out + std::min(n, b + out_chunk));
            }
            held.done();
            return output;
        }
    }

private:
    gpu_policy where_;
    const Kernel kernel_; // called by several lanes at once, as const
    gpu_lane_pool pool_;
};

/// The stage function: cheap to copy (copies share the state), callable as const.
template <class In, class Out, class Kernel>
class gpu_stage_fn {
public:
    explicit gpu_stage_fn(std::shared_ptr<gpu_stage_state<In, Out, Kernel>> state) noexcept : state_(std::move(state)) {}

    /// By value: the pipeline moves its item in, and when In is Out the result goes back into the
    /// same memory.
    std::vector<Out> operator()(std::vector<In> input) const { return state_->run(input); }

private:
    std::shared_ptr<gpu_stage_state<In, Out, Kernel>> state_;
};

/// gpu_map_stage's kernel: trident::map on the lane's device buffers and stream.
template <class F>
struct gpu_map_kernel {
    F f;
    template <class In, class Out>
    void operator()(device_span<const In> in, device_span<Out> out, const gpu_policy& on_lane) const
    {
        trident::map(on_lane, in, out, f);
    }
};

inline void check_gpu_stage_arguments(const gpu_policy& where, int lanes)
{
    if (lanes < 1)
        throw std::invalid_argument("trident::gpu_stage: lanes must be at least 1, got " + std::to_string(lanes));
    if (where.stream_handle() != nullptr)
        throw std::invalid_argument("trident::gpu_stage: the policy names a stream, but a GPU stage runs on streams "
                                    "of its own (one per lane); pass trident::gpu or trident::gpu.device(i)");
}

} // namespace trident::detail
