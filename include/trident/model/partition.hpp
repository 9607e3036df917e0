#pragma once
/// \file model/partition.hpp
/// `partition(layers, devices, stage_device, in_flight)`: cuts a chain of layers into contiguous
/// stages, exactly minimising the slowest stage, under every device's memory budget with the
/// activations the schedule keeps in flight.
///
/// Input.  Per layer: `cost` (time of one micro-batch, forward and backward, on a device of speed
/// 1), `static_bytes` (parameters + gradients + optimizer state), `activation_bytes` (kept per
/// micro-batch in flight).  Per device: `speed` (> 0; a stage on it takes cost / speed), `budget`
/// in bytes, a `name` for messages.  Per stage: its device (`stage_device`, e.g. s % p for an
/// interleaved schedule) and how many micro-batches it keeps in flight (`in_flight`, from
/// in_flight_micro_batches(schedule): GPipe m, 1F1B p - i on stage i).  The overload taking a
/// schedule_table reads both from the schedule.
///
/// Result.  Stage s holds layers [first_layer[s], first_layer[s + 1]); every stage at least one
/// layer.  A stage needs static + in_flight[s] * activation bytes of its layers; a device the sum
/// over its stages, which must not exceed its budget.  Among all such partitions, one with the
/// least bottleneck max_s(cost of stage s / speed of its device) (ties: the first found).
///
/// Algorithm and complexity (L layers, S stages).  When every device holds at most one stage, a
/// dynamic program over (stage, first layer not yet placed): O(S * L^2) time, O(S * L) memory.
/// When a device holds several stages (interleaved), their memory adds up across the chain, which
/// makes the problem a multi-dimensional knapsack in general: binary search on the bottleneck over
/// the O(S * L^2) candidate stage times, each step O(P * S * L^2) for exact bounds (the layers left
/// coverable in time; the fewest bytes each device must still take) and a depth-first search over
/// the boundaries, longest stage first, pruned by those bounds and by failures remembered per
/// (stage, layer).  Exact, exponential in the worst case: instant when memory does not bind, or
/// for tens of layers; with about 100 layers on 16 stages and budgets that bind tightly it can take
/// minutes: past `partition_options::max_search_steps` (2e7, seconds) it gives up with an error
/// rather than hang or answer inexactly.
///
/// \code
///   namespace mp = trident::model;
///   std::vector<mp::layer_profile> layers = {{2.0, 1000, 100}, {1.0, 500, 100}, {3.0, 800, 50}};
///   std::vector<mp::device_profile> devices = {{1.0, 4000, "cpu0"}, {2.0, 4000, "cpu1"}};
///   auto cut = mp::partition(layers, devices, mp::one_f_one_b(2, 8));
///   // cut.first_layer == {0, 1, 3}: layer 0 on cpu0 (time 2), layers 1-2 on cpu1 (time 2)
/// \endcode
///
/// \throws trident::out_of_memory when no partition fits: it names the first layer that cannot be
/// placed (layers filling each stage as far as memory allows, in order), the device it would go
/// on, the stage's bytes, the bytes the device's other stages use, the budget and the bytes
/// missing.  std::invalid_argument for malformed input (no layers, fewer layers than stages, a
/// negative or non-finite cost, a speed not > 0, a stage on no device, in_flight of the wrong
/// size or negative), naming the value.  std::runtime_error when the search for devices holding
/// several stages exceeds `options.max_search_steps`.

#include "trident/errors.hpp"
#include "trident/model/schedule.hpp"
#include "trident/model/simulate.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace trident::model {

/// One layer as the partition sees it.
struct layer_profile {
    double cost = 0;                  ///< time per micro-batch (F + B + W) at speed 1
    std::size_t static_bytes = 0;     ///< parameters + gradients + optimizer state
    std::size_t activation_bytes = 0; ///< kept per micro-batch in flight
};

/// One device as the partition sees it.
struct device_profile {
    double speed = 1;         ///< relative speed: a stage takes cost / speed
    std::size_t budget = 0;   ///< bytes
    std::string name = {};    ///< for messages ("cpu0"); empty: "device <index>"
};

/// Limits of the search (used only when a device holds several stages).
struct partition_options {
    /// Depth-first search steps over all bottleneck trials before partition() gives up with
    /// std::runtime_error (a few seconds of search); it never returns an inexact answer.
    std::size_t max_search_steps = 20'000'000;
};

/// A partition: stage s holds layers [first_layer[s], first_layer[s + 1]).
struct partition_result {
    std::vector<std::size_t> first_layer;   ///< stages + 1 entries, 0 first and L last
    double bottleneck = 0;                  ///< max over stages of stage_time
    std::vector<double> stage_time;         ///< per stage: cost / speed
    std::vector<std::size_t> stage_bytes;   ///< per stage: static + in_flight * activations
    std::vector<std::size_t> device_bytes;  ///< per device: the sum over its stages
};

/// The exact partition (see the file comment).
[[nodiscard]] inline partition_result partition(std::span<const layer_profile> layers,
                                                std::span<const device_profile> devices,
                                                std::span<const int> stage_device, std::span<const int> in_flight,
                                                partition_options options = {});

/// The same, with stage_device and in_flight_micro_batches() of `schedule` (which must be valid;
/// its devices must be `devices.size()`).
[[nodiscard]] inline partition_result partition(std::span<const layer_profile> layers,
                                                std::span<const device_profile> devices,
                                                const schedule_table& schedule, partition_options options = {});

} // namespace trident::model

#include "trident/model/detail/partition_impl.hpp"
