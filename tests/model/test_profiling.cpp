// shard()'s profiling passes (model/detail/layer_costs.hpp: measured_costs): on p CPU devices every
// device profiles every layer at the same time, each on a thread of its own inside its own arena;
// the partition takes each device's speed from those measurements (not from its threads); the
// estimate mode runs nothing; the layers' gradients are as before; a layer's exception reaches
// the caller.  Nothing here asserts a time: the checks are on who ran what, and on outcomes with
// a margin of several times (a layer that sleeps 1 ms on one device and 8 ms on the other).
#include "pipeline_helpers.hpp"

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace pipeline_test;
using namespace trident::literals;

namespace {

/// What the probes of one network saw: forward calls, the threads that made them, the arenas'
/// sizes there, and whether a probe's first forward met another device's thread inside a probe.
struct probe_log {
    std::atomic<int> forwards{0}, backwards{0}, inside{0};
    std::atomic<bool> met{false}, first_done{false}, looked{false};
    std::mutex mutex;
    std::set<std::thread::id> threads;
    std::set<int> arena_sizes;
    std::map<std::pair<int, int>, int> forwards_by; // (the probe's index, the arena's size): forward calls
};

/// An identity layer (any width) that records its calls in a shared probe_log.  Its first forward
/// waits (up to 10 s) for another thread to be inside a probe too: profiling that runs the devices
/// one after the other never meets.  With `slow_threads` set, each call sleeps 8 ms in an arena of
/// that many threads and 1 ms elsewhere: a device that is slower whatever its threads say.
struct probe {
    std::shared_ptr<probe_log> log;
    bool wait_for_company = false;
    int slow_threads = 0;
    int index = 0;

    void visit(bool forward) const
    {
        const int arena = tbb::this_task_arena::max_concurrency();
        {
            std::lock_guard hold(log->mutex);
            log->threads.insert(std::this_thread::get_id());
            log->arena_sizes.insert(arena);
            if (forward)
                ++log->forwards_by[{index, arena}];
        }
        if (slow_threads != 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(arena == slow_threads ? 8 : 1));
    }
    [[nodiscard]] std::size_t output_features(std::size_t in) const { return in; }
    [[nodiscard]] std::size_t saved_floats(std::size_t, std::size_t) const { return 0; }
    void forward(trident::matrix_view<const float> in, trident::matrix_view<float> out, std::span<float>)
    {
        log->forwards.fetch_add(1);
        visit(true);
        log->inside.fetch_add(1);
        if (wait_for_company) {
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            if (!log->first_done.exchange(true)) { // the first call of all: is another device inside too?
                while (log->inside.load() < 2 && std::chrono::steady_clock::now() < until)
                    std::this_thread::yield();
                log->met.store(log->inside.load() >= 2);
                log->looked.store(true);
            } else { // stay inside until the first call has looked
                while (!log->looked.load() && std::chrono::steady_clock::now() < until)
                    std::this_thread::yield();
            }
        }
        log->inside.fetch_sub(1);
        for (std::size_t r = 0; r < in.rows(); ++r)
            for (std::size_t c = 0; c < in.cols(); ++c)
                out(r, c) = in(r, c);
    }
    void backward(trident::matrix_view<const float>, trident::matrix_view<const float>, std::span<const float>,
                  trident::matrix_view<const float> dy, trident::matrix_view<float> dx)
    {
        log->backwards.fetch_add(1);
        visit(false);
        for (std::size_t r = 0; r < dy.rows(); ++r)
            for (std::size_t c = 0; c < dy.cols(); ++c)
                dx(r, c) = dy(r, c);
    }
    std::span<float> parameters() { return {}; }
    std::span<float> gradients() { return {}; }
    [[nodiscard]] std::string name() const { return "probe"; }
    [[nodiscard]] double flops(std::size_t rows, std::size_t in) const { return 1e6 + static_cast<double>(rows * in); }
};

} // namespace

TEST_CASE("measured costs: every device profiles at the same time, on a thread of its own", "[model][profiling]")
{
    const int p = GENERATE(1, 2);
    auto log = std::make_shared<probe_log>();
    // Two probes (device 1 starts its passes at layer 1), then a dense layer and the loss's width.
    mp::sequential net{probe{log, p > 1}, probe{log, p > 1}, mp::dense(8, 4, 1)};
    auto plan = mp::shard(net, cpu_devices(p), {.micro_batches = 2, .batch_size = 8, .input_features = 8});
    INFO("p = " << p);
    // 1 warm-up + 3 timed passes per device, each through both probes.
    const int calls = 4 * 2 * p;
    CHECK(log->forwards.load() == calls);
    CHECK(log->backwards.load() == calls);
    CHECK(static_cast<int>(log->threads.size()) == p); // one thread per device
    CHECK(log->arena_sizes == std::set<int>{1});         // inside the devices' 1-thread arenas
    if (p > 1)
        CHECK(log->met.load()); // two devices' passes were inside the probes at once
    CHECK(plan.stages().size() == static_cast<std::size_t>(p));
}

