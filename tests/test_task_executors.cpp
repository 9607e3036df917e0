// The task executors behind task_group and parallel_invoke (task/task_executor.hpp): each of the
// three satisfies trident::detail::task_executor, the concept rejects a type missing any one
// member, and each does what the contract says of submit, wait, cancel and for_tasks.
//
// Waits give up after `patience`, so a broken executor fails instead of hanging.  Catch2's
// assertions are not thread-safe: tasks only record into atomics; the test asserts on its thread.

#include "trident/task/arena_tasks.hpp"
#include "trident/task/pool_tasks.hpp"
#include "trident/task/seq_tasks.hpp"
#include "trident/task/task_executor.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using trident::detail::unique_task;
constexpr auto patience = std::chrono::seconds(30);

// One member short of an executor each (declared only: the concept looks at signatures).
struct full {
    int concurrency() const;
    void submit(unique_task);
    void wait();
    void cancel();
    template <class Task>
    void for_tasks(std::size_t, Task&&);
};
struct no_concurrency {
    void submit(unique_task);
    void wait();
    void cancel();
    template <class Task>
    void for_tasks(std::size_t, Task&&);
};
struct no_submit {
    int concurrency() const;
    void wait();
    void cancel();
    template <class Task>
    void for_tasks(std::size_t, Task&&);
};
struct no_cancel {
    int concurrency() const;
    void submit(unique_task);
    void wait();
    template <class Task>
    void for_tasks(std::size_t, Task&&);
};
struct no_for_tasks {
    int concurrency() const;
    void submit(unique_task);
    void wait();
    void cancel();
};

// Sets `done` when destroyed: tells a dropped task from one that never existed.
struct destroy_flag {
    std::atomic<int>* destroyed;
    bool armed = true;
    explicit destroy_flag(std::atomic<int>& d) : destroyed(&d) {}
    destroy_flag(destroy_flag&& o) noexcept : destroyed(o.destroyed) { o.armed = false; }
    ~destroy_flag()
    {
        if (armed)
            destroyed->fetch_add(1);
    }
};

// Submits `count` tasks that each add one to `ran`, then waits.
template <class Exec>
void submit_and_wait(Exec& exec, int count, std::atomic<int>& ran)
{
    for (int k = 0; k < count; ++k)
        exec.submit(unique_task([&ran]() noexcept { ran.fetch_add(1); }));
    exec.wait();
}

template <class Exec>
void check_for_tasks(Exec& exec)
{
    std::vector<std::atomic<int>> calls(50);
    exec.for_tasks(calls.size(), [&](std::size_t k) { calls[k].fetch_add(1); });
    for (auto& c : calls)
        REQUIRE(c.load() == 1);
    std::atomic<int> after{0};
    REQUIRE_THROWS_WITH(exec.for_tasks(1, [](std::size_t) { throw std::runtime_error("task 0"); }), "task 0");
    exec.for_tasks(3, [&](std::size_t) { after.fetch_add(1); }); // still usable after an exception
    REQUIRE(after.load() == 3);
}

} // namespace

TEST_CASE("task executors: the three satisfy the concept, which rejects a type missing any member",
          "[tasks][executor][cpu]")
{
    STATIC_REQUIRE(trident::detail::check_task_executor<trident::detail::seq_tasks>());
    STATIC_REQUIRE(trident::detail::check_task_executor<trident::detail::arena_tasks>());
    STATIC_REQUIRE(trident::detail::check_task_executor<trident::detail::pool_tasks>());
    STATIC_REQUIRE(trident::detail::task_executor<full>);
    STATIC_REQUIRE_FALSE(trident::detail::task_executor<no_concurrency>);
    STATIC_REQUIRE_FALSE(trident::detail::task_executor<no_submit>);
    STATIC_REQUIRE_FALSE(trident::detail::task_executor<no_cancel>);
    STATIC_REQUIRE_FALSE(trident::detail::task_executor<no_for_tasks>);
    // (a type without wait(): tests/compile_fail/task_executor_missing_wait.cpp, for the message)
}

