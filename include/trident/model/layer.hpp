#pragma once
/// \file layer.hpp
/// The `trident::model::layer` concept: what a type needs to be a layer of a model-parallel network,
/// and `check_layer<L>()`, which asserts each requirement separately with a sentence that names the
/// missing member.
///
/// A micro-batch is a matrix of float, one row per sample.  A stage keeps, for every micro-batch in
/// flight, each layer's input and output and `saved_floats(rows, in)` further floats that forward
/// writes and backward reads (a layer_norm's per-row mean and 1/stddev, say).  With `L& l`,
/// `const L& cl`, `std::size_t rows, in`, the views `matrix_view<const float> x, y, dy`,
/// `matrix_view<float> out, dx`, `std::span<float> saved` and `std::span<const float> csaved`:
///
/// | expression                                   | meaning |
/// |----------------------------------------------|---------|
/// | `cl.output_features(in)` -> std::size_t      | output width for an input `in` wide; std::invalid_argument when `in` does not fit |
/// | `cl.saved_floats(rows, in)` -> std::size_t   | floats forward keeps for backward, per micro-batch |
/// | `l.forward(x, out, saved)`                   | out = f(x); out is rows x output_features(in) |
/// | `cl.backward_input(x, y, csaved, dy, dx)` and `l.backward_weight(x, y, csaved, dy)` | split backward: dx = dL/dx (written); dL/dparameters ADDED into gradients() |
/// |  or `l.backward(x, y, csaved, dy, dx)`        | both at once (layers that do not split) |
/// | `l.parameters()`, `l.gradients()` -> std::span<float> | contiguous, the same size (empty when the layer has none) |
/// | `cl.name()` -> std::string                   | for messages and plans: "dense(4 -> 8)" |
/// | `cl.flops(rows, in)` -> double               | floating-point operations of one forward (an estimate for the planner) |
/// | copy-constructible                           | any_layer and sequential copy layers |
///
/// Optional: `cl.input_features()` -> std::size_t, for layers whose input width is fixed (dense,
/// layer_norm); sequential uses it to check the widths of neighbouring layers at construction.
///
/// Optional: `cl.parameter_placement()` -> std::vector<parameter_shard>, for a layer that books its
/// parameters and gradients itself on devices of its own (the tensor-parallel layers): one
/// {device, floats} per shard, in the order of parameters(), the floats adding up to
/// parameters().size().  A plan and `reference_trainer` then book neither the parameters nor the
/// gradients of such a layer on the stage's device (they are booked where the shards are), and book
/// each shard's optimizer state on the shard's device; the optimizer then updates shard by shard (the
/// built-in optimizers are element-wise, so the result is the same as one update of the whole).
///
/// A layer's forward and backward take no policy: they run where the runtime calls them, inside
/// their device's arena (`device::execute`), and the built-in layers compute with `trident::par`
/// there.  Results must not depend on the thread count (the built-in layers guarantee it: their gemm
/// tiling is fixed by the shapes, their element-wise loops compute each row alone, their sums over
/// rows are serial), and backward_weight / backward must add in a fixed order, so that every
/// schedule gives bitwise the same gradients.
///
/// \code
///   struct scale_layer {              // y = w * x, one parameter
///       std::vector<float> w{1.0f}, g{0.0f};
///       std::size_t output_features(std::size_t in) const { return in; }
///       std::size_t saved_floats(std::size_t, std::size_t) const { return 0; }
///       void forward(trident::matrix_view<const float> x, trident::matrix_view<float> y, std::span<float>);
///       void backward(trident::matrix_view<const float> x, trident::matrix_view<const float> y,
///                     std::span<const float>, trident::matrix_view<const float> dy,
///                     trident::matrix_view<float> dx);
///       std::span<float> parameters() { return w; }
///       std::span<float> gradients() { return g; }
///       std::string name() const { return "scale"; }
///       double flops(std::size_t rows, std::size_t in) const { return double(rows) * in; }
///   };
///   static_assert(trident::model::check_layer<scale_layer>());
/// \endcode
///
/// Complexity: compile time only.

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace trident::model {

namespace detail_layer {
using in_view = matrix_view<const float>;
using out_view = matrix_view<float>;
} // namespace detail_layer

template <class L>
concept layer_output_features = requires(const L& cl, std::size_t in) {
    { cl.output_features(in) } -> std::convertible_to<std::size_t>;
};

template <class L>
concept layer_saved_floats = requires(const L& cl, std::size_t rows, std::size_t in) {
    { cl.saved_floats(rows, in) } -> std::convertible_to<std::size_t>;
};

template <class L>
concept layer_forward = requires(L& l, detail_layer::in_view x, detail_layer::out_view y, std::span<float> saved) {
    l.forward(x, y, saved);
};

template <class L>
concept layer_split_backward = requires(L& l, const L& cl, detail_layer::in_view x, detail_layer::in_view y,
                                        std::span<const float> saved, detail_layer::in_view dy,
                                        detail_layer::out_view dx) {
    cl.backward_input(x, y, saved, dy, dx);
    l.backward_weight(x, y, saved, dy);
};

template <class L>
concept layer_single_backward = requires(L& l, detail_layer::in_view x, detail_layer::in_view y,
                                         std::span<const float> saved, detail_layer::in_view dy,
                                         detail_layer::out_view dx) { l.backward(x, y, saved, dy, dx); };

template <class L>
concept layer_parameters = requires(L& l) {
    { l.parameters() } -> std::convertible_to<std::span<float>>;
    { l.gradients() } -> std::convertible_to<std::span<float>>;
};

template <class L>
concept layer_name = requires(const L& cl) {
    { cl.name() } -> std::convertible_to<std::string>;
};

template <class L>
concept layer_flops = requires(const L& cl, std::size_t rows, std::size_t in) {
    { cl.flops(rows, in) } -> std::convertible_to<double>;
};

/// Where a slice of a layer's parameters (and as many gradients) lives: `floats` of them, booked on
/// `on` by the layer itself (see `parameter_placement()` above).
struct parameter_shard {
    device on;
    std::size_t floats = 0;
};

/// Optional member: the layer books its parameters and gradients on devices of its own.
template <class L>
concept layer_parameter_placement = requires(const L& cl) {
    { cl.parameter_placement() } -> std::convertible_to<std::vector<parameter_shard>>;
};

/// Optional member: a fixed input width.
template <class L>
concept layer_input_features = requires(const L& cl) {
    { cl.input_features() } -> std::convertible_to<std::size_t>;
};

template <class L>
concept layer = std::copy_constructible<L> && layer_output_features<L> && layer_saved_floats<L> &&
                layer_forward<L> && (layer_split_backward<L> || layer_single_backward<L>) && layer_parameters<L> &&
                layer_name<L> && layer_flops<L>;

/// Asserts every requirement of `layer` on L, one static_assert each, naming what is missing;
/// returns true when all hold.  Use: `static_assert(trident::model::check_layer<my_layer>());`
template <class L>
constexpr bool check_layer()
{
    static_assert(std::copy_constructible<L>,
                  "trident::model layer: the layer type must be copy-constructible (any_layer and sequential copy it)");
    static_assert(layer_output_features<L>,
                  "trident::model layer: missing `std::size_t output_features(std::size_t in) const`");
    static_assert(layer_saved_floats<L>,
                  "trident::model layer: missing `std::size_t saved_floats(std::size_t rows, std::size_t in) const`");
    static_assert(layer_forward<L>, "trident::model layer: missing `void forward(matrix_view<const float> in, "
                                    "matrix_view<float> out, std::span<float> saved)`");
    static_assert(layer_split_backward<L> || layer_single_backward<L>,
                  "trident::model layer: missing a backward: either `backward_input(in, out, saved, grad_out, "
                  "grad_in) const` and `backward_weight(in, out, saved, grad_out)`, or `backward(in, out, saved, "
                  "grad_out, grad_in)` (in, out, grad_out: matrix_view<const float>; saved: std::span<const float>; "
                  "grad_in: matrix_view<float>)");
    static_assert(layer_parameters<L>,
                  "trident::model layer: missing `std::span<float> parameters()` and `std::span<float> gradients()`");
    static_assert(layer_name<L>, "trident::model layer: missing `std::string name() const`");
    static_assert(layer_flops<L>,
                  "trident::model layer: missing `double flops(std::size_t rows, std::size_t in) const`");
    return layer<L>;
}

} // namespace trident::model
