// explain_step (model/explain_step.hpp) on synthetic timelines: a step "measured" as simulate()
// predicts it for chosen costs, so what each cause must get is known.  The attribution adds up;
// equal stages lose exactly the schedule's bubble; an imbalanced partition shows imbalance;
// recomputation and transfers are attributed; the optimizer counts as compute.  Then one real
// step of a plan (the attribution adds up; no timing is asserted).

#include "pipeline_helpers.hpp"

#include <catch2/catch.hpp>

#include "trident/model/explain_step.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace mp = trident::model;

// A step measured exactly as simulate() predicts it for `costs`, plus `optimizer[d]` per device.
mp::step_stats synthetic_step(const mp::schedule_table& t, const mp::stage_costs& costs,
                              std::vector<double> optimizer = {})
{
    const mp::prediction pr = mp::simulate(t, costs);
    optimizer.resize(static_cast<std::size_t>(t.devices), 0.0);
    mp::step_stats s;
    double opt_max = 0;
    for (double o : optimizer)
        opt_max = std::max(opt_max, o);
    s.seconds = pr.step_time + opt_max;
    s.busy_seconds = pr.busy;
    double busy = 0;
    for (std::size_t d = 0; d < s.busy_seconds.size(); ++d)
        busy += s.busy_seconds[d] += optimizer[d];
    s.bubble = 1 - busy / (t.devices * s.seconds);
    s.timeline = pr.timeline;
    return s;
}

std::vector<bool> none(const mp::schedule_table& t) { return std::vector<bool>(static_cast<std::size_t>(t.stages), false); }

bool near(double a, double b, double scale) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(scale)); }

void require_adds_up(const mp::step_explanation& e)
{
    INFO("lost " << e.lost_seconds << ", causes " << e.losses.total());
    REQUIRE(near(e.losses.total(), e.lost_seconds, e.devices * e.measured_seconds));
    REQUIRE(near(e.lost_seconds, e.devices * e.measured_seconds - e.compute_seconds, e.devices * e.measured_seconds));
}

} // namespace

TEST_CASE("explain_step: equal stages lose exactly the schedule's bubble", "[model][explain_step]")
{
    for (int p = 1; p <= 4; ++p)
        for (int m : {1, 2, 4, 8}) {
            INFO("p = " << p << ", m = " << m);
            const auto costs = mp::stage_costs::uniform(p, 1.0, 1.0, 1.0);
            for (const auto& t : {mp::gpipe(p, m), mp::one_f_one_b(p, m), mp::zero_bubble_h1(p, m)}) {
                const mp::step_stats s = synthetic_step(t, costs);
                const mp::prediction pr = mp::simulate(t, costs);
                const mp::step_explanation e = mp::explain_step(t, none(t), s, pr);
                require_adds_up(e);
                REQUIRE(e.compute_seconds == Approx(3.0 * m * p));
                REQUIRE(e.fraction(e.losses.bubble) == Approx(pr.bubble_fraction).margin(1e-12));
                REQUIRE(e.losses.imbalance == Approx(0).margin(1e-9));
                REQUIRE(e.losses.transfers == Approx(0).margin(1e-9));
                REQUIRE(e.losses.recomputation == Approx(0).margin(1e-9));
                REQUIRE(e.losses.other == Approx(0).margin(1e-9));
                REQUIRE(e.replayed_seconds == Approx(s.seconds));
            }
            if (p >= 2 && m % p == 0) { // interleaved: 2p stages
                const auto t = mp::interleaved_one_f_one_b(p, m, 2);
                const auto c2 = mp::stage_costs::uniform(2 * p, 0.5, 0.5, 0.5);
                const mp::step_explanation e = mp::explain_step(t, none(t), synthetic_step(t, c2), mp::simulate(t, c2));
                require_adds_up(e);
                REQUIRE(e.fraction(e.losses.bubble) == Approx(mp::simulate(t, c2).bubble_fraction).margin(1e-12));
                REQUIRE(e.losses.other == Approx(0).margin(1e-9));
            }
        }
    // GPipe and 1F1B: (p-1)/(m+p-1) of the devices' time.
    const auto t = mp::one_f_one_b(4, 8);
    const auto costs = mp::stage_costs::uniform(4, 1.0, 2.0, 0.0);
    const mp::step_explanation e = mp::explain_step(t, none(t), synthetic_step(t, costs), mp::simulate(t, costs));
    REQUIRE(e.fraction(e.losses.bubble) == Approx(3.0 / 11.0));
    REQUIRE(e.why().find(": bubble 27%") != std::string::npos);
}

