#pragma once
// The runtime's activation buffer: rows x cols floats booked on a device, like model::tensor, that
// can also move to another device's books (rebook): an activation sent from one stage to the next
// is moved, not copied, and the receiving device then accounts for it.  Uninitialised on creation
// (every buffer the runtime makes is written whole before it is read).
//
// A buffer may instead carry a device_payload: floats that stay in a GPU's memory (the GPU runtime,
// model/gpu/runtime.cuh, sends its messages so, and the receiving GPU device takes them as they are
// or by a peer copy).  Rebooked onto a CPU device, such a buffer becomes a host buffer (the floats
// are copied out); onto a GPU device, the payload keeps its memory and moves its booking.

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"

#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace trident::model::detail {

/// Floats that live in a GPU's memory, as a buffer carries them (model/gpu/runtime.cuh makes them);
/// booked on a GPU device for as long as they live.
class device_payload {
public:
    virtual ~device_payload() = default;
    device_payload() = default;
    device_payload(const device_payload&) = delete;
    device_payload& operator=(const device_payload&) = delete;
    /// Copies the floats to `out` (of the buffer's size), waiting until they are there.
    virtual void copy_to_host(std::span<float> out) const = 0;
    /// Moves the booking to `dev` (a GPU device; the memory stays where it is).
    /// \throws trident::out_of_memory from `dev`, and then nothing changes.
    virtual void rebook(const device& dev, std::string_view what) = 0;
};

class buffer {
public:
    buffer() = default;
    /// rows x cols floats held by `payload` in a GPU's memory (view() and span() are then empty).
    buffer(std::unique_ptr<device_payload> payload, std::size_t rows, std::size_t cols)
        : payload_(std::move(payload)), rows_(rows), cols_(cols)
    {
    }
    buffer(const device& dev, std::size_t rows, std::size_t cols, std::string_view what)
        : lease_(dev.reserve(bytes_of(rows, cols, what), what)),
          data_(rows * cols != 0 ? std::make_unique_for_overwrite<float[]>(rows * cols) : nullptr), rows_(rows),
          cols_(cols)
    {
    }

    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
    [[nodiscard]] std::size_t size() const noexcept { return rows_ * cols_; }
    /// The bytes booked for the floats (by the payload, for a payload buffer).
    [[nodiscard]] std::size_t bytes() const noexcept { return payload_ ? size() * sizeof(float) : lease_.bytes(); }
    /// The GPU-side floats, or nullptr for a host buffer.
    [[nodiscard]] device_payload* payload() const noexcept { return payload_.get(); }
    /// Takes the payload out (the buffer is then empty).
    [[nodiscard]] std::unique_ptr<device_payload> release_payload() noexcept
    {
        rows_ = cols_ = 0;
        return std::move(payload_);
    }
    [[nodiscard]] matrix_view<float> view() noexcept { return {data_.get(), rows_, cols_}; }
    [[nodiscard]] matrix_view<const float> view() const noexcept { return {data_.get(), rows_, cols_}; }
    [[nodiscard]] std::span<float> span() noexcept { return {data_.get(), size()}; }
    [[nodiscard]] std::span<const float> span() const noexcept { return {data_.get(), size()}; }

    /// Moves the booking to `dev` (booked there first, then released where it was): the data stays
    /// where it is.  A payload buffer rebooked onto a CPU device becomes a host buffer booked there
    /// (the floats copied out, the payload freed).
    /// \throws trident::out_of_memory from `dev`, and then nothing changes.
    void rebook(const device& dev, std::string_view what)
    {
        if (payload_ && dev.kind() == device_kind::gpu) {
            payload_->rebook(dev, what);
        } else if (payload_) {
            buffer host(dev, rows_, cols_, what);
            payload_->copy_to_host(host.span());
            *this = std::move(host);
        } else {
            memory_lease fresh = dev.reserve(size() * sizeof(float), what);
            lease_ = std::move(fresh);
        }
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
    std::unique_ptr<device_payload> payload_;
    std::size_t rows_ = 0;
    std::size_t cols_ = 0;
};

} // namespace trident::model::detail
