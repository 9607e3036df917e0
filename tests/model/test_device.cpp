// trident::device: budgets, exact thread-safe accounting with peak, memory_lease, out_of_memory,
// byte literals; model::tensor booking its bytes.
#include <trident/device.hpp>
#include <trident/model/tensor.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <barrier>
#include <string>
#include <thread>
#include <vector>

using namespace trident::literals;

TEST_CASE("byte literals are powers of 1024", "[model][device]")
{
    STATIC_REQUIRE(1_KiB == 1024);
    STATIC_REQUIRE(3_MiB == 3u * 1024 * 1024);
    STATIC_REQUIRE(2_GiB == std::size_t{2} << 30);
}

TEST_CASE("cpu and gpu devices record what they were made with", "[model][device]")
{
    trident::device c = trident::cpu_device(1, 4_KiB, "left");
    CHECK(c.kind() == trident::device_kind::cpu);
    CHECK(c.name() == "left");
    CHECK(c.threads() == 1);
    CHECK(c.gpu_index() == -1);
    CHECK(c.budget() == 4096);
    CHECK(c.arena().concurrency() == 1);
    CHECK(c.execute([] { return 7; }) == 7);

    trident::device g = trident::gpu_device(3, 1_MiB);
    CHECK(g.kind() == trident::device_kind::gpu);
    CHECK(g.gpu_index() == 3);
    CHECK(g.name().rfind("gpu", 0) == 0);
    CHECK_THROWS_AS((void)g.arena(), std::logic_error);

    trident::device a = trident::cpu_device(1, 1_KiB), b = trident::cpu_device(1, 1_KiB);
    CHECK(a.name() != b.name());
    CHECK(a.name().rfind("cpu", 0) == 0);
    trident::device a2 = a;
    CHECK(a2 == a);
    CHECK_FALSE(a == b);

    CHECK_THROWS_WITH(trident::cpu_device(0, 1_KiB), Catch::Contains("threads must be at least 1, got 0"));
    CHECK_THROWS_WITH(trident::gpu_device(-1, 1_KiB), Catch::Contains("cuda_index must be at least 0, got -1"));
}

TEST_CASE("leases book and give back bytes; copies share the accounting", "[model][device]")
{
    trident::device d = trident::cpu_device(1, 1000, "d");
    trident::device same = d;
    {
        trident::memory_lease a = d.reserve(300, "a");
        CHECK(same.in_use() == 300);
        trident::memory_lease b = same.reserve(700, "b"); // exactly the budget
        CHECK(d.in_use() == 1000);
        CHECK(d.peak() == 1000);
        trident::memory_lease moved = std::move(a);
        CHECK(a.bytes() == 0);
        CHECK(moved.bytes() == 300);
        CHECK(d.in_use() == 1000);
        b.release();
        b.release();
        CHECK(d.in_use() == 300);
        moved = d.reserve(50, "c"); // the 300 go back when replaced
        CHECK(d.in_use() == 50);
    }
    CHECK(d.in_use() == 0);
    CHECK(d.peak() == 1000);
    d.reset_peak();
    CHECK(d.peak() == 0);
}

TEST_CASE("out_of_memory names the device, the allocation, the bytes asked, in use and the budget", "[model][device]")
{
    trident::device d = trident::cpu_device(1, 1000, "stage-dev");
    auto held = d.reserve(600, "weights");
    try {
        (void)d.reserve(500, "activations of micro-batch 3");
        FAIL("no exception");
    } catch (const trident::out_of_memory& e) {
        CHECK(e.device() == "stage-dev");
        CHECK(e.allocation() == "activations of micro-batch 3");
        CHECK(e.requested() == 500);
        CHECK(e.in_use() == 600);
        CHECK(e.budget() == 1000);
        const std::string m = e.what();
        CHECK_THAT(m, Catch::Contains("stage-dev") && Catch::Contains("activations of micro-batch 3") &&
                          Catch::Contains("500") && Catch::Contains("600") && Catch::Contains("1000") &&
                          Catch::Contains("100 bytes missing"));
    }
    CHECK(d.in_use() == 600); // the failed reservation changed nothing
    CHECK(d.peak() == 600);
}

TEST_CASE("concurrent reservations: the peak is exact and never above the budget", "[model][device]")
{
    // Every thread holds its lease across a barrier phase, so the peak is known exactly: all threads'
    // bytes at once when they fit, and the budget is never exceeded when they do not.
    constexpr int threads = 8;
    constexpr int rounds = 200;
    SECTION("everything fits: peak == the sum of the leases held together")
    {
        trident::device d = trident::cpu_device(1, 1_MiB);
        std::barrier sync(threads);
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                for (int r = 0; r < rounds; ++r) {
                    auto lease = d.reserve(static_cast<std::size_t>(t + 1) * 100, "block");
                    sync.arrive_and_wait(); // all hold their lease here
                    sync.arrive_and_wait();
                }
            });
        for (auto& th : pool)
            th.join();
        CHECK(d.in_use() == 0);
        CHECK(d.peak() == 100 * (threads * (threads + 1) / 2));
    }
    SECTION("contended budget: exactly 3 of 8 reservations of 300 fit 1000, every round")
    {
        // All threads ask at once and hold what they got across the barrier: whatever the
        // interleaving, exactly 3 are granted and 5 refused per round, and the peak is 900.
        trident::device d = trident::cpu_device(1, 1000);
        std::barrier sync(threads);
        std::atomic<int> refused{0}, granted{0}, refused_although_fitting{0};
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&] {
                for (int r = 0; r < rounds; ++r) {
                    trident::memory_lease lease;
                    try {
                        lease = d.reserve(300, "block");
                        ++granted;
                    } catch (const trident::out_of_memory& e) {
                        ++refused;
                        if (e.in_use() + 300 <= 1000)
                            ++refused_although_fitting;
                    }
                    sync.arrive_and_wait(); // every thread has asked; the granted ones hold
                    lease.release();
                    sync.arrive_and_wait();
                }
            });
        for (auto& th : pool)
            th.join();
        CHECK(granted == 3 * rounds);
        CHECK(refused == 5 * rounds);
        CHECK(refused_although_fitting == 0);
        CHECK(d.in_use() == 0);
        CHECK(d.peak() == 900);
    }
}

TEST_CASE("tensor books its bytes for its lifetime and is zero-filled", "[model][device][tensor]")
{
    trident::device d = trident::cpu_device(1, 1_KiB, "small");
    {
        trident::model::tensor t(d, 4, 8, "x");
        CHECK(d.in_use() == 4 * 8 * sizeof(float));
        CHECK(t.bytes() == 128);
        CHECK(t.rows() == 4);
        CHECK(t.view().cols() == 8);
        for (float v : t.span())
            CHECK(v == 0.0f);
        trident::model::tensor moved = std::move(t);
        CHECK(d.in_use() == 128);
        CHECK(moved.view()(3, 7) == 0.0f);
    }
    CHECK(d.in_use() == 0);
    CHECK_THROWS_AS(trident::model::tensor(d, 1000, 1000, "too big"), trident::out_of_memory);
    CHECK_THROWS_WITH(trident::model::tensor(d, 1000, 1000, "too big"), Catch::Contains("too big"));
    CHECK(d.in_use() == 0);
    CHECK_THROWS_AS(trident::model::tensor(d, std::size_t{1} << 62, 16, "huge"), std::invalid_argument);
}
