// [gpu] for_each, for_each_index, map, reduce, map_reduce under trident::gpu against std::
// references (shared checks in tests/common/algorithm_checks.hpp), plus device_vector, automatic
// and error reporting.

#include "common/algorithm_checks.hpp"
#include "gpu/gpu_test_env.hpp"

#include <nv/target>

#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

using namespace trident_test;

TEST_CASE("gpu: for_each and map match std::for_each / std::transform", "[gpu][for_each][map]")
{
    for (std::size_t n : test_sizes()) {
        check_for_each(trident::gpu, n);
        check_map(trident::gpu, n);
    }
}

TEST_CASE("gpu: for_each_index writes every index once", "[gpu][for_each]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{1000}, big_size}) {
        CAPTURE(n);
        trident::device_vector<std::uint32_t> d(n);
        auto s = d.span();
        trident::for_each_index(trident::gpu, n, TRIDENT_LAMBDA(std::size_t i) { s[i] += static_cast<std::uint32_t>(i) + 1; });
        const std::vector<std::uint32_t> h = d.to_host();
        std::vector<std::uint32_t> expected(n);
        std::iota(expected.begin(), expected.end(), std::uint32_t{1});
        TRIDENT_REQUIRE_SAME(h, expected);
    }
    // a signed count works too; a negative one is std::invalid_argument
    REQUIRE_THROWS_AS(trident::for_each_index(trident::gpu, -1, TRIDENT_LAMBDA(std::size_t) {}), std::invalid_argument);
}

TEST_CASE("gpu: reduce and map_reduce match std::accumulate (commutative and not)", "[gpu][reduce]")
{
    for (std::size_t n : test_sizes()) {
        check_reduce(trident::gpu, n);
        check_map_reduce(trident::gpu, n);
    }
}

TEST_CASE("gpu: device_vector round trips and in-place algorithms", "[gpu][device_vector]")
{
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{1000}, big_size}) {
        CAPTURE(n);
        const std::vector<int> host = random_ints(n, seed_for(n) + 11);
        trident::device_vector<int> d(host);
        REQUIRE(d.size() == n);
        REQUIRE(d.empty() == (n == 0));
        REQUIRE(d.device() == 0);
        REQUIRE(std::ranges::size(d) == n);
        TRIDENT_REQUIRE_SAME(d.to_host(), host);

        // map device -> device, in place, then back
        trident::map(trident::gpu, d, d, TRIDENT_LAMBDA(int x) { return 2 * x + 1; });
        std::vector<int> expected = host;
        for (int& x : expected)
            x = 2 * x + 1;
        std::vector<int> back(n);
        d.copy_to(back);
        TRIDENT_REQUIRE_SAME(back, expected);

        // map device -> host and host -> device
        std::vector<double> halves(n);
        trident::map(trident::gpu, d, halves, int_to_half{});
        std::vector<double> halves_ref(n);
        std::transform(expected.begin(), expected.end(), halves_ref.begin(), int_to_half{});
        TRIDENT_REQUIRE_SAME(halves, halves_ref);
        trident::device_vector<double> dh(n);
        trident::map(trident::gpu, expected, dh, int_to_half{});
        TRIDENT_REQUIRE_SAME(dh.to_host(), halves_ref);

        // reduce on the device
        REQUIRE(trident::reduce(trident::gpu, d, 3) == std::accumulate(expected.begin(), expected.end(), 3));

        // clone, move, copy_from
        trident::device_vector<int> c = d.clone();
        trident::device_vector<int> m = std::move(c);
        REQUIRE(c.size() == 0);
        TRIDENT_REQUIRE_SAME(m.to_host(), expected);
        m.copy_from(host);
        TRIDENT_REQUIRE_SAME(m.to_host(), host);

        // for_each over a device span (a view of part of the vector)
        auto half = d.span().subspan(0, n / 2);
        trident::for_each(trident::gpu, half, TRIDENT_LAMBDA(int& x) { x = -x; });
        for (std::size_t i = 0; i < n / 2; ++i)
            expected[i] = -expected[i];
        TRIDENT_REQUIRE_SAME(d.to_host(), expected);
    }
    trident::device_vector<float> filled(5, 2.5f);
    REQUIRE(filled.to_host() == std::vector<float>(5, 2.5f));
    std::vector<float> wrong(4);
    REQUIRE_THROWS_AS(filled.copy_to(wrong), std::invalid_argument);
    REQUIRE_THROWS_AS(filled.copy_from(wrong), std::invalid_argument);
}

namespace {
/// Writes 1 when it runs on the GPU, 2 on the CPU.
struct where_fn {
    TRIDENT_HOST_DEVICE void operator()(int& x) const { NV_IF_TARGET(NV_IS_DEVICE, (x = 1;), (x = 2;)); }
};
} // namespace

