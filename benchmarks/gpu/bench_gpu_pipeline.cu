// GPU pipeline benchmark: a trident::gpu_map_stage with overlap (2 and 3 lanes) against the same
// stage without it (1 lane), in one binary with bench_gpu.cu (whose main says "no GPU" and exits 0
// on a machine without one; nothing here touches CUDA before a benchmark runs).
//
//   gpu_pipeline/lanes1   64 batches of 4M floats through source -> gpu_map_stage -> sink, 1 lane
//   gpu_pipeline/lanes2   the same, 2 lanes (double buffering)
//   gpu_pipeline/lanes3   the same, 3 lanes (triple buffering)
//
// The stage's kernel evaluates a chain of fma_per_element dependent FMAs per element, so that on
// an H100 the kernel (about 4M x 2048 FMA / ~34 TFMA/s = 0.25 ms) costs about as much as one
// direction of PCIe (16 MiB at ~25-55 GB/s = 0.3-0.7 ms).
//
// The model.  One batch through one lane costs
//     T = host_in + h2d + kernel + d2h + host_out
// (host_in / host_out: the host copies into and out of the lane's pinned buffers; h2d / d2h: the
// PCIe transfers; kernel: the GPU work).  Without overlap (1 lane) a batch takes T.  With L lanes
// on L threads the host copies of different batches run on different cores, and the H2D engine,
// the SMs and the D2H engine work on three different batches at once, so a batch takes about
//     max(T / L, h2d, kernel, d2h)
// (each engine serves one transfer at a time; the host copies are bounded by the cores and by host
// memory bandwidth, which this model ignores).  Each benchmark measures the phases once on one
// stream (CUDA events for the GPU phases, the steady clock for the host copies) and reports them
// with the model's speedup next to the measured one.
//
// Counters:
//   batches/s        batches through the pipeline per second (timed: run_pipeline only)
//   GB/s             bytes over PCIe per second (each batch's input to the device and output back)
//   overlap_speedup  seconds per batch with 1 lane / seconds per batch here (lanes1: 1)
//   model_speedup    T / max(T / L, h2d, kernel, d2h) from the measured phases
//   h2d_ms, kernel_ms, d2h_ms, host_copies_ms   the phases of one batch (host_copies = in + out)
//
// Each iteration refills the 64 input vectors (untimed), then times one run_pipeline.  The sink
// hands each vector back for the next iteration (the stage returns its result in the input's own
// memory, as In == Out), so the timed region allocates no batch memory.

#include "trident/trident.hpp"
#include "trident/task/gpu_stage.cuh"

#include "gpu_timing.cuh"

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr std::size_t batch_n = std::size_t{1} << 22; // 4M floats, 16 MiB per batch
constexpr std::size_t batch_count = 64;
constexpr int fma_per_element = 2048;

using bench_gpu::check;

/// A chain of dependent FMAs: converges towards 1, never denormal, never folded by the compiler.
struct heavy {
    TRIDENT_HOST_DEVICE float operator()(float x) const
    {
        float y = x;
#if defined(__CUDA_ARCH__)
#  pragma unroll 16
#endif
        for (int i = 0; i < fma_per_element; ++i)
            y = fmaf(y, 0.999f, 0.001f);
        return y;
    }
};

} // namespace

