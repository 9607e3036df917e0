#pragma once
/// \file task/pipeline.hpp
/// `trident::run_pipeline`: a typed pipeline whose items overlap in their stages.
///
/// A pipeline is a source followed by stages.  The source makes items one at a time until it
/// says "no more"; each item then flows through the stages in order, and different items are in
/// different stages at once (Load of batch 3 beside Clean of batch 2 beside Extract of batch 1).
///
/// \code
///   std::size_t next = 0;
///   trident::pipeline_stats stats = trident::run_pipeline(trident::par,
///       trident::source("load", [&]() -> std::optional<Batch> {
///           if (next == batches) return std::nullopt;          // no more
///           return load(next++);
///       }),
///       trident::stage("clean", trident::serial_in_order, [](Batch b) { return clean(std::move(b)); }),
///       trident::stage("extract", trident::parallel_out_of_order, [](const Batch& b) { return features(b); }),
///       trident::stage("train", trident::parallel_out_of_order.limit(3), [&](Features f) { return train(f); }),
///       trident::stage("eval", trident::serial_in_order, [&](Model m) { report(m); }));
///   std::cout << stats;                                        // per-stage table
/// \endcode
///
/// **Types.**  The source returns `std::optional<T0>`; `std::nullopt` ends the input.  Stage k
/// takes the previous stage's output type (by value, `const&` or `&&`) and returns its own; the
/// last stage returns `void` (it consumes the items).  A stage whose input type is not the output
/// type of the stage before it is a compile-time error naming the stage's position and both types.
///
/// **Stage modes.**
/// | mode                              | at once            | order of items                 |
/// |-----------------------------------|--------------------|--------------------------------|
/// | `serial_in_order`                 | one item           | the order the source made them |
/// | `serial_out_of_order`             | one item           | any                            |
/// | `parallel_out_of_order`           | as many as threads | any                            |
/// | `parallel_out_of_order.limit(k)`  | at most k items    | any                            |
/// (`trident::parallel`, its old name, is kept deprecated for one release.)
/// A serial stage's function may keep state (a `mutable` lambda, say): it is never called by two
/// threads at once.  A parallel stage's function is, so it must be callable as `const`.
///
/// **Tokens.**  At most `pipeline_options::max_tokens` items are alive at once (made by the source
/// and not yet through the last stage): the source waits when the bound is reached, so memory stays
/// bounded whatever the source could produce.  The default is four per thread.  Any bound is
/// accepted and none is allocated up front: an item's storage is made when the item enters and
/// reused once it leaves, so a run holds storage for the most items it had in flight at once, never
/// for the bound (2^40 tokens for a 3-item run cost three items' storage).
///
/// **Policies.**  `trident::par` (with `threads(n)` or `on(cores)`) runs on oneTBB
/// (`tbb::parallel_pipeline`); `trident::seq` runs every item through every stage on the calling
/// thread, one item at a time, in source order (for debugging); `trident::automatic` is `par`.
/// GPU work goes into a stage of its own (`trident::gpu_stage`, in .cu files).
///
/// **Exceptions and cancellation.**  When a stage throws, the source is not called again, the items
/// in flight are dropped (destroyed, never leaked) and the first exception reaches the caller.
/// Precisely, under `par`: the run is marked failed as the exception leaves the stage function,
/// before oneTBB (which cancels the run only once the exception has reached its scheduler) sees
/// it, and every call of the source first reads the mark (both sequentially consistent atomics),
/// so no call of the source starts after the exception has left the stage function: none whose
/// start that exit happens before, and none that starts later in time.  A call that had already
/// started (the source runs beside the stages, on another thread) finishes, and its item is dropped
/// with the others.  The same holds when the source throws.  Under `seq` nothing runs after the
/// throw.
/// `pipeline_options::stop` (a `std::stop_token`) stops a run from outside: the source is not
/// called again, the items in flight are dropped, and the call returns normally with
/// `pipeline_stats::cancelled` set.
///
/// **Statistics.**  The call returns, per stage, the items that went through it, its busy time
/// (time inside the stage function), its utilisation and which stage or resource bounded the
/// throughput (see pipeline_stats).
///
/// **Complexity and cost.**  On top of the stage functions, a constant cost per item and stage,
/// close to a raw tbb::parallel_pipeline with the same stages (benchmarks/bench_pipeline.cpp,
/// rows pipeline_overhead*; the figures are in benchmarks/results/); with several threads the
/// hand-offs between them dominate for both.  A `parallel_out_of_order.limit(k)` stage holds a
/// thread while an item waits for one of its k places (the thread does not steal other work
/// meanwhile).
///
/// **Files.**  This header holds run_pipeline and includes the rest: the public values (stage
/// modes, source(), stage(), pipeline_options, pipeline_stats) are in task/pipeline_types.hpp,
/// which includes no oneTBB header; the private parts are detail/pipeline_chain.hpp (the item
/// types between stages and their compile-time checks), detail/pipeline_accounting.hpp (sampled
/// busy time per stage), task/detail/pipeline_run.hpp (what a run does to an item, whoever drives
/// it), task/detail/pipeline_seq.hpp (the `seq` runner), task/detail/pipeline_tbb.hpp (the oneTBB
/// driver) and task/detail/pipeline_record.hpp (the hand-off to trident::explain).

