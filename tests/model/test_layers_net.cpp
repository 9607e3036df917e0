// sequential (construction, width checks, copies) and the single-device reference: forward,
// accumulate_gradients (against finite differences of the whole net's mean loss), reference_trainer
// (determinism, learning, budgets).
#include <trident/device.hpp>
#include <trident/model/layers/dense.hpp>
#include <trident/model/layers/gelu.hpp>
#include <trident/model/layers/layer_norm.hpp>
#include <trident/model/layers/relu.hpp>
#include <trident/model/reference.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace mp = trident::model;
using namespace trident::literals;

namespace {
mp::sequential small_net()
{
    return mp::sequential{mp::dense(4, 8, 1), mp::gelu(), mp::layer_norm(8), mp::dense(8, 6, 2), mp::relu(),
                          mp::dense(6, 3, 3)};
}

struct batch {
    std::vector<float> x, y;
    std::size_t rows;
};

batch toy_batch(std::size_t rows, unsigned seed)
{
    // Three classes separable by the sign pattern of the first two features.
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    batch b{std::vector<float>(rows * 4), std::vector<float>(rows), rows};
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < 4; ++c)
            b.x[r * 4 + c] = dist(gen);
        b.y[r] = b.x[r * 4] > 0 ? 0.0f : (b.x[r * 4 + 1] > 0 ? 1.0f : 2.0f);
    }
    return b;
}

std::vector<float> all_parameters(mp::sequential& net)
{
    std::vector<float> p;
    for (auto& l : net)
        p.insert(p.end(), l.parameters().begin(), l.parameters().end());
    return p;
}
} // namespace

TEST_CASE("sequential from layer values: widths, names, copies", "[model][sequential]")
{
    mp::sequential net = small_net();
    REQUIRE(net.size() == 6);
    CHECK(net[0].name() == "dense(4 -> 8)");
    CHECK(net.input_features() == 4u);
    CHECK(net.output_features(4) == 3);
    CHECK(net.widths(4) == std::vector<std::size_t>{8, 8, 8, 6, 6, 3});
    CHECK(net.parameter_count() == (4 * 8 + 8) + 16 + (8 * 6 + 6) + (6 * 3 + 3));
    mp::sequential copy = net;
    copy[0].parameters()[0] += 1.0f;
    CHECK(net[0].parameters()[0] != copy[0].parameters()[0]);
    mp::sequential again = small_net();
    CHECK(all_parameters(again) == all_parameters(net));
    mp::sequential leading_relu{mp::relu(), mp::dense(3, 2)};
    CHECK_FALSE(leading_relu.input_features().has_value());
    CHECK(leading_relu.output_features(3) == 2);
}

TEST_CASE("sequential names the layer index and both widths on a mismatch", "[model][sequential]")
{
    CHECK_THROWS_WITH((mp::sequential{mp::dense(4, 8), mp::relu(), mp::dense(6, 2)}),
                      "trident::model::sequential: layer 2, dense(6 -> 2), takes 6 input features, but layer 1, "
                      "relu, gives 8");
    CHECK_THROWS_WITH((mp::sequential{mp::dense(4, 8), mp::layer_norm(5)}),
                      Catch::Contains("layer 1, layer_norm(5), takes 5 input features, but layer 0, dense(4 -> 8), gives 8"));
    mp::sequential net{mp::relu(), mp::dense(3, 2)};
    CHECK_THROWS_WITH(net.output_features(4), Catch::Contains("layer 1, dense(3 -> 2), takes 3 input features, but "
                                                              "layer 0, relu, gives 4"));
    CHECK(mp::sequential{}.output_features(5) == 5); // an empty net passes its input through
}

TEST_CASE("micro_batch_rows splits contiguously, the first rows % m one longer", "[model][reference]")
{
    const std::size_t expected[3][2] = {{0, 4}, {4, 3}, {7, 3}};
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK(mp::micro_batch_rows(10, 3, k).first == expected[k][0]);
        CHECK(mp::micro_batch_rows(10, 3, k).count == expected[k][1]);
    }
    CHECK_THROWS_WITH(mp::micro_batch_rows(4, 5, 0), Catch::Contains("5 micro-batches for a batch of 4 rows"));
    CHECK_THROWS_AS(mp::micro_batch_rows(4, 0, 0), std::invalid_argument);
}

