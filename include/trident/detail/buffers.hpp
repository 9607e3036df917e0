#pragma once
// Scratch storage for the sorts, and the process-wide cache that keeps a few idle scratch blocks so
// that repeated sorts do not pay a page fault per page of fresh memory on every call.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

#if defined(__linux__)
#  include <sys/mman.h>
#endif

/// The most bytes of idle sort scratch the process keeps for later sorts (default 256 MiB; define
/// to 0 before including trident to keep none).
#ifndef TRIDENT_SORT_SCRATCH_CACHE_BYTES
#  define TRIDENT_SORT_SCRATCH_CACHE_BYTES (std::size_t{256} << 20)
#endif

namespace trident::detail {

/// One block of raw storage: `bytes` bytes aligned to `align`.
struct scratch_block {
    void* data = nullptr;
    std::size_t bytes = 0;
    std::size_t align = 0;
};

/// Idle scratch blocks shared by every thread: at most max_idle_blocks blocks and
/// TRIDENT_SORT_SCRATCH_CACHE_BYTES bytes idle, the least recently returned evicted first; blocks
/// under min_cached_bytes are never kept (their page faults cost little).  A block in use belongs to
/// one sort only.
class scratch_cache {
public:
    static constexpr std::size_t max_idle_blocks = 4;
    static constexpr std::size_t max_idle_bytes = TRIDENT_SORT_SCRATCH_CACHE_BYTES;
    static constexpr std::size_t min_cached_bytes = std::size_t{1} << 20;

    /// A block of at least `bytes` bytes aligned to `align`: the smallest idle one that fits, else new.
    static scratch_block acquire(std::size_t bytes, std::size_t align)
    {
        bytes = std::max<std::size_t>(bytes, 1);
        align = std::max<std::size_t>(align, 64);
        if (bytes >= min_cached_bytes) {
            state& s = get();
            const std::lock_guard lock(s.mutex);
            auto best = s.idle.end();
            for (auto it = s.idle.begin(); it != s.idle.end(); ++it)
                if (it->bytes >= bytes && it->align >= align &&
                    (best == s.idle.end() || it->bytes < best->bytes))
                    best = it;
            if (best != s.idle.end()) {
                const scratch_block b = *best;
                s.idle_bytes -= b.bytes;
                s.idle.erase(best);
                return b;
            }
        }
        return allocate(bytes, align);
    }

    /// Gives a block from acquire back: kept idle within the bounds, else freed.
    static void release(scratch_block b) noexcept
    {
        if (b.data == nullptr)
            return;
        if (b.bytes < min_cached_bytes || b.bytes > max_idle_bytes) {
            deallocate(b);
            return;
        }
        state& s = get();
        const std::lock_guard lock(s.mutex);
        s.idle.push_back(b); // never reallocates: capacity max_idle_blocks + 1
        s.idle_bytes += b.bytes;
        while (s.idle.size() > max_idle_blocks || s.idle_bytes > max_idle_bytes) {
            s.idle_bytes -= s.idle.front().bytes;
            deallocate(s.idle.front());
            s.idle.erase(s.idle.begin());
        }
    }

    /// Frees every idle block.
    static void trim() noexcept
    {
        state& s = get();
        const std::lock_guard lock(s.mutex);
        for (const scratch_block& b : s.idle)
            deallocate(b);
        s.idle.clear();
        s.idle_bytes = 0;
    }

    static std::size_t idle_bytes() noexcept
    {
        state& s = get();
        const std::lock_guard lock(s.mutex);
        return s.idle_bytes;
    }

private:
    struct state {
        std::mutex mutex;
        std::vector<scratch_block> idle; // oldest first
        std::size_t idle_bytes = 0;
        state() { idle.reserve(max_idle_blocks + 1); }
    };
    // Never destroyed, so that a sort in another static object's destructor still finds it; the
    // idle blocks stay reachable from it until exit.
    static state& get()
    {
        static state* s = new state;
        return *s;
    }

    // A large block is 2 MiB-aligned and, on Linux, advised to use transparent huge pages: a fresh
    // block is paid for at first touch, one page fault per page (the kernel's THP policy decides).
    static scratch_block allocate(std::size_t bytes, std::size_t align)
    {
        constexpr std::size_t huge_page = std::size_t{2} << 20;
        if (bytes >= 2 * huge_page) {
            align = std::max(align, huge_page);
            bytes = (bytes + huge_page - 1) / huge_page * huge_page;
        }
        void* p = ::operator new(bytes, std::align_val_t{align});
#if defined(__linux__)
        if (align >= huge_page)
            ::madvise(p, bytes, MADV_HUGEPAGE); // advice only: failure leaves 4 KiB pages
#endif
        return {p, bytes, align};
    }
    static void deallocate(const scratch_block& b) noexcept { ::operator delete(b.data, std::align_val_t{b.align}); }
};

/// Uninitialised storage for n trivially copyable T, from the scratch cache.
template <class T>
class raw_buffer {
public:
    explicit raw_buffer(std::size_t n) : block_(scratch_cache::acquire(n * sizeof(T), alignof(T)))
    {
        static_assert(std::is_trivially_copyable_v<T>, "raw_buffer holds trivially copyable elements only");
    }
    ~raw_buffer() { scratch_cache::release(block_); }
    raw_buffer(const raw_buffer&) = delete;
    raw_buffer& operator=(const raw_buffer&) = delete;
    T* get() const noexcept { return static_cast<T*>(block_.data); }

private:
    scratch_block block_;
};

/// Storage for n objects of T from the scratch cache, alive only between construct_from and the
/// destructor.
template <class T>
class scratch_buffer {
public:
    explicit scratch_buffer(std::size_t n) : block_(scratch_cache::acquire(n * sizeof(T), alignof(T))), capacity_(n) {}
    ~scratch_buffer()
    {
        std::destroy(data(), data() + constructed_);
        scratch_cache::release(block_);
    }
    scratch_buffer(const scratch_buffer&) = delete;
    scratch_buffer& operator=(const scratch_buffer&) = delete;

    /// Moves the n elements from first on into the buffer (the range is left moved-from).
    template <class It>
    void construct_from(It first)
    {
        std::uninitialized_move(first, first + static_cast<std::iter_difference_t<It>>(capacity_), data());
        constructed_ = capacity_;
    }
    T* data() const noexcept { return static_cast<T*>(block_.data); }

private:
    scratch_block block_;
    std::size_t capacity_;
    std::size_t constructed_ = 0;
};

} // namespace trident::detail
