#pragma once
/// \file model/tensor_parallel/row_parallel_dense.hpp
/// `trident::model::row_parallel_dense`: a dense layer whose inputs are split over K shards on K
/// devices.  See model/tensor_parallel.hpp for what the tensor-parallel layers share (splits,
/// memory, determinism, errors) and an example.

#include "trident/data/gemm.hpp"
#include "trident/detail/layer_shapes.hpp"
#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/detail/split_dense.hpp"
#include "trident/model/detail/tensor_shards.hpp"
#include "trident/model/layers/dense.hpp"
#include "trident/policy.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace trident::model {

/// y = x W^T + b with W's columns (the inputs) split over the shards.  Shard s holds W_s (the
/// columns of its inputs, out x features_s); shard 0 also holds b: parameters() = [W_0, b, W_1,
/// W_2, ...].  Forward: each shard computes x_s W_s^T (rows x out) from its input columns x_s, an
/// all_reduce sums them in shard order, b is added once.  backward_input: each shard writes its
/// columns of dx = dy W_s (no collective).  backward_weight: W_s' += dy^T x_s per shard, b' += the
/// column sums of dy on shard 0.
class row_parallel_dense : public detail_tp::split_dense {
public:
    /// The split of `dense(in, out, seed)` over devices.size() shards.
    row_parallel_dense(std::size_t in, std::size_t out, std::vector<device> devices, std::uint64_t seed = 0)
        : row_parallel_dense(dense(in, out, seed), std::move(devices))
    {
    }
    /// The split of `full`'s parameters and gradients.
    row_parallel_dense(const dense& full, std::vector<device> devices)
        : split_dense("row_parallel_dense", full.input_features(), full.output_features(), std::move(devices), "input",
                      [out = full.output_features()](const std::vector<std::size_t>& offsets) {
                          std::vector<std::size_t> n;
                          for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
                              n.push_back((offsets[s + 1] - offsets[s]) * out + (s == 0 ? out : 0)); // W_s (+ b)
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
        detail_tp::run_shards(store_.devices(), [&](std::size_t s, comm::communicator c) {
            detail_tp::scratch partial(shard_device(s), in.rows(), out_,
                                       name() + " shard " + std::to_string(s) + " partial output");
            gemm(par, in.col_block(offsets_[s], shard_features(s)), weight(s), partial.view(),
                 gemm_options<float>{.transpose_b = true});
            c.all_reduce(partial.span()); // sum over shards, in shard order
            if (s == 0)
                detail_tp::copy_rows(partial.view(), out, bias().data());
        });
    }

    void backward_input(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> /*saved*/,
                        matrix_view<const float> grad_out, matrix_view<float> grad_in) const
    {
        check_backward(in, out, grad_out);
        trident::detail::check_shape(name(), "grad_in", grad_in, in.rows(), in_);
        if (in.rows() == 0)
            return;
        detail_tp::run_shards(store_.devices(), [&](std::size_t s, comm::communicator) {
            gemm(par, grad_out, weight(s), grad_in.col_block(offsets_[s], shard_features(s)), gemm_options<float>{});
        });
    }

    void backward_weight(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> /*saved*/,
                         matrix_view<const float> grad_out)
    {
        check_backward(in, out, grad_out);
        if (in.rows() == 0)
            return;
        detail_tp::run_shards(store_.devices(), [&](std::size_t s, comm::communicator) {
            gemm(par, grad_out, in.col_block(offsets_[s], shard_features(s)), store_.grad(s, 0, out_, shard_features(s)),
                 gemm_options<float>{.alpha = 1.0f, .beta = 1.0f, .transpose_a = true});
            if (s == 0)
                detail_tp::add_column_sums(grad_out, store_.grad(0, out_ * shard_features(0), 1, out_).data());
        });
    }

    /// A dense layer with this layer's parameters and gradients, re-assembled in dense's layout.
    [[nodiscard]] dense to_dense() const
    {
        dense full(in_, out_);
        const_cast<row_parallel_dense*>(this)->exchange(full, false);
        return full;
    }

private:
    [[nodiscard]] matrix_view<const float> weight(std::size_t s) const { return store_.param(s, 0, out_, shard_features(s)); }
    [[nodiscard]] std::span<const float> bias() const { return store_.param(0, out_ * shard_features(0), 1, out_).row(0); }

    // Copies the parameters and gradients between `full` (dense's layout) and the shards: into the
    // shards when `into_shards`, else out of them (this object is not changed then).
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
            const matrix_view<float> w = store_.param(s, 0, out_, shard_features(s));
            const matrix_view<float> gw = store_.grad(s, 0, out_, shard_features(s));
            for (std::size_t o = 0; o < out_; ++o)
                for (std::size_t j = 0; j < shard_features(s); ++j) {
                    move(w(o, j), p[o * in_ + offsets_[s] + j]);
                    move(gw(o, j), g[o * in_ + offsets_[s] + j]);
                }
        }
        const matrix_view<float> b = store_.param(0, out_ * shard_features(0), 1, out_);
        const matrix_view<float> gb = store_.grad(0, out_ * shard_features(0), 1, out_);
        for (std::size_t o = 0; o < out_; ++o) {
            move(b(0, o), p[in_ * out_ + o]);
            move(gb(0, o), g[in_ * out_ + o]);
        }
    }
};

} // namespace trident::model
