// The schedule simulator (model/simulate.hpp): the bubble formulas of the literature with equal
// costs (GPipe and 1F1B (p-1)/(m+p-1), interleaved 1F1B divided by v, ZB-H1 against 1F1B), the
// activations each schedule keeps in flight, transfer times, and the timeline checked against the
// schedule's dependencies with random costs.

#include <catch2/catch.hpp>

#include "trident/model/simulate.hpp"

#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace mp = trident::model;
using mp::action_kind;

TEST_CASE("simulate: GPipe and 1F1B with equal costs waste (p-1)/(m+p-1)", "[model][simulate]")
{
    for (int p = 1; p <= 8; ++p)
        for (int m = 1; m <= 32; ++m) {
            INFO("p = " << p << ", m = " << m);
            const auto costs = mp::stage_costs::uniform(p, 1.0, 1.5, 0.5); // BW = 2
            for (const auto& t : {mp::gpipe(p, m), mp::one_f_one_b(p, m)}) {
                const auto r = mp::simulate(t, costs);
                REQUIRE(r.step_time == 3.0 * (m + p - 1));
                REQUIRE(r.bubble_fraction == static_cast<double>(p - 1) / (m + p - 1));
                for (int d = 0; d < p; ++d) {
                    REQUIRE(r.busy[static_cast<std::size_t>(d)] == 3.0 * m);
                    REQUIRE(r.idle[static_cast<std::size_t>(d)] == 3.0 * (p - 1));
                }
            }
        }
}

TEST_CASE("simulate: interleaved 1F1B divides the bubble by v", "[model][simulate]")
{
    for (int p = 2; p <= 8; ++p)
        for (int m = p; m <= 32; m += p)
            for (int v = 2; v <= 4; ++v) {
                INFO("p = " << p << ", m = " << m << ", v = " << v);
                // The same model: 1F1B's stage (F = v, BW = 2v) is v chunks of F = 1, BW = 2.
                const auto plain = mp::simulate(mp::one_f_one_b(p, m), mp::stage_costs::uniform(p, v, 2.0 * v, 0));
                const auto inter =
                    mp::simulate(mp::interleaved_one_f_one_b(p, m, v), mp::stage_costs::uniform(p * v, 1, 2, 0));
                REQUIRE(inter.bubble_fraction == static_cast<double>(p - 1) / (v * m + p - 1));
                REQUIRE(inter.idle[0] * v == plain.idle[0]);
                REQUIRE(inter.step_time < plain.step_time);
            }
}

TEST_CASE("simulate: ZB-H1 with F = B = W beats 1F1B by the paper's bubble", "[model][simulate]")
{
    // Qi et al. 2024: 1F1B's bubble (p-1)(F+B+W), ZB-H1's (p-1)(F+B-W) when m >= p.
    for (int p = 1; p <= 8; ++p)
        for (int m = 1; m <= 32; ++m) {
            INFO("p = " << p << ", m = " << m);
            const auto costs = mp::stage_costs::uniform(p, 1, 1, 1);
            const auto zb = mp::simulate(mp::zero_bubble_h1(p, m), costs);
            const auto one = mp::simulate(mp::one_f_one_b(p, m), costs);
            REQUIRE(one.step_time == 3.0 * (m + p - 1));
            if (m >= p)
                REQUIRE(zb.step_time == 3.0 * m + (p - 1));
            REQUIRE(zb.step_time <= one.step_time);
            if (p > 1)
                REQUIRE(zb.step_time < one.step_time);
        }
    // p = 4, m = 8: 27 against 33 time units, 18% less.
    const auto costs = mp::stage_costs::uniform(4, 1, 1, 1);
    CHECK(mp::simulate(mp::zero_bubble_h1(4, 8), costs).step_time == 27.0);
    CHECK(mp::simulate(mp::one_f_one_b(4, 8), costs).step_time == 33.0);
}

