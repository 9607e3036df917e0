#pragma once
/// \file planner.hpp
/// The planner behind `schedule::automatic`: `plan_candidates(net, devices, options)` predicts,
/// before anything runs, every combination of a built-in schedule (GPipe, 1F1B, interleaved 1F1B
/// with options.chunks, ZB-H1), a micro-batch count and recomputation, and says for each whether it
/// fits the devices' budgets and how long simulate() predicts its step takes.  `shard()` with
/// `.schedule = schedule::automatic` takes the fastest that fits (ties: the first in the order
/// below), so a user who does not know which schedule suits their network and budgets gets one.
///
/// Candidates: micro-batch counts m in {1, 2, 4, ..., 64} up to batch_size, and options.micro_batches;
/// interleaved only when m is a multiple of the devices and chunks >= 2; recomputation off and on
/// when options.recomputation is {automatic}, else as given (a per-stage list applies only to the
/// schedules with that many stages).  Costs: measured once (costs_from::measured: on every CPU
/// device at once, see shard.hpp) with options.micro_batches' rows, and scaled by the rows for the
/// other counts (the layers' work is linear in the rows; small micro-batches run below that line,
/// so their predictions are optimistic); or estimated from flops for each count.
///
/// \code
///   for (const auto& c : trident::model::plan_candidates(net, devices, {.batch_size = 64}))
///       std::printf("%-12s m=%-3d %s %s %.3f ms\n", c.schedule_name.c_str(), c.micro_batches,
///                   c.recompute ? "recompute" : "         ", c.fits ? "fits" : "no  ", c.predicted_seconds * 1e3);
/// \endcode
///
/// Complexity: one partition and one simulate per candidate (at most 4 x 8 x 2).
/// \throws what shard() throws for bad options (std::invalid_argument); out_of_memory never (a
///   candidate that does not fit says so in `why_not`).

#include "trident/device.hpp"
#include "trident/model/detail/layer_costs.hpp"
#include "trident/model/detail/stage_partition.hpp"
#include "trident/model/schedule.hpp"
#include "trident/model/sequential.hpp"
#include "trident/model/shard_options.hpp"
#include "trident/model/simulate.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace trident::model {

/// One combination the planner predicted.
struct plan_candidate {
    model::schedule kind = model::schedule::one_f_one_b;
    std::string schedule_name;    ///< "gpipe", "1f1b", "interleaved(v=2)", "zb-h1"
    int micro_batches = 1;
    int chunks = 1;               ///< v (interleaved), else 1
    bool recompute = false;       ///< recomputation on every stage
    bool fits = false;            ///< every device's budget holds it
    std::string why_not;          ///< the out_of_memory message when it does not fit
    double predicted_seconds = 0; ///< simulate()'s step time (when it fits)
    double bubble = 0;            ///< simulate()'s bubble fraction (when it fits)
};

namespace detail {

inline const char* schedule_label(model::schedule k)
{
    switch (k) {
    case model::schedule::gpipe: return "gpipe";
    case model::schedule::one_f_one_b: return "1f1b";
    case model::schedule::interleaved: return "interleaved";
    case model::schedule::zero_bubble_h1: return "zb-h1";
    case model::schedule::automatic: return "automatic";
    }
    return "?";
}

inline schedule_table built_in_table(model::schedule kind, int p, int m, int chunks)
{
    switch (kind) {
    case model::schedule::gpipe: return gpipe(p, m);
    case model::schedule::one_f_one_b: return one_f_one_b(p, m);
    case model::schedule::interleaved: return interleaved_one_f_one_b(p, m, chunks);
    case model::schedule::zero_bubble_h1: return zero_bubble_h1(p, m);
    case model::schedule::automatic: break;
    }
    throw std::invalid_argument("trident::model: schedule::automatic is resolved by the planner (planner.hpp)");
}

/// The network's widths: options.input_features, or the first layer's fixed input width.
inline std::vector<std::size_t> network_widths(sequential& net, std::size_t input_features)
{
    std::size_t in = input_features;
    if (in == 0) {
        const auto fixed = net.input_features();
        if (!fixed)
            throw std::invalid_argument("trident::model::shard: options.input_features is 0 and the first layer, " +
                                        net[0].name() + ", takes any width: say the network's input width");
        in = *fixed;
    }
    std::vector<std::size_t> feat{in};
    for (std::size_t w : net.widths(in))
        feat.push_back(w);
    return feat;
}

/// The largest micro-batch of a batch cut into m (micro_batch_rows: the first batch % m have one more).
inline std::size_t largest_micro_batch(std::size_t batch, int m)
{
    const auto mm = static_cast<std::size_t>(m);
    return (batch + mm - 1) / mm;
}

} // namespace detail

