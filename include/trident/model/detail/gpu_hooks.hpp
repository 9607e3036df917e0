#pragma once
// The seam between the plan (compiled by any C++ compiler) and the GPU runtime (nvcc only): a
// program that includes <trident/model/gpu.cuh> in one of its .cu files installs, before main, a
// gpu_hooks table here (model/gpu/runtime.cuh); shard() builds a GPU device's stage runtime through
// it, and refuses a GPU device when no table is installed.  Nothing here names CUDA.

#include "trident/device.hpp"
#include "trident/model/detail/stage_executor.hpp"
#include "trident/model/detail/step_context.hpp"
#include "trident/model/sequential.hpp"
#include "trident/model/shard_options.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace trident::model::detail {

/// What one GPU device of a plan holds for the plan's life (its layers' parameters, gradients and
/// optimizer state in device memory, booked on the device, and its stream), and its work outside
/// the action lists.  Used by one thread at a time (the device's thread during a step).
class gpu_stage_runtime {
public:
    virtual ~gpu_stage_runtime() = default;
    gpu_stage_runtime() = default;
    gpu_stage_runtime(const gpu_stage_runtime&) = delete;
    gpu_stage_runtime& operator=(const gpu_stage_runtime&) = delete;

    /// The start of a step: the device's gradients zeroed, and the step's executor.
    virtual std::unique_ptr<stage_executor> begin_step(step_context& ctx) = 0;
    /// The optimizer's step `step_number` on the device's parameters, then the parameters (and
    /// gradients) copied back into the network's host layers.
    virtual void update(std::size_t step_number) = 0;
};

struct gpu_hooks {
    /// The runtime of devices[device] (a GPU device) for the stages of `layout` placed on it.
    /// \throws std::invalid_argument for a layer with no GPU implementation; trident::out_of_memory
    ///   when the parameters, gradients or optimizer state exceed the device's budget.
    std::unique_ptr<gpu_stage_runtime> (*make_runtime)(sequential& net, const std::vector<stage_layout>& layout,
                                                       const std::vector<device>& devices, int device,
                                                       const optimizer_choice& optimizer, const loss_choice& loss);
};

/// The installed table (nullptr: this program has no GPU runtime).
inline std::atomic<const gpu_hooks*> installed_gpu_hooks{nullptr};

} // namespace trident::model::detail
