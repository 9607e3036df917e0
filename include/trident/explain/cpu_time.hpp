#pragma once
/// \file explain/cpu_time.hpp
/// The part of `trident::explain` that tells a busy machine from a slow program: the workers' CPU
/// time against their busy (wall) time, and the time other processes took from them.
///
/// **What is recorded.**  While a region records, each worker's CPU clock and run-queue delay
/// (detail/thread_clock.hpp: the thread CPU clock, and the kernel's schedstat where it has one)
/// are read when the worker registers (its first event), then at the begin or end of an event
/// when the last reading is at least cpu_sample_ticks old (about a millisecond: a couple of
/// microseconds per reading, so at most a few tenths of a percent), and by the explain caller
/// at the end of the region; the process's CPU time is read at both ends of the region.
///
/// **Accounting** (explanation::cpu, a pure function of the readings and the events).  Between
/// two readings of a worker, with dw the wall time, dc the CPU time, dq the run-queue delay and b
/// its busy time (the union of its calls) in that interval, the CPU time within the busy time is
/// dc b / dw, kept between max(0, dc - (dw - b)) and min(dc, b), and the delay within it likewise
/// (at most b minus that CPU time).  Summed over intervals and workers:
///   covered_busy_seconds = the busy time between readings
///   cpu_seconds          = the CPU time within it; off CPU = covered - cpu (waiting or blocked)
///   waiting_seconds      = the run-queue delay within it (when the kernel reports it)
///   other_processes_seconds = min(waiting (else off CPU), H W - the process's CPU time):
///       the workers waited for a CPU that the process itself did not use (H: hardware threads,
///       W: wall time), so other processes had it
///   other_processes_fraction = other_processes_seconds / covered_busy_seconds
/// and, with explain_options::sequential_cpu_seconds, sequential_off_cpu_fraction = 1 - CPU /
/// wall time of the sequential reference.  The worker-seconds taken by other processes are
/// explain_losses::other_processes; they are not counted as parallel slowdown.  why() names the
/// busy machine when the reference lost busy_machine_fraction (10%) or more of its time, beside a
/// "near ideal" speedup when the workers did, and whenever other processes are the largest loss.
///
/// **Limits.**  Without schedstats (a kernel built without them) a worker that blocks inside a
/// call (sleep, I/O, a lock) is off the CPU too and cannot be told from one that waits for a CPU:
/// the sentence says "(or blocking calls)".  Outside Linux nothing is measured (cpu.measured is
/// false).  The run-queue delay of a thread whose cgroup exhausted its CPU quota counts as
/// waiting.

#include "trident/detail/thread_clock.hpp"

#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <locale>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace trident {

/// The workers' CPU time against their busy time; see the file comment for the formulas.
struct explain_cpu {
    bool measured = false;                     ///< some busy time lay between CPU readings
    double covered_busy_seconds = 0;           ///< busy time between the workers' readings
    double cpu_seconds = 0;                    ///< CPU time within it
    std::optional<double> waiting_seconds;     ///< run-queue delay within it (kernel schedstats)
    std::optional<double> process_cpu_seconds; ///< the whole process's CPU time over the region
    double other_processes_seconds = 0;        ///< worker-seconds other processes took
    double other_processes_fraction = 0;       ///< ... of covered_busy_seconds
    std::optional<double> sequential_off_cpu_fraction; ///< 1 - sequential_cpu_seconds / sequential_seconds
};

/// From this share of the time taken by other processes on, why() says the machine was busy.
inline constexpr double busy_machine_fraction = 0.10;

