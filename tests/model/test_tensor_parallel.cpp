// Tensor-parallel layers against the unsplit ones: column_parallel_dense and row_parallel_dense
// against dense, tensor_parallel_mlp against dense, gelu, dense; forward, input gradient and the
// re-assembled weight gradients, for K = 1..4 shards, even and uneven splits; determinism, memory
// booked on the shard devices, errors (splits, devices, shapes, out of memory inside a shard).

#include <trident/model/any_layer.hpp>
#include <trident/model/layers/dense.hpp>
#include <trident/model/layers/relu.hpp>
#include <trident/model/loss.hpp>
#include <trident/model/optimizer.hpp>
#include <trident/model/reference.hpp>
#include <trident/model/sequential.hpp>
#include <trident/model/shard.hpp>
#include <trident/model/tensor_parallel.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace mp = trident::model;
using trident::matrix_view;
using namespace trident::literals;

namespace {

constexpr std::size_t default_budget = 64_MiB; // not in the default argument: clang rejects a consteval call there

std::vector<trident::device> cpu_devices(std::size_t k, std::size_t budget = default_budget)
{
    std::vector<trident::device> d;
    for (std::size_t s = 0; s < k; ++s)
        d.push_back(trident::cpu_device(1, budget, "shard" + std::to_string(s)));
    return d;
}

struct matrix {
    std::vector<float> data;
    std::size_t rows, cols;
    matrix(std::size_t r, std::size_t c, float fill = 0.0f) : data(r * c, fill), rows(r), cols(c) {}
    matrix_view<float> view() { return {data.data(), rows, cols}; }
    matrix_view<const float> cview() const { return {data.data(), rows, cols}; }
};

matrix random_matrix(std::size_t rows, std::size_t cols, std::uint32_t seed)
{
    matrix m(rows, cols);
    std::uint32_t x = seed * 2654435761u + 1;
    for (float& v : m.data) {
        x = x * 1664525u + 1013904223u;
        v = static_cast<float>(x >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
    return m;
}

// Largest |a - b| relative to the largest |b| (at least 1).
double relative_error(std::span<const float> a, std::span<const float> b)
{
    REQUIRE(a.size() == b.size());
    double worst = 0, scale = 1;
    for (std::size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return worst / scale;
}

constexpr double tolerance = 1e-5;

// Runs forward, backward_input and backward_weight (twice, to check the accumulation) of a split
// dense layer L and of the unsplit dense, and compares.
template <class L>
void check_against_dense(std::size_t in, std::size_t out, std::size_t k, std::size_t rows)
{
    INFO("in " << in << ", out " << out << ", K " << k << ", rows " << rows);
    mp::dense full(in, out, /*seed*/ 7);
    L split(full, cpu_devices(k));
    CHECK(split.shards() == k);
    const matrix x = random_matrix(rows, in, 1), dy = random_matrix(rows, out, 2);

    matrix y_ref(rows, out), y(rows, out, -9.0f);
    full.forward(x.cview(), y_ref.view(), {});
    split.forward(x.cview(), y.view(), {});
    CHECK(relative_error(y.data, y_ref.data) < tolerance);

    matrix dx_ref(rows, in), dx(rows, in, -9.0f);
    full.backward_input(x.cview(), y_ref.cview(), {}, dy.cview(), dx_ref.view());
    split.backward_input(x.cview(), y.cview(), {}, dy.cview(), dx.view());
    CHECK(relative_error(dx.data, dx_ref.data) < tolerance);

    for (int step = 0; step < 2; ++step) {
        full.backward_weight(x.cview(), y_ref.cview(), {}, dy.cview());
        split.backward_weight(x.cview(), y.cview(), {}, dy.cview());
    }
    mp::dense back = split.to_dense();
    CHECK(relative_error(back.gradients(), full.gradients()) < tolerance);
    CHECK(relative_error(back.parameters(), full.parameters()) == 0.0);

    // Determinism: the same call again gives the same bits.
    matrix y2(rows, out);
    split.forward(x.cview(), y2.view(), {});
    CHECK(std::memcmp(y.data.data(), y2.data.data(), y.data.size() * sizeof(float)) == 0);
}

} // namespace

static_assert(mp::check_layer<mp::column_parallel_dense>());
static_assert(mp::check_layer<mp::row_parallel_dense>());
static_assert(mp::check_layer<mp::tensor_parallel_mlp>());

TEST_CASE("column_parallel_dense equals dense: forward, input and weight gradients", "[model][tensor_parallel]")
{
    for (std::size_t k = 1; k <= 4; ++k) {
        check_against_dense<mp::column_parallel_dense>(9, 12, k, 5); // 12 outputs: even for 1, 2, 3, 4
        check_against_dense<mp::column_parallel_dense>(6, 7, k, 3);  // 7 outputs: uneven for 2, 3, 4
        check_against_dense<mp::column_parallel_dense>(33, 65, k, 17);
    }
}

TEST_CASE("row_parallel_dense equals dense: forward, input and weight gradients", "[model][tensor_parallel]")
{
    for (std::size_t k = 1; k <= 4; ++k) {
        check_against_dense<mp::row_parallel_dense>(12, 9, k, 5);
        check_against_dense<mp::row_parallel_dense>(7, 6, k, 3);
        check_against_dense<mp::row_parallel_dense>(65, 33, k, 17);
    }
}

TEST_CASE("tensor_parallel_mlp equals dense, gelu, dense", "[model][tensor_parallel]")
{
    const std::size_t shapes[][4] = {{8, 16, 8, 5}, {5, 7, 3, 4}, {24, 61, 10, 13}}; // in, hidden, out, rows
    for (const auto& shape : shapes) {
        const std::size_t in = shape[0], hidden = shape[1], out = shape[2], rows = shape[3];
        for (std::size_t k = 1; k <= 4; ++k) {
            INFO("in " << in << ", hidden " << hidden << ", out " << out << ", K " << k);
            mp::dense d1(in, hidden, 3), d2(hidden, out, 4);
            mp::tensor_parallel_mlp mlp(d1, d2, cpu_devices(k));
            const matrix x = random_matrix(rows, in, 5), dy = random_matrix(rows, out, 6);

            matrix z(rows, hidden), a(rows, hidden), y_ref(rows, out);
            d1.forward(x.cview(), z.view(), {});
            mp::gelu{}.forward(z.cview(), a.view(), {});
            d2.forward(a.cview(), y_ref.view(), {});
            std::vector<float> saved(mlp.saved_floats(rows, in));
            matrix y(rows, out, -9.0f);
            mlp.forward(x.cview(), y.view(), saved);
            CHECK(relative_error(y.data, y_ref.data) < tolerance);

            matrix da(rows, hidden), dz(rows, hidden), dx_ref(rows, in), dx(rows, in, -9.0f);
            d2.backward_input(a.cview(), y_ref.cview(), {}, dy.cview(), da.view());
            mp::gelu{}.backward(z.cview(), a.cview(), {}, da.cview(), dz.view());
            d1.backward_input(x.cview(), z.cview(), {}, dz.cview(), dx_ref.view());
            mlp.backward_input(x.cview(), y.cview(), saved, dy.cview(), dx.view());
            CHECK(relative_error(dx.data, dx_ref.data) < tolerance);

            for (int step = 0; step < 2; ++step) {
                d2.backward_weight(a.cview(), y_ref.cview(), {}, dy.cview());
                d1.backward_weight(x.cview(), z.cview(), {}, dz.cview());
                mlp.backward_weight(x.cview(), y.cview(), saved, dy.cview());
            }
            auto [b1, b2] = mlp.to_dense();
            CHECK(relative_error(b1.gradients(), d1.gradients()) < tolerance);
            CHECK(relative_error(b2.gradients(), d2.gradients()) < tolerance);
            CHECK(relative_error(b1.parameters(), d1.parameters()) == 0.0);
            CHECK(relative_error(b2.parameters(), d2.parameters()) == 0.0);
        }
    }
}

TEST_CASE("the seeded constructors split the same parameters as dense with those seeds", "[model][tensor_parallel]")
{
    CHECK(relative_error(mp::column_parallel_dense(5, 7, cpu_devices(3), 11).to_dense().parameters(),
                         mp::dense(5, 7, 11).parameters()) == 0.0);
    CHECK(relative_error(mp::row_parallel_dense(7, 5, cpu_devices(2), 11).to_dense().parameters(),
                         mp::dense(7, 5, 11).parameters()) == 0.0);
    auto [a, b] = mp::tensor_parallel_mlp(4, 9, 3, cpu_devices(2), 11).to_dense();
    CHECK(relative_error(a.parameters(), mp::dense(4, 9, 11).parameters()) == 0.0);
    CHECK(relative_error(b.parameters(), mp::dense(9, 3, 12).parameters()) == 0.0);
}

TEST_CASE("a tensor-parallel layer works through any_layer and copies book their own memory", "[model][tensor_parallel]")
{
    auto devices = cpu_devices(2);
    mp::any_layer l = mp::tensor_parallel_mlp(4, 6, 3, devices, 1);
    CHECK(l.name() == "tensor_parallel_mlp(4 -> 6 -> 3, 2 shards)");
    CHECK(l.splits_backward());
    // Shard 0: 3 hidden x (4 + 1 + 3) + b2 (3) = 27 floats, shard 1: 24; parameters and gradients.
    CHECK(l.parameters().size() == 51);
    CHECK(devices[0].in_use() == 2 * 27 * sizeof(float));
    CHECK(devices[1].in_use() == 2 * 24 * sizeof(float));
    {
        mp::any_layer copy = l;
        CHECK(devices[0].in_use() == 4 * 27 * sizeof(float));
    }
    CHECK(devices[0].in_use() == 2 * 27 * sizeof(float));

    const matrix x = random_matrix(5, 4, 9);
    matrix y(5, 3);
    std::vector<float> saved(l.saved_floats(5, 4));
    devices[0].reset_peak();
    l.forward(x.cview(), y.view(), saved);
    // The call's buffers were booked on the shard's device (gelu output 5 x 3, partial output 5 x 3).
    CHECK(devices[0].peak() >= devices[0].in_use() + 2 * 5 * 3 * sizeof(float));
    CHECK(devices[0].in_use() == 2 * 27 * sizeof(float));
}

TEST_CASE("tensor-parallel layers in a sequential train as the unsplit net does", "[model][tensor_parallel]")
{
    // net: tensor_parallel_mlp(6 -> 10 -> 5), relu, column_parallel_dense(5 -> 7), row_parallel_dense(7 -> 4);
    // reference: dense(6 -> 10), gelu, dense(10 -> 5), relu, dense(5 -> 7), dense(7 -> 4), same seeds.
    for (std::size_t k : {1u, 2u, 3u}) {
        INFO("K " << k);
        const auto shards = cpu_devices(k);
        mp::sequential net{mp::tensor_parallel_mlp(6, 10, 5, shards, 1), mp::relu(),
                           mp::column_parallel_dense(5, 7, shards, 3), mp::row_parallel_dense(7, 4, shards, 4)};
        mp::sequential ref{mp::dense(6, 10, 1), mp::gelu(), mp::dense(10, 5, 2), mp::relu(), mp::dense(5, 7, 3),
                           mp::dense(7, 4, 4)};
        const matrix x = random_matrix(6, 6, 11), targets = random_matrix(6, 4, 12);
        const mp::sgd opt{.learning_rate = 0.1, .momentum = 0.9};
        mp::reference_trainer trainer(net, trident::cpu_device(1, 16_MiB), mp::mean_squared_error{}, opt);
        mp::reference_trainer ref_trainer(ref, trident::cpu_device(1, 16_MiB), mp::mean_squared_error{}, opt);
        for (int step = 0; step < 3; ++step) {
            const double loss = trainer.step(x.cview(), targets.cview(), 2);
            const double ref_loss = ref_trainer.step(x.cview(), targets.cview(), 2);
            CHECK(std::abs(loss - ref_loss) <= 1e-5 * std::abs(ref_loss));
        }
        auto [d1, d2] = net[0].target<mp::tensor_parallel_mlp>()->to_dense();
        CHECK(relative_error(d1.parameters(), ref[0].parameters()) < 1e-5);
        CHECK(relative_error(d2.parameters(), ref[2].parameters()) < 1e-5);
        CHECK(relative_error(net[2].target<mp::column_parallel_dense>()->to_dense().parameters(), ref[4].parameters()) < 1e-5);
        CHECK(relative_error(net[3].target<mp::row_parallel_dense>()->to_dense().parameters(), ref[5].parameters()) < 1e-5);
    }
}

TEST_CASE("a tensor-parallel layer is booked on its shard devices only, in a trainer and in a plan",
          "[model][tensor_parallel]")
{
    // tensor_parallel_mlp(4 -> 6 -> 3) over 2 shards: shard 0 holds 27 floats, shard 1 24; dense(3 -> 2): 8.
    constexpr std::size_t float_bytes = sizeof(float);
    const auto shards = cpu_devices(2);
    mp::sequential net{mp::tensor_parallel_mlp(4, 6, 3, shards, 1), mp::dense(3, 2, 5)};
    REQUIRE(net[0].parameter_placement().size() == 2);
    CHECK(net[0].parameter_placement()[1].floats == 24);
    CHECK(net[1].parameter_placement().empty());
    const std::size_t shard0 = shards[0].in_use(), shard1 = shards[1].in_use(); // parameters and gradients
    CHECK(shard0 == 2 * 27 * float_bytes);
    {
        trident::device stage = trident::cpu_device(1, 16_MiB, "stage");
        mp::reference_trainer trainer(net, stage, mp::mean_squared_error{}, mp::adam{});
        // The stage holds dense's parameters, gradients and Adam state (2x); each shard its Adam state.
        CHECK(stage.in_use() == 4 * 8 * float_bytes);
        CHECK(shards[0].in_use() == shard0 + 2 * 27 * float_bytes);
        CHECK(shards[1].in_use() == shard1 + 2 * 24 * float_bytes);
        CHECK(trainer.state(0, 1).size() == 2 * 24);
        CHECK(trainer.state(1).size() == 2 * 8);
        const matrix x = random_matrix(4, 4, 3), y = random_matrix(4, 2, 4);
        trainer.step(x.cview(), y.cview(), 2);
    }
    CHECK(shards[0].in_use() == shard0);

    // The same in a pipeline plan; its steps give bitwise the parameters of the reference trainer.
    mp::sequential ref = net; // a copy: its shards book again
    std::vector<trident::device> stages = {trident::cpu_device(1, 16_MiB, "s0"), trident::cpu_device(1, 16_MiB, "s1")};
    auto plan = mp::shard(net, stages, {.micro_batches = 2, .batch_size = 4, .schedule = mp::schedule::one_f_one_b,
                                        .optimizer = mp::adam{}, .loss = mp::mean_squared_error{},
                                        .costs = mp::costs_from::estimate});
    CHECK(stages[0].in_use() == 0); // the mlp's stage: nothing of it there
    CHECK(plan.memory()[0].parameters == 0);
    CHECK(stages[1].in_use() == 4 * 8 * float_bytes);
    CHECK(shards[0].in_use() == 2 * shard0 + 2 * 27 * float_bytes); // net's and ref's layers, the plan's state
    mp::reference_trainer ref_trainer(ref, trident::cpu_device(1, 16_MiB), mp::mean_squared_error{}, mp::adam{});
    for (int step = 0; step < 2; ++step) {
        const matrix x = random_matrix(4, 4, 10 + step), y = random_matrix(4, 2, 20 + step);
        plan.step(x.cview(), y.cview());
        ref_trainer.step(x.cview(), y.cview(), 2);
    }
    for (std::size_t j = 0; j < net.size(); ++j) {
        auto a = net[j].parameters(), b = ref[j].parameters();
        CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("tensor-parallel errors name what is wrong and never hang", "[model][tensor_parallel][errors]")
{
    CHECK_THROWS_WITH(mp::column_parallel_dense(4, 3, cpu_devices(4)),
                      Catch::Contains("cannot split 3 output features over 4 shards"));
    CHECK_THROWS_WITH(mp::row_parallel_dense(2, 5, cpu_devices(3)),
                      Catch::Contains("cannot split 2 input features over 3 shards"));
    CHECK_THROWS_WITH(mp::tensor_parallel_mlp(4, 2, 4, cpu_devices(3)),
                      Catch::Contains("cannot split 2 hidden features over 3 shards"));
    CHECK_THROWS_WITH(mp::column_parallel_dense(4, 3, {}), Catch::Contains("needs at least one device"));
    CHECK_THROWS_WITH(mp::row_parallel_dense(4, 3, {trident::cpu_device(1, 1_MiB), trident::gpu_device(0, 1_MiB, "g0")}),
                      Catch::Contains("shard device 'g0' is a GPU device"));
    CHECK_THROWS_WITH(mp::tensor_parallel_mlp(mp::dense(3, 4), mp::dense(5, 2), cpu_devices(1)),
                      Catch::Contains("the first dense has 4 outputs but the second takes 5 inputs"));

    mp::column_parallel_dense col(4, 6, cpu_devices(2));
    matrix x(3, 5), y(3, 6);
    CHECK_THROWS_WITH(col.forward(x.cview(), y.view(), {}), Catch::Contains("takes 4 input features, got 5"));

    // Parameters that do not fit a shard's budget: out_of_memory naming the device.
    CHECK_THROWS_AS(mp::column_parallel_dense(100, 100, cpu_devices(2, 1_KiB)), trident::out_of_memory);
    // A call's buffer that does not fit on shard 1 only: out_of_memory reaches the caller, shard 0
    // (waiting in the all_reduce) is released, nothing hangs.
    mp::row_parallel_dense row(8, 8, cpu_devices(2));
    const std::size_t rows = 64; // shard 1: 4 x 8 weights and gradients fit, a 64 x 8 partial output does not
    mp::row_parallel_dense small(8, 8, {trident::cpu_device(1, 1_MiB), trident::cpu_device(1, 2 * 32 * sizeof(float) + 64, "tight1")});
    matrix xin(rows, 8), out(rows, 8);
    try {
        small.forward(xin.cview(), out.view(), {});
        FAIL("no out_of_memory");
    } catch (const trident::out_of_memory& e) {
        CHECK(e.device() == "tight1");
        CHECK_THAT(e.allocation(), Catch::Contains("shard 1 partial output"));
    }
    row.forward(xin.cview(), out.view(), {}); // the other layer still works
}
