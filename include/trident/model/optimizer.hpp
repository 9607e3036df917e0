#pragma once
/// \file optimizer.hpp
/// Optimizers for model-parallel training: `sgd` (with momentum) and `adam`, as PyTorch's
/// torch.optim.SGD (dampening 0, no Nesterov, no weight decay) and torch.optim.Adam (no weight decay,
/// no amsgrad).  Hyperparameters are doubles, as in PyTorch; parameters, gradients and state are
/// float, each element updated in double and rounded once.
///
/// Both have (the `model::optimizer` concept):
/// - `state_floats(n)`: the floats of state for n parameters, as PyTorch counts them: sgd 0 without
///   momentum, n with (the momentum buffer); adam 2n (exp_avg, exp_avg_sq; PyTorch's step counter is
///   the `step` argument here).  A stage books these bytes on its device.
/// - `update(params, grads, state, step)`: one step, `step` counting from 1; state starts zeroed.
///     sgd:  buf = g at step 1, else buf = momentum * buf + g;  p -= lr * buf   (p -= lr * g without momentum)
///     adam: m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
///           p -= (lr / (1 - beta1^step)) * m / (sqrt(v) / sqrt(1 - beta2^step) + epsilon)
/// - `name()`.
///
/// \code
///   trident::model::adam opt{.learning_rate = 1e-3};
///   std::vector<float> p(10), g(10), s(opt.state_floats(10));
///   opt.update(p, g, s, 1);
/// \endcode
///
/// Complexity: O(n), one serial pass (deterministic).
/// \throws std::invalid_argument when grads or state have the wrong size, or step is 0.

#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

namespace trident::model {

template <class O>
concept optimizer = requires(const O& o, std::size_t n, std::span<float> p, std::span<const float> g,
                             std::span<float> s) {
    { o.state_floats(n) } -> std::convertible_to<std::size_t>;
    o.update(p, g, s, n);
    { o.name() } -> std::convertible_to<std::string>;
};

namespace detail_optimizer {
inline void check(const std::string& who, std::size_t params, std::size_t grads, std::size_t state,
                  std::size_t state_needed, std::size_t step)
{
    if (grads != params)
        throw std::invalid_argument("trident::model::" + who + "::update: " + std::to_string(params) +
                                    " parameters but " + std::to_string(grads) + " gradients");
    if (state != state_needed)
        throw std::invalid_argument("trident::model::" + who + "::update: state holds " + std::to_string(state) +
                                    " floats, state_floats() is " + std::to_string(state_needed));
    if (step == 0)
        throw std::invalid_argument("trident::model::" + who + "::update: step counts from 1, got 0");
}
} // namespace detail_optimizer

struct sgd {
    double learning_rate = 0.01;
    double momentum = 0.0;

    [[nodiscard]] std::string name() const { return "sgd"; }
    [[nodiscard]] std::size_t state_floats(std::size_t n) const noexcept { return momentum != 0.0 ? n : 0; }

    void update(std::span<float> params, std::span<const float> grads, std::span<float> state, std::size_t step) const
    {
        detail_optimizer::check(name(), params.size(), grads.size(), state.size(), state_floats(params.size()), step);
        for (std::size_t i = 0; i < params.size(); ++i) {
            double direction = grads[i];
            if (momentum != 0.0) {
                const double buf = step == 1 ? direction : momentum * state[i] + direction;
                state[i] = static_cast<float>(buf);
                direction = state[i];
            }
            params[i] = static_cast<float>(params[i] - learning_rate * direction);
        }
    }
};

struct adam {
    double learning_rate = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;

    [[nodiscard]] std::string name() const { return "adam"; }
    [[nodiscard]] std::size_t state_floats(std::size_t n) const noexcept { return 2 * n; }

    /// state: [exp_avg (n floats), exp_avg_sq (n floats)].
    void update(std::span<float> params, std::span<const float> grads, std::span<float> state, std::size_t step) const
    {
        const std::size_t n = params.size();
        detail_optimizer::check(name(), n, grads.size(), state.size(), state_floats(n), step);
        const double t = static_cast<double>(step);
        const double step_size = learning_rate / (1.0 - std::pow(beta1, t));
        const double correction2_sqrt = std::sqrt(1.0 - std::pow(beta2, t));
        float* m = state.data();
        float* v = state.data() + n;
        for (std::size_t i = 0; i < n; ++i) {
            const double g = grads[i];
            m[i] = static_cast<float>(beta1 * m[i] + (1.0 - beta1) * g);
            v[i] = static_cast<float>(beta2 * v[i] + (1.0 - beta2) * g * g);
            const double denom = std::sqrt(static_cast<double>(v[i])) / correction2_sqrt + epsilon;
            params[i] = static_cast<float>(params[i] - step_size * m[i] / denom);
        }
    }
};

} // namespace trident::model
