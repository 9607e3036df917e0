// [gpu] trident::gpu_stage and trident::gpu_map_stage inside trident::run_pipeline: results against
// a CPU reference under par and seq with 1, 2 and 3 lanes, the general kernel form (trident calls
// and a raw kernel on the lane's stream), exceptions while lanes are busy, a bad device index,
// argument checks, growing batches, and one stage shared by two pipelines at once.
//
// Assertions run on the test's thread only: pipeline stages collect, the test compares afterwards.

#include "trident/trident.hpp"
#include "trident/task/gpu_stage.cuh"

#include <catch2/catch.hpp>
#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// Batch sizes: an empty batch, odd sizes, sizes around the copy chunk (1 MiB of floats is 262144
// elements; of doubles 131072), and the largest one.
const std::vector<std::size_t> mixed_sizes = {1000, 0, 1, 7, 100000, 4097, 262145, 3, 131073, 65536, 0, 99999, 33};

/// Batch k's element i: a value in [-2^20, 2^20), so that every step below is exact in float.
std::int32_t element(std::size_t k, std::size_t i)
{
    std::uint64_t x = (k + 1) * 0x9E3779B97F4A7C15ull ^ (i + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    return static_cast<std::int32_t>(x % (std::uint64_t{1} << 21)) - (std::int32_t{1} << 20);
}

std::vector<std::int32_t> make_batch(std::size_t k, std::size_t n)
{
    std::vector<std::int32_t> b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = element(k, i);
    return b;
}

/// The CPU stage: int -> float (exact for |v| <= 2^24).
std::vector<float> halve(const std::vector<std::int32_t>& b)
{
    std::vector<float> out(b.size());
    for (std::size_t i = 0; i < b.size(); ++i)
        out[i] = static_cast<float>(b[i]) * 0.5f;
    return out;
}

/// What the pipeline must give for batch k: 3 * (v / 2) + 0.25 in double (exact).
std::vector<double> expected_batch(std::size_t k, std::size_t n)
{
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<double>(static_cast<float>(element(k, i)) * 0.5f) * 3.0 + 0.25;
    return out;
}

void require_batches(const std::vector<std::vector<double>>& got, const std::vector<std::size_t>& sizes)
{
    REQUIRE(got.size() == sizes.size());
    for (std::size_t k = 0; k < sizes.size(); ++k) {
        CAPTURE(k, sizes[k]);
        REQUIRE(got[k].size() == sizes[k]);
        const std::vector<double> expected = expected_batch(k, sizes[k]);
        std::size_t first_bad = sizes[k];
        for (std::size_t i = 0; i < sizes[k]; ++i)
            if (got[k][i] != expected[i]) {
                first_bad = i;
                break;
            }
        INFO("first mismatch at index " << first_bad);
        REQUIRE(first_bad == sizes[k]);
    }
}

/// source (ints) -> CPU stage (int -> float, parallel) -> gpu_map_stage (float -> double) -> sink in
/// order.  Returns every batch's result, in source order.
template <class Policy>
std::vector<std::vector<double>> run_map_pipeline(const Policy& policy, int lanes, const std::vector<std::size_t>& sizes,
                                                  trident::pipeline_stats* stats = nullptr)
{
    std::size_t next = 0;
    std::vector<std::vector<double>> results;
    const trident::pipeline_stats s = trident::run_pipeline(
        policy,
        trident::source("make",
                        [&]() -> std::optional<std::vector<std::int32_t>> {
                            if (next == sizes.size())
                                return std::nullopt;
                            const std::size_t k = next++;
                            return make_batch(k, sizes[k]);
                        }),
        trident::stage("halve", trident::parallel_out_of_order, [](const std::vector<std::int32_t>& b) { return halve(b); }),
        trident::gpu_map_stage<float>(
            "gpu", trident::gpu, TRIDENT_LAMBDA(float x) { return static_cast<double>(x) * 3.0 + 0.25; }, lanes),
        trident::stage("collect", trident::serial_in_order,
                       [&](std::vector<double> r) { results.push_back(std::move(r)); }));
    if (stats)
        *stats = s;
    return results;
}

struct add_one {
    TRIDENT_HOST_DEVICE float operator()(float x) const { return x + 1.0f; }
};

/// A kernel object that counts its calls and holds a token: while any copy of the stage lives, the
/// token's use count is above 1 (so its use count tells whether the lanes were freed).
struct counting_kernel {
    std::shared_ptr<std::atomic<int>> calls;
    std::size_t throw_at_size = static_cast<std::size_t>(-1);

    void operator()(trident::device_span<const float> in, trident::device_span<float> out,
                    const trident::gpu_policy& on_lane) const
    {
        calls->fetch_add(1);
        if (in.size() == throw_at_size)
            throw std::runtime_error("kernel refused a batch of " + std::to_string(in.size()));
        trident::map(on_lane, in, out, add_one{});
    }
};

/// A raw CUDA kernel: out[i] = in[i] * in[i] - i.
__global__ void square_minus_index(const std::int32_t* in, std::int64_t* out, std::size_t n)
{
    for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x)
        out[i] = std::int64_t{in[i]} * in[i] - static_cast<std::int64_t>(i);
}

