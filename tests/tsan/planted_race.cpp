// A race planted in a parallel body, which ThreadSanitizer must report with tests/tsan.supp in
// effect: the suppressions name only oneTBB's own hand-offs, never a frame a body runs under.
//
//   tsan_planted_race counter       for_each_index(par, 10^6) incrementing one unsynchronised counter
//   tsan_planted_race vector_bool   a std::vector<bool> written by two chunks (bits of one word)
//   tsan_planted_race invoke        parallel_invoke's two functions writing one int
//
// Run by ctest under the tsan preset only; each test passes when the report names a data race in
// the planted access.  Needs two hardware threads (with one, par runs everything inline).
#include <trident/trident.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string_view>
#include <thread>
#include <vector>

int main(int argc, char** argv)
{
    const std::string_view mode = argc > 1 ? argv[1] : "";
    // Parts that must run on two threads wait (at most 60 s: a loaded machine may take long to start
    // the second worker) until both have started.
    std::atomic<int> started{0};
    auto both_started = [&] {
        started.fetch_add(1);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (started.load() < 2 && std::chrono::steady_clock::now() < until)
            std::this_thread::yield();
    };
    if (mode == "counter") {
        long counter = 0;
        trident::for_each_index(trident::par, std::size_t{1'000'000}, [&](std::size_t) { ++counter; });
        std::printf("counter = %ld\n", counter);
    } else if (mode == "vector_bool") {
        // Two chunks of 32 bits (grain 32 over 64 elements): one 64-bit word, written by both.  On a
        // loaded machine a worker may not take the second chunk within the wait, so the run is
        // repeated (at most 20 times) until the two chunks ran on two threads.
        for (int attempt = 0; attempt < 20; ++attempt) {
            started.store(0);
            std::vector<bool> bits(64);
            std::thread::id chunk_thread[2];
            trident::for_each_index(trident::par.grain(32), bits.size(), [&](std::size_t i) {
                if (i % 32 == 0) {
                    chunk_thread[i / 32] = std::this_thread::get_id();
                    both_started();
                }
                bits[i] = i % 3 == 0;
            });
            std::printf("attempt %d: bit 3 = %d\n", attempt, static_cast<int>(bits[3]));
            if (chunk_thread[0] != chunk_thread[1])
                break;
        }
    } else if (mode == "invoke") {
        int shared = 0;
        trident::parallel_invoke(trident::par, [&] { both_started(); shared += 1; }, [&] { both_started(); shared += 2; });
        std::printf("shared = %d\n", shared);
    } else {
        std::fprintf(stderr, "usage: %s counter|vector_bool|invoke\n", argv[0]);
        return 2;
    }
    return 0;
}
