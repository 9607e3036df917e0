#pragma once
// Algorithm checks written once over the execution policy: each check_* function runs one trident
// algorithm under `policy` on generated input of n elements and compares the result with a std::
// reference computed on the calling thread.  The CPU tests run them for seq, par and par's options;
// the GPU tests may run them for trident::gpu (hence: trivially copyable element types only, and
// function objects whose call operators are TRIDENT_HOST_DEVICE).
//
// Assertions (REQUIRE/INFO) run on the calling thread only, never inside a parallel body.

#include "trident/trident.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace trident_test {

// ---- element types -------------------------------------------------------------------------

/// A plain struct: a sort key, where it came from, and a payload.
struct record {
    std::int32_t key;
    std::uint32_t index;
    double weight;

    friend bool operator==(const record&, const record&) = default;
};

/// A 2x2 matrix of unsigned integers; the product (with wraparound) is associative and not
/// commutative, so a scan or reduce that reorders operands gives a different result.
struct mat2 {
    std::uint32_t a, b, c, d;

    friend bool operator==(const mat2&, const mat2&) = default;
};

struct mat2_mul {
    TRIDENT_HOST_DEVICE mat2 operator()(const mat2& x, const mat2& y) const
    {
        return mat2{x.a * y.a + x.b * y.c, x.a * y.b + x.b * y.d, x.c * y.a + x.d * y.c, x.c * y.b + x.d * y.d};
    }
};

// ---- function objects -------------------------------------------------------------------------

// Function objects live at namespace scope: nvcc refuses a local class as a kernel's template argument.
struct negate_fn {
    TRIDENT_HOST_DEVICE int operator()(int x) const { return -x; }
};

struct max_fn {
    TRIDENT_HOST_DEVICE int operator()(int x, int y) const { return x < y ? y : x; }
};

struct plus_fn {
    template <class T>
    TRIDENT_HOST_DEVICE T operator()(const T& x, const T& y) const
    {
        return x + y;
    }
};

/// Wraparound addition over uint64 (exact, associative and commutative).
struct plus_u64 {
    TRIDENT_HOST_DEVICE std::uint64_t operator()(std::uint64_t x, std::uint64_t y) const { return x + y; }
};

struct triple_plus_one {
    TRIDENT_HOST_DEVICE void operator()(int& x) const { x = 3 * x + 1; }
};

struct scale_record {
    TRIDENT_HOST_DEVICE void operator()(record& r) const
    {
        r.weight = r.weight * 2.0 + 1.0;
        r.key = -r.key;
    }
};

struct int_to_half {
    TRIDENT_HOST_DEVICE double operator()(int x) const { return x * 0.5; }
};

struct record_key_u64 {
    TRIDENT_HOST_DEVICE std::uint64_t operator()(const record& r) const
    {
        return static_cast<std::uint64_t>(static_cast<std::int64_t>(r.key)) * 2654435761u + r.index;
    }
};

/// Maps a small integer to a matrix (so that map_reduce with mat2_mul is order-sensitive).
struct int_to_mat2 {
    TRIDENT_HOST_DEVICE mat2 operator()(int x) const
    {
        const auto u = static_cast<std::uint32_t>(x);
        return mat2{1u + (u & 3u), u, 2u * u + 1u, 1u};
    }
};

struct record_key_less {
    TRIDENT_HOST_DEVICE bool operator()(const record& x, const record& y) const { return x.key < y.key; }
};

struct record_key_greater {
    TRIDENT_HOST_DEVICE bool operator()(const record& x, const record& y) const { return x.key > y.key; }
};

/// A user comparator on arithmetic keys: not a radix case (merge sort path).
template <class T>
struct user_less {
    TRIDENT_HOST_DEVICE bool operator()(const T& x, const T& y) const { return x < y; }
};

// ---- generators ---------------------------------------------------------------------------

inline std::vector<int> random_ints(std::size_t n, std::uint64_t seed, int lo = -1000, int hi = 1000)
{
    std::mt19937_64 gen(seed);
    std::uniform_int_distribution<int> dist(lo, hi);
    std::vector<int> v(n);
    for (auto& x : v)
        x = dist(gen);
    return v;
}

