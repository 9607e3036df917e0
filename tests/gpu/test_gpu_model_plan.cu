// [gpu] Pipeline plans with GPU devices (model/gpu/runtime.cuh, installed by including
// <trident/model/gpu.cuh>): two budgets on one GPU, and a mixed CPU + GPU plan, train two steps as
// model::reference_trainer does; every built-in schedule (and recomputation) gives the same bits as
// every other on the GPU plan; an exception in a stage and a too-small GPU budget behave as on CPU
// devices (a stage_error naming the stage and micro-batch, nothing left booked; an out_of_memory
// naming the GPU device before anything runs).
//
// Tolerances: the GPU stages run layer_kernels (cuBLAS products, other orders of additions than the
// CPU's; the losses in double), the same network and the same steps as test_gpu_model_training.cu's
// "training steps" case, hence its bound: 1e-5 (1 + |value|) on the mean loss and on each parameter
// after two SGD steps (a wrong formula moves a parameter by about lr * |gradient|, far above it).
// Between schedules on the GPU plan: the same kernels in the same micro-batch order: bitwise.
#include "model_gpu_checks.hpp"

#include <trident/model/gpu.cuh>
#include <trident/model/layers/dense.hpp>
#include <trident/model/layers/gelu.hpp>
#include <trident/model/layers/layer_norm.hpp>
#include <trident/model/layers/relu.hpp>
#include <trident/model/reference.hpp>
#include <trident/model/sequential.hpp>
#include <trident/model/shard.hpp>
#include <trident/model/step_error.hpp>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace {

namespace mp = trident::model;
using namespace trident::literals;
using Catch::Matchers::Contains;

constexpr std::size_t rows = 96, in_features = 65, classes = 10;
constexpr int micro_batches = 4;

mp::sequential net6()
{
    return mp::sequential{mp::dense(in_features, 300, 1), mp::layer_norm(300), mp::gelu(),
                          mp::dense(300, 33, 2),          mp::relu(),         mp::dense(33, classes, 3)};
}

struct batch {
    std::vector<float> x = gpu_checks::random_values(rows * in_features, 5);
    std::vector<float> t;
    batch()
    {
        t = gpu_checks::random_values(rows, 6, 0.0f, static_cast<float>(classes));
        for (float& v : t)
            v = std::fmin(std::floor(v), static_cast<float>(classes - 1));
    }
    [[nodiscard]] trident::matrix_view<const float> xv() const { return {x.data(), rows, in_features}; }
    [[nodiscard]] trident::matrix_view<const float> tv() const { return {t.data(), rows, 1}; }
};

mp::shard_options options(mp::schedule s, mp::optimizer_choice opt)
{
    return {.micro_batches = micro_batches, .batch_size = rows, .schedule = s, .optimizer = opt,
            .loss = mp::softmax_cross_entropy{}, .costs = mp::costs_from::estimate};
}

std::vector<std::vector<float>> parameters_of(mp::sequential& net)
{
    std::vector<std::vector<float>> p;
    for (auto& l : net.layers()) {
        const auto s = l.parameters();
        p.emplace_back(s.begin(), s.end());
    }
    return p;
}

} // namespace

TEST_CASE("gpu plan: two budgets on one GPU, and CPU + GPU, train two steps as reference_trainer does",
          "[gpu][model]")
{
    const batch b;
    const mp::sgd sgd{.learning_rate = 0.1, .momentum = 0.9};
    mp::sequential ref_net = net6();
    mp::reference_trainer trainer(ref_net, trident::cpu_device(1, 256_MiB), mp::softmax_cross_entropy{}, sgd);
    std::vector<double> ref_losses;
    for (int step = 0; step < 2; ++step)
        ref_losses.push_back(trainer.step(b.xv(), b.tv(), micro_batches));
    const auto ref = parameters_of(ref_net);
    mp::sequential fresh = net6();
    const auto initial = parameters_of(fresh);

    const std::vector<std::vector<trident::device>> setups = {
        {trident::gpu_device(0, 256_MiB, "g0"), trident::gpu_device(0, 256_MiB, "g1")},
        {trident::cpu_device(1, 256_MiB, "c0"), trident::gpu_device(0, 256_MiB, "g1")},
        {trident::gpu_device(0, 256_MiB, "g0"), trident::cpu_device(1, 256_MiB, "c1")}};
    for (const auto& devices : setups) {
        CAPTURE(devices[0].name(), devices[1].name());
        mp::sequential net = net6();
        {
            auto plan = mp::shard(net, devices, options(mp::schedule::one_f_one_b, sgd));
            REQUIRE(plan.stages().size() == 2);
            REQUIRE(plan.stages()[0].device == 0);
            REQUIRE(plan.stages()[1].device == 1);
            for (const auto& d : devices) // a GPU device books its layers' parameters, gradients and state at shard()
                REQUIRE(d.in_use() > 0);
            for (std::size_t step = 0; step < 2; ++step) {
                const mp::step_stats s = plan.step(b.xv(), b.tv());
                REQUIRE(std::fabs(s.loss - ref_losses[step]) <= 1e-5 * (1.0 + std::fabs(ref_losses[step])));
                for (std::size_t d = 0; d < devices.size(); ++d)
                    REQUIRE(s.peak_bytes[d] <= devices[d].budget());
            }
        }
        for (const auto& d : devices) // the plan gone: nothing left booked
            REQUIRE(d.in_use() == 0);
        const auto got = parameters_of(net);
        for (std::size_t i = 0; i < got.size(); ++i) {
            CAPTURE(i, net.layers()[i].name());
            REQUIRE(got[i].size() == ref[i].size());
            GPU_CHECKS_REQUIRE_CLOSE(gpu_checks::compare(got[i], ref[i], 1, ref[i].size(), ref[i].size(),
                                                         [&](std::size_t j) { return 1e-5 * (1.0 + std::fabs(ref[i][j])); }));
        }
        // The steps moved the first layer's weights (so that the comparison says something).
        REQUIRE_FALSE(gpu_checks::bitwise_equal(got[0], initial[0], 1, got[0].size(), got[0].size()));
    }
}

