// Resources: the arenas behind par.threads(n) stay bounded (clamped to what oneTBB supplies, a small
// LRU cache, shared ownership while calls run), and the default concurrency follows the CPU quota
// of the cgroup and the affinity mask (the parsers on fixtures; the whole on a real mask in
// default_concurrency_check.cpp).

#include "common/concurrency_probe.hpp"
#include "trident/trident.hpp"

#include <catch2/catch.hpp>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

/// Resident set size in bytes, from /proc/self/statm.
long long resident_bytes()
{
    std::ifstream statm("/proc/self/statm");
    long long size = 0, resident = 0;
    statm >> size >> resident;
    return resident * static_cast<long long>(sysconf(_SC_PAGESIZE));
}

/// Runs n slow-ish bodies under `policy`, one per chunk, and returns the largest number that ran at once.
int max_concurrent_bodies(const trident::par_policy& policy, std::size_t n = 400)
{
    return trident_test::peak_concurrent_bodies(policy.grain(1), n);
}

void write_file(const std::filesystem::path& path, const std::string& text)
{
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

} // namespace

// ---- the CPU quota and the affinity mask -------------------------------------------------------

TEST_CASE("cgroup quota files parse to ceil(quota / period) CPUs, malformed ones to none", "[resources][cpu]")
{
    using trident::detail::parse_cfs_quota;
    using trident::detail::parse_cpu_max;
    CHECK(parse_cpu_max("max 100000") == 0);
    CHECK(parse_cpu_max("max 100000\n") == 0);
    CHECK(parse_cpu_max("200000 100000") == 2);
    CHECK(parse_cpu_max("200000 100000\n") == 2);
    CHECK(parse_cpu_max("150000 100000") == 2);
    CHECK(parse_cpu_max("50000 100000") == 1);
    CHECK(parse_cpu_max("6400000 100000") == 64);
    for (const char* bad : {"", "\n", "max", "200000", "abc 100000", "200000 0", "0 100000", "-5 100000",
                            "200000 100000 7", "2e5 100000", "200000  x"}) {
        CAPTURE(bad);
        CHECK(parse_cpu_max(bad) == 0);
    }
    CHECK(parse_cfs_quota("-1\n", "100000\n") == 0);
    CHECK(parse_cfs_quota("300000\n", "100000\n") == 3);
    CHECK(parse_cfs_quota("150000", "100000") == 2);
    CHECK(parse_cfs_quota("", "100000") == 0);
    CHECK(parse_cfs_quota("150000", "") == 0);
    CHECK(parse_cfs_quota("150000", "0") == 0);
}

TEST_CASE("/proc/self/cgroup and mountinfo lead to the quota files, the smallest limit up the tree wins",
          "[resources][cpu]")
{
    using namespace trident::detail;
    const cgroup_paths paths = parse_proc_cgroup("12:pids:/x\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/s\n0::/a/b\n");
    REQUIRE(paths.v2 == std::optional<std::string>("/a/b"));
    REQUIRE(paths.v1_cpu == std::optional<std::string>("/docker/abc"));
    CHECK_FALSE(parse_proc_cgroup("3:cpuacct:/x\n").v1_cpu); // cpuacct is not cpu
    CHECK_FALSE(parse_proc_cgroup("garbage\n0:\n").v2);

    const auto root = std::filesystem::temp_directory_path() /
                      ("trident_cgroup_fixture_" + std::to_string(::getpid()));
    std::filesystem::remove_all(root);
    const std::string v2 = (root / "unified").string(), v1 = (root / "cpu").string();
    const std::string mountinfo =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 /docker " + v1 + " rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
        "33 31 0:30 / " + root.string() + "/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
        "41 31 0:38 / " + v2 + " rw,relatime - cgroup2 cgroup2 rw\n";
    const cgroup_mounts mounts = parse_mountinfo(mountinfo);
    REQUIRE(mounts.v2);
    CHECK(mounts.v2->point == v2);
    REQUIRE(mounts.v1_cpu);
    CHECK(mounts.v1_cpu->root == "/docker");
    CHECK(mounts.v1_cpu->point == v1);

    const std::string proc_cgroup = "4:cpu,cpuacct:/docker/abc\n0::/a/b\n";
    CHECK(cgroup_cpu_limit(proc_cgroup, mountinfo) == 0); // no files: no limit

    write_file(v2 + "/a/b/cpu.max", "max 100000\n"); // unlimited itself,
    write_file(v2 + "/a/cpu.max", "250000 100000\n"); // but its parent allows 3
    write_file(v2 + "/cpu.max", "garbage\n");
    CHECK(cgroup_cpu_limit(proc_cgroup, mountinfo) == 3);
    CHECK(cgroup_cpu_limit("0::/a/b\n", mountinfo) == 3);
    CHECK(cgroup_cpu_limit("0::/a\n", mountinfo) == 3);
    CHECK(cgroup_cpu_limit("0::/\n", mountinfo) == 0);

    // v1: the path under the mount's root (/docker/abc -> <mount>/abc)
    write_file(v1 + "/abc/cpu.cfs_quota_us", "150000\n");
    write_file(v1 + "/abc/cpu.cfs_period_us", "100000\n");
    write_file(v1 + "/cpu.cfs_quota_us", "-1\n");
    write_file(v1 + "/cpu.cfs_period_us", "100000\n");
    CHECK(cgroup_cpu_limit("4:cpu,cpuacct:/docker/abc\n", mountinfo) == 2);
    CHECK(cgroup_cpu_limit(proc_cgroup, mountinfo) == 2); // min(3, 2)
    CHECK(cgroup_cpu_limit("4:cpu,cpuacct:/elsewhere\n", mountinfo) == 0); // outside the root: the mount point
    std::filesystem::remove_all(root);
}

