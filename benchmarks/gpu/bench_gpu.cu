// GPU benchmarks: trident::gpu against the CUDA peers a user would call instead (a device-to-device
// cudaMemcpy for bandwidth, CUB directly for reduce, scan and radix sort), on data already in GPU
// memory (trident::device_vector), and the cost of host ranges (copied over and back) separately.
//
// Naming: "<workload>/<implementation>", as the CPU suite (benchmarks/common.hpp):
//   gpu_map_f32          trident (y = 2x, 64M floats)  vs  memcpy_d2d (the same bytes moved)
//   gpu_map_u8           trident (y = x + 1, 256M bytes) vs memcpy_d2d: 16 one-byte elements per
//                        thread and step (one 16-byte load and store); goal: at least 90% of the copy
//   gpu_reduce_f64       trident (sum of 100M doubles) vs  cub (cub::DeviceReduce::Sum); also
//                        trident_commutative (a TRIDENT_LAMBDA sum under trident::commutative: CUB's
//                        reduction) and trident_ordered (the same lambda undeclared: trident's
//                        order-keeping reduction, one pass, 1025 doubles of scratch)
//   gpu_scan_i32         trident (inclusive sum, 64M)  vs  cub (cub::DeviceScan::InclusiveSum)
//   gpu_sort_u32         trident (10M keys)            vs  cub (cub::DeviceRadixSort::SortKeys)
//   gpu_sort_f64         trident (10M keys)            vs  cub
//   gpu_host_map_f32     trident_device_vector vs trident_host_vector (64M floats: H2D + D2H included)
//   gpu_pipeline         lanes1 vs lanes2, lanes3: trident::gpu_map_stage without and with overlap
//                        (bench_gpu_pipeline.cu, linked into this binary; its own timing and counters)
//   gemm                 cublas (cublasDgemm) vs trident_gpu (for_each_index, one thread per element
//                        of C): the lecture's claim 5 on the GPU, n x n doubles as the CPU rows
//   monte_carlo          trident_gpu (map_reduce): claim 6, the CPU rows' points
//   image_filter         trident_gpu (for_each_index, one thread per pixel): claim 6, 3x3 box blur
//                        (these three: bench_gpu_lecture.cu, linked into this binary; the workloads of
//                        benchmarks/bench_lecture.cpp, from benchmarks/lecture_workloads.hpp; timed in
//                        ms, with GFLOP/s on the gemm rows)
//
// Every iteration is timed with CUDA events on the legacy default stream (UseManualTime); trident
// calls without a stream run on the calling thread's default stream (cudaStreamPerThread, which
// synchronises with the legacy one) and return with their work done, so the events bracket the
// whole call.  Scratch memory
// for the CUB peers is allocated once, outside the timed region, as a tuned CUB user would.
// Counters: GB/s (bytes that must cross GPU memory, or PCIe for the host rows) and items/s.
//
// Without a GPU the binary prints one "no GPU" line and exits 0.

#include "trident/trident.hpp"

#include "gpu_timing.cuh"

#include <benchmark/benchmark.h>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_scan.cuh>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#ifndef TRIDENT_BENCH_GIT_HASH
#  define TRIDENT_BENCH_GIT_HASH "unknown"
#endif

namespace {

constexpr std::size_t map_n = std::size_t{1} << 26;     // 64M floats
constexpr std::size_t reduce_n = 100'000'000;            // 100M doubles
constexpr std::size_t scan_n = std::size_t{1} << 26;    // 64M ints
constexpr std::size_t sort_n = 10'000'000;               // 10M keys

using bench_gpu::check;
using bench_gpu::event_timer;

/// One device buffer of raw bytes for the CUB peers' scratch.
struct raw_buffer {
    void* p = nullptr;
    explicit raw_buffer(std::size_t bytes) { check(cudaMalloc(&p, bytes == 0 ? 1 : bytes), "cudaMalloc"); }
    raw_buffer(const raw_buffer&) = delete;
    raw_buffer& operator=(const raw_buffer&) = delete;
    ~raw_buffer() { cudaFree(p); }
};

void set_counters(benchmark::State& state, std::size_t items, double bytes)
{
    const auto it = static_cast<double>(state.iterations());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(items));
    state.counters["GB/s"] = benchmark::Counter(bytes * it / 1e9, benchmark::Counter::kIsRate);
}

