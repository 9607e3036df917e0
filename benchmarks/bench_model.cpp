// Pipeline model parallelism (the report's claim 7b): a balanced MLP of 8 blocks dense(256 -> 256) +
// relu (batch 64) sharded over p CPU devices of one thread each, one training step (SGD) per
// iteration, for each schedule and micro-batch count.
//
//   pipeline_p<p>/<schedule>/<m>   p in {1, 2, 4}, schedule gpipe, 1f1b, interleaved (v = 2, m a
//                                  multiple of p), zb_h1; m in {1, 2, 4, 8, 16}
//   pipeline_p<p>_m<4p>/<schedule> the same at m = 4p (the targets' rows: no argument)
//
// Counters: predicted_seconds (simulate() with the per-layer times measured by shard()'s profiling
// pass), efficiency = predicted / measured (the target: >= 0.95 for balanced stages with
// m >= 4p), model_seconds = predicted_seconds (for the manifest's model_efficiency check),
// ideal_speedup = p m / (m + p - 1), speedup = the same step on one device (1F1B, same m) / measured
// (target: >= 0.9 x ideal_speedup), bubble and predicted_bubble (fractions).  ZB-H1 against 1F1B:
// compare their predicted_seconds ratio with their measured one.  p = 4 on fewer than 4 cores is
// oversubscribed: its numbers say nothing about the schedules there.
#include "common.hpp"

#include <trident/model/layers/dense.hpp>
#include <trident/model/layers/relu.hpp>
#include <trident/trident.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace {

namespace mp = trident::model;
using namespace trident::literals;

constexpr std::size_t width = 256, batch = 64;

mp::sequential make_net()
{
    std::vector<mp::any_layer> layers;
    for (unsigned b = 0; b < 8; ++b) {
        layers.emplace_back(mp::dense(width, width, b + 1));
        layers.emplace_back(mp::relu());
    }
    return mp::sequential(std::move(layers));
}

struct data {
    std::vector<float> x = std::vector<float>(batch * width), y = std::vector<float>(batch);
    data()
    {
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        for (std::size_t r = 0; r < batch; ++r)
            y[r] = static_cast<float>(r % width);
    }
};

mp::schedule kind_of(const std::string& name)
{
    if (name == "gpipe")
        return mp::schedule::gpipe;
    if (name == "interleaved")
        return mp::schedule::interleaved;
    if (name == "zb_h1")
        return mp::schedule::zero_bubble_h1;
    return mp::schedule::one_f_one_b;
}

// Seconds of one step on one device (1F1B, m micro-batches): the median of 5, cached per m.
double one_device_seconds(int m)
{
    static std::map<int, double> cache;
    if (auto it = cache.find(m); it != cache.end())
        return it->second;
    mp::sequential net = make_net();
    auto plan = mp::shard(net, {trident::cpu_device(1, 1_GiB)}, {.micro_batches = m, .batch_size = batch});
    const data d;
    std::vector<double> t;
    for (int r = 0; r < 5; ++r)
        t.push_back(plan.step({d.x.data(), batch, width}, {d.y.data(), batch, 1}).seconds);
    std::sort(t.begin(), t.end());
    return cache[m] = t[2];
}

void step_bench(benchmark::State& state, int p, const std::string& schedule, int m)
{
    mp::sequential net = make_net();
    std::vector<trident::device> devices;
    for (int i = 0; i < p; ++i)
        devices.push_back(trident::cpu_device(1, 1_GiB));
    auto plan = mp::shard(net, devices, {.micro_batches = m, .batch_size = batch, .schedule = kind_of(schedule)});
    const data d;
    const double base = one_device_seconds(m);
    double bubble = 0, total = 0;
    std::int64_t steps = 0;
    for (auto _ : state) {
        const mp::step_stats s = plan.step({d.x.data(), batch, width}, {d.y.data(), batch, 1});
        state.SetIterationTime(s.seconds);
        bubble += s.bubble;
        total += s.seconds;
        ++steps;
    }
    const double mean = steps > 0 ? total / static_cast<double>(steps) : 1.0;
    const double predicted = plan.predicted().step_time;
    state.counters["predicted_seconds"] = predicted;
    state.counters["model_seconds"] = predicted;
    state.counters["predicted_bubble"] = plan.predicted().bubble_fraction;
    state.counters["bubble"] = steps > 0 ? bubble / static_cast<double>(steps) : 0.0;
    state.counters["ideal_speedup"] = static_cast<double>(p * m) / static_cast<double>(m + p - 1);
    state.counters["efficiency"] = predicted / mean;
    state.counters["speedup"] = base / mean;
    state.counters["threads"] = p;
}

[[maybe_unused]] const int registered = [] {
    for (int p : {1, 2, 4})
        for (const char* schedule : {"gpipe", "1f1b", "interleaved", "zb_h1"}) {
            if (p == 1 && std::string(schedule) != "1f1b")
                continue; // one device: every schedule is the same list
            const std::string workload = "pipeline_p" + std::to_string(p) + "/" + schedule;
            auto* b = benchmark::RegisterBenchmark(workload.c_str(), [p, schedule](benchmark::State& s) {
                step_bench(s, p, schedule, static_cast<int>(s.range(0)));
            });
            for (int m : {1, 2, 4, 8, 16})
                if (std::string(schedule) != "interleaved" || m % p == 0)
                    b->Arg(m);
            b->UseManualTime()->Unit(benchmark::kMillisecond);
            if (p > 1) {
                const std::string target = "pipeline_p" + std::to_string(p) + "_m" + std::to_string(4 * p) + "/" +
                                           schedule;
                benchmark::RegisterBenchmark(target.c_str(), [p, schedule](benchmark::State& s) {
                    step_bench(s, p, schedule, 4 * p);
                })->UseManualTime()->Unit(benchmark::kMillisecond);
            }
        }
    return 0;
}();

} // namespace

TRIDENT_BENCH_MAIN("0.2")
