#pragma once
// trident::detail::tbb_pipeline_run: a pipeline under trident::par (and automatic) on oneTBB.  The
// source and the stages become the filters of one tbb::parallel_pipeline, run in the policy's
// arena (detail::arena_for); the filters pass pointers to item slots (detail::slot_pool: made
// as items enter, reused once the last stage is done with them), and a parallel_out_of_order.limit(k) stage
// runs behind a stage_gate.  ThreadSanitizer is told of oneTBB's hand-offs (detail/tsan.hpp).

#include "trident/thread_arena.hpp"
#include "trident/detail/arena_cache.hpp"
#include "trident/detail/recorder.hpp"
#include "trident/detail/slot_pool.hpp"
#include "trident/detail/ticks.hpp"
#include "trident/detail/tsan.hpp"
#include "trident/policy.hpp"
#include "trident/task/detail/pipeline_record.hpp"
#include "trident/task/detail/pipeline_run.hpp"
#include "trident/task/pipeline_types.hpp"

#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <cstddef>
#include <memory>
#include <semaphore>
#include <stop_token>
#include <tuple>
#include <utility>

namespace trident::detail {

/// A counting semaphore for parallel_out_of_order.limit(k), waited on in isolation: a thread waiting for a
/// place takes no other oneTBB task meanwhile, so it cannot end up holding one place while waiting
/// for another.
class stage_gate {
public:
    explicit stage_gate(int places) : places_(places) {}
    template <class F>
    decltype(auto) run(F&& f)
    {
        places_.acquire();
        struct release_on_exit {
            std::counting_semaphore<>& s;
            ~release_on_exit() { s.release(); }
        } release{places_};
        return tbb::this_task_arena::isolate(std::forward<F>(f));
    }

private:
    std::counting_semaphore<> places_;
};

// For ThreadSanitizer only: the caller releases it after building the filters, and every filter
// body acquires it before reading its own captures (which the caller wrote).
inline char pipeline_tsan_anchor = 0;

template <class Source, class... Stages>
class tbb_pipeline_run : private pipeline_run<Source, Stages...> {
    using base = pipeline_run<Source, Stages...>;
    using typename base::slot;
    using base::stage_count;

public:
    tbb_pipeline_run(pipeline_source<Source>& source, std::tuple<pipeline_stage<Stages>&...> stages)
        : base(source, stages)
    {
    }

    pipeline_stats run(const par_policy& policy, const pipeline_options& options)
    {
        const std::shared_ptr<thread_arena> cores = arena_for(policy); // held until the run ends
        const int threads = cores ? cores->concurrency() : tbb::this_task_arena::max_concurrency();
        const std::size_t max_tokens =
            options.max_tokens > 0 ? options.max_tokens : static_cast<std::size_t>(threads) * 4;
        pipeline_stats stats = this->begin_run(threads, max_tokens);

        make_gates(std::make_index_sequence<stage_count>{});

        tbb::task_group_context context;
        const std::stop_callback on_stop(options.stop, [&context] { context.cancel_group_execution(); });
        const auto chain = filters(options.stop, std::make_index_sequence<stage_count>{});

        tsan_fork_join edges;
        edges_ = &edges;
        struct join_on_exit {
            tsan_fork_join& edges;
            ~join_on_exit() { edges.join(); }
        } joined{edges};
        edges.fork();
        tsan_release(&pipeline_tsan_anchor);
        tick_clock clock;
        auto drive = [&] { tbb::parallel_pipeline(max_tokens, chain, context); };
        if (cores)
            cores->execute(drive);
        else
            drive();
        clock.stop();
        edges.join(); // before reading the slots' counters (again on exit, for the throwing path)
        this->finish(stats, clock, context.is_group_execution_cancelled(),
                     [&](auto&& add) { slots_.for_each(add); });
        if (recording())
            record_pipeline(stats, clock);
        return stats;
    }

private:
    template <std::size_t... K>
    void make_gates(std::index_sequence<K...>)
    {
        ((this->template stage_at<K>().mode.is_serial() || this->template stage_at<K>().mode.limit() == 0
              ? void()
              : void(gates_[K] = std::make_unique<stage_gate>(this->template stage_at<K>().mode.limit()))),
         ...);
    }

