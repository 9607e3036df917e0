// sort and stable_sort against std::stable_sort / std::sort, for every CPU policy: the radix paths
// (ascending and descending, for int, unsigned, float, double, int8, int64), the merge sort with a
// comparator, stability, strings and a move-only type.

#include "common/algorithm_checks.hpp"
#include "common/cpu_policies.hpp"

#include <memory>
#include <string>
#include <vector>

using namespace trident_test;

TEMPLATE_TEST_CASE("sort and stable_sort of arithmetic keys match std::stable_sort", "[sort][cpu]", int, unsigned,
                   float, double, std::int8_t, std::int64_t)
{
    for (std::size_t n : test_sizes()) {
        const auto input = make_sort_keys_case<TestType>(n); // the std:: references once per size
        for_each_cpu_policy([&](const auto& policy) { check_sort_keys(policy, input); });
    }
}

TEST_CASE("stable_sort with a comparator on the key keeps equal keys in input order", "[sort][cpu]")
{
    for (std::size_t n : test_sizes()) {
        const auto input = make_sort_records_case(n);
        for_each_cpu_policy([&](const auto& policy) { check_sort_records(policy, input); });
    }
}

TEST_CASE("the radix sort of floats is stable for -0.0 and +0.0", "[sort][cpu]")
{
    // only zeros and a few other values: long runs of equal keys told apart bitwise
    for (std::size_t n : {std::size_t{255}, std::size_t{256}, std::size_t{5000}, std::size_t{65537}, std::size_t{300001}}) {
        CAPTURE(n);
        std::vector<float> keys(n);
        std::mt19937 gen(static_cast<unsigned>(n));
        for (auto& k : keys) {
            const auto r = static_cast<unsigned>(gen() % 5);
            k = r == 0 ? -0.0f : r == 1 ? 0.0f : r == 2 ? 1.5f : r == 3 ? -1.5f : 0.0f;
        }
        std::vector<float> asc = keys, desc = keys;
        std::stable_sort(asc.begin(), asc.end());
        std::stable_sort(desc.begin(), desc.end(), std::greater<>{});
        for_each_cpu_policy([&](const auto& policy) {
            std::vector<float> v = keys;
            trident::sort(policy, v);
            TRIDENT_REQUIRE_SAME(v, asc);
            v = keys;
            trident::stable_sort(policy, v, std::greater<>{});
            TRIDENT_REQUIRE_SAME(v, desc);
        });
    }
}

namespace {

void check_string_sorts(std::initializer_list<std::size_t> sizes)
{
    for (std::size_t n : sizes) {
        CAPTURE(n);
        std::vector<std::string> in(n);
        std::mt19937 gen(static_cast<unsigned>(n) + 1);
        for (auto& s : in)
            s = std::to_string(gen() % 5000) + std::string(gen() % 20, 'z'); // some longer than SSO
        auto shorter = [](const std::string& a, const std::string& b) { return a.size() < b.size(); };
        std::vector<std::string> sorted = in, by_length = in;
        std::sort(sorted.begin(), sorted.end());
        std::stable_sort(by_length.begin(), by_length.end(), shorter);
        for_each_cpu_policy([&](const auto& policy) {
            std::vector<std::string> v = in;
            trident::sort(policy, v);
            REQUIRE(v == sorted);
            v = in;
            trident::stable_sort(policy, v, shorter);
            REQUIRE(v == by_length);
        });
    }
}

void check_move_only_sorts(std::initializer_list<std::size_t> sizes)
{
    for (std::size_t n : sizes) {
        CAPTURE(n);
        const std::vector<int> values = random_ints(n, n + 7, 0, 99);
        std::vector<std::pair<int, std::size_t>> expected(n);
        for (std::size_t i = 0; i < n; ++i)
            expected[i] = {values[i], i};
        std::stable_sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        auto by_value = [](const std::unique_ptr<std::pair<int, std::size_t>>& a,
                           const std::unique_ptr<std::pair<int, std::size_t>>& b) { return a->first < b->first; };
        for_each_cpu_policy([&](const auto& policy) {
            auto make = [&] {
                std::vector<std::unique_ptr<std::pair<int, std::size_t>>> v(n);
                for (std::size_t i = 0; i < n; ++i)
                    v[i] = std::make_unique<std::pair<int, std::size_t>>(values[i], i);
                return v;
            };
            auto v = make();
            trident::stable_sort(policy, v, by_value);
            std::size_t bad = 0;
            for (std::size_t i = 0; i < n; ++i)
                bad += !v[i] || *v[i] != expected[i];
            REQUIRE(bad == 0);

            v = make();
            trident::sort(policy, v, by_value);
            std::vector<std::uint8_t> seen(n, 0);
            for (std::size_t i = 0; i < n; ++i) {
                if (!v[i] || v[i]->second >= n || seen[v[i]->second] || (i > 0 && v[i - 1] && v[i]->first < v[i - 1]->first))
                    ++bad;
                else
                    seen[v[i]->second] = 1;
            }
            REQUIRE(bad == 0);
        });
    }
}

} // namespace

// Below 8192 elements every policy sorts one block (no parallel merge).
TEST_CASE("sort and stable_sort of std::string", "[sort][cpu]") { check_string_sorts({0, 1, 2, 100, 4097, 8191}); }

TEST_CASE("sort and stable_sort of a move-only type with a comparator", "[sort][cpu]")
{
    check_move_only_sorts({0, 1, 3, 300, 4097, 8191});
}

// Above 8192 elements the merge sort merges in parallel: strings and move-only elements check that
// no piece reads an element another piece has moved from.
TEST_CASE("parallel merge sort of std::string and move-only elements", "[sort][cpu]")
{
    check_string_sorts({8193, 20000, 40000});
    check_move_only_sorts({8193, 20000, 70001});
}
