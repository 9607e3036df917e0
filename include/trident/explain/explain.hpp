#pragma once
/// \file explain/explain.hpp
/// `trident::explain`: why a parallel region got the speedup it got.
///
/// `explain(region)` runs `region()` on the calling thread while recording every body call that
/// trident's executors make (for_each, map, reduce, scan, sort, parallel_invoke: their chunks and
/// tasks, task_group and blocking_pool tasks) and every pipeline stage call, on whatever thread
/// runs it, and the span of every parallel call.  From those events it derives the wall time, the busy time of each worker, the idle time,
/// the serial fraction (Amdahl), the load imbalance, the statistics of every pipeline run in the
/// region, the workers' CPU time against their busy time (the share other processes took: a busy
/// machine, explain/cpu_time.hpp), and one sentence naming the dominant reason why the speedup falls short of the worker
/// count; it can write the run as a Chrome trace (open it in https://ui.perfetto.dev or
/// chrome://tracing).
///
/// \code
///   trident::explanation e = trident::explain([&] {
///       prepare(data);                                            // serial: the caller's own code
///       trident::for_each(trident::par, data, [](auto& x) { x = f(x); });
///   });
///   std::cout << e;                          // a table: wall, busy per worker, idle, serial fraction, ...
///   std::cout << e.why() << '\n';            // "serial fraction 12% (Amdahl): at most 5.7x on 8 workers"
///   e.write_chrome_trace("run.json");
/// \endcode
///
/// **What is recorded.**  A body call of an executor (a chunk of for_chunks, a task of for_tasks, a
/// chunk of reduce, each side of invoke, and the part of a call run inline before it goes parallel)
/// or a pipeline stage call is one event: {worker, begin, end, label}.  Code of the region outside
/// any such call (the caller's own work between parallel calls) is not an event: it counts as
/// serial time.  A task of a task_group is a "task" event, a task submitted to a blocking_pool a
/// "pool task" event; explain does not know a pool's size: pass it as explain_options::workers.  The recorder is process-wide:
/// trident calls made by other threads while the region runs are recorded too.  Worker 0 is the
/// thread that called explain; other threads get ordinals 1, 2, ... in the order of their first
/// event.  A pipeline run is handed over with its pipeline_stats when it finishes inside the region.
///
/// **Accounting.**  W is the wall time of the region, P the workers (explain_options::workers, by
/// default the current arena's max_concurrency).  Each worker's busy time is the union of its
/// events (a nested call inside a body is not counted twice).  A sweep over all events gives, for
/// every instant, c = the number of busy workers, and whether the instant lies inside a parallel
/// call (a fork-join call of the oneTBB executor or a run_pipeline on more than one thread), and
/// inside a pipeline run whose throughput a stage bounded (pipeline_stats::bound(), !by_threads).
/// With d(c) the time at c busy workers:
///   busy                = sum of c d(c)                = sum of the workers' busy times
///   idle                = P W - busy  (negative when more threads than P were busy)
///   serial_seconds      = time outside parallel calls with c <= 1 (the caller's own code, inline
///                         calls, a seq policy's calls)
///   sequential estimate = busy + time outside parallel calls with c = 0 (the caller's untracked code)
///   serial_fraction f   = serial_seconds / sequential estimate
///   predicted_speedup   = 1 / (f + (1 - f) / min(P, H))                               (Amdahl)
///                         (H: the machine's hardware threads, explain_options::hardware_threads)
///   measured_speedup    = (explain_options::sequential_seconds, else the estimate) / W
/// and the lost worker-time splits into (explain_losses, worker-seconds):
///   serial     = (P - 1) serial_seconds
///   imbalance  = sum of (P - c) d(c) inside parallel calls with 1 <= c < P, and outside them with 1 < c < P
///   scheduling = P x (time inside parallel calls with c = 0: waiting for work to start or hand over),
///                plus busy - sequential_seconds when that is given and smaller than busy
///   pipeline   = sum of (P - c) d(c) inside the runs of stage-bound pipelines (excluded from the others)
///   bandwidth  = with bytes and peak_bytes_per_second: P min(bytes / peak, W) - sequential time, or,
///                from 80% of the peak on, the whole gap P W - sequential time; from 80% on, why()
///                names the bandwidth whatever the other terms (no rearrangement of the work gains
///                more than 1.25x there); below it, a "parallel slowdown" sentence says whether the
///                traffic (50% of the peak or more) can be its cause
/// The idle time splits exactly (d0_out, d1_out: outside parallel calls at c = 0, 1; d0_in: inside
/// them at c = 0): idle = P d0_out + (P - 1) d1_out + imbalance + P d0_in + pipeline - (the
/// oversubscription: sum of (c - P) d(c) over c > P, outside stage-bound pipelines).
///   other_processes = the workers' busy time that other processes took (they waited for a CPU the
///                process did not use): explanation::cpu, see explain/cpu_time.hpp; it is taken
///                out of the slowdown (busy - sequential_seconds) before that counts as scheduling
/// why() first says the machine was busy when explain_options::sequential_cpu_seconds shows that
/// other processes took 10% or more of the sequential reference (the speedup is then too high);
/// it says "near ideal" when measured_speedup >= 0.9 P (adding that the machine was busy when
/// other processes took 10% or more of the workers' time); else, with more workers than hardware
/// threads (P > H), "oversubscribed" (the workers take turns on H threads: at most H x, and their
/// busy times include the turns they wait, so the other terms would mislead); else it names the
/// largest of these terms ("other processes took 35% of the workers' time: the machine was busy;
/// this speedup (1.00x of 2) says little about trident" for other_processes).
///
/// **Requirements.**  One explain at a time in the process; `region` callable with no arguments.
/// **Complexity.**  Outside a region: one relaxed atomic load per body or stage call.  Inside: two
/// clock reads and a push into the thread's own buffer per call (tens of ns), and a reading of
/// the thread's CPU clocks (a couple of microseconds) at most about once a millisecond per
/// thread; the analysis sorts the events, O(E log E).  Memory: 24 bytes per event (plus 40 kept per event with keep_events).
/// **Exceptions.**  std::invalid_argument naming the field and its value for bad options (a
/// negative, NaN or infinite time or byte count, a bandwidth not above zero, negative workers or
/// hardware_threads: explain_options::validate, explain/options.hpp), before the region runs;
/// std::logic_error when an explain region is already recording (nested, or on
/// another thread); whatever `region` throws (recording stopped); write_chrome_trace(path):
/// std::runtime_error naming the path when it cannot be written.