/// Every candidate the planner considers, predicted (see the file comment).  `devices` and the
/// options are those shard() would get; options.schedule is ignored (every built-in is tried).
[[nodiscard]] inline std::vector<plan_candidate> plan_candidates(sequential& net, const std::vector<device>& devices,
                                                                 const shard_options& o)
{
    const int p = static_cast<int>(devices.size());
    if (p < 1 || net.empty() || o.batch_size == 0 || o.micro_batches < 1)
        throw std::invalid_argument("trident::model::plan_candidates: needs devices, layers, batch_size >= 1 and "
                                    "micro_batches >= 1");
    const std::vector<std::size_t> feat = detail::network_widths(net, o.input_features);
    const std::size_t rows0 = detail::largest_micro_batch(o.batch_size, o.micro_batches);
    std::vector<std::vector<detail::layer_cost>> measured; // per device (a GPU first device: estimated, as shard())
    if (o.costs == costs_from::measured && devices.front().kind() == device_kind::cpu)
        measured = detail::measured_costs(net, feat, rows0, devices);

    std::vector<int> counts;
    for (int m = 1; m <= 64 && static_cast<std::size_t>(m) <= o.batch_size; m *= 2)
        counts.push_back(m);
    if (std::find(counts.begin(), counts.end(), o.micro_batches) == counts.end() &&
        static_cast<std::size_t>(o.micro_batches) <= o.batch_size)
        counts.push_back(o.micro_batches);
    const bool automatic_recompute = o.recomputation.size() == 1 && o.recomputation[0] == model::recompute::automatic;

    std::vector<plan_candidate> out;
    for (model::schedule kind : {model::schedule::gpipe, model::schedule::one_f_one_b, model::schedule::interleaved,
                                 model::schedule::zero_bubble_h1})
        for (int m : counts) {
            if (kind == model::schedule::interleaved && (o.chunks < 2 || m % p != 0))
                continue;
            const std::size_t rows = detail::largest_micro_batch(o.batch_size, m);
            const std::vector<detail::layer_cost> estimated = detail::estimated_costs(net, feat, rows, o.flops_per_second);
            std::vector<std::vector<detail::layer_cost>> costs(measured.empty() ? 1 : measured.size(), estimated);
            const double scale = static_cast<double>(rows) / static_cast<double>(rows0);
            for (std::size_t d = 0; d < measured.size(); ++d)
                for (std::size_t j = 0; j < estimated.size(); ++j) {
                    costs[d][j].forward = measured[d][j].forward * scale;
                    costs[d][j].backward_input = measured[d][j].backward_input * scale;
                    costs[d][j].backward_weight = measured[d][j].backward_weight * scale;
                }
            const schedule_table table = detail::built_in_table(kind, p, m, o.chunks);
            for (bool rec : {false, true}) {
                shard_options oc = o;
                oc.costs = measured.empty() ? costs_from::estimate : costs_from::measured;
                if (automatic_recompute)
                    oc.recomputation = {rec ? model::recompute::on : model::recompute::off};
                else if (rec)
                    continue; // recomputation as given: one candidate
                if (oc.recomputation.size() != 1 && oc.recomputation.size() != static_cast<std::size_t>(table.stages))
                    continue;
                plan_candidate c;
                c.kind = kind;
                c.micro_batches = m;
                c.chunks = kind == model::schedule::interleaved ? o.chunks : 1;
                c.schedule_name = kind == model::schedule::interleaved
                                      ? "interleaved(v=" + std::to_string(o.chunks) + ")"
                                      : detail::schedule_label(kind);
                c.recompute = rec || (oc.recomputation.size() == 1 && oc.recomputation[0] == model::recompute::on);
                try {
                    const detail::stage_choice choice =
                        detail::choose_stages(table, devices, oc, feat, rows, costs, net);
                    const prediction pr = simulate(table, choice.costs);
                    c.fits = true;
                    c.predicted_seconds = pr.step_time;
                    c.bubble = pr.bubble_fraction;
                } catch (const out_of_memory& e) {
                    c.why_not = e.what();
                }
                out.push_back(std::move(c));
            }
        }
    return out;
}

} // namespace trident::model