TEST_CASE("simulate: activations in flight, GPipe m, 1F1B p - i, ZB-H1 1F1B's peak", "[model][simulate]")
{
    for (int p = 1; p <= 8; ++p)
        for (int m = 1; m <= 32; ++m) {
            INFO("p = " << p << ", m = " << m);
            auto costs = mp::stage_costs::uniform(p, 1, 1, 1);
            for (int s = 0; s < p; ++s)
                costs.activation_bytes[static_cast<std::size_t>(s)] = 100 + static_cast<std::size_t>(s);
            const auto g = mp::simulate(mp::gpipe(p, m), costs);
            const auto o = mp::simulate(mp::one_f_one_b(p, m), costs);
            const auto z = mp::simulate(mp::zero_bubble_h1(p, m), costs);
            int one_peak = 0;
            int zb_peak = 0;
            for (int i = 0; i < p; ++i) {
                const auto s = static_cast<std::size_t>(i);
                REQUIRE(g.peak_in_flight[s] == m);
                REQUIRE(g.peak_activation_bytes[s] == static_cast<std::size_t>(m) * (100 + s));
                REQUIRE(o.peak_in_flight[s] == std::min(p - i, m));
                REQUIRE(o.peak_activation_bytes[s] == static_cast<std::size_t>(std::min(p - i, m)) * (100 + s));
                REQUIRE(z.peak_in_flight[s] <= std::min(p, m));
                one_peak = std::max(one_peak, o.peak_in_flight[s]);
                zb_peak = std::max(zb_peak, z.peak_in_flight[s]);
            }
            REQUIRE(zb_peak == one_peak);
            // ZB-H1 keeps 1F1B's count between F and B on every stage (the full activations).
            const auto zb = mp::zero_bubble_h1(p, m);
            for (int i = 0; i < p; ++i) {
                int now = 0;
                int most = 0;
                for (const auto& a : zb.actions[static_cast<std::size_t>(i)]) {
                    if (a.kind == action_kind::forward)
                        most = std::max(most, ++now);
                    if (a.kind == action_kind::backward_input)
                        --now;
                }
                REQUIRE(most == std::min(p - i, m));
            }
        }
}

TEST_CASE("simulate: transfers delay the receiver, never the sender", "[model][simulate]")
{
    // GPipe, 2 devices, 1 micro-batch: F0 (1), transfer (0.5), F1 (1), BW1 (2), transfer, BW0 (2).
    auto costs = mp::stage_costs::uniform(2, 1, 1.5, 0.5, 0.5);
    const auto r = mp::simulate(mp::gpipe(2, 1), costs);
    CHECK(r.step_time == 7.0);
    CHECK(r.busy == std::vector<double>{3.0, 3.0});
    CHECK(r.idle == std::vector<double>{4.0, 4.0});
    // Device 0: F0.0 SA0.0>1 RG0.0<1 BW0.0, then device 1: RA1.0<0 F1.0 BW1.0 SG1.0>0.
    REQUIRE(r.timeline.size() == 8);
    CHECK(r.timeline[1].act == mp::action{action_kind::send_activation, 0, 0, 1});
    CHECK(r.timeline[1].start == 1.0);
    CHECK(r.timeline[1].end == 1.0); // a send takes no device time
    CHECK(r.timeline[4].act == mp::action{action_kind::receive_activation, 1, 0, 0});
    CHECK(r.timeline[4].start == 0.0);
    CHECK(r.timeline[4].end == 1.5); // waits for F0 and the transfer
    CHECK(r.timeline[2].act == mp::action{action_kind::receive_gradient, 0, 0, 1});
    CHECK(r.timeline[2].start == 1.0);
    CHECK(r.timeline[2].end == 5.0); // BW1 ends at 4.5, then the transfer
    CHECK(r.timeline[3].start == 5.0);
    // No transfer between stages on one device: one device, four chunks.
    const auto single = mp::simulate(mp::interleaved_one_f_one_b(1, 2, 4), mp::stage_costs::uniform(4, 1, 1, 1, 9.0));
    CHECK(single.step_time == 24.0);
    CHECK(single.bubble_fraction == 0.0);
}

