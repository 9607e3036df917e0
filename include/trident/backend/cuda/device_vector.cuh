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
/// e.g. `trident::gpu.device(1)`), `device_vector(n, value, where)` (filled on the device),
/// `device_vector(host_range, where)` (copy in), move construction and assignment (no implicit
/// copies: `clone()` copies on the device), `size()`, `empty()`, `data()`, `begin()`, `end()`
/// (device pointers: a std::ranges::contiguous_range, but never dereference them on the host),
/// `device()`, `span()`, `to_host()` (`to_host<trident::default_init_allocator<T>>()`: without
/// zero-filling the host vector first), `copy_to(host_range)`, `copy_from(host_range)`.
///
/// Requirements: T trivially copyable (a static_assert says so otherwise).  A device_vector must be
/// used with a policy on its own device (`trident::gpu.device(v.device())`); another device is
/// `std::invalid_argument`.  CPU policies reject device ranges at compile time.
///
/// Streams and completion: the constructors run on `where`'s stream (`trident::gpu.stream(s)`) or
/// the calling thread's default stream (cudaStreamPerThread); clone(), to_host(), copy_to() and
/// copy_from() on the calling thread's default stream.  Each returns with its work done, so a
/// kernel on any stream may use the vector right after.  trident calls made without a stream are
/// finished when they return; work on a stream of your own (or a trident call with `.stream(s)` on
/// device ranges, which is stream-ordered) must be finished, e.g. by cudaStreamSynchronize(s),
/// before clone(), to_host(), copy_to(), copy_from() or the destructor touch the memory.
///
/// Memory: allocated stream-ordered (cudaMallocAsync from the device's current memory pool; plain
/// cudaMalloc on devices without pools) and freed with cudaFreeAsync on the destroying thread's
/// default stream, which does not stall the device as cudaFree does.  Out of memory: the idle
/// memory of the pools is released and the allocation tried once more.
///
/// Complexity: construction, copies in and out are O(n) transfers.
///
/// Exceptions: `trident::device_unavailable` when the device cannot be used, `trident::cuda_error`
/// when an allocation or copy fails (out of memory, ...: code cudaErrorMemoryAllocation), `std::invalid_argument` when a host range
/// given to copy_to/copy_from has the wrong size.  The destructor never throws.

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/backend/cuda/memory.cuh"
#include "trident/detail/device_traits.hpp"
#include "trident/lambda.hpp"
#include "trident/policy.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
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

/// An allocator whose construct() without arguments default-initialises (leaves trivial types
/// uninitialised), for host vectors that are overwritten at once: `d.to_host<trident::default_init_allocator<T>>()`.
template <class T>
struct default_init_allocator : std::allocator<T> {
    using value_type = T;
    template <class U>
    struct rebind {
        using other = default_init_allocator<U>;
    };
    default_init_allocator() = default;
    template <class U>
    constexpr default_init_allocator(const default_init_allocator<U>&) noexcept
    {
    }
    template <class U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>)
    {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... A>
    void construct(U* p, A&&... a)
    {
        ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
    }
};

