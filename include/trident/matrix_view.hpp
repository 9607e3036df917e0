#pragma once
/// \file matrix_view.hpp
/// `trident::matrix_view<T>`: a non-owning view of a row-major matrix (rows x cols, a row stride),
/// the vocabulary of `trident::gemm` and of the model-parallel layers (a micro-batch of activations
/// is a matrix: one row per sample).
///
/// Element (r, c) is `data[r * stride + c]`; `stride >= cols` (the "leading dimension" of BLAS,
/// row-major).  `matrix_view<const T>` is made from `matrix_view<T>` implicitly.
///
/// \code
///   std::vector<float> a(3 * 4);
///   trident::matrix_view<float> m(a.data(), 3, 4);
///   m(2, 1) = 1.0f;
///   auto top = m.row_block(0, 2);          // rows 0 and 1, same storage
/// \endcode
///
/// \throws std::invalid_argument from the constructor when stride < cols, or when data is null and
/// the matrix is not empty.  Element access is not checked.

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace trident {

template <class T>
class matrix_view {
public:
    using element_type = T;

    constexpr matrix_view() = default;
    /// A contiguous rows x cols matrix (stride = cols).
    matrix_view(T* data, std::size_t rows, std::size_t cols) : matrix_view(data, rows, cols, cols) {}
    /// A rows x cols matrix whose rows start `stride` elements apart.
    matrix_view(T* data, std::size_t rows, std::size_t cols, std::size_t stride)
        : data_(data), rows_(rows), cols_(cols), stride_(stride)
    {
        if (stride < cols)
            throw std::invalid_argument("trident::matrix_view: stride " + std::to_string(stride) +
                                        " is less than cols " + std::to_string(cols));
        if (data == nullptr && rows * cols != 0)
            throw std::invalid_argument("trident::matrix_view: null data for a " + std::to_string(rows) + " x " +
                                        std::to_string(cols) + " matrix");
    }
    /// From a view of non-const elements.
    template <class U>
        requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
    matrix_view(const matrix_view<U>& other) // NOLINT(google-explicit-constructor)
        : data_(other.data()), rows_(other.rows()), cols_(other.cols()), stride_(other.stride())
    {
    }

    [[nodiscard]] T* data() const noexcept { return data_; }
    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
    [[nodiscard]] std::size_t stride() const noexcept { return stride_; }
    [[nodiscard]] std::size_t size() const noexcept { return rows_ * cols_; }
    [[nodiscard]] bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }
    /// True when the rows follow each other with no gap (stride == cols, or at most one row).
    [[nodiscard]] bool contiguous() const noexcept { return stride_ == cols_ || rows_ <= 1; }

    [[nodiscard]] T& operator()(std::size_t r, std::size_t c) const noexcept { return data_[r * stride_ + c]; }
    [[nodiscard]] std::span<T> row(std::size_t r) const noexcept { return {data_ + r * stride_, cols_}; }
    /// Rows [first, first + count) of this matrix (same storage).
    /// \throws std::out_of_range when the rows are not all inside.
    [[nodiscard]] matrix_view row_block(std::size_t first, std::size_t count) const
    {
        if (first > rows_ || count > rows_ - first)
            throw std::out_of_range("trident::matrix_view::row_block: rows [" + std::to_string(first) + ", " +
                                    std::to_string(first + count) + ") of a matrix of " + std::to_string(rows_) +
                                    " rows");
        return matrix_view(data_ + first * stride_, count, cols_, stride_);
    }
    /// Columns [first, first + count) of this matrix (same storage, same stride).
    /// \throws std::out_of_range when the columns are not all inside.
    [[nodiscard]] matrix_view col_block(std::size_t first, std::size_t count) const
    {
        if (first > cols_ || count > cols_ - first)
            throw std::out_of_range("trident::matrix_view::col_block: columns [" + std::to_string(first) + ", " +
                                    std::to_string(first + count) + ") of a matrix of " + std::to_string(cols_) +
                                    " columns");
        return matrix_view(data_ + first, rows_, count, stride_);
    }

private:
    T* data_ = nullptr;
    std::size_t rows_ = 0;
    std::size_t cols_ = 0;
    std::size_t stride_ = 0;
};

} // namespace trident
