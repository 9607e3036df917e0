#pragma once
/// \file sequential.hpp
/// `trident::model::sequential`: a network as a list of layers run one after the other (a vector of
/// `any_layer`), what `shard` splits into stages.
///
/// Built from layer values (each moved into an any_layer):
/// \code
///   namespace mp = trident::model;
///   mp::sequential net{mp::dense(4, 8, /*seed*/ 1), mp::relu(), mp::dense(8, 2, /*seed*/ 2)};
///   net.output_features(4);     // 2
///   net[0].name();              // "dense(4 -> 8)"
/// \endcode
///
/// The widths are checked at construction: from the first layer that declares its input width
/// (`input_features()`: dense, layer_norm), each layer's output must be a width the next layer takes;
/// otherwise std::invalid_argument names the layer index, its name and both widths ("layer 2,
/// dense(6 -> 2), takes 6 input features, but layer 1, relu, gives 8").  Layers of any width (relu,
/// gelu) before the first fixed one take the width given to forward.
///
/// Copying a sequential copies its layers (parameters and gradients); a net built twice from the same
/// seeds is equal to its copy.
///
/// Requirements: each constructor argument models `layer` (check_layer's static_assert names what is
/// missing) or is an any_layer.  Complexity: construction O(layers); the width queries O(layers).
/// \throws std::invalid_argument as above; any_layer's std::logic_error for an empty any_layer.

#include "trident/model/any_layer.hpp"

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident::model {

class sequential {
public:
    sequential() = default;

    /// The layers, in order (layer values or any_layer).  \throws std::invalid_argument on a width mismatch.
    template <class... Layers>
        requires(sizeof...(Layers) > 0 && (!std::is_same_v<std::remove_cvref_t<Layers>, sequential> && ...) &&
                 (!std::is_same_v<std::remove_cvref_t<Layers>, std::vector<any_layer>> && ...))
    sequential(Layers&&... layers) // NOLINT(google-explicit-constructor)
    {
        layers_.reserve(sizeof...(Layers));
        (layers_.emplace_back(std::forward<Layers>(layers)), ...);
        check_widths();
    }

    /// From a vector of layers (built at run time).  \throws std::invalid_argument on a width mismatch.
    explicit sequential(std::vector<any_layer> layers) : layers_(std::move(layers)) { check_widths(); }

    [[nodiscard]] std::size_t size() const noexcept { return layers_.size(); }
    [[nodiscard]] bool empty() const noexcept { return layers_.empty(); }
    [[nodiscard]] any_layer& operator[](std::size_t i) { return layers_[i]; }
    [[nodiscard]] const any_layer& operator[](std::size_t i) const { return layers_[i]; }
    [[nodiscard]] auto begin() noexcept { return layers_.begin(); }
    [[nodiscard]] auto end() noexcept { return layers_.end(); }
    [[nodiscard]] auto begin() const noexcept { return layers_.begin(); }
    [[nodiscard]] auto end() const noexcept { return layers_.end(); }
    [[nodiscard]] std::vector<any_layer>& layers() noexcept { return layers_; }
    [[nodiscard]] const std::vector<any_layer>& layers() const noexcept { return layers_; }

    /// The input width of the first layer when it declares one, else nullopt (any width).
    [[nodiscard]] std::optional<std::size_t> input_features() const
    {
        return layers_.empty() ? std::nullopt : layers_.front().input_features();
    }

    /// The width after layer i for every i, for an input `in` wide.
    /// \throws std::invalid_argument naming the first layer that does not take its input's width.
    [[nodiscard]] std::vector<std::size_t> widths(std::size_t in) const
    {
        std::vector<std::size_t> result;
        result.reserve(layers_.size());
        std::size_t width = in;
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            width = through(i, width, i == 0 ? std::string("the input") : describe(i - 1));
            result.push_back(width);
        }
        return result;
    }

    /// The network's output width for an input `in` wide (in itself for an empty network).
    [[nodiscard]] std::size_t output_features(std::size_t in) const
    {
        const auto w = widths(in);
        return w.empty() ? in : w.back();
    }

    /// Parameters of all layers together.
    [[nodiscard]] std::size_t parameter_count() const
    {
        std::size_t n = 0;
        for (const any_layer& l : layers_)
            n += const_cast<any_layer&>(l).parameters().size();
        return n;
    }

    /// Sets every layer's gradients to zero.
    void zero_gradients()
    {
        for (any_layer& l : layers_)
            for (float& g : l.gradients())
                g = 0.0f;
    }

private:
    [[nodiscard]] std::string describe(std::size_t i) const
    {
        return "layer " + std::to_string(i) + ", " + layers_[i].name() + ",";
    }

    [[nodiscard]] std::size_t through(std::size_t i, std::size_t width, const std::string& from) const
    {
        try {
            return layers_[i].output_features(width);
        } catch (const std::invalid_argument& e) {
            std::string what = "trident::model::sequential: " + describe(i);
            if (const auto fixed = layers_[i].input_features())
                what += " takes " + std::to_string(*fixed) + " input features";
            else
                what += " does not take " + std::to_string(width) + " input features (" + e.what() + ")";
            throw std::invalid_argument(what + ", but " + from + " gives " + std::to_string(width));
        }
    }

    void check_widths() const
    {
        std::optional<std::size_t> width;
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            if (width)
                width = through(i, *width, describe(i - 1));
            else if (const auto fixed = layers_[i].input_features())
                width = layers_[i].output_features(*fixed);
        }
    }

    std::vector<any_layer> layers_;
};

} // namespace trident::model
