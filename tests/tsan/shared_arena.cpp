// User threads sharing trident's arenas, under ThreadSanitizer: no report may come out.
//
// Four std::threads call par algorithms at once on the same cached arena (par.threads(2)), then on
// the default one: oneTBB then hands one thread's call to another thread already in the arena
// (task_arena::execute delegates it when no slot is free), and a thread waiting in one call takes
// chunks of another's.  Each thread works on its own data and checks its own results.
#include <trident/trident.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <numeric>
#include <thread>
#include <vector>

int main()
{
    constexpr int threads = 4;
    constexpr int rounds = 8;
    std::vector<int> failures(threads, 0);
    std::vector<std::thread> users;
    for (int t = 0; t < threads; ++t)
        users.emplace_back([t, &failures] {
            std::vector<long> data(50'000);
            for (int round = 1; round <= rounds; ++round) {
                const auto policy = round <= rounds / 2 ? trident::par.threads(2) : trident::par;
                trident::for_each_index(policy, data.size(), [&](std::size_t i) { data[i] += 1; });
                const long sum = trident::reduce(policy, data, 0L);
                std::vector<long> keys(data.size());
                std::iota(keys.rbegin(), keys.rend(), 0L);
                trident::sort(policy, keys);
                std::vector<long> scanned(data.size());
                trident::inclusive_scan(policy, data, scanned);
                long a = 0, b = 0;
                trident::parallel_invoke(policy, [&] { a = round; }, [&] { b = round; });
                const bool ok = sum == static_cast<long>(data.size()) * round && std::is_sorted(keys.begin(), keys.end()) &&
                                scanned.back() == sum && a == round && b == round;
                failures[static_cast<std::size_t>(t)] += ok ? 0 : 1;
            }
        });
    for (auto& u : users)
        u.join();
    const int failed = std::accumulate(failures.begin(), failures.end(), 0);
    std::printf("%d wrong results\n", failed);
    return failed == 0 ? 0 : 1;
}
