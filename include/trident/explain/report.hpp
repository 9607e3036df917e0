#pragma once
/// \file explain/report.hpp
/// The words of `trident::explain`: explanation::why() (one sentence naming the dominant reason
/// why the speedup falls short of the worker count, with its numbers) and operator<< (a short
/// table: per worker busy time, calls and on-CPU share, then the totals and why()).  Which reason
/// why() names, and in what order it looks, is in explain/explain.hpp's file comment.
///
/// \code
///   std::cout << e;                 // the table
///   std::cout << e.why() << '\n';   // "serial fraction 12% (Amdahl): at most 5.7x on 8 workers"
/// \endcode
///
/// **Complexity.**  why(): O(pipeline runs); operator<<: O(workers).  Numbers are written in the
/// classic locale whatever the stream's.  **Exceptions.**  std::bad_alloc.

#include "trident/explain/cpu_time.hpp"
#include "trident/explain/explanation.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <locale>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>

namespace trident {
namespace detail {

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

} // namespace detail

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
    for (const auto& d : e.devices)
        out << "\ndevice " << d.device << ": busy " << std::setprecision(4) << d.busy_seconds << " s in " << d.calls
            << " call" << (d.calls == 1 ? "" : "s");
    out << "\nwhy: " << e.why() << '\n';
    return os << out.str();
}

} // namespace trident
