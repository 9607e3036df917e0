// The exact partition (model/partition.hpp): optimal bottleneck against a brute force over every
// cut on small random instances (different speeds and budgets, one stage per device and
// interleaved), the "does not fit" error naming layer, device and bytes missing, input errors.

#include <catch2/catch.hpp>

#include "trident/model/partition.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace mp = trident::model;

namespace {

struct brute_result {
    bool found = false;
    double bottleneck = std::numeric_limits<double>::infinity();
};

// Every way to cut L layers into S non-empty contiguous stages; the least bottleneck that fits.
brute_result brute_force(const std::vector<mp::layer_profile>& layers, const std::vector<mp::device_profile>& devices,
                         const std::vector<int>& stage_device, const std::vector<int>& in_flight)
{
    const std::size_t L = layers.size();
    const std::size_t S = stage_device.size();
    brute_result best;
    std::vector<std::size_t> cut(S + 1);
    cut[0] = 0;
    cut[S] = L;
    auto evaluate = [&] {
        std::vector<std::size_t> used(devices.size(), 0);
        double worst = 0;
        for (std::size_t s = 0; s < S; ++s) {
            double cost = 0;
            std::size_t bytes = 0;
            for (std::size_t l = cut[s]; l < cut[s + 1]; ++l) {
                cost += layers[l].cost;
                bytes += layers[l].static_bytes + static_cast<std::size_t>(in_flight[s]) * layers[l].activation_bytes;
            }
            const auto d = static_cast<std::size_t>(stage_device[s]);
            used[d] += bytes;
            worst = std::max(worst, cost / devices[d].speed);
        }
        for (std::size_t d = 0; d < devices.size(); ++d)
            if (used[d] > devices[d].budget)
                return;
        best.found = true;
        best.bottleneck = std::min(best.bottleneck, worst);
    };
    auto choose = [&](auto&& self, std::size_t s) -> void { // cut[s] for s in 1..S-1
        if (s == S) {
            evaluate();
            return;
        }
        for (std::size_t j = cut[s - 1] + 1; j + (S - s) <= L; ++j) {
            cut[s] = j;
            self(self, s + 1);
        }
    };
    choose(choose, 1);
    return best;
}

// The result is a real partition: boundaries in order, every stage non-empty, the reported
// numbers recomputed, every budget kept.
void check_result(const mp::partition_result& r, const std::vector<mp::layer_profile>& layers,
                  const std::vector<mp::device_profile>& devices, const std::vector<int>& stage_device,
                  const std::vector<int>& in_flight)
{
    const std::size_t S = stage_device.size();
    REQUIRE(r.first_layer.size() == S + 1);
    REQUIRE(r.first_layer.front() == 0);
    REQUIRE(r.first_layer.back() == layers.size());
    std::vector<std::size_t> used(devices.size(), 0);
    double worst = 0;
    for (std::size_t s = 0; s < S; ++s) {
        REQUIRE(r.first_layer[s] < r.first_layer[s + 1]);
        double cost = 0;
        std::size_t bytes = 0;
        for (std::size_t l = r.first_layer[s]; l < r.first_layer[s + 1]; ++l) {
            cost += layers[l].cost;
            bytes += layers[l].static_bytes + static_cast<std::size_t>(in_flight[s]) * layers[l].activation_bytes;
        }
        const auto d = static_cast<std::size_t>(stage_device[s]);
        REQUIRE(r.stage_time[s] == Approx(cost / devices[d].speed));
        REQUIRE(r.stage_bytes[s] == bytes);
        used[d] += bytes;
        worst = std::max(worst, r.stage_time[s]);
    }
    REQUIRE(r.bottleneck == worst);
    REQUIRE(r.device_bytes == used);
    for (std::size_t d = 0; d < devices.size(); ++d)
        REQUIRE(used[d] <= devices[d].budget);
}

} // namespace

