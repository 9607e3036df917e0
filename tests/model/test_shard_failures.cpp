// The pipeline runtime when things go wrong: an exception in a layer of the first, a middle or the
// last stage, in forward or backward, reaches the caller naming the stage and the micro-batch with
// the original nested, every device stops, nothing leaks, the parameters are unchanged and the plan
// steps again; a stop token cancels a step; budgets: a network that cannot fit is refused before
// anything runs, and the measured peak stays within what the plan predicted.
#include "pipeline_helpers.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace pipeline_test;
using namespace trident::literals;

namespace {

/// make_net() with a trap inserted before layer `at` (0..9).
mp::sequential trapped_net(std::size_t at, const trap& t)
{
    mp::sequential base = make_net();
    std::vector<mp::any_layer> layers(base.begin(), base.end());
    layers.insert(layers.begin() + static_cast<std::ptrdiff_t>(at), mp::any_layer(t));
    return mp::sequential(std::move(layers));
}

std::vector<std::size_t> in_use(const std::vector<trident::device>& devices)
{
    std::vector<std::size_t> v;
    for (const auto& d : devices)
        v.push_back(d.in_use());
    return v;
}

} // namespace

TEST_CASE("an exception in any stage, forward or backward, reaches the caller naming stage and micro-batch",
          "[model][pipeline]")
{
    const batch b = make_batch(16, 11);
    // The trap before layer 0, 3 and 9 lands in the first, a middle and the last of 3 stages
    // (checked below from the plan itself).
    for (std::size_t at : {std::size_t{0}, std::size_t{3}, std::size_t{9}})
        for (bool in_backward : {false, true})
            for (mp::schedule kind : {mp::schedule::gpipe, mp::schedule::one_f_one_b, mp::schedule::zero_bubble_h1}) {
                INFO("trap before layer " << at << (in_backward ? ", backward" : ", forward") << ", schedule "
                                          << static_cast<int>(kind));
                trap t;
                t.in_backward = in_backward;
                t.when = 2;
                mp::sequential net = trapped_net(at, t);
                const auto devices = cpu_devices(3);
                auto plan = mp::shard(net, devices, {.micro_batches = 4, .batch_size = 16, .schedule = kind,
                                                     .costs = mp::costs_from::estimate, .input_features = 8});
                int trap_stage = -1;
                for (std::size_t s = 0; s < plan.stages().size(); ++s)
                    if (plan.stages()[s].first_layer <= static_cast<int>(at) &&
                        static_cast<int>(at) < plan.stages()[s].last_layer)
                        trap_stage = static_cast<int>(s);
                CHECK(trap_stage == (at == 0 ? 0 : at == 9 ? 2 : 1));
                const std::vector<float> before = all_parameters(net);
                const auto booked = in_use(devices);
                bool caught = false;
                try {
                    plan.step(b.xv(), b.yv());
                } catch (const mp::stage_error& e) {
                    caught = true;
                    CHECK(e.stage() == trap_stage);
                    // The trap's calls: forwards and backwards of a stage go in micro-batch order.
                    CHECK(e.micro_batch() == 2);
                    CHECK((e.action() == (in_backward ? mp::action_kind::backward_input : mp::action_kind::forward) ||
                           (in_backward && e.action() == mp::action_kind::backward)));
                    CHECK_THAT(std::string(e.what()), Catch::Contains("stage " + std::to_string(trap_stage)) &&
                                                          Catch::Contains("micro-batch 2") &&
                                                          Catch::Contains("injected"));
                    CHECK_THROWS_WITH(std::rethrow_if_nested(e), "injected");
                }
                CHECK(caught);
                CHECK(all_parameters(net) == before); // the optimizer did not run
                CHECK(in_use(devices) == booked);     // every buffer of the step freed
                CHECK(plan.steps() == 0);
                // The trap fires once: the plan steps again.
                CHECK_NOTHROW(plan.step(b.xv(), b.yv()));
                CHECK(plan.steps() == 1);
                CHECK(in_use(devices) == booked);
            }
}

