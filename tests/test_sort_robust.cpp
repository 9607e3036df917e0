// sort and stable_sort with comparators that misbehave, under every CPU policy: not a strict weak
// order (NaN with <, random answers) must stay memory-safe (run under ASan) and keep the range a
// permutation; a comparator that throws must reach the caller and keep the range a permutation
// (vector and deque, ints and strings, every path).  Also move-only trivially copyable elements
// and the scratch cache's bound.

#include "common/algorithm_checks.hpp"
#include "common/cpu_policies.hpp"

#include <atomic>
#include <bit>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

using namespace trident_test;

namespace {

/// The input's elements as a sorted list of something comparable (bit patterns for doubles).
template <class R>
auto multiset_of(const R& r)
{
    using T = std::ranges::range_value_t<R>;
    if constexpr (std::is_floating_point_v<T>) {
        std::vector<std::uint64_t> bits;
        for (T x : r)
            bits.push_back(std::bit_cast<std::uint64_t>(static_cast<double>(x)));
        std::sort(bits.begin(), bits.end());
        return bits;
    } else {
        std::vector<T> v(r.begin(), r.end());
        std::sort(v.begin(), v.end());
        return v;
    }
}

std::vector<double> doubles_with_nan(std::size_t n, std::uint64_t seed)
{
    std::vector<double> v(n);
    std::mt19937_64 gen(seed);
    for (auto& x : v)
        x = gen() % 4 == 0 ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(gen() % 1000) - 500.0;
    return v;
}

std::vector<std::string> random_strings(std::size_t n, std::uint64_t seed)
{
    std::vector<std::string> v(n);
    std::mt19937_64 gen(seed);
    for (auto& s : v)
        s = std::to_string(gen() % 100000) + std::string(gen() % 24, 'x'); // some longer than SSO
    return v;
}

/// Answers at random (from a shared counter, so it is safe to call from many threads at once).
struct random_answer {
    std::shared_ptr<std::atomic<std::uint64_t>> calls = std::make_shared<std::atomic<std::uint64_t>>(0);
    template <class T>
    bool operator()(const T&, const T&) const
    {
        std::uint64_t x = calls->fetch_add(1, std::memory_order_relaxed) * 0x9E3779B97F4A7C15ull;
        x ^= x >> 31;
        return (x * 0xBF58476D1CE4E5B9ull) >> 63;
    }
};

struct comparator_error {
    std::uint64_t call;
};

/// Compares by < and throws comparator_error on its k-th call (counted across threads).
struct throws_on_call {
    std::uint64_t k;
    std::shared_ptr<std::atomic<std::uint64_t>> calls = std::make_shared<std::atomic<std::uint64_t>>(0);
    template <class T>
    bool operator()(const T& a, const T& b) const
    {
        if (const std::uint64_t c = calls->fetch_add(1, std::memory_order_relaxed) + 1; c == k)
            throw comparator_error{c};
        return a < b;
    }
};

#if defined(TRIDENT_TESTS_SANITIZED)
constexpr std::size_t bad_comparator_big = 20'000; // parallel merges still: 2 blocks per worker of >= 4096
#else
constexpr std::size_t bad_comparator_big = 100'000;
#endif

std::vector<std::size_t> bad_comparator_sizes()
{
    std::vector<std::size_t> sizes;
    for (std::size_t n = 1; n <= 70; ++n)
        sizes.push_back(n);
    for (std::size_t n : {std::size_t{1000}, std::size_t{9000}, bad_comparator_big})
        sizes.push_back(n);
    return sizes;
}

template <class Container, class Compare>
void check_stays_permutation(const Container& in, Compare comp)
{
    const auto expected = multiset_of(in);
    for_each_cpu_policy([&](const auto& policy) {
        Container v = in;
        trident::sort(policy, v, comp);
        REQUIRE(multiset_of(v) == expected);
        v = in;
        trident::stable_sort(policy, v, comp);
        REQUIRE(multiset_of(v) == expected);
    });
}

} // namespace

TEST_CASE("a comparator that is not a strict weak order keeps the sort memory-safe and the range a permutation",
          "[sort][cpu]")
{
    for (std::size_t n : bad_comparator_sizes()) {
        CAPTURE(n);
        const auto nan_doubles = doubles_with_nan(n, n);
        check_stays_permutation(nan_doubles, [](double a, double b) { return a < b; });
        check_stays_permutation(nan_doubles, random_answer{});
        if (n <= 1000 || n == bad_comparator_big) {
            check_stays_permutation(random_strings(n, n + 1), random_answer{});
            const auto ints = random_ints(n, n + 2);
            check_stays_permutation(std::deque<int>(ints.begin(), ints.end()), random_answer{});
        }
    }
}

