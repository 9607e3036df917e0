#pragma once
// Helpers shared by the task primitives (task/blocking_pool.hpp, task/task_group.hpp,
// task/invoke.hpp): a move-only type-erased `void()` callable (g++ 12 has no
// std::move_only_function), the result type of a task, and "run f, put its result or exception
// into a promise".

#include "trident/detail/recorder.hpp"

#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

namespace trident::detail {

/// A move-only `void()` callable of any type (the callable itself may be move-only).
class unique_task {
public:
    unique_task() noexcept = default;

    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, unique_task>)
    explicit unique_task(F&& f) : impl_(std::make_unique<holder<std::decay_t<F>>>(std::forward<F>(f)))
    {
    }

    unique_task(unique_task&&) noexcept = default;
    unique_task& operator=(unique_task&&) noexcept = default;

    explicit operator bool() const noexcept { return impl_ != nullptr; }

    /// Calls the callable (at most once is what the task primitives do; more is allowed).
    void operator()() { impl_->call(); }

private:
    struct base {
        virtual ~base() = default;
        virtual void call() = 0;
    };
    template <class F>
    struct holder final : base {
        template <class G>
        explicit holder(G&& g) : f(std::forward<G>(g))
        {
        }
        void call() override { std::invoke(f); }
        F f;
    };

    std::unique_ptr<base> impl_;
};

template <class F, bool = std::is_invocable_v<std::decay_t<F>>>
struct task_result {
    using type = void; // not callable: the caller's static_assert says so
};
template <class F>
struct task_result<F, true> {
    using R = std::invoke_result_t<std::decay_t<F>>;
    using type = std::conditional_t<std::is_lvalue_reference_v<R>, R, std::remove_cvref_t<R>>;
};

/// The value a task calling `F` once produces: void, an lvalue reference, or a plain value
/// (cv-qualifiers and rvalue references dropped, so that std::promise/std::optional can hold it).
template <class F>
using task_result_t = typename task_result<F>::type;

/// Calls f once (as an rvalue), recorded for trident::explain as one event with `event_label`.
template <class F>
decltype(auto) call_recorded(std::uint32_t event_label, F& f)
{
    const event_scope event(event_label);
    return std::invoke(std::move(f));
}

/// Calls f once (as an rvalue; one event with `event_label` for trident::explain) and stores its
/// result, or the exception it threw, in `promise`.  Returns the exception (null when f returned).
/// The event ends before the promise is set: a thread woken by the future finds it recorded.
template <class R, class F>
std::exception_ptr fulfil(std::promise<R>& promise, F& f, std::uint32_t event_label) noexcept
{
    try {
        if constexpr (std::is_void_v<R>) {
            call_recorded(event_label, f);
            promise.set_value();
        } else {
            promise.set_value(call_recorded(event_label, f));
        }
        return nullptr;
    } catch (...) {
        std::exception_ptr e = std::current_exception();
        try {
            promise.set_exception(e);
        } catch (...) { // the promise was already satisfied (only if set_value itself threw after storing)
        }
        return e;
    }
}

} // namespace trident::detail
