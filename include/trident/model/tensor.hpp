#pragma once
/// \file tensor.hpp
/// `trident::model::tensor`: an owning rows x cols matrix of float (row-major, contiguous), zero-filled,
/// whose bytes are booked on a `trident::device` for as long as the tensor lives.  What a stage
/// allocates (activations, gradients in transit, buffers) is a tensor, so a device's budget and peak
/// see it.
///
/// \code
///   using namespace trident::literals;
///   trident::device d = trident::cpu_device(1, 1_MiB);
///   trident::model::tensor x(d, 32, 64, "stage 0 input");   // 32 * 64 * 4 bytes booked on d
///   x.view()(0, 0) = 1.0f;                                  // matrix_view<float>
///   // d.in_use() == 8192 until x is destroyed (or moved from and the new owner destroyed)
/// \endcode
///
/// Requirements: none beyond a device.  Move-only (moving keeps the booking with the data).
/// Complexity: the constructor books the bytes (one mutex) and zero-fills rows * cols floats.
/// \throws trident::out_of_memory when the device's budget cannot take rows * cols * sizeof(float)
///   bytes (nothing allocated then); std::invalid_argument when rows * cols * sizeof(float)
///   overflows std::size_t.  The host allocation itself is made only after the booking succeeded.

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"

#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace trident::model {

class tensor {
public:
    /// An empty 0 x 0 tensor that books nothing.
    tensor() = default;
    /// rows x cols zeros, booked on `dev` as `what`.
    tensor(const device& dev, std::size_t rows, std::size_t cols, std::string_view what)
        : lease_(dev.reserve(bytes_of(rows, cols, what), what)), data_(new float[rows * cols]()), rows_(rows),
          cols_(cols)
    {
    }

    tensor(tensor&&) noexcept = default;
    tensor& operator=(tensor&&) noexcept = default;

    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
    [[nodiscard]] std::size_t size() const noexcept { return rows_ * cols_; }
    /// The bytes booked on the device: size() * sizeof(float).
    [[nodiscard]] std::size_t bytes() const noexcept { return lease_.bytes(); }
    [[nodiscard]] float* data() noexcept { return data_.get(); }
    [[nodiscard]] const float* data() const noexcept { return data_.get(); }
    [[nodiscard]] std::span<float> span() noexcept { return {data_.get(), size()}; }
    [[nodiscard]] std::span<const float> span() const noexcept { return {data_.get(), size()}; }
    [[nodiscard]] matrix_view<float> view() noexcept { return {data_.get(), rows_, cols_}; }
    [[nodiscard]] matrix_view<const float> view() const noexcept { return {data_.get(), rows_, cols_}; }

private:
    static std::size_t bytes_of(std::size_t rows, std::size_t cols, std::string_view what)
    {
        if (cols != 0 && rows > std::numeric_limits<std::size_t>::max() / sizeof(float) / cols)
            throw std::invalid_argument("trident::model::tensor: " + std::string(what) + " of " +
                                        std::to_string(rows) + " x " + std::to_string(cols) +
                                        " floats is larger than std::size_t can count");
        return rows * cols * sizeof(float);
    }

    memory_lease lease_; // declared first: booked before the allocation, released after it
    std::unique_ptr<float[]> data_;
    std::size_t rows_ = 0;
    std::size_t cols_ = 0;
};

} // namespace trident::model