#include "trident/detail/recorder.hpp"
#include "trident/explain/cpu_time.hpp"
#include "trident/explain/options.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/task/pipeline.hpp"

#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <locale>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace trident {

/// One worker's share of the region.
struct worker_activity {
    int worker = 0;           ///< 0: the thread that called explain
    double busy_seconds = 0;  ///< the union of its calls' time
    std::size_t calls = 0;    ///< body and stage calls recorded on it (nested ones included)
    std::optional<double> on_cpu_fraction; ///< of its busy time between CPU readings (explain/cpu_time.hpp)
};

/// One recorded call (or, with the label "parallel call", one parallel call's span on the thread
/// that made it).  Times in seconds from the start of the region.
struct explain_event {
    int worker = 0;
    double begin_seconds = 0;
    double end_seconds = 0;
    std::uint32_t label = 0; ///< index into explanation::labels
};

/// The worker-time (worker-seconds) each reason explains; see the file comment for the formulas.
struct explain_losses {
    double serial = 0;
    double imbalance = 0;
    double scheduling = 0;
    double pipeline = 0;
    double bandwidth = 0;
    double other_processes = 0; ///< explain_cpu::other_processes_seconds (explain/cpu_time.hpp)
};

/// What explain found; see the file comment for how each number is derived.
struct explanation {
    double wall_seconds = 0;
    int workers = 1;
    int hardware_threads = 0; ///< the machine's (0: unknown)
    std::vector<worker_activity> per_worker; ///< by worker ordinal; worker 0 = the explain caller
    double busy_seconds = 0;
    double idle_seconds = 0; ///< workers x wall - busy
    double serial_seconds = 0;
    double serial_fraction = 0;
    double sequential_estimate_seconds = 0;
    double predicted_speedup = 1;
    double measured_speedup = 0;
    double imbalance = 0; ///< losses.imbalance / (workers x wall)
    std::optional<double> overhead_seconds;   ///< busy - sequential_seconds, when given
    std::optional<double> bandwidth_fraction; ///< (bytes / wall) / peak, when both given
    std::optional<double> bytes_per_second;   ///< bytes / wall, when bytes given
    std::optional<double> peak_bytes_per_second;
    std::vector<double> seconds_at_concurrency; ///< [c]: time with c workers busy
    double inside_parallel_seconds = 0;         ///< time inside parallel calls
    explain_losses losses;
    explain_cpu cpu; ///< the workers' CPU time against their busy time (explain/cpu_time.hpp)
    std::vector<pipeline_stats> pipelines; ///< every run_pipeline finished inside the region
    std::size_t event_count = 0;           ///< body and stage calls recorded (spans not included)
    std::vector<explain_event> events;     ///< empty unless explain_options::keep_events
    std::vector<std::string> labels;       ///< event labels: "for_chunks", "task", stage names, ...

