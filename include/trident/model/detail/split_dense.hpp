#pragma once
// What column_parallel_dense and row_parallel_dense share: the widths, the split of one side's
// features over the shards, the shards' storage, and the layer-concept members that follow from
// those alone (model/tensor_parallel/).

#include "trident/detail/layer_shapes.hpp"
#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/detail/tensor_shards.hpp"

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace trident::model::detail_tp {

class split_dense {
public:
    [[nodiscard]] std::size_t shards() const noexcept { return store_.shards(); }
    [[nodiscard]] std::size_t shard_offset(std::size_t s) const { return offsets_.at(s); }
    [[nodiscard]] std::size_t shard_features(std::size_t s) const { return offsets_.at(s + 1) - offsets_.at(s); }
    [[nodiscard]] const device& shard_device(std::size_t s) const { return store_.devices().at(s); }
    [[nodiscard]] std::size_t input_features() const noexcept { return in_; }
    [[nodiscard]] std::size_t output_features() const noexcept { return out_; }
    [[nodiscard]] std::size_t output_features(std::size_t in) const
    {
        trident::detail::check_input_features(name(), in_, in);
        return out_;
    }
    [[nodiscard]] std::size_t saved_floats(std::size_t, std::size_t) const noexcept { return 0; }
    [[nodiscard]] std::string name() const { return label(shards()); }
    [[nodiscard]] double flops(std::size_t rows, std::size_t) const noexcept
    {
        return 2.0 * static_cast<double>(rows) * static_cast<double>(in_) * static_cast<double>(out_);
    }
    [[nodiscard]] std::span<float> parameters() noexcept { return store_.parameters(); }
    [[nodiscard]] std::span<float> gradients() noexcept { return store_.gradients(); }
    /// Shard s's parameters and gradients are booked on shard_device(s) (layer.hpp's optional member).
    [[nodiscard]] std::vector<parameter_shard> parameter_placement() const { return store_.placement(); }

protected:
    // `kind` names the layer in messages; the features of side `side` ("input" or "output", `split`
    // of them) are split over the devices; shard_floats(offsets) gives each shard's parameter count.
    template <class ShardFloats>
    split_dense(std::string kind, std::size_t in, std::size_t out, std::vector<device> devices, const char* side,
                ShardFloats&& shard_floats)
        : kind_(std::move(kind)), in_(in), out_(out),
          offsets_(split(side[0] == 'i' ? in : out, devices.size(), label(devices.size()), side)),
          store_(checked_devices(std::move(devices), label(offsets_.size() - 1)), shard_floats(offsets_),
                 label(offsets_.size() - 1))
    {
    }

    void check_backward(matrix_view<const float> in, matrix_view<const float> out, matrix_view<const float> dy) const
    {
        (void)output_features(in.cols());
        trident::detail::check_shape(name(), "out", out, in.rows(), out_);
        trident::detail::check_shape(name(), "grad_out", dy, in.rows(), out_);
    }

    std::string kind_;
    std::size_t in_, out_;
    std::vector<std::size_t> offsets_; // the split side's features of shard s: [offsets_[s], offsets_[s + 1])
    shard_storage store_;

private:
    [[nodiscard]] std::string label(std::size_t shards) const
    {
        return kind_ + "(" + std::to_string(in_) + " -> " + std::to_string(out_) + ", " + std::to_string(shards) +
               " shards)";
    }
};

} // namespace trident::model::detail_tp
