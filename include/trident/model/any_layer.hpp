#pragma once
/// \file any_layer.hpp
/// `trident::model::any_layer`: any type that models `trident::model::layer` (layer.hpp), behind one
/// type (type erasure with a value's semantics: copying an any_layer copies the layer).  What
/// `sequential` holds and what a stage runs.
///
/// Every layer looks split through it: `backward_input` and `backward_weight` exist for all.  For a
/// layer with only `backward` (relu, gelu, a user's), `splits_backward()` is false,
/// `backward_input` runs the whole backward (weight gradients included) and `backward_weight` does
/// nothing; a zero-bubble schedule thus still computes every gradient once.  `backward` runs both
/// parts of a split layer.
///
/// \code
///   trident::model::any_layer l = trident::model::dense(4, 8, 1);
///   std::printf("%s, %zu parameters\n", l.name().c_str(), l.parameters().size());   // dense(4 -> 8), 40
///   if (auto* d = l.target<trident::model::dense>()) { /* the dense inside */ }
/// \endcode
///
/// Requirements: the layer type passes `check_layer` (a static_assert names a missing member).
/// Complexity: one virtual call per member call; copying copies the layer (its parameters).
/// \throws whatever the layer throws; std::logic_error from every member but splits_backward() and
///   target() on an empty (default-constructed or moved-from) any_layer.

#include "trident/matrix_view.hpp"
#include "trident/model/layer.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident::model {

class any_layer {
public:
    /// Empty: holds no layer (every call but target() throws std::logic_error).
    any_layer() = default;

    /// Holds a copy (or the moved value) of `l`.
    template <class L>
        requires(!std::is_same_v<std::remove_cvref_t<L>, any_layer>)
    any_layer(L&& l) // NOLINT(google-explicit-constructor): layers convert, as in sequential{dense(..), relu()}
    {
        using T = std::remove_cvref_t<L>;
        static_assert(check_layer<T>());
        impl_ = std::make_unique<holder<T>>(std::forward<L>(l));
    }

    any_layer(const any_layer& other) : impl_(other.impl_ ? other.impl_->clone() : nullptr) {}
    any_layer(any_layer&&) noexcept = default;
    any_layer& operator=(const any_layer& other)
    {
        if (this != &other)
            impl_ = other.impl_ ? other.impl_->clone() : nullptr;
        return *this;
    }
    any_layer& operator=(any_layer&&) noexcept = default;
    ~any_layer() = default;

    [[nodiscard]] bool has_value() const noexcept { return impl_ != nullptr; }
    /// The layer inside when it is an L, else nullptr.
    template <class L>
    [[nodiscard]] L* target() noexcept
    {
        auto* m = dynamic_cast<holder<L>*>(impl_.get());
        return m ? &m->layer : nullptr;
    }
    template <class L>
    [[nodiscard]] const L* target() const noexcept
    {
        auto* m = dynamic_cast<const holder<L>*>(impl_.get());
        return m ? &m->layer : nullptr;
    }

    [[nodiscard]] std::size_t output_features(std::size_t in) const { return get().output_features(in); }
    /// The layer's fixed input width when it declares one (`input_features()`), else nullopt.
    [[nodiscard]] std::optional<std::size_t> input_features() const { return get().input_features(); }
    [[nodiscard]] std::size_t saved_floats(std::size_t rows, std::size_t in) const
    {
        return get().saved_floats(rows, in);
    }
    [[nodiscard]] std::string name() const { return get().name(); }
    [[nodiscard]] double flops(std::size_t rows, std::size_t in) const { return get().flops(rows, in); }
    [[nodiscard]] std::span<float> parameters() { return get().parameters(); }
    [[nodiscard]] std::span<float> gradients() { return get().gradients(); }
    /// Where the layer books its parameters itself (`parameter_placement()`, layer.hpp), shard by
    /// shard; empty for a layer without that member (its stage's device holds its parameters).
    [[nodiscard]] std::vector<parameter_shard> parameter_placement() const { return get().parameter_placement(); }
    /// Whether the layer has backward_input / backward_weight of its own.
    [[nodiscard]] bool splits_backward() const noexcept { return impl_ && impl_->splits(); }

