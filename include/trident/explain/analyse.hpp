#pragma once
/// \file explain/analyse.hpp
/// The analysis behind `trident::explain`: detail::analyse(recording, options) -> explanation, a
/// pure function of a recording (detail::explain_recording: the events per worker, the labels,
/// the pipeline runs, the region's ticks and wall time, the CPU readings, the arena's concurrency
/// and the machine's hardware threads as they were when recorded) and the options.  It reads no
/// clock, no arena and no recorder, so that tests can build recordings by hand.  The formulas are
/// in explain/explain.hpp's file comment.
///
/// **Typed events** (detail/event.hpp).  An event on the host (device -1) of category compute,
/// transfer or communication is a call: its worker is busy.  An idle event is recorded waiting
/// (not busy); a parallel_call event is the span of a parallel call.  An event on a device (device
/// >= 0) belongs to that device's timeline (explanation::devices), not to the busy time of the
/// worker that recorded it.  Per category, explanation::seconds_by_category sums the workers'
/// unions of their host events of that category.
///
/// \code
///   trident::detail::explain_recording r;     // one second at one tick per microsecond
///   r.begin_ticks = 0; r.end_ticks = 1'000'000; r.wall_seconds = 1.0;
///   r.labels = {"copy in"};
///   r.per_worker = {{{0, 250'000, 0, trident::detail::host_device, trident::event_category::transfer}}};
///   trident::explain_options o;
///   o.workers = 1;
///   const trident::explanation e = trident::detail::analyse(r, o);  // e.seconds_in(transfer) == 0.25
/// \endcode
///
/// **Complexity.**  O(E log E) for E events.  **Exceptions.**  std::invalid_argument for bad
/// options (explain_options::validate, explain/options.hpp); std::bad_alloc.

#include "trident/detail/event.hpp"
#include "trident/explain/cpu_time.hpp"
#include "trident/explain/explanation.hpp"
#include "trident/explain/options.hpp"
#include "trident/task/detail/pipeline_record.hpp" // recorded_pipeline

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace trident::detail {

/// What a recording hands to the analysis (also built by hand in the tests).
struct explain_recording {
    std::vector<std::vector<recorded_event>> per_worker; ///< index = worker ordinal
    std::vector<std::string> labels;
    std::vector<recorded_pipeline> pipelines;
    std::uint64_t begin_ticks = 0, end_ticks = 0; ///< the region
    double wall_seconds = 0;                      ///< the region, by steady_clock
    std::vector<std::vector<cpu_sample>> cpu;     ///< each worker's clock readings (may be empty)
    std::optional<double> process_cpu_seconds;    ///< the process's CPU time over the region
    /// The workers when explain_options::workers is 0: the arena's max_concurrency at the end of
    /// the region (0: unknown, then the number of workers recorded, at least 1).
    int workers = 0;
    /// The hardware threads when explain_options::hardware_threads is 0 (0: unknown).
    int hardware_threads = 0;
};

/// The union of intervals: sorted, disjoint, none empty (touching ones merged).
inline tick_intervals union_of(tick_intervals spans)
{
    std::sort(spans.begin(), spans.end());
    tick_intervals out;
    for (const auto& [b, en] : spans) {
        if (!out.empty() && b <= out.back().second)
            out.back().second = std::max(out.back().second, en);
        else
            out.emplace_back(b, en);
    }
    std::erase_if(out, [](const auto& i) { return i.second <= i.first; });
    return out;
}

/// The accounting of explain/explain.hpp's file comment, over one recording.
/// \throws std::invalid_argument for bad options (explain_options::validate).
inline explanation analyse(explain_recording rec, const explain_options& options)
{
    options.validate();
    explanation e;
    e.workers = options.workers > 0 ? options.workers
              : rec.workers > 0    ? rec.workers
                                   : std::max(1, static_cast<int>(rec.per_worker.size()));
    const double P = e.workers;
    e.wall_seconds = rec.wall_seconds;
    e.labels = rec.labels;
    const std::uint64_t t0 = rec.begin_ticks;
    const std::uint64_t t1 = std::max(rec.end_ticks, rec.begin_ticks);
    const double per_tick = t1 > t0 ? rec.wall_seconds / static_cast<double>(t1 - t0) : 0.0;
    auto clip = [&](std::uint64_t t) { return std::clamp(t, t0, t1); };
    auto seconds = [&](std::uint64_t t) { return static_cast<double>(clip(t) - t0) * per_tick; };
    auto total_seconds = [&](const tick_intervals& in) {
        double s = 0;
        for (const auto& [b, en] : in)
            s += static_cast<double>(en - b) * per_tick;
        return s;
    };
    const auto is_work = [](event_category c) { return c != event_category::idle && c != event_category::parallel_call; };

    // Sweep points: busy edges (+-1 to c), span edges (+-1 to the parallel depth), stage-bound
    // pipeline edges (+-1 to the pipeline depth).
    struct point {
        std::uint64_t t;
        int busy, span, pipe;
    };
    std::vector<point> points;
    e.per_worker.resize(rec.per_worker.size());
    std::vector<worker_cpu> cpu_accounts;
    struct device_events {
        tick_intervals work;
        std::array<tick_intervals, event_category_count> by_category;
        std::size_t calls = 0;
    };
    std::map<int, device_events> devices;
    for (std::size_t w = 0; w < rec.per_worker.size(); ++w) {
        worker_activity& act = e.per_worker[w];
        act.worker = static_cast<int>(w);
        tick_intervals calls, spans;
        std::array<tick_intervals, event_category_count> by_category;
        for (const recorded_event& ev : rec.per_worker[w]) {
            const std::uint64_t b = clip(ev.begin), en = clip(std::max(ev.end, ev.begin));
            const auto cat = static_cast<std::size_t>(ev.category);
            if (cat >= event_category_count)
                continue; // not a category this analysis knows
            if (options.keep_events)
                e.events.push_back({static_cast<int>(w), seconds(ev.begin), seconds(std::max(ev.end, ev.begin)), ev.label,
                                    ev.device, ev.category});
            if (ev.device >= 0) {
                device_events& d = devices[ev.device];
                d.by_category[cat].emplace_back(b, en);
                if (is_work(ev.category)) {
                    d.work.emplace_back(b, en);
                    ++d.calls;
                }
                continue;
            }
            by_category[cat].emplace_back(b, en);
            if (ev.category == event_category::parallel_call) {
                spans.emplace_back(b, en);
            } else if (is_work(ev.category)) {
                ++act.calls;
                calls.emplace_back(b, en);
            }
        }
        e.event_count += act.calls;
        for (std::size_t k = 0; k < event_category_count; ++k)
            e.seconds_by_category[k] += total_seconds(union_of(std::move(by_category[k])));
        // The union of the worker's calls: its busy intervals.
        const tick_intervals busy = union_of(std::move(calls));
        for (const auto& [b, en] : busy) {
            act.busy_seconds += static_cast<double>(en - b) * per_tick;
            points.push_back({b, +1, 0, 0});
            points.push_back({en, -1, 0, 0});
        }
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
    for (auto& [index, d] : devices) {
        device_activity& act = e.devices.emplace_back();
        act.device = index;
        act.calls = d.calls;
        act.busy_seconds = total_seconds(union_of(std::move(d.work)));
        for (std::size_t k = 0; k < event_category_count; ++k)
            act.seconds_by_category[k] = total_seconds(union_of(std::move(d.by_category[k])));
    }
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
    e.hardware_threads = options.hardware_threads > 0 ? options.hardware_threads : std::max(0, rec.hardware_threads);
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

} // namespace trident::detail
