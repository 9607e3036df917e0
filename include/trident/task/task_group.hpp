#pragma once
/// \file task/task_group.hpp
/// `trident::task_group`: a group of tasks whose number is known only at run time (an ensemble of
/// models, a hyper-parameter sweep, the files of a directory), run side by side.
///
/// The group is made from where its tasks run:
///
/// | constructed from              | tasks run                                                   |
/// |-------------------------------|-------------------------------------------------------------|
/// | `trident::seq`                | at once, inside `run()`, on the calling thread (debugging)  |
/// | `trident::par`                | on oneTBB's workers (the arena of the constructing thread)  |
/// | `trident::par.threads(n)`     | on at most n threads (the cached arena of `par.threads(n)`) |
/// | `trident::par.on(cores)`      | in the `trident::thread_arena` group `cores`                   |
/// | a `trident::blocking_pool&`   | on the pool's threads (for tasks that block)                |
///
/// Under `par` the thread in `wait()` runs tasks of the arena too.  Where `par` has one thread
/// (`par.threads(1)`, a `thread_arena(1)`, a one-core machine) each task runs inside `run()` on the
/// calling thread, as under `seq` but within that arena, as the data-parallel algorithms do with
/// one thread.  Tasks that block (sleep, I/O) belong on a blocking pool: under `par` they would
/// keep oneTBB's compute workers idle.
///
/// \code
///   trident::task_group sweep(trident::par);
///   std::vector<std::future<double>> losses;
///   for (double rate : learning_rates)                     // known only at run time
///       losses.push_back(sweep.run([&, rate] { return train(data, rate); }));
///   sweep.wait();                                          // rethrows the first failure
///   for (auto& l : losses) report(l.get());
/// \endcode
///
/// Requirements: a task is a callable with no arguments (move-only callables are fine); it is
/// called once.  `run()` may be called from any thread, from inside a task of the same group too.
/// Under `par`, tasks may run in any order and are not guaranteed to run at once (with one thread
/// they run one after the other), so they must not wait for one another; on a blocking pool they
/// start in FIFO order, as many at once as the pool has free threads.
///
/// Exceptions and cancellation: what a task throws goes into its future.  The first exception
/// thrown by any task also cancels the group: tasks not started yet never start and their futures
/// hold `trident::task_cancelled`; `run()` on a cancelled group starts nothing and returns a future
/// holding `trident::task_cancelled`; tasks already running finish.  `wait()` waits for every task,
/// then rethrows that first exception (every time it is called).  `cancel()` cancels the group
/// without an exception: `wait()` then throws only if a task threw.  A cancelled group stays
/// cancelled.
///
/// Lifetime: the destructor cancels the tasks not started yet (their futures hold
/// `trident::task_cancelled`) and waits for those running; it never throws.  Call `wait()` first
/// to have every task run.  A group is neither copyable nor movable; a blocking pool or
/// `thread_arena` group it runs on must outlive it.
///
/// Complexity: `run()` costs one task object and one future state (two allocations), a lock and,
/// under `par` or on a pool, a hand-off to the scheduler (about a microsecond under `par`, a
/// thread wake-up on a pool).
///
/// Implementation: the group is written once over the task executor of its place
/// (task/task_executor.hpp: detail::seq_tasks, detail::arena_tasks, detail::pool_tasks); each
/// task is a detail::group_call (detail/group_task.hpp) submitted to it.

#include "trident/detail/group_task.hpp"
#include "trident/detail/unique_task.hpp"
#include "trident/errors.hpp"
#include "trident/policy.hpp"
#include "trident/task/arena_tasks.hpp"
#include "trident/task/blocking_pool.hpp"
#include "trident/task/pool_tasks.hpp"
#include "trident/task/seq_tasks.hpp"

#include <exception>
#include <future>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace trident {

namespace detail {
template <class...> inline constexpr bool always_false_task = false;
} // namespace detail

class task_group {
public:
    /// Tasks run at once, inside run(), on the calling thread, in order.
    explicit task_group(seq_policy) : exec_(std::in_place_type<detail::seq_tasks>) {}

    /// Tasks run on oneTBB: in the arena of `par.threads(n)` or of `par.on(cores)` when set, else in
    /// the arena of the constructing thread (outside any arena, one of trident::default_concurrency()
    /// threads).  With one thread there, inside run() (see above).
    explicit task_group(const par_policy& policy)
        : exec_(std::in_place_type<detail::arena_tasks>, policy, detail::arena_tasks::submitters::any_thread)
    {
    }

