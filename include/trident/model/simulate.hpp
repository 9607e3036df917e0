#pragma once
/// \file model/simulate.hpp
/// `simulate(schedule, costs)`: predicts a schedule's step time, bubble, busy and idle time and
/// peak activation memory per device, and the timeline of every action, before anything runs.
///
/// Model.  Every device runs its list in order, one action at a time, from time 0.  F, B, W of
/// stage s take `forward[s]`, `backward_input[s]`, `backward_weight[s]`; a BW (backward not split)
/// takes B + W.  A send takes no device time (buffered, asynchronous); its message arrives
/// `transfer[b]` after it was sent, b the boundary between stages b and b + 1 (either direction).
/// A receive ends when its message has arrived (at once if it already has); the wait is idle
/// time.  Step time: the latest end over all devices.  Bubble fraction: the idle share of the
/// device-time, sum(idle) / (devices * step time).
/// Memory.  A micro-batch's activations of stage s (`activation_bytes[s]`) are held from the start
/// of its F to the end of its last backward action on that stage (W, or BW): the peak per device
/// is the largest sum over its stages along its list, and depends on the order only, not on the
/// times.  `in_flight_micro_batches(schedule)` gives the same count per stage in micro-batches
/// (GPipe: m on every stage; 1F1B: p - i on stage i), what the partition needs.
///
/// \code
///   namespace mp = trident::model;
///   auto costs = mp::stage_costs::uniform(/*stages*/ 4, /*F*/ 1.0, /*B*/ 1.0, /*W*/ 1.0);
///   mp::prediction p = mp::simulate(mp::zero_bubble_h1(4, 8), costs);
///   std::cout << p;    // step time 27 (1F1B: 33), bubble 0.111, per device busy/idle/peak bytes
/// \endcode
///
/// \throws trident::model::invalid_schedule when validate(schedule) does (simulate validates
/// first, so it always ends); std::invalid_argument when a cost vector has the wrong size or a
/// cost is negative or not finite (naming the vector, the index and the value).
/// Complexity: O(A + stages * micro_batches) time and memory, A the number of actions.

#include "trident/model/schedule.hpp"
#include "trident/model/validate.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace trident::model {

/// What each stage costs, per micro-batch (seconds, or any unit used consistently).
struct stage_costs {
    std::vector<double> forward;                ///< per stage: F
    std::vector<double> backward_input;         ///< per stage: B (a BW costs B + W)
    std::vector<double> backward_weight;        ///< per stage: W
    std::vector<double> transfer;               ///< per boundary s -> s + 1 (stages - 1 entries), or empty: 0
    std::vector<std::size_t> activation_bytes;  ///< per stage, per micro-batch kept; or empty: 0

    /// Every stage the same: F, B, W; every boundary `transfer`; `bytes` of activations.
    [[nodiscard]] static stage_costs uniform(int stages, double f, double b, double w, double transfer = 0,
                                             std::size_t bytes = 0)
    {
        const auto n = static_cast<std::size_t>(std::max(stages, 0));
        return {std::vector<double>(n, f), std::vector<double>(n, b), std::vector<double>(n, w),
                std::vector<double>(n > 0 ? n - 1 : 0, transfer), std::vector<std::size_t>(n, bytes)};
    }
};

/// One action of the timeline: on `device`, from `start` to `end` (a receive: its wait).
struct timed_action {
    int device;
    action act;
    double start;
    double end;
};

/// What simulate() predicts.
struct prediction {
    /// The schedule's actions, first start to last end (step_stats::actions_seconds measures it).
    double step_time = 0;
    /// A plan's prediction only (0 from simulate()): the slowest device's optimizer update after the
    /// schedule, from a timed update of the plan's optimizer at shard().
    double optimizer_seconds = 0;
    /// The whole step, step_time + optimizer_seconds (what step_stats::seconds measures).
    [[nodiscard]] double total_seconds() const noexcept { return step_time + optimizer_seconds; }
    double bubble_fraction = 0;                       ///< idle / (devices * step_time)
    std::vector<double> busy;                         ///< per device: compute time
    std::vector<double> idle;                         ///< per device: step_time - busy
    std::vector<std::size_t> peak_activation_bytes;   ///< per device
    std::vector<int> peak_in_flight;                  ///< per stage: micro-batches held at once
    std::vector<timed_action> timeline;               ///< every action, per device in list order
};

