#pragma once
/// \file task/gpu_stage.cuh
/// `trident::gpu_stage` and `trident::gpu_map_stage`: a pipeline stage that runs on a CUDA device
/// and overlaps the copy in, the kernel and the copy out of successive items.
///
/// A GPU stage is an ordinary `trident::pipeline_stage` (see task/pipeline.hpp): it takes the
/// previous stage's `std::vector<In>` and returns a `std::vector<Out>` of the same length, so the
/// stages around it do not change.  Inside, it owns `lanes` *lanes*; a lane is
///   - a CUDA stream of its own, created non-blocking on the policy's device,
///   - a pinned (page-locked) host buffer for the input and one for the output,
///   - a device buffer for the input and one for the output.
/// Each call takes a free lane and, on that lane's stream:
///   1. copies the input into the pinned buffer and from there to the device (cudaMemcpyAsync,
///      host to device), in chunks, so the first chunks cross PCIe while the host copies the next;
///   2. runs the kernel on the device buffers;
///   3. copies the result back (device to host, in chunks, each followed by an event) and moves
///      each chunk into the returned vector as soon as its event completes (when In and Out are the
///      same type the returned vector is the input vector itself, overwritten: no allocation and
///      no page faults per item);
/// then gives the lane back.  The stage's mode is `trident::parallel_out_of_order.limit(lanes)`, so successive
/// items run on different threads and different lanes at once: while item k is copied out, item
/// k+1's kernel runs and item k+2 is copied in (the H100 has separate copy engines for each
/// direction, so the three overlap).  Two lanes give double buffering, three triple buffering.
///
/// \code
///   #include "trident/trident.hpp"
///   #include "trident/task/gpu_stage.cuh"   // (a .cu file: nvcc only; trident.hpp includes it under nvcc)
///
///   std::size_t next = 0;
///   trident::run_pipeline(trident::par,
///       trident::source("load", [&]() -> std::optional<std::vector<float>> {
///           if (next == batches) return std::nullopt;
///           return load(next++);                                         // a host batch
///       }),
///       trident::stage("clean", trident::parallel_out_of_order, [](std::vector<float> b) { return clean(std::move(b)); }),
///       trident::gpu_map_stage<float>("score", trident::gpu, TRIDENT_LAMBDA(float x) { return score(x); }),
///       trident::stage("save", trident::serial_in_order, [&](std::vector<float> s) { save(s); }));
///
///   // The general form: any work on the lane's device buffers and stream.
///   auto smooth = trident::gpu_stage<float, float>("smooth", trident::gpu.device(1),
///       [](trident::device_span<const float> in, trident::device_span<float> out, const trident::gpu_policy& on) {
///           const std::size_t n = in.size();
///           trident::for_each_index(on, n, TRIDENT_LAMBDA(std::size_t i) {
///               out[i] = (in[i == 0 ? 0 : i - 1] + in[i] + in[i + 1 == n ? i : i + 1]) / 3;
///           });
///       }, /*lanes=*/3);
/// \endcode
///
/// **Interface.**
/// - `gpu_stage<In, Out>(name, where, kernel, lanes = 2)`: `kernel(device_span<const In> in,
///   device_span<Out> out, const gpu_policy& on_lane)` must leave out[i] for every i (in.size() ==
///   out.size() > 0).  `on_lane` is `where.stream(lane stream)`: pass it to trident::map,
///   for_each_index, reduce, ... or launch kernels of your own on `on_lane.stream_handle()`.  The
///   kernel may return before its work is done if that work is on the lane's stream (the copy back
///   is queued behind it).  It is called by several threads at once (one per busy lane), as const.
/// - `gpu_map_stage<In>(name, where, f, lanes = 2)`: out[i] = f(in[i]) through trident::map; `f`
///   must be device-callable (TRIDENT_LAMBDA, or a function object with a TRIDENT_HOST_DEVICE call
///   operator and `trident::is_device_callable_v` specialised); Out is f's result type.
/// Both return a `trident::pipeline_stage` for trident::run_pipeline, in mode
/// `trident::parallel_out_of_order.limit(lanes)`.  The stage object is cheap to copy: copies share the lanes.
/// An empty input gives an empty output without calling the kernel or taking a lane (the device
/// is still checked, so a bad device index is reported whatever the first batch).
///
/// **Requirements.**  In and Out trivially copyable (they are copied byte for byte); the stage
/// runs on `where.device_index()`; `where` must not name a stream (the lanes have their own);
/// nvcc with --extended-lambda (linking trident::trident adds it).
///
/// **Lifetime and memory.**  Nothing touches CUDA when the stage is made (a pipeline can be
/// described on a machine without a GPU): the device is checked at the first call, and lanes are
/// made at first use, up to `lanes` of them.  A lane's buffers grow on demand (to at least the
/// batch size, and at least 1.5 times their previous size, so a growing series of batches
/// reallocates O(log) times); they are reused afterwards.  Growing costs a cudaFree / cudaFreeHost
/// and cudaMalloc / cudaHostAlloc, which synchronise the device, so steady-state batches should be
/// of similar size.  Per lane, the memory held is about the largest batch's bytes (In + Out), twice:
/// once pinned on the host, once on the device.  The lanes (streams, events, pinned and device
/// buffers) are freed when the last copy of the stage object goes, after their work finished.
///
/// **Complexity and cost.**  Per item: two host copies of the data (into the pinned buffer and out
/// of it into the returned vector; an output of another type than the input is a new vector), the
/// two PCIe transfers, the kernel, and a few microseconds of CUDA calls per chunk (chunks of at
/// least 1 MiB, at most 8 each way).  The host copies run on the stage's threads, one per busy
/// lane, so more lanes also spread them over more cores.  Throughput with L lanes on L threads is
/// about one item per max(T / L, t_h2d, t_kernel, t_d2h), T being one item's whole time through
/// the stage; with one lane it is one item per T.  Under `trident::seq` (one item at a time) or a
/// pipeline with fewer threads than lanes, fewer lanes are busy at once and the overlap shrinks.
///
/// **Exceptions.**
/// - `std::invalid_argument` when the stage is made: lanes < 1 (the message gives the value), or a
///   policy that names a stream.
/// - `trident::device_unavailable` at the first call when the device cannot be used (no driver, no
///   device, index out of range); again at every later call.
/// - `trident::cuda_error` naming the CUDA call that failed (out of memory, a failed launch, ...).
/// - Whatever the kernel throws.
/// Every one of them reaches run_pipeline's caller, which drops the items in flight; a lane whose
/// call failed waits for its stream before it is reused or freed, so no copy still reads or writes
/// its buffers.  Destructors never throw.
///
/// **Files.**  This header holds the two functions; the lanes (streams, events, buffers, the pool)
/// are in task/detail/gpu_lanes.cuh, one item's run (copy in, kernel, copy out) in
/// task/detail/gpu_stage_state.cuh.  It includes task/pipeline.hpp, so run_pipeline comes with it.
/// (It used to be backend/cuda/gpu_stage.cuh, which now only forwards here.)
///
/// Only nvcc sees this header: include it from .cu files.

