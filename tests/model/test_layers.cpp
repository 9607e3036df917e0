// relu, gelu, layer_norm: forward against a double reference, backward (input and weight gradients)
// against central finite differences; any_layer's type erasure and split/single backward.
#include "finite_differences.hpp"

#include <trident/device.hpp>
#include <trident/model/any_layer.hpp>
#include <trident/model/layers/gelu.hpp>
#include <trident/model/layers/layer_norm.hpp>
#include <trident/model/layers/relu.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace mp = trident::model;

static_assert(mp::check_layer<mp::relu>());
static_assert(mp::check_layer<mp::gelu>());
static_assert(mp::check_layer<mp::layer_norm>());
static_assert(mp::check_layer<mp::any_layer>());
static_assert(mp::layer_split_backward<mp::layer_norm>);
static_assert(!mp::layer_split_backward<mp::relu> && mp::layer_single_backward<mp::relu>);

TEST_CASE("relu and gelu forward against the formula", "[model][layers]")
{
    const std::size_t rows = 3, cols = 5;
    const auto x = fd::random_values(rows * cols, 1, -3.0f, 3.0f);
    std::vector<float> y(rows * cols);
    mp::relu().forward({x.data(), rows, cols}, {y.data(), rows, cols}, {});
    for (std::size_t i = 0; i < x.size(); ++i)
        CHECK(y[i] == (x[i] > 0 ? x[i] : 0.0f));
    mp::gelu().forward({x.data(), rows, cols}, {y.data(), rows, cols}, {});
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double ref = 0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0)));
        CHECK(y[i] == Approx(ref).margin(1e-6));
    }
    // gelu(1) = 0.8413447 (PyTorch's exact GELU, not the tanh approximation's 0.8411920)
    const float one = 1.0f;
    float g = 0;
    mp::gelu().forward({&one, 1, 1}, {&g, 1, 1}, {});
    CHECK(g == Approx(0.8413447).margin(1e-6));
}

TEST_CASE("relu and gelu backward against finite differences", "[model][layers][finite-differences]")
{
    for (int kind = 0; kind < 2; ++kind) {
        mp::any_layer l = kind == 0 ? mp::any_layer(mp::relu()) : mp::any_layer(mp::gelu());
        CAPTURE(l.name());
        CHECK_FALSE(l.splits_backward());
        // Inputs kept away from relu's kink at 0 (h = 1e-3).
        fd::checker c{l, 4, 6, fd::random_values(24, 2, -2.0f, 2.0f, 0.05f), fd::random_values(24, 3)};
        const auto bad = c.run();
        INFO(fd::describe(bad));
        CHECK(bad.empty());
    }
}

TEST_CASE("layer_norm forward against a double reference", "[model][layers]")
{
    const std::size_t rows = 4, n = 7;
    mp::layer_norm ln(n);
    auto p = ln.parameters();
    REQUIRE(p.size() == 2 * n);
    for (std::size_t j = 0; j < n; ++j) {
        CHECK(p[j] == 1.0f);     // gain starts at 1
        CHECK(p[n + j] == 0.0f); // bias at 0
    }
    const auto values = fd::random_values(2 * n, 4, 0.5f, 1.5f);
    std::copy(values.begin(), values.end(), p.begin());
    const auto x = fd::random_values(rows * n, 5, -4.0f, 4.0f);
    std::vector<float> y(rows * n), saved(ln.saved_floats(rows, n));
    ln.forward({x.data(), rows, n}, {y.data(), rows, n}, saved);
    for (std::size_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (std::size_t j = 0; j < n; ++j)
            mean += x[r * n + j];
        mean /= n;
        for (std::size_t j = 0; j < n; ++j)
            var += (x[r * n + j] - mean) * (x[r * n + j] - mean);
        var /= n;
        for (std::size_t j = 0; j < n; ++j) {
            const double ref = (x[r * n + j] - mean) / std::sqrt(var + 1e-5) * p[j] + p[n + j];
            CHECK(y[r * n + j] == Approx(ref).margin(1e-5));
        }
        CHECK(saved[2 * r] == Approx(mean).margin(1e-6));
    }
}

TEST_CASE("layer_norm backward (input, gain, bias) against finite differences", "[model][layers][finite-differences]")
{
    mp::any_layer l = mp::layer_norm(6);
    CHECK(l.splits_backward());
    auto p = l.parameters();
    const auto values = fd::random_values(12, 6, 0.5f, 1.5f);
    std::copy(values.begin(), values.end(), p.begin());
    fd::checker c{l, 5, 6, fd::random_values(30, 7, -2.0f, 2.0f), fd::random_values(30, 8)};
    const auto bad = c.run();
    INFO(fd::describe(bad));
    CHECK(bad.empty());
}

