#pragma once
// Helpers shared by the examples: reproducible per-element random numbers, a timer, the problem
// size from the command line, and the GPU part's "skip when no device answers".

#include <trident/trident.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>

namespace example {

/// splitmix64: a counter-based generator.  random_bits(seed, i) depends on (seed, i) only, so
/// element i draws the same numbers under every policy, on any thread, in any order.
TRIDENT_HOST_DEVICE constexpr std::uint64_t random_bits(std::uint64_t seed, std::uint64_t i)
{
    std::uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/// A double in [0, 1) from the top 53 bits of random_bits(seed, i).
TRIDENT_HOST_DEVICE constexpr double random_unit(std::uint64_t seed, std::uint64_t i)
{
    return static_cast<double>(random_bits(seed, i) >> 11) * 0x1.0p-53;
}

/// The problem size: argv[1] when given (a positive integer), `fallback` otherwise.
inline std::size_t size_argument(int argc, char** argv, std::size_t fallback, const char* what)
{
    if (argc < 2)
        return fallback;
    char* end = nullptr;
    const unsigned long long n = std::strtoull(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || n == 0 || argv[1][0] == '-') {
        std::fprintf(stderr, "usage: %s [%s, a positive integer; default %zu]\n", argv[0], what, fallback);
        std::exit(2);
    }
    return static_cast<std::size_t>(n);
}

/// Runs f() once and returns {its result, milliseconds}.
template <class F>
auto timed(F&& f)
{
    const auto start = std::chrono::steady_clock::now();
    auto result = std::forward<F>(f)();
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    return std::pair{std::move(result), took.count()};
}

inline void print_time(const char* policy, double ms, double seq_ms)
{
    if (seq_ms > 0 && policy != std::string("seq"))
        std::printf("%-4s %10.3f ms  (%.2fx seq)\n", policy, ms, seq_ms / ms);
    else
        std::printf("%-4s %10.3f ms\n", policy, ms);
}

/// Runs the GPU part; without a usable device it prints "gpu: skipped (<reason>)" instead.
/// Returns false when the GPU part ran and failed its check.
template <class F>
bool run_gpu_part(F&& part)
{
    try {
        return std::forward<F>(part)();
    } catch (const trident::device_unavailable& e) {
        std::printf("gpu: skipped (%s)\n", e.what());
        return true;
    }
}

} // namespace example
