#pragma once
// trident::detail::slot_pool: the storage of a pipeline run's items (task/pipeline.hpp).  Slots are
// made as items enter, not up front, and a slot freed by the last stage is reused by the next item,
// so a run holds at most as many slots as it ever had items in flight at once, however large its
// token bound.

#include <atomic>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <vector>

namespace trident::detail {

/// A pool of `T` objects with one taker and any number of givers.  T is default-constructible and
/// has a member `T* next_free` (the pool's link; put it beside the data the giver writes last, so
/// that a release touches no cache line the item did not already bring along).
///  - acquire(): one thread at a time (the pipeline's serial source); a freed slot when there is
///    one, else a new one (value-initialised).  May throw std::bad_alloc.
///  - release(s): any thread, concurrently with acquire() and other release() calls; the giver no
///    longer touches *s afterwards.  Lock-free: one compare-exchange.
///  - for_each(f): f(slot) for every slot made, when no acquire() or release() runs.
/// Freed slots go onto a shared stack; acquire() takes the whole stack at once when its private
/// list is empty (only one thread ever pops, which rules out the ABA problem of a lock-free stack
/// with several poppers).  A slot keeps its value when released and reacquired.
template <class T>
class slot_pool {
    static_assert(std::is_same_v<decltype(T::next_free), T*>,
                  "trident::detail::slot_pool<T>: T needs a member `T* next_free`");

public:
    [[nodiscard]] T* acquire()
    {
        if (taken_ == nullptr)
            taken_ = released_.exchange(nullptr, std::memory_order_acquire);
        if (T* slot = taken_) {
            taken_ = slot->next_free;
            return slot;
        }
        if (made_.size() == made_.capacity()) // may throw before the slot is made, so nothing leaks
            made_.reserve(made_.empty() ? 8 : 2 * made_.size());
        made_.push_back(std::make_unique<T>());
        return made_.back().get();
    }

    void release(T* slot) noexcept
    {
        T* head = released_.load(std::memory_order_relaxed);
        do {
            slot->next_free = head;
        } while (!released_.compare_exchange_weak(head, slot, std::memory_order_release, std::memory_order_relaxed));
    }

    template <class F>
    void for_each(F&& f) const
    {
        for (const auto& slot : made_)
            f(static_cast<const T&>(*slot));
    }

    /// The slots made so far (the most items that were in flight at once).
    [[nodiscard]] std::size_t size() const noexcept { return made_.size(); }

private:
    alignas(64) std::atomic<T*> released_{nullptr}; // apart from the taker's fields
    alignas(64) T* taken_ = nullptr;                // the taker's private list
    std::vector<std::unique_ptr<T>> made_;
};

} // namespace trident::detail
