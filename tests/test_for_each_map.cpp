// for_each, for_each_index and map (both forms) against std:: references, for every CPU policy.

#include "common/algorithm_checks.hpp"
#include "common/cpu_policies.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <ranges>
#include <string>
#include <type_traits>
#include <vector>

using namespace trident_test;

TEST_CASE("for_each matches std::for_each", "[for_each][cpu]")
{
    for (std::size_t n : test_sizes())
        for_each_cpu_policy([&](const auto& policy) { check_for_each(policy, n); });
}

TEST_CASE("for_each_index visits every index exactly once", "[for_each][cpu]")
{
    for (std::size_t n : test_sizes()) {
        CAPTURE(n);
        for_each_cpu_policy([&](const auto& policy) {
            std::vector<std::atomic<std::uint32_t>> visits(n);
            trident::for_each_index(policy, n, [&](std::size_t i) { visits[i].fetch_add(1, std::memory_order_relaxed); });
            std::size_t wrong = 0, first_wrong = no_mismatch;
            for (std::size_t i = 0; i < n; ++i)
                if (visits[i].load() != 1) {
                    ++wrong;
                    first_wrong = std::min(first_wrong, i);
                }
            INFO("first index not visited exactly once: " << first_wrong);
            REQUIRE(wrong == 0);
            // signed counts work the same
            std::vector<int> out(n, 0);
            trident::for_each_index(policy, static_cast<long long>(n), [&](std::size_t i) { out[i] = static_cast<int>(i % 1000); });
            std::vector<int> expected(n);
            for (std::size_t i = 0; i < n; ++i)
                expected[i] = static_cast<int>(i % 1000);
            TRIDENT_REQUIRE_SAME(out, expected);
        });
    }
}

TEST_CASE("map into a range and into a new vector matches std::transform", "[map][cpu]")
{
    for (std::size_t n : test_sizes())
        for_each_cpu_policy([&](const auto& policy) { check_map(policy, n); });
}

namespace {

std::vector<std::string> make_strings(std::size_t n)
{
    std::vector<std::string> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = "item-" + std::to_string(i * 7919 % 100003) + std::string(i % 23, 'x'); // some beyond SSO
    return v;
}

} // namespace

TEST_CASE("for_each and map on std::string (not trivially copyable)", "[for_each][map][cpu]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{33}, std::size_t{4097}, std::size_t{40000}}) {
        CAPTURE(n);
        const std::vector<std::string> in = make_strings(n);
        for_each_cpu_policy([&](const auto& policy) {
            std::vector<std::string> v = in, expected = in;
            for (auto& s : expected)
                s += "!";
            trident::for_each(policy, v, [](std::string& s) { s += "!"; });
            REQUIRE(v == expected);

            std::vector<std::size_t> lengths = trident::map(policy, in, [](const std::string& s) { return s.size(); });
            std::vector<std::size_t> ref_lengths(n);
            std::transform(in.begin(), in.end(), ref_lengths.begin(), [](const std::string& s) { return s.size(); });
            REQUIRE(lengths == ref_lengths);

            std::vector<std::string> upper(n, "stale");
            trident::map(policy, in, upper, [](const std::string& s) { return s + s; });
            std::vector<std::string> ref_upper(n);
            std::transform(in.begin(), in.end(), ref_upper.begin(), [](const std::string& s) { return s + s; });
            REQUIRE(upper == ref_upper);
        });
    }
}

TEST_CASE("for_each and map with a move-only element type", "[for_each][map][cpu]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{9}, std::size_t{4097}, std::size_t{70000}}) {
        CAPTURE(n);
        for_each_cpu_policy([&](const auto& policy) {
            std::vector<std::unique_ptr<int>> ptrs(n);
            for (std::size_t i = 0; i < n; ++i)
                ptrs[i] = std::make_unique<int>(static_cast<int>(i));
            trident::for_each(policy, ptrs, [](std::unique_ptr<int>& p) { *p = *p * 2 + 1; });
            std::size_t bad = 0;
            for (std::size_t i = 0; i < n; ++i)
                bad += (!ptrs[i] || *ptrs[i] != static_cast<int>(2 * i + 1));
            REQUIRE(bad == 0);

            // map from move-only elements into a range of move-only results
            std::vector<std::unique_ptr<long>> out(n);
            trident::map(policy, ptrs, out, [](const std::unique_ptr<int>& p) { return std::make_unique<long>(*p * 3L); });
            // map returning a std::vector of move-only results
            std::vector<std::unique_ptr<long>> made =
                trident::map(policy, ptrs, [](const std::unique_ptr<int>& p) { return std::make_unique<long>(*p - 1L); });
            REQUIRE(made.size() == n);
            for (std::size_t i = 0; i < n; ++i) {
                const long v = static_cast<long>(2 * i + 1);
                bad += (!out[i] || *out[i] != 3 * v) + (!made[i] || *made[i] != v - 1);
            }
            REQUIRE(bad == 0);
        });
    }
}

