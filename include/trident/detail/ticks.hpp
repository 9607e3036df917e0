#pragma once
// A cheap timestamp for the inline-or-parallel decision: the time-stamp counter on x86-64
// (a few nanoseconds to read), steady_clock nanoseconds elsewhere.

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

} // namespace trident::detail
