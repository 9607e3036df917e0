// Pipeline schedules (model/schedule.hpp, model/validate.hpp): the generators' structure, the
// validity of every built-in schedule over p in 1..8, m in 1..32, v in 1..4, argument errors, and
// the rejection of broken custom schedules with a message that names device, position and reason.

#include <catch2/catch.hpp>

#include "trident/model/schedule.hpp"
#include "trident/model/validate.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace mp = trident::model;
using mp::action_kind;

namespace {

// An independent count of what a schedule must contain: every stage's F and (BW, or B and W)
// exactly once per micro-batch on the stage's device, and one send/receive pair per micro-batch and
// direction across every boundary between devices.
void check_contents(const mp::schedule_table& t, bool split)
{
    std::map<std::tuple<int, int, int>, int> count; // (kind, stage, mb)
    for (int d = 0; d < t.devices; ++d)
        for (const auto& a : t.actions[static_cast<std::size_t>(d)]) {
            REQUIRE(t.stage_device[static_cast<std::size_t>(a.stage)] == d);
            ++count[{static_cast<int>(a.kind), a.stage, a.micro_batch}];
        }
    std::size_t expected = 0;
    for (int s = 0; s < t.stages; ++s)
        for (int mb = 0; mb < t.micro_batches; ++mb) {
            auto n = [&](action_kind k) { return count[{static_cast<int>(k), s, mb}]; };
            REQUIRE(n(action_kind::forward) == 1);
            REQUIRE(n(action_kind::backward) == (split ? 0 : 1));
            REQUIRE(n(action_kind::backward_input) == (split ? 1 : 0));
            REQUIRE(n(action_kind::backward_weight) == (split ? 1 : 0));
            expected += split ? 3 : 2;
            const bool cross_next = s + 1 < t.stages && t.stage_device[static_cast<std::size_t>(s)] !=
                                                            t.stage_device[static_cast<std::size_t>(s + 1)];
            const bool cross_prev = s > 0 && t.stage_device[static_cast<std::size_t>(s)] !=
                                                 t.stage_device[static_cast<std::size_t>(s - 1)];
            REQUIRE(n(action_kind::send_activation) == (cross_next ? 1 : 0));
            REQUIRE(n(action_kind::receive_gradient) == (cross_next ? 1 : 0));
            REQUIRE(n(action_kind::receive_activation) == (cross_prev ? 1 : 0));
            REQUIRE(n(action_kind::send_gradient) == (cross_prev ? 1 : 0));
            expected += (cross_next ? 2 : 0) + (cross_prev ? 2 : 0);
        }
    std::size_t total = 0;
    for (const auto& list : t.actions)
        total += list.size();
    REQUIRE(total == expected);
}

std::size_t find(const std::vector<mp::action>& list, mp::action a)
{
    auto it = std::find(list.begin(), list.end(), a);
    REQUIRE(it != list.end());
    return static_cast<std::size_t>(it - list.begin());
}

template <class F>
std::string rejection(const mp::schedule_table& t, F&& more_checks)
{
    try {
        mp::validate(t);
    } catch (const mp::invalid_schedule& e) {
        more_checks(e);
        return e.what();
    }
    FAIL("validate accepted a broken schedule:\n" << t);
    return {};
}
std::string rejection(const mp::schedule_table& t)
{
    return rejection(t, [](const mp::invalid_schedule&) {});
}

} // namespace

