#pragma once
/// \file task/invoke.hpp
/// `trident::parallel_invoke(where, f1, ..., fn)`: run a fixed set of independent functions side
/// by side (the members of an ensemble, the experiments of a study, a load and a compute step) and
/// return all their results.
///
/// \code
///   auto [net, tree, linear] = trident::parallel_invoke(trident::par,
///       [&] { return train_net(data); },
///       [&] { return train_tree(data); },
///       [&] { return train_linear(data); });
///
///   trident::blocking_pool io(4);
///   auto [config, weights, uploaded] = trident::parallel_invoke(io,         // blocking work
///       [] { return read_file("config.json"); },
///       [] { return read_file("weights.bin"); },
///       [] { upload_log(); });                      // returns nothing: `uploaded` is a std::monostate
/// \endcode
///
/// `where` is where the functions run:
///
/// | where                       | the functions run                                                  |
/// |-----------------------------|--------------------------------------------------------------------|
/// | `trident::seq`              | on the calling thread, in order f1, ..., fn                        |
/// | `trident::par` (+ options)  | at once, one oneTBB task each, on oneTBB's workers and the calling |
/// |                             | thread, in the arena of `par.threads(n)` / `par.on(cores)` when    |
/// |                             | set; in order on the calling thread where that arena has 1 thread  |
/// | a `trident::blocking_pool&` | at once on the pool's threads (FIFO: n functions on a pool of      |
/// |                             | fewer threads run in waves)                                        |
///
/// Returns `std::tuple<R1, ..., Rn>`, Ri being what fi returns: `std::monostate` for a function that
/// returns nothing, an lvalue reference kept as such, any other type as a value (cv-qualifiers and
/// rvalue references dropped).  Results may be move-only and need not be default-constructible.
///
/// Requirements: n >= 1; every fi callable with no arguments, called once (as an rvalue when passed
/// as one).  Under `par` the functions are not guaranteed to run at once (with `par.threads(1)` they
/// run one after the other), so they must not wait for one another; functions that block (sleep,
/// I/O) belong on a blocking pool.  `trident::gpu` and `trident::automatic` are compile-time errors:
/// GPU work goes through the data-parallel algorithms.
///
/// Exceptions: the first exception a function throws reaches the caller, after every function
/// that had started has finished; functions not started by then never start (under `seq`, those
/// after the one that threw).
///
/// Complexity: n calls.  Under `par` one oneTBB parallel loop of n tasks (a few microseconds; see
/// benchmarks/bench_tasks.cpp for the cost against `tbb::parallel_invoke`); on a pool one task
/// hand-off per function (a thread wake-up each).

///
/// Implementation: written once over the task executor of `where` (task/task_executor.hpp): one
/// `for_tasks` call of n tasks, the k-th calling fk.

#include "trident/policy.hpp"
#include "trident/task/arena_tasks.hpp"
#include "trident/task/blocking_pool.hpp"
#include "trident/task/pool_tasks.hpp"
#include "trident/task/seq_tasks.hpp"
#include "trident/task/task_executor.hpp"

#include <cstddef>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace trident {

namespace detail {

template <class F, bool = std::is_invocable_v<F>>
struct invoke_value {
    using type = std::monostate; // not callable: the static_assert in parallel_invoke says so
};
template <class F>
struct invoke_value<F, true> {
    using R = std::invoke_result_t<F>;
    using type = std::conditional_t<std::is_void_v<R>, std::monostate,
                                    std::conditional_t<std::is_lvalue_reference_v<R>, R, std::remove_cvref_t<R>>>;
};

/// The element of parallel_invoke's tuple for a function of type F (as passed: F&& is F's value category).
template <class F>
using invoke_value_t = typename invoke_value<F>::type;

/// Where one function's result waits until all have finished.
template <class T>
struct invoke_slot {
    std::optional<T> value;
    template <class F>
    void fill(F&& f)
    {
        if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
            std::invoke(std::forward<F>(f));
            value.emplace();
        } else {
            value.emplace(std::invoke(std::forward<F>(f)));
        }
    }
    T take() { return std::move(*value); }
};
template <class T>
struct invoke_slot<T&> {
    T* value = nullptr;
    template <class F>
    void fill(F&& f)
    {
        value = std::addressof(std::invoke(std::forward<F>(f)));
    }
    T& take() { return *value; }
};

template <class Where>
inline constexpr bool is_invoke_place_v =
    std::is_same_v<std::remove_cvref_t<Where>, seq_policy> || std::is_same_v<std::remove_cvref_t<Where>, par_policy> ||
    (std::is_same_v<std::remove_cvref_t<Where>, blocking_pool> && !std::is_const_v<std::remove_reference_t<Where>>);

/// The task executor of parallel_invoke's place (a prvalue: arena_tasks is not movable).
inline seq_tasks invoke_executor(seq_policy) { return {}; }
inline arena_tasks invoke_executor(const par_policy& policy) { return arena_tasks(policy); }
inline pool_tasks invoke_executor(blocking_pool& pool) { return pool_tasks(pool); }

template <class... Fs>
class invoke_call {
public:
    using result = std::tuple<invoke_value_t<Fs>...>;

    explicit invoke_call(Fs&&... fs) : fns_(std::forward<Fs>(fs)...) {}

    /// Calls every function through `exec.for_tasks` and returns their results.
    template <class Exec>
    result on(Exec& exec)
    {
        static_assert(check_task_executor<Exec>());
        exec.for_tasks(sizeof...(Fs), [this](std::size_t k) { call_at(k, std::index_sequence_for<Fs...>{}); });
        return collect(std::index_sequence_for<Fs...>{});
    }

private:
    template <std::size_t I>
    void call()
    {
        using F = std::tuple_element_t<I, std::tuple<Fs...>>;
        std::get<I>(slots_).fill(std::forward<F>(std::get<I>(fns_)));
    }

    template <std::size_t... I>
    void call_at(std::size_t k, std::index_sequence<I...>)
    {
        static_cast<void>(((k == I ? (call<I>(), true) : false) || ...));
    }

    template <std::size_t... I>
    result collect(std::index_sequence<I...>)
    {
        return result(std::get<I>(slots_).take()...);
    }

    std::tuple<Fs&&...> fns_;
    std::tuple<invoke_slot<invoke_value_t<Fs>>...> slots_;
};

} // namespace detail

/// Runs f1, ..., fn at once (under seq: in order) where `where` says, and returns their results
/// as `std::tuple<R1, ..., Rn>` (`std::monostate` for a function returning nothing).  See the
/// file comment for the places, the requirements and the exceptions.
template <class Where, class... Fs>
std::tuple<detail::invoke_value_t<Fs>...> parallel_invoke(Where&& where, Fs&&... fs)
{
    static_assert(detail::is_invoke_place_v<Where>,
                  "trident::parallel_invoke: the policy must be trident::seq, trident::par (with options) or a "
                  "trident::blocking_pool (not const); GPU work goes through the data-parallel algorithms");
    static_assert(sizeof...(Fs) >= 1, "trident::parallel_invoke: give at least one function to run");
    static_assert((std::is_invocable_v<Fs> && ...),
                  "trident::parallel_invoke: every argument after the first must be callable with no arguments");
    if constexpr (detail::is_invoke_place_v<Where> && sizeof...(Fs) >= 1 && (std::is_invocable_v<Fs> && ...)) {
        auto exec = detail::invoke_executor(where);
        return detail::invoke_call<Fs...>(std::forward<Fs>(fs)...).on(exec);
    } else {
        std::abort(); // unreachable: a static_assert above failed
    }
}

} // namespace trident
