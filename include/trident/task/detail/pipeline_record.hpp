#pragma once
// trident::detail: a pipeline run's hand-off to trident::explain.  A run that finishes while an
// explain region records (detail::recording()) appends its statistics and its span in ticks() to
// recorded_pipelines(); explain/explain.hpp takes them when the region ends.

#include "trident/detail/recorder.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/task/pipeline_types.hpp"

#include <cstdint>
#include <mutex>
#include <vector>

namespace trident::detail {

/// A finished run's statistics and its span in ticks(), kept while an explain region records.
struct recorded_pipeline {
    pipeline_stats stats;
    std::uint64_t begin_ticks = 0;
    std::uint64_t end_ticks = 0;
};

/// The runs recorded in the current region; guarded by recorder::instance().mutex().
inline std::vector<recorded_pipeline>& recorded_pipelines()
{
    static std::vector<recorded_pipeline> runs;
    return runs;
}

/// Hands a finished run to the recorder (called only while recording()).
inline void record_pipeline(const pipeline_stats& stats, const tick_clock& clock) noexcept
{
    try {
        const std::lock_guard lock(recorder::instance().mutex());
        if (recorder::active())
            recorded_pipelines().push_back({stats, clock.begin_ticks(), clock.end_ticks()});
    } catch (...) { // out of memory: the explanation lacks this run's statistics
    }
}

} // namespace trident::detail
