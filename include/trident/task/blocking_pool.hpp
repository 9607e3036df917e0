#pragma once
/// \file task/blocking_pool.hpp
/// `trident::blocking_pool`: dedicated OS threads for work that blocks (sleep, file or network
/// I/O, waiting for a device or another process).
///
/// A task that blocks on a oneTBB worker keeps that worker, and so one CPU core's worth of compute,
/// idle for as long as it blocks: on a 2-core machine two sleeping tasks stop every `trident::par`
/// call.  A blocking pool owns its threads; they are not oneTBB workers, so a `trident::par` map
/// keeps all of oneTBB's workers while the pool's tasks sleep, and the pool may have more threads
/// than the machine has cores (a blocked thread costs memory, not CPU).  The lecture's case,
/// "8 I/O tasks of 2 s on a thread pool of 4 finish in 4 s":
///
/// \code
///   trident::blocking_pool io(4);
///   std::vector<std::future<std::string>> pages;
///   for (const auto& url : urls)                                   // 8 urls
///       pages.push_back(io.submit([&url] { return download(url); }));
///   for (auto& p : pages)
///       consume(p.get());                                          // ~2 x one download
/// \endcode
///
/// Tasks start in the order they were submitted (FIFO), at most `threads()` at once.
/// `trident::task_group` and `trident::parallel_invoke` accept a blocking pool as the place
/// where their tasks run.
///
/// Requirements: a task is any callable with no arguments, copyable or not (move-only callables
/// such as a lambda owning a `std::unique_ptr` are fine); it is called once, on one pool thread.
/// `submit` may be called from any thread at any time, from inside a task of the pool too.
///
/// Complexity: `submit` is O(1) (one allocation for the task, one for its future's state, a lock
/// and a wake-up); a task starts within a thread wake-up (microseconds) of a thread being free.
///
/// Exceptions: what a task throws is stored in its future (`get()` rethrows it); the pool and its
/// other tasks carry on.  The constructor throws `std::invalid_argument` for threads < 1 and
/// `std::system_error` when the OS refuses a thread (the threads already made are joined first).
///
/// ThreadSanitizer: libstdc++ counts the references to an exception object inside its own
/// (uninstrumented) library, so when a pool thread drops the last reference to an exception that
/// another thread read, TSan may report a race on the exception's memory.  A task (its callable
/// and promise) is released before it counts as finished for `wait()`, so reading a task's
/// exception after `wait()` (or through `future.share()`, whose state outlives the handler) is
/// ordered for TSan; `future.get()` alone releases the future's state before the handler runs.
///
/// Explain: inside a `trident::explain` region each task is recorded as a "pool task" event on its
/// pool thread; tell explain the pool's size (`explain_options::workers = pool.threads()`).
///
/// Lifetime: the destructor lets every task submitted so far (and any they submit meanwhile) run
/// to the end, then joins the threads, like Python's `ThreadPoolExecutor.shutdown(wait=True)`.
/// A pool is neither copyable nor movable, and must not be destroyed by one of its own tasks.

#include "trident/detail/unique_task.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident {

class blocking_pool;

namespace detail {

/// The pool whose thread this is (null on any other thread).
inline thread_local const blocking_pool* current_blocking_pool = nullptr;

/// What the other task primitives need from a pool beyond its public interface.
struct blocking_pool_access;

} // namespace detail

class blocking_pool {
public:
    /// Starts `threads` threads, each waiting for tasks.
    /// \throws std::invalid_argument if threads < 1 (the message names the value).
    explicit blocking_pool(int threads) : current_(checked(threads), idle_ticket)
    {
        workers_.reserve(current_.size());
        try {
            for (std::size_t i = 0; i < current_.size(); ++i)
                workers_.emplace_back([this, i] { work(i); });
        } catch (...) {
            stop_and_join();
            throw;
        }
    }

    blocking_pool(const blocking_pool&) = delete;
    blocking_pool& operator=(const blocking_pool&) = delete;

    /// Runs every task submitted so far (and any they submit) to the end, then joins the threads.
    ~blocking_pool() { stop_and_join(); }

    /// How many threads the pool has: the most tasks that run at once.
    [[nodiscard]] int threads() const noexcept { return static_cast<int>(current_.size()); }

