// trident::commutative and trident::offloadable (hints.hpp) on the CPU, and automatic's cost model
// (detail/offload.hpp), which decides on the host whether a call's GPU part would pay.

#include "common/algorithm_checks.hpp"
#include "common/cpu_policies.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace trident_test;

TEST_CASE("hints: commutative and offloadable wrappers change no CPU result", "[hints][cpu]")
{
    std::vector<std::string> words;
    for (int i = 0; i < 5000; ++i)
        words.push_back(std::to_string(i % 37));
    const std::string ref = std::accumulate(words.begin(), words.end(), std::string("<"));
    auto concat = [](std::string a, const std::string& b) { return a + b; };
    for_each_cpu_policy([&](const auto& policy) {
        // declared commutative wrongly: the CPU still combines in index order
        REQUIRE(trident::reduce(policy, words, std::string("<"), trident::commutative(concat)) == ref);
        REQUIRE(trident::reduce(policy, words, std::string("<"), trident::offloadable(trident::commutative(concat))) ==
                ref);
        std::vector<int> v(1000, 1);
        trident::for_each(policy, v, trident::offloadable([](int& x) { x += 2; }, 5));
        REQUIRE(std::count(v.begin(), v.end(), 3) == 1000);
    });
    REQUIRE_THROWS_AS(trident::offloadable([] {}, -1.0), std::invalid_argument);
    REQUIRE_THROWS_AS(trident::offloadable([] {}, std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
    static_assert(trident::detail::declared_commutative<trident::offloadable_fn<trident::commutative_fn<std::plus<>>>>());
    static_assert(trident::detail::declared_offloadable<trident::commutative_fn<trident::offloadable_fn<std::plus<>>>>());
    static_assert(!trident::detail::declared_offloadable<std::plus<>>());
    const auto both = trident::commutative(trident::offloadable(std::plus<>{}, 7));
    REQUIRE(trident::detail::declared_cpu_ns(both) == 7);
}

TEST_CASE("hints: automatic's cost model keeps cheap host work on the CPU and sends sorts to the GPU", "[hints][cpu]")
{
    using trident::detail::offload_for_each;
    using trident::detail::offload_index;
    using trident::detail::offload_map;
    using trident::detail::offload_reduce;
    using trident::detail::offload_sort;
    const std::size_t n = std::size_t{1} << 24;
    auto cheap = [](float x) { return x; };
    const auto expensive = trident::offloadable([](float x) { return x; }, 500);
    for (int workers : {1, 2, 16, 64}) {
        CAPTURE(workers);
        // element-wise work on host data never pays: the copies move what the CPU would touch
        REQUIRE_FALSE(offload_map<std::vector<float>, std::vector<float>>(n, trident::offloadable(cheap)).cost.gpu_pays(workers));
        REQUIRE_FALSE(offload_for_each<std::vector<double>>(n, trident::offloadable(cheap)).cost.gpu_pays(workers));
        REQUIRE_FALSE(offload_reduce<std::vector<float>>(n, trident::identity_fn{}, std::plus<>{}).cost.gpu_pays(workers));
        // declared expensive, or a for_each_index (no copies), or a sort of host data: it does
        REQUIRE(offload_map<std::vector<float>, std::vector<float>>(n, expensive).cost.gpu_pays(workers));
        REQUIRE(offload_index(n, trident::offloadable([](std::size_t) {})).cost.gpu_pays(workers));
        if (workers <= 16)
            REQUIRE(offload_sort<std::vector<std::uint32_t>, true>(n, std::less<>{}).cost.gpu_pays(workers));
    }
    // small inputs never pay (a GPU call costs about 20 us)
    REQUIRE_FALSE(offload_map<std::vector<float>, std::vector<float>>(10, expensive).cost.gpu_pays(1));
    // what may go to the GPU at all: a user function only when declared offloadable
    static_assert(!decltype(offload_index(n, cheap))::safe);
    static_assert(!decltype(offload_map<std::vector<float>, std::vector<float>>(n, cheap))::safe);
    static_assert(decltype(offload_map<std::vector<float>, std::vector<float>>(n, expensive))::safe);
    static_assert(decltype(offload_reduce<std::vector<float>>(n, trident::identity_fn{}, std::plus<>{}))::safe);
    static_assert(decltype(offload_sort<std::vector<float>, true>(n, cheap))::safe); // radix: no comparator call
    static_assert(!decltype(offload_sort<std::vector<float>, false>(n, cheap))::safe);
}