inline std::vector<record> random_records(std::size_t n, std::uint64_t seed, std::int32_t distinct_keys = 100)
{
    std::mt19937_64 gen(seed);
    std::uniform_int_distribution<std::int32_t> key(-distinct_keys / 2, distinct_keys - distinct_keys / 2);
    std::vector<record> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = record{key(gen), static_cast<std::uint32_t>(i), static_cast<double>(key(gen)) * 0.25};
    return v;
}

inline std::vector<mat2> random_mats(std::size_t n, std::uint64_t seed)
{
    std::mt19937_64 gen(seed);
    std::vector<mat2> v(n);
    for (auto& m : v) {
        const auto r = gen();
        m = mat2{static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(r >> 16), static_cast<std::uint32_t>(r >> 32),
                 static_cast<std::uint32_t>(r >> 48) | 1u};
    }
    return v;
}

/// Random keys of an arithmetic type, with many duplicates and the type's extremes; floating-point
/// keys include -0.0 and +0.0 (equal keys, told apart bitwise).
template <class T>
std::vector<T> random_keys(std::size_t n, std::uint64_t seed)
{
    std::mt19937_64 gen(seed);
    std::vector<T> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto r = gen();
        const unsigned pick = static_cast<unsigned>(r % 16);
        if constexpr (std::is_floating_point_v<T>) {
            if (pick == 0)
                v[i] = T(-0.0);
            else if (pick == 1)
                v[i] = T(0.0);
            else if (pick == 2)
                v[i] = std::numeric_limits<T>::lowest();
            else if (pick == 3)
                v[i] = std::numeric_limits<T>::max();
            else if (pick == 4)
                v[i] = std::numeric_limits<T>::denorm_min() * T(static_cast<int>(r >> 40 & 7) - 3);
            else if (pick == 5)
                v[i] = -std::numeric_limits<T>::infinity();
            else if (pick == 6)
                v[i] = std::numeric_limits<T>::infinity();
            else if (pick < 11)
                v[i] = T(static_cast<int>(r >> 32 & 63) - 32); // small integers: many duplicates
            else
                v[i] = static_cast<T>(std::ldexp(static_cast<double>(static_cast<std::int32_t>(r >> 32)),
                                                 static_cast<int>(r >> 8 & 63) - 60));
        } else {
            if (pick == 0)
                v[i] = std::numeric_limits<T>::min();
            else if (pick == 1)
                v[i] = std::numeric_limits<T>::max();
            else if (pick < 6)
                v[i] = static_cast<T>(r >> 58); // small values: many duplicates
            else
                v[i] = static_cast<T>(r >> 7);
        }
    }
    return v;
}

// ---- comparison helpers ---------------------------------------------------------------------

inline constexpr std::size_t no_mismatch = std::numeric_limits<std::size_t>::max();

/// Index of the first differing bit (no_mismatch when equal): Catch2 would print a whole vector.
inline std::size_t first_wrong_bit(const std::vector<bool>& actual, const std::vector<bool>& expected)
{
    if (actual.size() != expected.size())
        return std::min(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i)
        if (actual[i] != expected[i])
            return i;
    return no_mismatch;
}

template <class T>
bool same_bits(const T& x, const T& y)
{
    if constexpr (std::is_floating_point_v<T>)
        return std::memcmp(&x, &y, sizeof(T)) == 0;
    else
        return x == y;
}

/// Index of the first element where the two vectors differ (bitwise for floating point), or
/// no_mismatch; a size difference counts as a mismatch at the shorter size.
template <class T>
std::size_t first_mismatch(const std::vector<T>& actual, const std::vector<T>& expected)
{
    const std::size_t n = std::min(actual.size(), expected.size());
    for (std::size_t i = 0; i < n; ++i)
        if (!same_bits(actual[i], expected[i]))
            return i;
    return actual.size() == expected.size() ? no_mismatch : n;
}

#define TRIDENT_REQUIRE_SAME(actual, expected)                                                                \
    do {                                                                                                      \
        const std::size_t trident_mismatch_ = ::trident_test::first_mismatch((actual), (expected));          \
        INFO("first mismatch at index " << trident_mismatch_ << " of " << (expected).size());                \
        REQUIRE(trident_mismatch_ == ::trident_test::no_mismatch);                                           \
    } while (false)

// ---- sizes --------------------------------------------------------------------------------------

