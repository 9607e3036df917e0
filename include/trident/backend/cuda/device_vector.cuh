#pragma once
/// \file backend/cuda/device_vector.cuh
/// `trident::device_vector<T>`: an array in GPU memory that trident::gpu uses in place, and
/// `trident::device_span<T>`: a non-owning view of one (or of any device array).
///
/// A host range (std::vector, std::array, std::span) passed with `trident::gpu` is copied to the
/// device before the call and, when it is an output, back after it: two PCIe transfers of the whole
/// range per call, which usually cost far more than the GPU work (about 25-50 GB/s over PCIe 5 / 4
/// from pageable memory, against about 3 TB/s of on-device bandwidth on an H100).  Data that a
/// program uses in several calls belongs in a device_vector: it is copied once, calls work on it in
/// place, and `to_host()` / `copy_to()` bring the result back once.
///
/// \code
///   std::vector<float> x(1 << 26, 1.0f);
///   trident::device_vector<float> d(x);                                       // one copy in
///   trident::map(trident::gpu, d, d, TRIDENT_LAMBDA(float v) { return 2 * v; }); // in place, nothing moves
///   float s = trident::reduce(trident::gpu, d, 0.0f);                          // only the sum comes back
///   trident::device_span<float> v = d.span();                                  // capture in a kernel lambda
///   trident::for_each_index(trident::gpu, v.size(), TRIDENT_LAMBDA(std::size_t i) { v[i] += 1; });
///   std::vector<float> y = d.to_host();                                        // one copy out
/// \endcode
///
/// Interface: `device_vector(n, where = trident::gpu)` (n zero-filled elements on `where`'s device,
/// e.g. `trident::gpu.device(1)`), `device_vector(n, value, where)`, `device_vector(host_range,
/// where)` (copy in), move construction and
/// assignment (no implicit copies: `clone()` copies on the device), `size()`, `empty()`, `data()`,
/// `begin()`, `end()` (device pointers: a std::ranges::contiguous_range, but never dereference them
/// on the host), `device()`, `span()`, `to_host()`, `copy_to(host_range)`, `copy_from(host_range)`.
///
/// Requirements: T trivially copyable (a static_assert says so otherwise).  A device_vector must be
/// used with a policy on its own device (`trident::gpu.device(v.device())`); another device is
/// `std::invalid_argument`.  CPU policies reject device ranges at compile time.
///
/// Complexity: construction, copies in and out are O(n) transfers, synchronous on return.
///
/// Exceptions: `trident::device_unavailable` when the device cannot be used, `trident::cuda_error`
/// when an allocation or copy fails (out of memory, ...), `std::invalid_argument` when a host range
/// given to copy_to/copy_from has the wrong size.  The destructor never throws.

#include "trident/backend/cuda/check.cuh"
#include "trident/detail/dispatch.hpp"
#include "trident/lambda.hpp"
#include "trident/policy.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace trident {

/// A non-owning view of `size()` elements of device memory on device `device()`.  Trivially
/// copyable, so a TRIDENT_LAMBDA may capture it and index it on the device.
template <class T>
class device_span {
public:
    using element_type = T;
    using value_type = std::remove_cv_t<T>;
    using size_type = std::size_t;
    using pointer = T*;
    using iterator = T*;
    using reference = T&;

    constexpr device_span() noexcept = default;
    constexpr device_span(T* data, std::size_t size, int device = 0) noexcept : data_(data), size_(size), device_(device) {}
    /// device_span<T> converts to device_span<const T>.
    template <class U>
        requires(std::is_convertible_v<U (*)[], T (*)[]>)
    constexpr device_span(const device_span<U>& other) noexcept
        : data_(other.data()), size_(other.size()), device_(other.device())
    {
    }

