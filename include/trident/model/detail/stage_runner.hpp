#pragma once
// The driver of one device in a pipeline step: runs the device's action list in order, on the
// calling thread (the caller puts it inside the device's arena).  Its state is its own: the
// per-micro-batch activations of its stages and the messages produced or received and not yet
// consumed; only the mailboxes and the step_context's error slot are shared.
//
// Message keys: a forward of stage s leaves {activation, s, mb} (consumed by stage s + 1's forward,
// locally or after send/receive); the last stage's forward leaves the loss gradient as
// {gradient, stages, mb}; a backward of stage s consumes {gradient, s + 1, mb} and leaves
// {gradient, s, mb} (nothing for stage 0).  A send moves a message to the peer's mailbox (its
// booking stays on the sender while in transit); a receive waits for it there and books it on the
// receiving device.
//
// Inside a trident::explain region every action is also recorded as an explain event on the
// device's thread (its worker): F, B, W, BW as compute, a receive as idle (its wait), a send as
// communication, labelled as the schedule prints it ("F3.1", "RA1.0<0"), so that explain's Chrome
// trace has one row per device and its busy time is the devices' work.

#include "trident/detail/recorder.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/model/detail/step_context.hpp"
#include "trident/model/step_error.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace trident::model::detail {

class device_runner {
public:
    device_runner(step_context& ctx, int device) : ctx_(ctx), device_(device), dev_((*ctx.devices)[device]) {}

    /// Runs `actions`; returns normally when they all ran, or when the step was stopped (an error
    /// elsewhere, or here: recorded in the context; a stop request).  Never throws.
    void run(const std::vector<action>& actions)
    {
        auto& timeline = ctx_.timeline[device_];
        timeline.reserve(actions.size());
        for (const action& a : actions) {
            if (ctx_.stopping.load())
                return;
            const double t0 = ctx_.since_start();
            const bool recording = trident::detail::recording();
            const std::uint64_t tick0 = recording ? trident::detail::ticks() : 0;
            try {
                execute(a);
            } catch (const step_aborted&) {
                return;
            } catch (...) {
                ctx_.fail(wrap(a));
                return;
            }
            const double t1 = ctx_.since_start();
            if (recording)
                record(a, tick0);
            timeline.push_back({device_, a, t0, t1});
            if (model::is_compute(a.kind))
                ctx_.busy[device_] += t1 - t0;
        }
    }

    /// A stage_error for action `a` nesting the exception being handled (call inside a catch block).
    [[nodiscard]] std::exception_ptr wrap(const action& a) const
    {
        std::string original = "unknown exception";
        try {
            throw;
        } catch (const std::exception& e) {
            original = e.what();
        } catch (...) {
        }
        return std::make_exception_ptr(stage_error(a.stage, a.micro_batch, a.kind, where(a.stage), original));
    }

private:
    static void record(const action& a, std::uint64_t begin) noexcept
    {
        const std::uint64_t end = trident::detail::ticks();
        try {
            const std::uint32_t label = trident::detail::recorder::instance().intern(to_string(a));
            const auto category = model::is_compute(a.kind) ? trident::detail::event_category::compute
                                  : (a.kind == action_kind::receive_activation || a.kind == action_kind::receive_gradient)
                                      ? trident::detail::event_category::idle
                                      : trident::detail::event_category::communication;
            trident::detail::record_event(label, category, trident::detail::host_device, begin, end);
        } catch (...) { // interning allocates: a recording that cannot grow loses the event
        }
    }

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

    [[nodiscard]] std::string where(int stage) const
    {
        if (stage < 0 || stage >= static_cast<int>(ctx_.stages->size()))
            return "on " + dev_.name();
        const stage_layout& st = (*ctx_.stages)[stage];
        return "layers " + std::to_string(st.first) + ".." + std::to_string(st.last - 1) + " on " + dev_.name();
    }

    [[nodiscard]] std::string label(const char* what, int stage, int mb, int layer = -1) const
    {
        std::string s = std::string(what) + " of stage " + std::to_string(stage) + ", micro-batch " + std::to_string(mb);
        if (layer >= 0)
            s += ", layer " + std::to_string(layer);
        return s;
    }