template <class T>
std::vector<T> random_vector(std::size_t n, std::uint64_t seed)
{
    std::mt19937_64 gen(seed);
    std::vector<T> v(n);
    if constexpr (std::is_floating_point_v<T>) {
        std::uniform_real_distribution<T> d(T(-1), T(1));
        for (auto& x : v)
            x = d(gen);
    } else {
        for (auto& x : v)
            x = static_cast<T>(gen());
    }
    return v;
}

struct twice {
    TRIDENT_HOST_DEVICE float operator()(float v) const { return 2.0f * v; }
};

// ---- map vs device-to-device copy -------------------------------------------------------------

void gpu_map_f32_trident(benchmark::State& state)
{
    trident::device_vector<float> x(map_n, 1.5f), y(map_n);
    event_timer t;
    for (auto _ : state) {
        t.start();
        trident::map(trident::gpu, x, y, twice{});
        state.SetIterationTime(t.stop());
    }
    set_counters(state, map_n, 2.0 * map_n * sizeof(float));
}

void gpu_map_f32_memcpy_d2d(benchmark::State& state)
{
    trident::device_vector<float> x(map_n, 1.5f), y(map_n);
    event_timer t;
    for (auto _ : state) {
        t.start();
        check(cudaMemcpyAsync(y.data(), x.data(), map_n * sizeof(float), cudaMemcpyDeviceToDevice, nullptr), "cudaMemcpyAsync");
        state.SetIterationTime(t.stop());
    }
    set_counters(state, map_n, 2.0 * map_n * sizeof(float));
}

constexpr std::size_t map_u8_n = std::size_t{1} << 28; // 256M bytes

void gpu_map_u8_trident(benchmark::State& state)
{
    trident::device_vector<std::uint8_t> x(map_u8_n, std::uint8_t{3}), y(map_u8_n);
    event_timer t;
    for (auto _ : state) {
        t.start();
        trident::map(trident::gpu, x, y, TRIDENT_LAMBDA(std::uint8_t v) { return static_cast<std::uint8_t>(v + 1); });
        state.SetIterationTime(t.stop());
    }
    set_counters(state, map_u8_n, 2.0 * map_u8_n);
}

void gpu_map_u8_memcpy_d2d(benchmark::State& state)
{
    trident::device_vector<std::uint8_t> x(map_u8_n, std::uint8_t{3}), y(map_u8_n);
    event_timer t;
    for (auto _ : state) {
        t.start();
        check(cudaMemcpyAsync(y.data(), x.data(), map_u8_n, cudaMemcpyDeviceToDevice, nullptr), "cudaMemcpyAsync");
        state.SetIterationTime(t.stop());
    }
    set_counters(state, map_u8_n, 2.0 * map_u8_n);
}

// ---- reduce -----------------------------------------------------------------------------------

/// reduce with a user operator: declared commutative or not.
template <bool Commutative>
void gpu_reduce_f64_lambda(benchmark::State& state)
{
    trident::device_vector<double> x(random_vector<double>(reduce_n, 1));
    auto add = TRIDENT_LAMBDA(double a, double b) { return a + b; };
    event_timer t;
    double sum = 0;
    for (auto _ : state) {
        t.start();
        if constexpr (Commutative)
            sum = trident::reduce(trident::gpu, x, 0.0, trident::commutative(add));
        else
            sum = trident::reduce(trident::gpu, x, 0.0, add);
        state.SetIterationTime(t.stop());
        benchmark::DoNotOptimize(sum);
    }
    set_counters(state, reduce_n, double(reduce_n) * sizeof(double));
}