    /// The label of an event.
    [[nodiscard]] const std::string& label_of(const explain_event& e) const { return labels.at(e.label); }

    /// Kept events with this label.
    [[nodiscard]] std::size_t count_events(std::string_view label) const
    {
        return static_cast<std::size_t>(
            std::count_if(events.begin(), events.end(), [&](const explain_event& e) { return labels[e.label] == label; }));
    }

    /// One sentence naming the dominant reason for the gap between measured_speedup and workers,
    /// with its numbers ("serial fraction 12% (Amdahl): at most 5.7x on 8 workers").
    [[nodiscard]] std::string why() const;

    /// The events as a Chrome trace: {"traceEvents":[...]} with one complete ("X") event per kept
    /// event (name, cat, ph, ts and dur in microseconds from the region's start, pid, tid = worker)
    /// and thread_name / process_name metadata ("M") events.
    void write_chrome_trace(std::ostream& os) const;
    /// The same into a file.  \throws std::runtime_error naming the path if it cannot be written.
    void write_chrome_trace(const std::string& path) const;

    /// A short table: per worker busy time and calls, then the totals and why().
    friend std::ostream& operator<<(std::ostream& os, const explanation& e);
};

namespace detail {

/// What a recording hands to the analysis (also built by hand in the tests).
struct explain_recording {
    std::vector<std::vector<recorded_event>> per_worker; ///< index = worker ordinal
    std::vector<std::string> labels;
    std::vector<recorded_pipeline> pipelines;
    std::uint64_t begin_ticks = 0, end_ticks = 0; ///< the region
    double wall_seconds = 0;                      ///< the region, by steady_clock
    std::vector<std::vector<cpu_sample>> cpu;     ///< each worker's clock readings (may be empty)
    std::optional<double> process_cpu_seconds;    ///< the process's CPU time over the region
};

inline std::string format_percent(double fraction)
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    const double p = fraction * 100;
    out << std::fixed << std::setprecision(std::abs(p) < 10 && p != 0 ? 1 : 0) << p << '%';
    return out.str();
}

inline std::string format_fixed(double v, int digits)
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out << std::fixed << std::setprecision(digits) << v;
    return out.str();
}