TEST_CASE("default_concurrency is at least 1 and at most the affinity mask and oneTBB's default", "[resources][cpu]")
{
    const int d = trident::default_concurrency();
    CHECK(d >= 1);
    CHECK(d <= tbb::info::default_concurrency());
    CHECK(d <= trident::detail::affinity_cpus());
    CHECK(d <= trident::max_threads());
    CHECK(max_concurrent_bodies(trident::par, 2000) <= d);
}

// ---- par.threads(n): clamped, cached, bounded --------------------------------------------------

TEST_CASE("par.threads(n) and thread_arena(n) get at most what oneTBB can supply", "[resources][cpu]")
{
    const int p = trident::max_threads();
    CHECK(trident::thread_arena(4 * p).concurrency() == p);
    CHECK(trident::thread_arena(1).concurrency() == 1);
    CHECK(max_concurrent_bodies(trident::par.threads(1'000'000)) <= p);
    {
        const tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
        CHECK(trident::max_threads() == 1);
        CHECK(trident::thread_arena(2).concurrency() == 1);
        CHECK(max_concurrent_bodies(trident::par.threads(2)) == 1);
    }
    CHECK(trident::max_threads() == p);
    // a limit raised by a global_control is seen by the next call, also on a thread whose previous
    // call asked for the same n (and got a clamped arena)
    CHECK(trident::detail::arena_for(trident::par.threads(8))->concurrency() == std::min(8, p));
    {
        const tbb::global_control eight(tbb::global_control::max_allowed_parallelism, 8);
        CHECK(trident::detail::arena_for(trident::par.threads(8))->concurrency() == 8);
    }
    // lowered again: a lookup clamps again (this thread may keep its arena of exactly 8, which
    // oneTBB now gives fewer workers)
    int fresh = 0;
    std::thread([&] { fresh = trident::detail::arena_for(trident::par.threads(8))->concurrency(); }).join();
    CHECK(fresh == std::min(8, p));
}

TEST_CASE("distinct par.threads(n) keep the process's memory bounded", "[resources][cpu]")
{
    const long long before = resident_bytes();
    std::vector<int> data(64, 0);
    for (int n = 1; n <= 5000; ++n)
        trident::for_each(trident::par.threads(n).grain(1), data, [](int& x) { x += 1; });
    trident::for_each(trident::par.threads(1'000'000).grain(1), data, [](int& x) { x += 1; });
    const long long grown = resident_bytes() - before;
    INFO("resident set grew by " << grown / (1 << 20) << " MiB");
    CHECK(grown < 200LL << 20);
    CHECK(data[0] == 5001);
    CHECK(trident::detail::threads_arena_cache().size() <= trident::detail::arena_cache_capacity);
}

TEST_CASE("the arena cache evicts the least recently used idle arena; held ones live on", "[resources][cpu]")
{
    trident::detail::arena_cache cache(2);
    auto one = cache.get(1);
    std::weak_ptr<trident::thread_arena> two = cache.get(2);
    REQUIRE(cache.get(1) == one); // a hit returns the same arena
    REQUIRE(cache.size() == 2);
    std::weak_ptr<trident::thread_arena> three = cache.get(3); // evicts 2 (idle), not 1 (held)
    CHECK(two.expired());
    CHECK(cache.size() == 2);
    auto held_three = three.lock();
    REQUIRE(held_three);
    // every arena held: the least recently used (1) is evicted but lives until released
    std::weak_ptr<trident::thread_arena> one_weak = one;
    auto four = cache.get(4);
    CHECK(cache.size() == 2);
    CHECK_FALSE(one_weak.expired());
    CHECK(one->execute([] { return 7; }) == 7); // still usable
    CHECK(cache.get(1) != one);                 // a new arena of 1 replaces it in the cache
    one.reset();
    CHECK(one_weak.expired());
}

TEST_CASE("calls on many sizes from several threads while the cache evicts", "[resources][cpu]")
{
    trident::detail::arena_cache cache(3);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    const long long n = 2000;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&, t] {
            std::vector<long long> v(static_cast<std::size_t>(n));
            for (int i = 0; i < 60; ++i) {
                const int size = (i * 7 + t) % 10 + 1;
                auto cores = cache.get(size);
                for (std::size_t k = 0; k < v.size(); ++k)
                    v[k] = static_cast<long long>(k);
                if (trident::reduce(trident::par.on(*cores).grain(64), v, 0LL) != n * (n - 1) / 2)
                    wrong.fetch_add(1);
                // and through the process-wide cache
                trident::for_each(trident::par.threads(size).grain(64), v, [](long long& x) { x += 1; });
                if (v.back() != n)
                    wrong.fetch_add(1);
            }
        });
    }
    for (auto& th : threads)
        th.join();
    CHECK(wrong.load() == 0);
    CHECK(cache.size() <= 3);
    CHECK(trident::detail::threads_arena_cache().size() <= trident::detail::arena_cache_capacity);
}
