#pragma once
/// \file model/schedule.hpp
/// Pipeline schedules as data: per device, the ordered list of actions it performs in one training
/// step (forward, backward, weight gradient, send, receive; stage, micro-batch), and the built-in
/// generators GPipe, 1F1B, interleaved 1F1B and ZB-H1.
///
/// Vocabulary.  A model is cut into `stages` contiguous stages, stage s on device
/// `stage_device[s]`; a step runs `micro_batches` micro-batches through every stage.  Actions:
///
/// | kind               | short | meaning                                                          |
/// |--------------------|-------|------------------------------------------------------------------|
/// | forward            | F     | forward of `stage` on `micro_batch`                              |
/// | backward_input     | B     | input gradient only (split backward, zero-bubble schedules)      |
/// | backward_weight    | W     | weight gradient only (after B of the same stage and micro-batch) |
/// | backward           | BW    | B and W at once (schedules that do not split)                    |
/// | send_activation    | SA    | `stage`'s output of `micro_batch` to device `peer` (stage + 1's) |
/// | receive_activation | RA    | `stage`'s input of `micro_batch` from device `peer` (stage - 1's)|
/// | send_gradient      | SG    | the gradient of `stage`'s input to device `peer` (stage - 1's)   |
/// | receive_gradient   | RG    | the gradient of `stage`'s output from device `peer` (stage + 1's)|
///
/// The `stage` of a send or receive is always the stage on the device that performs it: a send of
/// stage s's activation (SA s) is received as stage s + 1's input (RA s + 1); a send of stage s's
/// input gradient (SG s) is received as stage s - 1's output gradient (RG s - 1).  Two consecutive
/// stages on the same device exchange nothing (no send or receive actions between them).
/// Every generator runs the weight-gradient work (W or BW) of each stage in micro-batch order
/// 0, 1, ..., m - 1, which validate() requires of every schedule: gradients then accumulate in the
/// same order whatever the schedule, so all schedules give bitwise the same parameters.
///
/// Printing: `to_string(action)` gives "F3.1" (forward of stage 3, micro-batch 1), "SA3.1>2" (send
/// stage 3's activation of micro-batch 1 to device 2), "RA4.1<1" (receive it from device 1);
/// `operator<<` of a `schedule_table` prints one row per device.
///
/// \code
///   auto table = trident::model::one_f_one_b(/*devices*/ 2, /*micro_batches*/ 3);
///   std::cout << table;
///   // schedule: 2 devices, 2 stages, 3 micro-batches; stage -> device: 0 1
///   // d0: F0.0 SA0.0>1 F0.1 SA0.1>1 RG0.0<1 BW0.0 F0.2 SA0.2>1 RG0.1<1 BW0.1 RG0.2<1 BW0.2
///   // d1: RA1.0<0 F1.0 BW1.0 SG1.0>0 RA1.1<0 F1.1 BW1.1 SG1.1>0 RA1.2<0 F1.2 BW1.2 SG1.2>0
///   trident::model::validate(table);    // model/validate.hpp: throws if a custom edit broke it
/// \endcode
///
/// Everything here is plain data and strings, no threads.  Complexity: every generator and the
/// printing are linear in the number of actions, O(stages * micro_batches).
/// Exceptions: the generators throw std::invalid_argument for a count below 1 (and interleaved 1F1B
/// for m not a multiple of p), naming the value; see each function.

#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace trident::model {

/// What one action of a device's list does (see the table in the file comment).
enum class action_kind {
    forward,
    backward_input,
    backward_weight,
    backward, ///< B and W at once
    send_activation,
    receive_activation,
    send_gradient,
    receive_gradient
};

/// One entry of a device's list.  `peer` is the other device of a send or receive (-1 otherwise).
struct action {
    action_kind kind;
    int stage;
    int micro_batch;
    int peer = -1; ///< the other device of a send/receive

    friend bool operator==(const action&, const action&) = default;
};

/// A schedule: for each device, the ordered list of its actions in one step.
struct schedule_table {
    int devices, stages, micro_batches;
    std::vector<int> stage_device;            ///< stage -> device (interleaved: stage s on s % devices)
    std::vector<std::vector<action>> actions; ///< per device, in order

    friend bool operator==(const schedule_table&, const schedule_table&) = default;
};

/// True for F, B, W and BW (the actions that take a device's compute time).
[[nodiscard]] constexpr bool is_compute(action_kind k) noexcept
{
    return k == action_kind::forward || k == action_kind::backward_input || k == action_kind::backward_weight ||
           k == action_kind::backward;
}
/// True for the four sends and receives.
[[nodiscard]] constexpr bool is_transfer(action_kind k) noexcept { return !is_compute(k); }

/// The short name of a kind: "F", "B", "W", "BW", "SA", "RA", "SG", "RG".
[[nodiscard]] inline const char* short_name(action_kind k) noexcept
{
    switch (k) {
    case action_kind::forward: return "F";
    case action_kind::backward_input: return "B";
    case action_kind::backward_weight: return "W";
    case action_kind::backward: return "BW";
    case action_kind::send_activation: return "SA";
    case action_kind::receive_activation: return "RA";
    case action_kind::send_gradient: return "SG";
    case action_kind::receive_gradient: return "RG";
    }
    return "?";
}