#include "trident/detail/pipeline_chain.hpp"
#include "trident/policy.hpp"
#include "trident/task/detail/pipeline_record.hpp"
#include "trident/task/detail/pipeline_run.hpp"
#include "trident/task/detail/pipeline_seq.hpp"
#include "trident/task/detail/pipeline_tbb.hpp"
#include "trident/task/pipeline_types.hpp"

#include <optional>
#include <tuple>
#include <type_traits>

namespace trident {

namespace detail {

template <class Policy, class Source, class... Stages>
pipeline_stats run_pipeline_impl(const Policy& policy, const pipeline_options& options,
                                 pipeline_source<Source>& source, pipeline_stage<Stages>&... stages)
{
    constexpr bool known_policy = is_cpu_policy_v<Policy> || is_automatic_policy_v<Policy>;
    static_assert(known_policy,
                  "trident::run_pipeline: the policy must be trident::seq, trident::par (with options) or "
                  "trident::automatic; GPU work goes into a stage of its own (trident::gpu_stage), and a "
                  "policy of your own (trident::executor_of) runs the data algorithms only");
    static_assert(sizeof...(Stages) >= 1,
                  "trident::run_pipeline: a pipeline needs a source and at least one stage (the last stage "
                  "consumes the items)");
    static_assert(std::is_invocable_v<Source&>, "trident::run_pipeline: the source must be callable with no arguments");
    if constexpr (std::is_invocable_v<Source&>) {
        using made = std::remove_cvref_t<std::invoke_result_t<Source&>>;
        static_assert(is_optional<made>::value,
                      "trident::run_pipeline: the source must return std::optional<T> (std::nullopt when there "
                      "is nothing more)");
        if constexpr (is_optional<made>::value && known_policy) {
            const std::tuple<pipeline_stage<Stages>&...> chain(stages...);
            if constexpr (std::is_same_v<Policy, seq_policy>)
                return seq_pipeline_run<Source, Stages...>(source, chain).run(options);
            else if constexpr (std::is_same_v<Policy, automatic_policy>)
                return tbb_pipeline_run<Source, Stages...>(source, chain).run(policy.cpu_part(), options);
            else
                return tbb_pipeline_run<Source, Stages...>(source, chain).run(policy, options);
        }
    }
    return {};
}

} // namespace detail

/// Runs a pipeline: `source`, then `stages...` in order (see the file comment), under `policy`
/// (`seq`, `par` with options, or `automatic`), with `options` (token bound, stop token).
/// \returns the run's statistics.
/// \throws  std::invalid_argument for a stage limit below 1 (when the mode is made); whatever a
///          stage function throws (the first one), after the items in flight were dropped.
template <class Policy, class Source, class... Stages>
    requires execution_policy<Policy>
pipeline_stats run_pipeline(const Policy& policy, const pipeline_options& options, pipeline_source<Source> source,
                            pipeline_stage<Stages>... stages)
{
    return detail::run_pipeline_impl(policy, options, source, stages...);
}

/// run_pipeline with the default options: four tokens per thread, no stop token.
template <class Policy, class Source, class... Stages>
    requires execution_policy<Policy>
pipeline_stats run_pipeline(const Policy& policy, pipeline_source<Source> source, pipeline_stage<Stages>... stages)
{
    return detail::run_pipeline_impl(policy, pipeline_options{}, source, stages...);
}

} // namespace trident