TEST_CASE("schedule: printing names kind, stage, micro-batch and peer", "[model][schedule]")
{
    CHECK(mp::to_string(mp::action{action_kind::forward, 3, 1}) == "F3.1");
    CHECK(mp::to_string(mp::action{action_kind::backward, 0, 2}) == "BW0.2");
    CHECK(mp::to_string(mp::action{action_kind::send_activation, 3, 1, 2}) == "SA3.1>2");
    CHECK(mp::to_string(mp::action{action_kind::receive_gradient, 2, 0, 3}) == "RG2.0<3");
    CHECK(std::string(mp::to_string(action_kind::backward_weight)) == "backward_weight");
    const std::string text = mp::to_string(mp::gpipe(2, 2));
    CHECK(text.find("2 devices, 2 stages, 2 micro-batches") != std::string::npos);
    CHECK(text.find("d0: F0.0 SA0.0>1 F0.1 SA0.1>1 RG0.0<1 BW0.0 RG0.1<1 BW0.1\n") != std::string::npos);
    CHECK(text.find("d1: RA1.0<0 F1.0 RA1.1<0 F1.1 BW1.0 SG1.0>0 BW1.1 SG1.1>0\n") != std::string::npos);
}

TEST_CASE("schedule: 1F1B's order is warm-up, one forward one backward, cool-down", "[model][schedule]")
{
    const auto t = mp::one_f_one_b(3, 4);
    auto compute = [&](int d) {
        std::string s;
        for (const auto& a : t.actions[static_cast<std::size_t>(d)])
            if (mp::is_compute(a.kind))
                s += mp::to_string(a) + ' ';
        return s;
    };
    CHECK(compute(0) == "F0.0 F0.1 F0.2 BW0.0 F0.3 BW0.1 BW0.2 BW0.3 ");
    CHECK(compute(1) == "F1.0 F1.1 BW1.0 F1.2 BW1.1 F1.3 BW1.2 BW1.3 ");
    CHECK(compute(2) == "F2.0 BW2.0 F2.1 BW2.1 F2.2 BW2.2 F2.3 BW2.3 ");
}

TEST_CASE("schedule: interleaved 1F1B follows Megatron's chunk order", "[model][schedule]")
{
    const auto t = mp::interleaved_one_f_one_b(2, 4, 2); // stages 0..3, stage s on device s % 2
    CHECK(t.stages == 4);
    CHECK(t.stage_device == std::vector<int>{0, 1, 0, 1});
    std::string forwards;
    for (const auto& a : t.actions[0])
        if (a.kind == action_kind::forward)
            forwards += mp::to_string(a) + ' ';
    // groups of p = 2 micro-batches, chunk 0 (stage 0) then chunk 1 (stage 2)
    CHECK(forwards == "F0.0 F0.1 F2.0 F2.1 F0.2 F0.3 F2.2 F2.3 ");
    // no transfers between stages on one device: p = 1 puts every stage on device 0
    const auto single = mp::interleaved_one_f_one_b(1, 3, 4);
    for (const auto& a : single.actions[0])
        CHECK(mp::is_compute(a.kind));
}

TEST_CASE("schedule: every built-in schedule is valid for p 1..8, m 1..32, v 1..4", "[model][schedule]")
{
    for (int p = 1; p <= 8; ++p)
        for (int m = 1; m <= 32; ++m) {
            INFO("p = " << p << ", m = " << m);
            const auto g = mp::gpipe(p, m);
            const auto o = mp::one_f_one_b(p, m);
            const auto z = mp::zero_bubble_h1(p, m);
            REQUIRE_NOTHROW(mp::validate(g));
            REQUIRE_NOTHROW(mp::validate(o));
            REQUIRE_NOTHROW(mp::validate(z));
            check_contents(g, false);
            check_contents(o, false);
            check_contents(z, true);
            for (int v = 1; v <= 4; ++v) {
                INFO("v = " << v);
                if (v > 1 && m % p != 0) {
                    REQUIRE_THROWS_AS(mp::interleaved_one_f_one_b(p, m, v), std::invalid_argument);
                    continue;
                }
                const auto t = mp::interleaved_one_f_one_b(p, m, v);
                REQUIRE(t.stages == p * v);
                for (int s = 0; s < t.stages; ++s)
                    REQUIRE(t.stage_device[static_cast<std::size_t>(s)] == s % p);
                REQUIRE_NOTHROW(mp::validate(t));
                check_contents(t, false);
            }
        }
}

