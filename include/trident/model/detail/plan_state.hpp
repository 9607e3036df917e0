#pragma once
// The inside of a pipeline_plan (plan.hpp): what shard() decided (stages, schedule, costs, the
// prediction) and what the plan owns (the bookings of parameters and gradients, the optimizer
// state, the mailboxes, a GPU device's runtime), and the step itself: one thread per device running
// its action list (stage_runner.hpp) with the device's executor (cpu_executor.hpp, or the GPU
// runtime's: gpu_hooks.hpp), a barrier, then each device's optimizer update when no device failed
// and no stop was requested.

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/detail/cpu_executor.hpp"
#include "trident/model/detail/gpu_hooks.hpp"
#include "trident/model/detail/parameter_booking.hpp"
#include "trident/model/detail/stage_runner.hpp"
#include "trident/model/loss.hpp"
#include "trident/model/optimizer.hpp"
#include "trident/model/plan_types.hpp"
#include "trident/model/sequential.hpp"
#include "trident/model/shard_options.hpp"
#include "trident/model/step_error.hpp"
#include "trident/model/tensor.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstddef>
#include <memory>
#include <ostream>
#include <stop_token>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace trident::model::detail {

struct plan_builder;

struct plan_state {
    sequential* net = nullptr;
    std::vector<device> devices;
    schedule_table table;
    std::string schedule_name; // "gpipe", "1f1b", "interleaved(v=2)", "zb-h1", "custom"
    std::vector<stage_layout> layout;
    std::vector<stage_info> info;
    std::vector<std::size_t> features;
    optimizer_choice optimizer;
    loss_choice loss;
    std::size_t batch = 0;
    prediction predicted;
    std::vector<device_memory> memory;
    std::size_t steps = 0;

    std::vector<parameter_booking> bookings; // per layer: parameters, gradients, optimizer state
    std::vector<std::unique_ptr<mailbox<buffer>>> mailboxes;
    // Per device: the GPU runtime of a GPU device (its layers' parameters, gradients and optimizer
    // state live there; `bookings` has nothing for them), nullptr for a CPU device.
    std::vector<std::unique_ptr<gpu_stage_runtime>> gpu_runtimes;

    step_stats run_step(matrix_view<const float> x, matrix_view<const float> y, std::stop_token stop);
    std::ostream& print(std::ostream& os) const;

private:
    [[nodiscard]] gpu_stage_runtime* gpu_runtime(int d) const
    {
        return static_cast<std::size_t>(d) < gpu_runtimes.size() ? gpu_runtimes[static_cast<std::size_t>(d)].get()
                                                                  : nullptr;
    }

    void check_step_input(matrix_view<const float> x, matrix_view<const float> y) const
    {
        const auto m = static_cast<std::size_t>(table.micro_batches);
        if (x.rows() < m)
            throw std::invalid_argument("trident::model::pipeline_plan::step: x has " + std::to_string(x.rows()) +
                                        " rows, fewer than the plan's " + std::to_string(m) + " micro-batches");
        if (y.rows() != x.rows())
            throw std::invalid_argument("trident::model::pipeline_plan::step: y has " + std::to_string(y.rows()) +
                                        " rows, x has " + std::to_string(x.rows()));
        const std::size_t targets =
            std::visit([&](const auto& l) { return l.target_features(features.back()); }, loss);
        if (y.cols() != targets)
            throw std::invalid_argument("trident::model::pipeline_plan::step: y has " + std::to_string(y.cols()) +
                                        " columns, the loss takes " + std::to_string(targets));
        if (x.cols() != features.front())
            throw std::invalid_argument("trident::model::pipeline_plan::step: x has " + std::to_string(x.cols()) +
                                        " columns, the network takes " + std::to_string(features.front()));
    }

    // Zeroes the gradients of the device's stages (start of a step, on the device's thread).
    void zero_gradients(int d)
    {
        for (const stage_layout& sl : layout)
            if (sl.device == d)
                for (int j = sl.first; j < sl.last; ++j)
                    for (float& g : net->layers()[static_cast<std::size_t>(j)].gradients())
                        g = 0.0f;
    }

    // The optimizer on the device's stages' parameters.
    void update(int d, std::size_t step_number)
    {
        for (const stage_layout& sl : layout) {
            if (sl.device != d)
                continue;
            for (int j = sl.first; j < sl.last; ++j) {
                auto& layer = net->layers()[static_cast<std::size_t>(j)];
                bookings[static_cast<std::size_t>(j)].update(layer, [&](std::span<float> p, std::span<const float> g,
                                                                        std::span<float> state) {
                    std::visit([&](auto& opt) { opt.update(p, g, state, step_number); }, optimizer);
                });
            }
        }
    }
};

