// trident::gemm on the CPU: every policy against a naive triple loop (float and double, all four
// transposes, alpha / beta, strided views), bitwise equality of par for any thread count, shape
// and overlap errors, empty matrices.

#include "common/cpu_policies.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace trident_test;
using Catch::Matchers::Contains;

namespace {

/// A rows x cols matrix stored with `pad` extra elements per row, random values in [-1, 1).
template <class T>
struct matrix {
    std::size_t rows, cols, stride;
    std::vector<T> data;

    matrix(std::size_t r, std::size_t c, std::uint32_t seed, std::size_t pad = 0)
        : rows(r), cols(c), stride(c + pad), data(std::max<std::size_t>(r * (c + pad), 1))
    {
        std::mt19937 gen(seed);
        std::uniform_real_distribution<double> dist(-1.0, 1.0);
        for (T& x : data)
            x = static_cast<T>(dist(gen));
    }
    trident::matrix_view<T> view() { return {data.data(), rows, cols, stride}; }
    trident::matrix_view<const T> cview() const { return {data.data(), rows, cols, stride}; }
    T at(std::size_t r, std::size_t c) const { return data[r * stride + c]; }
};

/// alpha op(A) op(B) + beta C_in computed in long double, with each element's bound on the rounding
/// errors of a k-term dot product: 2 k eps (|alpha| sum |a||b| + |beta c|).  Computed once per case
/// and compared with every policy's result.
struct naive_result {
    std::vector<long double> expected, bound;
};

template <class T>
naive_result naive(const matrix<T>& a, const matrix<T>& b, const matrix<T>& c_in, const trident::gemm_options<T>& o)
{
    const std::size_t m = c_in.rows, n = c_in.cols, k = o.transpose_a ? a.rows : a.cols;
    const long double eps = std::numeric_limits<T>::epsilon();
    naive_result r{std::vector<long double>(m * n), std::vector<long double>(m * n)};
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            long double sum = 0, magnitude = 0;
            for (std::size_t p = 0; p < k; ++p) {
                const long double x = o.transpose_a ? a.at(p, i) : a.at(i, p);
                const long double y = o.transpose_b ? b.at(j, p) : b.at(p, j);
                sum += x * y;
                magnitude += std::fabs(x * y);
            }
            r.expected[i * n + j] = o.alpha * sum + (o.beta == 0 ? 0 : o.beta * c_in.at(i, j));
            r.bound[i * n + j] =
                2 * (k + 2) * eps * (std::fabs(o.alpha) * magnitude + std::fabs(o.beta * c_in.at(i, j))) + 1e-30L;
        }
    return r;
}

/// Checks C_out against the naive result, element by element within its bound, and that the padding
/// between C's rows was not written.
template <class T>
bool matches_naive(const naive_result& r, const matrix<T>& c_in, const matrix<T>& c_out, std::string& where)
{
    const std::size_t m = c_in.rows, n = c_in.cols;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            const long double expected = r.expected[i * n + j];
            if (!(std::fabs(c_out.at(i, j) - expected) <= r.bound[i * n + j])) {
                where = "C(" + std::to_string(i) + ", " + std::to_string(j) + ") = " + std::to_string(c_out.at(i, j)) +
                        ", expected " + std::to_string(static_cast<double>(expected));
                return false;
            }
        }
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = n; j < c_in.stride; ++j)
            if (c_out.at(i, j) != c_in.at(i, j)) {
                where = "padding after row " + std::to_string(i) + " was written";
                return false;
            }
    return true;
}

struct shape {
    std::size_t m, n, k;
};

// Small, single-tile, and several tiles (detail/gemm_tiles.hpp) with a longer last block: 4 x 1
// (rows of 256), 1 x 2 and 2 x 2 (blocks of 512 or more), 2 x 2 (blocks of 256 or more).
#if defined(TRIDENT_TESTS_SANITIZED)
// Under sanitizers the same kinds of shape with about a quarter of the naive loop's m n k in all
// (its long-double reference is instrumented: 100 s and more per element type): one tile, several
// row tiles, several column tiles and both (1030 x 1040 over k = 1: 2 x 2 blocks of 512 or more),
// with longer last tiles.  The default preset runs the full list.
const shape shapes[] = {{1, 1, 1},      {3, 5, 7},      {17, 1, 33},   {64, 48, 9},
                        {150, 135, 40}, {1030, 60, 17}, {40, 1100, 5}, {1030, 1040, 1}};
#else
const shape shapes[] = {{1, 1, 1},       {3, 5, 7},       {17, 1, 33},  {64, 48, 9},     {300, 270, 40},
                        {1030, 260, 17}, {40, 1100, 5}, {1024, 1500, 3}, {520, 530, 20}};