namespace {

/// Every CPU policy, then par with grains that cut a std::vector<bool>'s 64-bit words (1, 63, 65, 100).
template <class Body>
void for_each_word_cutting_policy(Body&& body)
{
    for_each_cpu_policy(body);
    for (long long g : {1, 63, 65, 100}) {
        INFO("policy: par.grain(" << g << ")");
        body(trident::par.grain(g));
        INFO("policy: par.threads(8).grain(" << g << ")");
        body(trident::par.threads(8).grain(g));
    }
}


std::vector<std::size_t> bool_sizes()
{
    return {0, 1, 63, 64, 65, 100, 1000, 4097, 40000, 65537, big_size};
}

} // namespace

// Before the fix, chunks that met inside a 64-bit word wrote it at once and lost bits (issue 9 item 2).
TEST_CASE("map, for_each and map into a std::vector<bool> are exact under every policy and grain", "[map][for_each][cpu]")
{
    for (std::size_t n : bool_sizes()) {
        CAPTURE(n);
        const std::vector<int> ints = random_ints(n, seed_for(n) + 11);
        auto positive = [](int x) { return x > 0; };
        std::vector<bool> expected(n);
        std::transform(ints.begin(), ints.end(), expected.begin(), positive);
        for_each_word_cutting_policy([&](const auto& policy) {
            const std::vector<bool> made = trident::map(policy, ints, positive);
            REQUIRE(first_wrong_bit(made, expected) == no_mismatch);

            std::vector<bool> into(n + 5, true);
            auto end = trident::map(policy, ints, into, positive);
            REQUIRE(end == into.begin() + static_cast<std::ptrdiff_t>(n));
            REQUIRE(first_wrong_bit(std::vector<bool>(into.begin(), into.begin() + static_cast<std::ptrdiff_t>(n)), expected) == no_mismatch);
            REQUIRE(std::count(into.begin() + static_cast<std::ptrdiff_t>(n), into.end(), true) == 5);

            // in place: a vector<bool> read and written by the same chunks
            std::vector<bool> flipped = expected;
            trident::map(policy, flipped, flipped, [](bool b) { return !b; });
            trident::for_each(policy, flipped, [](std::vector<bool>::reference b) { b.flip(); });
            REQUIRE(first_wrong_bit(flipped, expected) == no_mismatch);
        });
    }
}

TEST_CASE("map into a view that starts inside a vector<bool>'s word is exact (written by one thread)", "[map][cpu]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{70}, std::size_t{40000}, big_size}) {
        CAPTURE(n);
        const std::vector<int> ints = random_ints(n, seed_for(n) + 12);
        auto positive = [](int x) { return x > 0; };
        for_each_word_cutting_policy([&](const auto& policy) {
            std::vector<bool> bits(n + 3, true);
            auto tail = std::ranges::subrange(bits.begin() + 3, bits.end());
            trident::map(policy, ints, tail, positive);
            std::size_t wrong = 0;
            for (std::size_t i = 0; i < n; ++i)
                wrong += bits[i + 3] != positive(ints[i]);
            REQUIRE(wrong == 0);
            REQUIRE((bits[0] && bits[1] && bits[2]));
            trident::for_each(policy, tail, [](std::vector<bool>::reference b) { b.flip(); });
            for (std::size_t i = 0; i < n; ++i)
                wrong += bits[i + 3] == positive(ints[i]);
            REQUIRE(wrong == 0);
        });
    }
}

TEST_CASE("for_each_index passes a std::size_t to a generic lambda and accepts 64-bit index types", "[for_each][cpu]")
{
    const std::size_t n = 5000;
    std::vector<int> out(n, 0);
    trident::for_each_index(trident::par, n, [&](auto i) {
        static_assert(std::is_same_v<decltype(i), std::size_t>);
        out[i] += 1;
    });
    trident::for_each_index(trident::par, n, [&](long long i) { out[static_cast<std::size_t>(i)] += 2; });
    trident::for_each_index(trident::par, n, [&](const std::size_t& i) { out[i] += 4; });
    REQUIRE(std::count(out.begin(), out.end(), 7) == static_cast<std::ptrdiff_t>(n));
}
