// The pipeline runtime (shard, pipeline_plan::step): bitwise equality of every built-in schedule
// with the unsharded network, for 1..4 devices, 1..8 micro-batches, both optimizers, with and
// without recomputation; a user's schedule; the step's statistics and timeline.
#include "pipeline_helpers.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

using namespace pipeline_test;
using namespace trident::literals;

namespace {

const char* schedule_name(mp::schedule s)
{
    switch (s) {
    case mp::schedule::gpipe: return "gpipe";
    case mp::schedule::one_f_one_b: return "1f1b";
    case mp::schedule::interleaved: return "interleaved";
    case mp::schedule::zero_bubble_h1: return "zb-h1";
    case mp::schedule::automatic: return "automatic";
    }
    return "?";
}

} // namespace

TEST_CASE("every schedule gives bitwise the parameters of the unsharded network", "[model][pipeline]")
{
    const std::size_t batch_rows = 16;
    const batch b0 = make_batch(batch_rows, 1), b1 = make_batch(batch_rows, 2);
    for (int opt_kind = 0; opt_kind < 2; ++opt_kind) {
        const mp::optimizer_choice opt = opt_kind == 0 ? mp::optimizer_choice(mp::sgd{.learning_rate = 0.1f, .momentum = 0.9f})
                                                       : mp::optimizer_choice(mp::adam{.learning_rate = 0.01f});
        for (int m : {1, 2, 4, 8}) {
            // The reference: two steps of the whole network, same micro-batches.
            mp::sequential ref = make_net();
            const double ref_loss0 = reference_steps(ref, {&b0, &b1}, m, opt).front();
            for (int p = 1; p <= 4; ++p)
                for (mp::schedule kind : {mp::schedule::gpipe, mp::schedule::one_f_one_b, mp::schedule::interleaved,
                                          mp::schedule::zero_bubble_h1})
                    for (bool recompute : {false, true}) {
                        if (kind == mp::schedule::interleaved && m % p != 0)
                            continue; // interleaving needs m a multiple of p
                        INFO("optimizer " << opt_kind << ", m " << m << ", p " << p << ", " << schedule_name(kind)
                                          << (recompute ? ", recomputed" : ""));
                        mp::sequential net = make_net();
                        auto plan = mp::shard(net, cpu_devices(p),
                                              {.micro_batches = m, .batch_size = batch_rows, .schedule = kind,
                                               .optimizer = opt,
                                               .recomputation = {recompute ? mp::recompute::on : mp::recompute::off},
                                               .costs = mp::costs_from::estimate});
                        const mp::step_stats s0 = plan.step(b0.xv(), b0.yv());
                        plan.step(b1.xv(), b1.yv());
                        CHECK(s0.loss == ref_loss0);
                        CHECK(same_parameters(net, ref));
                    }
        }
    }
}

TEST_CASE("the parameters change, and a schedule that loses a micro-batch's gradient would be seen", "[model][pipeline]")
{
    // The equality above is not vacuous: one step changes the parameters, and a step on other data
    // (or with another micro-batch count, hence another summation order) gives other bits.
    const batch b = make_batch(16, 3);
    mp::sequential net = make_net(), untouched = make_net();
    auto plan = mp::shard(net, cpu_devices(2), {.micro_batches = 4, .batch_size = 16, .costs = mp::costs_from::estimate});
    plan.step(b.xv(), b.yv());
    CHECK_FALSE(same_parameters(net, untouched));

    mp::sequential other = make_net();
    const batch b4 = make_batch(16, 4);
    reference_steps(other, {&b4}, 4, mp::sgd{});
    CHECK_FALSE(same_parameters(net, other));
}

TEST_CASE("a user's schedule_table runs, and a broken one is refused before anything runs", "[model][pipeline]")
{
    const batch b = make_batch(8, 5);
    mp::sequential net = make_net(), ref = make_net();
    mp::schedule_table table = mp::gpipe(2, 2);
    auto plan = mp::shard(net, cpu_devices(2),
                          {.micro_batches = 2, .batch_size = 8, .schedule = table, .costs = mp::costs_from::estimate});
    plan.step(b.xv(), b.yv());
    reference_steps(ref, {&b}, 2, mp::sgd{});
    CHECK(same_parameters(net, ref));

    mp::schedule_table broken = table;
    broken.actions[1].erase(broken.actions[1].begin()); // device 1 loses its first receive
    mp::sequential other = make_net();
    CHECK_THROWS_AS(mp::shard(other, cpu_devices(2), {.micro_batches = 2, .batch_size = 8, .schedule = broken}),
                    mp::invalid_schedule);
}

TEST_CASE("step statistics: loss, busy time, bubble, timeline of every action", "[model][pipeline]")
{
    const batch b = make_batch(16, 6);
    mp::sequential net = make_net();
    auto plan = mp::shard(net, cpu_devices(2), {.micro_batches = 4, .batch_size = 16});
    const mp::step_stats s = plan.step(b.xv(), b.yv());
    CHECK(s.loss > 0);
    CHECK(s.seconds > 0);
    CHECK(s.actions_seconds > 0);
    CHECK(s.actions_seconds <= s.seconds);
    REQUIRE(s.busy_seconds.size() == 2);
    CHECK(s.bubble >= 0);
    CHECK(s.bubble < 1);
    std::size_t actions = 0;
    for (const auto& list : plan.schedule().actions)
        actions += list.size();
    CHECK(s.timeline.size() == actions);
    for (const mp::timed_action& t : s.timeline) {
        CHECK(t.start <= t.end);
        CHECK(t.end <= s.seconds);
    }
    CHECK(plan.steps() == 1);
}

