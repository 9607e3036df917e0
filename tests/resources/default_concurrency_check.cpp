// The default concurrency follows the affinity mask, checked on a real mask (it is read once per
// process, so each case is its own process, run by ctest):
//
//   default_concurrency_check mask     run under `taskset -c 0`: one CPU from the start
//   default_concurrency_check narrow   oneTBB starts on every CPU, then the process narrows its
//                                      mask to one CPU before its first trident call: oneTBB
//                                      keeps its default, trident's plain par runs on one thread
//
// Prints what is wrong and exits 1 on failure; exits 77 (skipped) when the case cannot be set up.

#include "common/concurrency_probe.hpp"
#include "trident/trident.hpp"

#include <oneapi/tbb/info.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include <sched.h>

namespace {

int failures = 0;

void expect(bool ok, const char* what, long long got)
{
    if (!ok) {
        std::fprintf(stderr, "FAILED: %s (got %lld)\n", what, got);
        ++failures;
    }
}

int peak_bodies()
{
    return trident_test::peak_concurrent_bodies(trident::par.grain(1), 400, std::chrono::microseconds(200));
}

} // namespace

int main(int argc, char** argv)
{
    const bool narrow = argc > 1 && std::strcmp(argv[1], "narrow") == 0;
    if (narrow) {
        // oneTBB starts with every CPU of the mask (and its workers run).  The call's context is
        // static, not on this stack: a worker may still read it after the call returned, through
        // libtbb's synchronisation, which ThreadSanitizer does not see, and the stack is reused by
        // the calls below (a TSan CI run reported that read against the pipeline's constructor).
        static tbb::task_group_context warm_up;
        tbb::parallel_for(tbb::blocked_range<int>(0, 1000), [](const tbb::blocked_range<int>&) {}, warm_up);
        if (tbb::info::default_concurrency() < 2) {
            std::printf("one CPU only: nothing to narrow\n");
            return 77;
        }
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu(), &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) {
            std::printf("sched_setaffinity refused\n");
            return 77;
        }
    } else if (tbb::info::default_concurrency() != 1) {
        std::fprintf(stderr, "run me under taskset -c 0 (oneTBB sees %d CPUs)\n", tbb::info::default_concurrency());
        return 1;
    }

    expect(trident::default_concurrency() == 1, "default_concurrency() == 1", trident::default_concurrency());
    expect(peak_bodies() == 1, "plain par runs one body at a time", peak_bodies());
    auto noop = trident::stage(trident::serial_in_order, [](int) {});
    const auto stats = trident::run_pipeline(trident::par, trident::source([i = 0]() mutable -> std::optional<int> {
                                                 return i < 10 ? std::optional<int>(i++) : std::nullopt;
                                             }),
                                             noop);
    expect(stats.max_tokens == 4, "the pipeline's default token bound is 4 x default_concurrency()",
           static_cast<long long>(stats.max_tokens));
    std::atomic<int> active{0}, peak{0};
    {
        trident::task_group group(trident::par);
        for (int k = 0; k < 8; ++k)
            group.run([&] {
                const int now = active.fetch_add(1) + 1;
                int seen = peak.load();
                while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                active.fetch_sub(1);
            });
        group.wait();
    }
    expect(peak.load() == 1, "a task_group under plain par runs one task at a time", peak.load());
    if (failures == 0)
        std::printf("default_concurrency() == 1, plain par, pipeline and task_group on one thread\n");
    return failures == 0 ? 0 : 1;
}
