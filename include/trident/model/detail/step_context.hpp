#pragma once
// What the devices' threads of one pipeline step share: the stages (layers, device, recomputation),
// the micro-batches of the step, the loss, the mailboxes, the per-micro-batch losses, the first
// error, the stop flag and the measured timeline.  Built by pipeline_plan::step, read by
// detail::device_runner (stage_runner.hpp).

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/detail/buffer.hpp"
#include "trident/model/detail/mailbox.hpp"
#include "trident/model/plan_types.hpp"
#include "trident/model/reference.hpp"
#include "trident/model/schedule.hpp"
#include "trident/model/sequential.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace trident::model::detail {

/// A stage of the plan: layers [first, last) of the network, the device it runs on, and whether it
/// recomputes its forward in backward (keeping only its input per micro-batch).
struct stage_layout {
    int first = 0;
    int last = 0;
    int device = 0;
    bool recompute = false;
};

struct step_context {
    // The plan (read only during the step).
    sequential* net = nullptr;
    const std::vector<std::size_t>* features = nullptr; // features[i]: input width of layer i; [n]: output
    const std::vector<stage_layout>* stages = nullptr;
    const std::vector<device>* devices = nullptr;
    std::vector<std::unique_ptr<mailbox<buffer>>>* mailboxes = nullptr;

    // The step.
    matrix_view<const float> x;
    matrix_view<const float> y;
    int micro_batches = 1;
    std::vector<row_range> ranges; // rows of each micro-batch (micro_batch_rows, reference.hpp)
    float scale = 1;      // 1 / batch: micro-batch gradients add up to the batch's
    // loss value (summed over rows) and scaled gradient of a micro-batch's logits
    std::function<double(matrix_view<const float>, matrix_view<const float>)> loss_value;
    std::function<void(matrix_view<const float>, matrix_view<const float>, matrix_view<float>, float)> loss_gradient;
    std::vector<double> losses; // per micro-batch, written by the last stage's device

    // Failure and cancellation.
    std::atomic<bool> stopping{false};
    std::atomic<bool> cancelled{false};
    std::mutex error_mutex;
    std::exception_ptr error;

    // Measurement.
    std::chrono::steady_clock::time_point start;
    std::vector<std::vector<timed_action>> timeline; // per device
    std::vector<double> busy;                         // per device, seconds of compute

    [[nodiscard]] double since_start() const
    {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }

    /// Stops every device: sets the flag and wakes every blocked receive.
    void stop_all()
    {
        stopping.store(true);
        for (auto& m : *mailboxes)
            m->abort();
    }

    /// Records `e` as the step's error if it is the first, then stops every device.
    void fail(std::exception_ptr e)
    {
        {
            std::lock_guard lock(error_mutex);
            if (!error)
                error = std::move(e);
        }
        stop_all();
    }
};

} // namespace trident::model::detail
