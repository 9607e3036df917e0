#pragma once
// trident::detail::pipeline_run: what a pipeline run does to its items, whoever drives it.  It
// holds the source and the stages, knows the item types between them (detail/pipeline_chain.hpp)
// and an item's storage (a slot: the item as a variant over those types, and each stage's
// counters, detail/pipeline_accounting.hpp), and offers the steps a driver is made of: describe
// the stages in a pipeline_stats, call the source into a slot, apply stage K to a slot, and sum
// the counters into the statistics at the end.  The drivers derive from it:
// seq_pipeline_run (task/detail/pipeline_seq.hpp, the calling thread, one item at a time) and
// tbb_pipeline_run (task/detail/pipeline_tbb.hpp, tbb::parallel_pipeline).  Nothing here
// includes oneTBB.

#include "trident/detail/pipeline_accounting.hpp"
#include "trident/detail/pipeline_chain.hpp"
#include "trident/detail/recorder.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/task/pipeline_types.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace trident::detail {

template <class Source, class... Stages>
class pipeline_run {
protected:
    using items = typename chain_types<1, type_list<>, typename std::invoke_result_t<Source&>::value_type,
                                       Stages...>::type;
    using value_type = typename slot_value<items>::type;
    static constexpr std::size_t stage_count = sizeof...(Stages);

    // An item's storage, reused by the next item once the last stage released it.
    struct alignas(64) slot {
        value_type value;
        slot* next_free = nullptr;               // slot_pool's link, on the item's first cache line
        stage_counter counters[stage_count + 1]; // the source's, then each stage's
    };

    pipeline_run(pipeline_source<Source>& source, std::tuple<pipeline_stage<Stages>&...> stages)
        : source_(source), stages_(stages)
    {
        std::fill(std::begin(labels_), std::end(labels_), std::uint32_t{label_stage});
    }

    template <std::size_t K>
    pipeline_stage<std::tuple_element_t<K, std::tuple<Stages...>>>& stage_at() const
    {
        return std::get<K>(stages_);
    }

    pipeline_stats make_stats(int threads, std::size_t max_tokens) const
    {
        pipeline_stats stats;
        stats.threads = threads;
        stats.max_tokens = max_tokens;
        stats.stages.resize(stage_count + 1);
        stats.stages[0].name = source_.name;
        stats.stages[0].mode = serial_in_order;
        describe_stages(stats, std::make_index_sequence<stage_count>{});
        return stats;
    }

    template <std::size_t... K>
    void describe_stages(pipeline_stats& stats, std::index_sequence<K...>) const
    {
        ((stats.stages[K + 1].name = stage_at<K>().name.empty() ? "stage " + std::to_string(K + 1) : stage_at<K>().name,
          stats.stages[K + 1].mode = stage_at<K>().mode,
          stats.stages[K + 1].capacity = stage_at<K>().mode.is_serial()
                                             ? 1
                                             : (stage_at<K>().mode.limit() > 0 ? std::min(stage_at<K>().mode.limit(), stats.threads)
                                                                               : stats.threads)),
         ...);
    }

    // What every driver does first: check the stages' modes, describe them in the statistics, and
    // intern their names as recorder labels while a region records.
    pipeline_stats begin_run(int threads, std::size_t max_tokens)
    {
        check_modes(std::make_index_sequence<stage_count>{});
        pipeline_stats stats = make_stats(threads, max_tokens);
        if (recording())
            intern_labels(stats);
        return stats;
    }

    // The stages' names as recorder labels (once per run, only while a region records).
    void intern_labels(const pipeline_stats& stats)
    {
        for (std::size_t k = 0; k <= stage_count; ++k)
            labels_[k] = recorder::instance().intern(stats.stages[k].name);
    }

    // for_each_slot(add) calls add(slot) for every slot the run used.
    template <class ForEachSlot>
    pipeline_stats& finish(pipeline_stats& stats, const tick_clock& clock, bool cancelled,
                           ForEachSlot&& for_each_slot) const
    {
        stats.wall_seconds = clock.wall_seconds();
        stats.cancelled = cancelled;
        for (std::size_t k = 0; k <= stage_count; ++k) {
            stage_total total;
            for_each_slot([&](const slot& s) { total.add(s.counters[k]); });
            auto& st = stats.stages[k];
            st.items = total.items;
            st.busy_seconds = clock.seconds(total.scaled_busy_ticks());
            st.busy_seconds = std::min(st.busy_seconds, stats.wall_seconds * st.capacity); // sampling error
            st.utilisation = stats.wall_seconds > 0 ? st.busy_seconds / (stats.wall_seconds * st.capacity) : 0;
        }
        return stats;
    }

    // Calls the source into `item`; false when it has no more.
    bool produce(slot& item)
    {
        bool made_one = false;
        item.counters[0].count(labels_[0], [&] {
            std::optional<std::variant_alternative_t<1, value_type>> made = source_.fn();
            if (made) {
                item.value.template emplace<1>(std::move(*made));
                made_one = true;
            }
            return made_one;
        });
        return made_one;
    }

    // Stage K (0-based after the source) on one item: its input is the variant's alternative K + 1.
    template <std::size_t K>
    void apply(slot& item)
    {
        auto& st = stage_at<K>();
        auto& input = std::get<K + 1>(item.value);
        // A parallel stage's copies share its function object: they call it as const (the run
        // refused a parallel stage whose function is not const-callable before it started).
        auto call = [&]() -> decltype(auto) {
            if constexpr (const_callable<K>)
                return std::invoke(std::as_const(st.fn), std::move(input));
            else
                return std::invoke(st.fn, std::move(input));
        };
        item.counters[K + 1].count(labels_[K + 1], [&] {
            try {
                if constexpr (K + 1 == stage_count) {
                    call();
                    item.value.template emplace<0>(); // the item's memory is free from here on
                } else {
                    item.value.template emplace<K + 2>(call());
                }
            } catch (...) {
                // Marked before the exception goes on to oneTBB, which cancels the run only once
                // it has caught it: the source checks the mark before each call.
                failed_.store(true);
                throw;
            }
            return true;
        });
    }

    template <std::size_t K>
    static constexpr bool const_callable =
        std::is_invocable_v<const std::tuple_element_t<K, std::tuple<Stages...>>&,
                            std::variant_alternative_t<K + 1, value_type>&&>;

    // A parallel stage must be callable as const; its mode is a run-time value, so this is checked
    // here rather than at compile time.
    template <std::size_t... K>
    void check_modes(std::index_sequence<K...>) const
    {
        auto check = [](const auto& st, bool const_ok, std::size_t position) {
            if (!st.mode.is_serial() && !const_ok)
                throw std::invalid_argument(
                    "trident::run_pipeline: stage " + std::to_string(position) +
                    (st.name.empty() ? std::string() : " ('" + st.name + "')") +
                    " is parallel but its function is not callable as const (a mutable lambda?): parallel "
                    "copies would share its state unsynchronised; make the stage serial or its call operator const");
        };
        (check(stage_at<K>(), const_callable<K>, K + 1), ...);
    }

    pipeline_source<Source>& source_;
    std::tuple<pipeline_stage<Stages>&...> stages_;
    std::atomic<bool> failed_{false}; ///< a stage or the source threw (sequentially consistent)
    std::uint32_t labels_[stage_count + 1] = {}; ///< recorder labels of the source and stages
};

} // namespace trident::detail
