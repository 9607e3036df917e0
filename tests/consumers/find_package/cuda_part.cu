// The CUDA half of the find_package consumer (built when trident_WITH_CUDA is ON): a CUDA source
// that only links trident::trident, with no flags of its own (the target adds --extended-lambda).
#include <trident/trident.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

bool cuda_part()
{
    std::vector<double> values(1000);
    std::iota(values.begin(), values.end(), 1.0);
    const double expected = 1000.0 * 1001.0 / 2;
    auto add = TRIDENT_LAMBDA(double a, double b) { return a + b; };
    const double on_cpu = trident::reduce(trident::par, values, 0.0, add);
    std::printf("cuda source: reduce(par, 1..1000) = %.1f\n", on_cpu);
    if (on_cpu != expected)
        return false;
    try {
        const double on_gpu = trident::reduce(trident::gpu, values, 0.0, add);
        std::printf("cuda source: reduce(gpu, 1..1000) = %.1f\n", on_gpu);
        return on_gpu == expected;
    } catch (const trident::device_unavailable& e) {
        std::printf("cuda source: gpu skipped (%s)\n", e.what());
        return true;
    }
}
