#pragma once
/// \file model/tensor_parallel/tensor_parallel_mlp.hpp
/// `trident::model::tensor_parallel_mlp`: Megatron-LM's MLP block, dense(in -> hidden), gelu,
/// dense(hidden -> out), with the hidden features split over K shards on K devices.  See
/// model/tensor_parallel.hpp for what the tensor-parallel layers share (splits, memory,
/// determinism, errors) and an example.

#include "trident/data/gemm.hpp"
#include "trident/detail/layer_shapes.hpp"
#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/detail/tensor_shards.hpp"
#include "trident/model/layers/dense.hpp"
#include "trident/model/layers/gelu.hpp"
#include "trident/policy.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace trident::model {

/// y = gelu(x W1^T + b1) W2^T + b2.  The first dense is column-parallel and the second
/// row-parallel over the same split of the hidden features, so that gelu and everything between
/// the two products stay on each shard: shard s holds [W1_s (h_s x in), b1_s (h_s), W2_s (out x
/// h_s)], and shard 0 then b2 (out).
/// - forward: z_s = x W1_s^T + b1_s (kept in `saved`), a_s = gelu(z_s), p_s = a_s W2_s^T (rows x
///   out); one all_reduce sums the p_s in shard order; y = sum + b2.
/// - backward_input: da_s = dy W2_s, dz_s = gelu'(z_s) da_s, q_s = dz_s W1_s (rows x in); one
///   all_reduce sums the q_s into dx.
/// - backward_weight (no collective): W2_s' += dy^T a_s, b2' += column sums of dy (shard 0),
///   W1_s' += dz_s^T x, b1_s' += column sums of dz_s; a_s and dz_s are recomputed from z_s (one
///   product of rows x out x h_s a shard more than an unsplit backward).
/// saved_floats(rows, in) = rows x hidden: shard s's z_s is the rows x h_s block at rows x offset_s.
class tensor_parallel_mlp {
public:
    /// The split of dense(in, hidden, seed), gelu, dense(hidden, out, seed + 1).
    tensor_parallel_mlp(std::size_t in, std::size_t hidden, std::size_t out, std::vector<device> devices,
                        std::uint64_t seed = 0)
        : tensor_parallel_mlp(dense(in, hidden, seed), dense(hidden, out, seed + 1), std::move(devices))
    {
    }
    /// The split of `first`, gelu, `second` (parameters and gradients).
    /// \throws std::invalid_argument when second's input width is not first's output width.
    tensor_parallel_mlp(const dense& first, const dense& second, std::vector<device> devices)
        : in_(first.input_features()), hidden_(checked_hidden(first, second)), out_(second.output_features()),
          offsets_(detail_tp::split(hidden_, devices.size(), label(in_, hidden_, out_, devices.size()), "hidden")),
          store_(detail_tp::checked_devices(std::move(devices), label(in_, hidden_, out_, offsets_.size() - 1)),
                 sizes(), label(in_, hidden_, out_, offsets_.size() - 1))
    {
        dense a = first, b = second;
        exchange(a, b, true);
    }

    [[nodiscard]] std::size_t shards() const noexcept { return store_.shards(); }
    /// Shard s's hidden features: [shard_offset(s), shard_offset(s) + shard_features(s)).
    [[nodiscard]] std::size_t shard_offset(std::size_t s) const { return offsets_.at(s); }
    [[nodiscard]] std::size_t shard_features(std::size_t s) const { return offsets_.at(s + 1) - offsets_.at(s); }
    [[nodiscard]] const device& shard_device(std::size_t s) const { return store_.devices().at(s); }
    [[nodiscard]] std::size_t input_features() const noexcept { return in_; }
    [[nodiscard]] std::size_t hidden_features() const noexcept { return hidden_; }
    [[nodiscard]] std::size_t output_features() const noexcept { return out_; }
    [[nodiscard]] std::size_t output_features(std::size_t in) const
    {
        trident::detail::check_input_features(name(), in_, in);
        return out_;
    }
    [[nodiscard]] std::size_t saved_floats(std::size_t rows, std::size_t) const noexcept { return rows * hidden_; }
    [[nodiscard]] std::string name() const { return label(in_, hidden_, out_, shards()); }
    [[nodiscard]] double flops(std::size_t rows, std::size_t) const noexcept
    {
        const double r = static_cast<double>(rows), h = static_cast<double>(hidden_);
        return 2.0 * r * h * static_cast<double>(in_ + out_) + 20.0 * r * h;
    }
    [[nodiscard]] std::span<float> parameters() noexcept { return store_.parameters(); }
    [[nodiscard]] std::span<float> gradients() noexcept { return store_.gradients(); }
    /// Shard s's parameters and gradients are booked on shard_device(s) (layer.hpp's optional member).
    [[nodiscard]] std::vector<parameter_shard> parameter_placement() const { return store_.placement(); }

