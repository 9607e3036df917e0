// Optimizers (SGD with momentum, Adam) against steps computed by hand from PyTorch's documented
// update rules; the losses' values against known values and their gradients against finite
// differences.
#include <trident/model/loss.hpp>
#include <trident/model/optimizer.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace mp = trident::model;

static_assert(mp::optimizer<mp::sgd> && mp::optimizer<mp::adam>);
static_assert(mp::loss<mp::softmax_cross_entropy> && mp::loss<mp::mean_squared_error>);

TEST_CASE("sgd: plain and with momentum, by hand", "[model][optimizer]")
{
    mp::sgd plain{.learning_rate = 0.1};
    CHECK(plain.state_floats(10) == 0);
    std::vector<float> p{1.0f, -2.0f}, g{0.5f, 1.0f};
    plain.update(p, g, {}, 1);
    CHECK(p[0] == Approx(0.95).margin(1e-7));
    CHECK(p[1] == Approx(-2.1).margin(1e-7));

    mp::sgd heavy{.learning_rate = 0.1, .momentum = 0.9};
    CHECK(heavy.state_floats(10) == 10); // PyTorch's momentum_buffer
    std::vector<float> q{1.0f}, s(1, 77.0f);  // step 1 must ignore whatever the buffer holds
    std::vector<float> g1{0.5f};
    heavy.update(q, g1, s, 1); // buf = 0.5, p = 1 - 0.05
    CHECK(s[0] == 0.5f);
    CHECK(q[0] == Approx(0.95).margin(1e-7));
    heavy.update(q, g1, s, 2); // buf = 0.9 * 0.5 + 0.5 = 0.95, p = 0.95 - 0.095
    CHECK(s[0] == Approx(0.95).margin(1e-7));
    CHECK(q[0] == Approx(0.855).margin(1e-7));
}

TEST_CASE("adam: two steps by hand", "[model][optimizer]")
{
    // lr 0.1, betas (0.9, 0.999), eps 1e-8, p = 1:
    // step 1, g = 0.5:  m = 0.05, v = 0.00025; m/(1-0.9) = 0.5, v/(1-0.999) = 0.25;
    //                   p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002
    // step 2, g = -1:   m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975;
    //                   p = 0.9 - (0.1 / 0.19) * -0.055 / (sqrt(0.00124975) / sqrt(0.001999) + 1e-8)
    //                     = 0.9 + 0.5263158 * 0.0695593 = 0.9366104
    mp::adam opt{.learning_rate = 0.1};
    CHECK(opt.beta1 == 0.9);
    CHECK(opt.beta2 == 0.999);
    CHECK(opt.epsilon == 1e-8);
    CHECK(opt.state_floats(7) == 14); // exp_avg and exp_avg_sq, as PyTorch counts
    std::vector<float> p{1.0f}, s(2, 0.0f);
    std::vector<float> g{0.5f};
    opt.update(p, g, s, 1);
    CHECK(s[0] == Approx(0.05).margin(1e-9));
    CHECK(s[1] == Approx(0.00025).margin(1e-10));
    CHECK(p[0] == Approx(0.900000002).margin(1e-7));
    g[0] = -1.0f;
    opt.update(p, g, s, 2);
    CHECK(s[0] == Approx(-0.055).margin(1e-8));
    CHECK(s[1] == Approx(0.00124975).margin(1e-9));
    CHECK(p[0] == Approx(0.9366104).margin(1e-6));

    mp::adam defaults{};
    CHECK(defaults.learning_rate == 1e-3);
    mp::adam positional{1e-3};
    CHECK(positional.learning_rate == 1e-3);
}

TEST_CASE("optimizers reject mismatched sizes and step 0", "[model][optimizer]")
{
    std::vector<float> p(3), g(2), s(6);
    CHECK_THROWS_WITH(mp::adam{}.update(p, g, s, 1), Catch::Contains("3 parameters but 2 gradients"));
    std::vector<float> g3(3), s5(5);
    CHECK_THROWS_WITH(mp::adam{}.update(p, g3, s5, 1), Catch::Contains("state holds 5 floats, state_floats() is 6"));
    CHECK_THROWS_WITH(mp::sgd{}.update(p, g3, {}, 0), Catch::Contains("step counts from 1"));
}

namespace {
template <class Loss>
void check_loss_gradient(const Loss& loss, std::size_t rows, std::size_t cols, std::vector<float> targets)
{
    std::mt19937 gen(11);
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    std::vector<float> z(rows * cols), grad(rows * cols);
    for (float& v : z)
        v = dist(gen);
    const trident::matrix_view<const float> t(targets.data(), rows, loss.target_features(cols));
    const float scale = 0.25f;
    loss.gradient({z.data(), rows, cols}, t, {grad.data(), rows, cols}, scale);
    const double h = 1e-3;
    for (std::size_t i = 0; i < z.size(); ++i) {
        const float keep = z[i];
        z[i] = static_cast<float>(keep + h);
        const double up = loss.value({z.data(), rows, cols}, t);
        z[i] = static_cast<float>(keep - h);
        const double down = loss.value({z.data(), rows, cols}, t);
        z[i] = keep;
        const double numeric = scale * (up - down) / (2 * h);
        CAPTURE(i);
        CHECK(grad[i] == Approx(numeric).margin(1e-4));
    }
}
} // namespace

TEST_CASE("softmax_cross_entropy: values and finite-difference gradient", "[model][loss][finite-differences]")
{
    mp::softmax_cross_entropy ce;
    std::vector<float> z{0, 0, 0, 1000, 0, 0}, t{1, 0};
    CHECK(ce.value({z.data(), 2, 3}, {t.data(), 2, 1}) == Approx(std::log(3.0)).margin(1e-12)); // row 2 adds 0
    check_loss_gradient(ce, 4, 5, {0, 4, 2, 1});
    std::vector<float> bad{3};
    CHECK_THROWS_WITH(ce.value({z.data(), 1, 3}, {bad.data(), 1, 1}),
                      Catch::Contains("target of row 0 is 3.000000, not a class index in [0, 3)"));
    bad[0] = 0.5f;
    CHECK_THROWS_AS(ce.value({z.data(), 1, 3}, {bad.data(), 1, 1}), std::invalid_argument);
}

TEST_CASE("mean_squared_error: values and finite-difference gradient", "[model][loss][finite-differences]")
{
    mp::mean_squared_error mse;
    std::vector<float> z{1, 2, 0, 0}, t{0, 0, 0, 1};
    CHECK(mse.value({z.data(), 2, 2}, {t.data(), 2, 2}) == Approx(2.5 + 0.5)); // rows: (1+4)/2, (0+1)/2
    std::vector<float> targets(3 * 4);
    for (std::size_t i = 0; i < targets.size(); ++i)
        targets[i] = 0.1f * static_cast<float>(i);
    check_loss_gradient(mse, 3, 4, targets);
    CHECK_THROWS_WITH(mse.value({z.data(), 2, 2}, {t.data(), 1, 2}), Catch::Contains("targets is 1 x 2, expected 2 x 2"));
}