namespace {

/// For each policy and each fraction f: counts the comparator calls of a sort of `in`, then sorts
/// again with a comparator that throws on call max(1, f * calls), under sort and stable_sort.
template <class Container>
void check_throwing_comparator(const Container& in, std::initializer_list<double> fractions)
{
    const auto expected = multiset_of(in);
    for_each_cpu_policy([&](const auto& policy) {
        for (bool stable : {false, true}) {
            CAPTURE(stable);
            auto sort = [&](Container& v, const throws_on_call& comp) {
                if (stable)
                    trident::stable_sort(policy, v, comp);
                else
                    trident::sort(policy, v, comp);
            };
            Container v = in;
            const throws_on_call counter{0};
            sort(v, counter);
            const std::uint64_t calls = counter.calls->load();
            for (double f : fractions) {
                const std::uint64_t k = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(f * static_cast<double>(calls)));
                CAPTURE(calls, k);
                v = in;
                REQUIRE_THROWS_AS(sort(v, throws_on_call{k}), comparator_error);
                REQUIRE(multiset_of(v) == expected);
            }
        }
    });
}

} // namespace

TEST_CASE("a comparator that throws reaches the caller and leaves the range a permutation", "[sort][cpu]")
{
    // Call 1 throws in the first block, later calls in the block phase, in the split searches and in
    // the merge rounds (these take the last calls).
    const std::initializer_list<double> fractions = {0.0, 0.3, 0.8, 0.9, 0.97, 0.999};
#if defined(TRIDENT_TESTS_SANITIZED)
    const std::size_t big = 20'000; // several merge rounds still (2 blocks per worker of >= 4096)
#else
    const std::size_t big = 100'000;
#endif
    for (std::size_t n : {std::size_t{17}, std::size_t{5000}, big}) {
        CAPTURE(n);
        const auto ints = random_ints(n, n + 3);
        check_throwing_comparator(ints, fractions);
        check_throwing_comparator(std::deque<int>(ints.begin(), ints.end()), fractions);
        check_throwing_comparator(random_strings(n, n + 4), fractions);
        check_throwing_comparator(std::deque<std::string>(ints.size(), "s"), {0.5}); // equal keys
    }
}

namespace {

/// Trivially copyable (as the standard defines it) but not copyable: ParlayLib's uncopyable.
struct uncopyable {
    int value;
    int index;
    uncopyable(int v, int i) : value(v), index(i) {}
    uncopyable(const uncopyable&) = delete;
    uncopyable& operator=(const uncopyable&) = delete;
    uncopyable(uncopyable&&) = default;
    uncopyable& operator=(uncopyable&&) = default;
    ~uncopyable() = default;
    friend bool operator<(const uncopyable& a, const uncopyable& b) { return a.value < b.value; }
};
static_assert(std::is_trivially_copyable_v<uncopyable> && !std::is_copy_constructible_v<uncopyable>);

} // namespace

TEST_CASE("sort and stable_sort of move-only trivially copyable elements", "[sort][cpu]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{17}, std::size_t{5000}, std::size_t{100'003}}) {
        CAPTURE(n);
        const auto values = random_ints(n, n + 5, 0, 999);
        for_each_cpu_policy([&](const auto& policy) {
            for (bool stable : {false, true}) {
                std::vector<uncopyable> v;
                v.reserve(n);
                for (std::size_t i = 0; i < n; ++i)
                    v.emplace_back(values[i], static_cast<int>(i));
                if (stable)
                    trident::stable_sort(policy, v, [](const uncopyable& a, const uncopyable& b) { return a.value < b.value; });
                else
                    trident::sort(policy, v);
                std::size_t bad = 0;
                for (std::size_t i = 1; i < n; ++i)
                    bad += v[i - 1].value > v[i].value ||
                           (v[i - 1].value == v[i].value && v[i - 1].index > v[i].index); // merge sort: stable
                REQUIRE(bad == 0);
            }
        });
    }
}

TEST_CASE("the sort scratch cache keeps at most its bound idle and release_sort_scratch frees it", "[sort][cpu]")
{
    using cache = trident::detail::scratch_cache;
    trident::release_sort_scratch();
    REQUIRE(cache::idle_bytes() == 0);
    std::vector<std::uint32_t> keys(1 << 20);
    std::mt19937 gen(7);
    for (auto& k : keys)
        k = static_cast<std::uint32_t>(gen());
    trident::sort(trident::par, keys); // 4 MiB of scratch, kept for the next sort
    REQUIRE(std::is_sorted(keys.begin(), keys.end()));
    const std::size_t idle = cache::idle_bytes();
    REQUIRE(idle >= keys.size() * sizeof(std::uint32_t));
    REQUIRE(idle <= cache::max_idle_bytes);
    // sorts of many sizes: never more than the bound idle, never more than max_idle_blocks blocks
    for (std::size_t mib = 1; mib <= 12; ++mib) {
        std::vector<double> d(mib << 17, 1.5);
        d[0] = -1.0;
        trident::sort(trident::par, d, [](double a, double b) { return a < b; });
        REQUIRE((d.front() == -1.0 && d.back() == 1.5));
        REQUIRE(cache::idle_bytes() <= cache::max_idle_bytes);
    }
    // blocks 2 MiB-rounded: 4 blocks of at most 12 MiB and 2 MiB rounding each
    REQUIRE(cache::idle_bytes() <= cache::max_idle_blocks * (std::size_t{14} << 20));
    REQUIRE(trident::release_sort_scratch() > 0);
    REQUIRE(cache::idle_bytes() == 0);
}
