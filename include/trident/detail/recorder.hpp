#pragma once
// The process-wide recorder behind trident::explain (explain/explain.hpp): while an explain()
// region runs, every body call of the executors and every pipeline stage call is recorded as a
// typed event (detail/event.hpp): {begin ticks, end ticks, label, device, category}, in the
// buffer of the thread that ran it (its worker ordinal: a recording's events come per worker).
//
// Callers: `event_scope event(label)` records the enclosing scope as a host event of the label's
// default category (compute; parallel_call for label_parallel_call);
// `event_scope event(label, category, device)` names both (a transfer, a device's kernel, ...);
// record_event(...) does the same for a span the caller timed itself.
//
// Cost when nothing records: one relaxed atomic load per body call (event_scope's constructor)
// and at most one branch in its destructor (the category and device add nothing: they are stored
// only when recording).  While recording: two tick reads, one uncontended atomic
// exchange and a vector push per call, into a buffer of the calling thread's own (registered
// under a mutex on the thread's first event of a recording, never locked per event).
//
// Ordering: events written by a worker inside a parallel call are read by the explain caller
// after the call returned, ordered by the executor's fork/join (and its TSan edges).  Each
// buffer also carries an atomic flag that its writer and the collector take, so that a thread
// outside the region (running trident work of its own while a region records) can never write a
// buffer while the collector reads it: such a late event is dropped.
//
// CPU time (explain/cpu_time.hpp): each buffer also keeps readings of its thread's CPU clock and
// run-queue delay (detail/thread_clock.hpp), taken when the thread registers, at an event's begin
// or end when the last reading is cpu_sample_ticks old or more, and by the collector at stop().

#include "trident/detail/event.hpp"
#include "trident/detail/thread_clock.hpp"
#include "trident/detail/ticks.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace trident::detail {

/// The least ticks() between two CPU readings of a thread (about a millisecond at GHz rates).
inline constexpr std::uint64_t cpu_sample_ticks = std::uint64_t{1} << 21;

/// One thread's events of the current recording.
struct thread_events {
    std::atomic<bool> held{false}; ///< taken by the writer per event and by the collector
    bool open = false;             ///< accepting events (read and written only while held)
    int worker = 0;
    std::vector<recorded_event> events;
    std::vector<cpu_sample> cpu;    ///< readings of the thread's clocks (written while held)
    std::uint64_t last_sample = 0;  ///< ticks of the last reading (the owner thread's alone)
    thread_clock clock;             ///< opened by the owner at registration, closed at stop()

    /// Appends a reading at `now` (while held).
    void sample(std::uint64_t now) noexcept
    {
        cpu_sample s;
        if (clock.read(s)) {
            s.ticks = now;
            try {
                cpu.push_back(s);
            } catch (...) {
            }
        }
    }

    /// At an event's begin, on the owner thread: a reading when the last one is old enough.
    void sample_if_due(std::uint64_t now) noexcept
    {
        if (now < last_sample + cpu_sample_ticks || held.exchange(true, std::memory_order_acquire))
            return;
        if (open) {
            sample(now);
            last_sample = now;
        }
        release();
    }

    void hold() noexcept
    {
        while (held.exchange(true, std::memory_order_acquire)) {
        }
    }
    void release() noexcept { held.store(false, std::memory_order_release); }

    void push(const recorded_event& e) noexcept
    {
        if (held.exchange(true, std::memory_order_acquire))
            return; // the collector has it: the recording is over
        if (open) {
            try {
                events.push_back(e);
            } catch (...) { // out of memory: the event is lost, the program is not
            }
            if (e.end >= last_sample + cpu_sample_ticks) { // (readings stay in time order)
                sample(e.end);
                last_sample = e.end;
            }
        }
        release();
    }
};

/// Set while a region records; at namespace scope (constant-initialised) so that checking it is
/// one relaxed load, with no guard of a function-local static.
inline std::atomic<bool> recorder_active{false};
/// Bumped by every recording's start: a thread's cached buffer belongs to the recording whose
/// generation it names.
inline std::atomic<std::uint64_t> recorder_generation{0};

class recorder {
public:
    static recorder& instance()
    {
        static recorder r;
        return r;
    }

    /// True while a region records: the one check on the path of every body call.
    [[nodiscard]] static bool active() noexcept { return recorder_active.load(std::memory_order_relaxed); }
    [[nodiscard]] static std::uint64_t generation() noexcept
    {
        return recorder_generation.load(std::memory_order_relaxed);
    }

    std::mutex& mutex() noexcept { return mutex_; }

    /// The calling thread's buffer for the current recording, registering the thread (and giving
    /// it the next worker ordinal) on its first event.
    thread_events* this_thread() noexcept
    {
        const std::uint64_t gen = generation();
        if (cache().generation == gen && cache().buffer)
            return cache().buffer;
        try {
            const std::lock_guard lock(mutex_);
            if (!active() || generation() != gen)
                return nullptr;
            return register_locked(gen);
        } catch (...) {
            return nullptr;
        }
    }

    /// A label's index, adding it on first use (under the mutex: once per pipeline run).
    std::uint32_t intern(const std::string& name)
    {
        const std::lock_guard lock(mutex_);
        auto [it, added] = label_ids_.try_emplace(name, static_cast<std::uint32_t>(labels_.size()));
        if (added)
            labels_.push_back(name);
        return it->second;
    }

    /// Starts a recording with the calling thread as worker 0; false when one is already running.
    bool start()
    {
        const std::lock_guard lock(mutex_);
        if (active())
            return false;
        registered_.clear();
        process_cpu_begin_ = process_cpu_ns();
        const std::uint64_t gen = recorder_generation.fetch_add(1, std::memory_order_relaxed) + 1;
        register_locked(gen); // reserves its buffer first: worker 0 (may throw std::bad_alloc)
        recorder_active.store(true, std::memory_order_release);
        return true;
    }

