#pragma once
/// \file comm/communicator.hpp
/// In-process collectives: `trident::comm::in_process_group` (N ranks that are threads of one
/// process) and `trident::comm::communicator` (one rank's handle), with all_reduce (sum, average,
/// min, max), reduce_scatter, all_gather, broadcast and barrier, and `comm::run_in_process` to run a
/// function on N rank threads.  The first transport of trident's communicator (MPI and NCCL are to
/// follow with the same member functions); tensor-parallel layers (model/tensor_parallel.hpp) use it.
///
/// As with MPI, every rank calls the same collectives in the same order, each from its own thread
/// with its own buffers; a collective returns on a rank once that rank's receive buffer holds the
/// result and every other rank is done with its send buffer.
///
/// \code
///   trident::comm::run_in_process(4, [&](trident::comm::communicator c) {
///       std::vector<float> grad = local_gradient(c.rank());
///       c.all_reduce(grad, trident::comm::reduce_op::average);  // in place, the same bits on every rank
///   });
/// \endcode
///
/// | member                              | buffers (n elements per rank)                | result on rank r                       |
/// |-------------------------------------|----------------------------------------------|----------------------------------------|
/// | `all_reduce(send, recv, op)`        | send n, recv n (or one buffer, in place)     | op over ranks of element i, every i    |
/// | `reduce_scatter(send, recv, op)`    | send N*m, recv m                             | op over ranks of block r of send       |
/// | `all_gather(send, recv)`            | send m, recv N*m                             | block k = rank k's send                |
/// | `broadcast(data, root)`             | data n                                       | root's data                            |
/// | `barrier()`                         | none                                         | returns once every rank has entered    |
///
/// Determinism: a reduction combines ranks in rank order, ((x0 op x1) op x2) ... (then divides by
/// N for `average`), whoever computes it and whatever the timing, so all ranks receive bitwise the
/// same values, and every run does.  Integer sums must not overflow; `average` is for float and double.
///
/// Requirements: elements are float, double, std::int32_t or std::int64_t (a static_assert says
/// so); buffers are contiguous ranges (std::vector, std::span, std::array); send and receive
/// buffers have the element type of the other ranks', and no rank's receive buffer overlaps another
/// buffer of the collective (its own send buffer included, except the in-place all_reduce).  One
/// thread at a time per rank.
///
/// Errors (comm/errors.hpp), never a hang:
/// - bad input on a rank (a null buffer with a non-zero count, sizes that do not fit, a root outside
///   [0, size)) is `std::invalid_argument` on that rank, naming it; the group is then aborted by that
///   rank, so the others wake with `comm::group_aborted` naming it;
/// - calls that do not match across ranks (another collective, element type, count, operator or
///   root, overlapping buffers) are `std::invalid_argument` on every rank, listing each rank's value;
/// - `abort(reason)` wakes every rank waiting in (or later calling) a collective of the group with
///   `comm::group_aborted` naming the aborting rank and the reason; `leave()` says a rank takes part
///   in no further collective: a collective waiting for it fails at once, naming it;
/// - with `group_options::timeout` set, a wait longer than that throws `comm::collective_timeout`
///   naming the ranks that had not arrived, and aborts the group.
///
/// Complexity: a collective costs two meetings of the N threads under one mutex (microseconds)
/// plus the data: all_reduce reads n elements from every rank and writes n to every rank in total,
/// split evenly across the ranks (rank r reduces the r-th chunk); reduce_scatter reads N*m
/// elements and all_gather writes N*m per rank; broadcast copies n per rank.

#include "trident/comm/detail/kernels.hpp"
#include "trident/comm/detail/rendezvous.hpp"
#include "trident/comm/errors.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident::comm {

/// How all_reduce and reduce_scatter combine the ranks' elements.
enum class reduce_op { sum = detail::op_sum, average = detail::op_average, min = detail::op_min, max = detail::op_max };

/// Options of an in-process group.
struct group_options {
    /// How long a rank waits in one meeting of a collective before it throws
    /// `comm::collective_timeout`; zero (the default) waits until every rank arrives, the group is
    /// aborted, or a rank that is waited for leaves.
    std::chrono::milliseconds timeout{0};
};

