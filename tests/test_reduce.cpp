// reduce and map_reduce against std::accumulate, for every CPU policy.

#include "common/algorithm_checks.hpp"
#include "common/cpu_policies.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using namespace trident_test;

TEST_CASE("reduce matches the sequential fold (int, double, max, 2x2 matrix product)", "[reduce][cpu]")
{
    for (std::size_t n : test_sizes())
        for_each_cpu_policy([&](const auto& policy) { check_reduce(policy, n); });
}

TEST_CASE("map_reduce matches the sequential fold (struct, non-commutative matrix product)", "[reduce][cpu]")
{
    for (std::size_t n : test_sizes())
        for_each_cpu_policy([&](const auto& policy) { check_map_reduce(policy, n); });
}

TEST_CASE("reduce with string concatenation keeps the order", "[reduce][cpu]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{9}, std::size_t{33},
                          std::size_t{1000}, std::size_t{4097}, std::size_t{50000}}) {
        CAPTURE(n);
        std::vector<std::string> words(n);
        for (std::size_t i = 0; i < n; ++i)
            words[i] = std::to_string(i % 97) + (i % 5 == 0 ? "," : ";");
        const std::string expected = std::accumulate(words.begin(), words.end(), std::string("<"));
        for_each_cpu_policy([&](const auto& policy) {
            const std::string got = trident::reduce(policy, words, std::string("<"), std::plus<>{});
            REQUIRE(got.size() == expected.size());
            REQUIRE(got == expected);
        });
    }
}

TEST_CASE("map_reduce over move-only elements", "[reduce][cpu]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{9}, std::size_t{100},
                          std::size_t{4097}, std::size_t{70001}}) {
        CAPTURE(n);
        std::vector<std::unique_ptr<int>> ptrs(n);
        for (std::size_t i = 0; i < n; ++i)
            ptrs[i] = std::make_unique<int>(static_cast<int>(i % 1000) - 500);
        long long expected = 11;
        for (const auto& p : ptrs)
            expected += *p;
        for_each_cpu_policy([&](const auto& policy) {
            REQUIRE(trident::map_reduce(policy, ptrs, [](const std::unique_ptr<int>& p) { return static_cast<long long>(*p); },
                                        11LL, std::plus<>{}) == expected);
        });
    }
}

TEST_CASE("reduce of an empty range returns init", "[reduce][cpu]")
{
    const std::vector<int> empty;
    for_each_cpu_policy([&](const auto& policy) {
        REQUIRE(trident::reduce(policy, empty, 42) == 42);
        REQUIRE(trident::map_reduce(policy, empty, [](int x) { return x * 2; }, -3) == -3);
        REQUIRE(trident::reduce(policy, std::vector<std::string>{}, std::string("init"), std::plus<>{}) == "init");
    });
}

namespace {
struct boxed {
    std::unique_ptr<std::uint64_t> value;
    explicit boxed(std::uint64_t v) : value(std::make_unique<std::uint64_t>(v)) {}
};
} // namespace

TEST_CASE("map_reduce with a move-only result type", "[reduce][cpu]")
{
    auto add = [](boxed a, boxed b) {
        *a.value += *b.value;
        return a;
    };
    auto box = [](int x) { return boxed(static_cast<std::uint64_t>(x)); };
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{5000}, std::size_t{100000}}) {
        CAPTURE(n);
        std::vector<int> v(n, 2);
        for_each_cpu_policy([&](const auto& policy) {
            const boxed sum = trident::map_reduce(policy, v, box, boxed(1), add);
            REQUIRE(*sum.value == 1 + 2 * n);
        });
    }
}
