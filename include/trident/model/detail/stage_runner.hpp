#pragma once
// The driver of one device in a pipeline step: runs the device's action list in order, on the
// calling thread (the caller puts it inside the device's arena).  The compute of F, B, W, BW goes
// to the device's stage_executor (stage_executor.hpp: the host layers on a CPU device, the GPU
// runtime's kernels on a GPU device), which keeps the per-micro-batch activations of its stages;
// the runner keeps the messages produced or received and not yet consumed.  Only the mailboxes
// and the step_context's error slot are shared.
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
#include "trident/model/detail/cpu_executor.hpp"
#include "trident/model/detail/stage_executor.hpp"
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
    device_runner(step_context& ctx, int device, stage_executor& exec)
        : ctx_(ctx), device_(device), dev_((*ctx.devices)[device]), exec_(exec)
    {
    }

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

    [[nodiscard]] std::string where(int stage) const
    {
        if (stage < 0 || stage >= static_cast<int>(ctx_.stages->size()))
            return "on " + dev_.name();
        const stage_layout& st = (*ctx_.stages)[stage];
        return "layers " + std::to_string(st.first) + ".." + std::to_string(st.last - 1) + " on " + dev_.name();
    }

    void execute(const action& a)
    {
        switch (a.kind) {
        case action_kind::forward: forward(a.stage, a.micro_batch); break;
        case action_kind::backward_input: backward(a.stage, a.micro_batch, /*weights*/ false); break;
        case action_kind::backward: backward(a.stage, a.micro_batch, /*weights*/ true); break;
        case action_kind::backward_weight: exec_.backward_weight(a.stage, a.micro_batch); break;
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
        b.rebook(dev_, step_label(what, key.stage, key.micro_batch));
        produced_.emplace(key, std::move(b));
    }

    void forward(int stage, int mb)
    {
        buffer received;
        if (stage > 0)
            received = take_local({message_kind::activation, stage - 1, mb});
        buffer message = exec_.forward(stage, mb, std::move(received));
        const bool last = stage == static_cast<int>(ctx_.stages->size()) - 1;
        produced_.emplace(last ? message_key{message_kind::gradient, stage + 1, mb}
                               : message_key{message_kind::activation, stage, mb},
                          std::move(message));
    }

    void backward(int stage, int mb, bool weights)
    {
        buffer grad = exec_.backward(stage, mb, take_local({message_kind::gradient, stage + 1, mb}), weights);
        if (stage > 0)
            produced_.emplace(message_key{message_kind::gradient, stage, mb}, std::move(grad));
    }

    step_context& ctx_;
    int device_;
    const device& dev_;
    stage_executor& exec_;
    std::map<message_key, buffer> produced_;
};

} // namespace trident::model::detail
