#pragma once
// What the [gpu] tests know of the process they run in (defined in main.cu): its path, and whether
// compute-sanitizer watches it.  Under compute-sanitizer every kernel runs 10-100 times slower
// (racecheck of CUB's sorts far more) and every failed CUDA call counts as an error of the run, so
// tests shrink their sizes and leave out the failures they provoke on purpose, saying so.

#include <cstddef>
#include <vector>

/// This program's path, for tests that run a part of it in a process of their own.
extern const char* trident_test_argv0;

/// Whether compute-sanitizer's libraries are loaded into this process (asked once).
bool under_compute_sanitizer();

namespace trident_test {

/// `sizes` as they are, or under compute-sanitizer only those up to `sanitized_max`.
inline std::vector<std::size_t> gpu_sizes(std::vector<std::size_t> sizes, std::size_t sanitized_max = 32769)
{
    if (under_compute_sanitizer())
        std::erase_if(sizes, [&](std::size_t n) { return n > sanitized_max; });
    return sizes;
}

} // namespace trident_test