/// Per stage, the most micro-batches whose activations the stage holds at once (F started, last
/// backward action not finished), from the lists' order.  Requires a valid schedule (validate()).
/// Complexity: O(A).
[[nodiscard]] inline std::vector<int> in_flight_micro_batches(const schedule_table& table)
{
    std::vector<int> now(static_cast<std::size_t>(std::max(table.stages, 0)), 0);
    std::vector<int> peak = now;
    for (const auto& list : table.actions)
        for (const action& a : list) {
            if (a.stage < 0 || a.stage >= table.stages)
                continue;
            const auto s = static_cast<std::size_t>(a.stage);
            if (a.kind == action_kind::forward)
                peak[s] = std::max(peak[s], ++now[s]);
            else if (a.kind == action_kind::backward || a.kind == action_kind::backward_weight)
                --now[s];
        }
    return peak;
}

namespace detail {

inline void check_costs(const char* name, const std::vector<double>& v, std::size_t size, bool may_be_empty)
{
    if (!(v.size() == size || (may_be_empty && v.empty())))
        throw std::invalid_argument(std::string("trident::model::simulate: stage_costs.") + name + " has " +
                                    std::to_string(v.size()) + " entries, expected " + std::to_string(size) +
                                    (may_be_empty ? " (or none)" : ""));
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!(v[i] >= 0) || !std::isfinite(v[i]))
            throw std::invalid_argument(std::string("trident::model::simulate: stage_costs.") + name + "[" +
                                        std::to_string(i) + "] = " + std::to_string(v[i]) +
                                        ", must be finite and not negative");
}

} // namespace detail

