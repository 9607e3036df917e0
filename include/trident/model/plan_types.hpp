#pragma once
/// \file plan_types.hpp
/// The plain data a `pipeline_plan` (plan.hpp) reports: `stage_info` (a stage's layers, device and
/// costs), `device_memory` (what the plan books per device) and `step_stats` (what a step
/// measured, with its timeline of `timed_action`s, the struct simulate() predicts with: the
/// measured and the predicted timelines compare action by action).  No behaviour.
///
/// \code
///   trident::model::step_stats s = plan.step(x, y);
///   for (const trident::model::timed_action& t : s.timeline)      // draw or compare with
///       std::printf("d%d %s %.6f..%.6f\n", t.device,                 // plan.predicted().timeline
///                   trident::model::to_string(t.act).c_str(), t.start, t.end);
/// \endcode

#include "trident/model/schedule.hpp"
#include "trident/model/simulate.hpp"

#include <cstddef>
#include <vector>

namespace trident::model {

/// The memory of a plan on one device, in bytes.
struct device_memory {
    std::size_t parameters = 0;  ///< its stages' parameters
    std::size_t gradients = 0;   ///< as much again
    std::size_t optimizer = 0;   ///< the optimizer's state (sgd with momentum: 1x, adam: 2x the parameters)
    std::size_t activations = 0; ///< the predicted peak of activations and buffers in transit
    [[nodiscard]] std::size_t total() const noexcept { return parameters + gradients + optimizer + activations; }
};

/// What one step measured.
struct step_stats {
    double loss = 0;                      ///< the loss summed over the batch's rows, divided by the rows
    double seconds = 0;                   ///< wall time of the step, threads started to optimizer done
    /// From the first action's start to the last action's end: what simulate()'s step_time predicts
    /// (seconds less the threads' start, the gradients' zeroing and the optimizer).
    double actions_seconds = 0;
    std::vector<double> busy_seconds;     ///< per device: forward, backward and optimizer time
    double bubble = 0;                    ///< 1 - sum(busy_seconds) / (devices * seconds)
    std::vector<std::size_t> peak_bytes;  ///< per device: the device's peak during the step
    std::vector<timed_action> timeline;   ///< every action of every device, with its start and end
};

/// One stage of a plan: which layers, where, and what they cost.
struct stage_info {
    int first_layer = 0; ///< layers [first_layer, last_layer) of the network
    int last_layer = 0;
    int device = 0;                   ///< index into the plan's devices
    bool recompute = false;           ///< keeps only its input per micro-batch, recomputes in backward
    std::size_t parameter_bytes = 0;  ///< parameters (the gradients take as much again)
    std::size_t optimizer_bytes = 0;  ///< optimizer state
    std::size_t activation_bytes = 0; ///< kept for backward per micro-batch in flight (inputs, outputs, saved)
    double forward_seconds = 0;       ///< per micro-batch, the costs the plan was made with
    double backward_input_seconds = 0;
    double backward_weight_seconds = 0;
};

} // namespace trident::model
