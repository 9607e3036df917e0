// [gpu] What issue 9 found in the CUDA backend: device_vector finished on return, .stream() really
// used (and stream-ordered for device ranges), automatic's choice (host pointers, cost, fallback),
// order-keeping and commutative reduces, 2^31+17 elements, radix keys of every width, the device
// index restored, the device-mismatch error.

#include "common/algorithm_checks.hpp"
#include "gpu/gpu_test_env.hpp"

#include <nv/target>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace trident_test;

namespace {

/// Counts the elements of data[0, n) that differ from `expected`, on `stream`.
template <class T>
__global__ void count_other(const T* data, std::size_t n, T expected, unsigned long long* count)
{
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x)
        if (!(data[i] == expected))
            atomicAdd(count, 1ull);
}

/// Counts, on a new non-blocking stream that waits for nothing, the elements that are not `expected`.
template <class T>
unsigned long long others_seen_at_once(const trident::device_vector<T>& v, T expected)
{
    cudaStream_t s = nullptr;
    REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
    unsigned long long* count = nullptr;
    REQUIRE(cudaMallocManaged(&count, sizeof *count) == cudaSuccess);
    *count = 0;
    count_other<<<1024, 256, 0, s>>>(v.data(), v.size(), expected, count);
    REQUIRE(cudaStreamSynchronize(s) == cudaSuccess);
    const unsigned long long seen = *count;
    REQUIRE(cudaFree(count) == cudaSuccess);
    REQUIRE(cudaStreamDestroy(s) == cudaSuccess);
    return seen;
}

/// Spins until *flag is set or `cycles` have passed (so that a wrong trident cannot hang the test),
/// then writes `value` to *target.
__global__ void spin_then_write(const volatile int* flag, long long cycles, int* target, int value)
{
    const long long start = clock64();
    while (*flag == 0 && clock64() - start < cycles) {
    }
    *target = value;
}

/// A non-blocking stream, destroyed at scope exit (also when a REQUIRE fails).
struct owned_stream {
    cudaStream_t handle = nullptr;
    owned_stream() { REQUIRE(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking) == cudaSuccess); }
    owned_stream(const owned_stream&) = delete;
    owned_stream& operator=(const owned_stream&) = delete;
    ~owned_stream() { (void)cudaStreamDestroy(handle); }
};

/// One int of mapped pinned host memory that a kernel can read while the host writes it.
struct mapped_flag {
    int* host = nullptr;
    int* device = nullptr;
    mapped_flag()
    {
        REQUIRE(cudaHostAlloc(&host, sizeof(int), cudaHostAllocMapped) == cudaSuccess);
        *host = 0;
        REQUIRE(cudaHostGetDevicePointer(&device, host, 0) == cudaSuccess);
    }
    mapped_flag(const mapped_flag&) = delete;
    mapped_flag& operator=(const mapped_flag&) = delete;
    ~mapped_flag() { (void)cudaFreeHost(host); }
};

/// Writes 1 when it runs on the GPU, 2 on the CPU.
struct where_fn {
    TRIDENT_HOST_DEVICE void operator()(int& x) const { NV_IF_TARGET(NV_IS_DEVICE, (x = 1;), (x = 2;)); }
};

} // namespace

namespace trident {
template <> inline constexpr bool is_device_callable_v<where_fn> = true;
}

TEST_CASE("gpu: device_vector's fill, upload and clone are finished when they return", "[gpu][device_vector][stream]")
{
    const std::size_t n = std::size_t{1} << 26;
    {
        // leave non-zero bytes in the memory the next vector is likely to get
        trident::device_vector<std::uint32_t> dirty(n, 0xFFFFFFFFu);
    }
    trident::device_vector<std::uint32_t> zeros(n);
    REQUIRE(others_seen_at_once(zeros, 0u) == 0);
    trident::device_vector<std::uint32_t> filled(n, 7u);
    REQUIRE(others_seen_at_once(filled, 7u) == 0);
    const std::vector<std::uint32_t> host(n, 9u);
    trident::device_vector<std::uint32_t> uploaded(host); // pageable: only staged before the fix
    REQUIRE(others_seen_at_once(uploaded, 9u) == 0);
    const trident::device_vector<std::uint32_t> copy = uploaded.clone();
    REQUIRE(others_seen_at_once(copy, 9u) == 0);
    uploaded.copy_from(std::vector<std::uint32_t>(n, 11u));
    REQUIRE(others_seen_at_once(uploaded, 11u) == 0);
    REQUIRE(uploaded.to_host<trident::default_init_allocator<std::uint32_t>>()[n - 1] == 11u);
}

