// dense: deterministic initialisation, forward against a double reference, backward (input, weight,
// bias) against finite differences, results bitwise independent of the device's thread count.
#include "finite_differences.hpp"

#include <trident/device.hpp>
#include <trident/model/any_layer.hpp>
#include <trident/model/layers/dense.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace mp = trident::model;
using namespace trident::literals;

static_assert(mp::check_layer<mp::dense>());
static_assert(mp::layer_split_backward<mp::dense>);

TEST_CASE("dense initialisation: Kaiming-uniform bound 1/sqrt(in), deterministic from the seed", "[model][layers][dense]")
{
    mp::dense a(64, 32, 7), b(64, 32, 7), c(64, 32, 8);
    REQUIRE(a.parameters().size() == 64 * 32 + 32);
    CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
    CHECK_FALSE(std::equal(a.parameters().begin(), a.parameters().end(), c.parameters().begin()));
    const float bound = 1.0f / 8.0f;
    double sum = 0;
    float lo = 1, hi = -1;
    for (float p : a.parameters()) {
        sum += p;
        lo = std::min(lo, p);
        hi = std::max(hi, p);
    }
    CHECK(lo >= -bound);
    CHECK(hi < bound);
    CHECK(lo < -0.9f * bound); // spread over the whole interval
    CHECK(hi > 0.9f * bound);
    CHECK(std::fabs(sum / static_cast<double>(a.parameters().size())) < 0.01);
    for (float g : a.gradients())
        CHECK(g == 0.0f);
    CHECK(a.name() == "dense(64 -> 32)");
    CHECK(a.flops(10, 64) == 2.0 * 10 * 64 * 32);
}

TEST_CASE("dense forward is x W^T + b", "[model][layers][dense]")
{
    const std::size_t rows = 5, in = 7, out = 3;
    mp::dense d(in, out, 3);
    const auto x = fd::random_values(rows * in, 12);
    std::vector<float> y(rows * out, -99.0f);
    d.forward({x.data(), rows, in}, {y.data(), rows, out}, {});
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < out; ++j) {
            double ref = d.bias()[j];
            for (std::size_t k = 0; k < in; ++k)
                ref += static_cast<double>(x[r * in + k]) * d.weight()(j, k);
            CHECK(y[r * out + j] == Approx(ref).margin(1e-5));
        }
}

TEST_CASE("dense backward (input, weight, bias) against finite differences", "[model][layers][dense][finite-differences]")
{
    mp::any_layer l = mp::dense(5, 4, 21);
    CHECK(l.splits_backward());
    fd::checker c{l, 3, 5, fd::random_values(15, 13, -2.0f, 2.0f), fd::random_values(12, 14)};
    const auto bad = c.run();
    INFO(fd::describe(bad));
    CHECK(bad.empty());
}

TEST_CASE("dense results are bitwise the same on 1 and 2 threads", "[model][layers][dense]")
{
    const std::size_t rows = 600, in = 300, out = 520; // C of every product spans several of gemm's tiles
    const auto x = fd::random_values(rows * in, 15), dy = fd::random_values(rows * out, 16);
    auto run = [&](const trident::device& dev) {
        mp::dense d(in, out, 5);
        std::vector<float> y(rows * out), dx(rows * in);
        dev.execute([&] {
            d.forward({x.data(), rows, in}, {y.data(), rows, out}, {});
            d.backward_input({x.data(), rows, in}, {y.data(), rows, out}, {}, {dy.data(), rows, out},
                             {dx.data(), rows, in});
            d.backward_weight({x.data(), rows, in}, {y.data(), rows, out}, {}, {dy.data(), rows, out});
        });
        std::vector<float> all = y;
        all.insert(all.end(), dx.begin(), dx.end());
        all.insert(all.end(), d.gradients().begin(), d.gradients().end());
        return all;
    };
    const auto one = run(trident::cpu_device(1, 8_MiB));
    const auto two = run(trident::cpu_device(2, 8_MiB));
    CHECK(one == two);
}

TEST_CASE("dense rejects widths and shapes that do not fit, naming them", "[model][layers][dense]")
{
    mp::dense d(4, 2);
    CHECK_THROWS_WITH(d.output_features(3), "trident::model::dense(4 -> 2) takes 4 input features, got 3");
    std::vector<float> x(12), y(6);
    CHECK_THROWS_WITH(d.forward({x.data(), 3, 4}, {y.data(), 2, 3}, {}),
                      Catch::Contains("dense(4 -> 2): out is 2 x 3, expected 3 x 2"));
    CHECK_THROWS_WITH(mp::dense(0, 3), Catch::Contains("in features must be at least 1"));
}
