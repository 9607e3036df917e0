#pragma once
/// \file model/validate.hpp
/// `validate(schedule_table)`: checks a schedule before anything runs, so that a broken custom
/// schedule is an error with a reason and never a hang or a wrong result.
///
/// What is checked, in this order (the first problem found is thrown):
/// 1. Shape: devices, stages, micro_batches >= 1; stage_device has one device in range per stage;
///    one list per device; every action's stage, micro-batch and peer in range.
/// 2. Placement: every action on the device of its stage; a send or receive only across a
///    boundary whose two stages are on different devices, with `peer` the other stage's device;
///    no action twice (a duplicate is reported where it occurs the second time).
/// 3. Completeness: for every stage and micro-batch, F exactly once, and either BW once or B and W
///    once each (not both forms).
/// 4. Transfers: every send has its receive and every receive its send (same boundary, micro-batch
///    and direction).
/// 5. Order on each device: F of stage s after the input is there (F of stage s - 1 earlier on
///    the same device, or the RA of stage s earlier); a send after the action that produces it;
///    B (or BW) of stage s after F of stage s and after the output gradient is there (B of stage
///    s + 1 earlier on the same device, or the RG of stage s earlier; the last stage's B needs
///    only its F); W after the B of the same stage and micro-batch; the weight-gradient work (W or
///    BW) of every stage in micro-batch order 0, 1, ..., m - 1 (the order gradients accumulate in,
///    hence bitwise-equal results for every schedule).
/// 6. No deadlock: the lists are run symbolically, sends buffered and receives blocking; devices
///    that would wait forever are reported with the receive each one waits on and where its
///    sender is stuck.
///
/// \throws trident::model::invalid_schedule (derived from std::invalid_argument): the message
/// names the device, the 0-based position in its list, the action ("F3.1") and the reason; the
/// same values are members (device() and position() are -1 for a problem of the table's shape).
/// Complexity: O(A + stages * micro_batches) time and memory, A the number of actions.
///
/// \code
///   auto table = trident::model::one_f_one_b(4, 8);
///   std::swap(table.actions[1][2], table.actions[1][3]);   // a custom edit
///   trident::model::validate(table);                        // throws if the edit broke it
/// \endcode

#include "trident/model/schedule.hpp"

#include <optional>
#include <stdexcept>
#include <string>

namespace trident::model {

/// A schedule that cannot run: see validate().
class invalid_schedule : public std::invalid_argument {
public:
    invalid_schedule(int device, int position, std::optional<action> act, const std::string& reason)
        : std::invalid_argument(message(device, position, act, reason)), device_(device), position_(position),
          action_(act), reason_(reason)
    {
    }
    /// The device whose list holds the problem (-1: the table's shape).
    [[nodiscard]] int device() const noexcept { return device_; }
    /// The 0-based position in that list (the list's length for a missing action; -1: shape).
    [[nodiscard]] int position() const noexcept { return position_; }
    /// The action concerned, if any.
    [[nodiscard]] const std::optional<action>& offending_action() const noexcept { return action_; }
    [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

private:
    static std::string message(int device, int position, const std::optional<action>& act, const std::string& reason)
    {
        std::string s = "trident::model::validate: invalid schedule: ";
        if (device >= 0)
            s += "device " + std::to_string(device) + ", position " + std::to_string(position) + ": ";
        if (act)
            s += to_string(*act) + ": ";
        return s + reason;
    }
    int device_;
    int position_;
    std::optional<action> action_;
    std::string reason_;
};

/// Checks the schedule (see the file comment); returns normally when it can run.
inline void validate(const schedule_table& table);

} // namespace trident::model

#include "trident/model/detail/validate_impl.hpp"