TEST_CASE("gpu: .stream(s) runs on s, stream-ordered for device ranges; host results wait", "[gpu][stream]")
{
    const std::size_t n = big_size;
    const std::vector<int> ints = random_ints(n, 5);
    trident::device_vector<int> d(ints);
    owned_stream s;
    mapped_flag flag;
    int khz = 0;
    REQUIRE(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0) == cudaSuccess);
    const long long five_seconds = 5LL * khz * 1000;

    // s is blocked until the flag is set; then the kernel writes d[0] = 1000.
    spin_then_write<<<1, 1, 0, s.handle>>>(flag.device, five_seconds, d.data(), 1000);
    REQUIRE(cudaGetLastError() == cudaSuccess);
    trident::map(trident::gpu.stream(s.handle), d, d, TRIDENT_LAMBDA(int x) { return x + 1; });
    // The call returned with s still spinning: it enqueued its work and did not wait for the stream.
    // (The test does not look at d from another stream: a copy there may be ordered behind s too.)
    REQUIRE(cudaStreamQuery(s.handle) == cudaErrorNotReady);
    *flag.host = 1;
    // A value result waits for the stream and sees the map's result, which ran after the spinning
    // kernel's write (d[0] = 1000 + 1; a map that ignored s would have run first and left 1000).
    const long long sum = trident::map_reduce(trident::gpu.stream(s.handle), d,
                                              TRIDENT_LAMBDA(int x) { return (long long)x; }, 0LL, std::plus<>{});
    long long ref = 1000 + 1;
    for (std::size_t i = 1; i < n; ++i)
        ref += ints[i] + 1;
    REQUIRE(sum == ref);
    REQUIRE(d.to_host()[0] == 1001);
    REQUIRE(cudaStreamQuery(s.handle) == cudaSuccess);
}

TEST_CASE("gpu: automatic never sends a function that may touch host memory to the GPU", "[gpu][automatic]")
{
    const std::size_t n = std::size_t{1} << 21; // past gpu_threshold()
    std::vector<std::uint32_t> host(n, 0);
    std::uint32_t* p = host.data();
    // The documented par idiom: a TRIDENT_LAMBDA capturing a host pointer (an illegal address on the GPU).
    trident::for_each_index(trident::automatic, n, TRIDENT_LAMBDA(std::size_t i) { p[i] = static_cast<std::uint32_t>(i); });
    std::vector<std::uint32_t> expected(n);
    std::iota(expected.begin(), expected.end(), 0u);
    TRIDENT_REQUIRE_SAME(host, expected);
    const std::vector<std::uint32_t> doubled =
        trident::map(trident::automatic, host, TRIDENT_LAMBDA(std::uint32_t x) { return x + p[0]; });
    TRIDENT_REQUIRE_SAME(doubled, expected);
    REQUIRE(cudaGetLastError() == cudaSuccess);

    // Host data, cheap work: the copies would cost more than the CPU's work, so the CPU runs it,
    // even for a function declared offloadable.
    std::vector<int> where(n, 0);
    trident::for_each(trident::automatic, where, where_fn{});
    REQUIRE(std::count(where.begin(), where.end(), 2) == static_cast<std::ptrdiff_t>(n));
    trident::for_each(trident::automatic, where, trident::offloadable(where_fn{}));
    REQUIRE(std::count(where.begin(), where.end(), 2) == static_cast<std::ptrdiff_t>(n));
    // Declared expensive: the GPU pays.
    trident::for_each(trident::automatic, where, trident::offloadable(where_fn{}, 1000));
    REQUIRE(std::count(where.begin(), where.end(), 1) == static_cast<std::ptrdiff_t>(n));
    // Opted in, on managed memory both sides reach: the GPU from the threshold on.
    int* managed = nullptr;
    REQUIRE(cudaMallocManaged(&managed, n * sizeof(int)) == cudaSuccess);
    trident::for_each_index(trident::automatic, n, trident::offloadable(TRIDENT_LAMBDA(std::size_t i) {
                                NV_IF_TARGET(NV_IS_DEVICE, (managed[i] = 1;), (managed[i] = 2;));
                            }));
    REQUIRE(std::count(managed, managed + n, 1) == static_cast<std::ptrdiff_t>(n));
    trident::for_each_index(trident::automatic, 1000, trident::offloadable(TRIDENT_LAMBDA(std::size_t i) {
                                NV_IF_TARGET(NV_IS_DEVICE, (managed[i] = 1;), (managed[i] = 2;));
                            }));
    REQUIRE(std::count(managed, managed + 1000, 2) == 1000);
    REQUIRE(cudaFree(managed) == cudaSuccess);
    // Data on the device always runs there.
    trident::device_vector<int> d(n);
    trident::for_each(trident::automatic, d, where_fn{});
    REQUIRE(trident::reduce(trident::gpu, d, 0LL) == static_cast<long long>(n));
}

