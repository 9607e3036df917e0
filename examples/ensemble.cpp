// An ensemble of small models trained side by side: independent experiments are task parallelism.
//
//   ensemble [samples]          (default 400,000)
//
// Generated data: 8 features per sample, a label from a fixed hidden linear rule plus noise.  Four
// models (logistic regression and a linear SVM, with different learning rates and feature sets)
// are trained by online SGD, each on its own, so they can run at once: one trident::parallel_invoke
// with trident::seq and with trident::par.  Then a learning-rate sweep whose size is known only at
// run time, with a trident::task_group.  Every model's training is sequential and deterministic,
// so seq and par must give bit-identical weights; the example checks that and prints each model's
// test accuracy and loss and the time per policy.
#include "example_common.hpp"

#include <trident/task/invoke.hpp>
#include <trident/task/task_group.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <future>
#include <string>
#include <tuple>
#include <vector>

namespace ensemble_example {

constexpr std::size_t features = 8;
constexpr int epochs = 4;
constexpr std::uint64_t seed = 7;

struct dataset {
    std::vector<double> x; // samples x features, row-major
    std::vector<double> y; // +1 or -1
    std::size_t size() const { return y.size(); }
    const double* row(std::size_t i) const { return x.data() + i * features; }
};

/// Samples [first, first + n) of the generated stream: features uniform in [-1, 1), label the sign
/// of a hidden linear rule plus noise.
dataset generate(std::size_t first, std::size_t n)
{
    static constexpr double hidden[features] = {1.5, -2.0, 0.8, 0.0, 1.1, -0.6, 0.3, -1.2};
    dataset d;
    d.x.resize(n * features);
    d.y.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        double score = 0.2;
        for (std::size_t f = 0; f < features; ++f) {
            const double v = 2.0 * example::random_unit(seed, (first + i) * (features + 1) + f) - 1.0;
            d.x[i * features + f] = v;
            score += hidden[f] * v;
        }
        score += 0.8 * (example::random_unit(seed, (first + i) * (features + 1) + features) - 0.5);
        d.y[i] = score >= 0 ? 1.0 : -1.0;
    }
    return d;
}

enum class loss_kind { logistic, hinge };

struct spec {
    std::string name;
    loss_kind loss;
    double rate;
    std::size_t used_features; // the first k features
};

struct model {
    std::vector<double> w; // weights, then the bias
    double accuracy = 0, loss = 0;
};

double score(const std::vector<double>& w, const double* x, std::size_t k)
{
    double s = w[features];
    for (std::size_t f = 0; f < k; ++f)
        s += w[f] * x[f];
    return s;
}

/// Online SGD over the training set, `epochs` passes in a fixed order; then test accuracy and mean loss.
model train(const spec& s, const dataset& train_set, const dataset& test_set)
{
    model m;
    m.w.assign(features + 1, 0.0);
    const double l2 = 1e-4;
    for (int e = 0; e < epochs; ++e) {
        const double rate = s.rate / (1.0 + e); // a decaying step
        for (std::size_t i = 0; i < train_set.size(); ++i) {
            const double* x = train_set.row(i);
            const double y = train_set.y[i];
            const double margin = y * score(m.w, x, s.used_features);
            // d loss / d score, times y
            const double g = s.loss == loss_kind::logistic ? -1.0 / (1.0 + std::exp(margin)) : (margin < 1.0 ? -1.0 : 0.0);
            for (std::size_t f = 0; f < s.used_features; ++f)
                m.w[f] -= rate * (g * y * x[f] + l2 * m.w[f]);
            m.w[features] -= rate * g * y;
        }
    }
    std::size_t right = 0;
    double total = 0;
    for (std::size_t i = 0; i < test_set.size(); ++i) {
        const double margin = test_set.y[i] * score(m.w, test_set.row(i), s.used_features);
        right += margin > 0 ? 1 : 0;
        total += s.loss == loss_kind::logistic ? std::log1p(std::exp(-margin)) : (margin < 1.0 ? 1.0 - margin : 0.0);
    }
    m.accuracy = static_cast<double>(right) / static_cast<double>(test_set.size());
    m.loss = total / static_cast<double>(test_set.size());
    return m;
}