#if !defined(__CUDACC__)
#  error "trident/task/gpu_stage.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/device_vector.cuh"
#include "trident/detail/device_traits.hpp" // detail::device_callable
#include "trident/policy.hpp"
#include "trident/task/detail/gpu_stage_state.cuh"
#include "trident/task/pipeline.hpp"

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace trident {

/// A pipeline stage on a CUDA device (see the file comment): `std::vector<In>` in, `std::vector<Out>`
/// of the same length out, through `kernel(device_span<const In>, device_span<Out>, const gpu_policy&
/// on_lane)` on one of `lanes` lanes, in mode `parallel_out_of_order.limit(lanes)`.
/// \throws std::invalid_argument if lanes < 1 or `where` names a stream.  Touches no CUDA.
template <class In, class Out, class Kernel>
[[nodiscard]] pipeline_stage<detail::gpu_stage_fn<In, Out, std::decay_t<Kernel>>>
gpu_stage(std::string name, const gpu_policy& where, Kernel&& kernel, int lanes = 2)
{
    static_assert(std::is_trivially_copyable_v<In> && std::is_trivially_copyable_v<Out>,
                  "trident::gpu_stage<In, Out>: In and Out must be trivially copyable (they are copied to and from "
                  "GPU memory byte for byte)");
    static_assert(!std::is_const_v<In> && !std::is_const_v<Out> && !std::is_volatile_v<In> && !std::is_volatile_v<Out>,
                  "trident::gpu_stage<In, Out>: name the element types without const or volatile");
    static_assert(std::is_copy_constructible_v<Out>, "trident::gpu_stage<In, Out>: Out must be copy constructible");
    using K = std::decay_t<Kernel>;
    static_assert(std::is_invocable_v<const K&, device_span<const In>, device_span<Out>, const gpu_policy&>,
                  "trident::gpu_stage: the kernel must be callable as const with (trident::device_span<const In>, "
                  "trident::device_span<Out>, const trident::gpu_policy& on_lane)");
    detail::check_gpu_stage_arguments(where, lanes);
    auto state = std::make_shared<detail::gpu_stage_state<In, Out, K>>(where, std::forward<Kernel>(kernel), lanes);
    return {std::move(name), parallel_out_of_order.limit(lanes), detail::gpu_stage_fn<In, Out, K>(std::move(state))};
}

/// An element-wise GPU stage: out[i] = f(in[i]) (trident::map on the lane's stream); Out is f's
/// result type.  `f` must be device-callable (TRIDENT_LAMBDA).
/// \throws std::invalid_argument if lanes < 1 or `where` names a stream.  Touches no CUDA.
template <class In, class F>
[[nodiscard]] auto gpu_map_stage(std::string name, const gpu_policy& where, F f, int lanes = 2)
{
    static_assert(std::is_invocable_v<const F&, const In&>,
                  "trident::gpu_map_stage<In>: f must be callable with an element of type In");
    static_assert(detail::device_callable<F>(),
                  "trident::gpu_map_stage: f must be device-callable: write it with TRIDENT_LAMBDA, or give a function "
                  "object a TRIDENT_HOST_DEVICE call operator and specialise trident::is_device_callable_v for it");
    using Out = std::remove_cvref_t<std::invoke_result_t<const F&, const In&>>;
    return gpu_stage<In, Out>(std::move(name), where, detail::gpu_map_kernel<F>{std::move(f)}, lanes);
}

} // namespace trident