inline step_stats plan_state::run_step(matrix_view<const float> x, matrix_view<const float> y, std::stop_token stop)
{
    check_step_input(x, y);
    const int p = table.devices;
    step_context ctx;
    ctx.net = net;
    ctx.features = &features;
    ctx.stages = &layout;
    ctx.devices = &devices;
    ctx.mailboxes = &mailboxes;
    ctx.x = x;
    ctx.y = y;
    ctx.micro_batches = table.micro_batches;
    for (std::size_t k = 0; k < static_cast<std::size_t>(table.micro_batches); ++k)
        ctx.ranges.push_back(micro_batch_rows(x.rows(), static_cast<std::size_t>(table.micro_batches), k));
    ctx.scale = 1.0f / static_cast<float>(x.rows());
    ctx.loss_value = [this](matrix_view<const float> logits, matrix_view<const float> targets) {
        return std::visit([&](const auto& l) { return static_cast<double>(l.value(logits, targets)); }, loss);
    };
    ctx.loss_gradient = [this](matrix_view<const float> logits, matrix_view<const float> targets,
                               matrix_view<float> grad, float scale) {
        std::visit([&](const auto& l) { l.gradient(logits, targets, grad, scale); }, loss);
    };
    ctx.losses.assign(static_cast<std::size_t>(table.micro_batches), 0.0);
    ctx.timeline.resize(static_cast<std::size_t>(p));
    ctx.busy.assign(static_cast<std::size_t>(p), 0.0);
    for (auto& m : mailboxes)
        m->reset();
    for (const device& d : devices)
        d.reset_peak();

    std::atomic<bool> proceed{false};
    std::barrier sync(p, [&]() noexcept { proceed.store(!ctx.stopping.load()); });
    const std::size_t step_number = steps + 1;
    auto device_main = [&](int d) {
        const device& dev = devices[static_cast<std::size_t>(d)];
        try {
            dev.execute([&] {
                std::unique_ptr<stage_executor> exec;
                if (gpu_stage_runtime* g = gpu_runtime(d)) {
                    exec = g->begin_step(ctx);
                } else {
                    zero_gradients(d);
                    exec = std::make_unique<cpu_stage_executor>(ctx, d);
                }
                device_runner runner(ctx, d, *exec);
                runner.run(table.actions[static_cast<std::size_t>(d)]);
            }); // the runner's and the executor's buffers are freed before the barrier
        } catch (...) { // execute (arena), the executor's allocation, a GPU runtime's begin_step
            ctx.fail(std::current_exception());
        }
        sync.arrive_and_wait();
        if (!proceed.load())
            return;
        const double t0 = ctx.since_start();
        try {
            dev.execute([&] {
                if (gpu_stage_runtime* g = gpu_runtime(d))
                    g->update(step_number);
                else
                    update(d, step_number);
            });
        } catch (...) {
            ctx.fail(std::current_exception());
        }
        ctx.busy[static_cast<std::size_t>(d)] += ctx.since_start() - t0;
    };

    std::stop_callback on_stop(stop, [&] {
        ctx.cancelled.store(true);
        ctx.stop_all();
    });
    ctx.start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(p));
    for (int d = 0; d < p; ++d) {
        try {
            threads.emplace_back(device_main, d);
        } catch (...) { // no thread: stop the others, and stand in for this one at the barrier
            ctx.fail(std::current_exception());
            for (int rest = d; rest < p; ++rest)
                sync.arrive_and_drop();
            break;
        }
    }
    for (auto& t : threads)
        t.join();
    const double seconds = ctx.since_start();
    for (auto& m : mailboxes)
        m->reset(); // messages left by a stopped step

    if (ctx.error)
        std::rethrow_exception(ctx.error);
    if (!proceed.load())
        throw step_cancelled();
    ++steps;

    step_stats s;
    s.seconds = seconds;
    double loss_sum = 0;
    for (double l : ctx.losses)
        loss_sum += l;
    s.loss = loss_sum / static_cast<double>(x.rows());
    s.busy_seconds = ctx.busy;
    double busy = 0;
    for (double b : ctx.busy)
        busy += b;
    s.bubble = seconds > 0 ? std::max(0.0, 1.0 - busy / (p * seconds)) : 0.0;
    for (const device& d : devices)
        s.peak_bytes.push_back(d.peak());
    for (auto& per_device : ctx.timeline)
        s.timeline.insert(s.timeline.end(), per_device.begin(), per_device.end());
    if (!s.timeline.empty()) {
        double first = s.timeline.front().start, last = s.timeline.front().end;
        for (const timed_action& t : s.timeline) {
            first = std::min(first, t.start);
            last = std::max(last, t.end);
        }
        s.actions_seconds = last - first;
    }
    return s;
}

} // namespace trident::model::detail

namespace trident::model::detail {

inline std::ostream& plan_state::print(std::ostream& os) const
{
    auto mib = [](std::size_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); };
    auto& layers = net->layers();
    os << "pipeline plan: " << schedule_name << ", " << info.size() << " stages on " << devices.size()
       << " devices, batch " << batch << " in " << table.micro_batches << " micro-batches\n";
    for (std::size_t s = 0; s < info.size(); ++s) {
        const stage_info& st = info[s];
        os << "  stage " << s << " on " << devices[static_cast<std::size_t>(st.device)].name() << ": layers "
           << st.first_layer << ".." << st.last_layer - 1 << " (";
        for (int j = st.first_layer; j < st.last_layer; ++j)
            os << (j > st.first_layer ? ", " : "") << layers[static_cast<std::size_t>(j)].name();
        os << ")" << (st.recompute ? ", recomputed" : "") << "; F " << st.forward_seconds * 1e3 << " ms, B "
           << st.backward_input_seconds * 1e3 << " ms, W " << st.backward_weight_seconds * 1e3 << " ms\n";
    }
    for (std::size_t d = 0; d < devices.size(); ++d) {
        const device_memory& m = memory[d];
        os << "  " << devices[d].name() << ": parameters " << mib(m.parameters) << " MiB, gradients "
           << mib(m.gradients) << " MiB, optimizer " << mib(m.optimizer) << " MiB, activations (peak) "
           << mib(m.activations) << " MiB; peak " << mib(m.total()) << " of " << mib(devices[d].budget())
           << " MiB\n";
    }
    os << "  predicted step " << predicted.total_seconds() * 1e3 << " ms (optimizer " << predicted.optimizer_seconds * 1e3
       << " ms), bubble " << predicted.bubble_fraction * 100
       << "%\n";
    return os;
}

} // namespace trident::model::detail