int device_count()
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess)
        count = 0;
    (void)cudaGetLastError();
    return count;
}

/// Float batches source -> gpu stage -> collect, under par.
template <class Stage>
std::vector<std::vector<float>> run_float_pipeline(const Stage& gpu_stage, const std::vector<std::size_t>& sizes)
{
    std::size_t next = 0;
    std::vector<std::vector<float>> results;
    trident::run_pipeline(
        trident::par,
        trident::source([&]() -> std::optional<std::vector<float>> {
            if (next == sizes.size())
                return std::nullopt;
            const std::size_t k = next++;
            return halve(make_batch(k, sizes[k]));
        }),
        gpu_stage, trident::stage(trident::serial_in_order, [&](std::vector<float> r) { results.push_back(std::move(r)); }));
    return results;
}

void require_plus_one(const std::vector<std::vector<float>>& got, const std::vector<std::size_t>& sizes)
{
    REQUIRE(got.size() == sizes.size());
    for (std::size_t k = 0; k < sizes.size(); ++k) {
        CAPTURE(k, sizes[k]);
        const std::vector<float> in = halve(make_batch(k, sizes[k]));
        REQUIRE(got[k].size() == in.size());
        std::size_t bad = 0;
        for (std::size_t i = 0; i < in.size(); ++i)
            bad += got[k][i] != in[i] + 1.0f;
        REQUIRE(bad == 0);
    }
}

/// Batch k of mixed_sizes through a stage computing out[i] = in[i]^2 - i, in int64.
void require_square_minus_index(const std::vector<std::vector<std::int64_t>>& got)
{
    REQUIRE(got.size() == mixed_sizes.size());
    for (std::size_t k = 0; k < mixed_sizes.size(); ++k) {
        CAPTURE(k);
        const std::vector<std::int32_t> in = make_batch(k, mixed_sizes[k]);
        REQUIRE(got[k].size() == in.size());
        std::size_t bad = 0;
        for (std::size_t i = 0; i < in.size(); ++i)
            bad += got[k][i] != std::int64_t{in[i]} * in[i] - static_cast<std::int64_t>(i);
        REQUIRE(bad == 0);
    }
}

} // namespace

TEST_CASE("gpu pipeline: gpu_map_stage matches the CPU under par and seq with 1, 2 and 3 lanes", "[gpu][pipeline]")
{
    for (int lanes : {1, 2, 3}) {
        CAPTURE(lanes);
        {
            INFO("par");
            trident::pipeline_stats stats;
            require_batches(run_map_pipeline(trident::par, lanes, mixed_sizes, &stats), mixed_sizes);
            REQUIRE(stats.stages.size() == 4);
            REQUIRE(stats.stages[2].name == "gpu");
            REQUIRE(stats.stages[2].mode == trident::parallel_out_of_order.limit(lanes));
            REQUIRE(stats.stages[2].items == mixed_sizes.size());
        }
        {
            INFO("par.threads(2)");
            require_batches(run_map_pipeline(trident::par.threads(2), lanes, mixed_sizes), mixed_sizes);
        }
        {
            INFO("seq");
            require_batches(run_map_pipeline(trident::seq, lanes, mixed_sizes), mixed_sizes);
        }
    }
}

TEST_CASE("gpu pipeline: batches that grow and shrink regrow the lanes' buffers", "[gpu][pipeline]")
{
    std::vector<std::size_t> sizes;
    for (std::size_t n = 1; n <= 2'000'000; n = n * 3 + 1)
        sizes.push_back(n);                              // 1, 4, 13, ... 1.6M: every batch larger
    sizes.insert(sizes.end(), {5, 0, 2'500'000, 17, 1'000'000, 3'000'001, 1});
    for (int lanes : {1, 2, 3}) {
        CAPTURE(lanes);
        require_batches(run_map_pipeline(trident::par, lanes, sizes), sizes);
    }
}