TEST_CASE("a stop token cancels a step: every device stops, parameters unchanged, nothing booked", "[model][pipeline]")
{
    const batch b = make_batch(16, 12);
    SECTION("a stop requested in the middle of the step (by a layer of the last stage)")
    {
        for (mp::schedule kind : {mp::schedule::gpipe, mp::schedule::one_f_one_b, mp::schedule::zero_bubble_h1}) {
            auto source = std::make_shared<std::stop_source>();
            trap t;
            t.when = 1;
            t.stop = source;
            mp::sequential net = trapped_net(9, t);
            const auto devices = cpu_devices(3);
            auto plan = mp::shard(net, devices, {.micro_batches = 4, .batch_size = 16, .schedule = kind,
                                                 .costs = mp::costs_from::estimate, .input_features = 8});
            const std::vector<float> before = all_parameters(net);
            const auto booked = in_use(devices);
            CHECK_THROWS_AS(plan.step(b.xv(), b.yv(), source->get_token()), mp::step_cancelled);
            CHECK(all_parameters(net) == before);
            CHECK(in_use(devices) == booked);
            CHECK(plan.steps() == 0);
            CHECK_NOTHROW(plan.step(b.xv(), b.yv(), std::stop_source().get_token()));
        }
    }
    SECTION("a token already stopped: nothing runs")
    {
        mp::sequential net = make_net();
        auto plan = mp::shard(net, cpu_devices(2), {.micro_batches = 2, .batch_size = 16, .costs = mp::costs_from::estimate});
        std::stop_source source;
        source.request_stop();
        const std::vector<float> before = all_parameters(net);
        CHECK_THROWS_AS(plan.step(b.xv(), b.yv(), source.get_token()), mp::step_cancelled);
        CHECK(all_parameters(net) == before);
    }
}

TEST_CASE("a network that cannot fit is refused before anything runs, naming layer, device and bytes missing",
          "[model][pipeline]")
{
    // 16 -> 4096 -> 16: about 64 K parameters a dense (256 KiB), with Adam 4x that.
    mp::sequential net{mp::dense(16, 4096, 1), mp::relu(), mp::dense(4096, 16, 2)};
    try {
        (void)mp::shard(net, cpu_devices(2, 512_KiB),
                        {.micro_batches = 2, .batch_size = 8, .optimizer = mp::adam{}, .costs = mp::costs_from::estimate});
        FAIL("shard() accepted a network that does not fit");
    } catch (const trident::out_of_memory& e) {
        const std::string what = e.what();
        CHECK_THAT(what, Catch::Contains("layer") && Catch::Contains("dev") && Catch::Contains("missing"));
    }
    // Four times the budget fits.
    const auto devices = cpu_devices(2, 2_MiB);
    auto plan = mp::shard(net, devices,
                          {.micro_batches = 2, .batch_size = 8, .optimizer = mp::adam{}, .costs = mp::costs_from::estimate});
    for (std::size_t d = 0; d < 2; ++d)
        CHECK(devices[d].in_use() == plan.memory()[d].parameters + plan.memory()[d].gradients + plan.memory()[d].optimizer);
}

TEST_CASE("the measured peak never exceeds the budget nor the plan's bound; recomputation lowers it",
          "[model][pipeline]")
{
    const batch b = make_batch(32, 13);
    std::size_t peak_off = 0, peak_on = 0;
    for (mp::schedule kind : {mp::schedule::gpipe, mp::schedule::one_f_one_b, mp::schedule::interleaved,
                              mp::schedule::zero_bubble_h1})
        for (bool recompute : {false, true}) {
            INFO("schedule " << static_cast<int>(kind) << (recompute ? ", recomputed" : ""));
            mp::sequential net = make_net();
            const auto devices = cpu_devices(2, 1_MiB);
            auto plan = mp::shard(net, devices,
                                  {.micro_batches = 8, .batch_size = 32, .schedule = kind, .optimizer = mp::adam{},
                                   .recomputation = {recompute ? mp::recompute::on : mp::recompute::off},
                                   .costs = mp::costs_from::estimate});
            const mp::step_stats s = plan.step(b.xv(), b.yv());
            for (std::size_t d = 0; d < 2; ++d) {
                INFO("device " << d);
                CHECK(s.peak_bytes[d] <= devices[d].budget());
                CHECK(s.peak_bytes[d] <= plan.memory()[d].total());
            }
            if (kind == mp::schedule::gpipe)
                (recompute ? peak_on : peak_off) = s.peak_bytes[0];
        }
    CHECK(peak_on < peak_off);
}

