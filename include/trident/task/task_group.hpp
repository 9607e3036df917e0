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
/// | `trident::par.on(cores)`      | in the `trident::cpu_cores` group `cores`                   |
/// | a `trident::blocking_pool&`   | on the pool's threads (for tasks that block)                |
///
/// Under `par` the thread in `wait()` runs tasks of the arena too.  Where `par` has one thread
/// (`par.threads(1)`, a `cpu_cores(1)`, a one-core machine) each task runs inside `run()` on the
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
/// `cpu_cores` group it runs on must outlive it.
///
/// Complexity: `run()` costs one task object and one future state (two allocations), a lock and,
/// under `par` or on a pool, a hand-off to the scheduler (about a microsecond under `par`, a
/// thread wake-up on a pool).

#include "trident/cpu_cores.hpp"
#include "trident/detail/arena_cache.hpp"
#include "trident/detail/tsan.hpp"
#include "trident/detail/unique_task.hpp"
#include "trident/errors.hpp"
#include "trident/policy.hpp"
#include "trident/task/blocking_pool.hpp"

#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident {

namespace detail {

template <class...> inline constexpr bool always_false_task = false;

/// One task of a group: run it (its result or exception goes into its future), or settle its
/// future with the reason it never ran.
class group_task {
public:
    virtual ~group_task() = default;
    /// Returns the exception the task threw (null when it returned).
    virtual std::exception_ptr run() noexcept = 0;
    virtual void cancel(const std::exception_ptr& why) noexcept = 0;
};

template <class R, class F>
class promised_task final : public group_task {
public:
    promised_task(F f, std::promise<R> promise) : f_(std::move(f)), promise_(std::move(promise)) {}
    std::exception_ptr run() noexcept override { return fulfil(promise_, f_, label_task); }
    void cancel(const std::exception_ptr& why) noexcept override
    {
        try {
            promise_.set_exception(why);
        } catch (...) { // cannot happen: a queued task's promise is unsatisfied
        }
    }

private:
    F f_;
    std::promise<R> promise_;
};

class group_state;

/// The group whose task the calling thread is running (innermost), to catch a wait() on itself.
inline thread_local const group_state* current_task_group = nullptr;

/// What a group shares with its tasks in flight (which may outlive the group object itself, on a
/// blocking pool).  The lock is never held while user code runs.
class group_state {
public:
    /// Queues a task, or settles it at once when the group is cancelled; false in that case.
    bool push(std::unique_ptr<group_task>& task)
    {
        std::exception_ptr why;
        {
            std::lock_guard lock(mutex_);
            if (!cancelled_) {
                queued_.push_back(std::move(task));
                return true;
            }
            why = reason_;
        }
        task->cancel(why);
        return false;
    }

    /// Takes `task` back out of the queue when it is still there (its hand-off failed).
    void withdraw(const group_task* task)
    {
        std::unique_ptr<group_task> back;
        {
            std::lock_guard lock(mutex_);
            for (auto it = queued_.begin(); it != queued_.end(); ++it)
                if (it->get() == task) {
                    back = std::move(*it);
                    queued_.erase(it);
                    break;
                }
        }
        notify_if_idle();
    }

    /// Runs the oldest queued task, if any, on the calling thread; false when none was queued.
    bool run_one()
    {
        std::unique_ptr<group_task> task;
        {
            std::lock_guard lock(mutex_);
            if (queued_.empty())
                return false;
            task = std::move(queued_.front());
            queued_.pop_front();
            ++busy_;
        }
        const finish_on_exit finished{*this};
        const group_state* outer = current_task_group;
        current_task_group = this;
        const std::exception_ptr thrown = task->run();
        task.reset(); // the callable's destructor runs before the task counts as finished
        current_task_group = outer;
        if (thrown) {
            std::vector<std::unique_ptr<group_task>> dropped;
            std::exception_ptr why;
            {
                std::lock_guard lock(mutex_);
                if (!first_)
                    first_ = thrown;
                why = begin_cancel("trident::task_group: task cancelled because another task of the group threw", dropped);
            }
            settle(dropped, why); // still counted as busy: wait() returns once these futures are set
        }
        return true;
    }

    /// Cancels the group: the queued tasks are settled with task_cancelled, none start any more.
    void cancel()
    {
        std::vector<std::unique_ptr<group_task>> dropped;
        std::exception_ptr why;
        {
            std::lock_guard lock(mutex_);
            ++busy_;
        }
        const finish_on_exit finished{*this};
        {
            std::lock_guard lock(mutex_);
            why = begin_cancel("trident::task_group: task cancelled by task_group::cancel()", dropped);
        }
        settle(dropped, why);
    }

    [[nodiscard]] bool cancelled() const noexcept { return cancelled_flag_.load(std::memory_order_acquire); }