#if defined(TRIDENT_TESTS_SANITIZED)
inline constexpr std::size_t big_size = (std::size_t{1} << 17) + 3; // sanitizers run 2-15x slower
#else
inline constexpr std::size_t big_size = (std::size_t{1} << 20) + 3;
#endif

/// Boundary sizes, sizes around the executors' thresholds (inline cutoff 4 * workers and 4096, the
/// scan's 16384-element blocks, the radix sort's 256 and 65536, merge sort's 4096 per block), the big
/// size, and a few random sizes drawn from a fixed seed.
inline std::vector<std::size_t> test_sizes(std::uint64_t seed = 20261123)
{
    std::vector<std::size_t> sizes{0,    1,    2,    3,     7,     8,     9,     31,    32,    33,    64,   255,
                                   256,  257,  1000, 4095,  4096,  4097,  8191,  8193,  16385, 32767, 32768,
                                   32769, 65537, big_size};
#if defined(TRIDENT_TESTS_SANITIZED)
    constexpr std::size_t large_max = 100000;
    constexpr int large_count = 1; // the big size and 65537 are odd sizes above the radix threshold too
#else
    sizes.push_back(131073); // two radix blocks at 2 workers, four at 8
    constexpr std::size_t large_max = 200000;
    constexpr int large_count = 2;
#endif
    std::mt19937_64 gen(seed);
    std::uniform_int_distribution<std::size_t> small(10, 5000), large(5000, large_max);
    for (int k = 0; k < 3; ++k)
        sizes.push_back(small(gen));
    for (int k = 0; k < large_count; ++k)
        sizes.push_back(large(gen));
    return sizes;
}

inline std::uint64_t seed_for(std::size_t n) { return 0x9E3779B97F4A7C15ull ^ (n * 1000003ull); }

// ---- for_each / map -------------------------------------------------------------------------

template <class Policy>
void check_for_each(const Policy& policy, std::size_t n)
{
    const std::uint64_t seed = seed_for(n);
    CAPTURE(n, seed);
    {
        std::vector<int> v = random_ints(n, seed), expected = v;
        std::for_each(expected.begin(), expected.end(), triple_plus_one{});
        trident::for_each(policy, v, triple_plus_one{});
        TRIDENT_REQUIRE_SAME(v, expected);
    }
    {
        std::vector<record> v = random_records(n, seed), expected = v;
        std::for_each(expected.begin(), expected.end(), scale_record{});
        trident::for_each(policy, v, scale_record{});
        TRIDENT_REQUIRE_SAME(v, expected);
    }
}

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

// ---- reduce / map_reduce ------------------------------------------------------------------------

template <class Policy>
void check_reduce(const Policy& policy, std::size_t n)
{
    const std::uint64_t seed = seed_for(n) + 2;
    CAPTURE(n, seed);
    const std::vector<int> ints = random_ints(n, seed);
    // int sum, init not an identity
    REQUIRE(trident::reduce(policy, ints, 17) == std::accumulate(ints.begin(), ints.end(), 17));
    REQUIRE(trident::reduce(policy, ints, 17, plus_fn{}) == std::accumulate(ints.begin(), ints.end(), 17));
    // doubles holding small integers: every grouping gives the exact sum
    std::vector<double> doubles(ints.begin(), ints.end());
    REQUIRE(trident::reduce(policy, doubles, 0.5) == std::accumulate(doubles.begin(), doubles.end(), 0.5));
    // max
    REQUIRE(trident::reduce(policy, ints, -5000, max_fn{}) ==
            std::accumulate(ints.begin(), ints.end(), -5000, max_fn{}));
    // non-commutative: the matrix product equals the sequential left fold exactly
    const std::vector<mat2> mats = random_mats(n, seed);
    const mat2 init{3, 1, 4, 1};
    REQUIRE(trident::reduce(policy, mats, init, mat2_mul{}) == std::accumulate(mats.begin(), mats.end(), init, mat2_mul{}));
}

