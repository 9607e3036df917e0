#pragma once
// What a trident::task_group shares with its tasks (task/task_group.hpp): the group's cancellation
// and first exception (group_state), and one task as the group's executor holds it (group_call).

#include "trident/detail/recorder.hpp"
#include "trident/detail/unique_task.hpp"
#include "trident/errors.hpp"

#include <atomic>
#include <exception>
#include <future>
#include <mutex>
#include <utility>

namespace trident::detail {

/// A group's cancellation and first exception.  The lock is never held while user code runs.
class group_state {
public:
    [[nodiscard]] bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }

    /// Marks the group cancelled; the first reason (the task_cancelled of the futures of tasks that
    /// never run) stays.  \throws std::bad_alloc (making the task_cancelled) before any change.
    void cancel(const char* message)
    {
        std::lock_guard lock(mutex_);
        if (!reason_)
            reason_ = std::make_exception_ptr(task_cancelled(message));
        cancelled_.store(true, std::memory_order_release);
    }

    /// A task threw `e`: the first such exception is kept, and the group is cancelled.
    void fail(const std::exception_ptr& e)
    {
        {
            std::lock_guard lock(mutex_);
            if (!first_)
                first_ = e;
        }
        cancel("trident::task_group: task cancelled because another task of the group threw");
    }

    [[nodiscard]] std::exception_ptr reason()
    {
        std::lock_guard lock(mutex_);
        return reason_;
    }

    [[nodiscard]] std::exception_ptr first_exception()
    {
        std::lock_guard lock(mutex_);
        return first_;
    }

private:
    std::mutex mutex_;
    std::atomic<bool> cancelled_{false};
    std::exception_ptr first_;  // the first exception a task threw
    std::exception_ptr reason_; // the task_cancelled held by the futures of tasks that never ran
};

/// The group whose task the calling thread is running (innermost), to catch a wait() on itself.
inline thread_local const group_state* current_task_group = nullptr;

/// One task of a group `Group` as its executor holds it: called, it runs f (its result or exception
/// into the future) unless the group was cancelled first; destroyed without being called (dropped
/// by a cancellation), it settles the future with the group's task_cancelled.  A task that throws
/// cancels the group through `Group::task_failed` (which drops the tasks not started).
template <class R, class F, class Group>
class group_call {
public:
    template <class G>
    group_call(G&& f, std::promise<R> promise, Group& group)
        : f_(std::forward<G>(f)), promise_(std::move(promise)), group_(&group)
    {
    }
    group_call(group_call&& other) noexcept
        : f_(std::move(other.f_)), promise_(std::move(other.promise_)), group_(other.group_), settled_(other.settled_)
    {
        other.settled_ = true;
    }
    group_call& operator=(group_call&&) = delete;

    ~group_call()
    {
        if (!settled_)
            settle();
    }

    void operator()() noexcept
    {
        settled_ = true;
        group_state& state = Group::state_of(*group_);
        if (state.cancelled()) {
            settle();
            return;
        }
        const group_state* outer = current_task_group;
        current_task_group = &state;
        const std::exception_ptr thrown = fulfil(promise_, f_, label_task);
        current_task_group = outer;
        if (thrown)
            Group::task_failed(*group_, thrown);
    }

private:
    void settle() noexcept
    {
        try {
            std::exception_ptr why = Group::state_of(*group_).reason();
            if (!why) // dropped without a cancellation: cannot happen, the executors drop only then
                why = std::make_exception_ptr(task_cancelled("trident::task_group: task dropped"));
            promise_.set_exception(why);
        } catch (...) { // no memory for the reason: the future then holds std::future_error (broken promise)
        }
    }

    F f_;
    std::promise<R> promise_;
    Group* group_;
    bool settled_ = false;
};

} // namespace trident::detail
