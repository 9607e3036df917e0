#pragma once
/// \file model/explain_step.hpp
/// `explain_step(plan, stats)`: why a pipeline step took the time it took.  The measured step
/// beside the predicted one (plan.predicted()), and the devices' lost time, p x wall - useful
/// compute, attributed to four causes plus what the model does not explain:
///
/// - **bubble**: the idle time the schedule itself leaves with equal stages (the fill and drain
///   of the pipeline; (p-1)/(m+p-1) of the time for GPipe and 1F1B);
/// - **stage imbalance**: the extra idle time because the stages' measured costs differ;
/// - **recomputation**: what recomputing forwards in backward added (stages with recompute);
/// - **transfers**: what moving activations and gradients added (the latency on the critical
///   path, a receiving thread's wake-up included, and the devices' own time in sends and receives);
/// - **other**: the rest: starting the threads, the barrier before the optimizer, variation
///   between micro-batches of one stage, threads waiting for a core (more devices than cores).
///
/// How.  From the measured timeline (step_stats::timeline): per stage the mean measured F, B and
/// W (a BW counts as B); a recomputing stage's recomputation is, per micro-batch, its measured F
/// of that micro-batch, taken off its backward; each boundary's transfer latency is the least
/// receive end - send start over its messages (a receive that waited ends at the arrival); each
/// device's optimizer time is its busy time outside the timeline's actions.  Then simulate()
/// (simulate.hpp) replays the schedule with, step by step, equal stages (the means over stages),
/// the measured per-stage costs, the recomputation added, the transfers added, each plus the
/// slowest device's optimizer (the mean device's for equal stages).  With T0..T3 those replayed
/// step times, U the useful compute (device-seconds of F, B, W and the optimizer, recomputation
/// excluded) and p the devices:
///   bubble = p T0 - U,  imbalance = p (T1 - T0),  recomputation = p (T2 - T1),
///   transfers = p (T3 - T2) + the devices' time in sends and in receives that did not wait,
///   other = p wall - U - the four;
/// so the five add up to lost = p wall - U exactly.  Actions slower than their predicted costs
/// (other processes on the cores, a profiling pass that saw warmer caches) lose no time here:
/// why() says by how much the actions' time exceeds the prediction's.  Imbalance can come out slightly negative
/// (unequal stages can fill a schedule's gaps better than equal ones); other is negative when
/// the measured step was faster than its replay.
///
/// \code
///   trident::model::step_stats s = plan.step(x, y);
///   trident::model::step_explanation e = trident::model::explain_step(plan, s);
///   std::cout << e.why() << '\n';
///   // of the form "<t> ms measured, <t> ms predicted (predicted/measured <r>%); <f>% of 2 devices'
///   //  time lost: bubble <f>% (fill and drain with equal stages), stage imbalance <f>%, ..."
///   std::cout << e;   // the same as a table of seconds and fractions
/// \endcode
///
/// The overload on plain data (a schedule table, the recomputing stages, the measured stats and a
/// prediction) works on any timeline, e.g. a synthetic one from simulate().
/// Complexity: O(A log A) and four simulate() calls, A the timeline's actions.
/// \throws std::invalid_argument when the stats do not belong to the table (a device or stage out
///   of range, recompute flags not one per stage); invalid_schedule from simulate() for a bad table.

#include "trident/model/plan.hpp"
#include "trident/model/plan_types.hpp"
#include "trident/model/schedule.hpp"
#include "trident/model/simulate.hpp"

#include <algorithm>
#include <cstddef>
#include <iomanip>
#include <locale>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace trident::model {

/// Device-seconds of lost time, by cause (see the file comment); they add up to lost_seconds.
struct step_losses {
    double bubble = 0;
    double imbalance = 0;
    double transfers = 0;
    double recomputation = 0;
    double other = 0;
    [[nodiscard]] double total() const noexcept { return bubble + imbalance + transfers + recomputation + other; }
};

