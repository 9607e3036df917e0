#pragma once
/// \file task/pipeline_types.hpp
/// The public values of a pipeline: stage modes (`trident::serial_in_order`,
/// `trident::serial_out_of_order`, `trident::parallel_out_of_order` and `parallel.limit(k)`), the stage
/// descriptions made by `trident::source()` and `trident::stage()`, `trident::pipeline_options`,
/// and the statistics a run returns (`trident::pipeline_stats`, `trident::stage_stats`,
/// `trident::pipeline_bound`) with their printed table.
///
/// `trident::run_pipeline` itself, and the rules a pipeline follows (types, modes, tokens,
/// exceptions, cancellation, cost), are in task/pipeline.hpp, which includes this header.  This
/// one includes only standard headers (no oneTBB, nothing of trident's), so code that only
/// describes stages or reads statistics can include it alone:
///
/// \code
///   #include "trident/task/pipeline_types.hpp"
///
///   void report(const trident::pipeline_stats& stats) {
///       std::cout << stats;                                     // the per-stage table
///       const trident::pipeline_bound b = stats.bound();
///       if (!b.by_threads)
///           std::cout << "bottleneck: " << stats.stages[b.stage].name << '\n';
///   }
/// \endcode
///
/// Every function here is O(1) except `pipeline_stats::bound()`, `busy_seconds()`,
/// `efficiency()` and the printing, which are linear in the number of stages.

#include <algorithm>
#include <cstddef>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident {

// ---- stage modes ------------------------------------------------------------------------------

/// How a stage runs: serially in source order, serially in any order, or in parallel (optionally
/// at most k copies at once).  Use the constants `trident::serial_in_order`,
/// `trident::serial_out_of_order` and `trident::parallel_out_of_order` (and `parallel.limit(k)`).
class stage_mode {
public:
    enum class kind { serial_in_order, serial_out_of_order, parallel };

    constexpr explicit stage_mode(kind k) noexcept : kind_(k) {}

    /// At most `k` copies of a parallel stage run at once ("at most 3 copies of Train").
    /// \throws std::invalid_argument if k < 1 or the mode is serial (a serial stage runs one copy).
    [[nodiscard]] constexpr stage_mode limit(int k) const
    {
        if (kind_ != kind::parallel)
            throw std::invalid_argument("trident::stage_mode::limit(k): only a parallel stage takes a limit");
        if (k < 1)
            throw std::invalid_argument("trident::parallel_out_of_order.limit(k): k must be at least 1, got " + std::to_string(k));
        stage_mode m = *this;
        m.limit_ = k;
        return m;
    }

    [[nodiscard]] constexpr kind mode() const noexcept { return kind_; }
    [[nodiscard]] constexpr bool is_serial() const noexcept { return kind_ != kind::parallel; }
    /// The limit of a parallel stage, 0 when none was set (serial stages: 1).
    [[nodiscard]] constexpr int limit() const noexcept { return kind_ == kind::parallel ? limit_ : 1; }

    /// "serial in order", "serial out of order", "parallel" or "parallel, at most k".
    [[nodiscard]] std::string name() const
    {
        switch (kind_) {
        case kind::serial_in_order: return "serial in order";
        case kind::serial_out_of_order: return "serial out of order";
        case kind::parallel: break;
        }
        return limit_ > 0 ? "parallel, at most " + std::to_string(limit_) : "parallel";
    }

    friend constexpr bool operator==(const stage_mode&, const stage_mode&) = default;

private:
    kind kind_;
    int limit_ = 0;
};

inline constexpr stage_mode serial_in_order{stage_mode::kind::serial_in_order};
inline constexpr stage_mode serial_out_of_order{stage_mode::kind::serial_out_of_order};
/// Many items at once, in any order (optionally `.limit(k)` copies at most).
inline constexpr stage_mode parallel_out_of_order{stage_mode::kind::parallel};
/// The old name of parallel_out_of_order, beside trident::par (a policy) too easily mistaken for it.
[[deprecated("trident::parallel is now trident::parallel_out_of_order (a stage mode; trident::par is the policy)")]]
inline constexpr stage_mode parallel{stage_mode::kind::parallel};

// ---- stage descriptions -----------------------------------------------------------------------

/// The first stage: `fn()` returns `std::optional<T>`, empty when there is nothing more.  It is
/// called by one thread at a time, and not again once it returned empty.
template <class Fn>
struct pipeline_source {
    std::string name;
    Fn fn;
};

/// A stage after the source: `fn(input)` returns the next stage's input (the last stage: void).
template <class Fn>
struct pipeline_stage {
    std::string name;
    stage_mode mode;
    Fn fn;
};

/// The source of a pipeline, named for the statistics ("load").
template <class Fn>
[[nodiscard]] pipeline_source<std::decay_t<Fn>> source(std::string name, Fn&& fn)
{
    return {std::move(name), std::forward<Fn>(fn)};
}

/// The source of a pipeline, named "source" in the statistics.
template <class Fn>
[[nodiscard]] pipeline_source<std::decay_t<Fn>> source(Fn&& fn)
{
    return {"source", std::forward<Fn>(fn)};
}