TEST_CASE("explain_step: an imbalanced partition shows imbalance, not bubble", "[model][explain_step]")
{
    const int p = 4, m = 8;
    auto costs = mp::stage_costs::uniform(p, 1.0, 1.0, 1.0);
    costs.forward[2] = costs.backward_input[2] = costs.backward_weight[2] = 3.0; // stage 2 is 3x the others
    for (const auto& t : {mp::one_f_one_b(p, m), mp::zero_bubble_h1(p, m), mp::gpipe(p, m)}) {
        const mp::step_stats s = synthetic_step(t, costs);
        const mp::step_explanation e = mp::explain_step(t, none(t), s, mp::simulate(t, costs));
        require_adds_up(e);
        // Equal stages with the same total: 1.5 per action; the bubble is what that leaves idle.
        const auto equal = mp::stage_costs::uniform(p, 1.5, 1.5, 1.5);
        const double T0 = mp::simulate(t, equal).step_time;
        REQUIRE(e.equal_stages_seconds == Approx(T0));
        REQUIRE(e.losses.bubble == Approx(p * T0 - 4.5 * m * p));
        REQUIRE(e.losses.imbalance == Approx(p * (s.seconds - T0)));
        REQUIRE(e.losses.imbalance > 0.25 * e.lost_seconds);
        REQUIRE(e.losses.other == Approx(0).margin(1e-9));
    }
    const auto t = mp::one_f_one_b(p, 32);
    const mp::step_explanation e = mp::explain_step(t, none(t), synthetic_step(t, costs), mp::simulate(t, costs));
    INFO(e.why());
    REQUIRE(e.why().find(": stage imbalance") != std::string::npos); // the dominant cause named first
}

TEST_CASE("explain_step: recomputation is attributed and taken off the useful compute", "[model][explain_step]")
{
    const int p = 2, m = 4;
    const auto t = mp::one_f_one_b(p, m);
    // Stage 1 recomputes: its measured backward is its forward (2) again plus its own backward (1).
    auto costs = mp::stage_costs::uniform(p, 2.0, 1.0, 0.0);
    costs.backward_input[1] += 2.0;
    const mp::step_stats s = synthetic_step(t, costs);
    const mp::step_explanation e = mp::explain_step(t, {false, true}, s, mp::simulate(t, costs));
    require_adds_up(e);
    REQUIRE(e.recomputed_seconds == Approx(2.0 * m));
    REQUIRE(e.action_seconds == Approx(5.0 * m * p - 2.0 * m)); // stage 0: 2 + 1, stage 1: 2 + 3
    // Against a prediction with half the costs, the sentence says the actions took 2x.
    auto half = costs;
    for (auto* v : {&half.forward, &half.backward_input, &half.backward_weight})
        for (double& x : *v)
            x /= 2;
    const mp::step_explanation slow = mp::explain_step(t, {false, true}, s, mp::simulate(t, half));
    INFO(slow.why());
    REQUIRE(slow.why().find("the actions took 2.00x their predicted time") != std::string::npos);
    REQUIRE(e.compute_seconds == Approx(3.0 * m * p));
    const double plain = mp::simulate(t, mp::stage_costs::uniform(p, 2.0, 1.0, 0.0)).step_time;
    REQUIRE(e.losses.recomputation == Approx(p * (s.seconds - plain)));
    REQUIRE(e.losses.recomputation >= 2.0 * m);
    REQUIRE(e.losses.imbalance == Approx(0).margin(1e-9));
    REQUIRE(e.losses.other == Approx(0).margin(1e-9));
    // The same timeline without the flag: no recomputation, the extra time is imbalance.
    const mp::step_explanation n = mp::explain_step(t, none(t), s, mp::simulate(t, costs));
    require_adds_up(n);
    REQUIRE(n.losses.recomputation == 0);
    REQUIRE(n.losses.imbalance > 0);
    REQUIRE_THROWS_AS(mp::explain_step(t, {true}, s, mp::simulate(t, costs)), std::invalid_argument);
}

TEST_CASE("explain_step: transfer latency is recovered and attributed", "[model][explain_step]")
{
    for (const auto& t : {mp::gpipe(3, 4), mp::one_f_one_b(3, 6), mp::zero_bubble_h1(3, 6),
                          mp::interleaved_one_f_one_b(3, 6, 2)}) {
        auto costs = mp::stage_costs::uniform(t.stages, 1.0, 1.0, 1.0, 0.0);
        for (std::size_t b = 0; b < costs.transfer.size(); ++b)
            costs.transfer[b] = 0.25 * static_cast<double>(b + 1);
        const mp::step_stats s = synthetic_step(t, costs);
        const mp::step_explanation e = mp::explain_step(t, none(t), s, mp::simulate(t, costs));
        require_adds_up(e);
        REQUIRE(e.transfer_latency.size() == costs.transfer.size());
        for (std::size_t b = 0; b < costs.transfer.size(); ++b)
            REQUIRE(e.transfer_latency[b] == Approx(costs.transfer[b]));
        const double without = mp::simulate(t, mp::stage_costs::uniform(t.stages, 1.0, 1.0, 1.0)).step_time;
        REQUIRE(e.losses.transfers == Approx(t.devices * (s.seconds - without)));
        REQUIRE(e.losses.transfers > 0);
        REQUIRE(e.losses.other == Approx(0).margin(1e-9));
    }
}

