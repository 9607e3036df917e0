#pragma once
// How trident::gemm's par cuts C into tiles (data/gemm.hpp): a function of the shapes only, never
// of the thread count, so that every element of C is computed by the same BLAS call on the same
// operands whatever the number of threads, and the result is bitwise the same.
//
// Every tile is one BLAS call over the whole k: it packs its own rows of op(A) and columns of
// op(B) again, about (1/rows + 1/cols) / 2 extra element copies per flop against one call, and a
// tile with a side under about 200 takes BLIS's path for small matrices (its haswell kernels'
// threshold), which was several times slower per flop than its packed path where measured.
// benchmarks/bench_gemm.cpp's trident_par_1thread rows against its blas rows measure what the
// tiling costs.  So:
//  1. Each dimension is cut into blocks of at least big_block (512), at most max_blocks (8) of
//     them; a dimension under 2 big_block is one block here.
//  2. Where that gives fewer than wanted_tiles (8) tiles, and the product has the flops for more
//     (at least min_tile_flops per tile), the columns are cut further into blocks of at least
//     min_block (256), then the rows: a 512 x 512 product gets 2 x 2 tiles, 1024 x 1024 gets
//     2 x 4, a dense layer's 16 x 2048 gets 1 x 8.  Columns first: cutting the rows below 512 cost
//     more than cutting the columns, measured on 1024 x 1024 products.
// Blocks are multiples of align (16, BLIS's micro-tile) but the last of a dimension, which takes
// the rest and is at least as long as the others, so no block is shorter than min_block unless
// the whole dimension is.

#include <algorithm>
#include <cstddef>

namespace trident::detail {

struct gemm_tiling {
    static constexpr std::size_t big_block = 512;
    static constexpr std::size_t min_block = 256;
    static constexpr std::size_t max_blocks = 8;
    static constexpr std::size_t wanted_tiles = 8;
    static constexpr double min_tile_flops = 2.0 * 1024 * 1024; // a tile's 2 m n k at the least
    static constexpr std::size_t align = 16;

    std::size_t rows, cols;             // C's
    std::size_t block_rows, block_cols; // a tile's size, but the last row / column of tiles
    std::size_t row_tiles, col_tiles;

    [[nodiscard]] std::size_t tiles() const noexcept { return row_tiles * col_tiles; }

    /// The part of C that tile t (0 <= t < tiles(), row by row) covers: rows [r0, r1), columns
    /// [c0, c1).
    struct range {
        std::size_t r0, r1, c0, c1;
    };
    [[nodiscard]] range tile(std::size_t t) const noexcept
    {
        const std::size_t i = t / col_tiles, j = t % col_tiles;
        return {i * block_rows, i + 1 == row_tiles ? rows : (i + 1) * block_rows, j * block_cols,
                j + 1 == col_tiles ? cols : (j + 1) * block_cols};
    }

    /// The tiling of an m x n C for a product over k.
    static gemm_tiling of(std::size_t m, std::size_t n, std::size_t k) noexcept
    {
        std::size_t rb = std::clamp<std::size_t>(m / big_block, 1, max_blocks);
        std::size_t cb = std::clamp<std::size_t>(n / big_block, 1, max_blocks);
        const double flops = 2.0 * double(m) * double(n) * double(k);
        const auto target = static_cast<std::size_t>(std::clamp(flops / min_tile_flops, 1.0, double(wanted_tiles)));
        if (rb * cb < target) {
            cb = std::max(cb, std::min({n / min_block, (target + rb - 1) / rb, max_blocks}));
            rb = std::max(rb, std::min({m / min_block, (target + cb - 1) / cb, max_blocks}));
        }
        const std::size_t br = block(m, rb), bc = block(n, cb);
        return {m, n, br, bc, rb, cb};
    }

private:
    /// The length of each of `count` blocks of `extent` but the last (which takes the rest).
    static std::size_t block(std::size_t extent, std::size_t count) noexcept
    {
        return count == 1 ? std::max<std::size_t>(extent, 1) : extent / count / align * align;
    }
};

} // namespace trident::detail
