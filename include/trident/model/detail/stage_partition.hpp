#pragma once
// shard()'s partition: the layers' costs and bytes handed to partition() (partition.hpp), then the
// exact per-device check in the runtime's own terms (plan_memory.hpp: a stage's received input,
// buffers in transit, recomputation's window, the transient of one action), which partition()'s
// per-layer model cannot express; where that check finds a device short, partition() runs again
// with that device's budget lowered by the shortfall.  Recomputation per stage: off, on, or
// automatic (off where the devices fit without it; else on, then off again stage by stage where
// the device still fits).

#include "trident/device.hpp"
#include "trident/errors.hpp"
#include "trident/model/detail/layer_costs.hpp"
#include "trident/model/detail/plan_memory.hpp"
#include "trident/model/detail/step_context.hpp"
#include "trident/model/partition.hpp"
#include "trident/model/shard_options.hpp"
#include "trident/model/simulate.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace trident::model::detail {

struct stage_choice {
    std::vector<stage_layout> layout;
    std::vector<stage_bytes> bytes;           // per stage
    stage_costs costs;                        // per stage, seconds on its device
    std::vector<std::size_t> activation_peak; // per device, the bound the budget check used
};

struct partition_inputs {
    const schedule_table& table;
    const std::vector<device>& devices;
    const std::vector<std::size_t>& feat;
    std::size_t rows;
    const std::vector<layer_cost>& costs;                // per layer: bytes (and the first device's times)
    const std::vector<std::vector<layer_cost>>& times;   // per device its layers' seconds (measured), or
                                                         // one entry: seconds on one thread (estimate)
    bool measured;                         // which of the two `times` holds
    std::vector<std::size_t> static_bytes; // per layer: parameters, gradients, optimizer state
};

/// Layer j's seconds (F, B, W) on device d.  Measured: as profiled on that device.  Estimated: one
/// thread's seconds / the device's threads.
inline layer_cost time_on(const partition_inputs& in, std::size_t d, std::size_t j)
{
    if (in.measured)
        return in.times[d][j];
    layer_cost k = in.times[0][j];
    const auto speed = static_cast<double>(in.devices[d].threads());
    k.forward /= speed;
    k.backward_input /= speed;
    k.backward_weight /= speed;
    return k;
}

/// The partition's per-device speeds (a stage takes cost / speed, with the layers' costs those of
/// layer_seconds()): estimated, the devices' threads; measured, the first device's total time over
/// the network / this device's (the first device has speed 1), so that a device measured slower
/// (a loaded core, a smaller share of the caches) gets less work whatever its threads().
inline std::vector<double> device_speeds(const partition_inputs& in)
{
    std::vector<double> speed;
    const auto total = [&](std::size_t d) {
        double t = 0;
        for (const layer_cost& k : in.times[d])
            t += k.forward + k.backward_input + k.backward_weight;
        return t;
    };
    const double first = in.measured ? total(0) : 0.0;
    for (std::size_t d = 0; d < in.devices.size(); ++d) {
        if (!in.measured) {
            speed.push_back(static_cast<double>(in.devices[d].threads()));
            continue;
        }
        const double mine = total(d);
        speed.push_back(first > 0 && mine > 0 ? first / mine : 1.0);
    }
    return speed;
}

/// Layer j's F + B + W at speed 1 for the partition: the first device's measured seconds, or one
/// thread's estimated seconds.
inline double layer_seconds(const partition_inputs& in, std::size_t j)
{
    const layer_cost& k = in.times[0][j];
    return k.forward + k.backward_input + k.backward_weight;
}

