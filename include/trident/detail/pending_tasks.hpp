#pragma once
// The queue behind the task executors that hand tasks to threads they do not own (a oneTBB arena,
// a blocking_pool): the threads are sent interchangeable "run one" requests, each of which takes
// the oldest queued task, so that a thread waiting for the tasks can take them itself and a
// cancellation can drop the ones not started (task/arena_tasks.hpp, task/pool_tasks.hpp).

#include "trident/detail/unique_task.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

namespace trident::detail {

class pending_tasks {
public:
    /// Queues `task`, then calls `hand_off()` (which sends one "run one" request) under the lock,
    /// so that the request cannot find the queue without the task.  When either throws, the task is
    /// taken back out (destroyed without running) and the exception propagates.
    template <class HandOff>
    void push(unique_task task, HandOff&& hand_off)
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(task));
        try {
            hand_off();
        } catch (...) {
            queue_.pop_back();
            throw;
        }
        ++unfinished_;
    }

    /// Runs the oldest queued task on the calling thread; false when none was queued.  The task
    /// (its callable) is destroyed before it counts as finished.
    bool run_one() noexcept
    {
        unique_task task;
        {
            std::lock_guard lock(mutex_);
            if (queue_.empty())
                return false;
            task = std::move(queue_.front());
            queue_.pop_front();
        }
        task(); // never throws: the task primitives catch inside their tasks
        task = {};
        finished(1);
        return true;
    }

    /// Destroys the queued tasks without running them; they count as finished once destroyed.
    void drop_queued() noexcept
    {
        std::deque<unique_task> dropped;
        {
            std::lock_guard lock(mutex_);
            dropped.swap(queue_);
        }
        const std::size_t n = dropped.size();
        dropped.clear();
        if (n > 0)
            finished(n);
    }

    /// Whether every task pushed has finished (run or dropped).
    [[nodiscard]] bool idle() noexcept
    {
        std::lock_guard lock(mutex_);
        return unfinished_ == 0;
    }

    /// Blocks until every task pushed has finished.
    void wait_idle()
    {
        std::unique_lock lock(mutex_);
        idle_.wait(lock, [&] { return unfinished_ == 0; });
    }

private:
    void finished(std::size_t n) noexcept
    {
        bool idle;
        {
            std::lock_guard lock(mutex_);
            unfinished_ -= n;
            idle = unfinished_ == 0;
        }
        if (idle)
            idle_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable idle_;
    std::deque<unique_task> queue_;
    std::size_t unfinished_ = 0; // queued or running
};

} // namespace trident::detail
