#pragma once
// The compute of one device in a pipeline step, behind one interface, so that the device's driver
// (stage_runner.hpp: the action list, the messages, the timeline) is the same for every kind of
// device: cpu_stage_executor (cpu_executor.hpp) runs the host layers; a GPU device's executor comes
// from the GPU runtime (gpu_hooks.hpp, built by model/gpu/runtime.cuh).  An executor lives for one
// step on its device's thread; what it keeps per micro-batch (activations, saved floats, weight
// gradients' inputs) is its own and freed when it is destroyed.  Messages are host `buffer`s
// booked on the device: what an executor returns is sent or consumed by the runner.

#include "trident/model/detail/buffer.hpp"

namespace trident::model::detail {

class stage_executor {
public:
    virtual ~stage_executor() = default;
    stage_executor() = default;
    stage_executor(const stage_executor&) = delete;
    stage_executor& operator=(const stage_executor&) = delete;

    /// Forward of `stage` on micro-batch `mb`.  `received`: the activation from stage - 1 (empty for
    /// stage 0, whose input is rows of the step's x).  Returns the message the forward leaves: the
    /// activation for stage + 1, or on the last stage the loss gradient (ctx.losses[mb] written).
    virtual buffer forward(int stage, int mb, buffer received) = 0;
    /// Backward of `stage` on `mb` from the gradient at its output: input gradients, and the weight
    /// gradients too when `weights` (else kept for backward_weight).  Returns the gradient at the
    /// stage's input (to send to stage - 1; unused for stage 0).
    virtual buffer backward(int stage, int mb, buffer grad, bool weights) = 0;
    /// The weight gradients left by backward(stage, mb, grad, false).
    virtual void backward_weight(int stage, int mb) = 0;
};

} // namespace trident::model::detail
