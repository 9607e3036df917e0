// Must NOT compile: a task executor without wait().  trident::detail::check_task_executor names the
// missing member in its static_assert (tests/test_task_executors.cpp checks the three real ones).
#include <trident/task/task_executor.hpp>

#include <cstddef>
#include <utility>

struct no_wait_executor {
    int concurrency() const { return 1; }
    void submit(trident::detail::unique_task task) { task(); }
    void cancel() {}
    template <class Task>
    void for_tasks(std::size_t count, Task&& task)
    {
        for (std::size_t k = 0; k < count; ++k)
            task(k);
    }
    // wait() is missing
};

static_assert(trident::detail::check_task_executor<no_wait_executor>());

int main() { return 0; }
