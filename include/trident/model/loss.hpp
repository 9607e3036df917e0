#pragma once
/// \file loss.hpp
/// Losses for model-parallel training: `softmax_cross_entropy` and `mean_squared_error`.
///
/// Both have the same members (the `model::loss` concept):
/// - `value(logits, targets) -> double`: the loss SUMMED over the rows (samples), computed in double;
/// - `gradient(logits, targets, grad, float scale)`: writes scale * d(value)/d(logits) into grad, so
///   that with scale = 1 / (global batch rows) the micro-batches' gradients add up to the gradient of
///   the batch's mean loss;
/// - `target_features(logits_cols) -> std::size_t`: the width of `targets`; `name()`.
///
/// softmax_cross_entropy (PyTorch's CrossEntropyLoss on logits): targets are rows x 1, one class
/// index per row stored as a float (0, 1, ..., cols - 1).  Per row: logsumexp(logits) - logits[t];
/// gradient softmax(logits) - onehot(t), times scale.
///
/// mean_squared_error (PyTorch's MSELoss): targets have the logits' shape.  Per row: the mean over the
/// columns of (logit - target)^2, so that value / rows is MSELoss(reduction='mean'); gradient
/// 2 (logit - target) / cols, times scale.
///
/// \code
///   trident::model::softmax_cross_entropy ce;
///   std::vector<float> z{1, 2, 3, 0, 0, 0}, t{2, 0};          // 2 rows, 3 classes
///   double sum = ce.value({z.data(), 2, 3}, {t.data(), 2, 1});
///   std::vector<float> g(6);
///   ce.gradient({z.data(), 2, 3}, {t.data(), 2, 1}, {g.data(), 2, 3}, 0.5f);   // of the mean
/// \endcode
///
/// Complexity: O(rows * cols).  Serial loops: deterministic.
/// \throws std::invalid_argument when shapes do not fit (naming them) or a class index is not an
///   integer in [0, cols) (naming the row and the value).

#include "trident/detail/layer_shapes.hpp"
#include "trident/matrix_view.hpp"

#include <cmath>
#include <concepts>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace trident::model {

template <class L>
concept loss = requires(const L& l, matrix_view<const float> z, matrix_view<const float> t, matrix_view<float> g,
                        float scale, std::size_t cols) {
    { l.value(z, t) } -> std::convertible_to<double>;
    l.gradient(z, t, g, scale);
    { l.target_features(cols) } -> std::convertible_to<std::size_t>;
    { l.name() } -> std::convertible_to<std::string>;
};

struct softmax_cross_entropy {
    [[nodiscard]] std::string name() const { return "softmax_cross_entropy"; }
    [[nodiscard]] std::size_t target_features(std::size_t /*logits_cols*/) const noexcept { return 1; }

    [[nodiscard]] double value(matrix_view<const float> logits, matrix_view<const float> targets) const
    {
        check(logits, targets);
        double total = 0.0;
        for (std::size_t r = 0; r < logits.rows(); ++r) {
            const std::size_t t = target_class(targets, r, logits.cols());
            const double max = row_max(logits, r);
            double sum = 0.0;
            for (std::size_t c = 0; c < logits.cols(); ++c)
                sum += std::exp(static_cast<double>(logits(r, c)) - max);
            total += std::log(sum) + max - static_cast<double>(logits(r, t));
        }
        return total;
    }

    void gradient(matrix_view<const float> logits, matrix_view<const float> targets, matrix_view<float> grad,
                  float scale) const
    {
        check(logits, targets);
        trident::detail::check_shape(name(), "grad", grad, logits.rows(), logits.cols());
        for (std::size_t r = 0; r < logits.rows(); ++r) {
            const std::size_t t = target_class(targets, r, logits.cols());
            const double max = row_max(logits, r);
            double sum = 0.0;
            for (std::size_t c = 0; c < logits.cols(); ++c)
                sum += std::exp(static_cast<double>(logits(r, c)) - max);
            for (std::size_t c = 0; c < logits.cols(); ++c) {
                const double p = std::exp(static_cast<double>(logits(r, c)) - max) / sum;
                grad(r, c) = static_cast<float>(scale * (p - (c == t ? 1.0 : 0.0)));
            }
        }
    }

private:
    void check(matrix_view<const float> logits, matrix_view<const float> targets) const
    {
        if (logits.cols() == 0)
            throw std::invalid_argument("trident::model::softmax_cross_entropy: logits have no columns");
        trident::detail::check_shape(name(), "targets", targets, logits.rows(), 1);
    }
    static double row_max(matrix_view<const float> logits, std::size_t r)
    {
        double m = logits(r, 0);
        for (std::size_t c = 1; c < logits.cols(); ++c)
            m = std::fmax(m, static_cast<double>(logits(r, c)));
        return m;
    }
    static std::size_t target_class(matrix_view<const float> targets, std::size_t r, std::size_t classes)
    {
        const float t = targets(r, 0);
        if (!(t >= 0.0f) || t != std::floor(t) || static_cast<double>(t) >= static_cast<double>(classes))
            throw std::invalid_argument("trident::model::softmax_cross_entropy: target of row " + std::to_string(r) +
                                        " is " + std::to_string(t) + ", not a class index in [0, " +
                                        std::to_string(classes) + ")");
        return static_cast<std::size_t>(t);
    }
};

struct mean_squared_error {
    [[nodiscard]] std::string name() const { return "mean_squared_error"; }
    [[nodiscard]] std::size_t target_features(std::size_t logits_cols) const noexcept { return logits_cols; }

    [[nodiscard]] double value(matrix_view<const float> logits, matrix_view<const float> targets) const
    {
        trident::detail::check_shape(name(), "targets", targets, logits.rows(), logits.cols());
        double total = 0.0;
        for (std::size_t r = 0; r < logits.rows(); ++r) {
            double row = 0.0;
            for (std::size_t c = 0; c < logits.cols(); ++c) {
                const double d = static_cast<double>(logits(r, c)) - targets(r, c);
                row += d * d;
            }
            total += logits.cols() ? row / static_cast<double>(logits.cols()) : 0.0;
        }
        return total;
    }

    void gradient(matrix_view<const float> logits, matrix_view<const float> targets, matrix_view<float> grad,
                  float scale) const
    {
        trident::detail::check_shape(name(), "targets", targets, logits.rows(), logits.cols());
        trident::detail::check_shape(name(), "grad", grad, logits.rows(), logits.cols());
        const double factor = 2.0 * scale / static_cast<double>(logits.cols() ? logits.cols() : 1);
        for (std::size_t r = 0; r < logits.rows(); ++r)
            for (std::size_t c = 0; c < logits.cols(); ++c)
                grad(r, c) = static_cast<float>(factor * (static_cast<double>(logits(r, c)) - targets(r, c)));
    }
};

} // namespace trident::model
