#pragma once
// How trident::gemm's par cuts C into tiles (data/gemm.hpp): a function of the shapes only, never
// of the thread count, so that every element of C is computed by the same BLAS call on the same
// operands whatever the number of threads, and the result is bitwise the same.
//
// Each dimension of C is cut into at most max_blocks blocks of min_block elements or more (the
// last block of a dimension may be shorter; a dimension of at most min_block is one block).  Every
// tile is one call over the whole k: it packs its own rows of op(A) and columns of op(B) again,
// about (1/rows + 1/cols) / 2 packed elements per flop of the tile, so tiles are kept large (with
// blocks of 256, par on one thread fell well short of one call on 1024 x 1024 products;
// benchmarks/bench_gemm.cpp's trident_par_1thread rows against its blas rows measure the
// difference).  The price: a product of at most 1024 x 1024 has at most 4 tiles, so at most 4
// threads work on it.

#include <algorithm>
#include <cstddef>

namespace trident::detail {

struct gemm_tiling {
    static constexpr std::size_t min_block = 512;
    static constexpr std::size_t max_blocks = 8;
    static constexpr std::size_t align = 16; // blocks are multiples of 16 (but the last)

    std::size_t block_rows, block_cols; // a tile's size (the last row / column of tiles may be smaller)
    std::size_t row_tiles, col_tiles;

    [[nodiscard]] std::size_t tiles() const noexcept { return row_tiles * col_tiles; }

    static std::size_t block(std::size_t extent) noexcept
    {
        if (extent <= min_block)
            return std::max<std::size_t>(extent, 1);
        std::size_t b = (extent + max_blocks - 1) / max_blocks;
        b = (b + align - 1) / align * align;
        return std::max(b, min_block);
    }

    /// The tiling of an m x n C.
    static gemm_tiling of(std::size_t m, std::size_t n) noexcept
    {
        const std::size_t br = block(m);
        const std::size_t bc = block(n);
        return {br, bc, (m + br - 1) / br, (n + bc - 1) / bc};
    }
};

} // namespace trident::detail