/// Layout, bytes, costs and activation bound of stages cut at `first` with recomputation `rec`.
inline stage_choice evaluate(const partition_inputs& in, const std::vector<std::size_t>& first,
                             const std::vector<bool>& rec)
{
    const schedule_table& t = in.table;
    const auto S = static_cast<std::size_t>(t.stages);
    stage_choice c;
    bool split_w = false;
    for (const auto& list : t.actions)
        for (const action& a : list)
            split_w = split_w || a.kind == action_kind::backward_weight;
    c.costs.forward.assign(S, 0.0);
    c.costs.backward_input.assign(S, 0.0);
    c.costs.backward_weight.assign(S, 0.0);
    c.costs.activation_bytes.assign(S, 0);
    for (std::size_t s = 0; s < S; ++s) {
        stage_layout sl{static_cast<int>(first[s]), static_cast<int>(first[s + 1]), t.stage_device[s], rec[s]};
        for (std::size_t j = first[s]; j < first[s + 1]; ++j) {
            const layer_cost k = time_on(in, static_cast<std::size_t>(sl.device), j);
            c.costs.forward[s] += k.forward;
            c.costs.backward_input[s] += k.backward_input;
            c.costs.backward_weight[s] += k.backward_weight;
        }
        if (sl.recompute)
            c.costs.backward_input[s] += c.costs.forward[s];
        c.bytes.push_back(bytes_of_stage(in.costs, in.feat, in.rows, sl.first, sl.last, static_cast<int>(s),
                                         t.stages, sl.recompute, split_w));
        c.costs.activation_bytes[s] = c.bytes.back().per_micro_batch;
        c.layout.push_back(sl);
    }
    // Per device: the order-exact peak of the per-micro-batch bytes (simulate's), plus the
    // recomputation windows and the largest transient of its stages.
    const prediction pr = simulate(t, c.costs);
    const std::vector<int> window = window_micro_batches(t);
    c.activation_peak = pr.peak_activation_bytes;
    std::vector<std::size_t> transient(in.devices.size(), 0);
    for (std::size_t s = 0; s < S; ++s) {
        const auto d = static_cast<std::size_t>(c.layout[s].device);
        c.activation_peak[d] += static_cast<std::size_t>(window[s]) * c.bytes[s].per_window;
        transient[d] = std::max(transient[d], c.bytes[s].transient);
    }
    for (std::size_t d = 0; d < transient.size(); ++d)
        c.activation_peak[d] += transient[d];
    return c;
}

/// Per device: bytes over its budget (0 when it fits) for the choice `c`.
inline std::vector<std::size_t> shortfall(const partition_inputs& in, const stage_choice& c)
{
    std::vector<std::size_t> need = c.activation_peak;
    for (const stage_layout& sl : c.layout)
        for (int j = sl.first; j < sl.last; ++j)
            need[static_cast<std::size_t>(sl.device)] += in.static_bytes[static_cast<std::size_t>(j)];
    std::vector<std::size_t> missing(need.size(), 0);
    for (std::size_t d = 0; d < need.size(); ++d)
        if (need[d] > in.devices[d].budget())
            missing[d] = need[d] - in.devices[d].budget();
    return missing;
}

/// The cut for recomputation `rec`: partition() with the layers' own bytes, checked and retried
/// with lowered budgets.  \throws trident::out_of_memory when it cannot fit.
inline std::pair<std::vector<std::size_t>, stage_choice> cut(const partition_inputs& in, const std::vector<bool>& rec)
{
    const schedule_table& t = in.table;
    bool all_recomputed = std::all_of(rec.begin(), rec.end(), [](bool r) { return r; });
    std::vector<layer_profile> layers;
    for (std::size_t j = 0; j < in.costs.size(); ++j) {
        const layer_cost& k = in.costs[j];
        layers.push_back({layer_seconds(in, j), in.static_bytes[j], all_recomputed ? 0 : k.output_bytes});
    }
    std::vector<device_profile> profiles;
    const std::vector<double> speed = device_speeds(in);
    for (std::size_t d = 0; d < in.devices.size(); ++d)
        profiles.push_back({speed[d], in.devices[d].budget(), in.devices[d].name()});
    const std::vector<int> in_flight = in_flight_micro_batches(t);
    for (int attempt = 0;; ++attempt) {
        const partition_result r = partition(layers, profiles, t.stage_device, in_flight);
        stage_choice c = evaluate(in, r.first_layer, rec);
        const std::vector<std::size_t> missing = shortfall(in, c);
        const auto worst = std::max_element(missing.begin(), missing.end());
        if (*worst == 0)
            return {r.first_layer, std::move(c)};
        const auto d = static_cast<std::size_t>(worst - missing.begin());
        if (attempt >= 2 * t.stages || profiles[d].budget <= *worst) {
            // Name the device and its first stage's first layer.
            int layer = 0;
            for (const stage_layout& sl : c.layout)
                if (static_cast<std::size_t>(sl.device) == d) {
                    layer = sl.first;
                    break;
                }
            const device& dev = in.devices[d];
            throw out_of_memory(dev.name(),
                                "the stages from layer " + std::to_string(layer) +
                                    " with their activations in flight, buffers in transit and one action's "
                                    "working set",
                                dev.budget() + *worst, 0, dev.budget());
        }
        profiles[d].budget -= *worst;
    }
}