void gpu_reduce_f64_trident(benchmark::State& state)
{
    trident::device_vector<double> x(random_vector<double>(reduce_n, 1));
    event_timer t;
    double sum = 0;
    for (auto _ : state) {
        t.start();
        sum = trident::reduce(trident::gpu, x, 0.0);
        state.SetIterationTime(t.stop());
        benchmark::DoNotOptimize(sum);
    }
    set_counters(state, reduce_n, double(reduce_n) * sizeof(double));
}

void gpu_reduce_f64_cub(benchmark::State& state)
{
    trident::device_vector<double> x(random_vector<double>(reduce_n, 1)), out(1);
    std::size_t bytes = 0;
    check(cub::DeviceReduce::Sum(nullptr, bytes, x.data(), out.data(), reduce_n), "cub::DeviceReduce::Sum");
    raw_buffer temp(bytes);
    event_timer t;
    double sum = 0;
    for (auto _ : state) {
        t.start();
        check(cub::DeviceReduce::Sum(temp.p, bytes, x.data(), out.data(), reduce_n), "cub::DeviceReduce::Sum");
        check(cudaMemcpy(&sum, out.data(), sizeof(double), cudaMemcpyDeviceToHost), "cudaMemcpy"); // trident returns the value too
        state.SetIterationTime(t.stop());
        benchmark::DoNotOptimize(sum);
    }
    set_counters(state, reduce_n, double(reduce_n) * sizeof(double));
}

// ---- inclusive scan ---------------------------------------------------------------------------

void gpu_scan_i32_trident(benchmark::State& state)
{
    trident::device_vector<int> x(random_vector<int>(scan_n, 2)), y(scan_n);
    event_timer t;
    for (auto _ : state) {
        t.start();
        trident::inclusive_scan(trident::gpu, x, y);
        state.SetIterationTime(t.stop());
    }
    set_counters(state, scan_n, 2.0 * scan_n * sizeof(int));
}

