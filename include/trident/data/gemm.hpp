#pragma once
/// \file data/gemm.hpp
/// `trident::gemm`: the matrix product C = alpha * op(A) * op(B) + beta * C on row-major
/// `trident::matrix_view`s, computed by a well-kept library: the CPU BLAS that CMake's
/// `find_package(BLAS)` found (BLIS built without threads, by default: cmake/TridentBlas.cmake), and
/// cuBLAS under `trident::gpu`.
///
/// \code
///   std::vector<float> a(64 * 128), b(128 * 32), c(64 * 32);
///   trident::matrix_view<const float> A(a.data(), 64, 128), B(b.data(), 128, 32);
///   trident::matrix_view<float> C(c.data(), 64, 32);
///   trident::gemm(trident::par, A, B, C);                          // C = A B
///   trident::gemm(trident::seq, A, B, C, {.alpha = 0.5f, .beta = 1.0f}); // C += 0.5 A B
///   // grad_W += X^T grad_Y (X: rows x in, grad_Y: rows x out, grad_W: in x out), on at most 2 threads:
///   trident::gemm(trident::par.threads(2), X, grad_Y, grad_W, {.beta = 1.0f, .transpose_a = true});
/// \endcode
///
/// op(A) is A, or A's transpose when `options.transpose_a` (likewise B).  With op(A) m x k and op(B)
/// k x n, C must be m x n.  `alpha` and `beta` as in BLAS: with `beta == 0`, C is not read (a NaN
/// in C does not survive); with k == 0, C = beta * C.
///
/// Policies:
/// - `seq`: one call of the BLAS on the calling thread.
/// - `par`, `par.threads(n)`, `par.on(arena)`, `automatic` (and a user's policy whose executor is
///   parallel): C is cut into tiles, each tile one call of the serial BLAS over the whole k, and
///   the tiles run as tasks of trident's executor: a `threads(n)` or `thread_arena` cap holds,
///   and BLAS starts no threads of its own.  Tiles (detail/gemm_tiles.hpp): each dimension in
///   blocks of 512 or more, at most 8; where that gives fewer than 8 tiles and the product has
///   about 2 MFLOP per tile, the columns, then the rows, are cut further into blocks of 256 or
///   more (512 x 512 gives 2 x 2 tiles, 1024 x 1024 2 x 4, 16 x 2048 1 x 8); no block is
///   shorter than 256 unless its whole dimension is (BLIS takes a slower path for matrices under
///   about 200).  The tiling depends on the shapes only, so the result is bitwise
///   the same for any number of threads (it may differ from `seq`'s in the last bits: one call
///   blocks the product differently).
/// - `gpu` (in a .cu file only): one cuBLAS call on the policy's device and stream; A, B and C must
///   then be device memory (a `trident::device_vector`'s data, cudaMalloc'd memory).  The call is
///   asynchronous on the stream like trident's other GPU calls with a stream, and synchronous
///   without one.
///
/// Requirements: T is float or double, deduced from C; A and B are views of `const T` or of `T`.
/// C must not overlap A or B.  Every dimension and row stride at most 2^31 - 1 (the BLAS's
/// integers).
///
/// Complexity: 2 m n k flops; O(m n k / threads) time under `par` for C large enough to give every
/// thread tiles (a C of fewer than 512 rows and 512 columns is one tile: one thread).  Each tile packs its
/// rows of op(A) and columns of op(B) again, about (1/rows + 1/cols) / 2 element copies per flop
/// more than one call.
///
/// Exceptions: `std::invalid_argument` when the shapes do not fit (the message gives op(A), op(B)
/// and C as rows x columns and which dimension differs) or when C overlaps A or B;
/// `std::length_error` for a dimension or stride beyond the BLAS's integers; under `gpu`,
/// `trident::cuda_error` (naming the cuBLAS call) and `trident::device_unavailable`.  Nothing is
/// written to C when an exception is thrown before the product starts (all of the above).

#include "trident/backend/dispatch.hpp"
#include "trident/detail/blas.hpp"
#include "trident/detail/gemm_tiles.hpp"
#include "trident/matrix_view.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#if defined(__CUDACC__)
#  include "trident/backend/cuda/gemm.cuh"
#endif