namespace detail {
template <class T>
inline constexpr element_kind kind_of = std::is_same_v<T, float>          ? element_kind::f32
                                        : std::is_same_v<T, double>       ? element_kind::f64
                                        : std::is_same_v<T, std::int32_t> ? element_kind::i32
                                        : std::is_same_v<T, std::int64_t> ? element_kind::i64
                                                                          : element_kind::none;
} // namespace detail

class in_process_group;

/// One rank's handle on an in-process group: cheap to copy (copies are the same rank).
class communicator {
public:
    /// This rank, in [0, size()).
    [[nodiscard]] int rank() const noexcept { return rank_; }
    /// The number of ranks of the group.
    [[nodiscard]] int size() const noexcept { return group_->size(); }

    /// recv[i] = op over ranks of send[i]; send and recv have the same size on every rank.
    template <class In, class Out>
        requires(!std::is_same_v<std::remove_cvref_t<Out>, reduce_op>)
    void all_reduce(const In& send, Out&& recv, reduce_op op = reduce_op::sum) const
    {
        using T = element_of<In, Out>;
        const std::span<const T> s(std::ranges::data(send), std::ranges::size(send));
        const std::span<T> r(std::ranges::data(recv), std::ranges::size(recv));
        if (s.size() != r.size())
            fail("all_reduce", "send has " + std::to_string(s.size()) + " elements but recv has " +
                                   std::to_string(r.size()) + "; they must be equal");
        reduce("all_reduce", detail::collective::all_reduce, s, r, s.size(), op);
    }

    /// In place: data[i] = op over ranks of data[i].
    template <class Data>
    void all_reduce(Data&& data, reduce_op op = reduce_op::sum) const
    {
        using T = element_of<Data, Data>;
        const std::span<T> d(std::ranges::data(data), std::ranges::size(data));
        reduce("all_reduce", detail::collective::all_reduce, std::span<const T>(d), d, d.size(), op);
    }

    /// recv (m elements) = op over ranks of block rank() of send (size() * m elements).
    template <class In, class Out>
    void reduce_scatter(const In& send, Out&& recv, reduce_op op = reduce_op::sum) const
    {
        using T = element_of<In, Out>;
        const std::span<const T> s(std::ranges::data(send), std::ranges::size(send));
        const std::span<T> r(std::ranges::data(recv), std::ranges::size(recv));
        if (s.size() != r.size() * static_cast<std::size_t>(size()))
            fail("reduce_scatter", "send has " + std::to_string(s.size()) + " elements; it must have size() * recv.size() = " +
                                       std::to_string(size()) + " * " + std::to_string(r.size()));
        reduce("reduce_scatter", detail::collective::reduce_scatter, s, r, r.size(), op);
    }

    /// Block k of recv (size() * m elements) = rank k's send (m elements).
    template <class In, class Out>
    void all_gather(const In& send, Out&& recv) const
    {
        using T = element_of<In, Out>;
        const std::span<const T> s(std::ranges::data(send), std::ranges::size(send));
        const std::span<T> r(std::ranges::data(recv), std::ranges::size(recv));
        if (r.size() != s.size() * static_cast<std::size_t>(size()))
            fail("all_gather", "recv has " + std::to_string(r.size()) + " elements; it must have size() * send.size() = " +
                                   std::to_string(size()) + " * " + std::to_string(s.size()));
        run<T>("all_gather", make_slot<T>(detail::collective::all_gather, s, r, s.size(), 0, 0),
               [&](const detail::rendezvous& g) { detail::all_gather_share<T>(g, rank_, s.size()); });
    }

    /// data = root's data on every rank (the same size everywhere).
    template <class Data>
    void broadcast(Data&& data, int root) const
    {
        using T = element_of<Data, Data>;
        const std::span<T> d(std::ranges::data(data), std::ranges::size(data));
        if (root < 0 || root >= size())
            fail("broadcast", "root " + std::to_string(root) + " is outside [0, " + std::to_string(size()) + ")");
        run<T>("broadcast", make_slot<T>(detail::collective::broadcast, std::span<const T>(d), d, d.size(), 0, root),
               [&](const detail::rendezvous& g) { detail::broadcast_share<T>(g, rank_, d.size(), root); });
    }