    /// Tasks run on the pool's threads.  The pool must outlive the group.
    explicit task_group(blocking_pool& pool) : exec_(std::in_place_type<detail::pool_tasks>, pool) {}

    /// Anything else (trident::gpu, trident::automatic) is a compile-time error.
    template <class Other>
    explicit task_group(const Other&)
    {
        static_assert(detail::always_false_task<Other>,
                      "trident::task_group: tasks run on trident::seq, trident::par (with options) or a "
                      "trident::blocking_pool; GPU work goes through the data-parallel algorithms");
    }

    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    /// Cancels the tasks not started yet and waits for the running ones; never throws.
    ~task_group() noexcept
    {
        try {
            state_.cancel("trident::task_group: task cancelled by task_group::cancel()");
        } catch (...) { // allocating the task_cancelled failed: the queued tasks then still run
        }
        if (state_.cancelled())
            on_executor([](auto& e) { e.cancel(); });
        try {
            on_executor([](auto& e) { e.wait(); });
        } catch (...) {
        }
    }

    /// Starts `f()` (or, under seq or with one thread, runs it now) and returns the future of its
    /// result (`std::future<void>` when f returns nothing).  The future holds what f throws, or
    /// `trident::task_cancelled` when the group was cancelled before f started.
    /// \throws only what allocating the task throws (std::bad_alloc).
    template <class F>
    std::future<detail::task_result_t<F>> run(F&& f)
    {
        static_assert(std::is_invocable_v<std::decay_t<F>>,
                      "trident::task_group::run: the task must be callable with no arguments");
        using R = detail::task_result_t<F>;
        using call = detail::group_call<R, std::decay_t<F>, task_group>;
        std::promise<R> promise;
        std::future<R> future = promise.get_future();
        detail::unique_task task(call(std::forward<F>(f), std::move(promise), *this));
        if (state_.cancelled()) { // a cancelled group starts nothing: the task settles its future
            task = {};
            return future;
        }
        on_executor([&](auto& e) { e.submit(std::move(task)); });
        if (state_.cancelled()) // cancelled meanwhile by another thread: drop it if it has not started
            on_executor([](auto& e) { e.cancel(); });
        return future;
    }

    /// Waits until every task has finished (or was cancelled), then rethrows the first exception a
    /// task threw, if any.  Under par the waiting thread runs tasks meanwhile; on a blocking pool a
    /// wait() called from a thread of that pool runs the group's queued tasks itself.
    /// \throws std::logic_error when called from inside a task of this group (it would wait for itself).
    void wait()
    {
        if (detail::current_task_group == &state_)
            throw std::logic_error("trident::task_group::wait: called from inside a task of the same group, "
                                   "which would wait for itself");
        on_executor([](auto& e) { e.wait(); });
        if (std::exception_ptr e = state_.first_exception())
            std::rethrow_exception(e);
    }

    /// Cancels the group: tasks not started yet never start (their futures hold
    /// `trident::task_cancelled`), later run() calls start nothing.  Running tasks finish.
    void cancel()
    {
        state_.cancel("trident::task_group: task cancelled by task_group::cancel()");
        on_executor([](auto& e) { e.cancel(); });
    }

    /// Whether the group was cancelled (by cancel() or by a task that threw); a long task may poll it.
    [[nodiscard]] bool cancelled() const noexcept { return state_.cancelled(); }

private:
    template <class, class, class>
    friend class detail::group_call;

    static detail::group_state& state_of(task_group& g) noexcept { return g.state_; }

    // A task threw: the group is cancelled and the tasks not started are dropped (their futures
    // then hold task_cancelled).
    static void task_failed(task_group& g, const std::exception_ptr& e) noexcept
    {
        try {
            g.state_.fail(e);
        } catch (...) { // no memory for the task_cancelled: the queued tasks then still run
            return;
        }
        g.on_executor([](auto& exec) { exec.cancel(); });
    }

    template <class Op>
    void on_executor(Op&& op)
    {
        std::visit(op, exec_);
    }

    detail::group_state state_;
    std::variant<detail::seq_tasks, detail::arena_tasks, detail::pool_tasks> exec_;
};

} // namespace trident
