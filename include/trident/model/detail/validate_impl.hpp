#pragma once
// validate() of model/validate.hpp (documented there).  Every action of the table gets an index
// entry (device, position) per (kind, stage, micro-batch); the checks then look positions up.

// Included only at the end of model/validate.hpp (which declares what this defines).

#include <cstddef>
#include <string>
#include <vector>

namespace trident::model {

namespace detail {

struct action_place {
    int device = -1;
    int position = -1;
    [[nodiscard]] bool present() const noexcept { return device >= 0; }
};

class schedule_index {
public:
    explicit schedule_index(const schedule_table& t)
        : stages_(t.stages), micro_batches_(t.micro_batches),
          places_(8 * static_cast<std::size_t>(t.stages) * static_cast<std::size_t>(t.micro_batches))
    {
    }
    action_place& operator()(action_kind k, int stage, int mb)
    {
        return places_[(static_cast<std::size_t>(k) * static_cast<std::size_t>(stages_) +
                        static_cast<std::size_t>(stage)) *
                           static_cast<std::size_t>(micro_batches_) +
                       static_cast<std::size_t>(mb)];
    }

private:
    int stages_;
    int micro_batches_;
    std::vector<action_place> places_;
};

inline std::string where(const action_place& p)
{
    return "device " + std::to_string(p.device) + " position " + std::to_string(p.position);
}

// The receive matching a send, and the send matching a receive.
inline action partner(const action& a, const schedule_table& t)
{
    auto dev = [&](int s) { return t.stage_device[static_cast<std::size_t>(s)]; };
    switch (a.kind) {
    case action_kind::send_activation: return {action_kind::receive_activation, a.stage + 1, a.micro_batch, dev(a.stage)};
    case action_kind::receive_activation: return {action_kind::send_activation, a.stage - 1, a.micro_batch, dev(a.stage)};
    case action_kind::send_gradient: return {action_kind::receive_gradient, a.stage - 1, a.micro_batch, dev(a.stage)};
    default: return {action_kind::send_gradient, a.stage + 1, a.micro_batch, dev(a.stage)};
    }
}

inline void check_shape(const schedule_table& t)
{
    auto fail = [](const std::string& why) { throw invalid_schedule(-1, -1, std::nullopt, why); };
    if (t.devices < 1)
        fail("devices = " + std::to_string(t.devices) + ", must be at least 1");
    if (t.stages < 1)
        fail("stages = " + std::to_string(t.stages) + ", must be at least 1");
    if (t.micro_batches < 1)
        fail("micro_batches = " + std::to_string(t.micro_batches) + ", must be at least 1");
    if (t.stage_device.size() != static_cast<std::size_t>(t.stages))
        fail("stage_device has " + std::to_string(t.stage_device.size()) + " entries for " +
             std::to_string(t.stages) + " stages");
    for (int s = 0; s < t.stages; ++s)
        if (int d = t.stage_device[static_cast<std::size_t>(s)]; d < 0 || d >= t.devices)
            fail("stage " + std::to_string(s) + " is on device " + std::to_string(d) + ", not one of the " +
                 std::to_string(t.devices) + " devices");
    if (t.actions.size() != static_cast<std::size_t>(t.devices))
        fail("actions has " + std::to_string(t.actions.size()) + " lists for " + std::to_string(t.devices) +
             " devices");
}

// Checks 1 (per action) and 2; fills the index.
inline void check_placement(const schedule_table& t, schedule_index& index)
{
    auto dev = [&](int s) { return t.stage_device[static_cast<std::size_t>(s)]; };
    for (int d = 0; d < t.devices; ++d) {
        const auto& list = t.actions[static_cast<std::size_t>(d)];
        for (int i = 0; i < static_cast<int>(list.size()); ++i) {
            const action& a = list[static_cast<std::size_t>(i)];
            auto fail = [&](const std::string& why) { throw invalid_schedule(d, i, a, why); };
            if (static_cast<unsigned>(a.kind) > static_cast<unsigned>(action_kind::receive_gradient))
                fail("unknown action kind " + std::to_string(static_cast<int>(a.kind)));
            if (a.stage < 0 || a.stage >= t.stages)
                fail("stage " + std::to_string(a.stage) + " out of range (" + std::to_string(t.stages) + " stages)");
            if (a.micro_batch < 0 || a.micro_batch >= t.micro_batches)
                fail("micro-batch " + std::to_string(a.micro_batch) + " out of range (" +
                     std::to_string(t.micro_batches) + " micro-batches)");
            if (dev(a.stage) != d)
                fail("stage " + std::to_string(a.stage) + " is on device " + std::to_string(dev(a.stage)) +
                     ", not on this one");
            if (is_transfer(a.kind)) {
                const bool to_next = a.kind == action_kind::send_activation || a.kind == action_kind::receive_gradient;
                const int other = to_next ? a.stage + 1 : a.stage - 1;
                if (other < 0 || other >= t.stages)
                    fail(std::string("stage ") + std::to_string(a.stage) + " has no " + (to_next ? "next" : "previous") +
                         " stage to exchange with");
                if (dev(other) == d)
                    fail("stages " + std::to_string(a.stage) + " and " + std::to_string(other) +
                         " are both on this device: nothing to send or receive");
                if (a.peer != dev(other))
                    fail("peer " + std::to_string(a.peer) + " is wrong: stage " + std::to_string(other) +
                         " is on device " + std::to_string(dev(other)));
            }
            action_place& p = index(a.kind, a.stage, a.micro_batch);
            if (p.present())
                fail("duplicate: the same action is already at " + where(p));
            p = {d, i};
        }
    }
}

// Checks 3 and 4.
inline void check_completeness(const schedule_table& t, schedule_index& index)
{
    for (int s = 0; s < t.stages; ++s) {
        const int d = t.stage_device[static_cast<std::size_t>(s)];
        const int end = static_cast<int>(t.actions[static_cast<std::size_t>(d)].size());
        for (int mb = 0; mb < t.micro_batches; ++mb) {
            auto missing = [&](action_kind k, const std::string& why) {
                throw invalid_schedule(d, end, action{k, s, mb}, "missing: " + why);
            };
            if (!index(action_kind::forward, s, mb).present())
                missing(action_kind::forward, "no forward of this stage and micro-batch");
            const action_place bw = index(action_kind::backward, s, mb);
            const action_place b = index(action_kind::backward_input, s, mb);
            const action_place w = index(action_kind::backward_weight, s, mb);
            if (bw.present() && (b.present() || w.present()))
                throw invalid_schedule(bw.device, bw.position, action{action_kind::backward, s, mb},
                                       "both a backward (BW) and a split backward (B/W) of this stage and micro-batch");
            if (!bw.present() && !b.present())
                missing(action_kind::backward_input, "no backward (BW, or B and W) of this stage and micro-batch");
            if (b.present() && !w.present())
                missing(action_kind::backward_weight, "a B without its W");
            if (w.present() && !b.present())
                throw invalid_schedule(w.device, w.position, action{action_kind::backward_weight, s, mb},
                                       "a W without its B");
        }
    }
    for (int d = 0; d < t.devices; ++d) {
        const auto& list = t.actions[static_cast<std::size_t>(d)];
        for (int i = 0; i < static_cast<int>(list.size()); ++i) {
            const action& a = list[static_cast<std::size_t>(i)];
            if (!is_transfer(a.kind))
                continue;
            const action other = partner(a, t);
            if (!index(other.kind, other.stage, other.micro_batch).present()) {
                const bool send = a.kind == action_kind::send_activation || a.kind == action_kind::send_gradient;
                throw invalid_schedule(d, i, a,
                                       std::string(send ? "no matching receive " : "no matching send ") +
                                           to_string(other) + " on device " + std::to_string(a.peer));
            }
        }
    }
}

// Check 5.
inline void check_order(const schedule_table& t, schedule_index& index)
{
    auto dev = [&](int s) { return t.stage_device[static_cast<std::size_t>(s)]; };
    std::vector<int> next_weight(static_cast<std::size_t>(t.stages), 0);
    for (int d = 0; d < t.devices; ++d) {
        const auto& list = t.actions[static_cast<std::size_t>(d)];
        for (int i = 0; i < static_cast<int>(list.size()); ++i) {
            const action& a = list[static_cast<std::size_t>(i)];
            const int s = a.stage;
            const int mb = a.micro_batch;
            auto before = [&](action_kind k, int stage, const char* what) {
                const action_place p = index(k, stage, mb);
                const std::string needed = short_name(k) + std::to_string(stage) + '.' + std::to_string(mb);
                if (!p.present())
                    throw invalid_schedule(d, i, a, std::string("needs ") + what + " (" + needed +
                                                        " on this device), which is missing");
                if (p.position >= i)
                    throw invalid_schedule(d, i, a,
                                           std::string("runs before ") + what + " (" + needed + " at position " +
                                               std::to_string(p.position) + ")");
            };
            auto backward_of = [&](int stage) {
                return index(action_kind::backward, stage, mb).present() ? action_kind::backward
                                                                         : action_kind::backward_input;
            };
            switch (a.kind) {
            case action_kind::forward:
                if (s > 0) {
                    if (dev(s - 1) == d)
                        before(action_kind::forward, s - 1, "the forward of the previous stage");
                    else
                        before(action_kind::receive_activation, s, "its input is received");
                }
                break;
            case action_kind::send_activation: before(action_kind::forward, s, "the forward that produces it"); break;
            case action_kind::send_gradient: before(backward_of(s), s, "the backward that produces it"); break;
            case action_kind::backward:
            case action_kind::backward_input:
                before(action_kind::forward, s, "the forward of the same stage");
                if (s + 1 < t.stages) {
                    if (dev(s + 1) == d)
                        before(backward_of(s + 1), s + 1, "the backward of the next stage");
                    else
                        before(action_kind::receive_gradient, s, "its output gradient is received");
                }
                break;
            case action_kind::backward_weight:
                before(action_kind::backward_input, s, "the B of the same stage and micro-batch");
                break;
            default: break;
            }
            if (a.kind == action_kind::backward || a.kind == action_kind::backward_weight) {
                int& expected = next_weight[static_cast<std::size_t>(s)];
                if (mb != expected)
                    throw invalid_schedule(d, i, a,
                                           "weight-gradient work of stage " + std::to_string(s) +
                                               " out of micro-batch order (micro-batch " + std::to_string(expected) +
                                               " is due; gradients must accumulate in order 0, 1, ...)");
                ++expected;
            }
        }
    }
}

// Check 6: run the lists with buffered sends and blocking receives.
inline void check_deadlock(const schedule_table& t, schedule_index& index)
{
    const auto devices = static_cast<std::size_t>(t.devices);
    std::vector<std::size_t> next(devices, 0);
    std::vector<std::vector<char>> done(devices);
    std::vector<std::vector<int>> wakes(devices); // per send: the device blocked on it, or -1
    for (std::size_t d = 0; d < devices; ++d) {
        done[d].assign(t.actions[d].size(), 0);
        wakes[d].assign(t.actions[d].size(), -1);
    }
    auto waits_on = [&](const action& a) -> const action_place* {
        if (a.kind != action_kind::receive_activation && a.kind != action_kind::receive_gradient)
            return nullptr;
        const action send = partner(a, t);
        const action_place& p = index(send.kind, send.stage, send.micro_batch);
        return done[static_cast<std::size_t>(p.device)][static_cast<std::size_t>(p.position)] ? nullptr : &p;
    };
    // Every device runs until it blocks; a blocked device is woken by the send it waits on, so
    // each action is visited once or twice.
    std::vector<std::size_t> ready(devices);
    for (std::size_t d = 0; d < devices; ++d)
        ready[d] = devices - 1 - d;
    while (!ready.empty()) {
        const std::size_t d = ready.back();
        ready.pop_back();
        while (next[d] < t.actions[d].size()) {
            if (const action_place* p = waits_on(t.actions[d][next[d]])) {
                wakes[static_cast<std::size_t>(p->device)][static_cast<std::size_t>(p->position)] = static_cast<int>(d);
                break;
            }
            done[d][next[d]] = 1;
            if (const int woken = wakes[d][next[d]]; woken >= 0)
                ready.push_back(static_cast<std::size_t>(woken));
            ++next[d];
        }
    }
    std::string stuck;
    int first = -1;
    for (std::size_t d = 0; d < devices; ++d) {
        if (next[d] == t.actions[d].size())
            continue;
        const action& a = t.actions[d][next[d]];
        const action_place* p = waits_on(a);
        const auto& sender_list = t.actions[static_cast<std::size_t>(p->device)];
        const std::size_t sender_at = next[static_cast<std::size_t>(p->device)];
        if (first < 0)
            first = static_cast<int>(d);
        stuck += (stuck.empty() ? "" : "; ") + std::string("device ") + std::to_string(d) + " waits at position " +
                 std::to_string(next[d]) + " on " + to_string(a) + ", whose send (position " +
                 std::to_string(p->position) + " on device " + std::to_string(p->device) + ") comes after device " +
                 std::to_string(p->device) + "'s own wait at position " + std::to_string(sender_at) + " (" +
                 to_string(sender_list[sender_at]) + ")";
    }
    if (first >= 0) {
        const auto fd = static_cast<std::size_t>(first);
        throw invalid_schedule(first, static_cast<int>(next[fd]), t.actions[fd][next[fd]],
                               "deadlock: these devices would wait forever: " + stuck);
    }
}

} // namespace detail

inline void validate(const schedule_table& table)
{
    detail::check_shape(table);
    detail::schedule_index index(table);
    detail::check_placement(table, index);
    detail::check_completeness(table, index);
    detail::check_order(table, index);
    detail::check_deadlock(table, index);
}

} // namespace trident::model