    TRIDENT_HOST_DEVICE constexpr T* data() const noexcept { return data_; }
    TRIDENT_HOST_DEVICE constexpr std::size_t size() const noexcept { return size_; }
    TRIDENT_HOST_DEVICE constexpr bool empty() const noexcept { return size_ == 0; }
    TRIDENT_HOST_DEVICE constexpr T* begin() const noexcept { return data_; }
    TRIDENT_HOST_DEVICE constexpr T* end() const noexcept { return data_ + size_; }
    /// Element i: on the device only (the memory is the GPU's).
    TRIDENT_HOST_DEVICE constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
    /// Elements [offset, offset + count) (clamped to the end).
    constexpr device_span subspan(std::size_t offset, std::size_t count = static_cast<std::size_t>(-1)) const noexcept
    {
        offset = offset < size_ ? offset : size_;
        count = count < size_ - offset ? count : size_ - offset;
        return device_span(data_ + offset, count, device_);
    }
    [[nodiscard]] constexpr int device() const noexcept { return device_; }

private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
    int device_ = 0;
};

template <class T>
class device_vector {
    static_assert(std::is_trivially_copyable_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>,
                  "trident::device_vector<T>: T must be a non-const, trivially copyable type (it is copied to and "
                  "from GPU memory byte for byte)");

public:
    using value_type = T;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using pointer = T*;
    using const_pointer = const T*;
    using iterator = T*;
    using const_iterator = const T*;
    using reference = T&;
    using const_reference = const T&;

    /// An empty vector; allocates nothing.
    device_vector() noexcept = default;

    /// `n` elements of zero bytes on the policy's device (`trident::gpu.device(i)`; device 0 by default).
    explicit device_vector(std::size_t n, const gpu_policy& where = gpu) : device_vector(uninitialised{}, n, where.device_index())
    {
        if (size_ != 0) {
            detail::device_guard guard(device_);
            TRIDENT_CUDA_CHECK(cudaMemset(data_, 0, size_ * sizeof(T)));
        }
    }

    /// `n` copies of `value` on the policy's device.
    device_vector(std::size_t n, const T& value, const gpu_policy& where = gpu)
        : device_vector(uninitialised{}, n, where.device_index())
    {
        if (size_ != 0) {
            std::vector<T> host(n, value);
            upload(host.data(), n);
        }
    }

    /// A copy of a contiguous host range (std::vector, std::array, std::span, ...).
    template <std::ranges::contiguous_range R>
        requires(!detail::is_device_range_v<std::remove_cvref_t<R>> &&
                 std::is_same_v<std::remove_cv_t<std::ranges::range_value_t<R>>, T> && std::ranges::sized_range<R>)
    explicit device_vector(const R& host, const gpu_policy& where = gpu)
        : device_vector(uninitialised{}, static_cast<std::size_t>(std::ranges::size(host)), where.device_index())
    {
        if (size_ != 0)
            upload(std::ranges::data(host), size_);
    }