/// What explain_step() found.  Seconds are wall seconds, device-seconds where said.
struct step_explanation {
    int devices = 0;
    double measured_seconds = 0;   ///< step_stats::seconds
    double predicted_seconds = 0;  ///< the plan's prediction, before the step ran (its total_seconds())
    double measured_bubble = 0;    ///< step_stats::bubble
    double predicted_bubble = 0;   ///< the prediction's bubble fraction
    double replayed_seconds = 0;   ///< T3: simulate() with the measured costs, plus the optimizer
    double equal_stages_seconds = 0; ///< T0: the same with equal stages and no transfers
    double compute_seconds = 0;    ///< U, device-seconds: F, B, W and optimizer, recomputation excluded
    double recomputed_seconds = 0; ///< device-seconds spent recomputing forwards
    double optimizer_seconds = 0;  ///< device-seconds in the optimizer
    double optimizer_wall_seconds = 0; ///< the slowest device's optimizer, measured
    double predicted_optimizer_seconds = 0; ///< the prediction's (0: a prediction without it, from simulate())
    double action_seconds = 0;     ///< device-seconds in F, B, W actions (recomputation included)
    double predicted_action_seconds = 0; ///< the same predicted (the prediction's busy time)
    double lost_seconds = 0;       ///< devices * measured_seconds - compute_seconds
    step_losses losses;            ///< lost_seconds by cause
    std::vector<double> transfer_latency; ///< per boundary, the latency used (seconds)

    /// A cause's share of the devices' time, devices * measured_seconds.
    [[nodiscard]] double fraction(double device_seconds) const noexcept
    {
        const double all = devices * measured_seconds;
        return all > 0 ? device_seconds / all : 0.0;
    }
    /// One sentence: measured against predicted, then the lost share and its causes, largest first.
    [[nodiscard]] std::string why() const;
    /// The numbers as a small table, then why().
    friend std::ostream& operator<<(std::ostream& os, const step_explanation& e);
};

namespace detail {

struct stage_means {
    std::vector<double> f, b, w; // per stage, mean per micro-batch
};

// Mean of the durations in `sum` / `count`, 0 where nothing was measured.
inline std::vector<double> means(const std::vector<double>& sum, const std::vector<int>& count)
{
    std::vector<double> out(sum.size(), 0.0);
    for (std::size_t i = 0; i < sum.size(); ++i)
        out[i] = count[i] > 0 ? sum[i] / count[i] : 0.0;
    return out;
}

inline std::string explain_percent(double fraction)
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    const double p = fraction * 100;
    out << std::fixed << std::setprecision(p != 0 && p > -10 && p < 10 ? 1 : 0) << p << '%';
    return out.str();
}

inline std::string explain_ratio(double r)
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out << std::fixed << std::setprecision(2) << r << 'x';
    return out.str();
}

inline std::string explain_ms(double seconds)
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out << std::fixed << std::setprecision(seconds < 0.01 ? 3 : 1) << seconds * 1e3 << " ms";
    return out.str();
}

} // namespace detail

