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
/// or a pipeline stage call is one event: {worker, begin, end, label, device, category} (a typed
/// event, detail/event.hpp: the executors' body calls are host events of category compute, a
/// parallel call's span is a parallel_call event; detail::event_scope(label, category, device)
/// also records transfer, communication and idle events, and events on a device, which belong to
/// that device's timeline, explanation::devices).  Code of the region outside
/// any such call (the caller's own work between parallel calls) is not an event: it counts as
/// serial time.  A task of a task_group is a "task" event, a task submitted to a blocking_pool a
/// "pool task" event; explain does not know a pool's size: pass it as explain_options::workers.  The recorder is process-wide:
/// trident calls made by other threads while the region runs are recorded too.  Worker 0 is the
/// thread that called explain; other threads get ordinals 1, 2, ... in the order of their first
/// event.  A pipeline run is handed over with its pipeline_stats when it finishes inside the region.
///
/// **Accounting.**  W is the wall time of the region, P the workers (explain_options::workers, by
/// default the current arena's max_concurrency at the end of the region).  Each worker's busy time
/// is the union of its host events of category compute, transfer and communication (a nested call
/// inside a body is not counted twice; idle events and device events are not busy time; the
/// time per category is explanation::seconds_by_category, per device explanation::devices).  A sweep over all events gives, for
/// every instant, c = the number of busy workers, and whether the instant lies inside a parallel
/// call (a fork-join call of the oneTBB executor, recorded as a parallel_call event, or a
/// run_pipeline on more than one thread), and
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
///
/// **Files.**  This header includes the whole facility: explain/explanation.hpp (the result's
/// types), explain/options.hpp, explain/analyse.hpp (detail::analyse, the accounting as a pure
/// function of a recording), explain/cpu_time.hpp, explain/report.hpp (why() and the table),
/// explain/chrome_trace.hpp (the trace writer); the recorder is detail/recorder.hpp.

#include "trident/detail/recorder.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/explain/analyse.hpp"
#include "trident/explain/chrome_trace.hpp"
#include "trident/explain/cpu_time.hpp"
#include "trident/explain/explanation.hpp"
#include "trident/explain/options.hpp"
#include "trident/explain/report.hpp"
#include "trident/task/detail/pipeline_record.hpp" // recorded_pipelines()

#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace trident {
namespace detail {

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
        // What the analysis would otherwise read from the process: recorded with the events.
        rec.workers = std::max(1, tbb::this_task_arena::max_concurrency());
        rec.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
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

} // namespace trident
