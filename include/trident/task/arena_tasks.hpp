#pragma once
// detail::arena_tasks: the task executor of trident::par (see task/task_executor.hpp), on the
// oneTBB arena that detail::arena_for(policy) names: the cached arena of par.threads(n), the group
// of par.on(cores), else the arena of the thread that fixes it (see `submitters`).
//
// submit(): where the arena has one thread, the task runs at once, inside the arena, on the caller
// (enqueued work would make oneTBB lend a one-thread arena a worker beside the thread that joins it:
// such an arena has two slots, and the cap would not hold).  Otherwise the task waits in the
// executor's queue (detail::pending_tasks) and a "runner" enqueued in the arena runs the oldest.
// for_tasks(): the oneTBB backend's for_tasks (one parallel loop, each task isolated).

#include "trident/backend/instrumented.hpp"
#include "trident/backend/tbb/executor.hpp"
#include "trident/thread_arena.hpp"
#include "trident/detail/arena_cache.hpp"
#include "trident/detail/pending_tasks.hpp"
#include "trident/detail/tsan.hpp"
#include "trident/detail/unique_task.hpp"
#include "trident/policy.hpp"
#include "trident/task/task_executor.hpp"

#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace trident::detail {

/// ThreadSanitizer's view of a runner, which oneTBB runs under a task_group_context the submitting
/// thread knows (see detail/tsan.hpp).  The runner acquires the fork edge, marked on the context's
/// address, before it reads anything the submitter wrote (its own closure included: the address
/// comes from oneTBB, not from shared memory), and releases the join edge, one byte further, when
/// it ends.  The submitter releases the fork edge before the hand-off and acquires the join edge
/// after the wait.
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

/// The oneTBB context of an executor's runners, and the way from a runner to the executor's queue.
/// Isolated: a cancellation of the work that called submit() (an exception in an enclosing parallel
/// loop, say) must not skip the runners.  Runners never throw, so oneTBB never cancels it either;
/// cancellation lives in the queue (cancel()).
class runner_context : public tbb::task_group_context {
public:
    explicit runner_context(pending_tasks* q)
        : tbb::task_group_context(tbb::task_group_context::isolated, tbb::task_group_context::concurrent_wait), queue(q)
    {
    }
    pending_tasks* const queue;
};

class arena_tasks {
public:
    /// Which threads submit: the arena of a plain `par` (no threads(n), no on(cores)) is the one of
    /// the thread that fixes it, and fixing it costs oneTBB an arena attach (hundreds of ns).
    enum class submitters {
        caller,    ///< only the constructing thread: the arena is fixed by the first submit()
        any_thread ///< any thread (a task_group): the arena is fixed now, by the constructing thread
    };

    explicit arena_tasks(const par_policy& policy, submitters who = submitters::caller) : policy_(policy)
    {
        if (who == submitters::any_thread)
            prepare();
    }

    arena_tasks(const arena_tasks&) = delete;
    arena_tasks& operator=(const arena_tasks&) = delete;

    /// Waits for the tasks submitted (a primitive calls wait() first; this is the safety net).
    ~arena_tasks()
    {
        if (group_) {
            try {
                wait();
            } catch (...) {
            }
        }
    }

    /// The threads of the arena the policy names (the current arena's when it names none).
    [[nodiscard]] int concurrency() const
    {
        if (concurrency_ > 0) // fixed by the first submit() (or the constructor)
            return concurrency_;
        const std::shared_ptr<thread_arena> cores = arena_for(policy_);
        return cores ? cores->concurrency() : tbb::this_task_arena::max_concurrency();
    }

    void submit(unique_task task)
    {
        prepare();
        if (!group_) { // one thread: at once, inside the arena
            if (cores_)
                cores_->execute([&] { task(); });
            else
                task();
            return;
        }
        // The runner is made (and counted by the tbb::task_group) before the task is queued, so that
        // a wait() that finds the tbb::task_group done finds the queue settled too.  It holds no
        // data: it finds the queue through the context of the running task, so nothing of it is
        // written here and read on a worker out of TSan's sight (oneTBB hands tasks over, and
        // recycles their memory, without TSan seeing it).  The executor outlives its runners: its
        // destructor waits for them.
        tbb::task_handle runner = group_->defer([] {
            const context_edges edges;
            static_cast<runner_context*>(edges.context())->queue->run_one();
        });
        const std::uint64_t ticket = queue_->push(std::move(task));
        try {
            tsan_release(&*context_);
            arena_->enqueue(std::move(runner));
        } catch (...) {
            if (queue_->withdraw(ticket))
                throw;
        }
    }

    /// Joins the arena (running its tasks meanwhile) until every runner has ended, and again while
    /// a task submitted meanwhile by another thread has not finished.
    void wait()
    {
        if (!group_) // nothing was enqueued: every task ran inside submit()
            return;
        for (;;) {
            arena_->execute([this] { group_->wait(); });
            tsan_acquire(context_edges::join_edge(&*context_));
            if (queue_->idle())
                return;
            std::this_thread::yield();
        }
    }

    void cancel() noexcept
    {
        if (queue_)
            queue_->drop_queued();
    }

    /// The oneTBB backend's for_tasks: one parallel loop of count tasks, each isolated, in the
    /// policy's arena; in order on the caller where that arena has one thread.
    template <class Task>
    void for_tasks(std::size_t count, Task&& task) const
    {
        const instrumented<tbb_executor> exec(tbb_executor{policy_});
        exec.for_tasks(count, task);
    }

private:
    // Fixes the arena (once): the one-thread case, or the attached arena, context and oneTBB group.
    void prepare()
    {
        std::call_once(prepared_, [this] {
            cores_ = arena_for(policy_);
            concurrency_ = cores_ ? cores_->concurrency() : tbb::this_task_arena::max_concurrency();
            if (concurrency_ == 1)
                return;
            if (cores_)
                cores_->execute([this] { arena_.emplace(tbb::task_arena::attach{}); });
            else
                arena_.emplace(tbb::task_arena::attach{});
            queue_.emplace();
            context_.emplace(&*queue_);
            group_.emplace(*context_);
        });
    }

    par_policy policy_;
    std::once_flag prepared_;
    std::shared_ptr<thread_arena> cores_; // held for the executor's life: see detail::arena_for()
    int concurrency_ = 0;
    std::optional<pending_tasks> queue_; // made by prepare() (a fork-join call never needs it)
    std::optional<tbb::task_arena> arena_;
    std::optional<runner_context> context_;
    std::optional<tbb::task_group> group_;
};

static_assert(check_task_executor<arena_tasks>());

} // namespace trident::detail
