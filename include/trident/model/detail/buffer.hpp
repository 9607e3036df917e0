#pragma once
// The runtime's activation buffer: rows x cols floats booked on a device, like model::tensor, that
// can also move to another device's books (rebook): an activation sent from one stage to the next
// is moved, not copied, and the receiving device then accounts for it.  Uninitialised on creation
// (every buffer the runtime makes is written whole before it is read).

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"

#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace trident::model::detail {

class buffer {
public:
    buffer() = default;
    buffer(const device& dev, std::size_t rows, std::size_t cols, std::string_view what)
        : lease_(dev.reserve(bytes_of(rows, cols, what), what)),
          data_(rows * cols != 0 ? std::make_unique_for_overwrite<float[]>(rows * cols) : nullptr), rows_(rows),
          cols_(cols)
    {
    }

    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
    [[nodiscard]] std::size_t size() const noexcept { return rows_ * cols_; }
    [[nodiscard]] std::size_t bytes() const noexcept { return lease_.bytes(); }
    [[nodiscard]] matrix_view<float> view() noexcept { return {data_.get(), rows_, cols_}; }
    [[nodiscard]] matrix_view<const float> view() const noexcept { return {data_.get(), rows_, cols_}; }
    [[nodiscard]] std::span<float> span() noexcept { return {data_.get(), size()}; }
    [[nodiscard]] std::span<const float> span() const noexcept { return {data_.get(), size()}; }

    /// Moves the booking to `dev` (booked there first, then released where it was): the data stays
    /// where it is.  \throws trident::out_of_memory from `dev`, and then nothing changes.
    void rebook(const device& dev, std::string_view what)
    {
        memory_lease fresh = dev.reserve(size() * sizeof(float), what);
        lease_ = std::move(fresh);
    }

private:
    static std::size_t bytes_of(std::size_t rows, std::size_t cols, std::string_view what)
    {
        if (cols != 0 && rows > std::numeric_limits<std::size_t>::max() / sizeof(float) / cols)
            throw std::invalid_argument("trident::model: " + std::string(what) + " of " + std::to_string(rows) +
                                        " x " + std::to_string(cols) + " floats is larger than std::size_t can count");
        return rows * cols * sizeof(float);
    }

    memory_lease lease_; // booked before the allocation, released after it
    std::unique_ptr<float[]> data_;
    std::size_t rows_ = 0;
    std::size_t cols_ = 0;
};

} // namespace trident::model::detail
