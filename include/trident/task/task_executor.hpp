#pragma once
/// \file task/task_executor.hpp
/// `trident::detail::task_executor`: the contract between the task primitives (`task_group`,
/// `parallel_invoke`) and the places their tasks run.  The primitives are written once over it;
/// three executors implement it:
///
/// | executor (header)                    | made from                       | tasks run                         |
/// |--------------------------------------|---------------------------------|-----------------------------------|
/// | `detail::seq_tasks` (seq_tasks.hpp)  | `trident::seq`                  | at once, in submit(), on the caller |
/// | `detail::arena_tasks` (arena_tasks.hpp) | `trident::par` (+ threads / on) | on the oneTBB arena of `detail::arena_for(policy)`; at once, in submit(), where it has one thread |
/// | `detail::pool_tasks` (pool_tasks.hpp) | a `trident::blocking_pool&`    | on the pool's threads, FIFO       |
///
/// What each member must do (the primitives rely on nothing else):
/// | member                   | does                                                               |
/// |--------------------------|--------------------------------------------------------------------|
/// | `concurrency()` (const)  | how many tasks may run at once (at least 1)                        |
/// | `submit(unique_task t)`  | has `t()` called once, on the executor's threads or at once on the caller; `t` does not throw. When submit throws (std::bad_alloc), t was not queued and never runs |
/// | `wait()`                 | returns once every task submitted before the call has finished (run, or dropped by cancel()); the caller may run submitted tasks meanwhile (a oneTBB arena: the caller joins it; a pool's own thread: it runs the tasks not started itself, which keeps a one-thread pool from waiting for itself) |
/// | `cancel()`               | destroys, without calling them, the submitted tasks not started yet (each counts as finished once destroyed); tasks running go on |
/// | `for_tasks(n, task)`     | `task(k)` for every k in [0, n), each its own task (one `label_task` event each), returning once every started call has returned; the first exception reaches the caller and the calls not started by then never start |
///
/// An executor is made per use (one group, one parallel_invoke call) and is neither copied nor
/// moved; it outlives what was submitted to it (the primitives wait() before it goes).  Explain
/// events: for_tasks records each call; a submitted task records its own (a group's task does,
/// through detail::fulfil).  The primitives do not ask `concurrency()` (the one-thread rule is
/// arena_tasks's submit); it is in the contract, as ParlayLib's num_workers is in its scheduler's,
/// for code that sizes work by it (the tests check it).
///
/// `for_tasks` is the fork-join a backend may do better than n submits and a wait (the arena runs
/// oneTBB's parallel loop, as the data algorithms' `for_tasks` does); `for_tasks_by_submit` below
/// is that fork-join over the other members, for executors without a better one.
///
/// The concept is private: the primitives take the places above, and a task executor handles
/// trident's private `unique_task`.  A device or a communicator that runs tasks would be a fourth
/// executor (and a constructor of `task_group`, an overload of `parallel_invoke`'s place).
/// `check_task_executor<E>()` asserts each requirement separately, with a message naming the
/// missing member; each executor's header applies it.

#include "trident/detail/recorder.hpp"
#include "trident/detail/unique_task.hpp"

#include <atomic>
#include <concepts>
#include <cstddef>
#include <exception>
#include <mutex>
#include <utility>

namespace trident::detail {

namespace task_archetype {
struct indexed_task { // the body of for_tasks, reduced to its signature (used unevaluated)
    void operator()(std::size_t) const;
};
} // namespace task_archetype

template <class E>
concept task_executor_concurrency = requires(const E& e) {
    { e.concurrency() } -> std::convertible_to<int>;
};
template <class E>
concept task_executor_submit = requires(E& e, unique_task t) { e.submit(std::move(t)); };
template <class E>
concept task_executor_wait = requires(E& e) { e.wait(); };
template <class E>
concept task_executor_cancel = requires(E& e) { e.cancel(); };
template <class E>
concept task_executor_for_tasks = requires(E& e, std::size_t n, task_archetype::indexed_task& task) {
    e.for_tasks(n, task);
};

/// A place the task primitives can run their tasks on (see the file comment).
template <class E>
concept task_executor = task_executor_concurrency<E> && task_executor_submit<E> && task_executor_wait<E> &&
                        task_executor_cancel<E> && task_executor_for_tasks<E>;

/// true when E is a task executor; otherwise a compile-time error per missing member, each naming it.
template <class E>
constexpr bool check_task_executor()
{
    static_assert(task_executor_concurrency<E>, "trident task executor: missing `int concurrency() const`");
    static_assert(task_executor_submit<E>,
                  "trident task executor: missing `submit(detail::unique_task task)` having task() called once");
    static_assert(task_executor_wait<E>,
                  "trident task executor: missing `wait()` returning once the submitted tasks have finished");
    static_assert(task_executor_cancel<E>,
                  "trident task executor: missing `cancel()` dropping the submitted tasks not started yet");
    static_assert(task_executor_for_tasks<E>,
                  "trident task executor: missing `for_tasks(std::size_t count, Task&& task)` calling task(k)");
    return task_executor<E>;
}

/// for_tasks over submit(), cancel() and wait(): one submitted task per k; the first exception
/// cancels the tasks not started and is rethrown once every started one has returned.
template <class E, class Task>
void for_tasks_by_submit(E& exec, std::size_t count, Task& task)
{
    struct shared {
        shared(E& e, Task& t) noexcept : exec(e), task(t) {}
        E& exec;
        Task& task;
        std::atomic<bool> failed{false};
        std::mutex mutex;
        std::exception_ptr first;

        void run(std::size_t k) noexcept
        {
            if (failed.load(std::memory_order_acquire))
                return;
            try {
                const event_scope event(label_task);
                task(k);
            } catch (...) {
                {
                    std::lock_guard lock(mutex);
                    if (!first)
                        first = std::current_exception();
                }
                failed.store(true, std::memory_order_release);
                exec.cancel();
            }
        }
    } state(exec, task);
    // The tasks refer to `state` on this stack: every path out waits for them first.
    try {
        for (std::size_t k = 0; k < count; ++k)
            exec.submit(unique_task([&state, k]() noexcept { state.run(k); }));
    } catch (...) {
        exec.cancel();
        exec.wait();
        throw;
    }
    exec.wait();
    if (state.first)
        std::rethrow_exception(state.first);
}

} // namespace trident::detail
