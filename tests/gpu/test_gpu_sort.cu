// [gpu] sort / stable_sort under trident::gpu: CUB radix sort for arithmetic keys with the default
// order or std::greater, CUB merge sort otherwise; stability with key/index records.

#include "common/algorithm_checks.hpp"
#include "gpu/gpu_test_env.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

using namespace trident_test;

TEST_CASE("gpu: sort of arithmetic keys matches std::stable_sort (radix and merge paths)", "[gpu][sort]")
{
    for (std::size_t n : gpu_sizes(test_sizes())) {
        check_sort_keys<int>(trident::gpu, n);
        check_sort_keys<double>(trident::gpu, n);
    }
}

TEST_CASE("gpu: stable_sort keeps ties in input order (records sorted by key)", "[gpu][sort]")
{
    for (std::size_t n : gpu_sizes(test_sizes()))
        check_sort_records(trident::gpu, n);
}

TEST_CASE("gpu: sort of device_vectors", "[gpu][sort][device_vector]")
{
    for (std::size_t n : gpu_sizes({0, 1, 2, 7, 1000, big_size})) {
        CAPTURE(n);
        const std::vector<std::uint32_t> keys = random_keys<std::uint32_t>(n, seed_for(n) + 31);
        std::vector<std::uint32_t> asc = keys, desc = keys;
        std::sort(asc.begin(), asc.end());
        std::sort(desc.begin(), desc.end(), std::greater<>{});

        trident::device_vector<std::uint32_t> d(keys);
        trident::sort(trident::gpu, d);
        TRIDENT_REQUIRE_SAME(d.to_host(), asc);
        trident::sort(trident::gpu, d, std::greater<>{});
        TRIDENT_REQUIRE_SAME(d.to_host(), desc);

        const std::vector<record> recs = random_records(n, seed_for(n) + 32, 20);
        std::vector<record> expected = recs;
        std::stable_sort(expected.begin(), expected.end(), record_key_less{});
        trident::device_vector<record> dr(recs);
        trident::stable_sort(trident::gpu, dr, record_key_less{});
        TRIDENT_REQUIRE_SAME(dr.to_host(), expected);
    }
}
