#pragma once
// Shared by the GPU benchmark sources (bench_gpu.cu, bench_gpu_pipeline.cu, bench_gpu_lecture.cu):
// stop the binary with a message when a CUDA call fails, and time one iteration with CUDA events.
// nvcc only.

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

namespace bench_gpu {

/// Prints "trident_bench_gpu: <what> failed: <CUDA's message>" and exits 1 when e is an error.
inline void check(cudaError_t e, const char* what)
{
    if (e != cudaSuccess) {
        std::fprintf(stderr, "trident_bench_gpu: %s failed: %s\n", what, cudaGetErrorString(e));
        std::exit(1);
    }
}

/// CUDA events around one iteration on the default stream.
class event_timer {
public:
    event_timer()
    {
        check(cudaEventCreate(&start_), "cudaEventCreate");
        check(cudaEventCreate(&stop_), "cudaEventCreate");
    }
    event_timer(const event_timer&) = delete;
    event_timer& operator=(const event_timer&) = delete;
    ~event_timer()
    {
        cudaEventDestroy(start_);
        cudaEventDestroy(stop_);
    }
    void start() { check(cudaEventRecord(start_, nullptr), "cudaEventRecord"); }
    /// Seconds since start().
    double stop()
    {
        check(cudaEventRecord(stop_, nullptr), "cudaEventRecord");
        check(cudaEventSynchronize(stop_), "cudaEventSynchronize");
        float ms = 0;
        check(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
        return ms / 1e3;
    }

private:
    cudaEvent_t start_{}, stop_{};
};

} // namespace bench_gpu
