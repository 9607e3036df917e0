#pragma once
// A unit of CPU work for the benchmarks that reproduce the lecture's figures in "units": a
// dependent chain of xorshift-multiply steps (no memory traffic, no sleeping), calibrated once per
// process to about 50 us on one thread.  unit().unit_seconds is the duration measured then.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <thread>
#include <vector>

namespace bench {

/// `steps` dependent xorshift-multiply steps from x: CPU work that cannot be skipped or overlapped.
inline std::uint64_t spin(std::uint64_t x, std::uint64_t steps)
{
    for (std::uint64_t i = 0; i < steps; ++i) {
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ULL;
    }
    return x;
}

inline constexpr double unit_target_seconds = 50e-6;
inline constexpr int calibration_units = 100; // a unit's duration is timed over this many

struct calibration {
    std::uint64_t steps_per_unit;
    double unit_seconds; // measured
};

inline double seconds_since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The best of five timings of `steps` steps (the least disturbed one).
inline double time_steps(std::uint64_t steps)
{
    double best = std::numeric_limits<double>::infinity();
    for (int k = 0; k < 5; ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(spin(0x1234567ULL + static_cast<std::uint64_t>(k), steps));
        best = std::min(best, seconds_since(t0));
    }
    return best;
}

inline const calibration& unit()
{
    static const calibration c = [] {
        // About 0.2 s of work first, so that the core runs at the clock it keeps under load.
        benchmark::DoNotOptimize(spin(1, std::uint64_t{1} << 27));
        constexpr std::uint64_t probe = 1u << 21;
        const double per_step = time_steps(probe) / static_cast<double>(probe);
        const auto steps = static_cast<std::uint64_t>(std::llround(unit_target_seconds / per_step));
        return calibration{steps, time_steps(steps * calibration_units) / calibration_units};
    }();
    return c;
}

/// The unit's duration while every thread runs units at once (all cores busy: the clock may drop,
/// caches and the memory bus are shared).  The model uses the one-thread duration; this one tells
/// how much of a parallel run's shortfall is the machine's rather than the scheduler's.
inline double unit_seconds_all_threads(int threads)
{
    std::vector<double> each(static_cast<std::size_t>(threads));
    std::vector<std::thread> workers;
    for (std::size_t k = 0; k < each.size(); ++k)
        workers.emplace_back(
            [&each, k] { each[k] = time_steps(unit().steps_per_unit * calibration_units) / calibration_units; });
    for (auto& w : workers)
        w.join();
    return std::accumulate(each.begin(), each.end(), 0.0) / static_cast<double>(each.size());
}

} // namespace bench
