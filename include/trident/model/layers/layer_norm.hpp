#pragma once
/// \file layer_norm.hpp
/// `trident::model::layer_norm(features, epsilon = 1e-5)`: normalises each row over its features and
/// applies a learnable gain and bias, as PyTorch's nn.LayerNorm(features):
///   mean = sum(x) / n,  var = sum((x - mean)^2) / n (biased),  rstd = 1 / sqrt(var + epsilon),
///   y = (x - mean) * rstd * gain + bias.
/// Parameters: [gain (n floats, initially 1), bias (n floats, initially 0)], contiguous.  Forward
/// saves each row's mean and rstd (saved_floats = 2 * rows).  Split backward:
///   backward_input:  dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gain;
///   backward_weight: gain' += sum over rows of dy * xhat, bias' += sum over rows of dy (rows in order).
///
/// \code
///   trident::model::sequential net{trident::model::dense(32, 32), trident::model::layer_norm(32),
///                                   trident::model::gelu()};
/// \endcode
///
/// Requirements: input width == features.  Complexity: O(rows * features) per call.  forward and
/// backward_input run rows in parallel (`trident::par`; each row computed alone, its statistics in
/// double); backward_weight adds row after row, serially.  Results do not depend on the thread count.
/// \throws std::invalid_argument from the constructor when features == 0 or epsilon <= 0, from
///   output_features when the width differs, from forward/backward when shapes or saved do not fit.

#include "trident/detail/layer_shapes.hpp"
#include "trident/data/for_each.hpp"
#include "trident/matrix_view.hpp"
#include "trident/policy.hpp"

#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace trident::model {

class layer_norm {
public:
    explicit layer_norm(std::size_t features, float epsilon = 1e-5f)
        : features_(features), epsilon_(epsilon), parameters_(2 * features, 0.0f), gradients_(2 * features, 0.0f)
    {
        if (features == 0)
            throw std::invalid_argument("trident::model::layer_norm: features must be at least 1, got 0");
        if (!(epsilon > 0.0f))
            throw std::invalid_argument("trident::model::layer_norm: epsilon must be positive, got " +
                                        std::to_string(epsilon));
        for (std::size_t j = 0; j < features; ++j)
            parameters_[j] = 1.0f;
    }

    [[nodiscard]] std::size_t input_features() const noexcept { return features_; }
    [[nodiscard]] float epsilon() const noexcept { return epsilon_; }
    [[nodiscard]] std::size_t output_features(std::size_t in) const
    {
        trident::detail::check_input_features(name(), features_, in);
        return in;
    }
    [[nodiscard]] std::size_t saved_floats(std::size_t rows, std::size_t /*in*/) const noexcept { return 2 * rows; }
    [[nodiscard]] std::string name() const { return "layer_norm(" + std::to_string(features_) + ")"; }
    [[nodiscard]] double flops(std::size_t rows, std::size_t in) const noexcept
    {
        return 8.0 * static_cast<double>(rows) * static_cast<double>(in);
    }
    [[nodiscard]] std::span<float> parameters() noexcept { return parameters_; }
    [[nodiscard]] std::span<float> gradients() noexcept { return gradients_; }
    [[nodiscard]] std::span<const float> gain() const noexcept { return {parameters_.data(), features_}; }
    [[nodiscard]] std::span<const float> bias() const noexcept { return {parameters_.data() + features_, features_}; }

    void forward(matrix_view<const float> in, matrix_view<float> out, std::span<float> saved) const
    {
        check(in, out, saved.size());
        const float* gain = parameters_.data();
        const float* bias = gain + features_;
        const std::size_t n = features_;
        for_each_index(par, in.rows(), [&](std::size_t r) {
            double sum = 0.0;
            for (std::size_t j = 0; j < n; ++j)
                sum += in(r, j);
            const double mean = sum / static_cast<double>(n);
            double squares = 0.0;
            for (std::size_t j = 0; j < n; ++j) {
                const double d = in(r, j) - mean;
                squares += d * d;
            }
            const auto mean_f = static_cast<float>(mean);
            const auto rstd = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(n) + epsilon_));
            saved[2 * r] = mean_f;
            saved[2 * r + 1] = rstd;
            for (std::size_t j = 0; j < n; ++j)
                out(r, j) = (in(r, j) - mean_f) * rstd * gain[j] + bias[j];
        });
    }

    void backward_input(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                        matrix_view<const float> grad_out, matrix_view<float> grad_in) const
    {
        check(in, out, saved.size());
        trident::detail::check_shape(name(), "grad_out", grad_out, in.rows(), features_);
        trident::detail::check_shape(name(), "grad_in", grad_in, in.rows(), features_);
        const float* gain = parameters_.data();
        const std::size_t n = features_;
        for_each_index(par, in.rows(), [&](std::size_t r) {
            const float mean = saved[2 * r];
            const float rstd = saved[2 * r + 1];
            double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
            for (std::size_t j = 0; j < n; ++j) {
                const float xhat = (in(r, j) - mean) * rstd;
                const float dxhat = grad_out(r, j) * gain[j];
                sum_dxhat += dxhat;
                sum_dxhat_xhat += static_cast<double>(dxhat) * xhat;
            }
            const auto a = static_cast<float>(sum_dxhat / static_cast<double>(n));
            const auto b = static_cast<float>(sum_dxhat_xhat / static_cast<double>(n));
            for (std::size_t j = 0; j < n; ++j) {
                const float xhat = (in(r, j) - mean) * rstd;
                const float dxhat = grad_out(r, j) * gain[j];
                grad_in(r, j) = rstd * (dxhat - a - xhat * b);
            }
        });
    }

    void backward_weight(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                         matrix_view<const float> grad_out)
    {
        check(in, out, saved.size());
        trident::detail::check_shape(name(), "grad_out", grad_out, in.rows(), features_);
        float* dgain = gradients_.data();
        float* dbias = dgain + features_;
        for (std::size_t r = 0; r < in.rows(); ++r) {
            const float mean = saved[2 * r];
            const float rstd = saved[2 * r + 1];
            for (std::size_t j = 0; j < features_; ++j) {
                const float xhat = (in(r, j) - mean) * rstd;
                dgain[j] += grad_out(r, j) * xhat;
                dbias[j] += grad_out(r, j);
            }
        }
    }

private:
    template <class Out>
    void check(matrix_view<const float> in, const matrix_view<Out>& out, std::size_t saved) const
    {
        (void)output_features(in.cols());
        trident::detail::check_shape(name(), "out", out, in.rows(), features_);
        trident::detail::check_saved(name(), saved, 2 * in.rows());
    }

    std::size_t features_;
    float epsilon_;
    std::vector<float> parameters_; // gain, then bias
    std::vector<float> gradients_;
};

} // namespace trident::model
