#pragma once
// The shared state of an in-process group (comm/communicator.hpp): where the N ranks of one
// collective meet, post their buffers, check that their calls match, and learn that the group was
// aborted, timed out or lost a rank.  Kept under comm/ rather than detail/ because it throws
// comm's exceptions (comm/errors.hpp).
//
// A collective is two meetings: "arrive" (every rank posts a slot: kind, element type, count,
// operator, root, buffers; the last to arrive checks that the slots match) and "depart" (every rank
// has finished reading the others' send buffers and writing its receive buffers, so each may return
// and reuse them).  A barrier is one meeting.  Meetings are counted per rank; meeting g completes
// when every rank has entered it (a generation counter, so the object is reusable without reset).
// Slots are written under the lock and read without it between the two meetings, which are
// happens-before edges for every reader (and for ThreadSanitizer: std::mutex is intercepted).

#include "trident/comm/errors.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace trident::comm::detail {

enum class collective : unsigned char { all_reduce, reduce_scatter, all_gather, broadcast, barrier };
enum class element_kind : unsigned char { none, i32, i64, f32, f64 };

inline const char* name_of(collective c)
{
    switch (c) {
    case collective::all_reduce: return "all_reduce";
    case collective::reduce_scatter: return "reduce_scatter";
    case collective::all_gather: return "all_gather";
    case collective::broadcast: return "broadcast";
    case collective::barrier: return "barrier";
    }
    return "?";
}

inline const char* name_of(element_kind k)
{
    switch (k) {
    case element_kind::none: return "no";
    case element_kind::i32: return "int32";
    case element_kind::i64: return "int64";
    case element_kind::f32: return "float";
    case element_kind::f64: return "double";
    }
    return "?";
}

/// What one rank posts when it arrives at a collective.
struct slot {
    collective kind = collective::barrier;
    element_kind type = element_kind::none;
    int op = 0;               // reduce_op as an int (all_reduce, reduce_scatter)
    int root = 0;             // broadcast
    std::size_t count = 0;    // the per-rank count that must match across ranks
    const void* send = nullptr;
    void* recv = nullptr;
    std::size_t send_bytes = 0;
    std::size_t recv_bytes = 0;
};

inline bool overlap(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes)
{
    if (a_bytes == 0 || b_bytes == 0)
        return false;
    const auto x = reinterpret_cast<std::uintptr_t>(a);
    const auto y = reinterpret_cast<std::uintptr_t>(b);
    return x < y + b_bytes && y < x + a_bytes;
}

class rendezvous {
public:
    rendezvous(int size, std::chrono::milliseconds timeout)
        : size_(size), timeout_(timeout), slots_(static_cast<std::size_t>(size)),
          entered_(static_cast<std::size_t>(size), 0), calls_(static_cast<std::size_t>(size), 0),
          left_(static_cast<std::size_t>(size), false)
    {
    }

    [[nodiscard]] int size() const noexcept { return size_; }

    /// Slot of `rank`, valid between the arrive and depart meetings of a collective.
    [[nodiscard]] const slot& slot_of(int rank) const noexcept { return slots_[static_cast<std::size_t>(rank)]; }

    /// The arrive meeting: posts `s`, waits for every rank, checks that the calls match (all ranks
    /// throw std::invalid_argument when they do not).  Returns the collective's number (1, 2, ...).
    std::uint64_t arrive(int rank, const slot& s)
    {
        std::unique_lock lock(mutex_);
        const auto r = static_cast<std::size_t>(rank);
        if (left_[r])
            throw std::invalid_argument("trident::comm::" + std::string(name_of(s.kind)) + ": rank " +
                                        std::to_string(rank) + " called a collective after leave()");
        throw_if_aborted(rank, s.kind, calls_[r] + 1);
        slots_[r] = s;
        const std::uint64_t number = ++calls_[r];
        meet(lock, rank, s.kind, number, true);
        return number;
    }

    /// The depart meeting of collective `number`: waits until every rank has finished with the
    /// buffers.
    void depart(int rank, collective kind, std::uint64_t number)
    {
        std::unique_lock lock(mutex_);
        throw_if_aborted(rank, kind, number);
        meet(lock, rank, kind, number, false);
    }