TEST_CASE("partition: the optimal bottleneck, against a brute force", "[model][partition]")
{
    std::mt19937 rng(2024);
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const double speeds[] = {0.5, 1.0, 1.0, 2.0, 3.0};
    int found = 0;
    int not_found = 0;
    int interleaved = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        const int L = uniform(1, 9);
        const int p = uniform(1, std::min(L, 4));
        const int v = uniform(1, 3);
        const bool interleave = v > 1 && p * v <= L;
        const int S = interleave ? p * v : p;
        std::vector<mp::layer_profile> layers;
        for (int l = 0; l < L; ++l)
            layers.push_back({static_cast<double>(uniform(0, 9)), static_cast<std::size_t>(uniform(0, 100)),
                              static_cast<std::size_t>(uniform(0, 40))});
        std::vector<mp::device_profile> devices;
        for (int d = 0; d < p; ++d)
            devices.push_back({speeds[uniform(0, 4)], static_cast<std::size_t>(uniform(50, 60 * L)),
                               "dev" + std::to_string(d)});
        std::vector<int> stage_device;
        std::vector<int> in_flight;
        std::vector<int> order(static_cast<std::size_t>(p));
        for (int d = 0; d < p; ++d)
            order[static_cast<std::size_t>(d)] = d;
        std::shuffle(order.begin(), order.end(), rng); // any stage -> device map, not only s % p
        for (int s = 0; s < S; ++s) {
            stage_device.push_back(order[static_cast<std::size_t>(s % p)]);
            in_flight.push_back(uniform(0, 4));
        }
        INFO("trial " << trial << ": L = " << L << ", p = " << p << ", stages = " << S);
        const brute_result expected = brute_force(layers, devices, stage_device, in_flight);
        if (expected.found) {
            const auto r = mp::partition(layers, devices, stage_device, in_flight);
            check_result(r, layers, devices, stage_device, in_flight);
            REQUIRE(r.bottleneck == expected.bottleneck);
            ++found;
            interleaved += interleave ? 1 : 0;
        } else {
            REQUIRE_THROWS_AS(mp::partition(layers, devices, stage_device, in_flight), trident::out_of_memory);
            ++not_found;
        }
    }
    // The instances cover both outcomes and the search for devices holding several stages.
    CHECK(found > 500);
    CHECK(not_found > 200);
    CHECK(interleaved > 100);
}

TEST_CASE("partition: memory can force a slower cut; the schedule's in-flight counts matter", "[model][partition]")
{
    // Balanced by time would be {0, 2, 4}; stage 0 of 1F1B(2) keeps 2 micro-batches in flight, so
    // two heavy-activation layers do not fit device 0 and the cut moves.
    const std::vector<mp::layer_profile> layers = {{1, 0, 300}, {1, 0, 300}, {1, 0, 10}, {1, 0, 10}};
    const std::vector<mp::device_profile> devices = {{1.0, 1000, "cpu0"}, {1.0, 1000, "cpu1"}};
    const auto one = mp::partition(layers, devices, mp::one_f_one_b(2, 8)); // in flight 2, 1
    CHECK(one.first_layer == std::vector<std::size_t>{0, 1, 4});
    CHECK(one.bottleneck == 3.0);
    CHECK(one.stage_bytes == std::vector<std::size_t>{600, 320});
    CHECK_THROWS_AS(mp::partition(layers, devices, mp::gpipe(2, 8)), trident::out_of_memory); // 8 in flight
    const auto few = mp::partition(layers, devices, mp::gpipe(2, 1)); // 1 in flight
    CHECK(few.first_layer == std::vector<std::size_t>{0, 2, 4});
    // The example of the header: speeds 1 and 2.
    const std::vector<mp::layer_profile> example = {{2.0, 1000, 100}, {1.0, 500, 100}, {3.0, 800, 50}};
    const std::vector<mp::device_profile> two = {{1.0, 4000, "cpu0"}, {2.0, 4000, "cpu1"}};
    CHECK(mp::partition(example, two, mp::one_f_one_b(2, 8)).first_layer == std::vector<std::size_t>{0, 1, 3});
}

