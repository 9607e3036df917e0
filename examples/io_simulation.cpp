// The lecture's I/O-bound simulation: "8 I/O tasks of 2 s on a thread pool of 4 finish in 4 s".
//
//   io_simulation [seconds]     (the time each task blocks; default 2)
//
// Part 1: 8 tasks that each block (sleep) for `seconds` run on a trident::blocking_pool of 4
// threads; every task prints a START and an END line with its time and thread, and the whole
// batch takes two waves, about 2 x seconds.
//
// Part 2: the same 8 tasks again, while the calling thread runs a CPU-bound trident::par map over
// and over.  The pool's threads are not oneTBB workers, so the sleeping tasks take no core from the
// map: its time per call stays what it is alone.
//
// Fails (exit 1) when more than 4 tasks ran at once or a batch took less than two waves.
#include "example_common.hpp"

#include <trident/task/blocking_pool.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

namespace io_example {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start)
{
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Prints START/END lines with a timestamp and a short name for each thread.
class trace {
public:
    explicit trace(clock_type::time_point start) : start_(start) {}

    void line(const char* what, int task)
    {
        std::lock_guard lock(mutex_);
        const auto id = std::this_thread::get_id();
        auto it = names_.find(id);
        if (it == names_.end())
            it = names_.emplace(id, static_cast<int>(names_.size())).first;
        std::printf("  %-5s task %d  at %+7.3f s  on pool thread %d\n", what, task, seconds_since(start_), it->second);
        std::fflush(stdout);
    }

private:
    clock_type::time_point start_;
    std::mutex mutex_;
    std::map<std::thread::id, int> names_;
};

struct batch_result {
    double seconds;
    int peak; // the most tasks that ran at once
};

/// Submits the 8 blocking tasks and returns their futures; `peak` tracks concurrency.
std::vector<std::future<void>> start_batch(trident::blocking_pool& pool, double block_seconds, trace& log,
                                           std::atomic<int>& active, std::atomic<int>& peak)
{
    std::vector<std::future<void>> tasks;
    for (int k = 0; k < 8; ++k)
        tasks.push_back(pool.submit([&, k, block_seconds] {
            const int now = active.fetch_add(1) + 1;
            int seen = peak.load();
            while (now > seen && !peak.compare_exchange_weak(seen, now)) {
            }
            log.line("START", k);
            std::this_thread::sleep_for(std::chrono::duration<double>(block_seconds)); // the "I/O"
            log.line("END", k);
            active.fetch_sub(1);
        }));
    return tasks;
}

/// The CPU-bound map: y = sqrt(x) * sin(x) over n elements.
double cpu_map(std::vector<double>& out, const std::vector<double>& in)
{
    trident::map(trident::par, in, out, [](double x) { return std::sqrt(x) * std::sin(x); });
    return out[out.size() / 2];
}

} // namespace io_example

int main(int argc, char** argv)
{
    using namespace io_example;
    double block_seconds = 2.0;
    if (argc >= 2) {
        char* end = nullptr;
        block_seconds = std::strtod(argv[1], &end);
        if (end == argv[1] || *end != '\0' || !(block_seconds > 0) || block_seconds > 3600) {
            std::fprintf(stderr, "usage: %s [seconds each task blocks, > 0; default 2]\n", argv[0]);
            return 2;
        }
    }
    trident::blocking_pool pool(4);
    std::printf("io_simulation: 8 tasks blocking %.3f s each on a blocking_pool of %d threads\n", block_seconds,
                pool.threads());
    bool ok = true;

    // ---- part 1: the I/O batch alone ----
    {
        const auto start = clock_type::now();
        trace log(start);
        std::atomic<int> active{0}, peak{0};
        for (auto& t : start_batch(pool, block_seconds, log, active, peak))
            t.get();
        const double took = seconds_since(start);
        std::printf("8 tasks: %.3f s (ideal 2 waves x %.3f s = %.3f s; sequentially %.3f s), at most %d at once\n", took,
                    block_seconds, 2 * block_seconds, 8 * block_seconds, peak.load());
        if (peak.load() > 4 || took < 2 * block_seconds) {
            std::printf("FAILED: expected at most 4 tasks at once and at least two waves\n");
            ok = false;
        }
    }

    // ---- part 2: the same batch beside a CPU-bound par map ----
    {
        std::vector<double> in(std::size_t{1} << 20), out(in.size());
        std::iota(in.begin(), in.end(), 0.0);
        cpu_map(out, in); // warm-up: oneTBB's workers started, pages touched
        int alone_calls = 0;
        const auto alone_start = clock_type::now();
        while (alone_calls < 3 || seconds_since(alone_start) < std::min(0.5, block_seconds)) {
            cpu_map(out, in);
            ++alone_calls;
        }
        const double alone_ms = 1e3 * seconds_since(alone_start) / alone_calls;

        const auto start = clock_type::now();
        trace log(start);
        std::atomic<int> active{0}, peak{0};
        std::vector<std::future<void>> tasks = start_batch(pool, block_seconds, log, active, peak);
        int beside_calls = 0;
        double beside_seconds = 0;
        for (;;) { // maps while the batch sleeps
            bool all_done = true;
            for (auto& t : tasks)
                all_done = all_done && t.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
            if (all_done && beside_calls > 0)
                break;
            const auto t0 = clock_type::now();
            cpu_map(out, in);
            beside_seconds += seconds_since(t0);
            ++beside_calls;
        }
        for (auto& t : tasks)
            t.get();
        const double took = seconds_since(start);
        const double beside_ms = 1e3 * beside_seconds / beside_calls;
        std::printf("8 tasks beside the map: %.3f s, at most %d at once\n", took, peak.load());
        std::printf("par map of %zu elements: %.3f ms alone, %.3f ms beside the sleeping tasks (%.2fx; %d calls)\n",
                    in.size(), alone_ms, beside_ms, beside_ms / alone_ms, beside_calls);
        if (peak.load() > 4 || took < 2 * block_seconds) {
            std::printf("FAILED: expected at most 4 tasks at once and at least two waves\n");
            ok = false;
        }
    }

    std::printf(ok ? "ok\n" : "FAILED\n");
    return ok ? 0 : 1;
}