TEST_CASE("simulate: the timeline keeps every dependency under random costs", "[model][simulate]")
{
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> cost(0.1, 2.0);
    std::vector<mp::schedule_table> tables = {mp::gpipe(4, 6), mp::one_f_one_b(3, 7), mp::zero_bubble_h1(4, 9),
                                              mp::interleaved_one_f_one_b(2, 4, 3), mp::zero_bubble_h1(1, 3)};
    for (const auto& t : tables) {
        INFO(t);
        mp::stage_costs c;
        for (int s = 0; s < t.stages; ++s) {
            c.forward.push_back(cost(rng));
            c.backward_input.push_back(cost(rng));
            c.backward_weight.push_back(cost(rng));
            if (s + 1 < t.stages)
                c.transfer.push_back(cost(rng));
        }
        const auto r = mp::simulate(t, c);
        std::map<std::tuple<int, int, int>, mp::timed_action> at; // (kind, stage, mb)
        std::vector<double> last_end(static_cast<std::size_t>(t.devices), 0.0);
        std::vector<double> busy(static_cast<std::size_t>(t.devices), 0.0);
        std::size_t count = 0;
        for (const auto& e : r.timeline) {
            const auto d = static_cast<std::size_t>(e.device);
            REQUIRE(e.start >= last_end[d]); // one action at a time, in list order
            REQUIRE(e.end >= e.start);
            last_end[d] = e.end;
            at[{static_cast<int>(e.act.kind), e.act.stage, e.act.micro_batch}] = e;
            const auto s = static_cast<std::size_t>(e.act.stage);
            const double expected = e.act.kind == action_kind::forward           ? c.forward[s]
                                    : e.act.kind == action_kind::backward_input  ? c.backward_input[s]
                                    : e.act.kind == action_kind::backward_weight ? c.backward_weight[s]
                                    : e.act.kind == action_kind::backward ? c.backward_input[s] + c.backward_weight[s]
                                                                          : -1;
            if (expected >= 0) {
                REQUIRE(e.end - e.start == Approx(expected));
                busy[d] += e.end - e.start;
            }
            ++count;
        }
        std::size_t actions = 0;
        for (const auto& list : t.actions)
            actions += list.size();
        REQUIRE(count == actions);
        auto get = [&](action_kind k, int s, int mb) { return at.at({static_cast<int>(k), s, mb}); };
        auto has = [&](action_kind k, int s, int mb) { return at.count({static_cast<int>(k), s, mb}) > 0; };
        for (int s = 0; s < t.stages; ++s)
            for (int mb = 0; mb < t.micro_batches; ++mb) {
                const bool split = has(action_kind::backward_input, s, mb);
                const auto bk = split ? action_kind::backward_input : action_kind::backward;
                const bool cross = s + 1 < t.stages && t.stage_device[static_cast<std::size_t>(s)] !=
                                                           t.stage_device[static_cast<std::size_t>(s + 1)];
                const double hop = cross ? c.transfer[static_cast<std::size_t>(s)] : 0.0;
                if (s + 1 < t.stages) {
                    REQUIRE(get(action_kind::forward, s + 1, mb).start >=
                            get(action_kind::forward, s, mb).end + hop - 1e-12);
                    const bool next_split = has(action_kind::backward_input, s + 1, mb);
                    REQUIRE(get(bk, s, mb).start >=
                            get(next_split ? action_kind::backward_input : action_kind::backward, s + 1, mb).end +
                                hop - 1e-12);
                }
                REQUIRE(get(bk, s, mb).start >= get(action_kind::forward, s, mb).end);
                if (split)
                    REQUIRE(get(action_kind::backward_weight, s, mb).start >= get(bk, s, mb).end);
            }
        double step = 0;
        for (std::size_t d = 0; d < last_end.size(); ++d) {
            step = std::max(step, last_end[d]);
            REQUIRE(r.busy[d] == Approx(busy[d]));
        }
        REQUIRE(r.step_time == step);
    }
}

TEST_CASE("simulate: bad costs name the vector and the entry", "[model][simulate]")
{
    const auto t = mp::one_f_one_b(4, 4);
    auto message = [&](const mp::stage_costs& c) {
        try {
            (void)mp::simulate(t, c);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no exception");
    };
    auto c = mp::stage_costs::uniform(4, 1, 1, 1);
    c.backward_input.pop_back();
    CHECK(message(c).find("stage_costs.backward_input has 3 entries, expected 4") != std::string::npos);
    c = mp::stage_costs::uniform(4, 1, 1, 1);
    c.forward[2] = -1;
    CHECK(message(c).find("stage_costs.forward[2] = -1") != std::string::npos);
    c = mp::stage_costs::uniform(4, 1, 1, 1);
    c.transfer.push_back(0);
    CHECK(message(c).find("stage_costs.transfer has 4 entries, expected 3 (or none)") != std::string::npos);
    auto broken = t;
    broken.actions[0].pop_back();
    CHECK_THROWS_AS(mp::simulate(broken, mp::stage_costs::uniform(4, 1, 1, 1)), mp::invalid_schedule);
}
