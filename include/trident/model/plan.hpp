#pragma once
/// \file plan.hpp
/// `trident::model::pipeline_plan`: a network sharded over devices (made by `shard()`, shard.hpp),
/// and its training step.
///
/// `plan.step(x, y)` runs one training step of the schedule the plan was made with: x (rows x
/// input features) is cut into the plan's m micro-batches as the unsharded reference cuts it
/// (`micro_batch_rows`, reference.hpp: rows / m each, and one more for the first rows % m when m
/// does not divide the rows; y likewise, one target row per sample); one thread per device runs that device's action list inside the
/// device's arena (the layers' `trident::par` calls there use at most `device.threads()` threads);
/// activations and gradients move between devices through in-process channels (a receive blocks
/// until the sender's data is there; the buffer moves, and its bytes move to the receiver's
/// accounting); the loss gradient is scaled by 1 / batch, so that the micro-batches' gradients add
/// up to the batch's; weight gradients accumulate in micro-batch order; after every device finished
/// its actions, each device runs the optimizer on its stages' parameters.
///
/// The result is bitwise the same for every schedule and every partition: a layer's gradient is
/// the same sum of the same micro-batch terms in the same order (the schedules keep weight-gradient
/// work in micro-batch order, validate() requires it), the layers' results do not depend on the
/// thread count, and recomputation recomputes the same forward.
///
/// Failure: an exception in any action (a layer, the loss, a buffer over a device's budget) stops
/// every device (blocked receives are woken) and reaches the caller as `stage_error` (step_error.hpp)
/// naming the stage, the micro-batch and the action, with the original nested; a stop request on
/// the `std::stop_token` stops the step and throws `step_cancelled`.  Either way the parameters are
/// unchanged (the optimizer had not run), every buffer of the step is freed, and the plan can step
/// again.
///
/// \code
///   auto plan = trident::model::shard(net, devices, {.micro_batches = 8, .batch_size = 64});  // shard.hpp
///   std::cout << plan;                                   // stages, bytes per device, prediction
///   trident::model::step_stats s = plan.step(x, y);      // x: 64 x in, y: 64 x 1 (class indices)
///   std::printf("loss %g, %.3f s, bubble %.0f%%\n", s.loss, s.seconds, 100 * s.bubble);
/// \endcode
///
/// Requirements: the network given to shard() outlives the plan and is not used elsewhere during a
/// step (the plan's devices run its layers).  A plan is move-only; step() is not reentrant.
/// Complexity of step(): the layers' work plus O(actions * log) for the bookkeeping, p threads
/// started.
/// The memory plan holds for batches of at most the plan's batch_size rows; a larger batch may
/// exceed a budget during the step (then a stage_error nesting trident::out_of_memory).
/// \throws std::invalid_argument from step() when x has fewer rows than the plan has micro-batches
///   (naming both), when y.rows() != x.rows(), when y is not as wide as the loss takes, or when
///   x.cols() is not the network's input width; stage_error and step_cancelled as above.

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/detail/plan_state.hpp"
#include "trident/model/plan_types.hpp"
#include "trident/model/step_error.hpp"

#include <cstddef>
#include <ostream>
#include <stop_token>
#include <string>
#include <vector>

namespace trident::model {

class pipeline_plan {
public:
    pipeline_plan(pipeline_plan&&) noexcept = default;
    pipeline_plan& operator=(pipeline_plan&&) noexcept = default;

    /// One training step on (x, y); see the file comment.
    step_stats step(matrix_view<const float> x, matrix_view<const float> y) { return step(x, y, {}); }
    /// The same, stopped (step_cancelled) when `stop` is requested before the optimizer runs.
    step_stats step(matrix_view<const float> x, matrix_view<const float> y, std::stop_token stop)
    {
        return s_->run_step(x, y, std::move(stop));
    }

    [[nodiscard]] const std::vector<stage_info>& stages() const noexcept { return s_->info; }
    [[nodiscard]] const std::vector<device>& devices() const noexcept { return s_->devices; }
    [[nodiscard]] const schedule_table& schedule() const noexcept { return s_->table; }
    /// "gpipe", "1f1b", "interleaved(v=2)", "zb-h1" (also what schedule::automatic chose), or "custom".
    [[nodiscard]] const std::string& schedule_name() const noexcept { return s_->schedule_name; }
    /// The micro-batch count and the batch the plan was made for.
    [[nodiscard]] int micro_batches() const noexcept { return s_->table.micro_batches; }
    [[nodiscard]] std::size_t batch_size() const noexcept { return s_->batch; }
    /// What simulate() predicted for one step with the plan's costs (seconds), before it ran, and
    /// the optimizer's update after it (`optimizer_seconds`; `total_seconds()` is the whole step).
    [[nodiscard]] const prediction& predicted() const noexcept { return s_->predicted; }
    /// What the plan books per device: parameters, gradients, optimizer state (booked while the
    /// plan lives) and the predicted peak of activations (booked during a step).
    [[nodiscard]] const std::vector<device_memory>& memory() const noexcept { return s_->memory; }
    /// The steps taken (the optimizer's step counter).
    [[nodiscard]] std::size_t steps() const noexcept { return s_->steps; }

    /// Prints the stages (layers, device), the bytes per device (parameters, gradients, optimizer
    /// state, activations at the predicted peak), the predicted step time, bubble and peak memory.
    friend std::ostream& operator<<(std::ostream& os, const pipeline_plan& p) { return p.s_->print(os); }

private:
    friend struct detail::plan_builder;
    explicit pipeline_plan(std::unique_ptr<detail::plan_state> s) : s_(std::move(s)) {}
    std::unique_ptr<detail::plan_state> s_;
};

} // namespace trident::model