#endif

template <class T>
void check_against_naive()
{
    std::uint32_t seed = 1;
    for (const shape s : shapes)
        for (const bool ta : {false, true})
            for (const bool tb : {false, true})
                for (const auto& [alpha, beta] : {std::pair<T, T>{1, 0}, {T(-0.5), T(2)}, {T(1.5), T(1)}}) {
                    const std::size_t pad = seed % 3;
                    const matrix<T> a(ta ? s.k : s.m, ta ? s.m : s.k, seed++, pad);
                    const matrix<T> b(tb ? s.n : s.k, tb ? s.k : s.n, seed++, 2 - pad);
                    const matrix<T> c_in(s.m, s.n, seed++, pad + 1);
                    const trident::gemm_options<T> o{alpha, beta, ta, tb};
                    INFO("m " << s.m << " n " << s.n << " k " << s.k << " transpose_a " << ta << " transpose_b " << tb
                              << " alpha " << alpha << " beta " << beta);
                    const naive_result expected = naive(a, b, c_in, o);
                    for_each_cpu_policy([&](const auto& policy) {
                        matrix<T> c = c_in;
                        trident::gemm(policy, a.cview(), b.cview(), c.view(), o);
                        std::string where;
                        const bool ok = matches_naive(expected, c_in, c, where);
                        INFO(where);
                        REQUIRE(ok);
                    });
                }
}

} // namespace

TEST_CASE("gemm matches a naive triple loop under every policy (float)", "[gemm][cpu]")
{
    check_against_naive<float>();
}

TEST_CASE("gemm matches a naive triple loop under every policy (double)", "[gemm][cpu]")
{
    check_against_naive<double>();
}

TEST_CASE("gemm takes A and B as views of non-const elements, and sub-blocks of bigger matrices", "[gemm][cpu]")
{
    matrix<double> big(40, 50, 7);
    auto a = big.view().row_block(2, 10).col_block(3, 20); // 10 x 20, stride 50
    matrix<double> b(20, 6, 8);
    matrix<double> c(10, 6, 9);
    const matrix<double> c_in = c;
    trident::gemm(trident::par, a, b.view(), c.view()); // matrix_view<double>, not <const double>
    matrix<double> a_copy(10, 20, 0);
    for (std::size_t i = 0; i < 10; ++i)
        for (std::size_t j = 0; j < 20; ++j)
            a_copy.data[i * 20 + j] = a(i, j);
    std::string where;
    REQUIRE(matches_naive(naive(a_copy, b, c_in, trident::gemm_options<double>{}), c_in, c, where));
}

TEST_CASE("gemm under par gives bitwise the same C for any thread count", "[gemm][cpu]")
{
    // 8 x 4 tiles (blocks of 512, the last column block 564), 4 x 1 (rows 272, 272, 272, 284),
    // 2 x 2 (rows 336 + 364, columns 256 + 274) and a micro-batch's 1 x 8 (columns of 256).
    for (const shape s : {shape{4096, 2100, 24}, shape{1100, 300, 333}, shape{700, 530, 64}, shape{16, 2048, 512}}) {
        INFO("m " << s.m << " n " << s.n << " k " << s.k);
        REQUIRE(trident::detail::gemm_tiling::of(s.m, s.n, s.k).tiles() > 1);
        const matrix<float> a(s.m, s.k, 11), b(s.k, s.n, 12);
        const matrix<float> c_in(s.m, s.n, 13);
        const trident::gemm_options<float> o{0.75f, 0.5f};
        auto run = [&](const auto& policy) {
            matrix<float> c = c_in;
            trident::gemm(policy, a.cview(), b.cview(), c.view(), o);
            return c.data;
        };
        const std::vector<float> one = run(trident::par.threads(1));
        // The first element that differs from par.threads(1)'s (its index), or "none".
        auto first_difference = [&](const std::vector<float>& other) {
            const auto where = std::mismatch(one.begin(), one.end(), other.begin());
            return where.first == one.end() ? std::string("none") : std::to_string(where.first - one.begin());
        };
        CHECK(first_difference(run(trident::par.threads(2))) == "none");
        CHECK(first_difference(run(trident::par.threads(3))) == "none");
        CHECK(first_difference(run(trident::par.threads(8))) == "none");
        CHECK(first_difference(run(trident::par)) == "none");
        CHECK(first_difference(run(trident::automatic)) == "none");
        CHECK(first_difference(run(trident::par.on(test_cores()))) == "none");
    }
}

