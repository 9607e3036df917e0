#pragma once
/// \file model/gpu/device_tensor.cuh
/// `trident::model::gpu::device_tensor`: a rows x cols float matrix (row-major, contiguous) in the
/// memory of a GPU `trident::device`, booked on that device's budget for as long as it lives: the
/// GPU counterpart of `model::tensor`.  Only nvcc sees this header.
///
/// \code
///   using namespace trident::literals;
///   trident::device g = trident::gpu_device(0, 1_GiB);
///   namespace mg = trident::model::gpu;
///   mg::device_tensor x(g, 32, 64, "stage 0 input");       // 8192 bytes booked on g, then cudaMalloc
///   std::vector<float> host(32 * 64, 1.0f);
///   x.upload(host);                                       // host -> device; returns when done
///   trident::matrix_view<float> v = x.view();              // device pointers: for kernels and gemm
///   mg::device_tensor y(g, 32, 64, "copy");
///   y.copy_from(x, stream);                               // device -> device, enqueued on stream
///   std::vector<float> back = y.download(stream);         // waits for stream, then copies out
/// \endcode
///
/// - Booking first: `device.reserve(bytes, what)` before cudaMalloc, so that a budget exceeded is
///   trident::out_of_memory and nothing is allocated.  When cudaMalloc itself fails for lack of GPU
///   memory, `gpu::allocation_failed` (a trident::out_of_memory) names the device, `what`, the bytes
///   and CUDA's message, and the booking is given back.  The memory is zero-filled.
/// - Move-only; destruction (and move assignment) waits for the device's queued work
///   (cudaDeviceSynchronize: CUDA does not promise that cudaFree waits), frees the memory with
///   cudaFree and then gives the bytes back, so a tensor may be destroyed while kernels that use it
///   are still queued on any stream.
/// - Streams: `stream` arguments are CUDA streams of the tensor's CUDA device; nullptr means the
///   calling thread's default stream (cudaStreamPerThread), never the legacy default stream.
///   upload and download return with the copy done (the host span may be reused at once);
///   copy_from and fill_zero are enqueued (stream-ordered) and return at once.
/// - rebook(dev, what): the booking moves to another GPU device (a message between two budgets of
///   one GPU, or a payload arriving from another GPU before its peer copy); the memory stays.
/// - copy_from(source, stream): the same shape; cudaMemcpyAsync when both are on one CUDA device,
///   cudaMemcpyPeerAsync otherwise (through the host when the GPUs have no peer access).  `stream`
///   belongs to this (the destination) tensor's device; the caller orders it after the source's
///   writer (an event, or the same stream).
///
/// Complexity: construction books (one mutex), allocates and zero-fills (one memset); copies are
/// O(rows * cols) transfers.
/// \throws std::invalid_argument when the device is a CPU device (naming it) or rows * cols * 4
///   overflows; trident::out_of_memory (budget) and gpu::allocation_failed (cudaMalloc);
///   trident::device_unavailable when the CUDA index cannot be used; trident::cuda_error naming the
///   call for any other CUDA failure; std::invalid_argument from upload / download / copy_from when
///   the sizes or shapes differ.

#if !defined(__CUDACC__)
#  error "trident/model/gpu/device_tensor.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/devices.cuh"
#include "trident/device.hpp"
#include "trident/errors.hpp"
#include "trident/matrix_view.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trident::model::gpu {

/// cudaMalloc found no GPU memory although the device's budget had room: an out_of_memory whose
/// message also gives the CUDA device index and CUDA's own error text.
class allocation_failed : public out_of_memory {
public:
    allocation_failed(const std::string& device, int cuda_index, const std::string& what_for, std::size_t requested,
                      std::size_t in_use, std::size_t budget, int code, const std::string& cuda_message)
        : out_of_memory(device, what_for, requested, in_use, budget), code_(code),
          message_("trident: out of GPU memory on device '" + device + "' (CUDA device " + std::to_string(cuda_index) +
                   "): cudaMalloc of " + std::to_string(requested) + " bytes for " + what_for + " failed: " +
                   cuda_message + " (the budget had room: " + std::to_string(in_use) + " of " + std::to_string(budget) +
                   " bytes in use)")
    {
    }
    [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }
    /// The cudaError_t value.
    [[nodiscard]] int code() const noexcept { return code_; }

private:
    int code_;
    std::string message_;
};

