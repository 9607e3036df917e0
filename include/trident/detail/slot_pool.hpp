#pragma once
// trident::detail::slot_pool: the storage of a pipeline run's items (task/pipeline.hpp).  Slots are
// made as items enter, not up front, and a slot freed by the last stage is reused by the next item,
// so a run holds at most as many slots as it ever had items in flight at once, however large its
// token bound.

#include <atomic>
#include <cstddef>
#include <type_traits>

namespace trident::detail {

/// A pool of `T` objects (a class type) with one taker and any number of givers.
///  - acquire(): one thread at a time (the pipeline's serial source); a freed slot when there is
///    one, else a new one (value-initialised).  May throw std::bad_alloc.
///  - release(s): any thread, concurrently with acquire() and other release() calls; the giver no
///    longer touches *s afterwards.  Lock-free: one compare-exchange.
///  - for_each(f): f(slot) for every slot made, when no acquire() or release() runs.
/// Freed slots go onto a shared stack; acquire() takes the whole stack at once when its private
/// list is empty (so only one thread ever pops, which rules out the ABA problem of a lock-free
/// stack with several poppers).  A slot keeps its value when released and reacquired.
template <class T>
class slot_pool {
    static_assert(std::is_class_v<T>, "trident::detail::slot_pool: T must be a class type");

    struct node : T {
        node* next_free = nullptr; ///< the stack of freed slots, or the taker's private list
        node* next_made = nullptr; ///< every slot made, for for_each and the destructor
    };

public:
    slot_pool() = default;
    slot_pool(const slot_pool&) = delete;
    slot_pool& operator=(const slot_pool&) = delete;
    ~slot_pool()
    {
        for (node* n = made_; n != nullptr;) {
            node* next = n->next_made;
            delete n;
            n = next;
        }
    }

    [[nodiscard]] T* acquire()
    {
        if (taken_ == nullptr)
            taken_ = released_.exchange(nullptr, std::memory_order_acquire);
        if (node* n = taken_) {
            taken_ = n->next_free;
            return n;
        }
        node* n = new node();
        n->next_made = made_;
        made_ = n;
        ++size_;
        return n;
    }

    void release(T* slot) noexcept
    {
        node* n = static_cast<node*>(slot);
        node* head = released_.load(std::memory_order_relaxed);
        do {
            n->next_free = head;
        } while (!released_.compare_exchange_weak(head, n, std::memory_order_release, std::memory_order_relaxed));
    }

    template <class F>
    void for_each(F&& f) const
    {
        for (const node* n = made_; n != nullptr; n = n->next_made)
            f(static_cast<const T&>(*n));
    }

    /// The slots made so far (the most items that were in flight at once).
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    alignas(64) std::atomic<node*> released_{nullptr}; // apart from the taker's fields
    alignas(64) node* taken_ = nullptr; // the taker's private list
    node* made_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace trident::detail