    void forward(matrix_view<const float> in, matrix_view<float> out, std::span<float> saved)
    {
        get().forward(in, out, saved);
    }
    /// Writes grad_in; for a layer that does not split, also adds its weight gradients.
    void backward_input(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                        matrix_view<const float> grad_out, matrix_view<float> grad_in) const
    {
        get().backward_input(in, out, saved, grad_out, grad_in);
    }
    /// Adds the weight gradients (nothing for a layer that does not split: backward_input did).
    void backward_weight(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                         matrix_view<const float> grad_out)
    {
        get().backward_weight(in, out, saved, grad_out);
    }
    /// Both: grad_in written, weight gradients added.
    void backward(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                  matrix_view<const float> grad_out, matrix_view<float> grad_in)
    {
        get().backward_input(in, out, saved, grad_out, grad_in);
        get().backward_weight(in, out, saved, grad_out);
    }

private:
    struct concept_base {
        virtual ~concept_base() = default;
        [[nodiscard]] virtual std::unique_ptr<concept_base> clone() const = 0;
        [[nodiscard]] virtual bool splits() const noexcept = 0;
        [[nodiscard]] virtual std::size_t output_features(std::size_t) const = 0;
        [[nodiscard]] virtual std::optional<std::size_t> input_features() const = 0;
        [[nodiscard]] virtual std::size_t saved_floats(std::size_t, std::size_t) const = 0;
        [[nodiscard]] virtual std::string name() const = 0;
        [[nodiscard]] virtual double flops(std::size_t, std::size_t) const = 0;
        [[nodiscard]] virtual std::span<float> parameters() = 0;
        [[nodiscard]] virtual std::span<float> gradients() = 0;
        [[nodiscard]] virtual std::vector<parameter_shard> parameter_placement() const = 0;
        virtual void forward(matrix_view<const float>, matrix_view<float>, std::span<float>) = 0;
        virtual void backward_input(matrix_view<const float>, matrix_view<const float>, std::span<const float>,
                                    matrix_view<const float>, matrix_view<float>) = 0;
        virtual void backward_weight(matrix_view<const float>, matrix_view<const float>, std::span<const float>,
                                     matrix_view<const float>) = 0;
    };

    template <class L>
    struct holder final : concept_base {
        template <class U>
        explicit holder(U&& u) : layer(std::forward<U>(u))
        {
        }
        std::unique_ptr<concept_base> clone() const override { return std::make_unique<holder>(layer); }
        bool splits() const noexcept override { return layer_split_backward<L>; }
        std::size_t output_features(std::size_t in) const override { return layer.output_features(in); }
        std::optional<std::size_t> input_features() const override
        {
            if constexpr (layer_input_features<L>)
                return static_cast<std::size_t>(layer.input_features());
            else
                return std::nullopt;
        }
        std::size_t saved_floats(std::size_t rows, std::size_t in) const override
        {
            return layer.saved_floats(rows, in);
        }
        std::string name() const override { return layer.name(); }
        double flops(std::size_t rows, std::size_t in) const override { return layer.flops(rows, in); }
        std::span<float> parameters() override { return layer.parameters(); }
        std::span<float> gradients() override { return layer.gradients(); }
        std::vector<parameter_shard> parameter_placement() const override
        {
            if constexpr (layer_parameter_placement<L>)
                return layer.parameter_placement();
            else
                return {};
        }
        void forward(matrix_view<const float> in, matrix_view<float> out, std::span<float> saved) override
        {
            layer.forward(in, out, saved);
        }
        void backward_input(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                            matrix_view<const float> grad_out, matrix_view<float> grad_in) override
        {
            if constexpr (layer_split_backward<L>)
                layer.backward_input(in, out, saved, grad_out, grad_in);
            else
                layer.backward(in, out, saved, grad_out, grad_in);
        }
        void backward_weight(matrix_view<const float> in, matrix_view<const float> out, std::span<const float> saved,
                             matrix_view<const float> grad_out) override
        {
            if constexpr (layer_split_backward<L>)
                layer.backward_weight(in, out, saved, grad_out);
        }

        L layer;
    };

    [[nodiscard]] concept_base& get() const
    {
        if (!impl_)
            throw std::logic_error("trident::model::any_layer: no layer held (default-constructed or moved from)");
        return *impl_;
    }

    std::unique_ptr<concept_base> impl_;
};

} // namespace trident::model