/// The stages for the table, the devices and the options (recomputation resolved).
inline stage_choice choose_stages(const schedule_table& t, const std::vector<device>& devices, const shard_options& o,
                                  const std::vector<std::size_t>& feat, std::size_t rows,
                                  const std::vector<std::vector<layer_cost>>& times, sequential& net)
{
    const bool measured = o.costs == costs_from::measured;
    if (times.size() != (measured ? devices.size() : 1))
        throw std::logic_error("trident::model: the layers' costs are for " + std::to_string(times.size()) +
                               " devices, the plan has " + std::to_string(devices.size()) +
                               (measured ? " (measured: one per device)" : " (estimated: one for all)"));
    const std::vector<layer_cost>& costs = times.front();
    const auto S = static_cast<std::size_t>(t.stages);
    std::vector<model::recompute> want = o.recomputation;
    if (want.size() == 1)
        want.assign(S, want.front());
    if (want.size() != S)
        throw std::invalid_argument("trident::model::shard: options.recomputation has " + std::to_string(want.size()) +
                                    " entries; the schedule has " + std::to_string(S) + " stages (give 1 or " +
                                    std::to_string(S) + ")");
    partition_inputs in{t, devices, feat, rows, costs, times, measured, {}};
    for (std::size_t j = 0; j < costs.size(); ++j) {
        if (costs[j].parameters_placed) { // on the layer's own devices: nothing of it on the stage's
            in.static_bytes.push_back(0);
            continue;
        }
        const std::size_t n = costs[j].parameter_bytes / sizeof(float);
        const std::size_t state = std::visit([&](const auto& opt) { return opt.state_floats(n); }, o.optimizer);
        in.static_bytes.push_back(2 * costs[j].parameter_bytes + state * sizeof(float));
    }
    (void)net;

    std::vector<bool> rec(S);
    for (std::size_t s = 0; s < S; ++s)
        rec[s] = want[s] == model::recompute::on;
    const bool any_automatic = std::find(want.begin(), want.end(), model::recompute::automatic) != want.end();
    if (!any_automatic)
        return cut(in, rec).second;
    try {
        return cut(in, rec).second; // automatic stages off
    } catch (const out_of_memory&) {
    }
    for (std::size_t s = 0; s < S; ++s)
        rec[s] = rec[s] || want[s] == model::recompute::automatic;
    auto [first, choice] = cut(in, rec);
    for (std::size_t s = 0; s < S; ++s) { // off again where the device still fits
        if (want[s] != model::recompute::automatic)
            continue;
        rec[s] = false;
        stage_choice without = evaluate(in, first, rec);
        const auto missing = shortfall(in, without);
        if (std::all_of(missing.begin(), missing.end(), [](std::size_t m) { return m == 0; }))
            choice = std::move(without);
        else
            rec[s] = true;
    }
    return choice;
}

} // namespace trident::model::detail
