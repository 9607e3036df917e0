#pragma once
/// \file shard.hpp
/// `trident::model::shard(net, devices, options)`: splits a `sequential` network into contiguous
/// stages over devices, checks that every device's budget holds the stage's parameters, gradients,
/// optimizer state and the activations the schedule keeps in flight, books the static part on the
/// devices, and returns a `pipeline_plan` (plan.hpp) that trains the network with `plan.step(x, y)`.
///
/// What shard() does, in order, before anything runs:
/// 1. the widths through the network (options.input_features, or the first layer's own);
/// 2. each layer's costs for a micro-batch of batch_size / micro_batches rows: measured (profiling
///    passes of a sample micro-batch through the whole network, forward then backward, on every
///    CPU device at once, each device's passes on a thread of its own inside its arena as the
///    step runs them, so that the devices' contention and each device's own speed are in its
///    costs; each layer's time inside the passes, the median of 3 after a warm-up: timed as a step
///    meets the layer, after the other layers have used the caches; the first device must be a CPU
///    device: for a GPU first device the costs are estimated, and a GPU device after a CPU first
///    device takes the first device's costs times the first device's threads) or estimated (the layer's flops /
///    (flops_per_second * the device's threads); nothing runs); the bytes of parameters, optimizer
///    state and activations;
/// 3. the schedule: a built-in one for the devices and micro-batches, or the user's table, and
///    validate() on it (a bad table is `invalid_schedule`, never a hang);
/// 4. the partition: contiguous stages (as many as the schedule has, stage s on device
///    stage_device[s]) minimising the slowest stage for the costs and the devices' speeds
///    (measured: the first device's profiled time over this device's; estimated: threads), under
///    each device's budget with the activations the schedule keeps in flight
///    (in_flight_micro_batches); recomputation per stage as asked (automatic: only on the stages
///    of devices that would not fit otherwise); a network that cannot fit is `out_of_memory`
///    naming the layer, the device and the bytes missing;
/// 5. the bookings: each stage's parameters and gradients (held in the layers; booked on their
///    device) and optimizer state (tensors on the device); on a GPU device, the GPU runtime's
///    device copies of them instead; and simulate() for the prediction.
///
/// \code
///   namespace mp = trident::model;
///   using namespace trident::literals;
///   mp::sequential net{mp::dense(64, 256, 1), mp::gelu(), mp::dense(256, 10, 2)};
///   std::vector<trident::device> devices{trident::cpu_device(1, 64_MiB), trident::cpu_device(1, 64_MiB)};
///   auto plan = mp::shard(net, devices, {.micro_batches = 4, .batch_size = 32,
///                                        .schedule = mp::schedule::one_f_one_b,
///                                        .optimizer = mp::adam{.learning_rate = 1e-3f}});
///   std::cout << plan;
/// \endcode
///
/// Requirements: `net` outlives the plan.  A GPU device needs the GPU stage runtime, installed by
/// including <trident/model/gpu.cuh> in a .cu file of the program (model/gpu/runtime.cuh: its
/// layers' parameters, gradients and optimizer state are then booked and kept on the GPU, its
/// first-device costs estimated, and its messages go through host memory); without it a GPU
/// device is std::invalid_argument with that sentence.
/// Complexity: the profiling passes (4 forwards and backwards of each layer on one micro-batch, on
/// every CPU device at once: the wall time of the slowest device's 4 passes; scratch per CPU
/// device: one micro-batch's activations and gradients through the network, host memory outside
/// the budgets, freed before the bookings), the partition (O(stages * layers^2)) and simulate
/// (O(actions)).
/// \throws std::invalid_argument for options out of range (each named with its value);
///   trident::model::invalid_schedule from validate(); trident::out_of_memory when the network does
///   not fit (the layer, the device and the bytes missing named) or a booking fails.

#include "trident/device.hpp"
#include "trident/model/detail/plan_builder.hpp"
#include "trident/model/plan.hpp"

#include <utility>
#include <vector>

namespace trident::model {

/// Trains `net` on `devices` as `options` say; see the file comment.
[[nodiscard]] inline pipeline_plan shard(sequential& net, std::vector<device> devices, shard_options options = {})
{
    return detail::plan_builder::build(net, std::move(devices), std::move(options));
}

} // namespace trident::model
