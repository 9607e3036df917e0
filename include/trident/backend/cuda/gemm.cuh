#pragma once
/// \file backend/cuda/gemm.cuh
/// trident::gemm under trident::gpu (data/gemm.hpp): one cuBLAS call (cublasSgemm / cublasDgemm) on
/// the policy's device and stream (gpu_call, launch.cuh), on row-major device memory.  Only nvcc
/// sees this header.
///
/// - A cuBLAS handle per host thread and device, created on first use and kept (creating one costs
///   far more than a small product); a handle is never shared between threads, so that setting its
///   stream cannot race.
/// - cuBLAS's default math mode: float products run in full FP32 (no TF32), as on the CPU.
/// - A failed cuBLAS call throws trident::cuda_error naming the call and cuBLAS's status.

#if !defined(__CUDACC__)
#  error "trident/backend/cuda/gemm.cuh is for CUDA sources only: compile this file with nvcc"
#endif

#include "trident/backend/cuda/check.cuh"
#include "trident/backend/cuda/launch.cuh"
#include "trident/errors.hpp"
#include "trident/policy.hpp"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

namespace trident::detail {

inline void cublas_check(cublasStatus_t status, const char* what)
{
    if (status != CUBLAS_STATUS_SUCCESS)
        throw cuda_error(static_cast<int>(status), std::string("trident::gemm: ") + what + " failed: " +
                                                       cublasGetStatusName(status) + " (" +
                                                       cublasGetStatusString(status) + ")");
}

/// This thread's cuBLAS handle for `device` (the device must be current).
inline cublasHandle_t cublas_handle_for(int device)
{
    struct handles {
        std::vector<cublasHandle_t> by_device;
        ~handles()
        {
            for (cublasHandle_t h : by_device)
                if (h != nullptr)
                    cublasDestroy(h); // at thread exit; an error then has no one to go to
        }
    };
    thread_local handles mine;
    if (static_cast<std::size_t>(device) >= mine.by_device.size())
        mine.by_device.resize(static_cast<std::size_t>(device) + 1, nullptr);
    cublasHandle_t& h = mine.by_device[static_cast<std::size_t>(device)];
    if (h == nullptr)
        cublas_check(cublasCreate(&h), "cublasCreate");
    return h;
}

/// C = alpha op(A) op(B) + beta C on row-major device memory (shapes as in detail::blas_gemm, checked by
/// the caller), as the column-major product C^T = op(B)^T op(A)^T.
template <class T>
void cuda_gemm(const gpu_policy& policy, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
               T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    const gpu_call call(policy);
    const cublasHandle_t h = cublas_handle_for(call.device);
    cublas_check(cublasSetStream(h, call.stream), "cublasSetStream");
    // Leading dimensions of at least 1: an empty A or B (k == 0) may have stride 0.
    const auto ld = [](std::size_t s) { return static_cast<int>(std::max<std::size_t>(s, 1)); };
    const auto op = [](bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; };
    const int bm = static_cast<int>(n), bn = static_cast<int>(m), bk = static_cast<int>(k);
    if constexpr (std::is_same_v<T, float>)
        cublas_check(cublasSgemm(h, op(trans_b), op(trans_a), bm, bn, bk, &alpha, b, ld(ldb), a, ld(lda), &beta, c,
                                 ld(ldc)),
                     "cublasSgemm");
    else
        cublas_check(cublasDgemm(h, op(trans_b), op(trans_a), bm, bn, bk, &alpha, b, ld(ldb), a, ld(lda), &beta, c,
                                 ld(ldc)),
                     "cublasDgemm");
    call.finish(false);
}

} // namespace trident::detail