    device_vector(const device_vector&) = delete;
    device_vector& operator=(const device_vector&) = delete;
    device_vector(device_vector&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)), device_(other.device_)
    {
    }
    device_vector& operator=(device_vector&& other) noexcept
    {
        if (this != &other) {
            release();
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
            device_ = other.device_;
        }
        return *this;
    }
    ~device_vector() { release(); }

    /// A copy on the same device (device-to-device).
    [[nodiscard]] device_vector clone() const
    {
        device_vector copy(uninitialised{}, size_, device_);
        if (size_ != 0) {
            detail::device_guard guard(device_);
            TRIDENT_CUDA_CHECK(cudaMemcpy(copy.data_, data_, size_ * sizeof(T), cudaMemcpyDeviceToDevice));
        }
        return copy;
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// The device this vector's memory lives on.
    [[nodiscard]] int device() const noexcept { return device_; }
    /// Device pointers: pass them to kernels, never dereference them on the host.
    [[nodiscard]] T* data() noexcept { return data_; }
    [[nodiscard]] const T* data() const noexcept { return data_; }
    [[nodiscard]] T* begin() noexcept { return data_; }
    [[nodiscard]] const T* begin() const noexcept { return data_; }
    [[nodiscard]] T* end() noexcept { return data_ + size_; }
    [[nodiscard]] const T* end() const noexcept { return data_ + size_; }
    [[nodiscard]] device_span<T> span() noexcept { return {data_, size_, device_}; }
    [[nodiscard]] device_span<const T> span() const noexcept { return {data_, size_, device_}; }

    /// The elements, copied to a new std::vector.
    [[nodiscard]] std::vector<T> to_host() const
    {
        std::vector<T> host(size_);
        if (size_ != 0)
            download(host.data(), size_);
        return host;
    }

    /// Copies the elements into a contiguous host range of exactly size() elements.
    /// \throws std::invalid_argument when the sizes differ.
    template <std::ranges::contiguous_range R>
        requires(!detail::is_device_range_v<std::remove_cvref_t<R>> &&
                 std::is_same_v<std::ranges::range_value_t<R>, T>)
    void copy_to(R&& host) const
    {
        const auto n = static_cast<std::size_t>(std::ranges::size(host));
        check_size("copy_to", n);
        if (n != 0)
            download(std::ranges::data(host), n);
    }

    /// Overwrites the elements with a contiguous host range of exactly size() elements.
    /// \throws std::invalid_argument when the sizes differ.
    template <std::ranges::contiguous_range R>
        requires(!detail::is_device_range_v<std::remove_cvref_t<R>> &&
                 std::is_same_v<std::remove_cv_t<std::ranges::range_value_t<R>>, T>)
    void copy_from(const R& host)
    {
        const auto n = static_cast<std::size_t>(std::ranges::size(host));
        check_size("copy_from", n);
        if (n != 0)
            upload(std::ranges::data(host), n);
    }

    void swap(device_vector& other) noexcept
    {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(device_, other.device_);
    }

private:
    struct uninitialised {};

    device_vector(uninitialised, std::size_t n, int device) : size_(0), device_(device)
    {
        detail::require_device(device);
        if (n == 0)
            return;
        if (n > static_cast<std::size_t>(-1) / sizeof(T))
            throw std::invalid_argument("trident::device_vector: " + std::to_string(n) + " elements do not fit in memory");
        detail::device_guard guard(device);
        void* p = nullptr;
        TRIDENT_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
        data_ = static_cast<T*>(p);
        size_ = n;
    }

    void upload(const T* host, std::size_t n)
    {
        detail::device_guard guard(device_);
        TRIDENT_CUDA_CHECK(cudaMemcpy(data_, host, n * sizeof(T), cudaMemcpyHostToDevice));
    }

    void download(T* host, std::size_t n) const
    {
        detail::device_guard guard(device_);
        TRIDENT_CUDA_CHECK(cudaMemcpy(host, data_, n * sizeof(T), cudaMemcpyDeviceToHost));
    }

    void check_size(const char* what, std::size_t n) const
    {
        if (n != size_)
            throw std::invalid_argument(std::string("trident::device_vector::") + what + ": the host range has " +
                                        std::to_string(n) + " elements, the device_vector " + std::to_string(size_));
    }

    void release() noexcept
    {
        if (!data_)
            return;
        int previous = 0;
        const bool restore = cudaGetDevice(&previous) == cudaSuccess && previous != device_;
        if (restore)
            (void)cudaSetDevice(device_);
        (void)cudaFree(data_);
        if (restore)
            (void)cudaSetDevice(previous);
        data_ = nullptr;
        size_ = 0;
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
    int device_ = 0;
};

template <class T>
void swap(device_vector<T>& a, device_vector<T>& b) noexcept
{
    a.swap(b);
}

} // namespace trident

namespace std::ranges {
template <class T> inline constexpr bool enable_borrowed_range<trident::device_span<T>> = true;
template <class T> inline constexpr bool enable_view<trident::device_span<T>> = true;
} // namespace std::ranges

namespace trident::detail {
template <class T> inline constexpr bool is_device_range_v<device_vector<T>> = true;
template <class T> inline constexpr bool is_device_range_v<device_span<T>> = true;
} // namespace trident::detail