    /// Queues `f` to run once on a pool thread and returns the future of its result
    /// (`std::future<void>` when f returns nothing).  What f throws goes into the future.
    ///
    /// \code
    ///   std::future<int> n = pool.submit([] { return count_lines("big.log"); });
    /// \endcode
    template <class F>
    std::future<detail::task_result_t<F>> submit(F&& f)
    {
        static_assert(std::is_invocable_v<std::decay_t<F>>,
                      "trident::blocking_pool::submit: the task must be callable with no arguments");
        using R = detail::task_result_t<F>;
        std::promise<R> promise;
        std::future<R> future = promise.get_future();
        post(detail::unique_task([fn = std::decay_t<F>(std::forward<F>(f)), p = std::move(promise)]() mutable noexcept {
            detail::fulfil(p, fn, detail::label_pool_task);
        }));
        return future;
    }

    /// Blocks until every task submitted before the call has finished (tasks submitted meanwhile
    /// by other threads are not waited for).  The futures of those tasks are then ready.
    /// \throws std::logic_error when called from a task of this pool: it would wait for itself.
    void wait()
    {
        if (detail::current_blocking_pool == this)
            throw std::logic_error("trident::blocking_pool::wait: called from a task of the same pool, "
                                   "which would wait for itself");
        std::unique_lock lock(mutex_);
        const std::uint64_t target = next_ticket_;
        ++waiters_;
        idle_.wait(lock, [&] { return oldest_unfinished() >= target; });
        --waiters_;
    }

private:
    friend struct detail::blocking_pool_access;

    static constexpr std::uint64_t idle_ticket = std::numeric_limits<std::uint64_t>::max();

    struct entry {
        std::uint64_t ticket;
        detail::unique_task task;
    };

    static std::size_t checked(int threads)
    {
        if (threads < 1)
            throw std::invalid_argument("trident::blocking_pool(threads): threads must be at least 1, got " +
                                        std::to_string(threads));
        return static_cast<std::size_t>(threads);
    }

    void post(detail::unique_task task)
    {
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(entry{next_ticket_++, std::move(task)});
        }
        work_.notify_one();
    }

    // The ticket of the oldest task not finished yet (idle_ticket when none): tasks start in ticket
    // order, so it is the queue's front or one of the running tasks.
    std::uint64_t oldest_unfinished() const
    {
        std::uint64_t oldest = queue_.empty() ? idle_ticket : queue_.front().ticket;
        for (const std::uint64_t t : current_)
            oldest = std::min(oldest, t);
        return oldest;
    }

    void work(std::size_t index)
    {
        detail::current_blocking_pool = this;
        std::unique_lock lock(mutex_);
        for (;;) {
            work_.wait(lock, [&] { return !queue_.empty() || (stopping_ && running_ == 0); });
            if (queue_.empty())
                break; // stopping, and nothing left that could submit more
            entry next = std::move(queue_.front());
            queue_.pop_front();
            current_[index] = next.ticket;
            ++running_;
            lock.unlock();
            next.task();              // never throws: submit() and the other primitives catch
            next.task = {};           // the callable's destructor runs outside the lock
            lock.lock();
            current_[index] = idle_ticket;
            --running_;
            if (waiters_ > 0)
                idle_.notify_all();
            if (stopping_ && running_ == 0 && queue_.empty())
                work_.notify_all();
        }
    }

    void stop_and_join() noexcept
    {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        work_.notify_all();
        for (std::thread& t : workers_)
            t.join();
    }

    std::mutex mutex_;
    std::condition_variable work_; // a task was queued, or the pool stops
    std::condition_variable idle_; // a task finished (only notified while someone waits)
    std::deque<entry> queue_;
    std::vector<std::uint64_t> current_; // per thread: the ticket of its task, idle_ticket when idle
    std::uint64_t next_ticket_ = 0;
    std::size_t running_ = 0;
    std::size_t waiters_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

namespace detail {

struct blocking_pool_access {
    /// Queues a task that must not throw (no future is made for it).
    static void post(blocking_pool& pool, unique_task task) { pool.post(std::move(task)); }
    /// Whether the calling thread is one of `pool`'s threads.
    static bool on_pool_thread(const blocking_pool& pool) noexcept { return current_blocking_pool == &pool; }
};

} // namespace detail
} // namespace trident