TEST_CASE("measured costs: the partition takes each device's measured speed, not its threads", "[model][profiling]")
{
    // cpu_device(2) needs oneTBB to allow 2 threads, whatever the machine's cores.
    const std::size_t allowed =
        std::max<std::size_t>(2, tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
    tbb::global_control two(tbb::global_control::max_allowed_parallelism, allowed);
    auto log = std::make_shared<probe_log>();
    std::vector<mp::any_layer> layers;
    for (int j = 0; j < 6; ++j)
        layers.emplace_back(probe{log, false, /*slow_threads*/ 2, j});
    mp::sequential net(std::move(layers));
    const std::vector<trident::device> devices{trident::cpu_device(1, default_budget, "one thread"),
                                               trident::cpu_device(2, default_budget, "two threads")};
    REQUIRE(devices[1].threads() == 2);
    const mp::shard_options o{.micro_batches = 2, .batch_size = 8, .input_features = 4};

    SECTION("measured: the two-thread device is 8x slower per layer, so it gets the fewest layers")
    {
        auto plan = mp::shard(net, devices, o);
        REQUIRE(plan.stages().size() == 2);
        const auto& s0 = plan.stages()[0];
        const auto& s1 = plan.stages()[1];
        INFO("layers: " << s0.last_layer - s0.first_layer << " on one thread, " << s1.last_layer - s1.first_layer
                        << " on two threads");
        CHECK(s0.last_layer - s0.first_layer > s1.last_layer - s1.first_layer);
        CHECK(log->arena_sizes == std::set<int>{1, 2}); // each device ran the probes in its own arena
        // Every layer profiled on each device: 4 forwards (1 warm-up + 3) in each device's arena.
        for (int j = 0; j < 6; ++j) {
            INFO("layer " << j);
            CHECK(log->forwards_by[{j, 1}] == 4);
            CHECK(log->forwards_by[{j, 2}] == 4);
        }
    }
    SECTION("estimate: nothing runs, and the speeds are the threads: the two-thread device gets more layers")
    {
        mp::shard_options e = o;
        e.costs = mp::costs_from::estimate;
        auto plan = mp::shard(net, devices, e);
        CHECK(log->forwards.load() == 0);
        CHECK(log->backwards.load() == 0);
        const auto& s0 = plan.stages()[0];
        const auto& s1 = plan.stages()[1];
        CHECK(s0.last_layer - s0.first_layer < s1.last_layer - s1.first_layer);
    }
}

TEST_CASE("measured costs on several devices leave the gradients as they were", "[model][profiling]")
{
    mp::sequential net = make_net();
    for (auto& l : net) {
        auto g = l.gradients();
        for (std::size_t i = 0; i < g.size(); ++i)
            g[i] = static_cast<float>(i % 7) * 0.25f;
    }
    const std::vector<float> before = [&] {
        std::vector<float> v;
        for (auto& l : net)
            v.insert(v.end(), l.gradients().begin(), l.gradients().end());
        return v;
    }();
    auto plan = mp::shard(net, cpu_devices(2), {.micro_batches = 4, .batch_size = 16});
    std::vector<float> after;
    for (auto& l : net)
        after.insert(after.end(), l.gradients().begin(), l.gradients().end());
    CHECK(after == before);
}

TEST_CASE("a layer's exception during profiling on several devices reaches shard()'s caller", "[model][profiling]")
{
    trap t;
    t.when = 5; // some device's sixth forward call of the trap
    mp::sequential net{mp::dense(8, 8, 1), t, mp::dense(8, 4, 2)};
    CHECK_THROWS_WITH(mp::shard(net, cpu_devices(2), {.micro_batches = 2, .batch_size = 8}), "injected");
    CHECK(t.calls->load() >= 6);
}

TEST_CASE("the optimizer's predicted time: the device with the most parameters to update", "[model][profiling]")
{
    mp::sequential net = make_net();
    const mp::shard_options o{.micro_batches = 2, .batch_size = 8, .optimizer = mp::adam{},
                              .costs = mp::costs_from::estimate, .flops_per_second = 1e9};
    auto plan = mp::shard(net, cpu_devices(2), o);
    std::vector<std::size_t> floats(2, 0);
    for (const auto& st : plan.stages())
        for (int j = st.first_layer; j < st.last_layer; ++j)
            floats[static_cast<std::size_t>(st.device)] += net[static_cast<std::size_t>(j)].parameters().size();
    REQUIRE(floats[0] != floats[1]);
    const double most = static_cast<double>(std::max(floats[0], floats[1]));
    CHECK(plan.predicted().optimizer_seconds == Approx(most * 12.0 / 1e9)); // adam: 12 flops per parameter

    // Measured: timed on both devices (at once); some positive time for the larger update.
    auto measured = mp::shard(net, cpu_devices(2), {.micro_batches = 2, .batch_size = 8, .optimizer = mp::adam{}});
    CHECK(measured.predicted().optimizer_seconds > 0);
}

TEST_CASE("measured costs on one device of two threads are its own times, not divided by its threads",
          "[model][profiling]")
{
    const std::size_t allowed =
        std::max<std::size_t>(2, tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
    tbb::global_control two(tbb::global_control::max_allowed_parallelism, allowed);
    auto log = std::make_shared<probe_log>();
    std::vector<mp::any_layer> layers;
    for (int j = 0; j < 3; ++j)
        layers.emplace_back(probe{log, false, /*slow_threads*/ 2, j}); // 8 ms per call in a 2-thread arena
    mp::sequential net(std::move(layers));
    auto plan = mp::shard(net, {trident::cpu_device(2, default_budget)},
                          {.micro_batches = 1, .batch_size = 4, .input_features = 4});
    REQUIRE(plan.stages().size() == 1);
    // A sleep lasts at least its duration: every layer's forward and backward took >= 8 ms.
    CHECK(plan.stages()[0].forward_seconds >= 3 * 0.008);
    CHECK(plan.stages()[0].backward_input_seconds >= 3 * 0.008);
}
