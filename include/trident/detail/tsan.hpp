#pragma once
// Happens-before edges for ThreadSanitizer across oneTBB's task hand-offs.
//
// The oneTBB shipped by distributions is not built with -fsanitize=thread, so TSan cannot see the
// synchronisation by which a task reaches a worker and its results reach the caller: every value a
// parallel body writes and the caller later reads would be reported as a race.  The executor marks
// those edges itself: the caller releases before a parallel call and acquires after it; each body
// acquires on entry and releases on exit.  Races between bodies stay visible.  Without TSan these
// are empty inline functions.

#if defined(__SANITIZE_THREAD__)
#  define TRIDENT_DETAIL_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define TRIDENT_DETAIL_TSAN 1
#  endif
#endif

#if defined(TRIDENT_DETAIL_TSAN)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace trident::detail {

/// A release / an acquire on any address: for hand-offs whose two sides meet at an object both
/// already know (task_group's runners and its oneTBB context; a pipeline item passed between
/// stages, a serial stage's successive calls).
#if defined(TRIDENT_DETAIL_TSAN)
inline void tsan_release(const void* addr) noexcept { __tsan_release(const_cast<void*>(addr)); }
inline void tsan_acquire(const void* addr) noexcept { __tsan_acquire(const_cast<void*>(addr)); }
#else
inline void tsan_release(const void*) noexcept {}
inline void tsan_acquire(const void*) noexcept {}
#endif

/// A function handed to oneTBB's task_arena::execute, which runs it on the calling thread or, when
/// the arena has no free slot (user threads sharing an arena), hands it to a thread already in the
/// arena: the caller releases on this object's address when it makes it, the runner acquires on
/// entry and releases on exit, and the caller acquires when the object goes out of scope (after
/// execute returned or threw).  The runner knows the address without reading the caller's memory
/// first (it is `this`), so nothing the function reads from the caller's stack is reported.
template <class F>
class tsan_delegated {
public:
    explicit tsan_delegated(F& f) noexcept : f_(f) { tsan_release(this); }
    ~tsan_delegated() { tsan_acquire(this); }
    tsan_delegated(const tsan_delegated&) = delete;
    tsan_delegated& operator=(const tsan_delegated&) = delete;

    decltype(auto) operator()() const
    {
        tsan_acquire(this);
        const struct leave {
            const void* self;
            ~leave() { tsan_release(self); }
        } left{this};
        return f_();
    }

private:
    F& f_;
};

/// One parallel call's fork and join edges.
class tsan_fork_join {
public:
    /// The caller, before handing work to other threads.
    void fork() noexcept { release(&forked_); }
    /// A body, on entry.
    void enter() noexcept { acquire(&forked_); }
    /// A body, on exit.
    void leave() noexcept { release(&joined_); }
    /// The caller, after the parallel call returned (or threw).
    void join() noexcept { acquire(&joined_); }

    /// enter() now, leave() at the end of the scope, also when a body throws (the exception object,
    /// made on the worker, is read by the caller).
    class body_scope {
    public:
        explicit body_scope(tsan_fork_join& edges) noexcept : edges_(edges) { edges_.enter(); }
        ~body_scope() { edges_.leave(); }
        body_scope(const body_scope&) = delete;
        body_scope& operator=(const body_scope&) = delete;

    private:
        tsan_fork_join& edges_;
    };

private:
#if defined(TRIDENT_DETAIL_TSAN)
    static void acquire(void* addr) noexcept { __tsan_acquire(addr); }
    static void release(void* addr) noexcept { __tsan_release(addr); }
#else
    static void acquire(void*) noexcept {}
    static void release(void*) noexcept {}
#endif
    char forked_ = 0;
    char joined_ = 0;
};

} // namespace trident::detail
