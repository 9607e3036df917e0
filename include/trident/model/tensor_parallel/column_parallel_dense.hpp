#pragma once
/// \file model/tensor_parallel/column_parallel_dense.hpp
/// `trident::model::column_parallel_dense`: a dense layer whose outputs are split over K shards on
/// K devices.  See model/tensor_parallel.hpp for what the tensor-parallel layers share (splits,
/// memory, determinism, errors) and an example.

#include "trident/data/gemm.hpp"
#include "trident/detail/layer_shapes.hpp"
#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/detail/split_dense.hpp"
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

/// y = x W^T + b with W's rows (the outputs) split over the shards.  Shard s holds W_s (its
/// outputs' rows of W, features_s x in) then b_s: parameters() = [W_0, b_0, W_1, b_1, ...].
/// Forward: each shard writes y's columns of its outputs (no collective).  backward_input: each
/// shard computes dy_s W_s (rows x in), an all_reduce sums them into dx.  backward_weight: W_s' +=
/// dy_s^T x, b_s' += column sums of dy_s, per shard.
class column_parallel_dense : public detail_tp::split_dense {
public:
    /// The split of `dense(in, out, seed)` over devices.size() shards.
    column_parallel_dense(std::size_t in, std::size_t out, std::vector<device> devices, std::uint64_t seed = 0)
        : column_parallel_dense(dense(in, out, seed), std::move(devices))
    {
    }
    /// The split of `full`'s parameters and gradients.
    column_parallel_dense(const dense& full, std::vector<device> devices)
        : split_dense("column_parallel_dense", full.input_features(), full.output_features(), std::move(devices), "output",
                      [in = full.input_features()](const std::vector<std::size_t>& offsets) {
                          std::vector<std::size_t> n;
                          for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
                              n.push_back((offsets[s + 1] - offsets[s]) * (in + 1)); // W_s, b_s
                          return n;
                      })
    {
        dense copy = full;
        exchange(copy, true);
    }


    void forward(matrix_view<const float> in, matrix_view<float> out, std::span<float> /*saved*/) const
    {
        (void)output_features(in.cols());
        trident::detail::check_shape(name(), "out", out, in.rows(), out_);
        if (in.rows() == 0)
            return;
        detail_tp::run_shards(store_.devices(), [&](std::size_t s, comm::communicator) {
            trident::model::detail::affine(in, weight(s), bias(s), out.col_block(offsets_[s], shard_features(s)));
        });
    }

    void backward_input(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> /*saved*/,
                        matrix_view<const float> grad_out, matrix_view<float> grad_in) const
    {
        check_backward(in, out, grad_out);
        trident::detail::check_shape(name(), "grad_in", grad_in, in.rows(), in_);
        if (in.rows() == 0)
            return;
        detail_tp::run_shards(store_.devices(), [&](std::size_t s, comm::communicator c) {
            detail_tp::scratch partial(shard_device(s), in.rows(), in_,
                                       name() + " shard " + std::to_string(s) + " partial grad_in");
            gemm(par, grad_out.col_block(offsets_[s], shard_features(s)), weight(s), partial.view(),
                 gemm_options<float>{});
            c.all_reduce(partial.span()); // sum over shards, in shard order
            if (s == 0)
                detail_tp::copy_rows(partial.view(), grad_in, nullptr);
        });
    }

    void backward_weight(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> /*saved*/,
                         matrix_view<const float> grad_out)
    {
        check_backward(in, out, grad_out);
        if (in.rows() == 0)
            return;
        detail_tp::run_shards(store_.devices(), [&](std::size_t s, comm::communicator) {
            const matrix_view<const float> dy = grad_out.col_block(offsets_[s], shard_features(s));
            gemm(par, dy, in, store_.grad(s, 0, shard_features(s), in_),
                 gemm_options<float>{.alpha = 1.0f, .beta = 1.0f, .transpose_a = true});
            detail_tp::add_column_sums(dy, grad_bias(s).data());
        });
    }

    /// A dense layer with this layer's parameters and gradients, re-assembled in dense's layout.
    [[nodiscard]] dense to_dense() const
    {
        dense full(in_, out_);
        const_cast<column_parallel_dense*>(this)->exchange(full, false); // reads the shards only
        return full;
    }

private:
    [[nodiscard]] matrix_view<const float> weight(std::size_t s) const { return store_.param(s, 0, shard_features(s), in_); }
    [[nodiscard]] std::span<const float> bias(std::size_t s) const
    {
        return store_.param(s, shard_features(s) * in_, 1, shard_features(s)).row(0);
    }
    [[nodiscard]] std::span<float> grad_bias(std::size_t s)
    {
        return store_.grad(s, shard_features(s) * in_, 1, shard_features(s)).row(0);
    }
    // Copies the parameters and gradients between `full` (dense's layout) and the shards: into the
    // shards when `into_shards`, else out of them (the shards are only read then).
    void exchange(dense& full, bool into_shards)
    {
        std::span<float> p = full.parameters(), g = full.gradients();
        auto move = [into_shards](float& shard, float& whole) {
            if (into_shards)
                shard = whole;
            else
                whole = shard;
        };
        for (std::size_t s = 0; s < shards(); ++s) {
            const std::size_t n = shard_features(s);
            const matrix_view<float> w = store_.param(s, 0, n, in_), gw = store_.grad(s, 0, n, in_);
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t o = offsets_[s] + j;
                for (std::size_t i = 0; i < in_; ++i) {
                    move(w(j, i), p[o * in_ + i]);
                    move(gw(j, i), g[o * in_ + i]);
                }
            }
            const matrix_view<float> b = store_.param(s, n * in_, 1, n), gb = store_.grad(s, n * in_, 1, n);
            for (std::size_t j = 0; j < n; ++j) {
                move(b(0, j), p[in_ * out_ + offsets_[s] + j]);
                move(gb(0, j), g[in_ * out_ + offsets_[s] + j]);
            }
        }
    }
};

} // namespace trident::model