/// The accounting of the file comment, over one recording.
/// \throws std::invalid_argument for bad options (explain_options::validate).
inline explanation analyse(explain_recording rec, const explain_options& options)
{
    options.validate();
    explanation e;
    e.workers = options.workers > 0 ? options.workers : std::max(1, tbb::this_task_arena::max_concurrency());
    const double P = e.workers;
    e.wall_seconds = rec.wall_seconds;
    e.labels = rec.labels;
    const std::uint64_t t0 = rec.begin_ticks;
    const std::uint64_t t1 = std::max(rec.end_ticks, rec.begin_ticks);
    const double per_tick = t1 > t0 ? rec.wall_seconds / static_cast<double>(t1 - t0) : 0.0;
    auto clip = [&](std::uint64_t t) { return std::clamp(t, t0, t1); };
    auto seconds = [&](std::uint64_t t) { return static_cast<double>(clip(t) - t0) * per_tick; };

    // Sweep points: busy edges (+-1 to c), span edges (+-1 to the parallel depth), stage-bound
    // pipeline edges (+-1 to the pipeline depth).
    struct point {
        std::uint64_t t;
        int busy, span, pipe;
    };
    std::vector<point> points;
    e.per_worker.resize(rec.per_worker.size());
    std::vector<worker_cpu> cpu_accounts;
    for (std::size_t w = 0; w < rec.per_worker.size(); ++w) {
        auto& events = rec.per_worker[w];
        worker_activity& act = e.per_worker[w];
        act.worker = static_cast<int>(w);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> calls, spans;
        for (const recorded_event& ev : events) {
            const std::uint64_t b = clip(ev.begin), en = clip(std::max(ev.end, ev.begin));
            if (ev.label == label_parallel_call) {
                spans.emplace_back(b, en);
            } else {
                ++act.calls;
                calls.emplace_back(b, en);
            }
            if (options.keep_events)
                e.events.push_back({static_cast<int>(w), seconds(ev.begin), seconds(std::max(ev.end, ev.begin)), ev.label});
        }
        e.event_count += act.calls;
        // The union of the worker's calls: its busy intervals.
        std::sort(calls.begin(), calls.end());
        std::uint64_t cur_b = 0, cur_e = 0;
        bool open = false;
        tick_intervals busy;
        auto close = [&] {
            if (open && cur_e > cur_b) {
                busy.emplace_back(cur_b, cur_e);
                act.busy_seconds += static_cast<double>(cur_e - cur_b) * per_tick;
                points.push_back({cur_b, +1, 0, 0});
                points.push_back({cur_e, -1, 0, 0});
            }
        };
        for (const auto& [b, en] : calls) {
            if (open && b <= cur_e) {
                cur_e = std::max(cur_e, en);
            } else {
                close();
                cur_b = b;
                cur_e = en;
                open = true;
            }
        }
        close();
        if (w < rec.cpu.size()) {
            cpu_accounts.push_back(account_worker_cpu(busy, rec.cpu[w], per_tick));
            if (cpu_accounts.back().covered > 0)
                act.on_cpu_fraction = cpu_accounts.back().cpu / cpu_accounts.back().covered;
        }
        for (const auto& [b, en] : spans)
            if (en > b) {
                points.push_back({b, 0, +1, 0});
                points.push_back({en, 0, -1, 0});
            }
    }
    struct bound_run {
        std::uint64_t b, e;
        std::size_t index;
    };
    for (std::size_t k = 0; k < rec.pipelines.size(); ++k) {
        const recorded_pipeline& p = rec.pipelines[k];
        const std::uint64_t b = clip(p.begin_ticks), en = clip(std::max(p.end_ticks, p.begin_ticks));
        if (en <= b)
            continue;
        if (p.stats.threads > 1)
            points.push_back({b, 0, +1, 0}), points.push_back({en, 0, -1, 0});
        if (p.stats.threads > 1 && !p.stats.stages.empty() && !p.stats.bound().by_threads)
            points.push_back({b, 0, 0, +1}), points.push_back({en, 0, 0, -1});
    }
    std::sort(points.begin(), points.end(), [](const point& a, const point& b) { return a.t < b.t; });

    double d0_out = 0, d1_out = 0, d0_in = 0, oversubscribed = 0;
    int c = 0, span = 0, pipe = 0;
    std::uint64_t prev = t0;
    auto segment = [&](std::uint64_t until) {
        if (until <= prev)
            return;
        const double dt = static_cast<double>(until - prev) * per_tick;
        prev = until;
        const auto cc = static_cast<std::size_t>(std::max(c, 0));
        if (e.seconds_at_concurrency.size() <= cc)
            e.seconds_at_concurrency.resize(cc + 1, 0.0);
        e.seconds_at_concurrency[cc] += dt;
        const double busy_now = static_cast<double>(cc);
        if (busy_now > P)
            oversubscribed += (busy_now - P) * dt;
        if (span > 0)
            e.inside_parallel_seconds += dt;
        if (pipe > 0) {
            e.losses.pipeline += std::max(0.0, P - busy_now) * dt;
        } else if (span > 0) {
            if (cc == 0)
                d0_in += dt;
            else if (busy_now < P)
                e.losses.imbalance += (P - busy_now) * dt;
        } else if (cc == 0) {
            d0_out += dt;
        } else if (cc == 1) {
            d1_out += dt;
        } else if (busy_now < P) {
            e.losses.imbalance += (P - busy_now) * dt;
        }
    };
    for (const point& p : points) {
        segment(p.t);
        c += p.busy;
        span += p.span;
        pipe += p.pipe;
    }
    segment(t1);

    for (const auto& w : e.per_worker)
        e.busy_seconds += w.busy_seconds;
    e.idle_seconds = P * e.wall_seconds - e.busy_seconds;
    e.serial_seconds = d0_out + d1_out;
    e.sequential_estimate_seconds = e.busy_seconds + d0_out;
    e.serial_fraction = e.sequential_estimate_seconds > 0 ? std::min(1.0, e.serial_seconds / e.sequential_estimate_seconds) : 1.0;
    e.hardware_threads = options.hardware_threads > 0 ? options.hardware_threads
                                                      : static_cast<int>(std::thread::hardware_concurrency());
    const double runnable = e.hardware_threads > 0 ? std::min(P, static_cast<double>(e.hardware_threads)) : P;
    e.predicted_speedup = 1.0 / (e.serial_fraction + (1.0 - e.serial_fraction) / runnable);
    const double reference = options.sequential_seconds.value_or(e.sequential_estimate_seconds);
    e.measured_speedup = e.wall_seconds > 0 ? reference / e.wall_seconds : 0.0;
    e.imbalance = e.wall_seconds > 0 ? e.losses.imbalance / (P * e.wall_seconds) : 0.0;
    e.losses.serial = (P - 1) * e.serial_seconds;
    e.losses.scheduling = P * d0_in;
    e.cpu = account_cpu(cpu_accounts, rec.process_cpu_seconds, e.hardware_threads, e.wall_seconds);
    e.losses.other_processes = e.cpu.other_processes_seconds;
    if (options.sequential_seconds) {
        e.overhead_seconds = e.busy_seconds - *options.sequential_seconds;
        // Busy time that other processes took is theirs, not a slowdown of the work.
        e.losses.scheduling += std::max(0.0, *e.overhead_seconds - e.losses.other_processes);
        if (options.sequential_cpu_seconds)
            e.cpu.sequential_off_cpu_fraction =
                std::max(0.0, 1.0 - *options.sequential_cpu_seconds / *options.sequential_seconds);
    }
    if (options.bytes && e.wall_seconds > 0)
        e.bytes_per_second = *options.bytes / e.wall_seconds;
    e.peak_bytes_per_second = options.peak_bytes_per_second;
    if (e.bytes_per_second && options.peak_bytes_per_second && *options.peak_bytes_per_second > 0) {
        e.bandwidth_fraction = *e.bytes_per_second / *options.peak_bytes_per_second;
        const double gap = std::max(0.0, P * e.wall_seconds - reference);
        const double bound_seconds = std::min(*options.bytes / *options.peak_bytes_per_second, e.wall_seconds);
        e.losses.bandwidth = *e.bandwidth_fraction >= 0.8 ? gap : std::max(0.0, P * bound_seconds - reference);
    }
    (void)oversubscribed; // part of the idle identity of the file comment; not reported on its own
    for (auto& p : rec.pipelines)
        e.pipelines.push_back(std::move(p.stats));
    return e;
}