TEST_CASE("gemm names the shapes when they do not fit", "[gemm][cpu]")
{
    std::vector<float> storage(1000);
    auto view = [&](std::size_t rows, std::size_t cols, std::size_t offset = 0) {
        return trident::matrix_view<float>(storage.data() + offset, rows, cols);
    };
    std::vector<float> out(100);
    auto c_of = [&](std::size_t rows, std::size_t cols) { return trident::matrix_view<float>(out.data(), rows, cols); };

    REQUIRE_THROWS_WITH(trident::gemm(trident::seq, view(3, 4), view(5, 6), c_of(3, 6)),
                        Contains("op(A) is 3 x 4, op(B) is 5 x 6, C is 3 x 6") &&
                            Contains("op(A)'s columns must equal op(B)'s rows"));
    REQUIRE_THROWS_WITH(trident::gemm(trident::par, view(3, 4), view(4, 6), c_of(2, 6)),
                        Contains("C is 2 x 6") && Contains("C's rows must equal op(A)'s rows"));
    REQUIRE_THROWS_WITH(trident::gemm(trident::par, view(3, 4), view(4, 6), c_of(3, 5)),
                        Contains("C's columns must equal op(B)'s columns"));
    REQUIRE_THROWS_WITH(
        trident::gemm(trident::par, view(4, 3), view(4, 6), c_of(3, 6), {.transpose_a = true, .transpose_b = true}),
        Contains("op(A) is 3 x 4 (A is 4 x 3, transposed), op(B) is 6 x 4 (B is 4 x 6, transposed)"));
    // The transposed shapes that do fit are accepted.
    REQUIRE_NOTHROW(
        trident::gemm(trident::par, view(4, 3), view(6, 4), c_of(3, 6), {.transpose_a = true, .transpose_b = true}));
}

TEST_CASE("gemm refuses a C that overlaps A or B, and leaves C alone when it throws", "[gemm][cpu]")
{
    std::vector<double> s(200, 1.0);
    trident::matrix_view<double> a(s.data(), 4, 4), b(s.data() + 16, 4, 4);
    trident::matrix_view<double> c_on_b(s.data() + 28, 4, 4); // shares b's last row
    REQUIRE_THROWS_WITH(trident::gemm(trident::par, a, b, c_on_b), Contains("overlaps B"));
    REQUIRE_THROWS_WITH(trident::gemm(trident::seq, a, b, a), Contains("C (4 x 4) overlaps A (4 x 4)"));
    for (double x : s)
        REQUIRE(x == 1.0);
    // Adjacent but disjoint is fine.
    trident::matrix_view<double> c_after(s.data() + 32, 4, 4);
    REQUIRE_NOTHROW(trident::gemm(trident::par, a, b, c_after));
    REQUIRE(c_after(3, 3) == 4.0);
}

TEST_CASE("gemm with empty matrices: nothing for an empty C, C = beta C when k is 0", "[gemm][cpu]")
{
    for_each_cpu_policy([](const auto& policy) {
        std::vector<float> c(6, 2.0f);
        trident::matrix_view<const float> a0(nullptr, 2, 0), b0(nullptr, 0, 3);
        trident::gemm(policy, a0, b0, trident::matrix_view<float>(c.data(), 2, 3), {.alpha = 5.0f, .beta = 3.0f});
        REQUIRE(c == std::vector<float>(6, 6.0f));
        c.assign(6, std::numeric_limits<float>::quiet_NaN());
        trident::gemm(policy, a0, b0, trident::matrix_view<float>(c.data(), 2, 3)); // beta 0: zeros, not NaN
        REQUIRE(c == std::vector<float>(6, 0.0f));
        // An empty C: nothing is read or written (null data everywhere).
        trident::gemm(policy, trident::matrix_view<const float>(nullptr, 0, 4),
                      trident::matrix_view<const float>(c.data(), 4, 0), trident::matrix_view<float>(nullptr, 0, 0));
    });
}

TEST_CASE("gemm with beta 0 does not read C (a NaN in C does not survive)", "[gemm][cpu]")
{
    for_each_cpu_policy([](const auto& policy) {
        const matrix<double> a(300, 20, 3), b(20, 290, 4);
        std::vector<double> c(300 * 290, std::numeric_limits<double>::quiet_NaN());
        trident::gemm(policy, a.cview(), b.cview(), trident::matrix_view<double>(c.data(), 300, 290));
        REQUIRE(std::all_of(c.begin(), c.end(), [](double x) { return std::isfinite(x); }));
    });
}

