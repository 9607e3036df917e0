// [gpu] inclusive_scan / exclusive_scan under trident::gpu against std:: scans, non-commutative
// 2x2 matrix product included (tests/common/algorithm_checks.hpp), and on device_vectors.

#include "common/algorithm_checks.hpp"

#include <numeric>
#include <vector>

using namespace trident_test;

TEST_CASE("gpu: scans match std::inclusive_scan / std::exclusive_scan (int, double, 2x2 matrix product)",
          "[gpu][scan]")
{
    for (std::size_t n : test_sizes())
        check_scans(trident::gpu, n);
}

TEST_CASE("gpu: scans over device_vectors, in place and not", "[gpu][scan][device_vector]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{64}, big_size}) {
        CAPTURE(n);
        const std::vector<mat2> mats = random_mats(n, seed_for(n) + 21);
        const mat2 init{2, 7, 1, 8};
        std::vector<mat2> inc(n), exc(n);
        std::inclusive_scan(mats.begin(), mats.end(), inc.begin(), mat2_mul{}, init);
        std::exclusive_scan(mats.begin(), mats.end(), exc.begin(), init, mat2_mul{});

        trident::device_vector<mat2> d(mats), out(n);
        trident::inclusive_scan(trident::gpu, d, out, mat2_mul{}, init);
        TRIDENT_REQUIRE_SAME(out.to_host(), inc);
        trident::exclusive_scan(trident::gpu, d, d, init, mat2_mul{}); // in place
        TRIDENT_REQUIRE_SAME(d.to_host(), exc);

        // a device input into a host output and back
        std::vector<mat2> host_out(n);
        trident::device_vector<mat2> again(mats);
        trident::exclusive_scan(trident::gpu, again, host_out, init, mat2_mul{});
        TRIDENT_REQUIRE_SAME(host_out, exc);
    }
}

TEST_CASE("gpu: scans of an empty range write nothing", "[gpu][scan]")
{
    const std::vector<int> empty;
    std::vector<int> out{4, 5};
    REQUIRE(trident::inclusive_scan(trident::gpu, empty, out) == out.begin());
    REQUIRE(trident::inclusive_scan(trident::gpu, empty, out, std::plus<>{}, 9) == out.begin());
    REQUIRE(trident::exclusive_scan(trident::gpu, empty, out, 9) == out.begin());
    REQUIRE(out == std::vector<int>{4, 5});
}