void gpu_scan_i32_cub(benchmark::State& state)
{
    trident::device_vector<int> x(random_vector<int>(scan_n, 2)), y(scan_n);
    std::size_t bytes = 0;
    check(cub::DeviceScan::InclusiveSum(nullptr, bytes, x.data(), y.data(), scan_n), "cub::DeviceScan::InclusiveSum");
    raw_buffer temp(bytes);
    event_timer t;
    for (auto _ : state) {
        t.start();
        check(cub::DeviceScan::InclusiveSum(temp.p, bytes, x.data(), y.data(), scan_n), "cub::DeviceScan::InclusiveSum");
        check(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
        state.SetIterationTime(t.stop());
    }
    set_counters(state, scan_n, 2.0 * scan_n * sizeof(int));
}

// ---- sort ---------------------------------------------------------------------------------------

/// Each iteration sorts a fresh copy of the same random keys; the copy is not timed.
template <class T>
void gpu_sort_trident(benchmark::State& state)
{
    const trident::device_vector<T> pristine(random_vector<T>(sort_n, 3));
    trident::device_vector<T> keys(sort_n);
    event_timer t;
    for (auto _ : state) {
        check(cudaMemcpy(keys.data(), pristine.data(), sort_n * sizeof(T), cudaMemcpyDeviceToDevice), "cudaMemcpy");
        t.start();
        trident::sort(trident::gpu, keys);
        state.SetIterationTime(t.stop());
    }
    set_counters(state, sort_n, 2.0 * sort_n * sizeof(T));
}

template <class T>
void gpu_sort_cub(benchmark::State& state)
{
    const trident::device_vector<T> pristine(random_vector<T>(sort_n, 3));
    trident::device_vector<T> keys(sort_n), alt(sort_n);
    cub::DoubleBuffer<T> buffers(keys.data(), alt.data());
    std::size_t bytes = 0;
    check(cub::DeviceRadixSort::SortKeys(nullptr, bytes, buffers, sort_n), "cub::DeviceRadixSort::SortKeys");
    raw_buffer temp(bytes);
    event_timer t;
    for (auto _ : state) {
        check(cudaMemcpy(keys.data(), pristine.data(), sort_n * sizeof(T), cudaMemcpyDeviceToDevice), "cudaMemcpy");
        buffers = cub::DoubleBuffer<T>(keys.data(), alt.data());
        t.start();
        check(cub::DeviceRadixSort::SortKeys(temp.p, bytes, buffers, sort_n), "cub::DeviceRadixSort::SortKeys");
        check(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
        state.SetIterationTime(t.stop());
    }
    set_counters(state, sort_n, 2.0 * sort_n * sizeof(T));
}

// ---- host ranges: the transfer cost -----------------------------------------------------------

void gpu_host_map_f32_trident_device_vector(benchmark::State& state)
{
    trident::device_vector<float> x(map_n, 1.5f), y(map_n);
    event_timer t;
    for (auto _ : state) {
        t.start();
        trident::map(trident::gpu, x, y, twice{});
        state.SetIterationTime(t.stop());
    }
    set_counters(state, map_n, 2.0 * map_n * sizeof(float));
}

/// Bytes counted: the input over PCIe to the device and the output back.
void gpu_host_map_f32_trident_host_vector(benchmark::State& state)
{
    std::vector<float> x(map_n, 1.5f), y(map_n);
    event_timer t;
    for (auto _ : state) {
        t.start();
        trident::map(trident::gpu, x, y, twice{});
        state.SetIterationTime(t.stop());
    }
    set_counters(state, map_n, 2.0 * map_n * sizeof(float));
}

} // namespace

BENCHMARK(gpu_map_f32_trident)->Name("gpu_map_f32/trident")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_map_f32_memcpy_d2d)->Name("gpu_map_f32/memcpy_d2d")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_reduce_f64_trident)->Name("gpu_reduce_f64/trident")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_reduce_f64_cub)->Name("gpu_reduce_f64/cub")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_reduce_f64_lambda<true>)->Name("gpu_reduce_f64/trident_commutative")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_reduce_f64_lambda<false>)->Name("gpu_reduce_f64/trident_ordered")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_map_u8_trident)->Name("gpu_map_u8/trident")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_map_u8_memcpy_d2d)->Name("gpu_map_u8/memcpy_d2d")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_scan_i32_trident)->Name("gpu_scan_i32/trident")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_scan_i32_cub)->Name("gpu_scan_i32/cub")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_sort_trident<std::uint32_t>)->Name("gpu_sort_u32/trident")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_sort_cub<std::uint32_t>)->Name("gpu_sort_u32/cub")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_sort_trident<double>)->Name("gpu_sort_f64/trident")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_sort_cub<double>)->Name("gpu_sort_f64/cub")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_host_map_f32_trident_device_vector)
    ->Name("gpu_host_map_f32/trident_device_vector")
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(gpu_host_map_f32_trident_host_vector)
    ->Name("gpu_host_map_f32/trident_host_vector")
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv)
{
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0) {
        std::printf("trident_bench_gpu: no GPU (%s): nothing to run\n",
                    status != cudaSuccess ? cudaGetErrorString(status) : "cudaGetDeviceCount found 0 devices");
        return 0;
    }
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    benchmark::AddCustomContext("device", prop.name);
    benchmark::AddCustomContext("gpu_name", prop.name); // the report's sign that a GPU ran
    benchmark::AddCustomContext("compute_capability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
    benchmark::AddCustomContext("sm_count", std::to_string(prop.multiProcessorCount));
    benchmark::AddCustomContext("global_memory_gib", std::to_string(double(prop.totalGlobalMem) / (1u << 30)));
    benchmark::AddCustomContext("cuda_driver", std::to_string(driver));
    benchmark::AddCustomContext("cuda_runtime", std::to_string(runtime));
    benchmark::AddCustomContext("git_hash", TRIDENT_BENCH_GIT_HASH);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