TEST_CASE("partition: a model that does not fit names layer, device and bytes missing", "[model][partition]")
{
    const std::vector<mp::device_profile> devices = {{1.0, 1000, "cpu0"}, {1.0, 1000, "cpu1"}};
    {
        const std::vector<mp::layer_profile> layers = {{1, 400, 0}, {1, 400, 0}, {1, 1500, 0}};
        try {
            (void)mp::partition(layers, devices, std::vector<int>{0, 1}, std::vector<int>{2, 1});
            FAIL("no exception");
        } catch (const trident::out_of_memory& e) {
            const std::string what = e.what();
            INFO(what);
            CHECK(e.device() == "cpu1");
            CHECK(e.requested() == 1500);
            CHECK(e.budget() == 1000);
            CHECK(what.find("layer 2 (stage 1") != std::string::npos);
            CHECK(what.find("500 bytes missing") != std::string::npos);
        }
    }
    {
        // Interleaved: device 0 holds stages 0 and 2; what stage 0 took is in use when stage 2 fails.
        const std::vector<mp::layer_profile> layers = {{1, 600, 0}, {1, 100, 0}, {1, 700, 0}, {1, 100, 0}};
        try {
            (void)mp::partition(layers, devices, std::vector<int>{0, 1, 0, 1}, std::vector<int>{1, 1, 1, 1});
            FAIL("no exception");
        } catch (const trident::out_of_memory& e) {
            const std::string what = e.what();
            INFO(what);
            CHECK(e.device() == "cpu0");
            CHECK(e.in_use() == 600);
            CHECK(e.requested() == 700);
            CHECK(what.find("layer 2 (stage 2") != std::string::npos);
            CHECK(what.find("300 bytes missing") != std::string::npos);
        }
    }
}

TEST_CASE("partition: the search for several stages per device gives up, never answers inexactly",
          "[model][partition]")
{
    const std::vector<mp::layer_profile> layers(12, mp::layer_profile{1, 10, 1});
    const std::vector<mp::device_profile> devices = {{1.0, 1000, "a"}, {1.0, 1000, "b"}};
    const auto schedule = mp::interleaved_one_f_one_b(2, 4, 2);
    const auto r = mp::partition(layers, devices, schedule);
    CHECK(r.bottleneck == 3.0);
    try {
        (void)mp::partition(layers, devices, schedule, mp::partition_options{.max_search_steps = 2});
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("gave up after 2 steps") != std::string::npos);
    }
    // One stage per device: the dynamic program, no search and no limit.
    CHECK(mp::partition(layers, devices, mp::one_f_one_b(2, 4), mp::partition_options{.max_search_steps = 0})
              .bottleneck == 6.0);
}

TEST_CASE("partition: malformed input is std::invalid_argument naming the value", "[model][partition]")
{
    const std::vector<mp::layer_profile> layers = {{1, 1, 1}, {1, 1, 1}};
    const std::vector<mp::device_profile> devices = {{1.0, 100, "a"}, {1.0, 100, "b"}};
    auto message = [&](auto&& f) {
        try {
            f();
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no exception");
    };
    CHECK(message([&] { (void)mp::partition(layers, devices, std::vector<int>{0, 1, 0}, std::vector<int>{1, 1, 1}); })
              .find("2 layers for 3 stages") != std::string::npos);
    CHECK(message([&] { (void)mp::partition(layers, devices, std::vector<int>{0, 2}, std::vector<int>{1, 1}); })
              .find("stage 1 is on device 2") != std::string::npos);
    CHECK(message([&] { (void)mp::partition(layers, devices, std::vector<int>{0, 1}, std::vector<int>{1}); })
              .find("in_flight has 1 entries for 2 stages") != std::string::npos);
    const std::vector<mp::device_profile> slow = {{0.0, 100, "a"}, {1.0, 100, "b"}};
    CHECK(message([&] { (void)mp::partition(layers, slow, std::vector<int>{0, 1}, std::vector<int>{1, 1}); })
              .find("device 0 has speed 0") != std::string::npos);
    CHECK(message([&] { (void)mp::partition(layers, devices, mp::one_f_one_b(3, 2)); })
              .find("the schedule has 3 devices, 2 device profiles given") != std::string::npos);
}
