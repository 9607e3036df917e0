#pragma once
// The sequential backend: the per-backend contract run on the calling thread, in order.
//
// The contract every CPU backend implements (the generic algorithms in data/ use nothing else):
//   concurrency()                        how many threads may work at once
//   for_chunks(n, body)                  body(begin, end) over disjoint chunks covering [0, n)
//   reduce_chunks(n, chunk, combine)     combine of chunk(begin, end) over chunks in index order;
//                                        returns std::optional (empty for n == 0)
//   for_tasks(count, task)               task(k) for k in [0, count), each its own task, no cutoff
//   invoke(f, g)                         f() and g(), possibly at once
// Every body call is wrapped in a detail::event_scope (detail/recorder.hpp): recorded while a
// trident::explain region runs, one relaxed load otherwise.

#include "trident/detail/recorder.hpp"

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace trident::detail {

struct seq_executor {
    static constexpr bool is_parallel = false;

    [[nodiscard]] static constexpr int concurrency() noexcept { return 1; }
    [[nodiscard]] static constexpr std::size_t grain() noexcept { return 0; }

    template <class Body>
    void for_chunks(std::size_t n, Body&& body) const
    {
        if (n > 0) {
            const event_scope event(label_for_chunks);
            body(std::size_t{0}, n);
        }
    }

    template <class Chunk, class Combine>
    auto reduce_chunks(std::size_t n, Chunk&& chunk, Combine&&) const
        -> std::optional<std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>>
    {
        if (n == 0)
            return std::nullopt;
        const event_scope event(label_reduce);
        return chunk(std::size_t{0}, n);
    }

    template <class Task>
    void for_tasks(std::size_t count, Task&& task) const
    {
        for (std::size_t k = 0; k < count; ++k) {
            const event_scope event(label_task);
            task(k);
        }
    }

    template <class F, class G>
    void invoke(F&& f, G&& g) const
    {
        {
            const event_scope event(label_invoke);
            std::forward<F>(f)();
        }
        const event_scope event(label_invoke);
        std::forward<G>(g)();
    }
};

} // namespace trident::detail
