#pragma once
// detail::seq_tasks: the task executor of trident::seq (see task/task_executor.hpp).  Every task
// runs at once, inside submit() or for_tasks(), on the calling thread, in order.

#include "trident/detail/recorder.hpp"
#include "trident/detail/unique_task.hpp"
#include "trident/task/task_executor.hpp"

#include <cstddef>
#include <utility>

namespace trident::detail {

class seq_tasks {
public:
    [[nodiscard]] int concurrency() const noexcept { return 1; }

    void submit(unique_task task) { task(); }

    /// Nothing to wait for: every task ran inside submit().
    void wait() noexcept {}

    /// Nothing is ever queued.
    void cancel() noexcept {}

    /// task(0), ..., task(count - 1) in order; the first exception stops the loop and propagates.
    template <class Task>
    void for_tasks(std::size_t count, Task&& task)
    {
        for (std::size_t k = 0; k < count; ++k) {
            const event_scope event(label_task);
            task(k);
        }
    }
};

static_assert(check_task_executor<seq_tasks>());

} // namespace trident::detail
