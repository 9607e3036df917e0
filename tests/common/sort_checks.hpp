#pragma once
// The sort checks of algorithm_checks.hpp (which includes this file): sort and stable_sort under one
// policy against std::stable_sort.  The input and the references of one size are made once
// (make_sort_keys_case, make_sort_records_case) and checked under every policy; the overloads taking
// a size make them for one call.

#include "common/algorithm_checks.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace trident_test {

// ---- sort ---------------------------------------------------------------------------------------

/// The input of check_sort_keys for one size and its std::stable_sort references, ascending and
/// descending: made once per size and checked under every policy (the references cost as much as
/// the sorts they check).
template <class T>
struct sort_keys_case {
    std::size_t n;
    std::uint64_t seed;
    std::vector<T> keys, asc, desc;
};

template <class T>
sort_keys_case<T> make_sort_keys_case(std::size_t n)
{
    sort_keys_case<T> c{n, seed_for(n) + 5 + sizeof(T), {}, {}, {}};
    c.keys = random_keys<T>(n, c.seed);
    c.asc = c.keys;
    c.desc = c.keys;
    std::stable_sort(c.asc.begin(), c.asc.end(), std::less<>{});
    std::stable_sort(c.desc.begin(), c.desc.end(), std::greater<>{});
    return c;
}

/// Arithmetic keys: the radix paths (no comparator, std::less<>, std::less<T>, std::greater<>,
/// std::greater<T>) and a user comparator (merge sort path).  Results are compared bitwise with
/// std::stable_sort: every path keeps -0.0 and +0.0 in input order (the radix sort is stable; the
/// merge sort's ties are only equal-valued keys, so for the unstable `sort` the comparison is by
/// value).
template <class T, class Policy>
void check_sort_keys(const Policy& policy, const sort_keys_case<T>& c)
{
    const std::uint64_t seed = c.seed;
    CAPTURE(c.n, seed);
    const std::vector<T>& keys = c.keys;
    const std::vector<T>& asc = c.asc;
    const std::vector<T>& desc = c.desc;
    {
        INFO("sort, no comparator (radix, ascending)");
        std::vector<T> v = keys;
        trident::sort(policy, v);
        TRIDENT_REQUIRE_SAME(v, asc); // the radix sort is stable: bitwise equal, -0.0/+0.0 included
    }
    {
        INFO("stable_sort, std::less<T> (radix, ascending)");
        std::vector<T> v = keys;
        trident::stable_sort(policy, v, std::less<T>{});
        TRIDENT_REQUIRE_SAME(v, asc);
    }
    {
        INFO("sort, std::greater<> (radix, descending)");
        std::vector<T> v = keys;
        trident::sort(policy, v, std::greater<>{});
        TRIDENT_REQUIRE_SAME(v, desc);
    }
    {
        INFO("stable_sort, std::greater<T> (radix, descending)");
        std::vector<T> v = keys;
        trident::stable_sort(policy, v, std::greater<T>{});
        TRIDENT_REQUIRE_SAME(v, desc);
    }
    {
        INFO("stable_sort, user comparator (merge sort)");
        std::vector<T> v = keys;
        trident::stable_sort(policy, v, user_less<T>{});
        TRIDENT_REQUIRE_SAME(v, asc);
    }
    {
        INFO("sort, user comparator (merge sort, unstable: compared by value)");
        std::vector<T> v = keys;
        trident::sort(policy, v, user_less<T>{});
        REQUIRE(v == asc);
    }
}

/// check_sort_keys for one policy and size (the references made for this call alone).
template <class T, class Policy>
void check_sort_keys(const Policy& policy, std::size_t n)
{
    check_sort_keys(policy, make_sort_keys_case<T>(n));
}

/// The input of check_sort_records for one size (50 keys: long runs of ties) and its
/// std::stable_sort references by key, ascending and descending: made once per size.
struct sort_records_case {
    std::size_t n;
    std::uint64_t seed;
    std::vector<record> recs, asc, desc;
};

inline sort_records_case make_sort_records_case(std::size_t n)
{
    sort_records_case c{n, seed_for(n) + 6, {}, {}, {}};
    c.recs = random_records(n, c.seed, 50);
    c.asc = c.recs;
    c.desc = c.recs;
    std::stable_sort(c.asc.begin(), c.asc.end(), record_key_less{});
    std::stable_sort(c.desc.begin(), c.desc.end(), record_key_greater{});
    return c;
}

/// Stability with a comparator on the key only: records carry their original index.
template <class Policy>
void check_sort_records(const Policy& policy, const sort_records_case& c)
{
    const std::size_t n = c.n;
    const std::uint64_t seed = c.seed;
    CAPTURE(n, seed);
    const std::vector<record>& recs = c.recs;
    {
        INFO("stable_sort by key, ascending");
        std::vector<record> v = recs;
        trident::stable_sort(policy, v, record_key_less{});
        TRIDENT_REQUIRE_SAME(v, c.asc);
    }
    {
        INFO("stable_sort by key, descending");
        std::vector<record> v = recs;
        trident::stable_sort(policy, v, record_key_greater{});
        TRIDENT_REQUIRE_SAME(v, c.desc);
    }
    {
        INFO("sort by key: ordered by key, a permutation of the input");
        std::vector<record> v = recs;
        trident::sort(policy, v, record_key_less{});
        REQUIRE(std::is_sorted(v.begin(), v.end(), record_key_less{}));
        std::vector<std::uint8_t> seen(n, 0);
        std::size_t bad = 0;
        for (const auto& r : v) {
            if (r.index >= n || seen[r.index] || !(recs[r.index] == r))
                ++bad;
            else
                seen[r.index] = 1;
        }
        REQUIRE(bad == 0);
    }
}

/// check_sort_records for one policy and size (the references made for this call alone).
template <class Policy>
void check_sort_records(const Policy& policy, std::size_t n)
{
    check_sort_records(policy, make_sort_records_case(n));
}

} // namespace trident_test
