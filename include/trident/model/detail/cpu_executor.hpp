#pragma once
// The CPU device's compute in a pipeline step (stage_executor.hpp): the host layers of the
// device's stages, run on the calling thread (the caller puts it inside the device's arena), with
// each micro-batch's outputs and saved floats booked on the device as `buffer`s.  A stage that
// recomputes keeps only its input after forward and runs its forward again in backward.

#include "trident/model/detail/stage_executor.hpp"
#include "trident/model/detail/step_context.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace trident::model::detail {

/// "<what> of stage s, micro-batch mb[, layer j]": the label of a booking made in a step.
inline std::string step_label(const char* what, int stage, int mb, int layer = -1)
{
    std::string s = std::string(what) + " of stage " + std::to_string(stage) + ", micro-batch " + std::to_string(mb);
    if (layer >= 0)
        s += ", layer " + std::to_string(layer);
    return s;
}

class cpu_stage_executor final : public stage_executor {
public:
    cpu_stage_executor(step_context& ctx, int device) : ctx_(ctx), dev_((*ctx.devices)[device]) {}

    buffer forward(int stage, int mb, buffer received) override
    {
        const stage_layout& sl = (*ctx_.stages)[stage];
        const int last_stage = static_cast<int>(ctx_.stages->size()) - 1;
        micro_batch_state& st = states_[{stage, mb}];
        if (stage == 0) {
            const row_range r = ctx_.ranges[static_cast<std::size_t>(mb)];
            st.input = ctx_.x.row_block(r.first, r.count);
        } else {
            st.owned_input = std::move(received);
            st.input = st.owned_input.view();
        }
        run_forward(sl, stage, mb, st);
        buffer& logits = st.layers.back().out;
        buffer message;
        if (stage == last_stage) {
            const row_range r = ctx_.ranges[static_cast<std::size_t>(mb)];
            auto targets = ctx_.y.row_block(r.first, r.count);
            ctx_.losses[static_cast<std::size_t>(mb)] = ctx_.loss_value(logits.view(), targets);
            buffer grad(dev_, logits.rows(), logits.cols(), label("loss gradient", stage, mb));
            ctx_.loss_gradient(logits.view(), targets, grad.view(), ctx_.scale);
            message = std::move(grad);
        } else if (sl.recompute) {
            message = std::move(logits);
        } else {
            buffer copy(dev_, logits.rows(), logits.cols(), label("activation to send", stage, mb));
            std::copy(logits.span().begin(), logits.span().end(), copy.span().begin());
            message = std::move(copy);
        }
        if (sl.recompute) { // keep only the input
            st.layers.clear();
            st.forward_kept = false;
        }
        return message;
    }

    buffer backward(int stage, int mb, buffer grad, bool weights) override
    {
        const stage_layout& sl = (*ctx_.stages)[stage];
        auto& layers = ctx_.net->layers();
        const auto& feat = *ctx_.features;
        auto it = states_.find({stage, mb});
        if (it == states_.end())
            throw std::logic_error("trident::model: backward before forward on stage " + std::to_string(stage));
        micro_batch_state& st = it->second;
        if (!st.forward_kept)
            run_forward(sl, stage, mb, st); // recomputation
        bool pending_weights = false;
        for (int j = sl.last - 1; j >= sl.first; --j) {
            auto& ls = st.layers[static_cast<std::size_t>(j - sl.first)];
            auto& layer = layers[static_cast<std::size_t>(j)];
            matrix_view<const float> in =
                j == sl.first ? st.input : st.layers[static_cast<std::size_t>(j - sl.first - 1)].out.view();
            const bool first_of_model = stage == 0 && j == sl.first;
            buffer grad_in;
            if (!first_of_model || !layer.splits_backward())
                grad_in = buffer(dev_, in.rows(), feat[static_cast<std::size_t>(j)], label("input gradient", stage, mb, j));
            if (layer.splits_backward()) {
                if (!first_of_model)
                    layer.backward_input(in, ls.out.view(), ls.saved.span(), grad.view(), grad_in.view());
                if (weights) {
                    layer.backward_weight(in, ls.out.view(), ls.saved.span(), grad.view());
                } else {
                    ls.grad_out = std::move(grad);
                    pending_weights = true;
                }
            } else {
                layer.backward(in, ls.out.view(), ls.saved.span(), grad.view(), grad_in.view());
            }
            grad = std::move(grad_in);
        }
        if (!pending_weights)
            states_.erase(it); // a stage without split layers has nothing left for backward_weight
        return grad;
    }

    void backward_weight(int stage, int mb) override
    {
        const stage_layout& sl = (*ctx_.stages)[stage];
        auto& layers = ctx_.net->layers();
        bool any_split = false;
        for (int j = sl.first; j < sl.last; ++j)
            any_split = any_split || layers[static_cast<std::size_t>(j)].splits_backward();
        if (!any_split)
            return; // backward_input did all of it
        auto it = states_.find({stage, mb});
        if (it == states_.end())
            throw std::logic_error("trident::model: backward_weight before backward_input on stage " +
                                   std::to_string(stage));
        micro_batch_state& st = it->second;
        for (int j = sl.last - 1; j >= sl.first; --j) {
            auto& ls = st.layers[static_cast<std::size_t>(j - sl.first)];
            auto& layer = layers[static_cast<std::size_t>(j)];
            if (!layer.splits_backward())
                continue;
            matrix_view<const float> in =
                j == sl.first ? st.input : st.layers[static_cast<std::size_t>(j - sl.first - 1)].out.view();
            layer.backward_weight(in, ls.out.view(), ls.saved.span(), ls.grad_out.view());
        }
        states_.erase(it);
    }

private:
    struct layer_state {
        buffer out;
        buffer saved;
        buffer grad_out; // kept from backward_input for backward_weight
    };
    struct micro_batch_state {
        buffer owned_input; // a received activation (stage > 0)
        matrix_view<const float> input;
        std::vector<layer_state> layers;
        bool forward_kept = false; // outputs and saved floats present (false after a recomputing forward)
    };

    [[nodiscard]] static std::string label(const char* what, int stage, int mb, int layer = -1)
    {
        return step_label(what, stage, mb, layer);
    }

    // Runs the stage's layers on st.input, filling outputs and saved floats.
    void run_forward(const stage_layout& sl, int stage, int mb, micro_batch_state& st)
    {
        auto& layers = ctx_.net->layers();
        const auto& feat = *ctx_.features;
        st.layers.clear();
        st.layers.resize(static_cast<std::size_t>(sl.last - sl.first));
        matrix_view<const float> in = st.input;
        const std::size_t rows = in.rows();
        for (int j = sl.first; j < sl.last; ++j) {
            auto& ls = st.layers[static_cast<std::size_t>(j - sl.first)];
            auto& layer = layers[static_cast<std::size_t>(j)];
            ls.out = buffer(dev_, rows, feat[static_cast<std::size_t>(j) + 1], label("output", stage, mb, j));
            ls.saved = buffer(dev_, 1, layer.saved_floats(rows, feat[static_cast<std::size_t>(j)]),
                              label("saved floats", stage, mb, j));
            layer.forward(in, ls.out.view(), ls.saved.span());
            in = ls.out.view();
        }
        st.forward_kept = true;
    }

    step_context& ctx_;
    const device& dev_;
    std::map<std::pair<int, int>, micro_batch_state> states_;
};

} // namespace trident::model::detail