TEST_CASE("gpu pipeline: the general kernel form with trident calls on the lane's stream", "[gpu][pipeline]")
{
    SECTION("for_each_index on the lane policy, In != Out")
    {
        auto square = trident::gpu_stage<std::int32_t, std::int64_t>(
            "square", trident::gpu,
            [](trident::device_span<const std::int32_t> in, trident::device_span<std::int64_t> out,
               const trident::gpu_policy& on_lane) {
                trident::for_each_index(on_lane, in.size(), TRIDENT_LAMBDA(std::size_t i) {
                    out[i] = std::int64_t{in[i]} * in[i] - static_cast<std::int64_t>(i);
                });
            },
            3);
        REQUIRE(square.mode == trident::parallel_out_of_order.limit(3));
        for (auto policy_is_seq : {false, true}) {
            CAPTURE(policy_is_seq);
            std::size_t next = 0;
            std::vector<std::vector<std::int64_t>> results;
            auto src = trident::source([&]() -> std::optional<std::vector<std::int32_t>> {
                if (next == mixed_sizes.size())
                    return std::nullopt;
                const std::size_t k = next++;
                return make_batch(k, mixed_sizes[k]);
            });
            auto sink = trident::stage(trident::serial_in_order,
                                       [&](std::vector<std::int64_t> r) { results.push_back(std::move(r)); });
            if (policy_is_seq)
                trident::run_pipeline(trident::seq, src, square, sink);
            else
                trident::run_pipeline(trident::par, src, square, sink);
            require_square_minus_index(results);
        }
    }

    SECTION("a raw kernel launched on the lane's stream, not waited for: the copy back queues behind it")
    {
        auto raw = trident::gpu_stage<std::int32_t, std::int64_t>(
            "raw", trident::gpu,
            [](trident::device_span<const std::int32_t> in, trident::device_span<std::int64_t> out,
               const trident::gpu_policy& on_lane) {
                square_minus_index<<<64, 256, 0, on_lane.stream_handle()>>>(in.data(), out.data(), in.size());
                TRIDENT_CUDA_CHECK_LAUNCH("square_minus_index");
            });
        std::size_t next = 0;
        std::vector<std::vector<std::int64_t>> results;
        trident::run_pipeline(trident::par, trident::source([&]() -> std::optional<std::vector<std::int32_t>> {
                                  if (next == mixed_sizes.size())
                                      return std::nullopt;
                                  const std::size_t k = next++;
                                  return make_batch(k, mixed_sizes[k]);
                              }),
                              raw,
                              trident::stage(trident::serial_in_order,
                                             [&](std::vector<std::int64_t> r) { results.push_back(std::move(r)); }));
        require_square_minus_index(results);
    }

    SECTION("trident::map with a function object on the lane policy; the stage object is reused")
    {
        auto calls = std::make_shared<std::atomic<int>>(0);
        auto plus_one = trident::gpu_stage<float, float>("plus one", trident::gpu, counting_kernel{calls}, 2);
        for (int run = 0; run < 3; ++run) {
            CAPTURE(run);
            require_plus_one(run_float_pipeline(plus_one, mixed_sizes), mixed_sizes);
        }
        std::size_t non_empty = 0;
        for (std::size_t n : mixed_sizes)
            non_empty += n != 0;
        REQUIRE(calls->load() == static_cast<int>(3 * non_empty)); // empty batches skip the kernel
    }
}