namespace {
/// Ascending on the GPU, descending on the CPU: the order says where a sort ran.
struct where_less {
    TRIDENT_HOST_DEVICE bool operator()(int a, int b) const
    {
        NV_IF_TARGET(NV_IS_DEVICE, (return a < b;), (return a > b;));
    }
};
} // namespace
namespace trident {
template <> inline constexpr bool is_device_callable_v<where_less> = true;
template <> inline constexpr bool is_offloadable_v<where_less> = true;
} // namespace trident

TEST_CASE("gpu: automatic falls back to par when the device is out of memory, and uses it again after", "[gpu][automatic]")
{
    if (under_compute_sanitizer()) {
        WARN("skipped under compute-sanitizer: the failed allocations it provokes would count as errors");
        return;
    }
    const std::size_t n = std::size_t{1} << 22;
    std::vector<int> keys = random_ints(n, 17, -1'000'000, 1'000'000);
    trident::sort(trident::automatic, keys, where_less{});
    REQUIRE(std::is_sorted(keys.begin(), keys.end())); // the GPU sorted (a sort of host data pays)

    // Take nearly all device memory: the sort's staging copy cannot be allocated.
    std::size_t free_bytes = 0, total = 0;
    REQUIRE(cudaMemGetInfo(&free_bytes, &total) == cudaSuccess);
    std::vector<trident::device_vector<char>> hogs;
    for (std::size_t chunk = free_bytes / 2; chunk >= (std::size_t{1} << 20);) {
        try {
            hogs.emplace_back(chunk);
        } catch (const trident::cuda_error&) {
            chunk /= 2;
        }
    }
    std::shuffle(keys.begin(), keys.end(), std::mt19937(3));
    REQUIRE_NOTHROW(trident::sort(trident::automatic, keys, where_less{})); // a cuda_error before the fix
    REQUIRE(std::is_sorted(keys.begin(), keys.end(), std::greater<>{}));    // par sorted
    REQUIRE_THROWS_AS(trident::sort(trident::gpu, keys, where_less{}), trident::cuda_error); // gpu says so
    hogs.clear();
    std::shuffle(keys.begin(), keys.end(), std::mt19937(4));
    trident::sort(trident::automatic, keys, where_less{});
    REQUIRE(std::is_sorted(keys.begin(), keys.end())); // the GPU again
}

