#pragma once
// trident::detail: a pipeline stage's sampled accounting (task/pipeline.hpp).  stage_counter
// counts one stage's calls on one item slot (timing a sample of the short ones, every call while
// a trident::explain region records); stage_total sums a stage's counters over the slots after
// the run and scales the sampled busy time to all calls.

#include "trident/detail/recorder.hpp"
#include "trident/detail/ticks.hpp"

#include <cstdint>

namespace trident::detail {

// Reading the clock twice per call costs about as much as oneTBB's own scheduling of an empty
// stage, so calls that took less than timed_always_ticks (a microsecond or so) are timed one in
// sampled_every, and the busy time is scaled up from the timed calls.  While a trident::explain
// region records (explain/explain.hpp), every call is timed and handed to the recorder as an
// event; otherwise the recorder costs one relaxed load per call.
inline constexpr std::uint64_t timed_always_ticks = 2048;
inline constexpr std::uint64_t sampled_every = 16;

/// One stage's calls made on one item slot.  A slot is held by one thread at a time (the thread
/// running its item), so the counters need no synchronisation of their own: they travel with the
/// item, and a parallel stage's copies never share a counter.
struct stage_counter {
    std::uint64_t busy_ticks = 0;
    std::uint64_t items = 0;
    std::uint64_t timed = 0;
    std::uint64_t last_ticks = 0;

    /// Calls f() and counts the call (timing it when the sampling rule says so), unless f returns
    /// false (the source's last call, which made no item).  While a trident::explain region
    /// records, every call is timed and recorded as an event under `label`.
    template <class F>
    void count(std::uint32_t label, F&& f)
    {
        const bool record = recorder::active();
        if (record || last_ticks >= timed_always_ticks || items % sampled_every == 0) {
            const std::uint64_t t0 = ticks();
            if (f()) {
                last_ticks = ticks() - t0;
                busy_ticks += last_ticks;
                ++timed;
                ++items;
                if (record) [[unlikely]]
                    record_event(label, t0, t0 + last_ticks);
            } else if (record) [[unlikely]] {
                record_event(label, t0, ticks());
            }
        } else if (f()) {
            ++items;
        }
    }
};

/// A stage's counters summed over the slots.
struct stage_total {
    std::uint64_t busy_ticks = 0, items = 0, timed = 0;
    void add(const stage_counter& c) noexcept
    {
        busy_ticks += c.busy_ticks;
        items += c.items;
        timed += c.timed;
    }
    /// The timed calls' ticks, scaled to all calls.
    [[nodiscard]] std::uint64_t scaled_busy_ticks() const noexcept
    {
        return timed == 0 ? 0
                          : static_cast<std::uint64_t>(static_cast<double>(busy_ticks) * static_cast<double>(items) /
                                                       static_cast<double>(timed));
    }
};

} // namespace trident::detail