namespace detail {

template <class T>
__global__ void __launch_bounds__(256) fill_kernel(T* data, std::size_t n, T value)
{
    const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
    for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        data[i] = value;
}

/// The policy's stream, or the calling thread's default stream.
inline cudaStream_t stream_of(const gpu_policy& where) noexcept
{
    return where.stream_handle() ? where.stream_handle() : cudaStreamPerThread;
}

} // namespace detail

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
    explicit device_vector(std::size_t n, const gpu_policy& where = gpu) : device_vector(uninitialised{}, n, where)
    {
        if (size_ != 0) {
            detail::device_guard guard(device_);
            const cudaStream_t stream = detail::stream_of(where);
            TRIDENT_CUDA_CHECK(cudaMemsetAsync(data_, 0, size_ * sizeof(T), stream));
            TRIDENT_CUDA_CHECK(cudaStreamSynchronize(stream));
        }
    }

    /// `n` copies of `value` on the policy's device.
    device_vector(std::size_t n, const T& value, const gpu_policy& where = gpu)
        : device_vector(uninitialised{}, n, where)
    {
        if (size_ != 0) {
            detail::device_guard guard(device_);
            const cudaStream_t stream = detail::stream_of(where);
            const auto blocks = static_cast<unsigned>(std::min<std::size_t>((n + 255) / 256, std::size_t{1} << 16));
            detail::fill_kernel<<<blocks, 256, 0, stream>>>(data_, n, value);
            TRIDENT_CUDA_CHECK_LAUNCH("trident::detail::fill_kernel");
            TRIDENT_CUDA_CHECK(cudaStreamSynchronize(stream));
        }
    }

    /// A copy of a contiguous host range (std::vector, std::array, std::span, ...).
    template <std::ranges::contiguous_range R>
        requires(!detail::is_device_range_v<std::remove_cvref_t<R>> &&
                 std::is_same_v<std::remove_cv_t<std::ranges::range_value_t<R>>, T> && std::ranges::sized_range<R>)
    explicit device_vector(const R& host, const gpu_policy& where = gpu)
        : device_vector(uninitialised{}, static_cast<std::size_t>(std::ranges::size(host)), where)
    {
        if (size_ != 0)
            upload(std::ranges::data(host), size_, detail::stream_of(where));
    }

    device_vector(const device_vector&) = delete;
    device_vector& operator=(const device_vector&) = delete;
    device_vector(device_vector&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)), device_(other.device_),
          pooled_(other.pooled_)
    {
    }
    device_vector& operator=(device_vector&& other) noexcept
    {
        if (this != &other) {
            release();
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
            device_ = other.device_;
            pooled_ = other.pooled_;
        }
        return *this;
    }
    ~device_vector() { release(); }

    /// A copy on the same device (device-to-device).
    [[nodiscard]] device_vector clone() const
    {
        device_vector copy(uninitialised{}, size_, gpu.device(device_));
        if (size_ != 0) {
            detail::device_guard guard(device_);
            TRIDENT_CUDA_CHECK(cudaMemcpyAsync(copy.data_, data_, size_ * sizeof(T), cudaMemcpyDeviceToDevice,
                                               cudaStreamPerThread));
            TRIDENT_CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread));
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

    /// The elements, copied to a new std::vector.  With `Alloc` = trident::default_init_allocator<T>
    /// the vector is not zero-filled before the copy (std::allocator value-initialises it: one
    /// more pass over the memory); copy_to() into an existing vector avoids both.
    template <class Alloc = std::allocator<T>>
    [[nodiscard]] std::vector<T, Alloc> to_host() const
    {
        std::vector<T, Alloc> host(size_);
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
            upload(std::ranges::data(host), n, cudaStreamPerThread);
    }

    void swap(device_vector& other) noexcept
    {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(device_, other.device_);
        std::swap(pooled_, other.pooled_);
    }

private:
    struct uninitialised {};

    device_vector(uninitialised, std::size_t n, const gpu_policy& where) : size_(0), device_(where.device_index())
    {
        detail::require_device(device_);
        detail::require_no_sticky_error();
        if (n == 0)
            return;
        if (n > static_cast<std::size_t>(-1) / sizeof(T))
            throw std::invalid_argument("trident::device_vector: " + std::to_string(n) + " elements do not fit in memory");
        detail::device_guard guard(device_);
        pooled_ = detail::scratch_pool(device_) != nullptr; // the device has memory pools
        data_ = static_cast<T*>(detail::device_allocate(n * sizeof(T), device_, detail::stream_of(where), nullptr,
                                                        pooled_, "trident::device_vector (cudaMallocAsync)"));
        size_ = n;
    }

    /// Host to device on `stream`, finished on return (a pageable copy is otherwise only staged).
    void upload(const T* host, std::size_t n, cudaStream_t stream)
    {
        detail::device_guard guard(device_);
        TRIDENT_CUDA_CHECK(cudaMemcpyAsync(data_, host, n * sizeof(T), cudaMemcpyHostToDevice, stream));
        TRIDENT_CUDA_CHECK(cudaStreamSynchronize(stream));
    }

    void download(T* host, std::size_t n) const
    {
        detail::device_guard guard(device_);
        TRIDENT_CUDA_CHECK(cudaMemcpyAsync(host, data_, n * sizeof(T), cudaMemcpyDeviceToHost, cudaStreamPerThread));
        TRIDENT_CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread));
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
        if (pooled_)
            (void)cudaFreeAsync(data_, cudaStreamPerThread);
        else
            (void)cudaFree(data_);
        (void)cudaGetLastError();
        if (restore)
            (void)cudaSetDevice(previous);
        data_ = nullptr;
        size_ = 0;
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
    int device_ = 0;
    bool pooled_ = false; // allocated by cudaMallocAsync (freed by cudaFreeAsync)
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
