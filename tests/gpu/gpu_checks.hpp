#pragma once
// GPU versions of the shared checks whose function objects are local classes (check_map's
// `negate`, check_reduce's `max_fn` in tests/common/algorithm_checks.hpp): nvcc refuses a type
// defined inside a host function as a template argument of a __global__ function, so these use
// namespace-scope function objects instead.  Same references, same sizes, same assertions.

#include "common/algorithm_checks.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace trident_test::gpu {

struct negate_fn {
    TRIDENT_HOST_DEVICE int operator()(int x) const { return -x; }
};

struct max_fn {
    TRIDENT_HOST_DEVICE int operator()(int x, int y) const { return x < y ? y : x; }
};

template <class Policy>
void check_map(const Policy& policy, std::size_t n)
{
    const std::uint64_t seed = seed_for(n) + 1;
    CAPTURE(n, seed);
    const std::vector<int> in = random_ints(n, seed);
    std::vector<double> expected(n);
    std::transform(in.begin(), in.end(), expected.begin(), int_to_half{});
    {
        std::vector<double> out(n + 3, -7.0); // longer output: the tail stays untouched
        auto end = trident::map(policy, in, out, int_to_half{});
        REQUIRE(end == out.begin() + static_cast<std::ptrdiff_t>(n));
        for (std::size_t i = n; i < n + 3; ++i)
            REQUIRE(out[i] == -7.0);
        out.resize(n);
        TRIDENT_REQUIRE_SAME(out, expected);
    }
    {
        std::vector<double> out = trident::map(policy, in, int_to_half{});
        TRIDENT_REQUIRE_SAME(out, expected);
    }
    {
        const std::vector<record> recs = random_records(n, seed);
        std::vector<std::uint64_t> ref(n);
        std::transform(recs.begin(), recs.end(), ref.begin(), record_key_u64{});
        TRIDENT_REQUIRE_SAME(trident::map(policy, recs, record_key_u64{}), ref);
    }
    {
        std::vector<int> inplace = in, ref = in;
        std::transform(ref.begin(), ref.end(), ref.begin(), negate_fn{});
        trident::map(policy, inplace, inplace, negate_fn{});
        TRIDENT_REQUIRE_SAME(inplace, ref);
    }
}

template <class Policy>
void check_reduce(const Policy& policy, std::size_t n)
{
    const std::uint64_t seed = seed_for(n) + 2;
    CAPTURE(n, seed);
    const std::vector<int> ints = random_ints(n, seed);
    REQUIRE(trident::reduce(policy, ints, 17) == std::accumulate(ints.begin(), ints.end(), 17));
    REQUIRE(trident::reduce(policy, ints, 17, plus_fn{}) == std::accumulate(ints.begin(), ints.end(), 17));
    std::vector<double> doubles(ints.begin(), ints.end());
    REQUIRE(trident::reduce(policy, doubles, 0.5) == std::accumulate(doubles.begin(), doubles.end(), 0.5));
    REQUIRE(trident::reduce(policy, ints, -5000, max_fn{}) == std::accumulate(ints.begin(), ints.end(), -5000, max_fn{}));
    const std::vector<mat2> mats = random_mats(n, seed);
    const mat2 init{3, 1, 4, 1};
    REQUIRE(trident::reduce(policy, mats, init, mat2_mul{}) == std::accumulate(mats.begin(), mats.end(), init, mat2_mul{}));
}

} // namespace trident_test::gpu
