#pragma once
// The queue behind the task executors that hand tasks to threads they do not own (a oneTBB arena,
// a blocking_pool): the threads are sent interchangeable "run one" requests, each of which takes
// the oldest queued task, so that a thread waiting for the tasks can take them itself and a
// cancellation can drop the ones not started (task/arena_tasks.hpp, task/pool_tasks.hpp).

#include "trident/detail/unique_task.hpp"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>

namespace trident::detail {

class pending_tasks {
public:
    /// Queues `task`; returns its ticket (for withdraw()).  The caller then sends one "run one"
    /// request, outside this queue's lock (a woken thread would otherwise wait for it).
    std::uint64_t push(unique_task task)
    {
        std::lock_guard lock(mutex_);
        const std::uint64_t ticket = next_ticket_++;
        queue_.push_back(entry{ticket, std::move(task)});
        ++unfinished_;
        return ticket;
    }

    /// After the request for the task of `ticket` could not be sent: takes that task back out
    /// (destroyed without running) and returns true, or returns false when a request (one whose own
    /// task had been taken by a waiting thread or dropped) has already taken it: then every task
    /// still queued has its request, and nothing is to be undone.
    bool withdraw(std::uint64_t ticket) noexcept
    {
        unique_task back;
        {
            std::lock_guard lock(mutex_);
            auto it = queue_.begin();
            while (it != queue_.end() && it->ticket != ticket)
                ++it;
            if (it == queue_.end())
                return false;
            back = std::move(it->task);
            queue_.erase(it);
        }
        back = {};
        finished(1);
        return true;
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
            task = std::move(queue_.front().task);
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
        std::deque<entry> dropped;
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
    struct entry {
        std::uint64_t ticket;
        unique_task task;
    };

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
    std::deque<entry> queue_;
    std::uint64_t next_ticket_ = 0;
    std::size_t unfinished_ = 0; // queued or running
};

} // namespace trident::detail