TEST_CASE("gpu plan: every built-in schedule, with and without recomputation, gives the same bits", "[gpu][model]")
{
    const batch b;
    const mp::adam adam{.learning_rate = 1e-2};
    std::vector<std::vector<float>> first;
    std::vector<double> first_losses;
    struct variant {
        mp::schedule s;
        mp::recompute r;
    };
    for (const variant v : {variant{mp::schedule::gpipe, mp::recompute::off}, variant{mp::schedule::one_f_one_b, mp::recompute::off},
                            variant{mp::schedule::interleaved, mp::recompute::off},
                            variant{mp::schedule::zero_bubble_h1, mp::recompute::off},
                            variant{mp::schedule::one_f_one_b, mp::recompute::on}}) {
        CAPTURE(static_cast<int>(v.s), static_cast<int>(v.r));
        mp::sequential net = net6();
        mp::shard_options o = options(v.s, adam);
        o.recomputation = {v.r};
        auto plan = mp::shard(net, {trident::gpu_device(0, 256_MiB, "g0"), trident::gpu_device(0, 256_MiB, "g1")}, o);
        std::vector<double> losses;
        for (int step = 0; step < 2; ++step)
            losses.push_back(plan.step(b.xv(), b.tv()).loss);
        const auto got = parameters_of(net);
        if (first.empty()) {
            first = got;
            first_losses = losses;
            mp::sequential fresh = net6();
            REQUIRE_FALSE(gpu_checks::bitwise_equal(got[0], parameters_of(fresh)[0], 1, got[0].size(), got[0].size()));
            continue;
        }
        REQUIRE(std::memcmp(losses.data(), first_losses.data(), losses.size() * sizeof(double)) == 0);
        for (std::size_t i = 0; i < got.size(); ++i) {
            CAPTURE(i);
            REQUIRE(gpu_checks::bitwise_equal(got[i], first[i], 1, got[i].size(), got[i].size()));
        }
    }
}

TEST_CASE("gpu plan: an exception in a stage and a too-small GPU budget behave as on CPU devices", "[gpu][model]")
{
    SECTION("a bad target in micro-batch 2: a stage_error naming the last stage; nothing leaks; the plan steps again")
    {
        batch b;
        const trident::device g0 = trident::gpu_device(0, 256_MiB, "g0"), g1 = trident::gpu_device(0, 256_MiB, "g1");
        mp::sequential net = net6();
        auto plan = mp::shard(net, {g0, g1}, options(mp::schedule::one_f_one_b, mp::sgd{.learning_rate = 0.1}));
        const std::size_t booked0 = g0.in_use(), booked1 = g1.in_use();
        const auto before = parameters_of(net);
        const float good = b.t[50];
        b.t[50] = 99.0f; // row 50: micro-batch 2 of 4 (24 rows each)
        try {
            (void)plan.step(b.xv(), b.tv());
            FAIL("the step ran with a target of 99 among 10 classes");
        } catch (const mp::stage_error& e) {
            CHECK(e.stage() == 1);
            CHECK(e.micro_batch() == 2);
            CHECK_THAT(e.what(), Contains("g1") && Contains("not a class index"));
        }
        REQUIRE(g0.in_use() == booked0);
        REQUIRE(g1.in_use() == booked1);
        const auto after = parameters_of(net); // no update after a failed step
        for (std::size_t i = 0; i < after.size(); ++i)
            REQUIRE(gpu_checks::bitwise_equal(after[i], before[i], 1, after[i].size(), after[i].size()));
        b.t[50] = good;
        const mp::step_stats s = plan.step(b.xv(), b.tv());
        REQUIRE(std::isfinite(s.loss));
        REQUIRE(g0.in_use() == booked0);
        REQUIRE(g1.in_use() == booked1);
    }
    SECTION("a GPU budget too small: out_of_memory naming the GPU device, before anything runs")
    {
        const trident::device c0 = trident::cpu_device(1, 256_MiB, "c0"), tiny = trident::gpu_device(0, 1_KiB, "tiny-gpu");
        mp::sequential net = net6();
        REQUIRE_THROWS_AS(mp::shard(net, {c0, tiny}, options(mp::schedule::gpipe, mp::sgd{})), trident::out_of_memory);
        REQUIRE_THROWS_WITH(mp::shard(net, {c0, tiny}, options(mp::schedule::gpipe, mp::sgd{})), Contains("tiny-gpu"));
        REQUIRE(c0.in_use() == 0);
        REQUIRE(tiny.in_use() == 0);
    }
}
