#pragma once
/// \file step_error.hpp
/// The exceptions of a pipeline step (`pipeline_plan::step`, plan.hpp):
///
/// - `trident::model::stage_error`: something threw inside a step (a layer, the loss, an
///   allocation over a device's budget).  Every device stopped (blocked receives woken), the
///   parameters are unchanged (the optimizer runs only after every device finished its actions), and
///   the caller gets this exception naming the stage, its layers, the device, the action and the
///   micro-batch; the original exception is nested (`std::rethrow_if_nested(e)` rethrows it, and
///   `original()` holds it).
/// - `trident::model::step_cancelled`: the step's `std::stop_token` was triggered before the
///   optimizer ran.  Every device stopped; the parameters are unchanged.
///
/// \code
///   try { plan.step(x, y); }
///   catch (const trident::model::stage_error& e) {
///       std::cerr << e.what() << '\n';          // "... stage 2 (layers 4..5 on cpu1), micro-batch 3, backward_input: ..."
///       try { std::rethrow_if_nested(e); } catch (const trident::out_of_memory& oom) { /* ... */ }
///   }
/// \endcode

#include "trident/model/schedule.hpp"

#include <exception>
#include <stdexcept>
#include <string>

namespace trident::model {

/// An exception thrown inside a pipeline step, with where it happened; the original is nested.
/// Construct it only inside a catch block (std::nested_exception captures the exception being
/// handled).
class stage_error : public std::runtime_error, public std::nested_exception {
public:
    stage_error(int stage, int micro_batch, action_kind kind, const std::string& where, const std::string& original)
        : std::runtime_error("trident::model: step failed in stage " + std::to_string(stage) + " (" + where +
                             "), micro-batch " + std::to_string(micro_batch) + ", " + to_string(kind) + ": " +
                             original),
          stage_(stage), micro_batch_(micro_batch), kind_(kind)
    {
    }
    /// The stage whose action threw.
    [[nodiscard]] int stage() const noexcept { return stage_; }
    /// The micro-batch of that action.
    [[nodiscard]] int micro_batch() const noexcept { return micro_batch_; }
    /// The action (forward, backward_input, ..., or a receive that could not book its buffer).
    [[nodiscard]] action_kind action() const noexcept { return kind_; }
    /// The exception the action threw.
    [[nodiscard]] std::exception_ptr original() const noexcept { return nested_ptr(); }

private:
    int stage_;
    int micro_batch_;
    action_kind kind_;
};

/// A step stopped by its std::stop_token before the optimizer ran; the parameters are unchanged.
class step_cancelled : public std::runtime_error {
public:
    step_cancelled() : std::runtime_error("trident::model: step cancelled by its stop token; parameters unchanged") {}
};

} // namespace trident::model