/// One explain call's recording: starts in the constructor, ends in finish() or the destructor.
class explain_session {
public:
    explain_session()
    {
        recorder& r = recorder::instance();
        {
            const std::lock_guard lock(r.mutex());
            recorded_pipelines().clear();
        }
        if (!r.start())
            throw std::logic_error("trident::explain: another explain region is already recording (the recorder is "
                                   "process-wide: explain regions cannot nest or run at once)");
        clock_ = tick_clock();
    }
    explain_session(const explain_session&) = delete;
    explain_session& operator=(const explain_session&) = delete;
    ~explain_session()
    {
        if (!finished_)
            (void)recorder::instance().stop(); // the region threw: stop recording, drop the events
    }

    explanation finish(const explain_options& options)
    {
        clock_.stop();
        explain_recording rec;
        rec.begin_ticks = clock_.begin_ticks();
        rec.end_ticks = clock_.end_ticks();
        rec.wall_seconds = clock_.wall_seconds();
        recorder& r = recorder::instance();
        recorder::collected c = r.stop();
        finished_ = true;
        rec.per_worker = std::move(c.per_worker);
        rec.cpu = std::move(c.cpu);
        if (c.process_cpu_ns >= 0)
            rec.process_cpu_seconds = static_cast<double>(c.process_cpu_ns) * 1e-9;
        rec.labels = std::move(c.labels);
        {
            const std::lock_guard lock(r.mutex());
            rec.pipelines = std::move(recorded_pipelines());
            recorded_pipelines().clear();
        }
        return analyse(std::move(rec), options);
    }

private:
    tick_clock clock_; // restarted once recording has started
    bool finished_ = false;
};

} // namespace detail