namespace trident {
template <> inline constexpr bool is_device_callable_v<where_fn> = true;
}

TEST_CASE("gpu: automatic sends host data to the GPU only when the copies pay", "[gpu][automatic]")
{
    const std::size_t threshold = trident::automatic.gpu_threshold();
    for (std::size_t n : {std::size_t{1000}, threshold - 1, threshold, big_size}) {
        CAPTURE(n);
        std::vector<int> where(n, 0);
        trident::for_each(trident::automatic, where, where_fn{}); // cheap work on host data: the CPU
        REQUIRE(std::count(where.begin(), where.end(), 2) == static_cast<std::ptrdiff_t>(n));
        // declared offloadable and expensive (1 us a call): the GPU from the threshold on
        trident::for_each(trident::automatic, where, trident::offloadable(where_fn{}, 1000));
        const int expected = n >= threshold ? 1 : 2;
        REQUIRE(std::count(where.begin(), where.end(), expected) == static_cast<std::ptrdiff_t>(n));

        // and the results are right either way
        const std::vector<int> ints = random_ints(n, seed_for(n));
        REQUIRE(trident::reduce(trident::automatic, ints, 0) == std::accumulate(ints.begin(), ints.end(), 0));
        std::vector<int> out(n), ref(n);
        std::inclusive_scan(ints.begin(), ints.end(), ref.begin());
        trident::inclusive_scan(trident::automatic, ints, out);
        TRIDENT_REQUIRE_SAME(out, ref);
    }
    // a lower threshold does not move work that does not pay; an absent device index falls back to par
    std::vector<int> where(10, 0);
    trident::for_each(trident::automatic.gpu_threshold(5), where, trident::offloadable(where_fn{}, 1000));
    REQUIRE(where == std::vector<int>(10, 2));
    std::vector<int> many(big_size, 0);
    trident::for_each(trident::automatic.device(999).gpu_threshold(1), many, trident::offloadable(where_fn{}, 1000));
    REQUIRE(std::count(many.begin(), many.end(), 2) == static_cast<std::ptrdiff_t>(big_size));
}

TEST_CASE("gpu: errors name the device index and the sizes", "[gpu][errors]")
{
    std::vector<int> v(10, 1), shorter(9);
    try {
        trident::for_each(trident::gpu.device(999), v, triple_plus_one{});
        FAIL("no exception");
    } catch (const trident::device_unavailable& e) {
        const std::string what = e.what();
        INFO(what);
        REQUIRE(what.find("device index 999 out of range") != std::string::npos);
    }
    REQUIRE_THROWS_AS(trident::reduce(trident::gpu.device(999), v, 0), trident::device_unavailable);
    REQUIRE_THROWS_AS(trident::device_vector<int>(4, trident::gpu.device(999)), trident::device_unavailable);
    REQUIRE_THROWS_AS(trident::map(trident::gpu, v, shorter, int_to_half{}), std::invalid_argument);
    REQUIRE_THROWS_AS(trident::inclusive_scan(trident::gpu, v, shorter), std::invalid_argument);
    REQUIRE_THROWS_AS(trident::exclusive_scan(trident::gpu, v, shorter, 0), std::invalid_argument);
    REQUIRE_THROWS_AS(trident::gpu.device(-1), std::invalid_argument);

    // a CUDA failure is a cuda_error naming the call (an absurd allocation: out of memory; not
    // provoked under compute-sanitizer, where it would count as an error of the run)
    if (under_compute_sanitizer()) {
        WARN("compute-sanitizer: the out-of-memory check is left out");
    } else {
        try {
            trident::device_vector<double> huge(std::size_t{1} << 50);
            FAIL("no exception");
        } catch (const trident::cuda_error& e) {
            const std::string what = e.what();
            INFO(what);
            REQUIRE(what.find("cudaMallocAsync") != std::string::npos);
            REQUIRE(e.code() != 0);
        }
    }
    // and the device still works afterwards
    REQUIRE(trident::reduce(trident::gpu, v, 0) == 10);
}

TEST_CASE("gpu: calls on a policy's stream run in stream order; a value result is ready on return", "[gpu][stream]")
{
    cudaStream_t stream = nullptr;
    REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
    const std::vector<int> ints = random_ints(big_size, 5);
    trident::device_vector<int> d(ints);
    const auto on_stream = trident::gpu.stream(stream);
    trident::map(on_stream, d, d, TRIDENT_LAMBDA(int x) { return x + 1; });
    const long long sum = trident::map_reduce(on_stream, d, TRIDENT_LAMBDA(int x) { return static_cast<long long>(x); },
                                              0LL, std::plus<>{});
    long long ref = 0;
    for (int x : ints)
        ref += x + 1;
    REQUIRE(sum == ref);
    REQUIRE(cudaStreamDestroy(stream) == cudaSuccess);
}