namespace trident {
template <> inline constexpr bool is_device_callable_v<heavy> = true;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// One batch's phases on one stream, the fastest of a few repetitions.
struct phases {
    double host_in = 0, h2d = 0, kernel = 0, d2h = 0, host_out = 0;
    [[nodiscard]] double total() const { return host_in + h2d + kernel + d2h + host_out; }
    /// Seconds per batch with `lanes` lanes, by the model in the file comment.
    [[nodiscard]] double with_lanes(int lanes) const
    {
        return std::max({total() / lanes, h2d, kernel, d2h});
    }
};

const phases& measured_phases()
{
    static const phases p = [] {
        phases best{1e9, 1e9, 1e9, 1e9, 1e9};
        const std::size_t bytes = batch_n * sizeof(float);
        std::vector<float> host(batch_n, 0.5f);
        void *pin_in = nullptr, *pin_out = nullptr;
        check(cudaHostAlloc(&pin_in, bytes, cudaHostAllocPortable), "cudaHostAlloc");
        check(cudaHostAlloc(&pin_out, bytes, cudaHostAllocPortable), "cudaHostAlloc");
        trident::device_vector<float> din(batch_n), dout(batch_n);
        cudaStream_t stream = nullptr;
        check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
        cudaEvent_t e[4];
        for (auto& ev : e)
            check(cudaEventCreate(&ev), "cudaEventCreate");
        for (int rep = 0; rep < 5; ++rep) {
            auto t0 = std::chrono::steady_clock::now();
            std::memcpy(pin_in, host.data(), bytes);
            best.host_in = std::min(best.host_in, seconds_since(t0));
            check(cudaEventRecord(e[0], stream), "cudaEventRecord");
            check(cudaMemcpyAsync(din.data(), pin_in, bytes, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync");
            check(cudaEventRecord(e[1], stream), "cudaEventRecord");
            trident::map(trident::gpu.stream(stream), din.span(), dout.span(), heavy{});
            check(cudaEventRecord(e[2], stream), "cudaEventRecord");
            check(cudaMemcpyAsync(pin_out, dout.data(), bytes, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync");
            check(cudaEventRecord(e[3], stream), "cudaEventRecord");
            check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
            float ms[3] = {};
            for (int k = 0; k < 3; ++k)
                check(cudaEventElapsedTime(&ms[k], e[k], e[k + 1]), "cudaEventElapsedTime");
            best.h2d = std::min(best.h2d, ms[0] / 1e3);
            best.kernel = std::min(best.kernel, ms[1] / 1e3);
            best.d2h = std::min(best.d2h, ms[2] / 1e3);
            t0 = std::chrono::steady_clock::now();
            std::memcpy(host.data(), pin_out, bytes);
            best.host_out = std::min(best.host_out, seconds_since(t0));
        }
        for (auto& ev : e)
            cudaEventDestroy(ev);
        cudaStreamDestroy(stream);
        cudaFreeHost(pin_in);
        cudaFreeHost(pin_out);
        return best;
    }();
    return p;
}

/// Seconds per batch with one lane: set by gpu_pipeline/lanes1, or measured once when it was
/// filtered out.
std::optional<double>& one_lane_seconds_per_batch()
{
    static std::optional<double> s;
    return s;
}

/// Runs `count` batches from `pool` through a pipeline with `stage`; returns the seconds taken (or
/// a negative value when a result was wrong).  The vectors come back into `pool`.
template <class Stage>
double run_batches(const Stage& stage, std::vector<std::vector<float>>& pool, std::size_t count, float expected_first)
{
    std::size_t next = 0, back = 0;
    bool wrong = false;
    const auto t0 = std::chrono::steady_clock::now();
    trident::run_pipeline(trident::par,
                          trident::source("load",
                                          [&]() -> std::optional<std::vector<float>> {
                                              if (next == count)
                                                  return std::nullopt;
                                              return std::move(pool[next++]);
                                          }),
                          stage,
                          trident::stage("sink", trident::serial_in_order, [&](std::vector<float> r) {
                              wrong = wrong || r.size() != batch_n || r.front() != expected_first;
                              pool[back++] = std::move(r);
                          }));
    const double s = seconds_since(t0);
    return wrong ? -1.0 : s;
}

void refill(std::vector<std::vector<float>>& pool, const std::vector<float>& pristine)
{
    for (auto& v : pool) {
        v.resize(pristine.size());
        std::copy(pristine.begin(), pristine.end(), v.begin());
    }
}

void gpu_pipeline(benchmark::State& state, int lanes)
{
    std::vector<float> pristine(batch_n);
    for (std::size_t i = 0; i < batch_n; ++i)
        pristine[i] = static_cast<float>(i % 1000) / 1000.0f;
    const float expected_first = heavy{}(pristine[0]); // host fmaf and device fmaf agree (both exact FMA)
    std::vector<std::vector<float>> pool(batch_count);
    const auto stage = trident::gpu_map_stage<float>("gpu", trident::gpu, heavy{}, lanes);

    // Untimed: the lanes' streams and buffers are made on first use.
    refill(pool, pristine);
    if (run_batches(stage, pool, 4 * static_cast<std::size_t>(lanes), expected_first) < 0) {
        state.SkipWithError("wrong result from the GPU stage");
        return;
    }
    const phases& p = measured_phases();

    double timed = 0;
    for (auto _ : state) {
        refill(pool, pristine);
        const double s = run_batches(stage, pool, batch_count, expected_first);
        if (s < 0) {
            state.SkipWithError("wrong result from the GPU stage");
            return;
        }
        state.SetIterationTime(s);
        timed += s;
    }

    const double batches = static_cast<double>(state.iterations()) * batch_count;
    const double per_batch = timed / batches;
    if (lanes == 1) {
        one_lane_seconds_per_batch() = per_batch;
    } else if (!one_lane_seconds_per_batch()) {
        const auto one = trident::gpu_map_stage<float>("gpu", trident::gpu, heavy{}, 1);
        refill(pool, pristine);
        (void)run_batches(one, pool, 4, expected_first); // warm-up
        refill(pool, pristine);
        one_lane_seconds_per_batch() = run_batches(one, pool, batch_count, expected_first) / batch_count;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(batches * batch_n));
    state.counters["batches/s"] = batches / timed;
    state.counters["GB/s"] = batches * 2.0 * batch_n * sizeof(float) / timed / 1e9;
    state.counters["overlap_speedup"] = *one_lane_seconds_per_batch() / per_batch;
    state.counters["model_speedup"] = p.total() / p.with_lanes(lanes);
    state.counters["h2d_ms"] = p.h2d * 1e3;
    state.counters["kernel_ms"] = p.kernel * 1e3;
    state.counters["d2h_ms"] = p.d2h * 1e3;
    state.counters["host_copies_ms"] = (p.host_in + p.host_out) * 1e3;
}

} // namespace

// Named "gpu_pipeline/lanes<L>" (BENCHMARK_CAPTURE names "function/label").
BENCHMARK_CAPTURE(gpu_pipeline, lanes1, 1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(gpu_pipeline, lanes2, 2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(gpu_pipeline, lanes3, 3)->UseManualTime()->Unit(benchmark::kMillisecond);