/// Predicts one step of `table` under `costs` (see the file comment).
[[nodiscard]] inline prediction simulate(const schedule_table& table, const stage_costs& costs)
{
    validate(table);
    const auto stages = static_cast<std::size_t>(table.stages);
    const auto devices = static_cast<std::size_t>(table.devices);
    const auto mbs = static_cast<std::size_t>(table.micro_batches);
    detail::check_costs("forward", costs.forward, stages, false);
    detail::check_costs("backward_input", costs.backward_input, stages, false);
    detail::check_costs("backward_weight", costs.backward_weight, stages, false);
    detail::check_costs("transfer", costs.transfer, stages - 1, true);
    if (!(costs.activation_bytes.empty() || costs.activation_bytes.size() == stages))
        throw std::invalid_argument("trident::model::simulate: stage_costs.activation_bytes has " +
                                    std::to_string(costs.activation_bytes.size()) + " entries, expected " +
                                    std::to_string(stages) + " (or none)");

    auto duration = [&](const action& a) {
        const auto s = static_cast<std::size_t>(a.stage);
        switch (a.kind) {
        case action_kind::forward: return costs.forward[s];
        case action_kind::backward_input: return costs.backward_input[s];
        case action_kind::backward_weight: return costs.backward_weight[s];
        case action_kind::backward: return costs.backward_input[s] + costs.backward_weight[s];
        default: return 0.0;
        }
    };
    auto boundary_time = [&](std::size_t boundary) { return costs.transfer.empty() ? 0.0 : costs.transfer[boundary]; };
    // Arrival time of each message, indexed by the receiving action: [activation?][stage][mb]; < 0: not sent.
    std::vector<double> arrival(2 * stages * mbs, -1.0);
    auto slot = [&](bool activation, int stage, int mb) -> double& {
        return arrival[((activation ? 0 : stages) + static_cast<std::size_t>(stage)) * mbs +
                       static_cast<std::size_t>(mb)];
    };

    prediction out;
    out.busy.assign(devices, 0.0);
    out.idle.assign(devices, 0.0);
    std::vector<double> clock(devices, 0.0);
    std::vector<std::size_t> next(devices, 0);
    std::vector<std::vector<timed_action>> per_device(devices);
    // Every device runs its list until a receive's message has not been sent yet; the send wakes
    // it (waiting[] mirrors arrival[]), so each action is visited once or twice.
    std::vector<int> waiting(arrival.size(), -1);
    std::vector<std::size_t> ready(devices);
    for (std::size_t d = 0; d < devices; ++d)
        ready[d] = devices - 1 - d;
    auto send = [&](bool activation, int stage, int mb, double at) {
        slot(activation, stage, mb) = at;
        int& w = waiting[static_cast<std::size_t>(&slot(activation, stage, mb) - arrival.data())];
        if (w >= 0)
            ready.push_back(static_cast<std::size_t>(w));
        w = -1;
    };
    while (!ready.empty()) {
        const std::size_t d = ready.back();
        ready.pop_back();
        const auto& list = table.actions[d];
        for (; next[d] < list.size(); ++next[d]) {
            const action& a = list[next[d]];
            double start = clock[d];
            double end = start + duration(a);
            if (a.kind == action_kind::send_activation)
                send(true, a.stage + 1, a.micro_batch, start + boundary_time(static_cast<std::size_t>(a.stage)));
            else if (a.kind == action_kind::send_gradient)
                send(false, a.stage - 1, a.micro_batch, start + boundary_time(static_cast<std::size_t>(a.stage - 1)));
            else if (a.kind == action_kind::receive_activation || a.kind == action_kind::receive_gradient) {
                double& at = slot(a.kind == action_kind::receive_activation, a.stage, a.micro_batch);
                if (at < 0) { // its send has not run yet: wait for it
                    waiting[static_cast<std::size_t>(&at - arrival.data())] = static_cast<int>(d);
                    break;
                }
                end = std::max(start, at);
            } else
                out.busy[d] += end - start;
            clock[d] = end;
            per_device[d].push_back({static_cast<int>(d), a, start, end});
        }
    }

    for (std::size_t d = 0; d < devices; ++d)
        out.step_time = std::max(out.step_time, clock[d]);
    double idle = 0;
    for (std::size_t d = 0; d < devices; ++d)
        idle += out.idle[d] = out.step_time - out.busy[d];
    out.bubble_fraction = out.step_time > 0 ? idle / (static_cast<double>(devices) * out.step_time) : 0.0;
    for (auto& row : per_device)
        out.timeline.insert(out.timeline.end(), row.begin(), row.end());

    out.peak_in_flight = in_flight_micro_batches(table);
    out.peak_activation_bytes.assign(devices, 0);
    if (!costs.activation_bytes.empty())
        for (std::size_t d = 0; d < devices; ++d) {
            std::size_t held = 0;
            for (const action& a : table.actions[d]) {
                const std::size_t bytes = costs.activation_bytes[static_cast<std::size_t>(a.stage)];
                if (a.kind == action_kind::forward)
                    out.peak_activation_bytes[d] = std::max(out.peak_activation_bytes[d], held += bytes);
                else if (a.kind == action_kind::backward || a.kind == action_kind::backward_weight)
                    held -= bytes;
            }
        }
    return out;
}

/// A summary: step time, bubble, then per device busy, idle and peak activation bytes.
inline std::ostream& operator<<(std::ostream& os, const prediction& p)
{
    os << "predicted step time " << p.step_time << ", bubble " << p.bubble_fraction << '\n';
    for (std::size_t d = 0; d < p.busy.size(); ++d)
        os << "  device " << d << ": busy " << p.busy[d] << ", idle " << p.idle[d] << ", peak activations "
           << (d < p.peak_activation_bytes.size() ? p.peak_activation_bytes[d] : 0) << " bytes\n";
    return os;
}

} // namespace trident::model