/// The four members of the ensemble, trained at once where `where` says.
template <class Where>
std::tuple<model, model, model, model> train_ensemble(Where&& where, const std::vector<spec>& specs,
                                                      const dataset& train_set, const dataset& test_set)
{
    return trident::parallel_invoke(
        where, [&] { return train(specs[0], train_set, test_set); }, [&] { return train(specs[1], train_set, test_set); },
        [&] { return train(specs[2], train_set, test_set); }, [&] { return train(specs[3], train_set, test_set); });
}

/// A learning-rate sweep of any length, one task per rate.
template <class Where>
std::vector<model> sweep(Where&& where, const std::vector<double>& rates, const dataset& train_set, const dataset& test_set)
{
    trident::task_group group(where);
    std::vector<std::future<model>> runs;
    for (double r : rates)
        runs.push_back(group.run([&, r] { return train(spec{"sweep", loss_kind::logistic, r, features}, train_set, test_set); }));
    group.wait(); // rethrows the first failure, if any
    std::vector<model> out;
    for (auto& f : runs)
        out.push_back(f.get());
    return out;
}

} // namespace ensemble_example

int main(int argc, char** argv)
{
    using namespace ensemble_example;
    const std::size_t samples = example::size_argument(argc, argv, 400'000, "samples");
    const dataset train_set = generate(0, samples);
    const dataset test_set = generate(samples, samples / 4 + 1);
    std::printf("ensemble: %zu training samples, %zu test samples, %zu features, %d epochs\n", train_set.size(),
                test_set.size(), features, epochs);

    const std::vector<spec> specs = {{"logistic, rate 0.1, 8 features", loss_kind::logistic, 0.1, 8},
                                     {"logistic, rate 0.01, 8 features", loss_kind::logistic, 0.01, 8},
                                     {"logistic, rate 0.1, 4 features", loss_kind::logistic, 0.1, 4},
                                     {"linear SVM, rate 0.01, 8 features", loss_kind::hinge, 0.01, 8}};
    bool ok = true;

    // ---- four models at once: parallel_invoke ----
    const auto seq_run = example::timed([&] { return train_ensemble(trident::seq, specs, train_set, test_set); });
    const auto par_run = example::timed([&] { return train_ensemble(trident::par, specs, train_set, test_set); });
    const model seq_models[] = {std::get<0>(seq_run.first), std::get<1>(seq_run.first), std::get<2>(seq_run.first),
                                std::get<3>(seq_run.first)};
    const model par_models[] = {std::get<0>(par_run.first), std::get<1>(par_run.first), std::get<2>(par_run.first),
                                std::get<3>(par_run.first)};
    for (std::size_t k = 0; k < specs.size(); ++k) {
        std::printf("  %-36s accuracy %.4f  loss %.4f\n", specs[k].name.c_str(), par_models[k].accuracy, par_models[k].loss);
        if (par_models[k].w != seq_models[k].w) {
            std::printf("  %s: MISMATCH, par trained other weights than seq\n", specs[k].name.c_str());
            ok = false;
        }
        if (par_models[k].accuracy < 0.75) {
            std::printf("  %s: accuracy %.4f is too low for this data\n", specs[k].name.c_str(), par_models[k].accuracy);
            ok = false;
        }
    }
    std::printf("parallel_invoke, 4 models:\n");
    example::print_time("seq", seq_run.second, 0);
    example::print_time("par", par_run.second, seq_run.second);

    // ---- a sweep whose length is known at run time: task_group ----
    std::vector<double> rates;
    for (double r = 0.5; r > 0.0005; r /= 3)
        rates.push_back(r);
    const auto seq_sweep = example::timed([&] { return sweep(trident::seq, rates, train_set, test_set); });
    const auto par_sweep = example::timed([&] { return sweep(trident::par, rates, train_set, test_set); });
    std::size_t best = 0;
    for (std::size_t k = 0; k < rates.size(); ++k) {
        if (par_sweep.first[k].loss < par_sweep.first[best].loss)
            best = k;
        if (par_sweep.first[k].w != seq_sweep.first[k].w) {
            std::printf("  rate %g: MISMATCH, par trained other weights than seq\n", rates[k]);
            ok = false;
        }
    }
    std::printf("task_group sweep over %zu learning rates: best rate %g (accuracy %.4f, loss %.4f)\n", rates.size(),
                rates[best], par_sweep.first[best].accuracy, par_sweep.first[best].loss);
    example::print_time("seq", seq_sweep.second, 0);
    example::print_time("par", par_sweep.second, seq_sweep.second);

    std::printf(ok ? "policies agree\n" : "FAILED\n");
    return ok ? 0 : 1;
}
