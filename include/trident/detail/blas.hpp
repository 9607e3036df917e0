#pragma once
// The CPU BLAS behind trident::gemm (data/gemm.hpp): one row-major GEMM call on the BLAS that
// CMake's find_package(BLAS) found (cmake/TridentBlas.cmake: BLIS built without threads by
// default), through the Fortran interface every BLAS has (sgemm_, dgemm_), not CBLAS, whose header
// lives in a different place for every BLAS.
//
// The declarations carry asm labels: their C++ names are trident's own, so a translation unit that
// also includes a BLAS's header (which may declare sgemm_ with other parameter types) still
// compiles.  The two trailing size_t are the hidden lengths of the two CHARACTER arguments that a
// Fortran-compiled BLAS expects; a BLAS written in C ignores them.

#include <climits>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

extern "C" {
void trident_blas_sgemm(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                        const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                        const float* beta, float* c, const int* ldc, std::size_t transa_len,
                        std::size_t transb_len) __asm__("sgemm_");
void trident_blas_dgemm(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                        const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
                        const double* beta, double* c, const int* ldc, std::size_t transa_len,
                        std::size_t transb_len) __asm__("dgemm_");
}

namespace trident::detail {

/// `value` as the BLAS's 32-bit integer, or std::length_error naming `what`.
inline int blas_int(std::size_t value, const char* what)
{
    if (value > static_cast<std::size_t>(INT_MAX))
        throw std::length_error(std::string("trident::gemm: ") + what + " " + std::to_string(value) +
                                " exceeds the BLAS's 32-bit integers (at most " + std::to_string(INT_MAX) + ")");
    return static_cast<int>(value);
}

/// C = alpha * op(A) * op(B) + beta * C on row-major data: C is m x n (row stride ldc), op(A) is
/// m x k, op(B) is k x n; A and B are stored transposed when trans_a / trans_b (row strides lda,
/// ldb).  Requires m, n, k >= 1 and every stride at least its row's length (matrix_view holds it).
/// A row-major matrix is the column-major matrix of its transpose, so the call computes
/// C^T = op(B)^T op(A)^T in the BLAS's column-major terms.
template <class T>
void blas_gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
               std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc)
{
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
    const int bm = blas_int(n, "a dimension"); // the column-major call's m is C's columns
    const int bn = blas_int(m, "a dimension");
    const int bk = blas_int(k, "a dimension");
    const int blda = blas_int(ldb, "a row stride");
    const int bldb = blas_int(lda, "a row stride");
    const int bldc = blas_int(ldc, "a row stride");
    const char ta = trans_b ? 'T' : 'N';
    const char tb = trans_a ? 'T' : 'N';
    if constexpr (std::is_same_v<T, float>)
        trident_blas_sgemm(&ta, &tb, &bm, &bn, &bk, &alpha, b, &blda, a, &bldb, &beta, c, &bldc, 1, 1);
    else
        trident_blas_dgemm(&ta, &tb, &bm, &bn, &bk, &alpha, b, &blda, a, &bldb, &beta, c, &bldc, 1, 1);
}

} // namespace trident::detail