TEST_CASE("gemm under par runs its tiles as trident tasks, so a threads(n) or thread_arena cap holds", "[gemm][cpu]")
{
    const matrix<float> a(2048, 48, 21), b(48, 2048, 22); // C: 4 x 4 tiles of 512 x 512
    REQUIRE(trident::detail::gemm_tiling::of(2048, 2048, 48).tiles() == 16);
    matrix<float> c(2048, 2048, 23);
    auto check = [&](const auto& policy, std::size_t cap) {
        const trident::explanation e = trident::explain([&] { trident::gemm(policy, a.cview(), b.cview(), c.view()); });
        const auto workers = std::count_if(e.per_worker.begin(), e.per_worker.end(),
                                           [](const trident::worker_activity& w) { return w.calls > 0; });
        std::size_t most_at_once = 0; // the largest number of workers busy at the same time
        for (std::size_t k = 0; k < e.seconds_at_concurrency.size(); ++k)
            if (e.seconds_at_concurrency[k] > 0)
                most_at_once = k;
        CHECK(e.count_events("task") == 16);
        CHECK(static_cast<std::size_t>(workers) <= cap);
        CHECK(most_at_once <= cap);
    };
    check(trident::par.threads(1), 1);
    check(trident::par.threads(2), 2);
    trident::thread_arena one(1);
    check(trident::par.on(one), 1);
}

TEST_CASE("gemm's tiling cuts mid-size and tall-skinny products, and covers C once with blocks of 256 or more",
          "[gemm][cpu]")
{
    using trident::detail::gemm_tiling;
    CHECK(gemm_tiling::of(512, 512, 512).tiles() > 1);   // the lecture's product
    CHECK(gemm_tiling::of(16, 4096, 4096).tiles() > 1);  // a dense layer's forward on 16 rows
    CHECK(gemm_tiling::of(16, 2048, 2048).tiles() == 8); // ... cut into columns of 256
    CHECK(gemm_tiling::of(1024, 1024, 1024).tiles() == 8);
    CHECK(gemm_tiling::of(4096, 4096, 4096).tiles() == 64);
    CHECK(gemm_tiling::of(64, 64, 64).tiles() == 1);   // 0.5 MFLOP: not worth a second task
    CHECK(gemm_tiling::of(512, 512, 2).tiles() == 1);  // 1 MFLOP
    CHECK(gemm_tiling::of(255, 255, 1 << 20).tiles() == 1); // no block under 256

    // Every shape: the row blocks and the column blocks each cover their dimension once, in order;
    // all but the last are equal multiples of 16, the last at least as long; none is shorter than
    // 256 unless the dimension is one block; at most 8 blocks a dimension.  Returns "" or what is
    // wrong.
    auto check_blocks = [](std::size_t extent, std::size_t count, auto&& block_of) -> std::string {
        const std::size_t first = block_of(0).second - block_of(0).first;
        std::size_t start = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const auto [b0, b1] = block_of(i);
            const bool last = i + 1 == count;
            if (b0 != start || b1 <= b0 || (count > 1 && b1 - b0 < gemm_tiling::min_block) ||
                (!last && (b1 - b0 != first || first % 16 != 0)) || (last && b1 - b0 < first))
                return "block " + std::to_string(i) + " is [" + std::to_string(b0) + ", " + std::to_string(b1) + ")";
            start = b1;
        }
        if (start != extent || count > gemm_tiling::max_blocks)
            return std::to_string(count) + " blocks end at " + std::to_string(start);
        return "";
    };
    const std::size_t extents[] = {1, 15, 255, 256, 511, 512, 513, 700, 1023, 1024, 1100, 2100, 4096, 5000};
    for (const std::size_t m : extents)
        for (const std::size_t n : extents)
            for (const std::size_t k : {std::size_t{1}, std::size_t{64}, std::size_t{4096}}) {
                const gemm_tiling t = gemm_tiling::of(m, n, k);
                const std::string rows = check_blocks(m, t.row_tiles, [&](std::size_t i) {
                    const auto r = t.tile(i * t.col_tiles);
                    return std::pair{r.r0, r.r1};
                });
                const std::string cols = check_blocks(n, t.col_tiles, [&](std::size_t j) {
                    const auto r = t.tile(j);
                    return std::pair{r.c0, r.c1};
                });
                // Tile i is row block i / col_tiles by column block i % col_tiles.
                bool consistent = true;
                for (std::size_t i = 0; i < t.tiles(); ++i) {
                    const auto r = t.tile(i), row = t.tile(i / t.col_tiles * t.col_tiles), col = t.tile(i % t.col_tiles);
                    consistent = consistent && r.r0 == row.r0 && r.r1 == row.r1 && r.c0 == col.c0 && r.c1 == col.c1;
                }
                INFO("m " << m << " n " << n << " k " << k << ": " << t.row_tiles << " x " << t.col_tiles << " tiles");
                CHECK(rows == "");
                CHECK(cols == "");
                CHECK(consistent);
            }
}