    void execute(const action& a)
    {
        switch (a.kind) {
        case action_kind::forward: forward(a.stage, a.micro_batch); break;
        case action_kind::backward_input: backward(a.stage, a.micro_batch, /*weights*/ false); break;
        case action_kind::backward: backward(a.stage, a.micro_batch, /*weights*/ true); break;
        case action_kind::backward_weight: backward_weight(a.stage, a.micro_batch); break;
        case action_kind::send_activation: send({message_kind::activation, a.stage, a.micro_batch}, a.peer); break;
        case action_kind::send_gradient: send({message_kind::gradient, a.stage, a.micro_batch}, a.peer); break;
        case action_kind::receive_activation:
            receive({message_kind::activation, a.stage - 1, a.micro_batch}, "activation received");
            break;
        case action_kind::receive_gradient:
            receive({message_kind::gradient, a.stage + 1, a.micro_batch}, "gradient received");
            break;
        }
    }

    buffer take_local(message_key key)
    {
        auto it = produced_.find(key);
        if (it == produced_.end())
            throw std::logic_error(std::string("trident::model: the ") +
                                   (key.kind == message_kind::activation ? "activation" : "gradient") +
                                   " of stage " + std::to_string(key.stage) + ", micro-batch " +
                                   std::to_string(key.micro_batch) + " is not on device " + dev_.name());
        buffer b = std::move(it->second);
        produced_.erase(it);
        return b;
    }

    void send(message_key key, int peer) { (*ctx_.mailboxes)[peer]->put(key, take_local(key)); }

    void receive(message_key key, const char* what)
    {
        buffer b = (*ctx_.mailboxes)[device_]->take(key);
        b.rebook(dev_, label(what, key.stage, key.micro_batch));
        produced_.emplace(key, std::move(b));
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

    void forward(int stage, int mb)
    {
        const stage_layout& sl = (*ctx_.stages)[stage];
        const int last_stage = static_cast<int>(ctx_.stages->size()) - 1;
        micro_batch_state& st = states_[{stage, mb}];
        if (stage == 0) {
            const row_range r = ctx_.ranges[static_cast<std::size_t>(mb)];
            st.input = ctx_.x.row_block(r.first, r.count);
        } else {
            st.owned_input = take_local({message_kind::activation, stage - 1, mb});
            st.input = st.owned_input.view();
        }
        run_forward(sl, stage, mb, st);
        buffer& logits = st.layers.back().out;
        if (stage == last_stage) {
            const row_range r = ctx_.ranges[static_cast<std::size_t>(mb)];
            auto targets = ctx_.y.row_block(r.first, r.count);
            ctx_.losses[static_cast<std::size_t>(mb)] = ctx_.loss_value(logits.view(), targets);
            buffer grad(dev_, logits.rows(), logits.cols(), label("loss gradient", stage, mb));
            ctx_.loss_gradient(logits.view(), targets, grad.view(), ctx_.scale);
            produced_.emplace(message_key{message_kind::gradient, stage + 1, mb}, std::move(grad));
        } else if (sl.recompute) {
            produced_.emplace(message_key{message_kind::activation, stage, mb}, std::move(logits));
        } else {
            buffer copy(dev_, logits.rows(), logits.cols(), label("activation to send", stage, mb));
            std::copy(logits.span().begin(), logits.span().end(), copy.span().begin());
            produced_.emplace(message_key{message_kind::activation, stage, mb}, std::move(copy));
        }
        if (sl.recompute) { // keep only the input
            st.layers.clear();
            st.forward_kept = false;
        }
    }

    void backward(int stage, int mb, bool weights)
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
        buffer grad = take_local({message_kind::gradient, stage + 1, mb});
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
        if (stage > 0)
            produced_.emplace(message_key{message_kind::gradient, stage, mb}, std::move(grad));
        if (!pending_weights)
            states_.erase(it); // a stage without split layers has nothing left for backward_weight
    }

    void backward_weight(int stage, int mb)
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

    step_context& ctx_;
    int device_;
    const device& dev_;
    std::map<message_key, buffer> produced_;
    std::map<std::pair<int, int>, micro_batch_state> states_;
};

} // namespace trident::model::detail
