#pragma once
// How many bodies of one trident call ran at once: the probe behind the tests of thread caps and
// of the default concurrency.  No Catch2 here, so that stand-alone check programs can use it too.

#include "trident/trident.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>

namespace trident_test {

/// Runs `n` bodies that each spin for `body` under `policy` and returns the largest number that
/// ran at once.
template <class Policy>
int peak_concurrent_bodies(const Policy& policy, std::size_t n = 400,
                           std::chrono::microseconds body = std::chrono::microseconds(50))
{
    std::atomic<int> active{0}, peak{0};
    trident::for_each_index(policy, n, [&](std::size_t) {
        const int now = active.fetch_add(1) + 1;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        const auto until = std::chrono::steady_clock::now() + body;
        while (std::chrono::steady_clock::now() < until) {
        }
        active.fetch_sub(1);
    });
    return peak.load();
}

} // namespace trident_test