TEST_CASE("gpu: reduce with a user operator, commutative or order-keeping; accumulates in init's type", "[gpu][reduce]")
{
    for (std::size_t n : {std::size_t{1}, std::size_t{255}, std::size_t{4096}, std::size_t{4097}, big_size,
                          std::size_t{3} << 22}) {
        CAPTURE(n);
        std::vector<mat2> ms(n);
        std::mt19937 gen(static_cast<unsigned>(n));
        for (mat2& m : ms)
            m = {std::uint32_t(gen() % 7), std::uint32_t(gen() % 7), std::uint32_t(gen() % 7), std::uint32_t(gen() % 7)};
        const mat2 init{1, 2, 3, 4};
        const mat2 ref = std::accumulate(ms.begin(), ms.end(), init, mat2_mul{});
        REQUIRE(trident::reduce(trident::gpu, ms, init, mat2_mul{}) == ref); // order kept
        std::vector<std::uint64_t> u(n);
        for (auto& x : u)
            x = gen();
        const std::uint64_t usum = std::accumulate(u.begin(), u.end(), std::uint64_t{5});
        REQUIRE(trident::reduce(trident::gpu, u, std::uint64_t{5}, trident::commutative(plus_u64{})) == usum);
        REQUIRE(trident::reduce(trident::gpu, u, std::uint64_t{5}, plus_u64{}) == usum);
    }
    // op(uchar, uchar) is an int; the accumulator stays unsigned char, as on the CPU
    std::vector<unsigned char> bytes(100'000, 200);
    auto add = TRIDENT_LAMBDA(unsigned char a, unsigned char b) { return a + b; };
    const unsigned char cpu = trident::reduce(trident::seq, bytes, (unsigned char)1, add);
    REQUIRE(trident::reduce(trident::gpu, bytes, (unsigned char)1, add) == cpu);
    REQUIRE(trident::reduce(trident::gpu, bytes, (unsigned char)1, trident::commutative(add)) == cpu);
    static_assert(std::is_same_v<decltype(trident::detail::accumulating<unsigned char>(add)(1, 2)), unsigned char>);
}

TEST_CASE("gpu: radix keys of every width sort as std::sort does", "[gpu][sort]")
{
    auto check = [](auto zero) {
        using T = decltype(zero);
        std::mt19937_64 gen(sizeof(T) * 7 + std::is_signed_v<T>);
        std::vector<T> v(under_compute_sanitizer() ? 32769 : big_size);
        for (T& x : v) {
            if constexpr (std::is_floating_point_v<T>)
                x = static_cast<T>(std::uniform_real_distribution<double>(-1e6, 1e6)(gen));
            else
                x = static_cast<T>(gen());
        }
        std::vector<T> up = v, down = v;
        std::sort(up.begin(), up.end());
        std::sort(down.begin(), down.end(), std::greater<>{});
        std::vector<T> a = v, b = v;
        trident::sort(trident::gpu, a);
        trident::sort(trident::gpu, b, std::greater<>{});
        INFO("key size " << sizeof(T) << (std::is_signed_v<T> ? " signed" : " unsigned"));
        TRIDENT_REQUIRE_SAME(a, up);
        TRIDENT_REQUIRE_SAME(b, down);
    };
    check(std::int8_t{}), check(std::uint8_t{}), check(std::int16_t{}), check(std::uint16_t{});
    check(std::int32_t{}), check(std::uint32_t{}), check(std::int64_t{}), check(std::uint64_t{});
    check(float{}), check(double{});
}

TEST_CASE("gpu: the caller's device is kept, a device range on another device is refused", "[gpu][errors]")
{
    int count = 0;
    REQUIRE(cudaGetDeviceCount(&count) == cudaSuccess);
    const int last = count - 1;
    REQUIRE(cudaSetDevice(last) == cudaSuccess);
    std::vector<int> v(1000, 1);
    REQUIRE(trident::reduce(trident::gpu.device(0), v, 0) == 1000);
    trident::device_vector<int> d0(v); // device 0 (the default policy), made while `last` is current
    int current = -1;
    REQUIRE(cudaGetDevice(&current) == cudaSuccess);
    REQUIRE(current == last);
    REQUIRE(cudaSetDevice(0) == cudaSuccess);
    // a view of d0 that claims another device (a second GPU is not needed to test the check)
    const trident::device_span<int> elsewhere(d0.data(), d0.size(), 1);
    try {
        trident::for_each(trident::gpu, elsewhere, TRIDENT_LAMBDA(int& x) { x = 0; });
        FAIL("no exception");
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        INFO(what);
        REQUIRE(what.find("lives on device 1") != std::string::npos);
        REQUIRE(what.find("runs on device 0") != std::string::npos);
    }
}

TEST_CASE("gpu: 2^31 + 17 one-byte elements on the device", "[gpu][big]")
{
    const std::size_t n = (std::size_t{1} << 31) + 17;
    std::size_t free_bytes = 0, total = 0;
    REQUIRE(cudaMemGetInfo(&free_bytes, &total) == cudaSuccess);
    if (free_bytes < n + (std::size_t{1} << 30)) {
        WARN("skipped: " << free_bytes << " bytes free on the device, fewer than 2^31 + 17 + 1 GiB");
        return;
    }
    using u8 = std::uint8_t;
    trident::device_vector<u8> d(n);
    auto s = d.span();
    trident::for_each_index(trident::gpu, n, TRIDENT_LAMBDA(std::size_t i) { s[i] = static_cast<u8>(i % 251); });
    const unsigned long long q = n / 251, r = n % 251;
    const unsigned long long ref = q * (250ull * 251 / 2) + r * (r - 1) / 2;
    auto widen = TRIDENT_LAMBDA(u8 x) { return static_cast<unsigned long long>(x); };
    REQUIRE(trident::map_reduce(trident::gpu, d, widen, 0ull) == ref);
    REQUIRE(trident::map_reduce(trident::gpu, d, widen, 0ull, TRIDENT_LAMBDA(unsigned long long a, unsigned long long b) {
                return a + b;
            }) == ref); // the order-keeping path
    trident::map(trident::gpu, d, d, TRIDENT_LAMBDA(u8 x) { return static_cast<u8>(250 - x); });
    REQUIRE(trident::map_reduce(trident::gpu, d, widen, 0ull) == 250ull * n - ref);
    u8 tail[17];
    REQUIRE(cudaMemcpy(tail, d.data() + (n - 17), 17, cudaMemcpyDeviceToHost) == cudaSuccess);
    for (std::size_t k = 0; k < 17; ++k)
        REQUIRE(tail[k] == static_cast<u8>(250 - (n - 17 + k) % 251));
}

namespace {
__global__ void write_through_null(int* p)
{
    *p = 1; // an illegal address: a sticky error
}
} // namespace


// Run in a process of its own (the test below): it poisons the process's CUDA context.
TEST_CASE("gpu: after a sticky error, automatic uses par and gpu says why it cannot run", "[.][sticky_child]")
{
    const std::size_t n = std::size_t{1} << 22;
    write_through_null<<<1, 1, 0, cudaStreamPerThread>>>(nullptr);
    REQUIRE(cudaStreamSynchronize(cudaStreamPerThread) == cudaErrorIllegalAddress);
    std::vector<int> keys = random_ints(n, 23, -1'000'000, 1'000'000);
    // The first trident call on the GPU meets the error and reports it ...
    REQUIRE_THROWS_AS(trident::sort(trident::automatic, keys, where_less{}), trident::cuda_error);
    // ... later automatic calls run on par (descending: the CPU's order of where_less) ...
    REQUIRE_NOTHROW(trident::sort(trident::automatic, keys, where_less{}));
    REQUIRE(std::is_sorted(keys.begin(), keys.end(), std::greater<>{}));
    // ... and trident::gpu names the earlier error.
    try {
        trident::sort(trident::gpu, keys, where_less{});
        FAIL("no exception");
    } catch (const trident::cuda_error& e) {
        const std::string what = e.what();
        INFO(what);
        REQUIRE(what.find("unusable") != std::string::npos);
        REQUIRE(e.code() == static_cast<int>(cudaErrorIllegalAddress));
    }
}

TEST_CASE("gpu: a sticky error turns automatic to par for the rest of the process", "[gpu][automatic]")
{
    if (under_compute_sanitizer()) {
        WARN("skipped under compute-sanitizer: the child process faults on purpose");
        return;
    }
    const std::string command = std::string(trident_test_argv0) + " \"[sticky_child]\" >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
}
