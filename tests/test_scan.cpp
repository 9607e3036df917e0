// inclusive_scan (with and without init) and exclusive_scan against std:: scans, for every CPU policy.

#include "common/algorithm_checks.hpp"
#include "common/cpu_policies.hpp"

#include <algorithm>
#include <functional>
#include <random>
#include <ranges>
#include <string>
#include <utility>
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

namespace {

/// An accumulator that no element converts to: op(acc, element) counts and sums, op(acc, acc) merges.
struct count_sum {
    long count;
    double sum;
    bool operator==(const count_sum&) const = default;
};

struct count_sum_op {
    count_sum operator()(count_sum a, double x) const { return {a.count + 1, a.sum + x}; }
    count_sum operator()(count_sum a, const count_sum& b) const { return {a.count + b.count, a.sum + b.sum}; }
};

/// std::pair init over int elements: (elements seen, running maximum).
struct count_max_op {
    std::pair<long, int> operator()(std::pair<long, int> a, int x) const { return {a.first + 1, std::max(a.second, x)}; }
    std::pair<long, int> operator()(std::pair<long, int> a, const std::pair<long, int>& b) const
    {
        return {a.first + b.first, std::max(a.second, b.second)};
    }
};

/// Inclusive and exclusive scans with init as a left fold, the reference.
template <class T, class E, class Op>
void reference_scans(const std::vector<E>& in, T init, Op op, std::vector<T>& inclusive, std::vector<T>& exclusive)
{
    inclusive.clear();
    exclusive.clear();
    for (const E& x : in) {
        exclusive.push_back(init);
        init = op(init, x);
        inclusive.push_back(init);
    }
}


/// Every CPU policy, then par with grains that cut a std::vector<bool>'s 64-bit words.
template <class Body>
void for_each_word_cutting_policy(Body&& body)
{
    for_each_cpu_policy(body);
    for (long long g : {1, 63, 65, 100}) {
        INFO("policy: par.threads(3).grain(" << g << ")");
        body(trident::par.threads(3).grain(g));
    }
}

} // namespace

// Before the fix, par converted elements with T(in[i]) (count 50000 of 100000 for this accumulator:
// a double converted to count_sum is {x, 0}), and std::pair did not compile even under seq (issue 9
// item 3).
TEST_CASE("scans whose init has another type than the elements (op(T, element), op(T, T))", "[scan][cpu]")
{
    std::vector<std::size_t> sizes = test_sizes();
    sizes.push_back(100000);
    for (std::size_t n : sizes) {
        CAPTURE(n);
        const std::vector<int> ints = random_ints(n, seed_for(n) + 21);
        const std::vector<double> doubles(ints.begin(), ints.end());
        const count_sum acc_init{10, 0.5};
        std::vector<count_sum> acc_inc, acc_exc;
        reference_scans(doubles, acc_init, count_sum_op{}, acc_inc, acc_exc);
        const std::pair<long, int> pair_init{0, -5000};
        std::vector<std::pair<long, int>> pair_inc, pair_exc;
        reference_scans(ints, pair_init, count_max_op{}, pair_inc, pair_exc);
        // an int scan into a long long running total with std::plus (the parallel arithmetic case)
        std::vector<long long> wide_inc, wide_exc;
        reference_scans(ints, 3LL, std::plus<>{}, wide_inc, wide_exc);
        for_each_cpu_policy([&](const auto& policy) {
            std::vector<count_sum> acc_out(n, count_sum{-1, -1});
            trident::inclusive_scan(policy, doubles, acc_out, count_sum_op{}, acc_init);
            TRIDENT_REQUIRE_SAME(acc_out, acc_inc);
            trident::exclusive_scan(policy, doubles, acc_out, acc_init, count_sum_op{});
            TRIDENT_REQUIRE_SAME(acc_out, acc_exc);

            std::vector<std::pair<long, int>> pair_out(n, {-1, -1});
            trident::inclusive_scan(policy, ints, pair_out, count_max_op{}, pair_init);
            TRIDENT_REQUIRE_SAME(pair_out, pair_inc);
            trident::exclusive_scan(policy, ints, pair_out, pair_init, count_max_op{});
            TRIDENT_REQUIRE_SAME(pair_out, pair_exc);

            std::vector<long long> wide_out(n, -1);
            trident::inclusive_scan(policy, ints, wide_out, std::plus<>{}, 3LL);
            TRIDENT_REQUIRE_SAME(wide_out, wide_inc);
            trident::exclusive_scan(policy, ints, wide_out, 3LL);
            TRIDENT_REQUIRE_SAME(wide_out, wide_exc);
        });
    }
}

// Before the fix, tiles that met inside a 64-bit word wrote it at once and lost bits (issue 9 item 2).
TEST_CASE("scans into a std::vector<bool> are exact under every policy and grain", "[scan][cpu]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{65}, std::size_t{40000}, std::size_t{100003},
                          big_size}) {
        CAPTURE(n);
        std::vector<bool> bits(n);
        std::mt19937_64 gen(seed_for(n) + 22);
        for (std::size_t i = 0; i < n; ++i)
            bits[i] = (gen() & 1) != 0;
        auto parity = [](bool a, bool b) { return a != b; };
        // a plain loop: std::inclusive_scan over a non-const vector<bool> keeps `auto acc = *first`,
        // a reference to bit 0, and so writes its input (libstdc++ 12)
        std::vector<bool> inc(n), exc(n);
        for (std::size_t i = 0; i < n; ++i) {
            exc[i] = i == 0 ? true : parity(exc[i - 1], bits[i - 1]);
            inc[i] = i == 0 ? bool(bits[0]) : parity(inc[i - 1], bits[i]);
        }
        for_each_word_cutting_policy([&](const auto& policy) {
            std::vector<bool> out(n);
            trident::inclusive_scan(policy, bits, out, parity);
            REQUIRE(first_wrong_bit(out, inc) == no_mismatch);
            trident::exclusive_scan(policy, bits, out, true, parity);
            REQUIRE(first_wrong_bit(out, exc) == no_mismatch);
            std::vector<bool> inout = bits;
            trident::inclusive_scan(policy, inout, inout, parity);
            REQUIRE(first_wrong_bit(inout, inc) == no_mismatch);
            // into a view that starts inside a word (written by one thread)
            std::vector<bool> shifted(n + 1, true);
            auto tail = std::ranges::subrange(shifted.begin() + 1, shifted.end());
            trident::inclusive_scan(policy, bits, tail, parity);
            REQUIRE(first_wrong_bit(std::vector<bool>(shifted.begin() + 1, shifted.end()), inc) == no_mismatch);
            REQUIRE(shifted[0]);
        });
    }
}