    /// Returns once every rank has entered this barrier.
    void barrier() const { group_->arrive(rank_, detail::slot{}); }

    /// Aborts the group on behalf of this rank: every rank waiting in a collective of the group, and
    /// every later call of one, throws `comm::group_aborted` naming this rank and `reason`.  The
    /// first abort of a group wins; never throws.
    void abort(std::string_view reason) const noexcept
    {
        try {
            group_->abort(rank_, std::string(reason));
        } catch (...) {
            group_->abort(rank_, {});
        }
    }

    /// This rank takes part in no further collective of the group: a collective that waits for it
    /// fails at once (the group is aborted naming this rank), never hangs.  Never throws.
    void leave() const noexcept { group_->leave(rank_); }

    /// True once the group has been aborted (by any rank, a timeout or a mismatch).
    [[nodiscard]] bool aborted() const { return group_->aborted(); }

private:
    friend class in_process_group;
    communicator(std::shared_ptr<detail::rendezvous> group, int rank) : group_(std::move(group)), rank_(rank) {}

    // The element type of a send buffer A and a receive buffer B, with the requirements checked.
    template <class A, class B>
    struct elements {
        using send_type = std::remove_cvref_t<A>;
        using recv_type = std::remove_cvref_t<B>;
        static_assert(std::ranges::contiguous_range<send_type> && std::ranges::contiguous_range<recv_type>,
                      "trident::comm: buffers must be contiguous ranges (std::vector, std::span, std::array)");
        using type = std::remove_cv_t<std::ranges::range_value_t<send_type>>;
        static_assert(std::is_same_v<type, std::remove_cv_t<std::ranges::range_value_t<recv_type>>>,
                      "trident::comm: the send and receive buffers must have the same element type");
        static_assert(!std::is_const_v<std::remove_pointer_t<decltype(std::ranges::data(std::declval<B&>()))>>,
                      "trident::comm: the receive buffer must be writable (not const)");
    };
    template <class A, class B>
    using element_of = typename elements<A, B>::type;

    template <class T>
    static detail::slot make_slot(detail::collective kind, std::span<const T> s, std::span<T> r, std::size_t count,
                                  int op, int root)
    {
        static_assert(detail::kind_of<T> != detail::element_kind::none,
                      "trident::comm: elements must be float, double, std::int32_t or std::int64_t");
        return detail::slot{kind, detail::kind_of<T>, op, root, count, s.data(), r.data(), s.size_bytes(), r.size_bytes()};
    }

    // A bad argument on this rank: abort the group (the others must not wait for this rank) and throw.
    [[noreturn]] void fail(const char* what, const std::string& problem) const
    {
        const std::string message = "trident::comm::" + std::string(what) + " on rank " + std::to_string(rank_) + ": " + problem;
        group_->abort(rank_, message);
        throw std::invalid_argument(message);
    }

    template <class T>
    void check_buffers(const char* what, std::span<const T> s, std::span<T> r) const
    {
        if (s.data() == nullptr && !s.empty())
            fail(what, "the send buffer is null with " + std::to_string(s.size()) + " elements");
        if (r.data() == nullptr && !r.empty())
            fail(what, "the receive buffer is null with " + std::to_string(r.size()) + " elements");
    }

    template <class T>
    void reduce(const char* what, detail::collective kind, std::span<const T> s, std::span<T> r, std::size_t count,
                reduce_op op) const
    {
        if (op == reduce_op::average && !std::is_floating_point_v<T>)
            fail(what, "reduce_op::average needs float or double elements (an integer average would truncate)");
        const int o = static_cast<int>(op);
        run<T>(what, make_slot<T>(kind, s, r, count, o, 0), [&](const detail::rendezvous& g) {
            if (kind == detail::collective::all_reduce)
                detail::all_reduce_share<T>(g, rank_, count, o);
            else
                detail::reduce_scatter_share<T>(g, rank_, count, o);
        });
    }