TEST_CASE("accumulate_gradients: the mean loss's gradient, against finite differences", "[model][reference][finite-differences]")
{
    mp::sequential net = small_net();
    const batch b = toy_batch(10, 3);
    const trident::matrix_view<const float> x(b.x.data(), b.rows, 4), y(b.y.data(), b.rows, 1);
    const trident::device dev = trident::cpu_device(1, 1_MiB);
    const mp::softmax_cross_entropy ce;
    net.zero_gradients();
    const double loss = mp::accumulate_gradients(net, dev, x, y, ce, 3);
    CHECK(dev.in_use() == 0); // every activation given back
    CHECK(dev.peak() > 0);
    auto mean_loss = [&] {
        const mp::tensor z = mp::forward(net, dev, x);
        return ce.value(z.view(), y) / static_cast<double>(b.rows);
    };
    CHECK(loss == Approx(mean_loss()).epsilon(1e-6));
    const double h = 1e-3;
    for (std::size_t i = 0; i < net.size(); ++i) {
        auto p = net[i].parameters();
        auto g = net[i].gradients();
        for (std::size_t j = 0; j < p.size(); j += 3) { // every third parameter of every layer
            const float keep = p[j];
            p[j] = static_cast<float>(keep + h);
            const double up = mean_loss();
            p[j] = static_cast<float>(keep - h);
            const double down = mean_loss();
            p[j] = keep;
            CAPTURE(i, j);
            CHECK(g[j] == Approx((up - down) / (2 * h)).margin(2e-3));
        }
    }
}

TEST_CASE("micro-batch counts change only the rounding of the accumulated gradients", "[model][reference]")
{
    const batch b = toy_batch(12, 4);
    const trident::matrix_view<const float> x(b.x.data(), b.rows, 4), y(b.y.data(), b.rows, 1);
    const trident::device dev = trident::cpu_device(1, 1_MiB);
    std::vector<std::vector<float>> grads;
    for (std::size_t m : {1, 4, 12}) {
        mp::sequential net = small_net();
        net.zero_gradients();
        (void)mp::accumulate_gradients(net, dev, x, y, mp::softmax_cross_entropy{}, m);
        std::vector<float> g;
        for (auto& l : net)
            g.insert(g.end(), l.gradients().begin(), l.gradients().end());
        grads.push_back(g);
    }
    for (std::size_t i = 0; i < grads[0].size(); ++i) {
        CHECK(grads[1][i] == Approx(grads[0][i]).margin(1e-5));
        CHECK(grads[2][i] == Approx(grads[0][i]).margin(1e-5));
    }
}

TEST_CASE("reference_trainer learns, bitwise reproducibly on any thread count", "[model][reference]")
{
    const batch b = toy_batch(64, 5);
    const trident::matrix_view<const float> x(b.x.data(), b.rows, 4), y(b.y.data(), b.rows, 1);
    auto train = [&](int threads, auto optimizer) {
        mp::sequential net = small_net();
        mp::reference_trainer trainer(net, trident::cpu_device(threads, 1_MiB), mp::softmax_cross_entropy{},
                                      optimizer);
        std::vector<double> losses;
        for (int s = 0; s < 60; ++s)
            losses.push_back(trainer.step(x, y, 4));
        CHECK(trainer.steps() == 60);
        return std::pair(losses, all_parameters(net));
    };
    const auto [adam_losses, adam_params] = train(1, mp::adam{.learning_rate = 1e-2});
    CHECK(adam_losses.back() < 0.5 * adam_losses.front());
    const auto [sgd_losses, sgd_params] = train(1, mp::sgd{.learning_rate = 0.1, .momentum = 0.9});
    CHECK(sgd_losses.back() < 0.7 * sgd_losses.front());
    const auto [losses2, params2] = train(2, mp::adam{.learning_rate = 1e-2});
    CHECK(losses2 == adam_losses);
    CHECK(params2 == adam_params);
}

TEST_CASE("reference_trainer books parameters, gradients and state; too small a budget names what", "[model][reference][device]")
{
    mp::sequential net = small_net();
    const std::size_t params = net.parameter_count() * sizeof(float);
    const trident::device dev = trident::cpu_device(1, 1_MiB, "ref");
    {
        mp::reference_trainer trainer(net, dev, mp::softmax_cross_entropy{}, mp::adam{});
        CHECK(dev.in_use() == 4 * params); // parameters, gradients, exp_avg, exp_avg_sq
        CHECK(trainer.state(0).size() == 2 * (4 * 8 + 8));
    }
    CHECK(dev.in_use() == 0);
    const trident::device tiny = trident::cpu_device(1, 3 * params, "tiny");
    CHECK_THROWS_WITH(mp::reference_trainer(net, tiny, mp::softmax_cross_entropy{}, mp::adam{}),
                      Catch::Contains("device 'tiny'") && Catch::Contains("adam state of layer"));
    // Parameters and state fit, the activations of a micro-batch do not: refused in step, nothing kept.
    const trident::device tight = trident::cpu_device(1, 4 * params + 64, "tight");
    mp::reference_trainer trainer(net, tight, mp::softmax_cross_entropy{}, mp::adam{});
    const batch b = toy_batch(32, 6);
    CHECK_THROWS_WITH(trainer.step({b.x.data(), b.rows, 4}, {b.y.data(), b.rows, 1}, 1),
                      Catch::Contains("output of layer") && Catch::Contains("micro-batch 0"));
    CHECK(tight.in_use() == 4 * params);
    CHECK(tight.peak() <= tight.budget());
}
