#pragma once
/// \file relu.hpp
/// `trident::model::relu`: y = max(x, 0) elementwise; no parameters; any width (output width =
/// input width).  Backward: dx = dy where x > 0, else 0 (0 at x == 0, as PyTorch).
///
/// \code
///   trident::model::sequential net{trident::model::dense(4, 8, 1), trident::model::relu(),
///                                   trident::model::dense(8, 2, 2)};
/// \endcode
///
/// Requirements: in, out, grad_out, grad_in of the same shape (rows x features).
/// Complexity: O(rows * features); rows in parallel (`trident::par`, in the device's arena when the
/// runtime calls it), each element computed alone, so the result does not depend on the thread count.
/// \throws std::invalid_argument when the shapes differ (naming both).

#include "trident/detail/layer_shapes.hpp"
#include "trident/data/for_each.hpp"
#include "trident/matrix_view.hpp"
#include "trident/policy.hpp"

#include <cstddef>
#include <span>
#include <string>

namespace trident::model {

class relu {
public:
    [[nodiscard]] std::size_t output_features(std::size_t in) const noexcept { return in; }
    [[nodiscard]] std::size_t saved_floats(std::size_t, std::size_t) const noexcept { return 0; }
    [[nodiscard]] std::string name() const { return "relu"; }
    [[nodiscard]] double flops(std::size_t rows, std::size_t in) const noexcept
    {
        return static_cast<double>(rows) * static_cast<double>(in);
    }
    [[nodiscard]] std::span<float> parameters() noexcept { return {}; }
    [[nodiscard]] std::span<float> gradients() noexcept { return {}; }

    void forward(matrix_view<const float> in, matrix_view<float> out, std::span<float> /*saved*/) const
    {
        trident::detail::check_shape(name(), "out", out, in.rows(), in.cols());
        for_each_index(par, in.rows(), [&](std::size_t r) {
            for (std::size_t c = 0; c < in.cols(); ++c)
                out(r, c) = in(r, c) > 0.0f ? in(r, c) : 0.0f;
        });
    }

    void backward(matrix_view<const float> in, matrix_view<const float> /*out*/, std::span<const float> /*saved*/,
                  matrix_view<const float> grad_out, matrix_view<float> grad_in) const
    {
        trident::detail::check_shape(name(), "grad_out", grad_out, in.rows(), in.cols());
        trident::detail::check_shape(name(), "grad_in", grad_in, in.rows(), in.cols());
        for_each_index(par, in.rows(), [&](std::size_t r) {
            for (std::size_t c = 0; c < in.cols(); ++c)
                grad_in(r, c) = in(r, c) > 0.0f ? grad_out(r, c) : 0.0f;
        });
    }
};

} // namespace trident::model
