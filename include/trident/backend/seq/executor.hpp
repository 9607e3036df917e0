#pragma once
// The sequential backend: trident::executor (backend/executor.hpp) on the calling thread, in
// order.  trident::explain's events are added around it by backend/instrumented.hpp.

#include "trident/backend/executor.hpp"
#include "trident/policy.hpp"

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
};

static_assert(check_executor<seq_executor>());

} // namespace trident::detail

template <>
struct trident::executor_of<trident::seq_policy> {
    static detail::seq_executor make(const seq_policy&) noexcept { return {}; }
};
