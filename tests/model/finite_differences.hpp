#pragma once
// Finite-difference checks of a layer's backward (input and weight gradients) for the model tests.
// The scalar checked is f(x, p) = sum_ij w_ij * forward(x; p)_ij with fixed random weights w, so
// grad_out = w; central differences (f(+h) - f(-h)) / 2h, f summed in double.
#include <trident/model/any_layer.hpp>

#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace fd {

struct mismatch {
    std::string what; // "input 3" or "parameter 7"
    double analytic, numeric;
};

inline std::vector<float> random_values(std::size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f,
                                        float avoid_below = 0.0f)
{
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v)
        do
            x = dist(gen);
        while (std::fabs(x) < avoid_below);
    return v;
}

struct checker {
    trident::model::any_layer& layer;
    std::size_t rows, in;
    std::vector<float> x;
    std::vector<float> w; // the weights of the output in f: grad_out
    double h = 1e-3, abs_tol = 2e-3, rel_tol = 1e-2;

    std::size_t out() const { return layer.output_features(in); }

    double f()
    {
        std::vector<float> y(rows * out()), saved(layer.saved_floats(rows, in));
        layer.forward({x.data(), rows, in}, {y.data(), rows, out()}, saved);
        double s = 0.0;
        for (std::size_t i = 0; i < y.size(); ++i)
            s += static_cast<double>(w[i]) * y[i];
        return s;
    }

    double numeric(float& v)
    {
        const float keep = v;
        v = static_cast<float>(keep + h);
        const double up = f();
        v = static_cast<float>(keep - h);
        const double down = f();
        v = keep;
        return (up - down) / (2 * h);
    }

    bool close(double a, double n) const { return std::fabs(a - n) <= abs_tol + rel_tol * std::fabs(n); }

    // Every input and parameter gradient compared with central differences; returns the mismatches.
    std::vector<mismatch> run()
    {
        const std::size_t o = out();
        std::vector<float> y(rows * o), saved(layer.saved_floats(rows, in)), dx(rows * in, 0.0f);
        layer.forward({x.data(), rows, in}, {y.data(), rows, o}, saved);
        for (float& g : layer.gradients())
            g = 0.0f;
        layer.backward({x.data(), rows, in}, {y.data(), rows, o}, saved, {w.data(), rows, o}, {dx.data(), rows, in});
        const std::vector<float> dp(layer.gradients().begin(), layer.gradients().end());
        std::vector<mismatch> bad;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double n = numeric(x[i]);
            if (!close(dx[i], n))
                bad.push_back({"input " + std::to_string(i), dx[i], n});
        }
        auto p = layer.parameters();
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double n = numeric(p[i]);
            if (!close(dp[i], n))
                bad.push_back({"parameter " + std::to_string(i), dp[i], n});
        }
        return bad;
    }
};

inline std::string describe(const std::vector<mismatch>& bad)
{
    std::string s;
    for (const auto& m : bad)
        s += m.what + ": analytic " + std::to_string(m.analytic) + ", numeric " + std::to_string(m.numeric) + "\n";
    return s;
}

} // namespace fd