TEST_CASE("step input is checked: at least one row per micro-batch, y as many rows, x as wide as the network",
          "[model][pipeline]")
{
    mp::sequential net = make_net();
    auto plan = mp::shard(net, cpu_devices(2), {.micro_batches = 4, .batch_size = 16, .costs = mp::costs_from::estimate});
    const batch tiny = make_batch(3, 7);
    CHECK_THROWS_WITH(plan.step(tiny.xv(), tiny.yv()), Catch::Contains("3 rows") && Catch::Contains("4 micro-batches"));
    const batch ok = make_batch(16, 7);
    CHECK_THROWS_WITH(plan.step(ok.xv(), ok.yv().row_block(0, 12)), Catch::Contains("y has 12 rows"));
    CHECK_THROWS_AS(plan.step(trident::matrix_view<const float>(ok.x.data(), 16, 4), ok.yv()), std::invalid_argument);
    CHECK_THROWS_WITH(plan.step(ok.xv(), trident::matrix_view<const float>(ok.y.data(), 8, 2)),
                      Catch::Contains("y has 8 rows"));
    CHECK(plan.steps() == 0);
}

TEST_CASE("a batch that does not divide into the micro-batches: the first rows % m get one row more, as the reference",
          "[model][pipeline]")
{
    const batch b = make_batch(14, 8); // 4 micro-batches of 4, 4, 3, 3 rows
    for (mp::schedule kind : {mp::schedule::one_f_one_b, mp::schedule::zero_bubble_h1}) {
        mp::sequential net = make_net(), ref = make_net();
        auto plan = mp::shard(net, cpu_devices(3), {.micro_batches = 4, .batch_size = 14, .schedule = kind,
                                                    .costs = mp::costs_from::estimate});
        const mp::step_stats s = plan.step(b.xv(), b.yv());
        CHECK(s.loss == reference_steps(ref, {&b}, 4, mp::sgd{}).front());
        CHECK(same_parameters(net, ref));
    }
}

TEST_CASE("the plan prints its stages, bytes per device and prediction", "[model][pipeline]")
{
    mp::sequential net = make_net();
    auto plan = mp::shard(net, cpu_devices(2), {.micro_batches = 4, .batch_size = 16, .optimizer = mp::adam{}});
    std::ostringstream os;
    os << plan;
    const std::string text = os.str();
    CHECK_THAT(text, Catch::Contains("stage 0 on dev0") && Catch::Contains("stage 1 on dev1") &&
                         Catch::Contains("dense(8 -> 16)") && Catch::Contains("predicted step") &&
                         Catch::Contains("bubble"));
    REQUIRE(plan.stages().size() == 2);
    CHECK(plan.stages()[0].first_layer == 0);
    CHECK(plan.stages()[0].last_layer == plan.stages()[1].first_layer);
    CHECK(plan.stages()[1].last_layer == 9);
    // Adam keeps two floats per parameter.
    for (const auto& st : plan.stages())
        CHECK(st.optimizer_bytes == 2 * st.parameter_bytes);
}

namespace {
// y = w x with one parameter and an unsplit backward: its weight gradient is added in B.
struct scale_layer {
    std::vector<float> w{1.5f}, g{0.0f};
    std::size_t output_features(std::size_t in) const { return in; }
    std::size_t saved_floats(std::size_t, std::size_t) const { return 0; }
    void forward(trident::matrix_view<const float> x, trident::matrix_view<float> y, std::span<float>)
    {
        for (std::size_t r = 0; r < x.rows(); ++r)
            for (std::size_t c = 0; c < x.cols(); ++c)
                y(r, c) = w[0] * x(r, c);
    }
    void backward(trident::matrix_view<const float> x, trident::matrix_view<const float>, std::span<const float>,
                  trident::matrix_view<const float> dy, trident::matrix_view<float> dx)
    {
        for (std::size_t r = 0; r < x.rows(); ++r)
            for (std::size_t c = 0; c < x.cols(); ++c) {
                g[0] += dy(r, c) * x(r, c);
                dx(r, c) = w[0] * dy(r, c);
            }
    }
    std::span<float> parameters() { return w; }
    std::span<float> gradients() { return g; }
    std::string name() const { return "scale"; }
    double flops(std::size_t rows, std::size_t in) const { return double(rows) * double(in); }
};
} // namespace

TEST_CASE("a schedule whose B actions leave micro-batch order is refused for a stage with an unsplit weighted layer",
          "[model][pipeline]")
{
    // One device: F0 F1 B1 B0 W0 W1 is a valid schedule (W in order), but scale_layer adds its
    // weight gradient in B, which would then add micro-batch 1 before 0.
    mp::schedule_table t{1, 1, 2, {0}, {{{mp::action_kind::forward, 0, 0}, {mp::action_kind::forward, 0, 1},
                                        {mp::action_kind::backward_input, 0, 1}, {mp::action_kind::backward_input, 0, 0},
                                        {mp::action_kind::backward_weight, 0, 0}, {mp::action_kind::backward_weight, 0, 1}}}};
    mp::validate(t);
    mp::sequential with_scale{mp::dense(8, 4, 1), scale_layer{}};
    CHECK_THROWS_WITH(mp::shard(with_scale, cpu_devices(1), {.micro_batches = 2, .batch_size = 8, .schedule = t,
                                                             .costs = mp::costs_from::estimate}),
                      Catch::Contains("out of micro-batch order"));
    // Without the unsplit layer the same schedule runs, and equals the reference.
    mp::sequential net = make_net(), ref = make_net();
    auto plan = mp::shard(net, cpu_devices(1), {.micro_batches = 2, .batch_size = 8, .schedule = t,
                                                .costs = mp::costs_from::estimate});
    const batch b = make_batch(8, 9);
    plan.step(b.xv(), b.yv());
    reference_steps(ref, {&b}, 2, mp::sgd{});
    CHECK(same_parameters(net, ref));
}