template <class Policy>
void check_map_reduce(const Policy& policy, std::size_t n)
{
    const std::uint64_t seed = seed_for(n) + 3;
    CAPTURE(n, seed);
    const std::vector<record> recs = random_records(n, seed);
    std::uint64_t expected = 99;
    for (const auto& r : recs)
        expected += record_key_u64{}(r);
    REQUIRE(trident::map_reduce(policy, recs, record_key_u64{}, std::uint64_t{99}, plus_u64{}) == expected);

    const std::vector<int> ints = random_ints(n, seed, 0, 1 << 20);
    mat2 ref{1, 2, 3, 5};
    for (int x : ints)
        ref = mat2_mul{}(ref, int_to_mat2{}(x));
    REQUIRE(trident::map_reduce(policy, ints, int_to_mat2{}, mat2{1, 2, 3, 5}, mat2_mul{}) == ref);

    // the default operator is std::plus<>
    const std::vector<int> small = random_ints(n, seed + 1);
    double dref = 0.25;
    for (int x : small)
        dref += int_to_half{}(x);
    REQUIRE(trident::map_reduce(policy, small, int_to_half{}, 0.25) == dref);
}

// ---- scans ------------------------------------------------------------------------------------

template <class Policy>
void check_scans(const Policy& policy, std::size_t n)
{
    const std::uint64_t seed = seed_for(n) + 4;
    CAPTURE(n, seed);
    const std::vector<int> ints = random_ints(n, seed);
    {
        INFO("inclusive_scan, int, std::plus");
        std::vector<int> expected(n), out(n, 12345);
        std::inclusive_scan(ints.begin(), ints.end(), expected.begin());
        auto end = trident::inclusive_scan(policy, ints, out);
        REQUIRE(end == out.end());
        TRIDENT_REQUIRE_SAME(out, expected);
    }
    {
        INFO("exclusive_scan, int, init 7");
        std::vector<int> expected(n), out(n, 12345);
        std::exclusive_scan(ints.begin(), ints.end(), expected.begin(), 7);
        trident::exclusive_scan(policy, ints, out, 7);
        TRIDENT_REQUIRE_SAME(out, expected);
    }
    {
        INFO("inclusive_scan, int, in place, init 5");
        std::vector<int> expected(n), inout = ints;
        std::inclusive_scan(ints.begin(), ints.end(), expected.begin(), plus_fn{}, 5);
        trident::inclusive_scan(policy, inout, inout, plus_fn{}, 5);
        TRIDENT_REQUIRE_SAME(inout, expected);
    }
    {
        INFO("exclusive_scan, double, in place");
        std::vector<double> inout(ints.begin(), ints.end()), expected(n);
        std::exclusive_scan(inout.begin(), inout.end(), expected.begin(), 0.5, plus_fn{});
        trident::exclusive_scan(policy, inout, inout, 0.5, plus_fn{});
        TRIDENT_REQUIRE_SAME(inout, expected);
    }
    const std::vector<mat2> mats = random_mats(n, seed);
    const mat2 init{2, 7, 1, 8};
    {
        INFO("inclusive_scan, 2x2 matrix product (non-commutative)");
        std::vector<mat2> expected(n), out(n, mat2{0, 0, 0, 0});
        std::inclusive_scan(mats.begin(), mats.end(), expected.begin(), mat2_mul{});
        trident::inclusive_scan(policy, mats, out, mat2_mul{});
        TRIDENT_REQUIRE_SAME(out, expected);
    }
    {
        INFO("inclusive_scan with init, 2x2 matrix product (non-commutative)");
        std::vector<mat2> expected(n), out(n, mat2{0, 0, 0, 0});
        std::inclusive_scan(mats.begin(), mats.end(), expected.begin(), mat2_mul{}, init);
        trident::inclusive_scan(policy, mats, out, mat2_mul{}, init);
        TRIDENT_REQUIRE_SAME(out, expected);
    }
    {
        INFO("exclusive_scan, 2x2 matrix product (non-commutative)");
        std::vector<mat2> expected(n), out(n + 1, mat2{9, 9, 9, 9});
        std::exclusive_scan(mats.begin(), mats.end(), expected.begin(), init, mat2_mul{});
        auto end = trident::exclusive_scan(policy, mats, out, init, mat2_mul{});
        REQUIRE(end == out.begin() + static_cast<std::ptrdiff_t>(n));
        REQUIRE(out.back() == mat2{9, 9, 9, 9});
        out.pop_back();
        TRIDENT_REQUIRE_SAME(out, expected);
    }
}

} // namespace trident_test

#include "common/sort_checks.hpp" // check_sort_keys, check_sort_records