/// Runs `region()` on the calling thread while recording (see the file comment) and explains it.
/// \throws std::invalid_argument naming the field and its value for bad options (checked before
///         region() runs: explain_options::validate); std::logic_error if an explain region is
///         already recording; whatever region() throws (the recording is stopped and dropped first).
template <class F>
explanation explain(F&& region, const explain_options& options = {})
{
    options.validate(); // before the region runs
    detail::explain_session session;
    std::forward<F>(region)();
    return session.finish(options);
}

inline std::string explanation::why() const
{
    using detail::format_fixed;
    using detail::format_percent;
    const double P = workers;
    if (wall_seconds <= 0)
        return "nothing to explain: the region took no measurable time";
    const std::string of_workers = format_fixed(measured_speedup, 2) + "x of " + std::to_string(workers);
    const std::string says_little = "; this speedup (" + of_workers + ") says little about trident";
    // A reference slowed by other processes makes any speedup too high: said first.
    if (cpu.sequential_off_cpu_fraction && *cpu.sequential_off_cpu_fraction >= busy_machine_fraction)
        return detail::other_processes_phrase(cpu, false) + says_little;
    if (measured_speedup >= 0.9 * P) {
        const std::string busy = detail::other_processes_phrase(cpu, false);
        return "near ideal: " + of_workers + (busy.empty() ? "" : ", but " + busy + "; this speedup says little about trident");
    }
    const auto bandwidth_sentence = [this] {
        return "memory bandwidth: " + format_fixed(bytes_per_second.value_or(0) / 1e9, 1) + " GB/s of " +
               format_fixed(peak_bytes_per_second.value_or(0) / 1e9, 1) + " GB/s measured peak (" +
               format_percent(bandwidth_fraction.value_or(0)) + ")";
    };
    if (bandwidth_fraction && *bandwidth_fraction >= 0.8) // the machine's bandwidth binds: nothing else gains more than 1.25x
        return bandwidth_sentence();
    if (hardware_threads > 0 && workers > hardware_threads)
        return "oversubscribed: " + std::to_string(workers) + " workers take turns on " + std::to_string(hardware_threads) +
               " hardware thread" + (hardware_threads == 1 ? "" : "s") + ", so at most " +
               format_fixed(predicted_speedup, 1) + "x (measured " + format_fixed(measured_speedup, 2) + "x)";

    enum class reason { serial_part, uneven_load, overhead, pipeline_stage, memory, other_processes };
    std::pair<reason, double> best{reason::serial_part, losses.serial};
    for (const auto& candidate : {std::pair{reason::uneven_load, losses.imbalance}, std::pair{reason::overhead, losses.scheduling},
                                  std::pair{reason::pipeline_stage, losses.pipeline}, std::pair{reason::memory, losses.bandwidth},
                                  std::pair{reason::other_processes, losses.other_processes}})
        if (candidate.second > best.second)
            best = candidate;

    switch (best.first) {
    case reason::serial_part:
        return "serial fraction " + format_percent(serial_fraction) + " (Amdahl): at most " +
               format_fixed(predicted_speedup, 1) + "x on " + std::to_string(workers) + " worker" + (workers == 1 ? "" : "s");
    case reason::uneven_load:
        return "load imbalance: " + format_percent(imbalance) + " of worker time idle while others worked";
    case reason::overhead:
        if (overhead_seconds && *overhead_seconds > 0 && (!(losses.scheduling > *overhead_seconds * 2))) {
            // With the bandwidth known, say whether it can be the cause (half the peak or more).
            const std::string cause =
                !bandwidth_fraction ? "shared caches and memory bandwidth, or per-call overhead"
                : *bandwidth_fraction >= 0.5
                    ? "memory traffic at " + format_percent(*bandwidth_fraction) +
                          " of the measured peak bandwidth: contention for memory"
                    : "memory traffic only " + format_percent(*bandwidth_fraction) +
                          " of the measured peak bandwidth: shared caches or per-call overhead";
            return "parallel slowdown: the work took " +
                   format_percent(*overhead_seconds / std::max(1e-300, busy_seconds - *overhead_seconds)) +
                   " more busy time than the sequential run (" + cause + ")";
        }
        return "scheduling overhead: " + format_percent(losses.scheduling / (P * wall_seconds)) +
               " of worker time spent waiting for parallel work to start or hand over";
    case reason::memory:
        return bandwidth_sentence();
    case reason::other_processes:
        return detail::other_processes_phrase(cpu, true) + says_little;
    case reason::pipeline_stage: break;
    }
    // The stage-bound pipeline with the largest bound.
    const pipeline_stats* worst = nullptr;
    for (const auto& p : pipelines)
        if (p.threads > 1 && !p.stages.empty() && !p.bound().by_threads && (!worst || p.bound().seconds > worst->bound().seconds))
            worst = &p;
    if (!worst)
        return "pipeline bound by a stage";
    const pipeline_bound b = worst->bound();
    const stage_stats& st = worst->stages[b.stage];
    const double busy = worst->busy_seconds();
    return "pipeline bound by stage '" + st.name + "' (" + st.mode.name() + ", " +
           format_percent(busy > 0 ? st.busy_seconds / busy : 0) + " of the pipeline's busy time): " +
           format_fixed(b.seconds > 0 ? busy / b.seconds : 0, 1) + "x at most";
}