namespace detail {

/// A worker's busy intervals in ticks: sorted, disjoint (the union of its calls).
using tick_intervals = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

/// One worker's busy time between readings, its CPU time and run-queue delay within it.
struct worker_cpu {
    double covered = 0, cpu = 0, wait = 0;
    bool wait_known = true;
};

inline worker_cpu account_worker_cpu(const tick_intervals& busy, const std::vector<cpu_sample>& samples, double per_tick)
{
    worker_cpu out;
    std::size_t first = 0; // the first busy interval that may overlap the current reading interval
    for (std::size_t k = 1; k < samples.size(); ++k) {
        const cpu_sample& a = samples[k - 1];
        const cpu_sample& b = samples[k];
        if (b.ticks <= a.ticks || b.cpu_ns < a.cpu_ns)
            continue; // out of order (a reading of an exited thread's reused clock, say): skipped
        while (first < busy.size() && busy[first].second <= a.ticks)
            ++first;
        std::uint64_t busy_ticks = 0;
        for (std::size_t i = first; i < busy.size() && busy[i].first < b.ticks; ++i)
            busy_ticks += std::min(busy[i].second, b.ticks) - std::max(busy[i].first, a.ticks);
        if (busy_ticks == 0)
            continue;
        const double dw = static_cast<double>(b.ticks - a.ticks) * per_tick;
        const double in = static_cast<double>(busy_ticks) * per_tick;
        const double out_of_calls = std::max(0.0, dw - in);
        const double share = dw > 0 ? std::min(1.0, in / dw) : 1.0;
        const auto within = [&](double d, double cap) {
            return std::clamp(d * share, std::min(cap, std::max(0.0, d - out_of_calls)), std::min(d, cap));
        };
        const double dc = static_cast<double>(b.cpu_ns - a.cpu_ns) * 1e-9;
        const double cpu = within(dc, in);
        out.covered += in;
        out.cpu += cpu;
        if (a.wait_ns >= 0 && b.wait_ns >= a.wait_ns)
            out.wait += within(static_cast<double>(b.wait_ns - a.wait_ns) * 1e-9, in - cpu);
        else
            out.wait_known = false;
    }
    return out;
}

/// The totals of the file comment from the workers' accounts.
inline explain_cpu account_cpu(const std::vector<worker_cpu>& workers, std::optional<double> process_cpu_seconds,
                               int hardware_threads, double wall_seconds)
{
    explain_cpu c;
    bool wait_known = true;
    double wait = 0;
    for (const worker_cpu& w : workers) {
        if (w.covered <= 0)
            continue;
        c.covered_busy_seconds += w.covered;
        c.cpu_seconds += w.cpu;
        wait += w.wait;
        wait_known = wait_known && w.wait_known;
    }
    c.measured = c.covered_busy_seconds > 0;
    c.process_cpu_seconds = process_cpu_seconds;
    if (!c.measured)
        return c;
    if (wait_known)
        c.waiting_seconds = wait;
    double others = wait_known ? wait : std::max(0.0, c.covered_busy_seconds - c.cpu_seconds);
    if (process_cpu_seconds && hardware_threads > 0)
        others = std::min(others, std::max(0.0, hardware_threads * wall_seconds - *process_cpu_seconds));
    c.other_processes_seconds = others;
    c.other_processes_fraction = others / c.covered_busy_seconds;
    return c;
}

inline std::string percent_of(double fraction)
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out << std::fixed << std::setprecision(0) << fraction * 100 << '%';
    return out.str();
}

/// "other processes took 35% of the workers' time" (with the sequential reference's share when
/// it is busy_machine_fraction or more); empty when neither reaches it and `always` is false.
inline std::string other_processes_phrase(const explain_cpu& c, bool always)
{
    const bool workers = c.measured && (always || c.other_processes_fraction >= busy_machine_fraction);
    const bool reference = c.sequential_off_cpu_fraction && *c.sequential_off_cpu_fraction >= busy_machine_fraction;
    if (!workers && !reference)
        return {};
    std::string s = c.waiting_seconds || !workers ? "other processes took " : "other processes (or blocking calls) took ";
    if (reference)
        s += percent_of(*c.sequential_off_cpu_fraction) + " of the sequential reference's time" + (workers ? " and " : "");
    if (workers)
        s += percent_of(c.other_processes_fraction) + " of the workers' time";
    return s + ": the machine was busy";
}

} // namespace detail
} // namespace trident