TEST_CASE("gpu pipeline: an exception while GPU lanes are busy reaches the caller and frees the lanes", "[gpu][pipeline][errors]")
{
    const std::vector<std::size_t> sizes(48, 200'000);

    SECTION("a later stage throws")
    {
        for (int lanes : {1, 2, 3}) {
            CAPTURE(lanes);
            auto calls = std::make_shared<std::atomic<int>>(0);
            std::size_t next = 0;
            std::size_t seen = 0;
            try {
                trident::run_pipeline(
                    trident::par,
                    trident::source([&]() -> std::optional<std::vector<float>> {
                        if (next == sizes.size())
                            return std::nullopt;
                        return std::vector<float>(sizes[next++], 1.0f);
                    }),
                    trident::gpu_stage<float, float>("gpu", trident::gpu, counting_kernel{calls}, lanes),
                    trident::stage(trident::serial_in_order, [&](std::vector<float> r) {
                        if (++seen == 5)
                            throw std::runtime_error("sink failed at item 5");
                        if (r.empty() || r.front() != 2.0f)
                            throw std::logic_error("wrong GPU result");
                    }));
                FAIL("run_pipeline returned normally");
            } catch (const std::runtime_error& e) {
                REQUIRE(std::string(e.what()) == "sink failed at item 5");
            }
            REQUIRE(calls->load() >= 5);
            REQUIRE(calls->load() <= static_cast<int>(sizes.size()));
            REQUIRE(calls.use_count() == 1); // the stage's state (lanes, streams, buffers) is gone
        }
    }

    SECTION("the kernel throws; the same stage then runs cleanly")
    {
        auto calls = std::make_shared<std::atomic<int>>(0);
        auto stage = trident::gpu_stage<float, float>("gpu", trident::gpu, counting_kernel{calls, 777}, 2);
        std::vector<std::size_t> with_bad = sizes;
        with_bad[7] = 777;
        try {
            (void)run_float_pipeline(stage, with_bad);
            FAIL("run_pipeline returned normally");
        } catch (const std::runtime_error& e) {
            REQUIRE(std::string(e.what()) == "kernel refused a batch of 777");
        }
        require_plus_one(run_float_pipeline(stage, mixed_sizes), mixed_sizes);
        REQUIRE(calls.use_count() == 2); // this test's copy and the stage's
    }
}

TEST_CASE("gpu pipeline: a bad device index is device_unavailable at run time, not when the stage is made",
          "[gpu][pipeline][errors]")
{
    const int count = device_count();
    REQUIRE(count > 0);
    auto bad = trident::gpu_map_stage<float>("gpu", trident::gpu.device(count), TRIDENT_LAMBDA(float x) { return x; });
    for (const std::vector<std::size_t>& sizes : {std::vector<std::size_t>{10, 20}, std::vector<std::size_t>{0, 5}}) {
        std::size_t next = 0;
        try {
            trident::run_pipeline(trident::par,
                                  trident::source([&]() -> std::optional<std::vector<float>> {
                                      if (next == sizes.size())
                                          return std::nullopt;
                                      return std::vector<float>(sizes[next++], 1.0f);
                                  }),
                                  bad, trident::stage(trident::serial_in_order, [](std::vector<float>) {}));
            FAIL("run_pipeline returned normally");
        } catch (const trident::device_unavailable& e) {
            REQUIRE_THAT(e.what(), Catch::Contains("device index " + std::to_string(count) + " out of range"));
        }
    }
}

TEST_CASE("gpu pipeline: argument checks when the stage is made", "[gpu][pipeline][errors]")
{
    auto identity = TRIDENT_LAMBDA(float x) { return x; };
    for (int lanes : {0, -3}) {
        try {
            (void)trident::gpu_map_stage<float>("gpu", trident::gpu, identity, lanes);
            FAIL("no exception");
        } catch (const std::invalid_argument& e) {
            REQUIRE_THAT(e.what(), Catch::Contains("lanes must be at least 1, got " + std::to_string(lanes)));
        }
    }
    cudaStream_t stream = nullptr;
    REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
    REQUIRE_THROWS_AS(trident::gpu_map_stage<float>("gpu", trident::gpu.stream(stream), identity), std::invalid_argument);
    REQUIRE(cudaStreamDestroy(stream) == cudaSuccess);
    REQUIRE(trident::gpu_map_stage<float>("gpu", trident::gpu, identity, 4).mode == trident::parallel_out_of_order.limit(4));
}

TEST_CASE("gpu pipeline: copies of one stage in two pipelines at once share its lanes", "[gpu][pipeline]")
{
    auto calls = std::make_shared<std::atomic<int>>(0);
    const auto shared = trident::gpu_stage<float, float>("gpu", trident::gpu, counting_kernel{calls}, 1);
    std::vector<std::vector<float>> a, b;
    std::exception_ptr failed;
    std::thread other([&] {
        try {
            a = run_float_pipeline(shared, mixed_sizes);
        } catch (...) {
            failed = std::current_exception();
        }
    });
    b = run_float_pipeline(shared, mixed_sizes);
    other.join();
    if (failed)
        std::rethrow_exception(failed);
    require_plus_one(a, mixed_sizes);
    require_plus_one(b, mixed_sizes);
}
