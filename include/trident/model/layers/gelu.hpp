#pragma once
/// \file gelu.hpp
/// `trident::model::gelu`: the exact GELU, y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), elementwise
/// (PyTorch's nn.GELU() default, approximate='none'; not the tanh approximation).  No parameters;
/// any width.  Backward: dx = dy * (Phi(x) + x * phi(x)), phi the standard normal density, from the
/// input (nothing saved).
///
/// \code
///   trident::model::sequential net{trident::model::dense(16, 64), trident::model::gelu(),
///                                   trident::model::dense(64, 16)};
/// \endcode
///
/// Requirements: in, out, grad_out, grad_in of the same shape.
/// Complexity: O(rows * features) erf/exp evaluations; rows in parallel (`trident::par`), each
/// element computed alone, so the result does not depend on the thread count.
/// \throws std::invalid_argument when the shapes differ (naming both).

#include "trident/detail/layer_shapes.hpp"
#include "trident/data/for_each.hpp"
#include "trident/matrix_view.hpp"
#include "trident/policy.hpp"

#include <cmath>
#include <cstddef>
#include <span>
#include <string>

namespace trident::model {

class gelu {
public:
    [[nodiscard]] std::size_t output_features(std::size_t in) const noexcept { return in; }
    [[nodiscard]] std::size_t saved_floats(std::size_t, std::size_t) const noexcept { return 0; }
    [[nodiscard]] std::string name() const { return "gelu"; }
    /// About 20 operations an element (erf counted as 15).
    [[nodiscard]] double flops(std::size_t rows, std::size_t in) const noexcept
    {
        return 20.0 * static_cast<double>(rows) * static_cast<double>(in);
    }
    [[nodiscard]] std::span<float> parameters() noexcept { return {}; }
    [[nodiscard]] std::span<float> gradients() noexcept { return {}; }

    void forward(matrix_view<const float> in, matrix_view<float> out, std::span<float> /*saved*/) const
    {
        trident::detail::check_shape(name(), "out", out, in.rows(), in.cols());
        for_each_index(par, in.rows(), [&](std::size_t r) {
            for (std::size_t c = 0; c < in.cols(); ++c) {
                const float x = in(r, c);
                out(r, c) = 0.5f * x * (1.0f + std::erf(x * inv_sqrt2));
            }
        });
    }

    void backward(matrix_view<const float> in, matrix_view<const float> /*out*/, std::span<const float> /*saved*/,
                  matrix_view<const float> grad_out, matrix_view<float> grad_in) const
    {
        trident::detail::check_shape(name(), "grad_out", grad_out, in.rows(), in.cols());
        trident::detail::check_shape(name(), "grad_in", grad_in, in.rows(), in.cols());
        for_each_index(par, in.rows(), [&](std::size_t r) {
            for (std::size_t c = 0; c < in.cols(); ++c) {
                const float x = in(r, c);
                const float cdf = 0.5f * (1.0f + std::erf(x * inv_sqrt2));
                const float pdf = inv_sqrt_2pi * std::exp(-0.5f * x * x);
                grad_in(r, c) = grad_out(r, c) * (cdf + x * pdf);
            }
        });
    }

private:
    static constexpr float inv_sqrt2 = 0.70710678118654752440f;
    static constexpr float inv_sqrt_2pi = 0.39894228040143267794f;
};

} // namespace trident::model