    /// Aborts the group (the first abort wins) and wakes every waiter.  Never throws.
    void abort(int rank, const std::string& reason) noexcept
    {
        try {
            std::lock_guard lock(mutex_);
            abort_locked(rank, reason, false);
        } catch (...) { // a string that could not be copied: abort without the reason
            std::lock_guard lock(mutex_);
            aborted_ = true;
            aborted_by_ = rank;
        }
        cv_.notify_all();
    }

    /// `rank` takes part in no further collective: a meeting that waits for it fails at once.
    void leave(int rank) noexcept
    {
        {
            std::lock_guard lock(mutex_);
            left_[static_cast<std::size_t>(rank)] = true;
        }
        cv_.notify_all();
    }

    [[nodiscard]] bool aborted() const
    {
        std::lock_guard lock(mutex_);
        return aborted_;
    }

    /// The rank that aborted the group (-1 when none, or when no single rank did).
    [[nodiscard]] int aborted_by() const
    {
        std::lock_guard lock(mutex_);
        return aborted_ ? aborted_by_ : -1;
    }

private:
    void abort_locked(int rank, const std::string& reason, bool mismatch)
    {
        if (aborted_)
            return;
        aborted_ = true;
        aborted_by_ = rank;
        reason_ = reason;
        mismatch_ = mismatch;
    }

    [[noreturn]] void throw_aborted(int rank, collective kind, std::uint64_t number) const
    {
        std::string what = "trident::comm::" + std::string(name_of(kind)) + " (collective " + std::to_string(number) +
                           " of rank " + std::to_string(rank) + "): ";
        what += aborted_by_ >= 0 ? "rank " + std::to_string(aborted_by_) + " aborted the group: " : "the group was aborted: ";
        what += reason_;
        throw group_aborted(aborted_by_, reason_, what);
    }

    void throw_if_aborted(int rank, collective kind, std::uint64_t number) const
    {
        if (aborted_)
            throw_aborted(rank, kind, number);
    }

    // Ranks that have not entered meeting `meeting` yet.
    [[nodiscard]] std::vector<int> missing(std::uint64_t meeting) const
    {
        std::vector<int> out;
        for (int r = 0; r < size_; ++r)
            if (entered_[static_cast<std::size_t>(r)] < meeting)
                out.push_back(r);
        return out;
    }

    static std::string list(const std::vector<int>& ranks)
    {
        std::string s;
        for (std::size_t i = 0; i < ranks.size(); ++i)
            s += (i ? ", " : "") + std::to_string(ranks[i]);
        return s;
    }

    // The last arriver compares every slot with rank 0's; returns the first difference, or "".
    [[nodiscard]] std::string mismatch(std::uint64_t number) const
    {
        const slot& a = slots_[0];
        const std::string head = "trident::comm: the ranks' calls of collective " + std::to_string(number) + " do not match: ";
        auto per_rank = [&](auto field, auto show) {
            std::string s;
            for (int r = 0; r < size_; ++r)
                s += (r ? ", " : "") + std::string("rank ") + std::to_string(r) + ": " +
                     show(field(slots_[static_cast<std::size_t>(r)]));
            return s;
        };
        for (const slot& b : slots_) {
            if (b.kind != a.kind)
                return head + "different collectives (" +
                       per_rank([](const slot& x) { return x.kind; }, [](collective c) { return std::string(name_of(c)); }) + ")";
        }
        const std::string what = name_of(a.kind);
        for (const slot& b : slots_) {
            if (b.type != a.type)
                return head + what + " with different element types (" +
                       per_rank([](const slot& x) { return x.type; }, [](element_kind k) { return std::string(name_of(k)); }) + ")";
            if (b.count != a.count)
                return head + what + " with different counts (" +
                       per_rank([](const slot& x) { return x.count; }, [](std::size_t n) { return std::to_string(n); }) + ")";
            if (b.op != a.op)
                return head + what + " with different operators (" +
                       per_rank([](const slot& x) { return x.op; }, [](int op) { return std::to_string(op); }) + ")";
            if (b.root != a.root)
                return head + what + " with different roots (" +
                       per_rank([](const slot& x) { return x.root; }, [](int root) { return std::to_string(root); }) + ")";
        }
        // Buffers written by one rank must not overlap any other rank's buffers (nor, except the
        // in-place all_reduce and broadcast, which pass one buffer twice, its own send buffer).
        for (int k = 0; k < size_; ++k) {
            const slot& w = slots_[static_cast<std::size_t>(k)];
            for (int j = 0; j < size_; ++j) {
                const slot& o = slots_[static_cast<std::size_t>(j)];
                const bool same = j == k && o.send == w.recv && o.send_bytes == w.recv_bytes;
                const std::string at = head + what + ": rank " + std::to_string(k) + "'s receive buffer overlaps ";
                if (!same && overlap(w.recv, w.recv_bytes, o.send, o.send_bytes))
                    return at + (j == k ? "its own send buffer" : "rank " + std::to_string(j) + "'s send buffer");
                if (j != k && overlap(w.recv, w.recv_bytes, o.recv, o.recv_bytes))
                    return at + "rank " + std::to_string(j) + "'s receive buffer";
            }
        }
        return {};
    }