TEST_CASE("schedule: argument errors name the value", "[model][schedule]")
{
    auto message = [](auto&& f) {
        try {
            f();
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no exception");
    };
    CHECK(message([] { (void)mp::gpipe(0, 4); }).find("devices = 0") != std::string::npos);
    CHECK(message([] { (void)mp::one_f_one_b(2, -1); }).find("micro_batches = -1") != std::string::npos);
    CHECK(message([] { (void)mp::zero_bubble_h1(-3, 2); }).find("devices = -3") != std::string::npos);
    CHECK(message([] { (void)mp::interleaved_one_f_one_b(2, 4, 0); }).find("chunks_per_device = 0") !=
          std::string::npos);
    CHECK(message([] { (void)mp::interleaved_one_f_one_b(4, 6, 2); })
              .find("micro_batches = 6 is not a multiple of devices = 4") != std::string::npos);
}

TEST_CASE("schedule: insert_transfers completes a custom compute order", "[model][schedule]")
{
    // Two devices, three stages (0 and 1 on device 0, 2 on device 1), written as compute only.
    mp::schedule_table t{2, 3, 2, {0, 0, 1}, {}};
    using K = action_kind;
    t.actions = {{{K::forward, 0, 0}, {K::forward, 1, 0}, {K::forward, 0, 1}, {K::forward, 1, 1},
                  {K::backward, 1, 0}, {K::backward, 0, 0}, {K::backward, 1, 1}, {K::backward, 0, 1}},
                 {{K::forward, 2, 0}, {K::backward, 2, 0}, {K::forward, 2, 1}, {K::backward, 2, 1}}};
    CHECK_THROWS_AS(mp::validate(t), mp::invalid_schedule); // no transfers yet
    const auto full = mp::insert_transfers(t);
    REQUIRE_NOTHROW(mp::validate(full));
    check_contents(full, false);
    CHECK(full.actions[1][0] == mp::action{K::receive_activation, 2, 0, 0});
    CHECK(full.actions[0][2] == mp::action{K::send_activation, 1, 0, 1});
}

TEST_CASE("validate: a missing send is rejected where its receive is", "[model][schedule]")
{
    auto t = mp::one_f_one_b(2, 2);
    auto& d0 = t.actions[0];
    d0.erase(d0.begin() + static_cast<long>(find(d0, {action_kind::send_activation, 0, 0, 1})));
    const std::string what = rejection(t, [&](const mp::invalid_schedule& e) {
        CHECK(e.device() == 1);
        CHECK(e.position() == static_cast<int>(find(t.actions[1], {action_kind::receive_activation, 1, 0, 0})));
    });
    CHECK(what.find("device 1, position 0: RA1.0<0: no matching send SA0.0>1") != std::string::npos);
}

TEST_CASE("validate: a swap that deadlocks names every waiting device", "[model][schedule]")
{
    auto t = mp::gpipe(2, 2);
    auto& d0 = t.actions[0]; // F0.0 SA0.0>1 ...: wait for the gradient before sending the activation
    const auto rg = find(d0, {action_kind::receive_gradient, 0, 0, 1});
    const mp::action moved = d0[rg];
    d0.erase(d0.begin() + static_cast<long>(rg));
    d0.insert(d0.begin() + 1, moved);
    const std::string what = rejection(t, [](const mp::invalid_schedule& e) {
        CHECK(e.device() == 0);
        CHECK(e.position() == 1);
    });
    CHECK(what.find("deadlock") != std::string::npos);
    CHECK(what.find("device 0 waits at position 1 on RG0.0<1") != std::string::npos);
    CHECK(what.find("device 1 waits at position 0 on RA1.0<0") != std::string::npos);
}

TEST_CASE("validate: a duplicate, a wrong device, out-of-order weight gradients", "[model][schedule]")
{
    using K = action_kind;
    {
        auto t = mp::one_f_one_b(3, 4);
        t.actions[1].push_back({K::forward, 1, 2});
        const std::string what = rejection(t, [&](const mp::invalid_schedule& e) {
            CHECK(e.device() == 1);
            CHECK(e.position() == static_cast<int>(t.actions[1].size()) - 1);
        });
        CHECK(what.find("F1.2: duplicate: the same action is already at device 1 position") != std::string::npos);
    }
    {
        auto t = mp::gpipe(2, 1); // F1.0 moved from device 1 to device 0
        auto& d1 = t.actions[1];
        d1.erase(d1.begin() + static_cast<long>(find(d1, {K::forward, 1, 0})));
        t.actions[0].push_back({K::forward, 1, 0});
        CHECK(rejection(t).find("F1.0: stage 1 is on device 1, not on this one") != std::string::npos);
    }
    {
        auto t = mp::zero_bubble_h1(2, 4); // the last device ends W1.2 W1.3: swap them
        auto& d1 = t.actions[1];
        const auto w2 = find(d1, {K::backward_weight, 1, 2});
        REQUIRE(d1[w2 + 1] == mp::action{K::backward_weight, 1, 3});
        std::swap(d1[w2], d1[w2 + 1]);
        const std::string what = rejection(t);
        CHECK(what.find("W1.3: weight-gradient work of stage 1 out of micro-batch order (micro-batch 2 is due") !=
              std::string::npos);
    }
    {
        auto t = mp::gpipe(2, 3); // BW of micro-batches 0 and 1 swapped on the last device
        auto& d1 = t.actions[1];
        std::swap(d1[find(d1, {K::backward, 1, 0})], d1[find(d1, {K::backward, 1, 1})]);
        CHECK(rejection(t).find("BW1.1: weight-gradient work of stage 1 out of micro-batch order") !=
              std::string::npos);
    }
}

TEST_CASE("validate: order, completeness and shape problems", "[model][schedule]")
{
    using K = action_kind;
    {
        auto t = mp::gpipe(2, 1); // F1.0 before its input is received
        std::swap(t.actions[1][0], t.actions[1][1]);
        CHECK(rejection(t).find("device 1, position 0: F1.0: runs before its input is received (RA1.0 at "
                                "position 1)") != std::string::npos);
    }
    {
        auto t = mp::zero_bubble_h1(1, 2); // W before its B
        auto& d0 = t.actions[0];
        std::swap(d0[find(d0, {K::backward_input, 0, 0})], d0[find(d0, {K::backward_weight, 0, 0})]);
        CHECK(rejection(t).find("W0.0: runs before the B of the same stage and micro-batch") != std::string::npos);
    }
    {
        auto t = mp::one_f_one_b(1, 3); // a backward lost
        auto& d0 = t.actions[0];
        d0.erase(d0.begin() + static_cast<long>(find(d0, {K::backward, 0, 2})));
        const std::string what = rejection(t, [](const mp::invalid_schedule& e) { CHECK(e.position() == 5); });
        CHECK(what.find("missing: no backward") != std::string::npos);
    }
    {
        auto t = mp::one_f_one_b(2, 2); // a peer that is not the other stage's device
        t.actions[0][find(t.actions[0], {K::send_activation, 0, 0, 1})].peer = 0;
        CHECK(rejection(t).find("peer 0 is wrong: stage 1 is on device 1") != std::string::npos);
    }
    {
        auto t = mp::one_f_one_b(2, 2);
        t.stage_device.pop_back();
        const std::string what = rejection(t, [](const mp::invalid_schedule& e) { CHECK(e.device() == -1); });
        CHECK(what.find("stage_device has 1 entries for 2 stages") != std::string::npos);
    }
    {
        auto t = mp::one_f_one_b(2, 2);
        t.actions[0].push_back({K::forward, 0, 7});
        CHECK(rejection(t).find("micro-batch 7 out of range") != std::string::npos);
    }
    {
        auto t = mp::zero_bubble_h1(2, 2); // a BW next to the split B and W
        t.actions[0].push_back({K::backward, 0, 1});
        CHECK(rejection(t).find("both a backward (BW) and a split backward") != std::string::npos);
    }
}