namespace detail {
/// The stream to use for `s`: the calling thread's default stream for nullptr.
inline cudaStream_t stream_or_default(cudaStream_t s) noexcept { return s ? s : cudaStreamPerThread; }

/// \throws std::invalid_argument unless `d` is a GPU device.
inline void require_gpu_device(const trident::device& d, const char* who)
{
    if (d.kind() != device_kind::gpu)
        throw std::invalid_argument(std::string("trident::model::gpu::") + who + ": device '" + d.name() +
                                    "' is a CPU device; GPU kernels need a trident::gpu_device");
}
} // namespace detail

class device_tensor {
public:
    /// An empty 0 x 0 tensor: books and allocates nothing.
    device_tensor() = default;

    /// rows x cols zeros in the memory of `dev` (a GPU device), booked on it as `what`.
    device_tensor(const trident::device& dev, std::size_t rows, std::size_t cols, std::string_view what)
    {
        detail::require_gpu_device(dev, "device_tensor");
        if (cols != 0 && rows > std::numeric_limits<std::size_t>::max() / sizeof(float) / cols)
            throw std::invalid_argument("trident::model::gpu::device_tensor: " + std::string(what) + " of " +
                                        std::to_string(rows) + " x " + std::to_string(cols) +
                                        " floats is larger than std::size_t can count");
        const std::size_t bytes = rows * cols * sizeof(float);
        memory_lease lease = dev.reserve(bytes, what); // throws out_of_memory, changing nothing
        index_ = dev.gpu_index();
        if (bytes != 0) {
            trident::detail::require_device(index_);
            trident::detail::require_no_sticky_error();
            trident::detail::device_guard guard(index_);
            void* p = nullptr;
            const cudaError_t code = cudaMalloc(&p, bytes);
            if (code == cudaErrorMemoryAllocation) {
                (void)cudaGetLastError();
                const std::size_t used = dev.in_use() - bytes; // without this booking
                lease.release();
                throw allocation_failed(dev.name(), index_, std::string(what), bytes, used, dev.budget(),
                                        static_cast<int>(code),
                                        std::string(cudaGetErrorString(code)) + " (" + cudaGetErrorName(code) + ")");
            }
            // Any other failure: cuda_error naming the call (the lease is released on the way out).
            trident::detail::cuda_check(code, "cudaMalloc(&p, bytes)", __FILE__, __LINE__);
            data_ = static_cast<float*>(p);
            try {
                TRIDENT_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes, cudaStreamPerThread));
                TRIDENT_CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread));
            } catch (...) {
                (void)cudaFree(data_);
                data_ = nullptr;
                throw;
            }
        }
        lease_ = std::move(lease);
        rows_ = rows;
        cols_ = cols;
    }

    device_tensor(device_tensor&& o) noexcept
        : lease_(std::move(o.lease_)), data_(std::exchange(o.data_, nullptr)), rows_(std::exchange(o.rows_, 0)),
          cols_(std::exchange(o.cols_, 0)), index_(std::exchange(o.index_, -1))
    {
    }
    device_tensor& operator=(device_tensor&& o) noexcept
    {
        if (this != &o) {
            free();
            lease_ = std::move(o.lease_);
            data_ = std::exchange(o.data_, nullptr);
            rows_ = std::exchange(o.rows_, 0);
            cols_ = std::exchange(o.cols_, 0);
            index_ = std::exchange(o.index_, -1);
        }
        return *this;
    }
    device_tensor(const device_tensor&) = delete;
    device_tensor& operator=(const device_tensor&) = delete;
    ~device_tensor() { free(); }

    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
    [[nodiscard]] std::size_t size() const noexcept { return rows_ * cols_; }
    /// The bytes booked on the device: size() * sizeof(float).
    [[nodiscard]] std::size_t bytes() const noexcept { return lease_.bytes(); }
    /// The CUDA device index of the memory (-1 for an empty default-constructed tensor).
    [[nodiscard]] int cuda_index() const noexcept { return index_; }
    /// Device pointers (never dereference them on the host).
    [[nodiscard]] float* data() noexcept { return data_; }
    [[nodiscard]] const float* data() const noexcept { return data_; }
    [[nodiscard]] matrix_view<float> view() noexcept { return {data_, rows_, cols_}; }
    [[nodiscard]] matrix_view<const float> view() const noexcept { return {data_, rows_, cols_}; }
    /// As a std::span of device memory (size() floats), as the CPU layers take `saved`.
    [[nodiscard]] std::span<float> span() noexcept { return {data_, size()}; }
    [[nodiscard]] std::span<const float> span() const noexcept { return {data_, size()}; }

    /// Copies size() floats from the host; returns when they are on the device.
    void upload(std::span<const float> host, cudaStream_t stream = nullptr)
    {
        check_size(host.size(), "upload");
        if (size() == 0)
            return;
        trident::detail::device_guard guard(index_);
        const cudaStream_t s = detail::stream_or_default(stream);
        TRIDENT_CUDA_CHECK(cudaMemcpyAsync(data_, host.data(), bytes(), cudaMemcpyHostToDevice, s));
        TRIDENT_CUDA_CHECK(cudaStreamSynchronize(s));
    }
    /// Waits for `stream`, then copies size() floats to the host.
    void download(std::span<float> host, cudaStream_t stream = nullptr) const
    {
        check_size(host.size(), "download");
        if (size() == 0)
            return;
        trident::detail::device_guard guard(index_);
        const cudaStream_t s = detail::stream_or_default(stream);
        TRIDENT_CUDA_CHECK(cudaMemcpyAsync(host.data(), data_, bytes(), cudaMemcpyDeviceToHost, s));
        TRIDENT_CUDA_CHECK(cudaStreamSynchronize(s));
    }
    [[nodiscard]] std::vector<float> download(cudaStream_t stream = nullptr) const
    {
        std::vector<float> host(size());
        download(host, stream);
        return host;
    }

    /// this = source (same shape), enqueued on `stream` (a stream of this tensor's device).
    void copy_from(const device_tensor& source, cudaStream_t stream = nullptr)
    {
        if (source.rows_ != rows_ || source.cols_ != cols_)
            throw std::invalid_argument("trident::model::gpu::device_tensor::copy_from: the source is " +
                                        std::to_string(source.rows_) + " x " + std::to_string(source.cols_) +
                                        ", this tensor " + std::to_string(rows_) + " x " + std::to_string(cols_));
        if (size() == 0 || source.data_ == data_)
            return;
        trident::detail::device_guard guard(index_);
        const cudaStream_t s = detail::stream_or_default(stream);
        if (source.index_ == index_)
            TRIDENT_CUDA_CHECK(cudaMemcpyAsync(data_, source.data_, bytes(), cudaMemcpyDeviceToDevice, s));
        else
            TRIDENT_CUDA_CHECK(cudaMemcpyPeerAsync(data_, index_, source.data_, source.index_, bytes(), s));
    }

    /// Moves the booking to `dev` (a GPU device; booked there first, then released here): the
    /// memory stays on its CUDA device (cuda_index() does not change).
    /// \throws trident::out_of_memory from `dev`, and then nothing changes; std::invalid_argument
    ///   for a CPU device.
    void rebook(const trident::device& dev, std::string_view what)
    {
        detail::require_gpu_device(dev, "device_tensor::rebook");
        memory_lease fresh = dev.reserve(bytes(), what);
        lease_ = std::move(fresh);
    }
    /// Zeros, enqueued on `stream`.
    void fill_zero(cudaStream_t stream = nullptr)
    {
        if (size() == 0)
            return;
        trident::detail::device_guard guard(index_);
        TRIDENT_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes(), detail::stream_or_default(stream)));
    }

private:
    void check_size(std::size_t host, const char* what) const
    {
        if (host != size())
            throw std::invalid_argument(std::string("trident::model::gpu::device_tensor::") + what + ": the host span has " +
                                        std::to_string(host) + " floats, the tensor " + std::to_string(rows_) + " x " +
                                        std::to_string(cols_) + " = " + std::to_string(size()));
    }
    void free() noexcept
    {
        if (data_) {
            int previous = -1;
            const bool switched = cudaGetDevice(&previous) == cudaSuccess && previous != index_ &&
                                  cudaSetDevice(index_) == cudaSuccess;
            (void)cudaDeviceSynchronize(); // no queued kernel may still use the memory
            (void)cudaFree(data_);         // an error here has no one to go to
            if (switched)
                (void)cudaSetDevice(previous);
            (void)cudaGetLastError();
            data_ = nullptr;
        }
        lease_.release(); // after the memory is gone
        rows_ = cols_ = 0;
        index_ = -1;
    }

    memory_lease lease_;
    float* data_ = nullptr;
    std::size_t rows_ = 0;
    std::size_t cols_ = 0;
    int index_ = -1;
};

} // namespace trident::model::gpu