namespace trident {

/// How `trident::gemm` combines the product with C: C = alpha * op(A) * op(B) + beta * C.
template <class T>
struct gemm_options {
    T alpha = 1;
    T beta = 0;
    bool transpose_a = false; ///< op(A) = A^T: A is stored k x m
    bool transpose_b = false; ///< op(B) = B^T: B is stored n x k
};

namespace detail {

inline std::string shape_text(std::size_t rows, std::size_t cols)
{
    return std::to_string(rows) + " x " + std::to_string(cols);
}

template <class T>
std::string op_text(const char* name, matrix_view<const T> x, bool transposed)
{
    return std::string("op(") + name + ") is " +
           (transposed ? shape_text(x.cols(), x.rows()) + " (" + name + " is " + shape_text(x.rows(), x.cols()) +
                             ", transposed)"
                       : shape_text(x.rows(), x.cols()));
}

/// The bytes [first, last) a view's elements span (empty for an empty view).
template <class T>
std::pair<std::uintptr_t, std::uintptr_t> byte_span(matrix_view<T> x)
{
    if (x.empty())
        return {0, 0};
    const auto first = reinterpret_cast<std::uintptr_t>(x.data());
    return {first, first + ((x.rows() - 1) * x.stride() + x.cols()) * sizeof(T)};
}

template <class T>
void check_gemm_shapes(matrix_view<const T> a, matrix_view<const T> b, matrix_view<T> c, const gemm_options<T>& o)
{
    const std::size_t am = o.transpose_a ? a.cols() : a.rows();
    const std::size_t ak = o.transpose_a ? a.rows() : a.cols();
    const std::size_t bk = o.transpose_b ? b.cols() : b.rows();
    const std::size_t bn = o.transpose_b ? b.rows() : b.cols();
    const char* problem = ak != bk       ? "op(A)'s columns must equal op(B)'s rows"
                          : am != c.rows() ? "C's rows must equal op(A)'s rows"
                          : bn != c.cols() ? "C's columns must equal op(B)'s columns"
                                           : nullptr;
    if (problem)
        throw std::invalid_argument("trident::gemm: " + op_text("A", a, o.transpose_a) + ", " +
                                    op_text("B", b, o.transpose_b) + ", C is " + shape_text(c.rows(), c.cols()) +
                                    ": " + problem);
    const auto [c0, c1] = byte_span(c);
    for (const auto& [name, x] : {std::pair{"A", a}, std::pair{"B", b}}) {
        const auto [x0, x1] = byte_span(x);
        if (c0 < x1 && x0 < c1)
            throw std::invalid_argument(std::string("trident::gemm: C (") + shape_text(c.rows(), c.cols()) +
                                        ") overlaps " + name + " (" + shape_text(x.rows(), x.cols()) +
                                        "): the product cannot be written over its own input");
    }
    for (const std::size_t extent : {a.rows(), a.cols(), b.rows(), b.cols()})
        (void)blas_int(extent, "a dimension");
    for (const std::size_t stride : {a.stride(), b.stride(), c.stride()})
        (void)blas_int(stride, "a row stride");
}

/// C = beta * C (the product of a k == 0 call); beta == 0 writes zeros, whatever C held.
template <class T>
void scale_matrix(matrix_view<T> c, T beta)
{
    for (std::size_t r = 0; r < c.rows(); ++r)
        for (T& x : c.row(r))
            x = beta == T(0) ? T(0) : beta * x;
}

/// One BLAS call for the block of C of rows [r0, r1) and columns [c0, c1).
template <class T>
void gemm_block(matrix_view<const T> a, matrix_view<const T> b, matrix_view<T> c, const gemm_options<T>& o,
                std::size_t k, std::size_t r0, std::size_t r1, std::size_t c0, std::size_t c1)
{
    const T* a_rows = o.transpose_a ? a.data() + r0 : a.data() + r0 * a.stride();
    const T* b_cols = o.transpose_b ? b.data() + c0 * b.stride() : b.data() + c0;
    blas_gemm<T>(o.transpose_a, o.transpose_b, r1 - r0, c1 - c0, k, o.alpha, a_rows, a.stride(), b_cols, b.stride(),
                 o.beta, c.data() + r0 * c.stride() + c0, c.stride());
}

} // namespace detail

template <class Policy, class T>
void gemm(Policy&& policy, std::type_identity_t<matrix_view<const T>> a, std::type_identity_t<matrix_view<const T>> b,
          matrix_view<T> c, std::type_identity_t<gemm_options<T>> options = {})
{
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "trident::gemm: the elements must be float or double (C is a matrix_view<float> or "
                  "matrix_view<double>, A and B views of the same type, const or not)");
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        detail::check_gemm_shapes(a, b, c, options);
        const std::size_t m = c.rows();
        const std::size_t n = c.cols();
        const std::size_t k = options.transpose_a ? a.rows() : a.cols();
        detail::dispatch<false>(
            policy, m * n,
            [&](const auto& exec) {
                if (m == 0 || n == 0)
                    return;
                if (k == 0) {
                    exec.for_tasks(1, [&](std::size_t) { detail::scale_matrix(c, options.beta); });
                    return;
                }
                if constexpr (!std::remove_cvref_t<decltype(exec)>::is_parallel) {
                    exec.for_tasks(1, [&](std::size_t) { detail::gemm_block(a, b, c, options, k, 0, m, 0, n); });
                } else {
                    const auto tiling = detail::gemm_tiling::of(m, n, k);
                    exec.for_tasks(tiling.tiles(), [&](std::size_t tile) {
                        const auto t = tiling.tile(tile);
                        detail::gemm_block(a, b, c, options, k, t.r0, t.r1, t.c0, t.c1);
                    });
                }
            },
            [&]([[maybe_unused]] const auto& on_gpu) {
#if defined(__CUDACC__)
                detail::cuda_gemm(on_gpu, options.transpose_a, options.transpose_b, m, n, k, options.alpha, a.data(),
                                  a.stride(), b.data(), b.stride(), options.beta, c.data(), c.stride());
#endif
            });
    }
}

} // namespace trident
