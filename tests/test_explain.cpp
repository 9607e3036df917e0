// trident::explain: the accounting on synthetic recordings with exact busy/idle times (the analysis
// is a pure function of the events), the same on real runs with bounds derived from what the run
// itself did (no wall-clock guesses), exact event counts, the recorder's one-at-a-time rule and
// exception safety, and the Chrome trace's format.

#include "trident/explain/explain.hpp"
#include "trident/trident.hpp"

#include <catch2/catch.hpp>

#if defined(__linux__)
#  include <csignal>
#  include <sys/wait.h>
#  include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using trident::detail::explain_recording;
using trident::detail::recorded_event;

/// Burns `seconds` of CPU on the calling thread.
void spin_for(double seconds)
{
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
    }
}

constexpr std::uint32_t task = trident::detail::label_task;
constexpr std::uint32_t span = trident::detail::label_parallel_call;

/// A synthetic recording of one second at one tick per microsecond, with `workers` threads.
explain_recording synthetic(std::size_t workers)
{
    explain_recording r;
    r.per_worker.resize(workers);
    r.labels = {"for_chunks", "reduce", "task", "invoke", "stage", "parallel call"};
    r.begin_ticks = 1'000'000;
    r.end_ticks = 2'000'000;
    r.wall_seconds = 1.0;
    return r;
}

recorded_event ev(std::uint64_t begin_us, std::uint64_t end_us, std::uint32_t label = task)
{
    return {1'000'000 + begin_us, 1'000'000 + end_us, label};
}

trident::explain_options on(int workers)
{
    trident::explain_options o;
    o.workers = workers;
    o.hardware_threads = 256; // the synthetic runs' accounting, whatever machine runs the test
    return o;
}

} // namespace

// ---- synthetic recordings: exact numbers ------------------------------------------------------