/// Explains `stats`, a step of `table` whose stages `recomputed[s]` recompute, against `predicted`
/// (see the file comment).
[[nodiscard]] inline step_explanation explain_step(const schedule_table& table, const std::vector<bool>& recomputed,
                                                   const step_stats& stats, const prediction& predicted)
{
    const int p = table.devices;
    const auto S = static_cast<std::size_t>(table.stages);
    if (recomputed.size() != S)
        throw std::invalid_argument("trident::model::explain_step: " + std::to_string(recomputed.size()) +
                                    " recompute flags for " + std::to_string(S) + " stages");
    // Durations per stage and kind; each (stage, micro-batch) F, for recomputation.
    std::vector<double> fs(S, 0.0), bs(S, 0.0), ws(S, 0.0), rs(S, 0.0);
    std::vector<int> fn(S, 0), bn(S, 0), wn(S, 0);
    std::map<std::pair<int, int>, double> forward_of;
    std::vector<double> on_timeline(static_cast<std::size_t>(p), 0.0);
    for (const timed_action& t : stats.timeline) {
        if (t.device < 0 || t.device >= p || t.act.stage < 0 || t.act.stage >= table.stages)
            throw std::invalid_argument("trident::model::explain_step: the timeline's " + to_string(t.act) +
                                        " on device " + std::to_string(t.device) + " is not in the schedule (" +
                                        std::to_string(p) + " devices, " + std::to_string(S) + " stages)");
        if (t.act.kind == action_kind::forward)
            forward_of[{t.act.stage, t.act.micro_batch}] = t.end - t.start;
        if (is_compute(t.act.kind))
            on_timeline[static_cast<std::size_t>(t.device)] += t.end - t.start;
    }
    step_explanation e;
    e.devices = p;
    e.measured_seconds = stats.seconds;
    e.predicted_seconds = predicted.total_seconds();
    e.predicted_optimizer_seconds = predicted.optimizer_seconds;
    e.measured_bubble = stats.bubble;
    e.predicted_bubble = predicted.bubble_fraction;
    double compute = 0;
    for (const timed_action& t : stats.timeline) {
        const auto s = static_cast<std::size_t>(t.act.stage);
        double d = t.end - t.start;
        switch (t.act.kind) {
        case action_kind::forward: fs[s] += d, ++fn[s]; break;
        case action_kind::backward_weight: ws[s] += d, ++wn[s]; break;
        case action_kind::backward_input:
        case action_kind::backward:
            if (recomputed[s]) { // this backward ran the micro-batch's forward again first
                const auto it = forward_of.find({t.act.stage, t.act.micro_batch});
                const double r = it == forward_of.end() ? 0.0 : std::min(it->second, d);
                rs[s] += r;
                e.recomputed_seconds += r;
                d -= r;
            }
            bs[s] += d, ++bn[s];
            break;
        default: continue;
        }
        compute += d;
    }
    // Each device's optimizer: its busy time outside the timeline's actions.
    std::vector<double> optimizer(static_cast<std::size_t>(p), 0.0);
    for (std::size_t i = 0; i < stats.busy_seconds.size() && i < optimizer.size(); ++i)
        e.optimizer_seconds += optimizer[i] = std::max(0.0, stats.busy_seconds[i] - on_timeline[i]);
    const double opt_max = optimizer.empty() ? 0.0 : *std::max_element(optimizer.begin(), optimizer.end());
    const double opt_mean = p > 0 ? e.optimizer_seconds / p : 0.0;
    e.optimizer_wall_seconds = opt_max;
    e.compute_seconds = compute + e.optimizer_seconds;
    e.action_seconds = compute + e.recomputed_seconds;
    for (double b : predicted.busy)
        e.predicted_action_seconds += b;

    // Transfers: each receive matched with its send, per boundary between stages.
    using key = std::tuple<bool, int, int>; // activation?, receiving stage, micro-batch
    std::map<key, const timed_action*> sends;
    for (const timed_action& t : stats.timeline) {
        if (t.act.kind == action_kind::send_activation)
            sends[{true, t.act.stage + 1, t.act.micro_batch}] = &t;
        else if (t.act.kind == action_kind::send_gradient)
            sends[{false, t.act.stage - 1, t.act.micro_batch}] = &t;
    }
    const std::size_t boundaries = S > 0 ? S - 1 : 0;
    struct matched {
        const timed_action* send;
        const timed_action* receive;
        std::size_t boundary;
    };
    std::vector<matched> messages;
    double device_transfer = 0;
    for (const timed_action& t : stats.timeline) {
        const bool activation = t.act.kind == action_kind::receive_activation;
        if (t.act.kind == action_kind::send_activation || t.act.kind == action_kind::send_gradient)
            device_transfer += t.end - t.start;
        if (!activation && t.act.kind != action_kind::receive_gradient)
            continue;
        const auto it = sends.find({activation, t.act.stage, t.act.micro_batch});
        if (it == sends.end())
            continue;
        messages.push_back({it->second, &t, static_cast<std::size_t>(activation ? t.act.stage - 1 : t.act.stage)});
    }
    // A message cannot be received before it arrives, send start + latency, and a receive that
    // waited ends when it arrives: the least receive end - send start is the latency.
    e.transfer_latency.assign(boundaries, -1.0);
    for (const matched& m : messages)
        if (m.boundary < boundaries) {
            double& l = e.transfer_latency[m.boundary];
            const double this_one = std::max(0.0, m.receive->end - m.send->start);
            l = l < 0 ? this_one : std::min(l, this_one);
        }
    for (double& l : e.transfer_latency)
        l = std::max(l, 0.0);
    for (const matched& m : messages) // a receive that began after the arrival: its time is the handoff
        if (m.boundary < boundaries && m.receive->start >= m.send->start + e.transfer_latency[m.boundary])
            device_transfer += m.receive->end - m.receive->start;

    // The replays.
    const std::vector<double> f = detail::means(fs, fn), b = detail::means(bs, bn), w = detail::means(ws, wn);
    auto mean_of = [&](const std::vector<double>& v) {
        double sum = 0;
        for (double x : v)
            sum += x;
        return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
    };
    const int stages = static_cast<int>(S);
    const double T0 =
        simulate(table, stage_costs::uniform(stages, mean_of(f), mean_of(b), mean_of(w))).step_time + opt_mean;
    stage_costs costs{f, b, w, {}, {}};
    const double T1 = simulate(table, costs).step_time + opt_max;
    for (std::size_t s = 0; s < S; ++s)
        costs.backward_input[s] += bn[s] > 0 ? rs[s] / bn[s] : 0.0;
    const double T2 = simulate(table, costs).step_time + opt_max;
    costs.transfer = e.transfer_latency;
    const double T3 = simulate(table, costs).step_time + opt_max;

    e.equal_stages_seconds = T0;
    e.replayed_seconds = T3;
    e.lost_seconds = p * stats.seconds - e.compute_seconds;
    e.losses.bubble = p * T0 - e.compute_seconds;
    e.losses.imbalance = p * (T1 - T0);
    e.losses.recomputation = p * (T2 - T1);
    e.losses.transfers = p * (T3 - T2) + device_transfer;
    e.losses.other = e.lost_seconds - (e.losses.bubble + e.losses.imbalance + e.losses.recomputation + e.losses.transfers);
    return e;
}