TEST_CASE("recompute::automatic turns recomputation on only where a device would not fit otherwise", "[model][pipeline]")
{
    const batch b = make_batch(64, 14);
    auto options = [](mp::recompute r) {
        return mp::shard_options{.micro_batches = 8, .batch_size = 64, .schedule = mp::schedule::gpipe,
                                 .recomputation = {r}, .costs = mp::costs_from::estimate};
    };
    // Find the peak without recomputation, then give the devices a little less.
    mp::sequential probe = make_net();
    const auto roomy = cpu_devices(2, 64_MiB);
    auto plan_off = mp::shard(probe, roomy, options(mp::recompute::off));
    std::size_t need = 0;
    for (const auto& m : plan_off.memory())
        need = std::max(need, m.total());
    const auto tight = cpu_devices(2, need - 1);
    mp::sequential net = make_net();
    CHECK_THROWS_AS(mp::shard(net, tight, options(mp::recompute::off)), trident::out_of_memory);
    auto plan = mp::shard(net, tight, options(mp::recompute::automatic));
    bool some = false;
    for (const auto& st : plan.stages())
        some = some || st.recompute;
    CHECK(some);
    const mp::step_stats s = plan.step(b.xv(), b.yv());
    CHECK(s.peak_bytes[0] <= tight[0].budget());
    // Roomy devices: automatic leaves it off.
    mp::sequential other = make_net();
    auto relaxed = mp::shard(other, roomy, options(mp::recompute::automatic));
    for (const auto& st : relaxed.stages())
        CHECK_FALSE(st.recompute);
}

TEST_CASE("bad options are refused before anything runs, naming the value", "[model][pipeline]")
{
    mp::sequential net = make_net();
    const mp::shard_options ok{.micro_batches = 2, .batch_size = 8, .costs = mp::costs_from::estimate};
    // A program without <trident/model/gpu.cuh> (this one: g++ only) has no GPU runtime.
    CHECK_THROWS_AS(mp::shard(net, {trident::cpu_device(1, 64_MiB), trident::gpu_device(0, 64_MiB, "g0")}, ok),
                    std::invalid_argument);
    CHECK_THROWS_WITH(mp::shard(net, {trident::gpu_device(0, 64_MiB, "g0")}, ok),
                      Catch::Contains("'g0' is a GPU device") &&
                          Catch::Contains("include <trident/model/gpu.cuh> in a .cu file of the program"));
    CHECK_THROWS_WITH(mp::shard(net, {}, ok), Catch::Contains("no devices"));
    mp::shard_options o = ok;
    o.recomputation = {mp::recompute::on, mp::recompute::off, mp::recompute::on};
    CHECK_THROWS_WITH(mp::shard(net, cpu_devices(2), o), Catch::Contains("3 entries") && Catch::Contains("2 stages"));
    o = ok;
    o.batch_size = 1;
    CHECK_THROWS_WITH(mp::shard(net, cpu_devices(2), o), Catch::Contains("batch_size (1)"));
    o = ok;
    o.micro_batches = 0;
    CHECK_THROWS_WITH(mp::shard(net, cpu_devices(2), o), Catch::Contains("micro_batches must be at least 1, got 0"));
    o = ok;
    o.schedule = mp::gpipe(3, 2);
    CHECK_THROWS_WITH(mp::shard(net, cpu_devices(2), o), Catch::Contains("for 3 devices, 2 were given"));
    // Per-stage recomputation with the right count runs and marks the stages.
    o = ok;
    o.recomputation = {mp::recompute::on, mp::recompute::off};
    auto plan = mp::shard(net, cpu_devices(2), o);
    CHECK(plan.stages()[0].recompute);
    CHECK_FALSE(plan.stages()[1].recompute);
}
