// Task parallelism: trident::blocking_pool, trident::task_group and trident::parallel_invoke under
// seq, par (threads 1/2/3/8, thread_arena) and blocking pools.
//
// Overlap is proven with events, never with the wall clock: tasks that meet at a rendezvous only
// all get through when they run at once; the lecture's "8 tasks of 2 s on 4 workers take 4 s" is
// replayed on a logical clock that the test advances only once every running task is blocked.
// Every wait in these helpers gives up after `patience`, so a broken implementation fails instead
// of hanging.  Catch2's assertions are not thread-safe: tasks only record into atomics and
// mutex-guarded logs, and the test asserts on the calling thread.

#include "common/cpu_policies.hpp"

#include "trident/task/blocking_pool.hpp"
#include "trident/task/invoke.hpp"
#include "trident/task/task_group.hpp"

#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

using namespace trident_test;
using Catch::Matchers::Contains;

namespace {

constexpr auto patience = std::chrono::seconds(10);

struct test_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string boom(std::size_t i) { return "boom " + std::to_string(i); }

/// A one-shot event.
class gate {
public:
    void open()
    {
        {
            std::lock_guard lock(m_);
            open_ = true;
        }
        cv_.notify_all();
    }
    /// False when the gate stayed closed for `patience`.
    bool wait()
    {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, patience, [&] { return open_; });
    }
    bool is_open()
    {
        std::lock_guard lock(m_);
        return open_;
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool open_ = false;
};

/// n parties meet: arrive() returns true once all n have arrived, false after `patience`.
class rendezvous {
public:
    explicit rendezvous(int n) : n_(n) {}
    bool arrive()
    {
        std::unique_lock lock(m_);
        if (++arrived_ >= n_)
            cv_.notify_all();
        return cv_.wait_for(lock, patience, [&] { return arrived_ >= n_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int n_;
    int arrived_ = 0;
};

/// Waits (on the test's thread) until pred() holds; false after `patience`.
template <class Pred>
bool eventually(Pred pred)
{
    const auto until = std::chrono::steady_clock::now() + patience;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > until)
            return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

/// How many bodies are inside at once, and the most there ever were.
struct concurrency_meter {
    std::atomic<int> active{0}, peak{0};
    void enter()
    {
        const int now = active.fetch_add(1) + 1;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
    }
    void leave() { active.fetch_sub(1); }
};

/// Where task_group and parallel_invoke run in these tests: body(name, where, sequential), with
/// `sequential` true when at most one task runs at a time there.
template <class Body>
void for_each_place(Body&& body)
{
    auto run = [&](const std::string& name, auto&& where, bool sequential) {
        INFO("where: " << name);
        body(where, sequential);
    };
    run("seq", trident::seq, true);
    run("par", trident::par, tbb::this_task_arena::max_concurrency() == 1);
    for (int t : {1, 2, 3, 8})
        run("par.threads(" + std::to_string(t) + ")", trident::par.threads(t), t == 1);
    run("par.on(thread_arena(2))", trident::par.on(test_cores()), false);
    {
        trident::blocking_pool one(1);
        run("blocking_pool(1)", one, true);
    }
    {
        trident::blocking_pool three(3);
        run("blocking_pool(3)", three, false);
    }
}

/// Whether task_group(where) runs each task inside run(): seq, and par with one thread.
template <class Where>
bool runs_inline(const Where& where)
{
    if constexpr (std::is_same_v<Where, trident::seq_policy>)
        return true;
    else if constexpr (std::is_same_v<Where, trident::par_policy>)
        return (where.cores() ? where.cores()->concurrency()
                              : where.thread_limit() > 0 ? where.thread_limit() : tbb::this_task_arena::max_concurrency()) == 1;
    else
        return false;
}

/// What a future holds: "value", "task_cancelled", "test_error: <message>", or "other".
template <class T>
std::string outcome(std::future<T>& f)
{
    if (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        return "not ready";
    try {
        f.get();
        return "value";
    } catch (const trident::task_cancelled&) {
        return "task_cancelled";
    } catch (const test_error& e) {
        return std::string("test_error: ") + e.what();
    } catch (...) {
        return "other";
    }
}

/// A result type that is move-only and not default-constructible.
class token {
public:
    explicit token(int v) : value_(std::make_unique<int>(v)) {}
    [[nodiscard]] int value() const { return *value_; }

private:
    std::unique_ptr<int> value_;
};
static_assert(!std::is_default_constructible_v<token> && !std::is_copy_constructible_v<token>);

// ---- the lecture's I/O case on a logical clock ----------------------------------------------------

/// Tasks "block for one tick": each records the tick it started at and waits until the clock has
/// moved past it.  The test advances the clock only when every task it expects to be blocked is
/// blocked, so the number of ticks the whole batch takes counts the waves, whatever the machine's
/// speed.
class logical_clock {
public:
    /// The task side: blocks for one tick.
    void block_one_tick()
    {
        std::unique_lock lock(m_);
        const int start = now_;
        ++started_at_[start];
        log_.push_back("start@" + std::to_string(start));
        cv_.notify_all();
        if (!cv_.wait_for(lock, patience, [&] { return now_ > start; }))
            timed_out_ = true;
        ++finished_;
        log_.push_back("end");
        cv_.notify_all();
    }

    /// The test side: runs the clock until `total` tasks have finished, with at most `width` tasks
    /// expected at once.  Returns the number of ticks taken, or -1 when the tasks stalled.
    int run(int total, int width)
    {
        std::unique_lock lock(m_);
        int ticks = 0;
        while (finished_ < total) {
            // Every task started before this tick has finished, and the next wave is all blocked.
            const int expected = std::min(width, total - finished_);
            const bool ready = cv_.wait_for(lock, patience, [&] {
                return finished_ == started_before(now_) && started_at_[now_] >= expected;
            });
            if (!ready)
                return -1;
            ++now_;
            ++ticks;
            cv_.notify_all();
            if (!cv_.wait_for(lock, patience, [&] { return finished_ == started_before(now_); }))
                return -1;
        }
        return ticks;
    }

    int started_at(int tick)
    {
        std::lock_guard lock(m_);
        return started_at_[tick];
    }
    std::vector<std::string> log()
    {
        std::lock_guard lock(m_);
        return log_;
    }
    bool timed_out()
    {
        std::lock_guard lock(m_);
        return timed_out_;
    }

private:
    int started_before(int tick) const
    {
        int n = 0;
        for (int t = 0; t < tick; ++t)
            n += started_at_[t];
        return n;
    }

    std::mutex m_;
    std::condition_variable cv_;
    int now_ = 0;
    int finished_ = 0;
    int started_at_[64] = {};
    std::vector<std::string> log_;
    bool timed_out_ = false;
};

/// The checks shared by the three ways of running the lecture's case: 8 tasks, 4 at a time.
void require_two_waves(logical_clock& clock, int ticks, const concurrency_meter& meter)
{
    REQUIRE(ticks == 2); // ceil(8 / 4) waves of one tick: "8 tasks of 2 s on 4 workers finish in 4 s"
    REQUIRE_FALSE(clock.timed_out());
    REQUIRE(meter.peak.load() == 4);
    REQUIRE(clock.started_at(0) == 4);
    REQUIRE(clock.started_at(1) == 4);
    // the 5th task starts only after one of the first 4 ended
    const std::vector<std::string> log = clock.log();
    REQUIRE(log.size() == 16);
    const auto first_end = std::find(log.begin(), log.end(), "end");
    const auto fifth_start = std::find(log.begin(), log.end(), "start@1");
    REQUIRE(first_end < fifth_start);
    REQUIRE(std::count(log.begin(), first_end, "start@0") == 4);
}

} // namespace

// ==== blocking_pool ================================================================================

TEST_CASE("blocking_pool: submit returns futures of results, void and exceptions", "[tasks][blocking_pool][cpu]")
{
    trident::blocking_pool pool(3);
    REQUIRE(pool.threads() == 3);
    std::future<int> i = pool.submit([] { return 6 * 7; });
    std::atomic<int> side{0};
    std::future<void> v = pool.submit([&] { side = 1; });
    std::future<std::unique_ptr<int>> owned = pool.submit([p = std::make_unique<int>(9)]() mutable { return std::move(p); });
    std::future<std::string> thrown = pool.submit([]() -> std::string { throw test_error(boom(1)); });
    const std::string text = "text";
    std::future<const std::string&> ref = pool.submit([&]() -> const std::string& { return text; });
    // wait() first: then the pool thread has released each task, promise included, and this
    // thread is the last owner of the exception it reads (see "ThreadSanitizer" in blocking_pool.hpp)
    pool.wait();
    REQUIRE(i.get() == 42);
    v.get();
    REQUIRE(side.load() == 1);
    REQUIRE(*owned.get() == 9);
    REQUIRE_THROWS_MATCHES(thrown.get(), test_error, Catch::Matchers::Message(boom(1)));
    REQUIRE(&ref.get() == &text);
    // the pool carries on after an exception
    REQUIRE(pool.submit([] { return 1; }).get() == 1);
}

TEST_CASE("blocking_pool: bad thread counts are std::invalid_argument naming the value", "[tasks][blocking_pool][errors][cpu]")
{
    REQUIRE_THROWS_WITH(trident::blocking_pool(0), Contains("blocking_pool") && Contains("0"));
    REQUIRE_THROWS_WITH(trident::blocking_pool(-3), Contains("-3"));
    REQUIRE_THROWS_AS(trident::blocking_pool(-3), std::invalid_argument);
}

TEST_CASE("blocking_pool: more tasks than threads, wait(), submit from inside a task", "[tasks][blocking_pool][cpu]")
{
    trident::blocking_pool pool(2);
    std::atomic<int> done{0};
    std::vector<std::future<void>> futures;
    for (int k = 0; k < 200; ++k)
        futures.push_back(pool.submit([&] { done.fetch_add(1); }));
    pool.wait();
    REQUIRE(done.load() == 200);
    for (auto& f : futures)
        REQUIRE(f.wait_for(std::chrono::seconds(0)) == std::future_status::ready);

    // a task submits a follow-up and hands back its future
    std::future<std::future<int>> outer = pool.submit([&] { return pool.submit([] { return 5; }); });
    REQUIRE(outer.get().get() == 5);

    // wait() from a task of the pool would wait for itself
    std::future<void> self_wait = pool.submit([&] { pool.wait(); });
    pool.wait();
    REQUIRE_THROWS_AS(self_wait.get(), std::logic_error);

    // wait() with nothing submitted returns at once; a thread-count larger than the machine's is fine
    trident::blocking_pool wide(16);
    wide.wait();
    REQUIRE(wide.threads() == 16);
}

TEST_CASE("blocking_pool: the destructor finishes every submitted task", "[tasks][blocking_pool][cpu]")
{
    std::atomic<int> done{0};
    std::vector<std::future<int>> futures;
    {
        trident::blocking_pool pool(2);
        for (int k = 0; k < 50; ++k)
            futures.push_back(pool.submit([&, k] {
                std::this_thread::yield();
                done.fetch_add(1);
                return k;
            }));
        // a task that submits more while the pool shuts down: those run too
        (void)pool.submit([&] {
            for (int k = 0; k < 10; ++k)
                (void)pool.submit([&] { done.fetch_add(1); });
        });
    }
    REQUIRE(done.load() == 60);
    for (int k = 0; k < 50; ++k)
        REQUIRE(futures[static_cast<std::size_t>(k)].get() == k);
}

TEST_CASE("blocking_pool: an N-thread pool runs N tasks at once and never more", "[tasks][blocking_pool][cpu]")
{
    for (int n : {1, 2, 4, 8}) {
        CAPTURE(n);
        trident::blocking_pool pool(n);
        // N tasks that each wait for all N: they only get through when all N run at once
        rendezvous all(n);
        concurrency_meter meter;
        std::vector<std::future<bool>> met;
        for (int k = 0; k < n; ++k)
            met.push_back(pool.submit([&] {
                meter.enter();
                const bool ok = all.arrive();
                meter.leave();
                return ok;
            }));
        for (auto& m : met)
            REQUIRE(m.get());
        // 4N short tasks: never more than N inside at once
        for (int k = 0; k < 4 * n; ++k)
            (void)pool.submit([&] {
                meter.enter();
                std::this_thread::sleep_for(std::chrono::microseconds(300));
                meter.leave();
            });
        pool.wait();
        REQUIRE(meter.peak.load() == n);
    }
}

TEST_CASE("blocking_pool: 8 blocked tasks on a pool of 4 run in two waves (the lecture's I/O case)",
          "[tasks][blocking_pool][lecture][cpu]")
{
    trident::blocking_pool pool(4);
    logical_clock clock;
    concurrency_meter meter;
    std::vector<std::future<void>> tasks;
    for (int k = 0; k < 8; ++k)
        tasks.push_back(pool.submit([&] {
            meter.enter();
            clock.block_one_tick();
            meter.leave();
        }));
    const int ticks = clock.run(8, 4);
    pool.wait();
    require_two_waves(clock, ticks, meter);
}

TEST_CASE("blocking_pool: blocked pool tasks leave every oneTBB worker to a par map", "[tasks][blocking_pool][cpu]")
{
    trident::blocking_pool pool(4);
    gate release;
    std::atomic<int> blocked{0};
    std::mutex ids_mutex;
    std::set<std::thread::id> pool_ids, map_ids;
    std::vector<std::future<bool>> sleepers;
    for (int k = 0; k < 4; ++k)
        sleepers.push_back(pool.submit([&] {
            {
                std::lock_guard lock(ids_mutex);
                pool_ids.insert(std::this_thread::get_id());
            }
            blocked.fetch_add(1);
            return release.wait();
        }));
    REQUIRE(eventually([&] { return blocked.load() == 4; }));

    // While the 4 tasks sleep, a map over a big range: its first element on each thread waits until
    // as many threads as oneTBB has (the arena's concurrency) have entered, so the map finishes only
    // if every oneTBB worker is free.
    const int workers = tbb::this_task_arena::max_concurrency();
    std::vector<int> in(1 << 18);
    std::iota(in.begin(), in.end(), 0);
    std::atomic<bool> all_came{true};
    const std::vector<int> out = trident::map(trident::par, in, [&](int x) {
        thread_local const void* registered_for = nullptr;
        if (registered_for != &in) {
            registered_for = &in;
            std::size_t seen;
            {
                std::lock_guard lock(ids_mutex);
                map_ids.insert(std::this_thread::get_id());
                seen = map_ids.size();
            }
            if (static_cast<int>(seen) < workers &&
                !eventually([&] {
                    std::lock_guard lock(ids_mutex);
                    return static_cast<int>(map_ids.size()) >= workers;
                }))
                all_came = false;
        }
        return 2 * x;
    });
    // the map finished while the pool's tasks were still blocked
    REQUIRE(blocked.load() == 4);
    REQUIRE_FALSE(release.is_open());
    release.open();
    for (auto& s : sleepers)
        REQUIRE(s.get());

    REQUIRE(out[12345] == 2 * 12345);
    REQUIRE(all_came.load());
    REQUIRE(static_cast<int>(map_ids.size()) == workers);
    for (const auto& id : map_ids)
        REQUIRE(pool_ids.count(id) == 0); // no pool thread ever ran part of the map
    REQUIRE(pool_ids.size() == 4);
}

// ==== task_group ===================================================================================

TEST_CASE("task_group: results through futures for a run-time number of tasks", "[tasks][task_group][cpu]")
{
    for_each_place([](auto&& where, bool) {
        const std::size_t n = 100; // a sweep whose size is known at run time only
        std::vector<double> rates(n);
        std::iota(rates.begin(), rates.end(), 1.0);
        trident::task_group group(where);
        std::vector<std::future<double>> losses;
        for (double r : rates)
            losses.push_back(group.run([r] { return r * r; }));
        std::atomic<int> side{0};
        std::future<void> v = group.run([&] { side.fetch_add(1); });
        std::future<std::unique_ptr<int>> owned = group.run([p = std::make_unique<int>(3)]() mutable { return std::move(p); });
        std::future<token> tok = group.run([] { return token(11); });
        group.wait();
        for (std::size_t k = 0; k < n; ++k)
            REQUIRE(losses[k].get() == rates[k] * rates[k]);
        v.get();
        REQUIRE(side.load() == 1);
        REQUIRE(*owned.get() == 3);
        REQUIRE(tok.get().value() == 11);
        REQUIRE_FALSE(group.cancelled());
        // the group is reusable after wait()
        REQUIRE(group.run([] { return 8; }).get() == 8);
        group.wait();
    });
}

TEST_CASE("task_group: the first exception cancels the tasks not started", "[tasks][task_group][exceptions][cpu]")
{
    for_each_place([](auto&& where, bool sequential) {
        // Task 0 throws.  Where tasks run one at a time in FIFO order, no other task can start
        // before it ended, so all of them are cancelled; elsewhere each holds its value or
        // task_cancelled.
        trident::task_group group(where);
        std::atomic<int> ran{0};
        std::vector<std::future<int>> futures;
        futures.push_back(group.run([]() -> int { throw test_error(boom(0)); }));
        for (int k = 1; k < 20; ++k)
            futures.push_back(group.run([&ran, k] {
                ran.fetch_add(1);
                return k;
            }));
        REQUIRE_THROWS_MATCHES(group.wait(), test_error, Catch::Matchers::Message(boom(0)));
        REQUIRE(group.cancelled());
        REQUIRE(outcome(futures[0]) == "test_error: " + boom(0));
        int values = 0, cancelled = 0;
        for (std::size_t k = 1; k < futures.size(); ++k) {
            const std::string o = outcome(futures[k]);
            values += o == "value";
            cancelled += o == "task_cancelled";
        }
        REQUIRE(values + cancelled == 19);
        REQUIRE(values == ran.load());
        if (sequential)
            REQUIRE(cancelled == 19);
        // wait() keeps rethrowing the first exception; run() on a failed group starts nothing
        REQUIRE_THROWS_AS(group.wait(), test_error);
        std::future<int> late = group.run([&] {
            ran.fetch_add(1);
            return 1;
        });
        REQUIRE(outcome(late) == "task_cancelled");
        REQUIRE(values == ran.load());
    });
}

TEST_CASE("task_group: a task_cancelled future says why", "[tasks][task_group][exceptions][cpu]")
{
    trident::task_group group(trident::seq);
    (void)group.run([] { throw test_error("first"); });
    std::future<void> after = group.run([] {});
    REQUIRE_THROWS_WITH(after.get(), Contains("another task of the group threw"));
    trident::task_group other(trident::seq);
    other.cancel();
    REQUIRE_THROWS_WITH(other.run([] {}).get(), Contains("cancel()"));
    REQUIRE_NOTHROW(other.wait());
}

TEST_CASE("task_group: wait rethrows the first of several exceptions, which its future holds too",
          "[tasks][task_group][exceptions][cpu]")
{
    for_each_place([](auto&& where, bool) {
        trident::task_group group(where);
        std::vector<std::future<int>> futures;
        for (std::size_t k = 0; k < 50; ++k)
            futures.push_back(group.run([k]() -> int { throw test_error(boom(k)); }));
        std::string rethrown;
        try {
            group.wait();
        } catch (const test_error& e) {
            rethrown = e.what();
        }
        REQUIRE_FALSE(rethrown.empty());
        int holding_it = 0;
        for (auto& f : futures) {
            const std::string o = outcome(f);
            REQUIRE((o == "task_cancelled" || o.rfind("test_error: boom ", 0) == 0));
            holding_it += o == "test_error: " + rethrown;
        }
        REQUIRE(holding_it == 1);
    });
    // under seq, "first" is task 0
    trident::task_group group(trident::seq);
    for (std::size_t k = 0; k < 5; ++k)
        (void)group.run([k] { throw test_error(boom(k)); });
    REQUIRE_THROWS_MATCHES(group.wait(), test_error, Catch::Matchers::Message(boom(0)));
}

TEST_CASE("task_group: cancel() stops the tasks not started, wait() then does not throw", "[tasks][task_group][cpu]")
{
    // A 1-thread pool whose only thread is held by task 0: tasks 1..9 are still queued.
    trident::blocking_pool pool(1);
    trident::task_group group(pool);
    gate hold;
    std::atomic<bool> holding{false};
    std::future<int> first = group.run([&] {
        holding = true;
        return hold.wait() ? 0 : -1;
    });
    REQUIRE(eventually([&] { return holding.load(); }));
    std::atomic<int> ran{0};
    std::vector<std::future<void>> queued;
    for (int k = 1; k < 10; ++k)
        queued.push_back(group.run([&] { ran.fetch_add(1); }));
    group.cancel();
    REQUIRE(group.cancelled());
    for (auto& q : queued) // settled at once, before the running task ends
        REQUIRE(outcome(q) == "task_cancelled");
    hold.open();
    REQUIRE_NOTHROW(group.wait());
    REQUIRE(first.get() == 0);
    REQUIRE(ran.load() == 0);
    std::future<void> late = group.run([&] { ran.fetch_add(1); });
    REQUIRE(outcome(late) == "task_cancelled");
    REQUIRE_NOTHROW(group.wait());
    REQUIRE(ran.load() == 0);

    // under every place: cancel() then run() starts nothing, wait() does not throw
    for_each_place([](auto&& where, bool) {
        trident::task_group g(where);
        g.cancel();
        std::atomic<int> n{0};
        std::future<void> f = g.run([&] { n.fetch_add(1); });
        REQUIRE_NOTHROW(g.wait());
        REQUIRE(outcome(f) == "task_cancelled");
        REQUIRE(n.load() == 0);
    });
}

TEST_CASE("task_group: run() from inside a task of the same group", "[tasks][task_group][cpu]")
{
    for_each_place([](auto&& where, bool) {
        trident::task_group group(where);
        std::atomic<int> nodes{0};
        // a binary tree of depth 6 (127 nodes), each node spawning its children
        std::function<void(int)> node = [&](int depth) {
            nodes.fetch_add(1);
            if (depth < 6) {
                (void)group.run([&node, depth] { node(depth + 1); });
                (void)group.run([&node, depth] { node(depth + 1); });
            }
        };
        (void)group.run([&] { node(0); });
        group.wait();
        REQUIRE(nodes.load() == 127);
    });
}

TEST_CASE("task_group: wait() from inside a task of the same group is std::logic_error", "[tasks][task_group][cpu]")
{
    for_each_place([](auto&& where, bool) {
        trident::task_group group(where);
        std::future<void> f = group.run([&] { group.wait(); });
        REQUIRE_THROWS_AS(group.wait(), std::logic_error); // what the task threw
        REQUIRE_THROWS_AS(f.get(), std::logic_error);
    });
}

TEST_CASE("task_group: the destructor cancels what has not started and waits for what runs", "[tasks][task_group][cpu]")
{
    for_each_place([](auto&& where, bool sequential) {
        std::atomic<int> ran{0};
        std::atomic<bool> first_started{false}, first_finished{false};
        std::vector<std::future<int>> futures;
        const bool inline_tasks = runs_inline(where);
        {
            trident::task_group group(where);
            // Task 0 runs until the group is cancelled, which only the destructor does (under seq it
            // runs inside run() and returns at once).
            futures.push_back(group.run([&] {
                ran.fetch_add(1);
                first_started = true;
                const bool seen = inline_tasks || eventually([&] { return group.cancelled(); });
                first_finished = true;
                return seen ? 0 : -1;
            }));
            for (int k = 1; k < 30; ++k)
                futures.push_back(group.run([&ran, k] {
                    ran.fetch_add(1);
                    return k;
                }));
            REQUIRE(eventually([&] { return first_started.load(); }));
        } // no wait()
        REQUIRE(first_finished.load());
        REQUIRE(futures[0].get() == 0);
        int values = 1;
        for (std::size_t k = 1; k < futures.size(); ++k) {
            const std::string o = outcome(futures[k]);
            REQUIRE((o == "value" || o == "task_cancelled"));
            values += o == "value";
        }
        REQUIRE(values == ran.load());
        if (sequential && !inline_tasks)
            REQUIRE(values == 1); // the others were queued behind task 0
    });
}

TEST_CASE("task_group: under par the waiting thread runs tasks, on a pool the pool's threads do", "[tasks][task_group][cpu]")
{
    // par.threads(2): two tasks that wait for each other get through (the waiting thread joins in)
    {
        trident::task_group group(trident::par.threads(2));
        rendezvous both(2);
        std::future<bool> a = group.run([&] { return both.arrive(); });
        std::future<bool> b = group.run([&] { return both.arrive(); });
        group.wait();
        REQUIRE(a.get());
        REQUIRE(b.get());
    }
    // par.threads(1): never two tasks at once
    {
        trident::task_group group(trident::par.threads(1));
        concurrency_meter meter;
        for (int k = 0; k < 40; ++k)
            (void)group.run([&] {
                meter.enter();
                std::this_thread::sleep_for(std::chrono::microseconds(200));
                meter.leave();
            });
        group.wait();
        REQUIRE(meter.peak.load() == 1);
    }
    // a pool: 8 blocked tasks on 4 threads take two ticks
    {
        trident::blocking_pool pool(4);
        trident::task_group group(pool);
        logical_clock clock;
        concurrency_meter meter;
        std::set<std::thread::id> ids;
        std::mutex ids_mutex;
        for (int k = 0; k < 8; ++k)
            (void)group.run([&] {
                {
                    std::lock_guard lock(ids_mutex);
                    ids.insert(std::this_thread::get_id());
                }
                meter.enter();
                clock.block_one_tick();
                meter.leave();
            });
        const int ticks = clock.run(8, 4);
        group.wait();
        require_two_waves(clock, ticks, meter);
        REQUIRE(ids.count(std::this_thread::get_id()) == 0);
    }
    // wait() on a thread of the group's own pool runs the queued tasks itself: no deadlock on a
    // 1-thread pool
    {
        trident::blocking_pool pool(1);
        std::future<int> outer = pool.submit([&] {
            trident::task_group group(pool);
            std::vector<std::future<int>> parts;
            for (int k = 0; k < 10; ++k)
                parts.push_back(group.run([k] { return k; }));
            group.wait();
            int s = 0;
            for (auto& p : parts)
                s += p.get();
            return s;
        });
        REQUIRE(outer.wait_for(patience) == std::future_status::ready);
        REQUIRE(outer.get() == 45);
    }
}

// ==== parallel_invoke ==============================================================================

TEST_CASE("parallel_invoke: a tuple of the results, std::monostate for void", "[tasks][invoke][cpu]")
{
    for_each_place([](auto&& where, bool) {
        std::atomic<int> side{0};
        int shared = 5;
        auto [i, s, nothing, owned, tok, ref] = trident::parallel_invoke(
            where, [] { return 42; }, [] { return std::string("ensemble"); }, [&] { side.fetch_add(1); },
            [] { return std::make_unique<int>(7); }, [] { return token(3); }, [&]() -> int& { return shared; });
        static_assert(std::is_same_v<decltype(nothing), std::monostate>);
        static_assert(std::is_same_v<decltype(ref), int&>);
        REQUIRE(i == 42);
        REQUIRE(s == "ensemble");
        REQUIRE(side.load() == 1);
        REQUIRE(*owned == 7);
        REQUIRE(tok.value() == 3);
        REQUIRE(&ref == &shared);

        // one function
        const std::tuple<int> one = trident::parallel_invoke(where, [] { return 1; });
        REQUIRE(std::get<0>(one) == 1);
        const std::tuple<std::monostate> none = trident::parallel_invoke(where, [&] { side.fetch_add(1); });
        (void)none;
        REQUIRE(side.load() == 2);

        // ten functions
        auto ten = trident::parallel_invoke(
            where, [] { return 0; }, [] { return 1; }, [] { return 2; }, [] { return 3; }, [] { return 4; },
            [] { return 5; }, [] { return 6; }, [] { return 7; }, [] { return 8; }, [] { return 9; });
        const auto as_array = std::apply([](auto... v) { return std::vector<int>{v...}; }, ten);
        REQUIRE(as_array == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

        // a move-only callable passed as an rvalue, and a named one passed as an lvalue
        auto named = [k = 4] { return k; };
        auto [a, b] = trident::parallel_invoke(where, [p = std::make_unique<int>(6)] { return *p; }, named);
        REQUIRE(a == 6);
        REQUIRE(b == 4);
    });
}

TEST_CASE("parallel_invoke: an exception from any position reaches the caller", "[tasks][invoke][exceptions][cpu]")
{
    for_each_place([](auto&& where, bool) {
        for (std::size_t throw_at = 0; throw_at < 5; ++throw_at) {
            CAPTURE(throw_at);
            std::atomic<int> ran{0};
            auto f = [&](std::size_t k) {
                return [&ran, k, throw_at] {
                    if (k == throw_at)
                        throw test_error(boom(k));
                    ran.fetch_add(1);
                    return k;
                };
            };
            REQUIRE_THROWS_MATCHES(trident::parallel_invoke(where, f(0), f(1), f(2), f(3), f(4)), test_error,
                                   Catch::Matchers::Message(boom(throw_at)));
            REQUIRE(ran.load() <= 4);
            if (std::is_same_v<std::remove_cvref_t<decltype(where)>, trident::seq_policy>)
                REQUIRE(ran.load() == static_cast<int>(throw_at)); // the ones after it never ran
        }
        // still works afterwards
        REQUIRE(std::get<1>(trident::parallel_invoke(where, [] { return 1; }, [] { return 2; })) == 2);
    });
}

TEST_CASE("parallel_invoke: the functions run at once", "[tasks][invoke][cpu]")
{
    // on a pool of 4: 4 functions that wait for one another
    trident::blocking_pool pool(4);
    rendezvous four(4);
    auto [a, b, c, d] = trident::parallel_invoke(
        pool, [&] { return four.arrive(); }, [&] { return four.arrive(); }, [&] { return four.arrive(); },
        [&] { return four.arrive(); });
    REQUIRE((a && b && c && d));

    // the lecture's case: 8 blocked functions on a pool of 4 take two ticks
    logical_clock clock;
    concurrency_meter meter;
    auto sleeper = [&] {
        meter.enter();
        clock.block_one_tick();
        meter.leave();
    };
    std::thread driver([&] { (void)trident::parallel_invoke(pool, sleeper, sleeper, sleeper, sleeper, sleeper, sleeper, sleeper, sleeper); });
    const int ticks = clock.run(8, 4);
    driver.join();
    require_two_waves(clock, ticks, meter);

    // under par with 2 threads: 2 functions that wait for each other
    if (tbb::this_task_arena::max_concurrency() >= 2) {
        rendezvous two(2);
        auto [x, y] = trident::parallel_invoke(trident::par.threads(2), [&] { return two.arrive(); }, [&] { return two.arrive(); });
        REQUIRE((x && y));
    }
}

TEST_CASE("parallel_invoke: one thread under par, nested calls, nothing deadlocks", "[tasks][invoke][cpu]")
{
    trident::thread_arena one(1);
    for (const auto& policy : {trident::par.threads(1), trident::par.on(one), trident::par}) {
        std::vector<long long> v(100000);
        std::iota(v.begin(), v.end(), 0LL);
        auto nested = [&] {
            auto [s, t] = trident::parallel_invoke(
                policy, [&] { return trident::reduce(policy, v, 0LL); },
                [&] { return std::get<0>(trident::parallel_invoke(policy, [] { return 1LL; })); });
            return s + t;
        };
        auto [a, b, c] = trident::parallel_invoke(policy, nested, nested, [&] {
            trident::task_group group(policy);
            std::future<long long> r = group.run([&] { return trident::reduce(policy, v, 0LL); });
            group.wait();
            return r.get();
        });
        const long long sum = 100000LL * 99999 / 2;
        REQUIRE(a == sum + 1);
        REQUIRE(b == sum + 1);
        REQUIRE(c == sum);
    }
    // par.threads(1) runs one function at a time
    concurrency_meter meter;
    auto f = [&] {
        meter.enter();
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        meter.leave();
    };
    (void)trident::parallel_invoke(trident::par.threads(1), f, f, f, f, f, f);
    REQUIRE(meter.peak.load() == 1);
}