inline std::ostream& operator<<(std::ostream& os, const explanation& e)
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out << std::fixed;
    out << std::left << std::setw(10) << "worker" << std::right << std::setw(12) << "busy [s]" << std::setw(10) << "calls"
        << std::setw(8) << "util" << std::setw(12) << "on CPU" << '\n';
    for (const auto& w : e.per_worker) {
        out << std::left << std::setw(10) << w.worker << std::right << std::setw(12) << std::setprecision(4)
            << w.busy_seconds << std::setw(10) << w.calls << std::setw(7) << std::setprecision(0)
            << (e.wall_seconds > 0 ? w.busy_seconds / e.wall_seconds * 100 : 0) << '%';
        if (w.on_cpu_fraction)
            out << std::setw(11) << *w.on_cpu_fraction * 100 << '%';
        out << '\n';
    }
    out << std::setprecision(4) << "wall " << e.wall_seconds << " s on " << e.workers << " worker"
        << (e.workers == 1 ? "" : "s") << "; busy " << e.busy_seconds << " s, idle " << e.idle_seconds << " s; serial "
        << e.serial_seconds << " s (fraction " << detail::format_percent(e.serial_fraction) << "); imbalance "
        << detail::format_percent(e.imbalance) << "\nspeedup " << std::setprecision(2) << e.measured_speedup
        << "x measured, " << e.predicted_speedup << "x predicted (Amdahl)";
    if (e.bandwidth_fraction)
        out << "; bandwidth " << detail::format_percent(*e.bandwidth_fraction) << " of peak";
    if (!e.pipelines.empty())
        out << "; " << e.pipelines.size() << " pipeline run" << (e.pipelines.size() == 1 ? "" : "s");
    if (e.cpu.measured) {
        out << "\nCPU: the workers ran on a CPU " << detail::format_percent(e.cpu.cpu_seconds / e.cpu.covered_busy_seconds)
            << " of their busy time";
        if (e.cpu.waiting_seconds)
            out << ", waited for one " << detail::format_percent(*e.cpu.waiting_seconds / e.cpu.covered_busy_seconds);
        out << "; other processes took " << detail::format_percent(e.cpu.other_processes_fraction);
    }
    out << "\nwhy: " << e.why() << '\n';
    return os << out.str();
}

} // namespace trident

#include "trident/explain/chrome_trace.hpp" // explanation::write_chrome_trace