    template <class T, class Work>
    void run(const char* what, const detail::slot& slot, Work work) const
    {
        check_buffers<T>(what, std::span<const T>(static_cast<const T*>(slot.send), slot.send_bytes / sizeof(T)),
                         std::span<T>(static_cast<T*>(slot.recv), slot.recv_bytes / sizeof(T)));
        const std::uint64_t number = group_->arrive(rank_, slot);
        work(static_cast<const detail::rendezvous&>(*group_));
        group_->depart(rank_, slot.kind, number);
    }

    std::shared_ptr<detail::rendezvous> group_;
    int rank_;
};

/// The shared state of N in-process ranks: cheap to copy (copies are the same group).
/// \throws std::invalid_argument from the constructor when ranks < 1.
class in_process_group {
public:
    explicit in_process_group(int ranks, group_options options = {})
        : state_(std::make_shared<detail::rendezvous>(checked(ranks), options.timeout))
    {
    }

    [[nodiscard]] int size() const noexcept { return state_->size(); }

    /// The communicator of rank r.  \throws std::invalid_argument when r is outside [0, size()).
    [[nodiscard]] communicator at(int r) const
    {
        if (r < 0 || r >= size())
            throw std::invalid_argument("trident::comm::in_process_group::at: rank " + std::to_string(r) +
                                        " is outside [0, " + std::to_string(size()) + ")");
        return communicator(state_, r);
    }

    /// True once the group has been aborted; `aborted_by()` is the rank that did (-1: none, or no
    /// single rank).
    [[nodiscard]] bool aborted() const { return state_->aborted(); }
    [[nodiscard]] int aborted_by() const { return state_->aborted_by(); }

private:
    static int checked(int ranks)
    {
        if (ranks < 1)
            throw std::invalid_argument("trident::comm::in_process_group: ranks must be at least 1, got " +
                                        std::to_string(ranks));
        return ranks;
    }

    std::shared_ptr<detail::rendezvous> state_;
};

/// Runs `f(communicator)` for ranks 0..ranks-1 of a new group, rank 0 on the calling thread and
/// the others on threads of their own, and returns when all have returned.  A rank whose `f`
/// throws aborts the group (the others' collectives throw `group_aborted` naming it); a rank whose
/// `f` returns leaves the group (a collective still waiting for it fails, naming it).  Then the
/// exception of the rank that aborted the group is rethrown (else the first in rank order), so the
/// caller sees the cause, not its consequences.
/// \throws std::invalid_argument when ranks < 1; what a rank threw; `std::system_error` when a
/// thread cannot be made (the ranks already started are aborted and joined first).
template <class F>
void run_in_process(int ranks, F&& f, group_options options = {})
{
    const in_process_group group(ranks, options);
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(ranks));
    auto body = [&](int r) noexcept {
        communicator c = group.at(r);
        try {
            f(c);
        } catch (const std::exception& e) {
            errors[static_cast<std::size_t>(r)] = std::current_exception();
            c.abort(std::string("rank ") + std::to_string(r) + " threw: " + e.what());
        } catch (...) {
            errors[static_cast<std::size_t>(r)] = std::current_exception();
            c.abort("rank " + std::to_string(r) + " threw an exception not derived from std::exception");
        }
        c.leave();
    };
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(ranks - 1));
    try {
        for (int r = 1; r < ranks; ++r)
            threads.emplace_back(body, r);
    } catch (...) {
        group.at(0).abort("a rank's thread could not be started");
        for (auto& t : threads)
            t.join();
        throw;
    }
    body(0);
    for (auto& t : threads)
        t.join();
    const int cause = group.aborted_by();
    if (cause >= 0 && errors[static_cast<std::size_t>(cause)])
        std::rethrow_exception(errors[static_cast<std::size_t>(cause)]);
    for (const auto& e : errors)
        if (e)
            std::rethrow_exception(e);
}

} // namespace trident::comm
