#pragma once
// Shape checks shared by the built-in layers: one sentence naming the layer, the argument and both
// shapes, as std::invalid_argument.

#include "trident/matrix_view.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>

namespace trident::detail {

inline std::string layer_shape_text(std::size_t rows, std::size_t cols)
{
    return std::to_string(rows) + " x " + std::to_string(cols);
}

template <class T>
void check_shape(const std::string& layer, const char* what, const matrix_view<T>& m, std::size_t rows,
                 std::size_t cols)
{
    if (m.rows() != rows || m.cols() != cols)
        throw std::invalid_argument("trident::model::" + layer + ": " + what + " is " + layer_shape_text(m.rows(), m.cols()) +
                                    ", expected " + layer_shape_text(rows, cols));
}

/// A layer built for `expected` input features was given `got`.
inline void check_input_features(const std::string& layer, std::size_t expected, std::size_t got)
{
    if (got != expected)
        throw std::invalid_argument("trident::model::" + layer + " takes " + std::to_string(expected) +
                                    " input features, got " + std::to_string(got));
}

inline void check_saved(const std::string& layer, std::size_t got, std::size_t needed)
{
    if (got < needed)
        throw std::invalid_argument("trident::model::" + layer + ": saved holds " + std::to_string(got) +
                                    " floats, saved_floats() asks for " + std::to_string(needed));
}

} // namespace trident::detail