TEST_CASE("explain_step: random costs, every schedule: the replay is the step, the causes add up",
          "[model][explain_step]")
{
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> cost(0.1, 2.0);
    for (int trial = 0; trial < 200; ++trial) {
        const int p = 1 + trial % 4, m = p * (1 + trial % 3);
        const mp::schedule_table tables[] = {mp::gpipe(p, m), mp::one_f_one_b(p, m), mp::zero_bubble_h1(p, m),
                                             mp::interleaved_one_f_one_b(p, m, 2)};
        const auto& t = tables[trial % 4];
        mp::stage_costs c = mp::stage_costs::uniform(t.stages, 0, 0, 0, 0);
        for (auto* v : {&c.forward, &c.backward_input, &c.backward_weight, &c.transfer})
            for (double& x : *v)
                x = cost(rng) * (v == &c.transfer ? 0.2 : 1.0);
        std::vector<double> opt;
        for (int d = 0; d < p; ++d)
            opt.push_back(cost(rng));
        const mp::step_stats s = synthetic_step(t, c, opt);
        INFO("trial " << trial << ", " << to_string(t));
        const mp::step_explanation e = mp::explain_step(t, none(t), s, mp::simulate(t, c));
        require_adds_up(e);
        REQUIRE(e.optimizer_seconds == Approx(std::accumulate(opt.begin(), opt.end(), 0.0)));
        REQUIRE(e.optimizer_wall_seconds == Approx(*std::max_element(opt.begin(), opt.end())));
        REQUIRE(e.replayed_seconds == Approx(s.seconds));
        REQUIRE(e.action_seconds == Approx(e.predicted_action_seconds));
        REQUIRE(e.why().find("the actions took") == std::string::npos);
        REQUIRE(e.losses.other == Approx(0).margin(1e-9 * s.seconds * p));
        REQUIRE(e.losses.bubble >= -1e-9);
        REQUIRE(e.losses.recomputation == 0);
    }
}

TEST_CASE("explain_step: a real plan's step (the causes add up; no timing asserted)", "[model][explain_step]")
{
    using namespace trident::literals;
    mp::sequential net = pipeline_test::make_net();
    std::vector<trident::device> devices{trident::cpu_device(1, 64_MiB), trident::cpu_device(1, 64_MiB)};
    auto plan = mp::shard(net, devices, {.micro_batches = 4, .batch_size = 32, .schedule = mp::schedule::one_f_one_b,
                                         .recomputation = {mp::recompute::on}});
    const pipeline_test::batch b = pipeline_test::make_batch(32, 1);
    const mp::step_stats s = plan.step(b.xv(), b.yv());
    const mp::step_explanation e = mp::explain_step(plan, s);
    require_adds_up(e);
    REQUIRE(e.devices == 2);
    REQUIRE(e.measured_seconds == s.seconds);
    REQUIRE(e.predicted_seconds == plan.predicted().total_seconds());
    REQUIRE(plan.predicted().optimizer_seconds > 0); // timed at shard(): the update is predicted
    REQUIRE(e.predicted_optimizer_seconds == plan.predicted().optimizer_seconds);
    REQUIRE(e.why().find("not predicted") == std::string::npos);
    REQUIRE(e.recomputed_seconds > 0); // every stage recomputes
    REQUIRE(e.compute_seconds > 0);
    REQUIRE(e.compute_seconds <= 2 * s.seconds);
    std::ostringstream os;
    os << e;
    REQUIRE(os.str().find("why: ") != std::string::npos);
    REQUIRE(os.str().find("recomputation") != std::string::npos);
    // Estimated costs: the optimizer's share is flops per parameter (sgd: 3) over flops_per_second,
    // for the device that updates the most parameters.
    auto estimated = mp::shard(net, devices, {.micro_batches = 4, .batch_size = 32, .costs = mp::costs_from::estimate,
                                              .flops_per_second = 2e9});
    std::vector<double> per_device(2, 0.0);
    for (const mp::stage_info& st : estimated.stages())
        for (int j = st.first_layer; j < st.last_layer; ++j)
            per_device[static_cast<std::size_t>(st.device)] += static_cast<double>(net[static_cast<std::size_t>(j)].parameters().size());
    REQUIRE(estimated.predicted().optimizer_seconds ==
            Approx(std::max(per_device[0], per_device[1]) * 3.0 / 2e9).epsilon(1e-12));
    REQUIRE(estimated.predicted().total_seconds() ==
            estimated.predicted().step_time + estimated.predicted().optimizer_seconds);
    // A timeline from another schedule is refused.
    mp::step_stats wrong = s;
    wrong.timeline.push_back({5, {mp::action_kind::forward, 0, 0}, 0.0, 0.0});
    REQUIRE_THROWS_AS(mp::explain_step(plan, wrong), std::invalid_argument);
}
