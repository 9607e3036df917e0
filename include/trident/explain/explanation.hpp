#pragma once
/// \file explain/explanation.hpp
/// `trident::explanation`: what `trident::explain` (explain/explain.hpp) found, and its parts:
/// per worker and per device activity, the recorded events, the lost worker-time by reason.
/// How each number is derived is in explain/explain.hpp's file comment; explanation::why() and
/// the table (operator<<) are defined in explain/report.hpp, write_chrome_trace in
/// explain/chrome_trace.hpp (explain/explain.hpp includes both).
///
/// \code
///   const trident::explanation e = trident::explain([&] { ... });
///   for (const trident::worker_activity& w : e.per_worker)
///       std::cout << w.worker << ' ' << w.busy_seconds << '\n';
///   std::cout << e.seconds_in(trident::event_category::transfer) << " s moving data\n";
/// \endcode
///
/// **Complexity.**  label_of and seconds_in O(1), count_events O(events).  **Exceptions.**
/// label_of: std::out_of_range for a label not in labels.

#include "trident/detail/event.hpp"
#include "trident/explain/cpu_time.hpp"
#include "trident/task/pipeline_types.hpp" // pipeline_stats

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace trident {

/// What kind of time an event is: compute, transfer, communication, idle, or parallel_call (the
/// span of a parallel call, not work).  See detail/event.hpp.
using event_category = detail::event_category;

/// Per-category seconds, indexed by static_cast<std::size_t>(event_category).
using category_seconds = std::array<double, detail::event_category_count>;

/// One worker's share of the region (its host events; events on a device are in explanation::devices).
struct worker_activity {
    int worker = 0;           ///< 0: the thread that called explain
    double busy_seconds = 0;  ///< the union of its calls' time
    std::size_t calls = 0;    ///< body and stage calls recorded on it (nested ones included)
    std::optional<double> on_cpu_fraction; ///< of its busy time between CPU readings (explain/cpu_time.hpp)
};

/// One device's share of the region: its events (recorded by whichever host thread timed them).
struct device_activity {
    int device = 0;           ///< the CUDA device index
    double busy_seconds = 0;  ///< the union of its compute, transfer and communication events' time
    std::size_t calls = 0;    ///< those events (idle ones not included)
    category_seconds seconds_by_category{}; ///< per category, the union of its events of that category
};

/// One recorded event (or, with the category parallel_call and the label "parallel call", one
/// parallel call's span on the thread that made it).  Times in seconds from the start of the region.
struct explain_event {
    int worker = 0;
    double begin_seconds = 0;
    double end_seconds = 0;
    std::uint32_t label = 0; ///< index into explanation::labels
    int device = detail::host_device;           ///< -1: the host; else a CUDA device index
    event_category category = event_category::compute;
};

/// The worker-time (worker-seconds) each reason explains; see explain/explain.hpp for the formulas.
struct explain_losses {
    double serial = 0;
    double imbalance = 0;
    double scheduling = 0;
    double pipeline = 0;
    double bandwidth = 0;
    double other_processes = 0; ///< explain_cpu::other_processes_seconds (explain/cpu_time.hpp)
};

/// What explain found; see explain/explain.hpp's file comment for how each number is derived.
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
    std::size_t event_count = 0;           ///< the workers' body and stage calls (spans, idle and device events not included)
    /// The workers' (host) time per category: per worker the union of its host events of that
    /// category (a nested call of the same category is not counted twice), summed over workers.
    /// Categories may overlap (a transfer inside a compute call counts in both).
    category_seconds seconds_by_category{};
    std::vector<device_activity> devices;  ///< devices with recorded events, by device index
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

    /// The workers' (host) seconds in events of category c (seconds_by_category).
    [[nodiscard]] double seconds_in(event_category c) const { return seconds_by_category[static_cast<std::size_t>(c)]; }

    /// One sentence naming the dominant reason for the gap between measured_speedup and workers,
    /// with its numbers ("serial fraction 12% (Amdahl): at most 5.7x on 8 workers").
    [[nodiscard]] std::string why() const;

    /// The events as a Chrome trace: {"traceEvents":[...]} with one complete ("X") event per kept
    /// event (name, cat = the category's name, ph, ts and dur in microseconds from the region's
    /// start, pid = 1 on the host or 2 + the device index, tid = worker) and thread_name /
    /// process_name metadata ("M") events.
    void write_chrome_trace(std::ostream& os) const;
    /// The same into a file.  \throws std::runtime_error naming the path if it cannot be written.
    void write_chrome_trace(const std::string& path) const;

    /// A short table: per worker busy time and calls, then the totals and why().
    friend std::ostream& operator<<(std::ostream& os, const explanation& e);
};

} // namespace trident
