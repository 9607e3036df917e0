#pragma once
// The one place where the data algorithms' bodies meet trident::explain: instrumented<E> wraps an
// executor (seq, oneTBB, or a user's, backend/executor.hpp) and times every body it runs as an
// event of the recorder (detail/recorder.hpp): a chunk of for_chunks (label_for_chunks), a chunk of
// reduce_chunks (label_reduce), a task of for_tasks (label_task).  dispatch hands the algorithms
// the wrapped executor, so no executor records anything itself (the oneTBB executor only marks the
// span of a parallel call, label_parallel_call).  While no explain region records, a body costs one
// relaxed load more.

#include "trident/backend/executor.hpp"
#include "trident/detail/recorder.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

// The wrappers are inlined into the executor's loop, so that a body runs where it ran before
// the wrapper existed (an out-of-line wrapper cost an inline 1000-element call about 8%).
#if defined(__GNUC__) || defined(__clang__)
#  define TRIDENT_ALWAYS_INLINE_LAMBDA __attribute__((always_inline))
#else
#  define TRIDENT_ALWAYS_INLINE_LAMBDA
#endif

namespace trident::detail {

template <class E>
class instrumented {
public:
    static constexpr bool is_parallel = E::is_parallel;

    explicit instrumented(E inner) : inner_(std::move(inner)) {}

    [[nodiscard]] int concurrency() const { return inner_.concurrency(); }
    [[nodiscard]] std::size_t grain() const { return inner_.grain(); }

    template <class Body>
    void for_chunks(std::size_t n, Body&& body) const
    {
        inner_.for_chunks(n, [&body](std::size_t b, std::size_t e) TRIDENT_ALWAYS_INLINE_LAMBDA {
            const event_scope event(label_for_chunks);
            body(b, e);
        });
    }

    template <class Chunk, class Combine>
    auto reduce_chunks(std::size_t n, Chunk&& chunk, Combine&& combine) const
        -> std::optional<std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>>
    {
        return inner_.reduce_chunks(
            n,
            [&chunk](std::size_t b, std::size_t e) TRIDENT_ALWAYS_INLINE_LAMBDA {
                const event_scope event(label_reduce);
                return chunk(b, e);
            },
            std::forward<Combine>(combine));
    }

    template <class Task>
    void for_tasks(std::size_t count, Task&& task) const
    {
        inner_.for_tasks(count, [&task](std::size_t k) TRIDENT_ALWAYS_INLINE_LAMBDA {
            const event_scope event(label_task);
            task(k);
        });
    }

    [[nodiscard]] const E& inner() const noexcept { return inner_; }

private:
    E inner_;
};

} // namespace trident::detail
