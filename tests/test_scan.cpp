// inclusive_scan (with and without init) and exclusive_scan against std:: scans, for every CPU policy.

#include "common/algorithm_checks.hpp"
#include "common/cpu_policies.hpp"

#include <string>
#include <vector>

using namespace trident_test;

TEST_CASE("scans match std::inclusive_scan / std::exclusive_scan (int, double, 2x2 matrix product)", "[scan][cpu]")
{
    for (std::size_t n : test_sizes())
        for_each_cpu_policy([&](const auto& policy) { check_scans(policy, n); });
}

TEST_CASE("scans with string concatenation (non-commutative, not trivially copyable)", "[scan][cpu]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{300},
                          std::size_t{32768}, std::size_t{40000}}) {
        CAPTURE(n);
        std::vector<std::string> in(n);
        for (std::size_t i = 0; i < n; ++i)
            in[i] = std::string(1, static_cast<char>('a' + i % 26));
        // the running strings grow: keep only the last 8 characters of the prefix, which is still
        // associative (a suffix of a concatenation depends only on the suffixes of its parts)
        auto cat = [](const std::string& a, const std::string& b) {
            std::string s = a + b;
            return s.size() > 8 ? s.substr(s.size() - 8) : s;
        };
        std::vector<std::string> inc(n), inc_init(n), exc(n);
        std::inclusive_scan(in.begin(), in.end(), inc.begin(), cat);
        std::inclusive_scan(in.begin(), in.end(), inc_init.begin(), cat, std::string("<"));
        std::exclusive_scan(in.begin(), in.end(), exc.begin(), std::string("<"), cat);
        for_each_cpu_policy([&](const auto& policy) {
            std::vector<std::string> out(n, "stale");
            trident::inclusive_scan(policy, in, out, cat);
            REQUIRE(out == inc);
            trident::inclusive_scan(policy, in, out, cat, std::string("<"));
            REQUIRE(out == inc_init);
            trident::exclusive_scan(policy, in, out, std::string("<"), cat);
            REQUIRE(out == exc);
        });
    }
}

TEST_CASE("scans of an empty range write nothing", "[scan][cpu]")
{
    const std::vector<int> empty;
    for_each_cpu_policy([&](const auto& policy) {
        std::vector<int> out{4, 5};
        REQUIRE(trident::inclusive_scan(policy, empty, out) == out.begin());
        REQUIRE(trident::inclusive_scan(policy, empty, out, std::plus<>{}, 9) == out.begin());
        REQUIRE(trident::exclusive_scan(policy, empty, out, 9) == out.begin());
        REQUIRE(out == std::vector<int>{4, 5});
    });
}