    /// Blocks until no task is queued or running.
    void wait_idle()
    {
        std::unique_lock lock(mutex_);
        idle_.wait(lock, [&] { return idle_locked(); });
    }

    [[nodiscard]] bool idle_now()
    {
        std::lock_guard lock(mutex_);
        return idle_locked();
    }

    [[nodiscard]] std::exception_ptr first_exception()
    {
        std::lock_guard lock(mutex_);
        return first_;
    }

    /// Drops the exceptions the state holds, on the calling thread.  The group's destructor calls it
    /// so that the state, which a pool thread may be the last to release, owns no exception then:
    /// exception objects are reference-counted inside libstdc++, out of TSan's sight, and must not
    /// be freed by a thread TSan cannot order after their readers.
    void drop_exceptions() noexcept
    {
        std::exception_ptr first, reason;
        std::lock_guard lock(mutex_);
        first.swap(first_);
        reason.swap(reason_);
    }

private:
    struct finish_on_exit {
        group_state& state;
        ~finish_on_exit()
        {
            {
                std::lock_guard lock(state.mutex_);
                --state.busy_;
            }
            state.notify_if_idle();
        }
    };

    [[nodiscard]] bool idle_locked() const noexcept { return busy_ == 0 && queued_.empty(); }

    void notify_if_idle()
    {
        bool idle;
        {
            std::lock_guard lock(mutex_);
            idle = idle_locked();
        }
        if (idle)
            idle_.notify_all();
    }

    // Under the lock: marks the group cancelled (the first reason stays) and takes the queue.  What
    // may throw (allocations) comes before any change.
    std::exception_ptr begin_cancel(const char* message, std::vector<std::unique_ptr<group_task>>& dropped)
    {
        if (!cancelled_)
            reason_ = std::make_exception_ptr(task_cancelled(message));
        dropped.reserve(queued_.size());
        cancelled_ = true;
        cancelled_flag_.store(true, std::memory_order_release);
        for (auto& t : queued_)
            dropped.push_back(std::move(t));
        queued_.clear();
        return reason_;
    }

    static void settle(std::vector<std::unique_ptr<group_task>>& dropped, const std::exception_ptr& why) noexcept
    {
        for (auto& t : dropped) {
            t->cancel(why);
            t.reset();
        }
    }

    std::mutex mutex_;
    std::condition_variable idle_;
    std::deque<std::unique_ptr<group_task>> queued_;
    std::size_t busy_ = 0; // tasks running, and cancellations settling futures
    bool cancelled_ = false;
    std::atomic<bool> cancelled_flag_{false};
    std::exception_ptr first_;  // the first exception a task threw
    std::exception_ptr reason_; // the task_cancelled held by the futures of tasks that never ran
};

/// ThreadSanitizer's view of a task that oneTBB runs under a task_group_context the submitting
/// thread knows (see detail/tsan.hpp).  The task acquires the fork edge, marked on the context's
/// address, before it reads anything the submitter wrote (its own closure included: the address
/// comes from oneTBB, not from shared memory), and releases the join edge, one byte further, when
/// it ends, also by an exception.  The submitter releases the fork edge before the hand-off and
/// acquires the join edge after the wait.
class context_edges {
public:
    context_edges() noexcept : context_(tbb::task::current_context()) { tsan_acquire(context_); }
    ~context_edges() { tsan_release(join_edge(context_)); }
    context_edges(const context_edges&) = delete;
    context_edges& operator=(const context_edges&) = delete;

    [[nodiscard]] tbb::task_group_context* context() const noexcept { return context_; }
    static const void* join_edge(const void* context) noexcept { return static_cast<const char*>(context) + 1; }

private:
    tbb::task_group_context* context_;
};

/// The oneTBB context of a group's runners, and the way from a runner to its group.  Isolated: a
/// cancellation of the work that called run() (an exception in an enclosing parallel loop, say)
/// must not skip the runners.  Runners never throw, so oneTBB never cancels it either; trident's
/// own cancellation lives in group_state.
class group_context : public tbb::task_group_context {
public:
    explicit group_context(group_state* s)
        : tbb::task_group_context(tbb::task_group_context::isolated, tbb::task_group_context::concurrent_wait), state(s)
    {
    }
    group_state* const state;
};

} // namespace detail

class task_group {
public:
    /// Tasks run at once, inside run(), on the calling thread, in order.
    explicit task_group(seq_policy) : where_(kind::seq) {}

    /// Tasks run on oneTBB: in the arena of `par.threads(n)` or of `par.on(cores)` when set, else in
    /// the arena of the constructing thread (outside any arena, one of trident::default_concurrency()
    /// threads).  With one thread there, inside run() (see above).
    explicit task_group(const par_policy& policy)
        : cores_(detail::arena_for(policy))
    {
        if ((cores_ ? cores_->concurrency() : tbb::this_task_arena::max_concurrency()) == 1) {
            // Enqueued work would make oneTBB lend a one-thread arena a worker beside the thread
            // that joins it (such an arena has two slots): the cap would not hold.
            where_ = kind::one_thread;
            return;
        }
        where_ = kind::tbb;
        if (cores_)
            cores_->execute([this] { arena_.emplace(tbb::task_arena::attach{}); });
        else
            arena_.emplace(tbb::task_arena::attach{});
        tbb_context_.emplace(state_.get());
        tbb_group_.emplace(*tbb_context_);
    }

