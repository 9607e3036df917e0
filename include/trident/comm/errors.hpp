#pragma once
/// \file comm/errors.hpp
/// The exceptions of trident's collectives (namespace trident::comm).
///
/// - `comm::group_aborted`: a collective could not complete because the group was aborted: a rank
///   called `abort()`, a rank's function threw (under `comm::run_in_process`), a rank left the group
///   while the others waited for it, a rank passed bad input, or a wait timed out.  `rank()` is the
///   rank that aborted the group (-1 when no single rank did: mismatched calls), `reason()` why.
///   Every later collective of the group throws it too: an aborted group stays aborted.
/// - `comm::collective_timeout` (a `group_aborted`): thrown on the rank whose wait exceeded the
///   group's timeout; `missing_ranks()` are the ranks that had not arrived.  The group is aborted by
///   that rank, so the other waiters wake with `group_aborted` naming the same missing ranks.
/// - Bad input is `std::invalid_argument` on the calling rank, naming the argument (a null buffer
///   with a non-zero count, a root outside [0, size), buffers of the wrong sizes, counts, element
///   types, operators or roots that differ across the ranks of one collective).
///
/// \code
///   try { c.all_reduce(grads); }
///   catch (const trident::comm::group_aborted& e) { std::cerr << "rank " << e.rank() << ": " << e.reason(); }
/// \endcode

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace trident::comm {

/// The group was aborted (by `rank()`, or by no single rank when `rank()` is -1) before or while a
/// collective waited; `what()` says which rank aborted, why, and what the throwing rank was doing.
class group_aborted : public std::runtime_error {
public:
    group_aborted(int rank, std::string reason, const std::string& what)
        : std::runtime_error(what), rank_(rank), reason_(std::move(reason))
    {
    }
    /// The rank that aborted the group, -1 when none did alone (calls that do not match).
    [[nodiscard]] int rank() const noexcept { return rank_; }
    /// Why it was aborted (the aborting rank's reason, or the exception it threw).
    [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

private:
    int rank_;
    std::string reason_;
};

/// A wait in a collective exceeded the group's timeout; `missing_ranks()` had not arrived.
class collective_timeout : public group_aborted {
public:
    collective_timeout(int rank, std::vector<int> missing, std::string reason, const std::string& what)
        : group_aborted(rank, std::move(reason), what), missing_(std::move(missing))
    {
    }
    /// The ranks the timed-out rank was waiting for, in increasing order.
    [[nodiscard]] const std::vector<int>& missing_ranks() const noexcept { return missing_; }

private:
    std::vector<int> missing_;
};

} // namespace trident::comm