    static constexpr tbb::filter_mode tbb_mode(stage_mode m)
    {
        switch (m.mode()) {
        case stage_mode::kind::serial_in_order: return tbb::filter_mode::serial_in_order;
        case stage_mode::kind::serial_out_of_order: return tbb::filter_mode::serial_out_of_order;
        case stage_mode::kind::parallel: break;
        }
        return tbb::filter_mode::parallel;
    }

    // Happens-before edges for ThreadSanitizer along an item's path and a serial stage's calls
    // (oneTBB's own synchronisation is invisible to it; see detail/tsan.hpp).
    struct tsan_item_scope {
        tsan_item_scope(slot* item, const void* serial_stage) : item(item), serial_stage(serial_stage)
        {
            if (item)
                tsan_acquire(item);
            if (serial_stage)
                tsan_acquire(serial_stage);
        }
        ~tsan_item_scope()
        {
            if (serial_stage)
                tsan_release(serial_stage);
            if (item)
                tsan_release(item);
        }
        slot* item;
        const void* serial_stage;
    };

    auto source_filter(const std::stop_token& stop)
    {
        return tbb::make_filter<void, slot*>(tbb::filter_mode::serial_in_order, [this, stop](tbb::flow_control& fc) -> slot* {
            tsan_acquire(&pipeline_tsan_anchor); // before reading this lambda's captures
            const tsan_fork_join::body_scope body(*edges_);
            const tsan_item_scope serial(nullptr, &this->source_);
            // A stage that threw marked the run failed before its exception left trident's frame
            // (see apply); oneTBB may still call this filter until the exception reaches it.
            if (this->failed_.load() || stop.stop_requested()) {
                fc.stop();
                return nullptr;
            }
            slot* item = slots_.acquire(); // a freed slot, or a new one: never more than items in flight
            const tsan_item_scope scope(item, nullptr);
            bool made = false;
            try {
                made = this->produce(*item);
            } catch (...) {
                this->failed_.store(true); // the pool destroys the slot at the end of the run
                throw;
            }
            if (!made) {
                slots_.release(item);
                fc.stop();
                return nullptr;
            }
            return item;
        });
    }

    template <std::size_t K>
    auto stage_filter()
    {
        auto& st = this->template stage_at<K>();
        constexpr bool last = K + 1 == stage_count;
        auto body = [this, &st](slot* item) {
            tsan_acquire(&pipeline_tsan_anchor); // before reading this lambda's captures
            const tsan_fork_join::body_scope body(*edges_);
            const tsan_item_scope scope(item, st.mode.is_serial() ? static_cast<const void*>(&st) : nullptr);
            if (stage_gate* gate = gates_[K].get())
                gate->run([&] { this->template apply<K>(*item); });
            else
                this->template apply<K>(*item);
            if constexpr (last)
                slots_.release(item); // the source may reuse it
        };
        if constexpr (last) {
            return tbb::make_filter<slot*, void>(tbb_mode(st.mode), body);
        } else {
            return tbb::make_filter<slot*, slot*>(tbb_mode(st.mode), [body](slot* item) -> slot* {
                body(item);
                return item;
            });
        }
    }

    template <std::size_t... K>
    tbb::filter<void, void> filters(const std::stop_token& stop, std::index_sequence<K...>)
    {
        return (source_filter(stop) & ... & stage_filter<K>());
    }

    std::unique_ptr<stage_gate> gates_[stage_count];
    slot_pool<slot> slots_;
    tsan_fork_join* edges_ = nullptr;
};

} // namespace trident::detail