/// Explains a step of `plan` (see the file comment).
[[nodiscard]] inline step_explanation explain_step(const pipeline_plan& plan, const step_stats& stats)
{
    std::vector<bool> recomputed;
    for (const stage_info& s : plan.stages())
        recomputed.push_back(s.recompute);
    return explain_step(plan.schedule(), recomputed, stats, plan.predicted());
}

inline std::string step_explanation::why() const
{
    using detail::explain_percent;
    if (measured_seconds <= 0)
        return "nothing to explain: the step took no measurable time";
    std::string out = detail::explain_ms(measured_seconds) + " measured, " + detail::explain_ms(predicted_seconds) +
                      " predicted (predicted/measured " + explain_percent(predicted_seconds / measured_seconds) +
                      (predicted_optimizer_seconds <= 0 && optimizer_wall_seconds > 0.01 * measured_seconds
                           ? "; the optimizer's " + detail::explain_ms(optimizer_wall_seconds) + " not predicted"
                           : "") +
                      (action_seconds > 1.05 * predicted_action_seconds && predicted_action_seconds > 0
                           ? "; the actions took " + detail::explain_ratio(action_seconds / predicted_action_seconds) +
                                 " their predicted time"
                           : "") +
                      "); " +
                      explain_percent(fraction(lost_seconds)) + " of " + std::to_string(devices) +
                      (devices == 1 ? " device's" : " devices'") + " time lost";
    std::vector<std::pair<double, std::string>> causes{
        {losses.bubble, "bubble"}, {losses.imbalance, "stage imbalance"}, {losses.transfers, "transfers"},
        {losses.recomputation, "recomputation"}, {losses.other, "other"}};
    std::stable_sort(causes.begin(), causes.end(), [](const auto& a, const auto& c) { return a.first > c.first; });
    const char* glosses[] = {" (fill and drain with equal stages)", " (unequal stage costs)",
                             " (latency and send/receive time)", " (forwards run again in backward)",
                             " (thread start, optimizer barrier, variation, waiting for a core)"};
    auto gloss = [&](const std::string& name) {
        const char* names[] = {"bubble", "stage imbalance", "transfers", "recomputation", "other"};
        for (int i = 0; i < 5; ++i)
            if (name == names[i])
                return std::string(glosses[i]);
        return std::string();
    };
    for (std::size_t i = 0; i < causes.size(); ++i)
        out += (i == 0 ? ": " : ", ") + causes[i].second + " " + explain_percent(fraction(causes[i].first)) +
               (i == 0 ? gloss(causes[i].second) : "");
    return out;
}

inline std::ostream& operator<<(std::ostream& os, const step_explanation& e)
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out << std::fixed << std::setprecision(3);
    out << "step " << e.measured_seconds * 1e3 << " ms measured, " << e.predicted_seconds * 1e3
        << " ms predicted, " << e.replayed_seconds * 1e3 << " ms replayed with the measured costs, "
        << e.equal_stages_seconds * 1e3 << " ms with equal stages\n"
        << "bubble " << e.measured_bubble * 100 << "% measured, " << e.predicted_bubble * 100 << "% predicted\n"
        << "device-time " << e.devices * e.measured_seconds * 1e3 << " ms: compute " << e.compute_seconds * 1e3
        << " ms (optimizer " << e.optimizer_seconds * 1e3 << "), lost " << e.lost_seconds * 1e3 << " ms\n";
    const std::pair<const char*, double> rows[] = {{"bubble", e.losses.bubble},
                                                   {"stage imbalance", e.losses.imbalance},
                                                   {"transfers", e.losses.transfers},
                                                   {"recomputation", e.losses.recomputation},
                                                   {"other", e.losses.other}};
    for (const auto& [name, v] : rows)
        out << "  " << std::left << std::setw(16) << name << std::right << std::setw(10) << v * 1e3 << " ms "
            << std::setw(8) << e.fraction(v) * 100 << "%\n";
    out << "why: " << e.why() << '\n';
    return os << out.str();
}

} // namespace trident::model