/// The full name of a kind, as spelled in the enum ("backward_input").
[[nodiscard]] inline const char* to_string(action_kind k) noexcept
{
    switch (k) {
    case action_kind::forward: return "forward";
    case action_kind::backward_input: return "backward_input";
    case action_kind::backward_weight: return "backward_weight";
    case action_kind::backward: return "backward";
    case action_kind::send_activation: return "send_activation";
    case action_kind::receive_activation: return "receive_activation";
    case action_kind::send_gradient: return "send_gradient";
    case action_kind::receive_gradient: return "receive_gradient";
    }
    return "unknown action_kind";
}

/// "F3.1", "BW0.2", "SA3.1>2" (to device 2), "RG2.0<3" (from device 3).
[[nodiscard]] inline std::string to_string(const action& a)
{
    std::string s = short_name(a.kind);
    s += std::to_string(a.stage);
    s += '.';
    s += std::to_string(a.micro_batch);
    if (a.kind == action_kind::send_activation || a.kind == action_kind::send_gradient) {
        s += '>';
        s += std::to_string(a.peer);
    } else if (a.kind == action_kind::receive_activation || a.kind == action_kind::receive_gradient) {
        s += '<';
        s += std::to_string(a.peer);
    }
    return s;
}

inline std::ostream& operator<<(std::ostream& os, action_kind k) { return os << to_string(k); }
inline std::ostream& operator<<(std::ostream& os, const action& a) { return os << to_string(a); }

/// A header line, then one row per device: "d0: F0.0 SA0.0>1 ...".
inline std::ostream& operator<<(std::ostream& os, const schedule_table& t)
{
    os << "schedule: " << t.devices << " devices, " << t.stages << " stages, " << t.micro_batches
       << " micro-batches; stage -> device:";
    for (int d : t.stage_device)
        os << ' ' << d;
    os << '\n';
    for (std::size_t d = 0; d < t.actions.size(); ++d) {
        os << 'd' << d << ':';
        for (const action& a : t.actions[d])
            os << ' ' << to_string(a);
        os << '\n';
    }
    return os;
}

/// The same text as `operator<<`.
[[nodiscard]] inline std::string to_string(const schedule_table& t)
{
    std::ostringstream os;
    os << t;
    return os.str();
}

// ---- Generators ----------------------------------------------------------------------------------

/// Adds the sends and receives to lists that hold only compute actions (F, B, W, BW): before every
/// F whose input comes from another device, the receive of that activation; after every F whose
/// output goes to another device, the send; likewise for gradients around B (or BW).  Sends are
/// placed right after the action that produces the data, receives right before the one that needs
/// it, so the result is deadlock-free exactly when the compute order is.  Existing sends and
/// receives are kept as they are (only compute actions trigger insertions).
/// Useful for custom schedules: write the compute order, let this add the transfers, validate().
/// \throws std::invalid_argument when stage_device is malformed (size or device out of range).
/// Complexity: linear in the number of actions.
[[nodiscard]] inline schedule_table insert_transfers(schedule_table table);

/// GPipe: every device runs all forwards (micro-batch 0..m-1), then all backwards (BW, in the same
/// order).  One stage per device (stages = devices).  Keeps m micro-batches of activations in
/// flight on every stage.  Bubble with equal costs: (p - 1) / (m + p - 1) of the step.
/// \throws std::invalid_argument when devices < 1 or micro_batches < 1 (naming the value).
[[nodiscard]] inline schedule_table gpipe(int devices, int micro_batches);

/// 1F1B (PipeDream-Flush): device i runs min(p - i - 1, m) warm-up forwards, then alternates one
/// forward and one backward (BW), then the remaining backwards.  Same bubble as GPipe, but stage i
/// keeps at most p - i micro-batches in flight (the first stage p).  Any m >= 1.
/// \throws std::invalid_argument when devices < 1 or micro_batches < 1.
[[nodiscard]] inline schedule_table one_f_one_b(int devices, int micro_batches);

/// Interleaved 1F1B (Megatron-LM): v = chunks_per_device model chunks per device, stages = p * v,
/// stage s on device s % p.  Micro-batches go in groups of p: each device runs the forwards of a
/// group on chunk 0, then chunk 1, ... (backwards likewise, chunks in reverse), with Megatron's
/// warm-up of 2 (p - i - 1) + (v - 1) p forwards on device i.  With equal costs and m a multiple
/// of p the bubble is (p - 1) / (v m + p - 1): the GPipe/1F1B bubble divided by about v, at v times
/// the transfers.  Requires m a multiple of p when v > 1 (as Megatron-LM does); v = 1 is 1F1B.
/// \throws std::invalid_argument when devices, micro_batches or chunks_per_device < 1, or when
/// v > 1 and micro_batches is not a multiple of devices (naming both).
[[nodiscard]] inline schedule_table interleaved_one_f_one_b(int devices, int micro_batches, int chunks_per_device);

/// ZB-H1 (Qi et al. 2024, "Zero Bubble Pipeline Parallelism"): backward split into the input
/// gradient B (on the critical path) and the weight gradient W, which is delayed into what would
/// be 1F1B's bubble.  Device i runs 1F1B's warm-up, then F B pairs, doing a W before a forward only
/// when p micro-batches would otherwise be between their F and their W; in the cool-down a W before
/// each B (while the gradient travels); the remaining W last.  At most p micro-batches in flight (F started, W not done)
/// on every stage, 1F1B's peak; F to B at most p - i on stage i, as 1F1B.  With F = B = W and
/// m >= p the step is 3m + p - 1 units against 1F1B's 3(m + p - 1).
/// \throws std::invalid_argument when devices < 1 or micro_batches < 1.
[[nodiscard]] inline schedule_table zero_bubble_h1(int devices, int micro_batches);

} // namespace trident::model

#include "trident/model/detail/schedule_generators.hpp"