/// A stage named for the statistics ("train"), run in the given mode.
template <class Fn>
[[nodiscard]] pipeline_stage<std::decay_t<Fn>> stage(std::string name, stage_mode mode, Fn&& fn)
{
    return {std::move(name), mode, std::forward<Fn>(fn)};
}

/// A stage named "stage k" in the statistics (k its position, the source being 0).
template <class Fn>
[[nodiscard]] pipeline_stage<std::decay_t<Fn>> stage(stage_mode mode, Fn&& fn)
{
    return {std::string(), mode, std::forward<Fn>(fn)};
}

// ---- options and statistics -------------------------------------------------------------------

struct pipeline_options {
    /// At most this many items alive at once; 0 means four per thread of the policy.  Any value
    /// is accepted: storage follows the items in flight, not this bound (see task/pipeline.hpp, Tokens).
    std::size_t max_tokens = 0;
    /// Stops the run when stop is requested (see task/pipeline.hpp, Exceptions and cancellation).
    std::stop_token stop{};
};

/// One stage's share of a run.  The source is stage 0.
struct stage_stats {
    std::string name;
    stage_mode mode = serial_in_order;
    /// Items that went through the stage (the source: items it made).
    std::size_t items = 0;
    /// Time spent inside the stage function, summed over its copies.  Calls under about a
    /// microsecond are timed one in 16 (reading the clock would cost as much as the call) and the
    /// total is scaled from those.
    double busy_seconds = 0;
    /// How many copies could run at once: 1 for a serial stage, min(limit, threads) for a parallel one.
    int capacity = 1;
    /// busy_seconds / (wall_seconds x capacity): 1 means the stage never rested.
    double utilisation = 0;
};

/// What bounds a pipeline's throughput.
struct pipeline_bound {
    /// True when the threads bound it (total busy time / threads is the largest bound), false when
    /// one stage did (its busy time / its capacity is).
    bool by_threads = false;
    /// The stage with the largest busy time per copy (the bottleneck when !by_threads).
    std::size_t stage = 0;
    /// The bound itself: the shortest wall time these busy times allow.
    double seconds = 0;
};

/// A run's statistics, returned by run_pipeline.
struct pipeline_stats {
    std::vector<stage_stats> stages; ///< the source first, then the stages in order
    double wall_seconds = 0;
    int threads = 1;           ///< threads that could work on the run
    std::size_t max_tokens = 0; ///< the bound on items alive at once
    bool cancelled = false;     ///< stopped through pipeline_options::stop

    /// The sum of every stage's busy time: the run's sequential time (without overlap).
    [[nodiscard]] double busy_seconds() const
    {
        double total = 0;
        for (const auto& s : stages)
            total += s.busy_seconds;
        return total;
    }

    /// What bounded the throughput: max over stages of busy / capacity (a serial stage can do no
    /// better than its own busy time), and total busy / threads (the cores can do no better).
    [[nodiscard]] pipeline_bound bound() const
    {
        pipeline_bound b;
        double worst = -1;
        for (std::size_t k = 0; k < stages.size(); ++k) {
            const double per_copy = stages[k].busy_seconds / std::max(1, stages[k].capacity);
            if (per_copy > worst) {
                worst = per_copy;
                b.stage = k;
            }
        }
        const double by_threads = busy_seconds() / std::max(1, threads);
        b.by_threads = by_threads > worst;
        b.seconds = std::max(worst, by_threads);
        return b;
    }

    /// bound().seconds / wall_seconds, at most 1: 1 means the run reached its bound.  (Busy times of
    /// stages whose calls take under a microsecond are estimated from a sample of their calls, so
    /// the unclamped ratio can exceed 1 by the sampling error.)
    [[nodiscard]] double efficiency() const
    {
        return wall_seconds > 0 ? std::min(1.0, bound().seconds / wall_seconds) : 0;
    }

    /// A table: one line per stage (items, busy, utilisation), then the wall time, the bound and
    /// what set it.
    friend std::ostream& operator<<(std::ostream& os, const pipeline_stats& s)
    {
        std::ostringstream out;
        out << std::fixed;
        out << std::left << std::setw(16) << "stage" << std::setw(24) << "mode" << std::right << std::setw(10)
            << "items" << std::setw(12) << "busy [s]" << std::setw(8) << "util" << '\n';
        for (const auto& st : s.stages)
            out << std::left << std::setw(16) << st.name << std::setw(24) << st.mode.name() << std::right
                << std::setw(10) << st.items << std::setw(12) << std::setprecision(4) << st.busy_seconds
                << std::setw(7) << std::setprecision(0) << st.utilisation * 100 << "%\n";
        const pipeline_bound b = s.bound();
        out << std::setprecision(4) << "wall " << s.wall_seconds << " s on " << s.threads << " thread"
            << (s.threads == 1 ? "" : "s") << ", " << s.max_tokens << " tokens; sequential " << s.busy_seconds()
            << " s; bound " << b.seconds << " s set by "
            << (b.by_threads ? std::string("the threads") : "stage '" + s.stages[b.stage].name + "'")
            << "; efficiency " << std::setprecision(1) << s.efficiency() * 100 << "%"
            << (s.cancelled ? " (cancelled)" : "") << '\n';
        return os << out.str();
    }
};

} // namespace trident