    void forward(matrix_view<const float> in, matrix_view<float> out, std::span<float> saved) const
    {
        (void)output_features(in.cols());
        trident::detail::check_shape(name(), "out", out, in.rows(), out_);
        trident::detail::check_saved(name(), saved.size(), saved_floats(in.rows(), in_));
        if (in.rows() == 0)
            return;
        detail_tp::run_shards(store_.devices(), [&](std::size_t s, comm::communicator c) {
            const std::size_t h = shard_features(s), rows = in.rows();
            const matrix_view<float> z(saved.data() + rows * offsets_[s], rows, h);
            const std::span<const float> b1 = store_.param(s, h * in_, 1, h).row(0);
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = 0; j < h; ++j)
                    z(r, j) = b1[j];
            gemm(par, in, w1(s), z, gemm_options<float>{.alpha = 1.0f, .beta = 1.0f, .transpose_b = true});
            detail_tp::scratch a(shard_device(s), rows, h, name() + " shard " + std::to_string(s) + " gelu output");
            gelu{}.forward(z, a.view(), {});
            detail_tp::scratch partial(shard_device(s), rows, out_,
                                       name() + " shard " + std::to_string(s) + " partial output");
            gemm(par, a.view(), w2(s), partial.view(), gemm_options<float>{.transpose_b = true});
            c.all_reduce(partial.span()); // the forward's one collective
            if (s == 0)
                detail_tp::copy_rows(partial.view(), out, store_.param(0, b2_offset(0), 1, out_).data());
        });
    }

    void backward_input(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                        matrix_view<const float> grad_out, matrix_view<float> grad_in) const
    {
        check_backward(in, out, saved, grad_out);
        trident::detail::check_shape(name(), "grad_in", grad_in, in.rows(), in_);
        if (in.rows() == 0)
            return;
        detail_tp::run_shards(store_.devices(), [&](std::size_t s, comm::communicator c) {
            detail_tp::scratch dz = hidden_gradient(s, saved, grad_out);
            detail_tp::scratch partial(shard_device(s), in.rows(), in_,
                                       name() + " shard " + std::to_string(s) + " partial grad_in");
            gemm(par, dz.view(), w1(s), partial.view(), gemm_options<float>{});
            c.all_reduce(partial.span()); // the backward's one collective
            if (s == 0)
                detail_tp::copy_rows(partial.view(), grad_in, nullptr);
        });
    }

    void backward_weight(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                         matrix_view<const float> grad_out)
    {
        check_backward(in, out, saved, grad_out);
        if (in.rows() == 0)
            return;
        detail_tp::run_shards(store_.devices(), [&](std::size_t s, comm::communicator) {
            const std::size_t h = shard_features(s), rows = in.rows();
            detail_tp::scratch a(shard_device(s), rows, h, name() + " shard " + std::to_string(s) + " gelu output");
            gelu{}.forward(z_of(s, saved, rows), a.view(), {});
            const gemm_options<float> add_at{.alpha = 1.0f, .beta = 1.0f, .transpose_a = true};
            gemm(par, grad_out, a.view(), store_.grad(s, w2_offset(s), out_, h), add_at);
            if (s == 0)
                detail_tp::add_column_sums(grad_out, store_.grad(0, b2_offset(0), 1, out_).data());
            detail_tp::scratch dz = hidden_gradient(s, saved, grad_out);
            gemm(par, dz.view(), in, store_.grad(s, 0, h, in_), add_at);
            detail_tp::add_column_sums(dz.view(), store_.grad(s, h * in_, 1, h).data());
        });
    }

    /// The two dense layers with this block's parameters and gradients, re-assembled.
    [[nodiscard]] std::pair<dense, dense> to_dense() const
    {
        std::pair<dense, dense> full{dense(in_, hidden_), dense(hidden_, out_)};
        const_cast<tensor_parallel_mlp*>(this)->exchange(full.first, full.second, false); // reads the shards only
        return full;
    }

