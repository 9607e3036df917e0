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
        if (n > 0)
            body(std::size_t{0}, n);
    }

    template <class Chunk, class Combine>
    auto reduce_chunks(std::size_t n, Chunk&& chunk, Combine&&) const
        -> std::optional<std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>>
    {
        if (n == 0)
            return std::nullopt;
        return chunk(std::size_t{0}, n);
    }

    template <class Task>
    void for_tasks(std::size_t count, Task&& task) const
    {
        for (std::size_t k = 0; k < count; ++k)
            task(k);
    }

    template <class F, class G>
    void invoke(F&& f, G&& g) const
    {
        std::forward<F>(f)();
        std::forward<G>(g)();
    }
};

} // namespace trident::detail
