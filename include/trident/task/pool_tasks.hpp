#pragma once
// detail::pool_tasks: the task executor of a trident::blocking_pool (see task/task_executor.hpp).
//
// The tasks wait in the executor's own queue (detail::pending_tasks); the pool is sent one "run
// the oldest" request per task, so tasks start in FIFO order, at most pool.threads() at once.  The
// queue being the executor's lets a wait() called on one of the pool's threads run the tasks not
// started itself (a one-thread pool would otherwise wait for itself) and lets cancel() drop them.
// A request outliving its task (dropped, or run by such a wait) finds the queue empty: it holds the
// queue, not the executor, which may be gone by then.

#include "trident/detail/pending_tasks.hpp"
#include "trident/detail/unique_task.hpp"
#include "trident/task/blocking_pool.hpp"
#include "trident/task/task_executor.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace trident::detail {

class pool_tasks {
public:
    /// The pool must outlive the executor.
    explicit pool_tasks(blocking_pool& pool) : pool_(&pool) {}

    pool_tasks(const pool_tasks&) = delete;
    pool_tasks& operator=(const pool_tasks&) = delete;

    /// Waits for the tasks submitted (a primitive calls wait() first; this is the safety net).
    ~pool_tasks() { pending_->wait_idle(); }

    [[nodiscard]] int concurrency() const noexcept { return pool_->threads(); }

    void submit(unique_task task)
    {
        unique_task request([queue = pending_]() noexcept { queue->run_one(); });
        const std::uint64_t ticket = pending_->push(std::move(task));
        try {
            blocking_pool_access::post(*pool_, std::move(request));
        } catch (...) {
            if (pending_->withdraw(ticket))
                throw;
        }
    }

    /// On one of the pool's threads, first runs the queued tasks itself.
    void wait()
    {
        if (blocking_pool_access::on_pool_thread(*pool_))
            while (pending_->run_one()) {
            }
        pending_->wait_idle();
    }

    void cancel() noexcept { pending_->drop_queued(); }

    /// One pool task per call (see for_tasks_by_submit): n calls on a pool of fewer threads run in waves.
    template <class Task>
    void for_tasks(std::size_t count, Task&& task)
    {
        for_tasks_by_submit(*this, count, task);
    }

private:
    blocking_pool* pool_;
    std::shared_ptr<pending_tasks> pending_ = std::make_shared<pending_tasks>();
};

static_assert(check_task_executor<pool_tasks>());

} // namespace trident::detail