    /// Tasks run on the pool's threads.  The pool must outlive the group.
    explicit task_group(blocking_pool& pool) : where_(kind::pool), pool_(&pool) {}

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
            state_->cancel();
        } catch (...) { // allocating the task_cancelled failed: the queued tasks then still run
        }
        try {
            drain();
        } catch (...) {
        }
        state_->drop_exceptions();
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
        std::promise<R> promise;
        std::future<R> future = promise.get_future();
        std::unique_ptr<detail::group_task> task =
            std::make_unique<detail::promised_task<R, std::decay_t<F>>>(std::forward<F>(f), std::move(promise));
        const detail::group_task* handle = task.get();
        switch (where_) {
        case kind::seq:
            if (state_->push(task))
                state_->run_one();
            break;
        case kind::one_thread:
            if (state_->push(task)) {
                if (cores_)
                    cores_->execute([this] { state_->run_one(); });
                else
                    state_->run_one();
            }
            break;
        case kind::pool:
            if (state_->push(task)) {
                try {
                    detail::blocking_pool_access::post(*pool_, detail::unique_task([s = state_]() noexcept {
                        try {
                            s->run_one();
                        } catch (...) { // std::bad_alloc from a cancellation: the task itself ran
                        }
                    }));
                } catch (...) {
                    state_->withdraw(handle);
                    throw;
                }
            }
            break;
        case kind::tbb: {
            // The runner is made (and counted by the tbb::task_group) before the task is queued, so
            // that a wait() that finds the tbb::task_group done finds the queue empty too.
            // The runner holds no data: it finds the group through the context of the running task,
            // so nothing of it is written here and read on a worker out of TSan's sight (oneTBB
            // hands tasks over, and recycles their memory, without TSan seeing it).  The group
            // outlives its runners: the destructor waits for them.
            tbb::task_handle runner = tbb_group_->defer([] {
                const detail::context_edges edges;
                try {
                    static_cast<detail::group_context*>(edges.context())->state->run_one();
                } catch (...) {
                }
            });
            if (state_->push(task)) {
                try {
                    detail::tsan_release(&*tbb_context_);
                    arena_->enqueue(std::move(runner));
                } catch (...) {
                    state_->withdraw(handle);
                    throw;
                }
            }
            break;
        }
        }
        return future;
    }

    /// Waits until every task has finished (or was cancelled), then rethrows the first exception a
    /// task threw, if any.  Under par the waiting thread runs tasks meanwhile; on a blocking pool a
    /// wait() called from a thread of that pool runs the group's queued tasks itself.
    /// \throws std::logic_error when called from inside a task of this group (it would wait for itself).
    void wait()
    {
        if (detail::current_task_group == state_.get())
            throw std::logic_error("trident::task_group::wait: called from inside a task of the same group, "
                                   "which would wait for itself");
        drain();
        if (std::exception_ptr e = state_->first_exception())
            std::rethrow_exception(e);
    }

    /// Cancels the group: tasks not started yet never start (their futures hold
    /// `trident::task_cancelled`), later run() calls start nothing.  Running tasks finish.
    void cancel() { state_->cancel(); }

    /// Whether the group was cancelled (by cancel() or by a task that threw); a long task may poll it.
    [[nodiscard]] bool cancelled() const noexcept { return state_->cancelled(); }

private:
    enum class kind { seq, one_thread, tbb, pool };

    void drain()
    {
        switch (where_) {
        case kind::seq:
        case kind::one_thread:
            break;
        case kind::pool:
            if (detail::blocking_pool_access::on_pool_thread(*pool_))
                while (state_->run_one()) {
                }
            break;
        case kind::tbb:
            for (;;) {
                arena_->execute([this] { tbb_group_->wait(); });
                detail::tsan_acquire(detail::context_edges::join_edge(&*tbb_context_));
                if (state_->idle_now())
                    return;
                std::this_thread::yield(); // a cancel() on another thread is half done
            }
        }
        state_->wait_idle();
    }

    std::shared_ptr<detail::group_state> state_ = std::make_shared<detail::group_state>();
    kind where_ = kind::seq;
    blocking_pool* pool_ = nullptr;
    std::shared_ptr<cpu_cores> cores_; // held for the group's life: see detail::arena_for()
    std::optional<tbb::task_arena> arena_;
    std::optional<detail::group_context> tbb_context_;
    std::optional<tbb::task_group> tbb_group_;
};

} // namespace trident
