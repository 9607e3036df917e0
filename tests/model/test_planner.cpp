// The planner (schedule::automatic, plan_candidates): every candidate predicted before anything
// runs; shard() takes the fastest that fits; budgets too small for everything are refused with the
// out_of_memory of the most frugal candidate; the measured timeline lines up with the prediction's.
#include "pipeline_helpers.hpp"

#include <trident/model/planner.hpp>
#include <trident/model/timeline.hpp>
#include <trident/explain/explain.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <string>

using namespace pipeline_test;
using namespace trident::literals;

TEST_CASE("plan_candidates predicts every schedule, micro-batch count and recomputation", "[model][planner]")
{
    mp::sequential net = make_net();
    const auto devices = cpu_devices(2, 64_MiB);
    const mp::shard_options o{.batch_size = 32, .recomputation = {mp::recompute::automatic},
                              .costs = mp::costs_from::estimate};
    const auto cands = mp::plan_candidates(net, devices, o);
    // 4 schedules (interleaved: m even only) x m in 1..32 x recomputation off/on.
    CHECK(cands.size() == (3 * 6 + 5) * 2);
    for (const auto& c : cands) {
        CHECK(c.fits);
        CHECK(c.predicted_seconds > 0);
        if (c.kind == mp::schedule::gpipe || c.kind == mp::schedule::one_f_one_b)
            CHECK(c.bubble == Approx(1.0 / (c.micro_batches + 1)).margin(0.25)); // unequal stages: near (p-1)/(m+p-1)
    }
    // shard() picks the fastest, and the plan's prediction is that candidate's.
    const auto best = std::min_element(cands.begin(), cands.end(), [](const auto& a, const auto& b) {
        return a.predicted_seconds < b.predicted_seconds;
    });
    mp::shard_options oa = o;
    oa.schedule = mp::schedule::automatic;
    auto plan = mp::shard(net, devices, oa);
    CHECK(plan.predicted().step_time == Approx(best->predicted_seconds));
    CHECK(plan.micro_batches() == best->micro_batches);
    CHECK(plan.schedule_name() == best->schedule_name);
    const batch b = make_batch(32, 21);
    CHECK_NOTHROW(plan.step(b.xv(), b.yv()));
}

TEST_CASE("automatic under tight budgets: a schedule that fits, or the out_of_memory of the most frugal",
          "[model][planner]")
{
    mp::sequential net = make_net();
    mp::shard_options o{.micro_batches = 1, .batch_size = 64, .schedule = mp::schedule::automatic,
                        .optimizer = mp::adam{}, .recomputation = {mp::recompute::automatic},
                        .costs = mp::costs_from::estimate};
    // GPipe with 1 micro-batch of 64 rows, no recomputation: what it needs.
    mp::shard_options g = o;
    g.schedule = mp::schedule::gpipe;
    g.recomputation = {mp::recompute::off};
    std::size_t need = 0;
    {
        auto plan = mp::shard(net, cpu_devices(2, 64_MiB), g);
        for (const auto& m : plan.memory())
            need = std::max(need, m.total());
    }
    const auto tight = cpu_devices(2, need * 2 / 3);
    CHECK_THROWS_AS(mp::shard(net, tight, g), trident::out_of_memory);
    auto plan = mp::shard(net, tight, o);
    const batch b = make_batch(64, 22);
    const mp::step_stats s = plan.step(b.xv(), b.yv());
    for (std::size_t d = 0; d < 2; ++d)
        CHECK(s.peak_bytes[d] <= tight[d].budget());
    // Nothing fits 1 KiB: the error names a layer and a device.
    CHECK_THROWS_AS(mp::shard(net, cpu_devices(2, 1_KiB), o), trident::out_of_memory);
}

TEST_CASE("the measured timeline has the predicted timeline's actions, device by device, in order", "[model][planner]")
{
    mp::sequential net = make_net();
    for (mp::schedule kind : {mp::schedule::gpipe, mp::schedule::zero_bubble_h1}) {
        auto plan = mp::shard(net, cpu_devices(3, 64_MiB), {.micro_batches = 6, .batch_size = 24, .schedule = kind});
        const batch b = make_batch(24, 23);
        const mp::step_stats s = plan.step(b.xv(), b.yv());
        for (int d = 0; d < 3; ++d) {
            std::vector<mp::action> measured, predicted;
            for (const auto& t : s.timeline)
                if (t.device == d)
                    measured.push_back(t.act);
            for (const auto& t : plan.predicted().timeline)
                if (t.device == d)
                    predicted.push_back(t.act);
            CHECK(measured == predicted);
            CHECK(measured == plan.schedule().actions[static_cast<std::size_t>(d)]);
        }
    }
}

TEST_CASE("write_timeline_trace: predicted and measured, one row per device, every compute action and receive",
          "[model][planner]")
{
    mp::sequential net = make_net();
    auto plan = mp::shard(net, cpu_devices(2, 64_MiB),
                          {.micro_batches = 2, .batch_size = 8, .costs = mp::costs_from::estimate});
    const batch b = make_batch(8, 24);
    const mp::step_stats s = plan.step(b.xv(), b.yv());
    std::ostringstream os;
    mp::write_timeline_trace(os, plan, s.timeline);
    const std::string json = os.str();
    auto count = [&](const std::string& what) {
        std::size_t n = 0;
        for (auto at = json.find(what); at != std::string::npos; at = json.find(what, at + 1))
            ++n;
        return n;
    };
    std::size_t drawn = 0;
    for (const auto& list : plan.schedule().actions)
        for (const auto& a : list)
            drawn += a.kind != mp::action_kind::send_activation && a.kind != mp::action_kind::send_gradient;
    CHECK(count("\"ph\":\"X\"") == 2 * drawn);
    CHECK(count("\"name\":\"F0.0\"") == 2);
    CHECK(count("\"name\":\"dev1\"") == 2);
    CHECK(json.front() == '{');
    CHECK(json.find("]}") != std::string::npos);
}

TEST_CASE("inside trident::explain, every action is an event of its device's thread", "[model][planner]")
{
    mp::sequential net = make_net();
    auto plan = mp::shard(net, cpu_devices(2, 64_MiB),
                          {.micro_batches = 2, .batch_size = 8, .schedule = mp::schedule::zero_bubble_h1,
                           .costs = mp::costs_from::estimate});
    const batch b = make_batch(8, 25);
    trident::explain_options o;
    o.keep_events = true;
    const trident::explanation e = trident::explain([&] { plan.step(b.xv(), b.yv()); }, o);
    for (std::size_t d = 0; d < 2; ++d)
        for (const mp::action& a : plan.schedule().actions[d]) {
            INFO(mp::to_string(a));
            CHECK(e.count_events(mp::to_string(a)) == 1);
        }
    CHECK(e.seconds_in(trident::event_category::compute) > 0);
}