TEST_CASE("task executors: seq runs each task inside submit, in order", "[tasks][executor][cpu]")
{
    trident::detail::seq_tasks exec;
    REQUIRE(exec.concurrency() == 1);
    std::vector<int> order;
    for (int k = 0; k < 4; ++k) {
        exec.submit(unique_task([&order, k]() noexcept { order.push_back(k); }));
        REQUIRE(order.size() == static_cast<std::size_t>(k + 1));
    }
    REQUIRE(order == std::vector<int>{0, 1, 2, 3});
    std::vector<std::size_t> seen;
    REQUIRE_THROWS(exec.for_tasks(5, [&](std::size_t k) {
        seen.push_back(k);
        if (k == 2)
            throw std::runtime_error("stop");
    }));
    REQUIRE(seen == std::vector<std::size_t>{0, 1, 2}); // those after the throw never start
    check_for_tasks(exec);
}

TEST_CASE("task executors: a oneTBB arena runs every submitted task; with one thread, inside submit",
          "[tasks][executor][cpu]")
{
    for (const int threads : {1, 2, 4}) {
        CAPTURE(threads);
        using submitters = trident::detail::arena_tasks::submitters;
        for (const submitters who : {submitters::caller, submitters::any_thread}) {
            trident::detail::arena_tasks exec(trident::par.threads(threads), who);
            std::atomic<int> ran{0};
            submit_and_wait(exec, 200, ran);
            REQUIRE(ran.load() == 200);
            REQUIRE(exec.concurrency() == std::min(threads, trident::max_threads()));
            check_for_tasks(exec);
        }
    }
    trident::detail::arena_tasks one(trident::par.threads(1));
    const std::thread::id caller = std::this_thread::get_id();
    std::thread::id ran_on;
    one.submit(unique_task([&ran_on]() noexcept { ran_on = std::this_thread::get_id(); }));
    REQUIRE(ran_on == caller); // before wait(): inside submit
    one.wait();
}

TEST_CASE("task executors: a pool runs tasks on its threads, FIFO; cancel drops those not started",
          "[tasks][executor][cpu]")
{
    trident::blocking_pool pool(1);
    trident::detail::pool_tasks exec(pool);
    REQUIRE(exec.concurrency() == 1);
    std::atomic<int> ran{0};
    submit_and_wait(exec, 100, ran);
    REQUIRE(ran.load() == 100);

    // One task holds the pool's thread; the rest queue behind it, in order.
    std::promise<void> gate;
    std::shared_future<void> open = gate.get_future().share();
    std::atomic<bool> holding{false};
    std::atomic<int> dropped{0};
    std::atomic<int> late{0};
    exec.submit(unique_task([open, &holding]() noexcept {
        holding = true;
        static_cast<void>(open.wait_for(patience));
    }));
    for (int k = 0; k < 5; ++k)
        exec.submit(unique_task([flag = destroy_flag(dropped), &late]() noexcept { late.fetch_add(1); }));
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (!holding && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    REQUIRE(holding.load());
    exec.cancel();
    REQUIRE(dropped.load() == 5); // destroyed by cancel(), never called
    gate.set_value();
    exec.wait();
    REQUIRE(late.load() == 0);

    // wait() on the pool's only thread runs the tasks not started itself (else it waits for itself).
    std::atomic<int> inner{0};
    std::future<bool> helped = pool.submit([&] {
        trident::detail::pool_tasks nested(pool);
        for (int k = 0; k < 3; ++k)
            nested.submit(unique_task([&inner]() noexcept { inner.fetch_add(1); }));
        nested.wait();
        return inner.load() == 3;
    });
    REQUIRE(helped.wait_for(patience) == std::future_status::ready);
    REQUIRE(helped.get());

    trident::blocking_pool four(4);
    trident::detail::pool_tasks on_four(four);
    check_for_tasks(on_four);
}
