#pragma once
// trident::detail::seq_pipeline_run: a pipeline under trident::seq.  Every item goes through every
// stage on the calling thread, one item at a time, in source order, in one slot reused by each
// item; a stop request is honoured between stages (the item in hand is dropped).

#include "trident/detail/recorder.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/task/detail/pipeline_record.hpp"
#include "trident/task/detail/pipeline_run.hpp"
#include "trident/task/pipeline_types.hpp"

#include <cstddef>
#include <stop_token>
#include <tuple>
#include <utility>

namespace trident::detail {

template <class Source, class... Stages>
class seq_pipeline_run : private pipeline_run<Source, Stages...> {
    using base = pipeline_run<Source, Stages...>;
    using typename base::slot;
    using base::stage_count;

public:
    seq_pipeline_run(pipeline_source<Source>& source, std::tuple<pipeline_stage<Stages>&...> stages)
        : base(source, stages)
    {
    }

    pipeline_stats run(const pipeline_options& options)
    {
        pipeline_stats stats = this->begin_run(1, 1);
        slot item;
        tick_clock clock;
        bool cancelled = false;
        while (true) {
            if (options.stop.stop_requested()) {
                cancelled = true;
                break;
            }
            if (!this->produce(item))
                break;
            if (!seq_stages(item, options.stop, std::make_index_sequence<stage_count>{})) {
                cancelled = true;
                break;
            }
        }
        clock.stop();
        this->finish(stats, clock, cancelled, [&](auto&& add) { add(item); });
        if (recording())
            record_pipeline(stats, clock);
        return stats;
    }

private:
    template <std::size_t... K>
    bool seq_stages(slot& item, const std::stop_token& stop, std::index_sequence<K...>)
    {
        // Stops between stages when asked to; the item is dropped.
        return ((stop.stop_requested() ? false : (this->template apply<K>(item), true)) && ...);
    }
};

} // namespace trident::detail
