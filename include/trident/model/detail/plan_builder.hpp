#pragma once
// shard()'s work (shard.hpp): options checked, costs measured or estimated, the schedule made and
// validated, the partition under the budgets, the bookings, the prediction.

#include "trident/device.hpp"
#include "trident/model/detail/layer_costs.hpp"
#include "trident/model/detail/plan_memory.hpp"
#include "trident/model/detail/optimizer_cost.hpp"
#include "trident/model/detail/plan_state.hpp"
#include "trident/model/detail/stage_partition.hpp"
#include "trident/model/plan.hpp"
#include "trident/model/planner.hpp"
#include "trident/model/schedule.hpp"
#include "trident/model/shard_options.hpp"
#include "trident/model/simulate.hpp"
#include "trident/model/validate.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace trident::model::detail {

[[noreturn]] inline void bad_option(const std::string& what)
{
    throw std::invalid_argument("trident::model::shard: " + what);
}

/// A stage holding a layer that does not split its backward adds that layer's weight gradients in
/// its B actions: they must then come in micro-batch order too (the built-in schedules do).
inline void check_backward_order(const schedule_table& t, const std::vector<stage_layout>& layout, sequential& net)
{
    for (const auto& list : t.actions) {
        std::vector<int> next(static_cast<std::size_t>(t.stages), 0);
        for (const action& a : list) {
            if (a.kind != action_kind::backward_input)
                continue;
            const stage_layout& sl = layout[static_cast<std::size_t>(a.stage)];
            bool unsplit_with_weights = false;
            for (int j = sl.first; j < sl.last; ++j) {
                auto& l = net.layers()[static_cast<std::size_t>(j)];
                unsplit_with_weights = unsplit_with_weights || (!l.splits_backward() && !l.parameters().empty());
            }
            if (unsplit_with_weights && a.micro_batch != next[static_cast<std::size_t>(a.stage)])
                bad_option("stage " + std::to_string(a.stage) +
                           " holds a layer whose backward does not split, and the schedule runs its backward_input "
                           "of micro-batch " + std::to_string(a.micro_batch) + " out of micro-batch order "
                           "(its weight gradients would not add up in order)");
            ++next[static_cast<std::size_t>(a.stage)];
        }
    }
}

struct plan_builder {
    static pipeline_plan build(sequential& net, std::vector<device> devices, shard_options o)
    {
        const int p = static_cast<int>(devices.size());
        if (p < 1)
            bad_option("no devices");
        for (const device& d : devices)
            if (d.kind() != device_kind::cpu && installed_gpu_hooks.load() == nullptr)
                bad_option("device '" + d.name() +
                           "' is a GPU device, and this program has no GPU runtime: include "
                           "<trident/model/gpu.cuh> in a .cu file of the program (compiled by nvcc) to run "
                           "stages on GPU devices");
        if (net.empty())
            bad_option("the network has no layers");
        // A GPU first device is not profiled (its kernels are not timed yet): estimated costs, for
        // the layers and the optimizer's update.
        if (devices.front().kind() != device_kind::cpu)
            o.costs = costs_from::estimate;
        schedule_table table;
        if (const auto* custom = std::get_if<schedule_table>(&o.schedule)) {
            table = *custom;
            if (o.micro_batches == 0)
                o.micro_batches = table.micro_batches;
            if (table.devices != p)
                bad_option("the schedule_table is for " + std::to_string(table.devices) + " devices, " +
                           std::to_string(p) + " were given");
            if (table.micro_batches != o.micro_batches)
                bad_option("the schedule_table has " + std::to_string(table.micro_batches) +
                           " micro-batches, options.micro_batches is " + std::to_string(o.micro_batches));
        }
        if (o.micro_batches < 1)
            bad_option("micro_batches must be at least 1, got " + std::to_string(o.micro_batches));
        if (o.batch_size < static_cast<std::size_t>(o.micro_batches))
            bad_option("batch_size (" + std::to_string(o.batch_size) + ") must be at least micro_batches (" +
                       std::to_string(o.micro_batches) + ")");
        if (o.chunks < 1)
            bad_option("chunks must be at least 1, got " + std::to_string(o.chunks));
        if (!(o.flops_per_second > 0))
            bad_option("flops_per_second must be positive, got " + std::to_string(o.flops_per_second));
        std::string name = "custom";
        if (const auto* kind = std::get_if<model::schedule>(&o.schedule)) {
            if (*kind == model::schedule::automatic)
                o = automatic_choice(net, devices, o);
            const model::schedule chosen = std::get<model::schedule>(o.schedule);
            table = built_in_table(chosen, p, o.micro_batches, o.chunks);
            name = chosen == model::schedule::interleaved ? "interleaved(v=" + std::to_string(o.chunks) + ")"
                                                          : schedule_label(chosen);
        }
        validate(table);

        const std::vector<std::size_t> feat = network_widths(net, o.input_features);
        const std::size_t rows = largest_micro_batch(o.batch_size, o.micro_batches);
        // Measured: per device, profiled on every CPU device at once (layer_costs.hpp); estimated:
        // one thread's seconds, which the partition divides by each device's threads.
        const std::vector<std::vector<layer_cost>> costs =
            o.costs == costs_from::measured
                ? measured_costs(net, feat, rows, devices)
                : std::vector<std::vector<layer_cost>>{estimated_costs(net, feat, rows, o.flops_per_second)};
        pipeline_plan plan = finish(net, std::move(devices), std::move(table), o, feat, rows, costs);
        plan.s_->schedule_name = std::move(name);
        return plan;
    }