private:
    static std::string label(std::size_t in, std::size_t hidden, std::size_t out, std::size_t k)
    {
        return "tensor_parallel_mlp(" + std::to_string(in) + " -> " + std::to_string(hidden) + " -> " +
               std::to_string(out) + ", " + std::to_string(k) + " shards)";
    }
    static std::size_t checked_hidden(const dense& first, const dense& second)
    {
        if (first.output_features() != second.input_features())
            throw std::invalid_argument("trident::model::tensor_parallel_mlp: the first dense has " +
                                        std::to_string(first.output_features()) +
                                        " outputs but the second takes " + std::to_string(second.input_features()) +
                                        " inputs");
        return first.output_features();
    }
    [[nodiscard]] std::vector<std::size_t> sizes() const
    {
        std::vector<std::size_t> n;
        for (std::size_t s = 0; s + 1 < offsets_.size(); ++s)
            n.push_back((offsets_[s + 1] - offsets_[s]) * (in_ + 1 + out_) + (s == 0 ? out_ : 0));
        return n;
    }
    [[nodiscard]] std::size_t w2_offset(std::size_t s) const { return shard_features(s) * (in_ + 1); }
    [[nodiscard]] std::size_t b2_offset(std::size_t s) const { return w2_offset(s) + out_ * shard_features(s); }
    [[nodiscard]] matrix_view<const float> w1(std::size_t s) const { return store_.param(s, 0, shard_features(s), in_); }
    [[nodiscard]] matrix_view<const float> w2(std::size_t s) const
    {
        return store_.param(s, w2_offset(s), out_, shard_features(s));
    }
    [[nodiscard]] matrix_view<const float> z_of(std::size_t s, std::span<const float> saved, std::size_t rows) const
    {
        return {saved.data() + rows * offsets_[s], rows, shard_features(s)};
    }
    // dz_s = gelu'(z_s) * (dy W2_s), on shard s's device.
    [[nodiscard]] detail_tp::scratch hidden_gradient(std::size_t s, std::span<const float> saved,
                                                     matrix_view<const float> grad_out) const
    {
        const std::size_t h = shard_features(s), rows = grad_out.rows();
        const std::string shard = name() + " shard " + std::to_string(s);
        detail_tp::scratch da(shard_device(s), rows, h, shard + " gelu output gradient");
        gemm(par, grad_out, w2(s), da.view(), gemm_options<float>{});
        detail_tp::scratch dz(shard_device(s), rows, h, shard + " hidden gradient");
        const matrix_view<const float> z = z_of(s, saved, rows);
        gelu{}.backward(z, z, {}, da.view(), dz.view());
        return dz;
    }
    // Copies between (first, second) in dense's layout and the shards: into the shards when
    // `into_shards`, else out of them (the shards are only read then).
    void exchange(dense& first, dense& second, bool into_shards)
    {
        auto move = [into_shards](float& shard, float& whole) {
            if (into_shards)
                shard = whole;
            else
                whole = shard;
        };
        const std::span<float> p1 = first.parameters(), g1 = first.gradients();
        const std::span<float> p2 = second.parameters(), g2 = second.gradients();
        for (std::size_t s = 0; s < shards(); ++s) {
            const std::size_t h = shard_features(s), o = offsets_[s];
            for (std::size_t j = 0; j < h; ++j) {
                for (std::size_t i = 0; i < in_; ++i) { // W1_s row j = W1 row o + j
                    move(store_.param(s, 0, h, in_)(j, i), p1[(o + j) * in_ + i]);
                    move(store_.grad(s, 0, h, in_)(j, i), g1[(o + j) * in_ + i]);
                }
                move(store_.param(s, h * in_, 1, h)(0, j), p1[hidden_ * in_ + o + j]);
                move(store_.grad(s, h * in_, 1, h)(0, j), g1[hidden_ * in_ + o + j]);
                for (std::size_t r = 0; r < out_; ++r) { // W2_s column j = W2 column o + j
                    move(store_.param(s, w2_offset(s), out_, h)(r, j), p2[r * hidden_ + o + j]);
                    move(store_.grad(s, w2_offset(s), out_, h)(r, j), g2[r * hidden_ + o + j]);
                }
            }
        }
        for (std::size_t r = 0; r < out_; ++r) {
            move(store_.param(0, b2_offset(0), 1, out_)(0, r), p2[hidden_ * out_ + r]);
            move(store_.grad(0, b2_offset(0), 1, out_)(0, r), g2[hidden_ * out_ + r]);
        }
    }
    void check_backward(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                        matrix_view<const float> dy) const
    {
        (void)output_features(in.cols());
        trident::detail::check_shape(name(), "out", out, in.rows(), out_);
        trident::detail::check_shape(name(), "grad_out", dy, in.rows(), out_);
        trident::detail::check_saved(name(), saved.size(), saved_floats(in.rows(), in_));
    }

    std::size_t in_, hidden_, out_;
    std::vector<std::size_t> offsets_; // hidden features of shard s: [offsets_[s], offsets_[s + 1])
    detail_tp::shard_storage store_;
};

} // namespace trident::model