TEST_CASE("split backward: backward_weight adds; backward_input writes; any_layer::backward is both",
          "[model][layers]")
{
    const std::size_t rows = 3, n = 4;
    mp::layer_norm ln(n);
    const auto x = fd::random_values(rows * n, 9), dy = fd::random_values(rows * n, 10);
    std::vector<float> y(rows * n), saved(2 * rows), dx(rows * n, 123.0f);
    ln.forward({x.data(), rows, n}, {y.data(), rows, n}, saved);
    ln.backward_weight({x.data(), rows, n}, {y.data(), rows, n}, saved, {dy.data(), rows, n});
    const std::vector<float> once(ln.gradients().begin(), ln.gradients().end());
    ln.backward_weight({x.data(), rows, n}, {y.data(), rows, n}, saved, {dy.data(), rows, n});
    for (std::size_t i = 0; i < once.size(); ++i)
        CHECK(ln.gradients()[i] == 2 * once[i]); // x + x is exact
    ln.backward_input({x.data(), rows, n}, {y.data(), rows, n}, saved, {dy.data(), rows, n}, {dx.data(), rows, n});
    CHECK(dx[0] != 123.0f);

    mp::any_layer erased = mp::layer_norm(n);
    std::vector<float> dx2(rows * n);
    erased.forward({x.data(), rows, n}, {y.data(), rows, n}, saved);
    erased.backward({x.data(), rows, n}, {y.data(), rows, n}, saved, {dy.data(), rows, n}, {dx2.data(), rows, n});
    CHECK(dx2 == dx);
    for (std::size_t i = 0; i < once.size(); ++i)
        CHECK(erased.gradients()[i] == once[i]);
}

TEST_CASE("any_layer copies its layer, finds it by type, and refuses when empty", "[model][layers]")
{
    mp::any_layer a = mp::layer_norm(3);
    mp::any_layer b = a;
    b.parameters()[0] = 5.0f;
    CHECK(a.parameters()[0] == 1.0f);
    REQUIRE(b.target<mp::layer_norm>() != nullptr);
    CHECK(b.target<mp::layer_norm>()->gain()[0] == 5.0f);
    CHECK(b.target<mp::relu>() == nullptr);
    CHECK(b.input_features() == 3u);
    CHECK_FALSE(mp::any_layer(mp::relu()).input_features().has_value());
    mp::any_layer moved = std::move(b);
    CHECK_THROWS_WITH(b.name(), Catch::Contains("no layer held"));
    CHECK(moved.name() == "layer_norm(3)");
}

TEST_CASE("shape errors name the layer, the argument and both shapes", "[model][layers]")
{
    mp::layer_norm ln(4);
    std::vector<float> x(12), y(12), saved(6);
    CHECK_THROWS_WITH(ln.output_features(5), "trident::model::layer_norm(4) takes 4 input features, got 5");
    CHECK_THROWS_WITH(ln.forward({x.data(), 3, 4}, {y.data(), 4, 3}, saved),
                      Catch::Contains("layer_norm(4): out is 4 x 3, expected 3 x 4"));
    CHECK_THROWS_WITH(ln.forward({x.data(), 3, 4}, {y.data(), 3, 4}, std::span<float>(saved).first(5)),
                      Catch::Contains("saved holds 5 floats, saved_floats() asks for 6"));
    CHECK_THROWS_WITH(mp::relu().forward({x.data(), 3, 4}, {y.data(), 2, 4}, {}),
                      Catch::Contains("relu: out is 2 x 4, expected 3 x 4"));
    CHECK_THROWS_AS(mp::layer_norm(0), std::invalid_argument);
}

TEST_CASE("relu, gelu, layer_norm: bitwise the same on 1 and 2 threads", "[model][layers]")
{
    const std::size_t rows = 512, n = 96;
    const auto x = fd::random_values(rows * n, 17, -3.0f, 3.0f), dy = fd::random_values(rows * n, 18);
    auto run = [&](const trident::device& dev) {
        std::vector<float> all;
        for (int kind = 0; kind < 3; ++kind) {
            mp::any_layer l = kind == 0 ? mp::any_layer(mp::relu())
                                        : kind == 1 ? mp::any_layer(mp::gelu()) : mp::any_layer(mp::layer_norm(n));
            std::vector<float> y(rows * n), saved(l.saved_floats(rows, n)), dx(rows * n);
            dev.execute([&] {
                l.forward({x.data(), rows, n}, {y.data(), rows, n}, saved);
                l.backward({x.data(), rows, n}, {y.data(), rows, n}, saved, {dy.data(), rows, n}, {dx.data(), rows, n});
            });
            all.insert(all.end(), y.begin(), y.end());
            all.insert(all.end(), dx.begin(), dx.end());
            all.insert(all.end(), l.gradients().begin(), l.gradients().end());
        }
        return all;
    };
    using namespace trident::literals;
    CHECK(run(trident::cpu_device(1, 1_KiB)) == run(trident::cpu_device(2, 1_KiB)));
}
