#pragma once
/// \file shard_options.hpp
/// The options of `trident::model::shard()` (shard.hpp): micro-batches and batch size, the schedule,
/// the optimizer and the loss, recomputation, and how the layers' costs are found.
///
/// \code
///   trident::model::shard_options o{.micro_batches = 8, .batch_size = 256,
///                                   .schedule = trident::model::schedule::interleaved, .chunks = 2,
///                                   .optimizer = trident::model::adam{},
///                                   .recomputation = {trident::model::recompute::automatic}};
/// \endcode
///
/// Every field has a default except batch_size (0: shard() throws std::invalid_argument).

#include "trident/model/loss.hpp"
#include "trident/model/optimizer.hpp"
#include "trident/model/schedule.hpp"

#include <cstddef>
#include <variant>
#include <vector>

namespace trident::model {

/// The optimizers a plan can run (optimizer.hpp).
using optimizer_choice = std::variant<sgd, adam>;
/// The losses a plan can train with (loss.hpp).
using loss_choice = std::variant<softmax_cross_entropy, mean_squared_error>;

/// The built-in schedules (schedule.hpp), and `automatic`: the planner (planner.hpp) simulates each
/// with several micro-batch counts and recomputation choices and takes the fastest that fits.
enum class schedule { gpipe, one_f_one_b, interleaved, zero_bubble_h1, automatic };

/// Activation recomputation of a stage: off, on (keep only the stage's input per micro-batch,
/// recompute its forward in backward), or automatic (on only where a device would not fit otherwise).
enum class recompute { off, on, automatic };

/// Where the per-layer costs that the partition balances come from.
enum class costs_from {
    measured, ///< short profiling passes of a sample micro-batch through the network, on every CPU device at once
    estimate  ///< the layer's flops / (flops_per_second * the device's threads)
};

struct shard_options {
    /// m: the batch is cut into m micro-batches of batch_size / m rows.  >= 1.  With a user's
    /// schedule_table, 0 takes the table's count (any other value must equal it).
    int micro_batches = 1;
    /// The rows of x in a step, for the memory plan and the profiling pass; a multiple of m.
    std::size_t batch_size = 0;
    /// A built-in schedule, or a user's table (validated; its devices must be the devices given).
    std::variant<model::schedule, schedule_table> schedule = model::schedule::one_f_one_b;
    /// v, the model chunks per device of schedule::interleaved (stages = devices * v).  >= 1.
    int chunks = 2;
    optimizer_choice optimizer = sgd{};
    loss_choice loss = softmax_cross_entropy{};
    /// For every stage; or one entry per stage (its size then must be the schedule's stage count).
    std::vector<model::recompute> recomputation{model::recompute::off};
    costs_from costs = costs_from::measured;
    /// Flops per second of one thread, for costs_from::estimate (the unit of the predicted times).
    double flops_per_second = 1e9;
    /// The network's input width; 0: the first layer's input_features().
    std::size_t input_features = 0;
};

} // namespace trident::model
