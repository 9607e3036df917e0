// Open dispatch: a policy written here, outside trident's headers, runs every data algorithm.
// `thread_per_chunk` is a complete trident::executor of its own: each chunk and each task on a
// std::thread of its own (no oneTBB), the first exception rethrown after all have joined.  The
// shared algorithm checks run under it against their std:: references, and the executor counts its
// calls so that the test also sees the algorithms really went through it.

#include "common/algorithm_checks.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

namespace toy {

struct thread_per_chunk_policy {
    int threads = 3;
};

inline std::atomic<long> executor_calls{0};

class thread_per_chunk {
public:
    static constexpr bool is_parallel = true;

    explicit thread_per_chunk(int threads) : threads_(threads) {}

    [[nodiscard]] int concurrency() const noexcept { return threads_; }
    [[nodiscard]] std::size_t grain() const noexcept { return 0; }

    template <class Body>
    void for_chunks(std::size_t n, Body&& body) const
    {
        ++executor_calls;
        const std::size_t chunks = std::min<std::size_t>(n, static_cast<std::size_t>(threads_));
        run_each(chunks, [&](std::size_t k) { body(n * k / chunks, n * (k + 1) / chunks); });
    }

    template <class Chunk, class Combine>
    auto reduce_chunks(std::size_t n, Chunk&& chunk, Combine&& combine) const
        -> std::optional<std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>>
    {
        ++executor_calls;
        using T = std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>;
        const std::size_t chunks = std::min<std::size_t>(n, static_cast<std::size_t>(threads_));
        std::vector<std::optional<T>> partial(chunks);
        run_each(chunks, [&](std::size_t k) { partial[k].emplace(chunk(n * k / chunks, n * (k + 1) / chunks)); });
        std::optional<T> result;
        for (auto& p : partial) // in index order: combine need not commute
            result = result ? std::optional<T>(combine(std::move(*result), std::move(*p))) : std::move(p);
        return result;
    }

    template <class Task>
    void for_tasks(std::size_t count, Task&& task) const
    {
        ++executor_calls;
        run_each(count, task); // one thread each: tasks may wait for one another
    }

private:
    template <class F>
    static void run_each(std::size_t count, F&& f)
    {
        std::exception_ptr first;
        std::mutex m;
        {
            // jthreads join when destroyed, also when creating a later thread throws.
            std::vector<std::jthread> threads;
            threads.reserve(count);
            for (std::size_t k = 0; k < count; ++k)
                threads.emplace_back([&, k] {
                    try {
                        f(k);
                    } catch (...) {
                        const std::lock_guard lock(m);
                        if (!first)
                            first = std::current_exception();
                    }
                });
        }
        if (first)
            std::rethrow_exception(first);
    }

    int threads_;
};

} // namespace toy

template <>
struct trident::executor_of<toy::thread_per_chunk_policy> {
    static toy::thread_per_chunk make(const toy::thread_per_chunk_policy& p) { return toy::thread_per_chunk(p.threads); }
};

static_assert(trident::execution_policy<toy::thread_per_chunk_policy>);
static_assert(trident::executor<toy::thread_per_chunk>);
static_assert(trident::executor<trident::detail::seq_executor>);
static_assert(trident::executor<trident::detail::tbb_executor>);

using namespace trident_test;

TEST_CASE("a policy defined outside trident runs every data algorithm", "[custom_policy][cpu]")
{
    const toy::thread_per_chunk_policy policy{3};
    const long before = toy::executor_calls.load();
    // Smaller sizes than the other tests: every chunk and task is a thread of its own.
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{100003}}) {
        INFO("n = " << n);
        check_for_each(policy, n);
        check_map(policy, n);
        check_reduce(policy, n);
        check_map_reduce(policy, n);
        check_scans(policy, n);
        check_sort_keys<std::uint32_t>(policy, n);
        check_sort_keys<double>(policy, n);
        check_sort_records(policy, n);
    }
    CHECK(toy::executor_calls.load() - before > 100); // the algorithms went through the executor
}

TEST_CASE("an exception thrown on a custom executor's thread reaches the caller", "[custom_policy][cpu]")
{
    std::vector<int> v(1000, 1);
    const int* const failing = &v[777];
    CHECK_THROWS_WITH(trident::for_each(toy::thread_per_chunk_policy{4}, v,
                                        [failing](int& x) {
                                            if (&x == failing)
                                                throw std::runtime_error("element failed");
                                            x = 2;
                                        }),
                      "element failed");
    std::vector<int> w(1000, 1);
    w[555] = -1;
    CHECK_THROWS_WITH(trident::reduce(toy::thread_per_chunk_policy{4}, w, 0,
                                      [](int a, int b) -> int {
                                          if (a == -1 || b == -1)
                                              throw std::runtime_error("combine failed");
                                          return a + b;
                                      }),
                      "combine failed");
}

TEST_CASE("trident::explain sees the bodies a custom executor runs (dispatch instruments every executor)",
          "[custom_policy][cpu][explain]")
{
    // thread_per_chunk records nothing itself: the events come from the one instrumentation seam.
    std::vector<double> v(30000, 1.0);
    double sum = 0;
    const trident::explanation e = trident::explain([&] {
        trident::for_each(toy::thread_per_chunk_policy{3}, v, [](double& x) { x *= 2; });
        sum = trident::reduce(toy::thread_per_chunk_policy{3}, v, 0.0);
    });
    INFO(e);
    CHECK(sum == 60000.0);
    CHECK(e.count_events("for_chunks") == 3);
    CHECK(e.count_events("reduce") == 3);
    CHECK(e.per_worker.size() >= 3); // each chunk ran on a thread of its own
}
