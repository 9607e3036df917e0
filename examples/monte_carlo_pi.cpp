// Monte Carlo estimate of pi: the fraction of random points of the unit square that fall inside
// the quarter circle is pi/4.
//
//   monte_carlo_pi [samples]        (default 100,000,000)
//
// The samples are cut into batches of 4096; map_reduce counts the hits of each batch (the map)
// and adds the counts (the reduction).  Point k is drawn from a counter-based generator keyed by
// k, so every policy draws the same points and counts exactly the same hits.  Runs with
// trident::seq, trident::par and, compiled by nvcc, trident::gpu; prints the time per policy.
#include "example_common.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <vector>

namespace pi_example {

constexpr std::uint64_t seed = 2026;
constexpr std::uint64_t batch = 4096;

template <class Policy>
std::uint64_t count_hits(const Policy& policy, const std::vector<std::uint64_t>& batches, std::uint64_t samples)
{
    return trident::map_reduce(
        policy, batches,
        TRIDENT_LAMBDA(std::uint64_t b) {
            const std::uint64_t first = b * batch;
            const std::uint64_t last = first + batch < samples ? first + batch : samples;
            std::uint64_t hits = 0;
            for (std::uint64_t k = first; k < last; ++k) {
                const double x = example::random_unit(seed, 2 * k);
                const double y = example::random_unit(seed, 2 * k + 1);
                hits += (x * x + y * y <= 1.0) ? 1 : 0;
            }
            return hits;
        },
        std::uint64_t{0}, std::plus<>{});
}

} // namespace pi_example

int main(int argc, char** argv)
{
    using pi_example::batch;
    const std::uint64_t samples = example::size_argument(argc, argv, 100'000'000, "samples");
    std::vector<std::uint64_t> batches((samples + batch - 1) / batch);
    std::iota(batches.begin(), batches.end(), std::uint64_t{0});
    std::printf("monte_carlo_pi: %llu samples in %zu batches of %llu\n", static_cast<unsigned long long>(samples),
                batches.size(), static_cast<unsigned long long>(batch));

    bool ok = true;
    auto report = [&](const char* policy, std::uint64_t hits, double ms, double seq_ms, std::uint64_t expected) {
        const double pi = 4.0 * static_cast<double>(hits) / static_cast<double>(samples);
        std::printf("%-4s pi ~ %.6f (error %+.2e), hits %llu\n", policy, pi, pi - M_PI,
                    static_cast<unsigned long long>(hits));
        example::print_time(policy, ms, seq_ms);
        if (hits != expected) {
            std::printf("%s: MISMATCH, %llu hits where seq counted %llu\n", policy, static_cast<unsigned long long>(hits),
                        static_cast<unsigned long long>(expected));
            ok = false;
        }
    };

    using pi_example::count_hits;
    const auto seq_run = example::timed([&] { return count_hits(trident::seq, batches, samples); });
    const std::uint64_t seq_hits = seq_run.first;
    const double seq_ms = seq_run.second;
    report("seq", seq_hits, seq_ms, 0, seq_hits);
    const auto par_run = example::timed([&] { return count_hits(trident::par, batches, samples); });
    report("par", par_run.first, par_run.second, seq_ms, seq_hits);
#if defined(__CUDACC__)
    ok &= example::run_gpu_part([&] {
        const auto gpu_run = example::timed([&] { return count_hits(trident::gpu, batches, samples); });
        report("gpu", gpu_run.first, gpu_run.second, seq_ms, seq_hits);
        return gpu_run.first == seq_hits;
    });
#endif

    // The estimate's standard error is about 1.64 / sqrt(samples): 8 of them is no accident.
    const double pi = 4.0 * static_cast<double>(seq_hits) / static_cast<double>(samples);
    if (std::fabs(pi - M_PI) > 8 * 1.64 / std::sqrt(static_cast<double>(samples))) {
        std::printf("the estimate %.6f is too far from pi\n", pi);
        ok = false;
    }
    std::printf(ok ? "policies agree\n" : "FAILED\n");
    return ok ? 0 : 1;
}
