// par.threads(1000) under ThreadSanitizer: no report, a clean exit.
//
// oneTBB creates no more workers than its global limit (the hardware threads minus one by
// default), so a global_control raising the limit to 1000 stands in for a machine with that many
// cores: then oneTBB really starts about a thousand workers, whose bookkeeping inside libtbb
// (memory freed and compared there) TSan cannot see ordered, as libtbb is not instrumented.
#include <trident/trident.hpp>

#include <oneapi/tbb/global_control.h>

#include <cstddef>
#include <cstdio>
#include <vector>

int main()
{
    constexpr int threads = 1000;
    const tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    std::vector<int> data(1'000'000, 0);
    for (int round = 0; round < 3; ++round)
        trident::for_each_index(trident::par.threads(threads), data.size(), [&](std::size_t i) { data[i] += 1; });
    const long sum = trident::reduce(trident::par.threads(threads), data, 0L);
    std::printf("sum = %ld\n", sum);
    return sum == 3L * static_cast<long>(data.size()) ? 0 : 1;
}
