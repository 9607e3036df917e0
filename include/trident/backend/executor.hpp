#pragma once
/// \file backend/executor.hpp
/// The contract between trident's data algorithms and the places they run on: `trident::executor`.
///
/// The data algorithms (data/) are written once over this contract; a CPU backend implements it
/// and a policy names its backend through `trident::executor_of` (declared in policy.hpp).  seq
/// (backend/seq/executor.hpp) and par (backend/tbb/executor.hpp) are the two built in; a new
/// policy is a new type, not an edit of trident's headers:
///
/// \code
///   struct my_policy {};
///   struct my_executor {
///       static constexpr bool is_parallel = true;                  // may run bodies at once
///       int concurrency() const;                                   // threads that may work at once
///       std::size_t grain() const;                                 // the caller's grain, 0: none
///       template <class Body> void for_chunks(std::size_t n, Body&& body) const;
///       template <class Chunk, class Combine>
///       auto reduce_chunks(std::size_t n, Chunk&& chunk, Combine&& combine) const
///           -> std::optional<std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>>;
///       template <class Task> void for_tasks(std::size_t count, Task&& task) const;
///   };
///   template <> struct trident::executor_of<my_policy> {
///       static my_executor make(const my_policy&) { return {}; }
///   };
///   trident::reduce(my_policy{}, v, 0.0);                        // runs on my_executor
/// \endcode
///
/// What each member must do (the algorithms rely on nothing else):
/// | member                              | does                                                        |
/// |-------------------------------------|-------------------------------------------------------------|
/// | `is_parallel` (static constexpr)    | false when every body runs on the calling thread, in order  |
/// | `concurrency()`                     | how many threads may run bodies at once (at least 1)        |
/// | `grain()`                           | the smallest chunk the caller asked for, 0 when none        |
/// | `for_chunks(n, body)`               | `body(b, e)` over disjoint chunks covering [0, n) exactly once, in any order, possibly at once |
/// | `reduce_chunks(n, chunk, combine)`  | `combine` of `chunk(b, e)` over chunks covering [0, n), in index order (combine need not commute); an empty optional for n == 0 |
/// | `for_tasks(count, task)`            | `task(k)` for every k in [0, count), each its own task: tasks may wait for one another (no task is run inline inside another's wait) |
///
/// Every member returns once all its bodies have returned.  When a body throws, the first exception
/// reaches the caller of the member, bodies not started yet need not run, and nothing is left
/// running.  An executor records nothing for `trident::explain`: dispatch wraps every executor in
/// `detail::instrumented` (backend/instrumented.hpp), which times each body it runs.
///
/// `trident::check_executor<E>()` asserts each requirement separately, with a message that names
/// the missing member; `dispatch` applies it to every policy's executor.

#include <concepts>
#include <cstddef>
#include <optional>
#include <type_traits>

namespace trident {
namespace detail::archetype {

// Bodies the algorithms pass, reduced to their signatures (declared only: used unevaluated).
struct chunk_body {
    void operator()(std::size_t, std::size_t) const;
};
struct chunk_value {
    int operator()(std::size_t, std::size_t) const;
};
struct combine {
    int operator()(int, int) const;
};
struct task {
    void operator()(std::size_t) const;
};

} // namespace detail::archetype

template <class E>
concept executor_is_parallel_flag = requires { typename std::bool_constant<E::is_parallel>; };

template <class E>
concept executor_concurrency = requires(const E& e) {
    { e.concurrency() } -> std::convertible_to<int>;
};

template <class E>
concept executor_grain = requires(const E& e) {
    { e.grain() } -> std::convertible_to<std::size_t>;
};

template <class E>
concept executor_for_chunks = requires(const E& e, std::size_t n, detail::archetype::chunk_body& body) {
    e.for_chunks(n, body);
};

template <class E>
concept executor_reduce_chunks =
    requires(const E& e, std::size_t n, detail::archetype::chunk_value& chunk, detail::archetype::combine& combine) {
        { e.reduce_chunks(n, chunk, combine) } -> std::same_as<std::optional<int>>;
    };

template <class E>
concept executor_for_tasks = requires(const E& e, std::size_t n, detail::archetype::task& task) {
    e.for_tasks(n, task);
};

/// A type the data algorithms can run on (see the file comment for what each member must do).
template <class E>
concept executor = std::copy_constructible<E> && executor_is_parallel_flag<E> && executor_concurrency<E> &&
                   executor_grain<E> && executor_for_chunks<E> && executor_reduce_chunks<E> && executor_for_tasks<E>;

/// true when E is an executor; otherwise a compile-time error per missing member, each naming it.
template <class E>
constexpr bool check_executor()
{
    static_assert(std::copy_constructible<E>, "trident executor: the executor type must be copy-constructible");
    static_assert(executor_is_parallel_flag<E>,
                  "trident executor: missing `static constexpr bool is_parallel` (false when every body runs "
                  "on the calling thread, in order)");
    static_assert(executor_concurrency<E>, "trident executor: missing `int concurrency() const`");
    static_assert(executor_grain<E>, "trident executor: missing `std::size_t grain() const`");
    static_assert(executor_for_chunks<E>,
                  "trident executor: missing `for_chunks(std::size_t n, Body&& body) const` calling body(begin, end)");
    static_assert(executor_reduce_chunks<E>,
                  "trident executor: missing `reduce_chunks(std::size_t n, Chunk&& chunk, Combine&& combine) const` "
                  "returning std::optional of chunk's result");
    static_assert(executor_for_tasks<E>,
                  "trident executor: missing `for_tasks(std::size_t count, Task&& task) const` calling task(k)");
    return executor<E>;
}

} // namespace trident