    /// The options with the planner's choice: the fastest candidate that fits.
    /// \throws out_of_memory (the message of the candidate that came closest: recomputation on,
    /// the most micro-batches) when none fits.
    static shard_options automatic_choice(sequential& net, const std::vector<device>& devices, shard_options o)
    {
        const std::vector<plan_candidate> cands = plan_candidates(net, devices, o);
        const plan_candidate* best = nullptr;
        for (const plan_candidate& c : cands)
            if (c.fits && (best == nullptr || c.predicted_seconds < best->predicted_seconds))
                best = &c;
        if (best == nullptr) { // the most frugal candidate's out_of_memory: 1F1B, most micro-batches, recomputed
            shard_options frugal = o;
            frugal.costs = costs_from::estimate; // the message needs only the bytes
            frugal.schedule = model::schedule::one_f_one_b;
            frugal.micro_batches = 1;
            for (const plan_candidate& c : cands)
                if (c.kind == model::schedule::one_f_one_b)
                    frugal.micro_batches = std::max(frugal.micro_batches, c.micro_batches);
            if (frugal.recomputation.size() == 1 && frugal.recomputation[0] == model::recompute::automatic)
                frugal.recomputation = {model::recompute::on};
            const auto feat = network_widths(net, o.input_features);
            const std::size_t rows = largest_micro_batch(o.batch_size, frugal.micro_batches);
            (void)choose_stages(built_in_table(model::schedule::one_f_one_b, static_cast<int>(devices.size()),
                                               frugal.micro_batches, 1),
                                devices, frugal, feat, rows, {estimated_costs(net, feat, rows, o.flops_per_second)},
                                net);
            throw std::logic_error("trident::model::shard: the planner found nothing that fits, but 1F1B does");
        }
        o.schedule = best->kind;
        o.micro_batches = best->micro_batches;
        o.chunks = best->chunks;
        if (o.recomputation.size() == 1 && o.recomputation[0] == model::recompute::automatic)
            o.recomputation = {best->recompute ? model::recompute::on : model::recompute::off};
        return o;
    }

    /// From a validated table and the layers' costs: the partition, the bookings, the prediction.
    static pipeline_plan finish(sequential& net, std::vector<device> devices, schedule_table table,
                                const shard_options& o, const std::vector<std::size_t>& feat, std::size_t rows,
                                const std::vector<std::vector<layer_cost>>& costs)
    {
        auto s = std::make_unique<plan_state>();
        const stage_choice choice = choose_stages(table, devices, o, feat, rows, costs, net);
        s->net = &net;
        s->devices = std::move(devices);
        s->layout = choice.layout;
        s->features = feat;
        s->optimizer = o.optimizer;
        s->loss = o.loss;
        s->batch = o.batch_size;
        check_backward_order(table, s->layout, net);

        // Bookings: parameters and gradients (on the stage's device unless the layer places them
        // itself) and optimizer state, per layer.
        s->memory.assign(s->devices.size(), device_memory{});
        s->bookings.resize(net.size());
        const auto state_floats = [&](std::size_t n) {
            return std::visit([&](const auto& opt) { return opt.state_floats(n); }, o.optimizer);
        };
        const std::string state_label = std::visit([](const auto& opt) { return opt.name() + " state"; }, o.optimizer);
        std::vector<std::size_t> update_floats(s->devices.size(), 0); // parameters each device updates
        for (std::size_t st = 0; st < s->layout.size(); ++st) {
            const stage_layout& sl = s->layout[st];
            const device& dev = s->devices[static_cast<std::size_t>(sl.device)];
            stage_info info;
            info.first_layer = sl.first;
            info.last_layer = sl.last;
            info.device = sl.device;
            info.recompute = sl.recompute;
            for (int j = sl.first; j < sl.last; ++j) {
                auto& l = net.layers()[static_cast<std::size_t>(j)];
                const std::size_t n = l.parameters().size();
                update_floats[static_cast<std::size_t>(sl.device)] += n;
                if (dev.kind() != device_kind::cpu) { // booked by the device's GPU runtime (below)
                    info.parameter_bytes += n * sizeof(float);
                    info.optimizer_bytes += sizeof(float) * state_floats(n);
                    continue;
                }
                const std::string name = "layer " + std::to_string(j) + " (" + l.name() + ")";
                parameter_booking& b = s->bookings[static_cast<std::size_t>(j)] =
                    parameter_booking(l, dev, name, state_floats, state_label);
                info.parameter_bytes += b.stage_parameter_bytes();
                info.optimizer_bytes += b.stage_state_bytes();
            }
            info.activation_bytes = choice.bytes[st].per_micro_batch;
            info.forward_seconds = choice.costs.forward[st];
            info.backward_input_seconds = choice.costs.backward_input[st];
            info.backward_weight_seconds = choice.costs.backward_weight[st];
            auto& m = s->memory[static_cast<std::size_t>(sl.device)];
            m.parameters += info.parameter_bytes;
            m.gradients += info.parameter_bytes;
            m.optimizer += info.optimizer_bytes;
            s->info.push_back(info);
        }
        s->predicted = simulate(table, choice.costs);
        s->predicted.optimizer_seconds = optimizer_seconds(o.optimizer, o, s->devices, update_floats);
        for (std::size_t d = 0; d < s->devices.size(); ++d)
            s->memory[d].activations = choice.activation_peak[d];
        for (int d = 0; d < table.devices; ++d)
            s->mailboxes.push_back(std::make_unique<mailbox<buffer>>());
        s->gpu_runtimes.resize(s->devices.size());
        for (std::size_t d = 0; d < s->devices.size(); ++d)
            if (s->devices[d].kind() != device_kind::cpu)
                s->gpu_runtimes[d] = installed_gpu_hooks.load()->make_runtime(net, s->layout, s->devices, static_cast<int>(d),
                                                                              o.optimizer, o.loss);
        s->table = std::move(table);
        return pipeline_plan(std::move(s));
    }
};

} // namespace trident::model::detail