TEST_CASE("explain accounting: Amdahl's serial part (caller's own code, then a parallel call)", "[explain]")
{
    // 4 workers.  Caller: untracked code 0-100 ms, an inline call 100-200 ms, then a parallel call
    // 200-1000 ms in which all four workers are busy throughout.
    auto r = synthetic(4);
    r.per_worker[0] = {ev(100'000, 200'000), ev(200'000, 1'000'000), ev(200'000, 1'000'000, span)};
    for (std::size_t w = 1; w < 4; ++w)
        r.per_worker[w] = {ev(200'000, 1'000'000)};
    const trident::explanation e = trident::detail::analyse(r, on(4));

    CHECK(e.workers == 4);
    CHECK(e.wall_seconds == Approx(1.0));
    REQUIRE(e.per_worker.size() == 4);
    CHECK(e.per_worker[0].busy_seconds == Approx(0.9));
    CHECK(e.per_worker[0].calls == 2); // the span is not a call
    CHECK(e.per_worker[3].busy_seconds == Approx(0.8));
    CHECK(e.event_count == 5);
    CHECK(e.busy_seconds == Approx(3.3));
    CHECK(e.idle_seconds == Approx(0.7)); // = 4 x 0.1 (nobody busy) + 3 x 0.1 (one busy)
    CHECK(e.serial_seconds == Approx(0.2));
    CHECK(e.sequential_estimate_seconds == Approx(3.4));
    CHECK(e.serial_fraction == Approx(0.2 / 3.4));
    const double f = 0.2 / 3.4;
    CHECK(e.predicted_speedup == Approx(1 / (f + (1 - f) / 4)));
    CHECK(e.measured_speedup == Approx(3.4));
    CHECK(e.imbalance == Approx(0.0).margin(1e-12));
    CHECK(e.losses.serial == Approx(0.6));
    CHECK(e.inside_parallel_seconds == Approx(0.8));
    REQUIRE(e.seconds_at_concurrency.size() == 5);
    CHECK(e.seconds_at_concurrency[0] == Approx(0.1));
    CHECK(e.seconds_at_concurrency[1] == Approx(0.1));
    CHECK(e.seconds_at_concurrency[4] == Approx(0.8));
    CHECK(e.why() == "serial fraction 5.9% (Amdahl): at most 3.4x on 4 workers");
    CHECK(e.events.size() == 6);
    CHECK(e.count_events("task") == 5);
    CHECK(e.count_events("parallel call") == 1);
}

TEST_CASE("explain accounting: nested calls on one worker are not counted twice", "[explain]")
{
    auto r = synthetic(1);
    r.per_worker[0] = {ev(100'000, 200'000), ev(0, 500'000), ev(400'000, 600'000)};
    const trident::explanation e = trident::detail::analyse(r, on(1));
    CHECK(e.per_worker[0].calls == 3);
    CHECK(e.busy_seconds == Approx(0.6));
    CHECK(e.serial_seconds == Approx(1.0)); // one worker: everything is serial
    CHECK(e.serial_fraction == Approx(1.0));
    CHECK(e.why() == "near ideal: 1.00x of 1");
}

TEST_CASE("explain accounting: load imbalance inside a parallel call", "[explain]")
{
    // 2 workers in one parallel call: worker 0 busy all second, worker 1 only the first quarter.
    auto r = synthetic(2);
    r.per_worker[0] = {ev(0, 1'000'000), ev(0, 1'000'000, span)};
    r.per_worker[1] = {ev(0, 250'000)};
    const trident::explanation e = trident::detail::analyse(r, on(2));
    CHECK(e.busy_seconds == Approx(1.25));
    CHECK(e.serial_seconds == Approx(0.0).margin(1e-12));
    CHECK(e.losses.imbalance == Approx(0.75));
    CHECK(e.imbalance == Approx(0.375));
    CHECK(e.idle_seconds == Approx(e.losses.imbalance));
    CHECK(e.why().rfind("load imbalance: 3", 0) == 0);
    CHECK(e.why().find("of worker time idle while others worked") != std::string::npos);
}

TEST_CASE("explain accounting: waiting inside a parallel call is scheduling overhead", "[explain]")
{
    auto r = synthetic(2);
    r.per_worker[0] = {ev(0, 1'000'000, span), ev(600'000, 1'000'000)};
    r.per_worker[1] = {ev(600'000, 1'000'000)};
    const trident::explanation e = trident::detail::analyse(r, on(2));
    CHECK(e.losses.scheduling == Approx(1.2));
    CHECK(e.why() == "scheduling overhead: 60% of worker time spent waiting for parallel work to start or hand over");
}

TEST_CASE("explain accounting: more busy time than the sequential run is overhead", "[explain]")
{
    auto r = synthetic(2);
    r.per_worker[0] = {ev(0, 1'000'000), ev(0, 1'000'000, span)};
    r.per_worker[1] = {ev(0, 1'000'000)};
    auto options = on(2);
    options.sequential_seconds = 1.0;
    const trident::explanation e = trident::detail::analyse(r, options);
    REQUIRE(e.overhead_seconds);
    CHECK(*e.overhead_seconds == Approx(1.0));
    CHECK(e.measured_speedup == Approx(1.0));
    CHECK(e.why() == "parallel slowdown: the work took 100% more busy time than the sequential run (shared caches and memory bandwidth, or per-call overhead)");

    // With the bytes moved and the peak bandwidth, the sentence says whether memory can be the cause.
    options.peak_bytes_per_second = 10e9;
    options.bytes = 6e9; // in 1 s: 60% of the peak
    CHECK(trident::detail::analyse(r, options).why() ==
          "parallel slowdown: the work took 100% more busy time than the sequential run (memory traffic at 60% "
          "of the measured peak bandwidth: contention for memory)");
    options.bytes = 1e9; // 10%
    CHECK(trident::detail::analyse(r, options).why() ==
          "parallel slowdown: the work took 100% more busy time than the sequential run (memory traffic only 10% "
          "of the measured peak bandwidth: shared caches or per-call overhead)");

    // Without the sequential time the same run is ideal.
    CHECK(trident::detail::analyse(r, on(2)).why() == "near ideal: 2.00x of 2");
}

TEST_CASE("explain accounting: memory bandwidth near the measured peak", "[explain]")
{
    auto r = synthetic(2);
    r.per_worker[0] = {ev(0, 1'000'000), ev(0, 1'000'000, span)};
    r.per_worker[1] = {ev(0, 500'000)};
    auto options = on(2);
    options.bytes = 64e9;                 // in 1 s
    options.peak_bytes_per_second = 68e9; // 94%
    const trident::explanation e = trident::detail::analyse(r, options);
    REQUIRE(e.bandwidth_fraction);
    CHECK(*e.bandwidth_fraction == Approx(64.0 / 68.0));
    CHECK(e.why() == "memory bandwidth: 64.0 GB/s of 68.0 GB/s measured peak (94%)");

    // Far from the peak, the imbalance explains it.
    options.bytes = 1e9;
    CHECK(trident::detail::analyse(r, options).why().rfind("load imbalance", 0) == 0);
}

TEST_CASE("explain accounting: more workers than hardware threads is oversubscription", "[explain]")
{
    // 4 workers, each busy the whole second (their busy time includes the turns they wait), on 2
    // hardware threads: the 2 s of sequential work took 1 s.
    auto r = synthetic(4);
    for (auto& w : r.per_worker)
        w = {ev(0, 1'000'000)};
    r.per_worker[0].push_back(ev(0, 1'000'000, span));
    auto options = on(4);
    options.hardware_threads = 2;
    options.sequential_seconds = 2.0;
    const trident::explanation e = trident::detail::analyse(r, options);
    CHECK(e.hardware_threads == 2);
    CHECK(e.predicted_speedup == Approx(2.0));
    CHECK(e.measured_speedup == Approx(2.0));
    CHECK(e.why() == "oversubscribed: 4 workers take turns on 2 hardware threads, so at most 2.0x (measured 2.00x)");

    // The same recording on 4 hardware threads is a slowdown (busy twice the sequential time).
    options.hardware_threads = 4;
    CHECK(trident::detail::analyse(r, options).why().rfind("parallel slowdown: the work took 100% more busy time", 0) == 0);
}

TEST_CASE("explain accounting: a pipeline bound by a serial stage", "[explain]")
{
    auto r = synthetic(2);
    r.labels.push_back("train");
    r.per_worker[0] = {ev(0, 900'000, 6)};
    r.per_worker[1] = {ev(0, 100'000, 4)};
    trident::pipeline_stats stats;
    stats.threads = 2;
    stats.wall_seconds = 1.0;
    stats.stages.resize(3);
    stats.stages[0] = {"source", trident::serial_in_order, 10, 0.0, 1, 0.0};
    stats.stages[1] = {"train", trident::serial_in_order, 10, 0.9, 1, 0.9};
    stats.stages[2] = {"light", trident::parallel_out_of_order, 10, 0.1, 2, 0.05};
    r.pipelines.push_back({stats, r.begin_ticks, r.end_ticks});
    const trident::explanation e = trident::detail::analyse(r, on(2));
    CHECK(e.losses.pipeline == Approx(1.0)); // 1 x 0.8 (one busy) + 2 x 0.1 (none busy)
    CHECK(e.losses.serial == Approx(0.0).margin(1e-12));
    REQUIRE(e.pipelines.size() == 1);
    CHECK(e.why() == "pipeline bound by stage 'train' (serial in order, 90% of the pipeline's busy time): 1.1x at most");
}

// ---- CPU time against busy time: a busy machine ----------------------------------------------

namespace {

/// A CPU reading at `t_us` of the synthetic second: CPU time and run-queue delay so far (-1: not measured).
trident::detail::cpu_sample reading(std::uint64_t t_us, std::int64_t cpu_us, std::int64_t wait_us)
{
    return {1'000'000 + t_us, cpu_us * 1000, wait_us < 0 ? -1 : wait_us * 1000};
}

/// Two workers busy all second in one parallel call, each read at 0, 0.5 and 1 s with the CPU
/// time and run-queue delay given per half second.
explain_recording two_busy_workers(std::int64_t cpu_per_half_us, std::int64_t wait_per_half_us)
{
    auto r = synthetic(2);
    r.per_worker[0] = {ev(0, 1'000'000), ev(0, 1'000'000, span)};
    r.per_worker[1] = {ev(0, 1'000'000)};
    r.cpu.resize(2);
    for (auto& w : r.cpu)
        for (std::int64_t k = 0; k <= 2; ++k)
            w.push_back(reading(static_cast<std::uint64_t>(k) * 500'000, k * cpu_per_half_us,
                                wait_per_half_us < 0 ? -1 : k * wait_per_half_us));
    return r;
}

} // namespace

TEST_CASE("explain CPU time: CPU time equal to the busy time is not a busy machine", "[explain][cpu]")
{
    const auto r = two_busy_workers(500'000, 0);
    const trident::explanation e = trident::detail::analyse(r, on(2));
    REQUIRE(e.cpu.measured);
    CHECK(e.cpu.covered_busy_seconds == Approx(2.0));
    CHECK(e.cpu.cpu_seconds == Approx(2.0));
    REQUIRE(e.cpu.waiting_seconds);
    CHECK(*e.cpu.waiting_seconds == Approx(0.0).margin(1e-12));
    CHECK(e.cpu.other_processes_seconds == Approx(0.0).margin(1e-12));
    REQUIRE(e.per_worker[1].on_cpu_fraction);
    CHECK(*e.per_worker[1].on_cpu_fraction == Approx(1.0));
    CHECK(e.why() == "near ideal: 2.00x of 2");
    auto options = on(2);
    options.sequential_seconds = 1.0; // busy twice the sequential time, all of it on a CPU: a slowdown
    CHECK(trident::detail::analyse(r, options).why().rfind("parallel slowdown: the work took 100% more busy time", 0) == 0);
    // Without readings nothing is measured and nothing changes.
    auto bare = r;
    bare.cpu.clear();
    CHECK_FALSE(trident::detail::analyse(bare, on(2)).cpu.measured);
}

TEST_CASE("explain CPU time: time other processes took is named, not called a slowdown", "[explain][cpu]")
{
    // Each worker ran on a CPU half of each half second and waited for one the other half.
    auto r = two_busy_workers(250'000, 250'000);
    r.process_cpu_seconds = 1.0; // of the 2 x 1 s the two hardware threads had
    auto options = on(2);
    options.hardware_threads = 2;
    trident::explanation e = trident::detail::analyse(r, options);
    CHECK(e.cpu.cpu_seconds == Approx(1.0));
    CHECK(*e.cpu.waiting_seconds == Approx(1.0));
    CHECK(e.cpu.other_processes_seconds == Approx(1.0));
    CHECK(e.cpu.other_processes_fraction == Approx(0.5));
    CHECK(e.losses.other_processes == Approx(1.0));
    CHECK(e.why() == "near ideal: 2.00x of 2, but other processes took 50% of the workers' time: the machine was busy; "
                     "this speedup says little about trident");

    // The case of the issue: busy time above the sequential time because the workers waited.
    options.sequential_seconds = 1.0;
    e = trident::detail::analyse(r, options);
    CHECK(*e.overhead_seconds == Approx(1.0));
    CHECK(e.losses.scheduling == Approx(0.0).margin(1e-12)); // the waiting is not a slowdown of the work
    CHECK(e.why() == "other processes took 50% of the workers' time: the machine was busy; this speedup (1.00x of 2) "
                     "says little about trident");

    // The process itself used both hardware threads: the waiting was for its own threads.
    r.process_cpu_seconds = 2.0;
    e = trident::detail::analyse(r, options);
    CHECK(e.cpu.other_processes_seconds == Approx(0.0).margin(1e-12));
    CHECK(e.why().rfind("parallel slowdown", 0) == 0);
}

TEST_CASE("explain CPU time: blocking calls off the CPU are not other processes' time", "[explain][cpu]")
{
    // Workers that sleep inside their calls: no CPU, no run-queue delay.
    const auto r = two_busy_workers(0, 0);
    auto options = on(2);
    options.sequential_seconds = 1.0;
    const trident::explanation e = trident::detail::analyse(r, options);
    CHECK(e.cpu.cpu_seconds == Approx(0.0).margin(1e-12));
    CHECK(e.cpu.other_processes_seconds == Approx(0.0).margin(1e-12));
    CHECK(e.why().rfind("parallel slowdown", 0) == 0);

    // Without the kernel's run-queue delay, off the CPU may be either: the sentence says so.
    const auto unknown = two_busy_workers(250'000, -1);
    const trident::explanation u = trident::detail::analyse(unknown, options);
    CHECK_FALSE(u.cpu.waiting_seconds);
    CHECK(u.cpu.other_processes_fraction == Approx(0.5));
    CHECK(u.why() == "other processes (or blocking calls) took 50% of the workers' time: the machine was busy; this "
                     "speedup (1.00x of 2) says little about trident");
}

TEST_CASE("explain CPU time: a sequential reference slowed by other processes", "[explain][cpu]")
{
    const auto r = two_busy_workers(500'000, 0);
    auto options = on(2);
    options.sequential_seconds = 2.5; // 2.50x of 2: too good
    options.sequential_cpu_seconds = 1.75;
    const trident::explanation e = trident::detail::analyse(r, options);
    REQUIRE(e.cpu.sequential_off_cpu_fraction);
    CHECK(*e.cpu.sequential_off_cpu_fraction == Approx(0.3));
    CHECK(e.why() == "other processes took 30% of the sequential reference's time: the machine was busy; this speedup "
                     "(2.50x of 2) says little about trident");
    options.sequential_cpu_seconds = 2.45; // 2% off the CPU: the speedup stands
    CHECK(trident::detail::analyse(r, options).why() == "near ideal: 2.50x of 2");
    // Options: a CPU time needs its wall time; neither may be negative.
    options.sequential_seconds.reset();
    CHECK_THROWS_WITH(trident::detail::analyse(r, options), Catch::Contains("sequential_cpu_seconds (2.45) needs sequential_seconds"));
    options.sequential_seconds = 1.0;
    options.sequential_cpu_seconds = -0.5;
    CHECK_THROWS_WITH(trident::detail::analyse(r, options), Catch::Contains("sequential_cpu_seconds must be a finite number >= 0, got -0.5"));
}

#if defined(__linux__)
TEST_CASE("explain CPU time: a region beside busy processes names them", "[explain][cpu][busy]")
{
    // One busy-looping process per hardware thread, for the duration of the region.
    const int hardware = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    std::vector<pid_t> children;
    for (int k = 0; k < hardware; ++k) {
        const pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            std::atomic<unsigned long> spin{0};
            for (;;)
                spin.fetch_add(1, std::memory_order_relaxed);
        }
        children.push_back(pid);
    }
    const trident::explanation e = trident::explain(
        [&] {
            // Each worker spins 40 ms of wall time per task: the CPU it gets is what the others leave.
            trident::for_each_index(trident::par.threads(hardware).grain(1), 4 * hardware, [](std::size_t) { spin_for(0.04); });
        },
        on(hardware));
    for (const pid_t pid : children) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    INFO(e);
    REQUIRE(e.cpu.measured);
    CHECK(e.cpu.covered_busy_seconds >= 0.5 * e.busy_seconds);
    CHECK(e.cpu.other_processes_fraction >= trident::busy_machine_fraction);
    CHECK(e.why().find("other processes") != std::string::npos);
    CHECK(e.why().find("the machine was busy") != std::string::npos);
}
#endif

// ---- bad options ------------------------------------------------------------------------------

TEST_CASE("explain_options: every bad value is std::invalid_argument naming the field and the value", "[explain][options]")
{
    const auto r = [] {
        auto rec = synthetic(2);
        rec.per_worker[0] = {ev(0, 1'000'000), ev(0, 1'000'000, span)};
        rec.per_worker[1] = {ev(0, 1'000'000)};
        return rec;
    }();
    // Each bad value, its field and how the value is printed; analyse() and explain() (before
    // running the region) both refuse it.
    struct bad {
        const char* field;
        const char* shown;
        void (*set)(trident::explain_options&);
    };
    const bad cases[] = {
        {"sequential_seconds", "-1", [](trident::explain_options& o) { o.sequential_seconds = -1; }},
        {"sequential_seconds", "0", [](trident::explain_options& o) { o.sequential_seconds = 0; }},
        {"sequential_seconds", "nan", [](trident::explain_options& o) { o.sequential_seconds = std::numeric_limits<double>::quiet_NaN(); }},
        {"sequential_seconds", "inf", [](trident::explain_options& o) { o.sequential_seconds = std::numeric_limits<double>::infinity(); }},
        {"bytes", "-5", [](trident::explain_options& o) { o.bytes = -5; }},
        {"bytes", "nan", [](trident::explain_options& o) { o.bytes = std::numeric_limits<double>::quiet_NaN(); }},
        {"bytes", "inf", [](trident::explain_options& o) { o.bytes = std::numeric_limits<double>::infinity(); }},
        {"peak_bytes_per_second", "0", [](trident::explain_options& o) { o.peak_bytes_per_second = 0; }},
        {"peak_bytes_per_second", "-1000000000", [](trident::explain_options& o) { o.peak_bytes_per_second = -1e9; }},
        {"peak_bytes_per_second", "nan", [](trident::explain_options& o) { o.peak_bytes_per_second = std::numeric_limits<double>::quiet_NaN(); }},
        {"peak_bytes_per_second", "inf", [](trident::explain_options& o) { o.peak_bytes_per_second = std::numeric_limits<double>::infinity(); }},
        {"workers", "-2", [](trident::explain_options& o) { o.workers = -2; }},
        {"hardware_threads", "-1", [](trident::explain_options& o) { o.hardware_threads = -1; }},
    };
    for (const bad& b : cases) {
        auto options = on(2);
        b.set(options);
        const std::string expected = std::string("trident::explain_options::") + b.field;
        INFO(expected << " = " << b.shown);
        CHECK_THROWS_AS(trident::detail::analyse(r, options), std::invalid_argument);
        CHECK_THROWS_WITH(trident::detail::analyse(r, options), Catch::Contains(expected) && Catch::Contains(std::string("got ") + b.shown));
        bool ran = false;
        CHECK_THROWS_WITH(trident::explain([&] { ran = true; }, options), Catch::Contains(expected));
        CHECK_FALSE(ran);
    }
    // Good values at the edges still work: zero bytes, zero workers and hardware threads (the defaults).
    auto options = on(2);
    options.bytes = 0;
    options.peak_bytes_per_second = 1;
    options.sequential_seconds = 1e-9;
    CHECK_NOTHROW(trident::detail::analyse(r, options));
    CHECK_NOTHROW(trident::detail::analyse(r, trident::explain_options{}));
}

// ---- real runs --------------------------------------------------------------------------------

TEST_CASE("explain: the caller's serial code, then two parallel tasks", "[explain]")
{
    const auto policy = trident::par.threads(2);
    const trident::explanation e = trident::explain(
        [&] {
            spin_for(0.02); // the caller's own code: not a call, serial
            trident::parallel_invoke(policy, [] { spin_for(0.02); }, [] { spin_for(0.02); });
        },
        on(2));
    INFO(e);
    CHECK(e.workers == 2);
    CHECK(e.event_count == 2);
    CHECK(e.count_events("task") == 2);
    CHECK(e.count_events("parallel call") == 1);
    REQUIRE(!e.per_worker.empty());
    std::size_t calls = 0;
    for (const auto& w : e.per_worker)
        calls += w.calls;
    CHECK(calls == 2);
    CHECK(e.wall_seconds >= 0.04);
    CHECK(e.busy_seconds >= 0.039);
    CHECK(e.serial_seconds >= 0.019);
    CHECK(e.sequential_estimate_seconds >= 0.058);
    CHECK(e.serial_fraction == Approx(e.serial_seconds / e.sequential_estimate_seconds));
    CHECK(e.serial_fraction >= 0.019 / e.sequential_estimate_seconds);
    CHECK(e.serial_fraction <= 1.0);
    CHECK(e.predicted_speedup >= 1.0);
    CHECK(e.predicted_speedup <= 2.0);
    CHECK(e.idle_seconds == Approx(2 * e.wall_seconds - e.busy_seconds));
    CHECK(e.measured_speedup == Approx(e.sequential_estimate_seconds / e.wall_seconds));
}

TEST_CASE("explain: a seq policy is all serial", "[explain]")
{
    const trident::explanation e = trident::explain(
        [] { trident::parallel_invoke(trident::seq, [] { spin_for(0.005); }, [] { spin_for(0.005); }, [] { spin_for(0.005); }); },
        on(2));
    INFO(e);
    REQUIRE(e.per_worker.size() == 1);
    CHECK(e.per_worker[0].calls == 3);
    CHECK(e.count_events("parallel call") == 0);
    CHECK(e.busy_seconds >= 0.0149);
    CHECK(e.serial_seconds == Approx(e.wall_seconds).epsilon(1e-6));
    CHECK(e.serial_fraction == Approx(1.0).epsilon(1e-6));
    CHECK(e.why() == "serial fraction 100% (Amdahl): at most 1.0x on 2 workers");
}

TEST_CASE("explain: one task four times longer than the other is load imbalance", "[explain]")
{
    const trident::explanation e = trident::explain(
        [] { trident::parallel_invoke(trident::par.threads(2), [] { spin_for(0.08); }, [] { spin_for(0.02); }); }, on(2));
    INFO(e);
    CHECK(e.busy_seconds >= 0.099);
    CHECK(e.losses.imbalance >= 0.03); // 60 ms nominally; less when the short task is slowed down
    // A worker that wakes late (ThreadSanitizer, a loaded machine) leaves the call with nobody busy
    // for a while: scheduling, not imbalance; on a busy machine other processes take the workers'
    // time.  Which dominates is the largest loss.
    const double largest = std::max({e.losses.imbalance, e.losses.scheduling, e.losses.other_processes});
    if (largest == e.losses.imbalance)
        CHECK(e.why().rfind("load imbalance", 0) == 0);
    else if (largest == e.losses.scheduling)
        CHECK(e.why().rfind("scheduling overhead", 0) == 0);
    else
        CHECK(e.why().rfind("other processes took", 0) == 0);
}

TEST_CASE("explain: a pipeline with a heavy serial stage names the stage", "[explain]")
{
    int next = 0;
    const trident::explanation e = trident::explain(
        [&] {
            trident::run_pipeline(
                trident::par.threads(2),
                trident::source("load", [&]() -> std::optional<int> {
                    if (next == 20)
                        return std::nullopt;
                    return next++;
                }),
                // Sleeping stages: the stage calls take their time either way, and under
                // ThreadSanitizer a spinning stage on the calling thread floods its history.
                trident::stage("train", trident::serial_in_order, [](int x) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(4));
                    return x;
                }),
                trident::stage("light", trident::parallel_out_of_order, [](int) { std::this_thread::sleep_for(std::chrono::microseconds(400)); }));
        },
        on(2));
    INFO(e);
    REQUIRE(e.pipelines.size() == 1);
    CHECK(e.pipelines[0].stages.at(1).items == 20);
    CHECK(e.count_events("load") == 21); // the last call made no item
    CHECK(e.count_events("train") == 20);
    CHECK(e.count_events("light") == 20);
    CHECK(e.why().rfind("pipeline bound by stage 'train' (serial in order, ", 0) == 0);
}

TEST_CASE("explain: exact event counts", "[explain]")
{
    SECTION("five tasks of parallel_invoke are five task events")
    {
        const trident::explanation e = trident::explain([] {
            auto nothing = [] {};
            trident::parallel_invoke(trident::par.threads(2), nothing, nothing, nothing, nothing, nothing);
        });
        CHECK(e.count_events("task") == 5);
        CHECK(e.event_count == 5);
    }
    SECTION("for_each records its chunks, inline or parallel, covering every element once")
    {
        std::vector<int> data(200'000, 1);
        const trident::explanation e =
            trident::explain([&] { trident::for_each(trident::par.threads(2), data, [](int& x) { x += 1; }); });
        CHECK(e.count_events("for_chunks") >= 1);
        CHECK(e.event_count == e.count_events("for_chunks"));
        CHECK(std::all_of(data.begin(), data.end(), [](int x) { return x == 2; }));
    }
    SECTION("keep_events = false keeps the counts, not the events")
    {
        trident::explain_options options;
        options.keep_events = false;
        const trident::explanation e = trident::explain(
            [] { trident::parallel_invoke(trident::seq, [] {}, [] {}); }, options);
        CHECK(e.events.empty());
        CHECK(e.event_count == 2);
        CHECK(e.workers >= 1);
    }
    SECTION("task_group tasks are task events")
    {
        const trident::explanation e = trident::explain([] {
            trident::task_group group(trident::par.threads(2));
            for (int k = 0; k < 3; ++k)
                (void)group.run([] {});
            group.wait();
        });
        CHECK(e.count_events("task") == 3);
        CHECK(e.event_count == 3);
    }
    SECTION("blocking_pool tasks are pool task events on the pool's threads, covering their sleep")
    {
        trident::blocking_pool pool(2);
        trident::explain_options options;
        options.workers = pool.threads();
        const trident::explanation e = trident::explain(
            [&] {
                std::vector<std::future<void>> done;
                for (int k = 0; k < 4; ++k)
                    done.push_back(pool.submit([] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); }));
                for (auto& f : done)
                    f.get();
            },
            options);
        CHECK(e.count_events("pool task") == 4);
        CHECK(e.event_count == 4);
        CHECK(e.workers == 2);
        CHECK(e.per_worker.size() >= 2); // the caller (no events) and at least one pool thread
        CHECK(e.per_worker[0].calls == 0);
        CHECK(e.busy_seconds >= 4 * 0.005);
        // A group's tasks on a pool are the group's task events (recorded once).
        const trident::explanation grouped = trident::explain([&] {
            trident::task_group group(pool);
            for (int k = 0; k < 3; ++k)
                (void)group.run([] {});
            group.wait();
        });
        CHECK(grouped.count_events("task") == 3);
        CHECK(grouped.event_count == 3);
    }
    SECTION("nothing is recorded outside a region")
    {
        trident::parallel_invoke(trident::par.threads(2), [] {}, [] {});
        const trident::explanation e = trident::explain([] {});
        CHECK(e.event_count == 0);
        CHECK(e.serial_fraction == Approx(1.0));
    }
}

TEST_CASE("explain: one region at a time; exceptions propagate and leave the recorder usable", "[explain]")
{
    bool inner_threw = false;
    const trident::explanation outer = trident::explain([&] {
        try {
            (void)trident::explain([] {});
        } catch (const std::logic_error& error) {
            inner_threw = std::string(error.what()).find("already recording") != std::string::npos;
        }
    });
    CHECK(inner_threw);

    CHECK_THROWS_AS(trident::explain([] {
                        trident::parallel_invoke(trident::par.threads(2), [] {}, [] {});
                        throw std::runtime_error("region failed");
                    }),
                    std::runtime_error);

    const trident::explanation later =
        trident::explain([] { trident::parallel_invoke(trident::par.threads(2), [] {}, [] {}); });
    CHECK(later.count_events("task") == 2);
}

// ---- the Chrome trace -------------------------------------------------------------------------

TEST_CASE("explain: the Chrome trace's format", "[explain][trace]")
{
    int next = 0;
    const std::string odd_name = "say \"hi\"\\\n\x01";
    const trident::explanation e = trident::explain([&] {
        trident::run_pipeline(
            trident::par.threads(2),
            trident::source([&]() -> std::optional<int> {
                if (next == 5)
                    return std::nullopt;
                return next++;
            }),
            trident::stage(odd_name, trident::serial_in_order, [](int) {}));
        trident::parallel_invoke(trident::par.threads(2), [] {}, [] {});
    });
    std::ostringstream out;
    e.write_chrome_trace(out);
    const std::string trace = out.str();
    INFO(trace);

    CHECK(trace.rfind("{\"traceEvents\":[", 0) == 0);
    CHECK(trace.find("],\"displayTimeUnit\":\"ms\"}") != std::string::npos);
    CHECK(trace.find(R"("name":"say \"hi\"\\\n\u0001")") != std::string::npos);
    CHECK(trace.find("\x01") == std::string::npos);

    // One line per trace event: every "X" event has its fields; as many as the kept events.
    std::istringstream lines(trace);
    std::string line;
    std::size_t complete = 0, metadata = 0;
    while (std::getline(lines, line)) {
        if (line.find("\"ph\":\"X\"") != std::string::npos) {
            ++complete;
            for (const char* field : {"\"name\":", "\"ts\":", "\"dur\":", "\"pid\":", "\"tid\":"})
                CHECK(line.find(field) != std::string::npos);
        } else if (line.find("\"ph\":\"M\"") != std::string::npos) {
            ++metadata;
        }
    }
    CHECK(complete == e.events.size());
    CHECK(metadata == e.per_worker.size() + 1);
    CHECK(e.count_events(odd_name) == 5);

    CHECK_THROWS_WITH(e.write_chrome_trace(std::string("/nonexistent-dir/trace.json")),
                      Catch::Contains("/nonexistent-dir/trace.json"));
}