    void meet(std::unique_lock<std::mutex>& lock, int rank, collective kind, std::uint64_t number, bool arriving)
    {
        const auto r = static_cast<std::size_t>(rank);
        const std::uint64_t meeting = ++entered_[r];
        if (++arrived_ == size_) {
            arrived_ = 0;
            generation_ = meeting;
            if (arriving) {
                if (std::string m = mismatch(number); !m.empty())
                    abort_locked(-1, m, true);
            }
            cv_.notify_all();
        } else {
            const auto deadline = std::chrono::steady_clock::now() + timeout_;
            auto done = [&] { return generation_ >= meeting || aborted_ || left_missing(meeting); };
            if (timeout_.count() > 0) {
                if (!cv_.wait_until(lock, deadline, done)) {
                    const std::vector<int> late = missing(meeting);
                    const std::string reason = "timed out after " + std::to_string(timeout_.count()) + " ms in " +
                                               name_of(kind) + " (collective " + std::to_string(number) +
                                               ") waiting for rank(s) " + list(late) +
                                               (arriving ? ", which had not arrived" : ", which had not finished");
                    abort_locked(rank, reason, false);
                    cv_.notify_all();
                    throw collective_timeout(rank, late, reason,
                                             "trident::comm::" + std::string(name_of(kind)) + " on rank " +
                                                 std::to_string(rank) + ": " + reason);
                }
            } else {
                cv_.wait(lock, done);
            }
            if (!aborted_ && generation_ < meeting) { // a rank we wait for has left the group
                const std::vector<int> late = missing(meeting);
                int gone = -1;
                for (int m : late)
                    if (left_[static_cast<std::size_t>(m)] && gone < 0)
                        gone = m;
                abort_locked(gone,
                             "rank " + std::to_string(gone) + " left the group without taking part in " + name_of(kind) +
                                 " (collective " + std::to_string(number) + " of rank " + std::to_string(rank) + ")",
                             false);
                cv_.notify_all();
            }
        }
        if (aborted_ && generation_ < meeting)
            throw_aborted(rank, kind, number);
        if (aborted_ && mismatch_ && arriving) // every rank of this meeting learns the same difference
            throw std::invalid_argument(reason_);
    }

    [[nodiscard]] bool left_missing(std::uint64_t meeting) const
    {
        for (std::size_t r = 0; r < left_.size(); ++r)
            if (left_[r] && entered_[r] < meeting)
                return true;
        return false;
    }

    int size_;
    std::chrono::milliseconds timeout_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<slot> slots_;
    std::vector<std::uint64_t> entered_; // meetings entered, per rank
    std::vector<std::uint64_t> calls_;   // collectives called, per rank
    std::vector<bool> left_;
    std::uint64_t generation_ = 0;       // meetings completed
    int arrived_ = 0;
    bool aborted_ = false;
    bool mismatch_ = false;
    int aborted_by_ = -1;
    std::string reason_;
};

} // namespace trident::comm::detail
