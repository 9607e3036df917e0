#pragma once
// The machinery shared by the tensor-parallel layers (model/tensor_parallel.hpp): the balanced
// split of a feature count over K shards, the shards' parameters and gradients (one contiguous
// vector, each shard's slice booked on that shard's device), per-call scratch buffers booked on a
// device, and run_shards, which runs one function per shard, each on its own thread inside its
// device's arena, with an in-process communicator between them.

#include "trident/comm/communicator.hpp"
#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/layer.hpp"

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trident::model::detail_tp {

/// Offsets of n features split over k shards, as balanced as possible (the first n % k shards get
/// one more): shard s owns [offsets[s], offsets[s + 1]).  Refuses a shard with no feature.
inline std::vector<std::size_t> split(std::size_t n, std::size_t k, const std::string& layer, const char* what)
{
    if (k > n)
        throw std::invalid_argument("trident::model::" + layer + ": cannot split " + std::to_string(n) + " " + what +
                                    " features over " + std::to_string(k) +
                                    " shards: every shard needs at least one (use at most " + std::to_string(n) +
                                    " devices)");
    std::vector<std::size_t> offsets(k + 1, 0);
    for (std::size_t s = 0; s < k; ++s)
        offsets[s + 1] = offsets[s] + n / k + (s < n % k ? 1 : 0);
    return offsets;
}

/// Checks the shard devices: at least one, all CPU devices (their arenas run the shards).
inline std::vector<device> checked_devices(std::vector<device> devices, const std::string& layer)
{
    if (devices.empty())
        throw std::invalid_argument("trident::model::" + layer + ": needs at least one device (one per shard)");
    for (const device& d : devices)
        if (d.kind() != device_kind::cpu)
            throw std::invalid_argument("trident::model::" + layer + ": shard device '" + d.name() +
                                        "' is a GPU device; tensor-parallel shards run on CPU devices");
    return devices;
}

/// Parameters and gradients of K shards in one contiguous vector each (what layer::parameters()
/// returns), shard s's slice [begin[s], begin[s + 1]) booked on devices[s] (its parameters and
/// gradients).  Copies book their own bytes again.
class shard_storage {
public:
    shard_storage(std::vector<device> devices, std::vector<std::size_t> floats_per_shard, std::string label)
        : devices_(std::move(devices)), begin_(floats_per_shard.size() + 1, 0), label_(std::move(label))
    {
        for (std::size_t s = 0; s < floats_per_shard.size(); ++s)
            begin_[s + 1] = begin_[s] + floats_per_shard[s];
        book();
        parameters_.assign(begin_.back(), 0.0f);
        gradients_.assign(begin_.back(), 0.0f);
    }
    shard_storage(const shard_storage& other)
        : devices_(other.devices_), begin_(other.begin_), label_(other.label_)
    {
        book();
        parameters_ = other.parameters_;
        gradients_ = other.gradients_;
    }
    shard_storage& operator=(const shard_storage& other)
    {
        if (this != &other) {
            shard_storage copy(other);
            *this = std::move(copy);
        }
        return *this;
    }
    shard_storage(shard_storage&&) noexcept = default;
    shard_storage& operator=(shard_storage&&) noexcept = default;
    ~shard_storage() = default;

    [[nodiscard]] std::size_t shards() const noexcept { return devices_.size(); }
    [[nodiscard]] const device& device_of(std::size_t s) const noexcept { return devices_[s]; }
    [[nodiscard]] const std::vector<device>& devices() const noexcept { return devices_; }
    /// {device, floats} per shard, in the order of parameters().
    [[nodiscard]] std::vector<parameter_shard> placement() const
    {
        std::vector<parameter_shard> p;
        for (std::size_t s = 0; s < devices_.size(); ++s)
            p.push_back({devices_[s], begin_[s + 1] - begin_[s]});
        return p;
    }
    [[nodiscard]] std::span<float> parameters() noexcept { return parameters_; }
    [[nodiscard]] std::span<float> gradients() noexcept { return gradients_; }
    [[nodiscard]] std::span<const float> parameters() const noexcept { return parameters_; }
    [[nodiscard]] std::span<const float> gradients() const noexcept { return gradients_; }
    /// Shard s's parameters (or gradients), from `offset` floats into its slice, as a rows x cols matrix.
    [[nodiscard]] matrix_view<float> param(std::size_t s, std::size_t offset, std::size_t rows, std::size_t cols)
    {
        return {parameters_.data() + begin_[s] + offset, rows, cols};
    }
    [[nodiscard]] matrix_view<const float> param(std::size_t s, std::size_t offset, std::size_t rows,
                                                 std::size_t cols) const
    {
        return {parameters_.data() + begin_[s] + offset, rows, cols};
    }
    [[nodiscard]] matrix_view<float> grad(std::size_t s, std::size_t offset, std::size_t rows, std::size_t cols)
    {
        return {gradients_.data() + begin_[s] + offset, rows, cols};
    }
    [[nodiscard]] matrix_view<const float> grad(std::size_t s, std::size_t offset, std::size_t rows,
                                                std::size_t cols) const
    {
        return {gradients_.data() + begin_[s] + offset, rows, cols};
    }

private:
    void book()
    {
        leases_.clear();
        for (std::size_t s = 0; s < devices_.size(); ++s)
            leases_.push_back(devices_[s].reserve(2 * (begin_[s + 1] - begin_[s]) * sizeof(float),
                                                  label_ + " shard " + std::to_string(s) + " parameters and gradients"));
    }

    std::vector<device> devices_;
    std::vector<std::size_t> begin_;
    std::string label_;
    std::vector<memory_lease> leases_;
    std::vector<float> parameters_;
    std::vector<float> gradients_;
};

/// A rows x cols float buffer for one call, booked on a device while it lives.
class scratch {
public:
    scratch(const device& d, std::size_t rows, std::size_t cols, std::string_view what)
        : lease_(d.reserve(rows * cols * sizeof(float), what)), data_(rows * cols), rows_(rows), cols_(cols)
    {
    }
    [[nodiscard]] matrix_view<float> view() noexcept { return {data_.data(), rows_, cols_}; }
    [[nodiscard]] std::span<float> span() noexcept { return data_; }

private:
    memory_lease lease_;
    std::vector<float> data_;
    std::size_t rows_, cols_;
};

/// Runs body(s, communicator) for every shard s, each on its own thread (shard 0 on the caller's)
/// inside devices[s]'s arena, and returns when all have; the first failure is rethrown after every
/// shard has stopped (comm::run_in_process aborts the others' collectives).
template <class F>
void run_shards(const std::vector<device>& devices, F&& body)
{
    comm::run_in_process(static_cast<int>(devices.size()), [&](comm::communicator c) {
        const auto s = static_cast<std::size_t>(c.rank());
        devices[s].execute([&] { body(s, c); });
    });
}

/// sums[j] += column j of m summed over the rows in row order (what dense's bias gradient does).
inline void add_column_sums(matrix_view<const float> m, float* sums)
{
    for (std::size_t r = 0; r < m.rows(); ++r)
        for (std::size_t j = 0; j < m.cols(); ++j)
            sums[j] += m(r, j);
}

/// dst = src (+ bias per column when bias is not null).
inline void copy_rows(matrix_view<const float> src, matrix_view<float> dst, const float* bias)
{
    for (std::size_t r = 0; r < src.rows(); ++r)
        for (std::size_t j = 0; j < src.cols(); ++j)
            dst(r, j) = bias ? src(r, j) + bias[j] : src(r, j);
}

} // namespace trident::model::detail_tp
