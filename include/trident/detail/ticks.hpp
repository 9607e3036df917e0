#pragma once
// A cheap timestamp for the inline-or-parallel decision and the pipeline's and explain's
// accounting: the time-stamp counter on x86-64 (a few nanoseconds to read), steady_clock
// nanoseconds elsewhere; tick_clock converts tick counts into seconds.

#include <chrono>
#include <cstdint>
#if defined(__x86_64__) || defined(_M_X64)
#  include <x86intrin.h>
#endif

namespace trident::detail {

inline std::uint64_t ticks() noexcept
{
#if defined(__x86_64__) || defined(_M_X64)
    return __rdtsc();
#else
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
#endif
}

/// A span's wall time both in ticks() and by steady_clock, from construction to stop(), so that
/// tick counts taken inside it convert into seconds (a pipeline run, an explain region).
class tick_clock {
public:
    tick_clock() : ticks0_(ticks()), t0_(std::chrono::steady_clock::now()) {}
    void stop()
    {
        ticks1_ = ticks();
        t1_ = std::chrono::steady_clock::now();
    }
    [[nodiscard]] double wall_seconds() const { return std::chrono::duration<double>(t1_ - t0_).count(); }
    [[nodiscard]] std::uint64_t begin_ticks() const noexcept { return ticks0_; }
    [[nodiscard]] std::uint64_t end_ticks() const noexcept { return ticks1_; }
    [[nodiscard]] double seconds(std::uint64_t t) const
    {
        const std::uint64_t wall_ticks = ticks1_ - ticks0_;
        return wall_ticks == 0 ? 0.0 : wall_seconds() * static_cast<double>(t) / static_cast<double>(wall_ticks);
    }

private:
    std::uint64_t ticks0_, ticks1_ = 0;
    std::chrono::steady_clock::time_point t0_, t1_;
};

} // namespace trident::detail