    struct collected {
        std::vector<std::vector<recorded_event>> per_worker; ///< index = worker ordinal
        std::vector<std::vector<cpu_sample>> cpu;            ///< each worker's clock readings
        std::int64_t process_cpu_ns = -1;                    ///< the process's CPU time since start()
        std::vector<std::string> labels;
    };

    /// Ends the recording and takes every registered thread's events.
    collected stop()
    {
        collected out;
        const std::lock_guard lock(mutex_);
        recorder_active.store(false, std::memory_order_release);
        const std::int64_t process_cpu_end = process_cpu_ns();
        if (process_cpu_begin_ >= 0 && process_cpu_end >= process_cpu_begin_)
            out.process_cpu_ns = process_cpu_end - process_cpu_begin_;
        out.per_worker.resize(registered_.size());
        out.cpu.resize(registered_.size());
        for (std::size_t w = 0; w < registered_.size(); ++w) {
            thread_events* b = registered_[w];
            b->hold();
            b->open = false;
            b->sample(ticks()); // the region's end (nothing when the thread has exited)
            b->clock.close();
            out.per_worker[w] = std::move(b->events);
            b->events = {};
            out.cpu[w] = std::move(b->cpu);
            b->cpu = {};
            b->release();
        }
        registered_.clear();
        out.labels = labels_;
        return out;
    }

private:
    struct thread_cache {
        std::uint64_t generation = 0;
        thread_events* buffer = nullptr;
    };

    static thread_cache& cache() noexcept
    {
        thread_local thread_cache c;
        return c;
    }

    // The calling thread's buffer, opened for recording `gen` under the next worker ordinal.
    thread_events* register_locked(std::uint64_t gen)
    {
        thread_cache& c = cache();
        if (!c.buffer) {
            all_.push_back(std::make_unique<thread_events>());
            c.buffer = all_.back().get();
        }
        registered_.reserve(registered_.size() + 1);
        thread_events* b = c.buffer;
        b->hold();
        b->events.clear();
        b->cpu.clear();
        b->open = true;
        b->worker = static_cast<int>(registered_.size());
        b->clock.open();
        b->last_sample = ticks();
        b->sample(b->last_sample);
        b->release();
        registered_.push_back(b);
        c.generation = gen;
        return b;
    }

    recorder() : labels_{"for_chunks", "reduce", "task", "invoke", "stage", "parallel call", "pool task"}
    {
        for (std::uint32_t k = 0; k < labels_.size(); ++k)
            label_ids_.emplace(labels_[k], k);
    }

    std::mutex mutex_;
    std::deque<std::unique_ptr<thread_events>> all_; ///< one per thread that ever recorded, kept
    std::vector<thread_events*> registered_;         ///< this recording's, by worker ordinal
    std::vector<std::string> labels_;
    std::map<std::string, std::uint32_t> label_ids_;
    std::int64_t process_cpu_begin_ = -1;
};

/// Records the enclosing scope as one event when a region records; otherwise one relaxed load.
/// `event_scope e(label)`: a host event of default_category(label) (compute for a body call);
/// `event_scope e(label, category, device)`: a typed one (device: host_device or a CUDA index).
class event_scope {
public:
    explicit event_scope(std::uint32_t label) noexcept
    {
        if (recorder::active()) [[unlikely]]
            start(label, default_category(label), host_device);
    }
    event_scope(std::uint32_t label, event_category category, std::int16_t device = host_device) noexcept
    {
        if (recorder::active()) [[unlikely]]
            start(label, category, device);
    }
    ~event_scope()
    {
        if (buffer_) [[unlikely]]
            buffer_->push({begin_, ticks(), label_, device_, category_});
    }
    event_scope(const event_scope&) = delete;
    event_scope& operator=(const event_scope&) = delete;

private:
    struct opened {
        thread_events* buffer;
        std::uint64_t begin;
    };

    // The recording path.  open() is static and takes no pointer to the scope, so that the scope's
    // address never escapes: on the inactive path the compiler keeps buffer_ (null) in a register
    // and drops the destructor's test (measured: the same code as before typed events).
    static opened open() noexcept
    {
        thread_events* b = recorder::instance().this_thread();
        const std::uint64_t now = ticks();
        if (b)
            b->sample_if_due(now);
        return {b, now};
    }
    void start(std::uint32_t label, event_category category, std::int16_t device) noexcept
    {
        const opened o = open();
        buffer_ = o.buffer;
        begin_ = o.begin;
        label_ = label;
        device_ = device;
        category_ = category;
    }

    thread_events* buffer_ = nullptr;
    std::uint64_t begin_ = 0;
    std::uint32_t label_ = 0;
    std::int16_t device_ = host_device;
    event_category category_ = event_category::compute;
};

/// Records one host event of default_category(label) that the caller timed itself (the
/// pipeline's stage counters).
inline void record_event(std::uint32_t label, std::uint64_t begin, std::uint64_t end) noexcept
{
    if (thread_events* b = recorder::instance().this_thread())
        b->push({begin, end, label});
}

/// Records one typed event that the caller timed itself (a transfer, a device's kernel timed by
/// the host thread that launched it: device is its CUDA index).
inline void record_event(std::uint32_t label, event_category category, std::int16_t device, std::uint64_t begin,
                         std::uint64_t end) noexcept
{
    if (thread_events* b = recorder::instance().this_thread())
        b->push({begin, end, label, device, category});
}

/// Whether a region records (for the pipeline's one-per-run work: interning stage names).
inline bool recording() noexcept { return recorder::active(); }

} // namespace trident::detail
