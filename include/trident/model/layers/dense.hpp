#pragma once
/// \file dense.hpp
/// `trident::model::dense(in, out, seed = 0)`: a fully connected layer with bias, y = x W^T + b, as
/// PyTorch's nn.Linear(in, out): W is out x in (row-major), b has out entries.
///
/// - Parameters: [W (out * in floats, row-major), b (out floats)], contiguous; gradients alike.
/// - Initialisation (deterministic from `seed`, the same on every platform): PyTorch's default for
///   Linear, Kaiming-uniform with a = sqrt(5), i.e. every weight and bias uniform in
///   [-1/sqrt(in), 1/sqrt(in)), drawn in order (W row by row, then b) from splitmix64(seed), 24 bits
///   a draw.  Equal seeds and shapes give equal layers.
/// - Products through `trident::gemm` with `trident::par`: forward y = x W^T (+ b, bias rows written
///   first, beta = 1); backward_input dx = dy W; backward_weight W' += dy^T x (beta = 1) and
///   b' += the column sums of dy (rows in order).  Run inside a device's arena
///   (`device::execute`), par stays on that device's threads; gemm's tiling is fixed by the shapes,
///   so results are bitwise the same for any thread count.
/// - saved_floats = 0 (backward uses the kept input).  flops(rows, in) = 2 * rows * in * out for
///   forward; backward_input and backward_weight each cost about as much again.
///
/// \code
///   trident::model::dense layer(4, 8, /*seed*/ 1);
///   std::vector<float> x(2 * 4, 1.0f), y(2 * 8);
///   layer.forward({x.data(), 2, 4}, {y.data(), 2, 8}, {});
/// \endcode
///
/// Requirements: input width == in; out rows == input rows.  Complexity: O(rows * in * out) per call.
/// \throws std::invalid_argument from the constructor when in or out is 0, from output_features when the
///   width differs from in, from forward/backward when a shape does not fit (naming it).

#include "trident/data/gemm.hpp"
#include "trident/detail/layer_shapes.hpp"
#include "trident/detail/seeded_uniform.hpp"
#include "trident/matrix_view.hpp"
#include "trident/policy.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace trident::model {

namespace detail {
/// out = in w^T + b (b added to every row): dense's forward, and a column-parallel shard's.
inline void affine(matrix_view<const float> in, matrix_view<const float> w, std::span<const float> b,
                   matrix_view<float> out)
{
    for (std::size_t r = 0; r < out.rows(); ++r)
        for (std::size_t j = 0; j < out.cols(); ++j)
            out(r, j) = b[j];
    gemm(par, in, w, out, gemm_options<float>{.alpha = 1.0f, .beta = 1.0f, .transpose_b = true});
}
} // namespace detail

class dense {
public:
    dense(std::size_t in, std::size_t out, std::uint64_t seed = 0)
        : in_(checked(in, "in")), out_(checked(out, "out")), parameters_(in * out + out), gradients_(in * out + out, 0.0f)
    {
        trident::detail::seeded_uniform uniform(seed);
        const float bound = 1.0f / std::sqrt(static_cast<float>(in));
        for (float& p : parameters_)
            p = uniform(bound);
    }

    [[nodiscard]] std::size_t input_features() const noexcept { return in_; }
    [[nodiscard]] std::size_t output_features() const noexcept { return out_; }
    [[nodiscard]] std::size_t output_features(std::size_t in) const
    {
        trident::detail::check_input_features(name(), in_, in);
        return out_;
    }
    [[nodiscard]] std::size_t saved_floats(std::size_t, std::size_t) const noexcept { return 0; }
    [[nodiscard]] std::string name() const
    {
        return "dense(" + std::to_string(in_) + " -> " + std::to_string(out_) + ")";
    }
    [[nodiscard]] double flops(std::size_t rows, std::size_t in) const noexcept
    {
        return 2.0 * static_cast<double>(rows) * static_cast<double>(in) * static_cast<double>(out_);
    }
    [[nodiscard]] std::span<float> parameters() noexcept { return parameters_; }
    [[nodiscard]] std::span<float> gradients() noexcept { return gradients_; }
    /// W, out x in.
    [[nodiscard]] matrix_view<const float> weight() const noexcept { return {parameters_.data(), out_, in_}; }
    /// b, out entries.
    [[nodiscard]] std::span<const float> bias() const noexcept { return {parameters_.data() + in_ * out_, out_}; }

    void forward(matrix_view<const float> in, matrix_view<float> out, std::span<float> /*saved*/) const
    {
        (void)output_features(in.cols());
        trident::detail::check_shape(name(), "out", out, in.rows(), out_);
        if (in.rows() == 0)
            return;
        trident::model::detail::affine(in, weight(), bias(), out);
    }

    void backward_input(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> /*saved*/,
                        matrix_view<const float> grad_out, matrix_view<float> grad_in) const
    {
        check_backward(in, out, grad_out);
        trident::detail::check_shape(name(), "grad_in", grad_in, in.rows(), in_);
        if (in.rows() == 0)
            return;
        gemm(par, grad_out, weight(), grad_in, gemm_options<float>{});
    }

    void backward_weight(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> /*saved*/,
                         matrix_view<const float> grad_out)
    {
        check_backward(in, out, grad_out);
        if (in.rows() == 0)
            return;
        matrix_view<float> grad_weight(gradients_.data(), out_, in_);
        gemm(par, grad_out, in, grad_weight, gemm_options<float>{.alpha = 1.0f, .beta = 1.0f, .transpose_a = true});
        float* grad_bias = gradients_.data() + in_ * out_;
        for (std::size_t r = 0; r < grad_out.rows(); ++r)
            for (std::size_t j = 0; j < out_; ++j)
                grad_bias[j] += grad_out(r, j);
    }

private:
    static std::size_t checked(std::size_t n, const char* what)
    {
        if (n == 0)
            throw std::invalid_argument(std::string("trident::model::dense: ") + what + " features must be at least 1, got 0");
        return n;
    }
    void check_backward(matrix_view<const float> in, matrix_view<const float> out,
                        matrix_view<const float> grad_out) const
    {
        (void)output_features(in.cols());
        trident::detail::check_shape(name(), "out", out, in.rows(), out_);
        trident::detail::check_shape(name(), "grad_out", grad_out, in.rows(), out_);
    }

    std::size_t in_;
    std::size_t out_;
    std::vector<float> parameters_; // W (out x in), then b
    std::vector<float> gradients_;
};

} // namespace trident::model
