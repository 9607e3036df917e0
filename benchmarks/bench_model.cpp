// Model parallelism (the report's claim 7b): pipeline training steps of a network of identical
// dense layers sharded over p CPU devices of one thread each (cpu_device(1, budget)), for each
// schedule and micro-batch count m, against the same network on one device.
//
//   model_pipeline_p1/one_device/<m>          the whole network on one device (1F1B order), m micro-batches
//   model_pipeline_p<p>/<schedule>/<m>        p = 2, 4 devices; schedule gpipe, 1f1b, interleaved_v2
//                                             (2 chunks per device; m a multiple of p), zb_h1
//   model_pipeline_p<p>/1f1b_recompute/<m>    1F1B with activation recomputation (memory rows:
//                                             p = 2, m = 8 and p = 4, m = 16)
//
// The network: 8 x dense(384, 384) and softmax cross-entropy over 384 classes, SGD with momentum,
// a batch of 256 rows cut into m micro-batches: balanced stages (the partition gives each of p
// stages 8 / p layers; interleaved: 8 / 2p).  One iteration is one plan.step(); the plan is built
// (shard(), with its profiling passes: every device profiles the layers at once) before the timed
// loop.  p = 4 on a machine with fewer than 4 cores oversubscribes it: the devices' threads take
// turns, and the label says so.
//
// Counters (per row):
//   devices, micro_batches              p and m
//   samples_per_second                  the batch / the step's wall time
//   pipeline_ideal                      p m / (m + p - 1): the speedup over one device that the
//                                       bubble of GPipe and 1F1B allows with equal stages
//   ideal_speedup                       pipeline_ideal, at most the cores (the devices are threads)
//   predicted_seconds, predicted_bubble the plan's prediction (simulate() with the profiled costs,
//                                       plus the optimizer's update: prediction::total_seconds())
//   predicted_over_measured             predicted_seconds / the mean of the steps' wall times (the
//                                       issue's target: >= 0.95)
//   shard_seconds                       shard()'s wall time: the profiling passes (on every device at
//                                       once), the partition, the bookings
//   predicted_speedup                   one device's predicted time (m x the stages' F + B + W) /
//                                       predicted_seconds
//   predicted_gain_over_1f1b            simulate()'s 1F1B step with the plan's own stage costs / the
//                                       plan's predicted step (1 for 1F1B; not for interleaved)
//   bubble                              the measured bubble, 1 - busy / (p x wall), mean over steps
//   lost_bubble, lost_imbalance, lost_transfers, lost_recompute, lost_other
//                                       explain_step()'s causes as fractions of the devices' time
//   devices, workers                    p (workers: the report's x axis)
//   peak_mib_max, peak_mib_d<i>         the devices' peaks during a step (device::peak(): parameters,
//                                       gradients, optimizer state, activations, buffers in transit)
//   activations_mib_max                 the largest peak above the device's parameters, gradients and
//                                       optimizer state: activations and buffers in transit
// The label is explain_step()'s sentence for the step of median wall time.
//
// With TRIDENT_BENCH_OUT_DIR set (benchmarks/run-suite.sh sets it), model_pipeline_p2/1f1b/8 writes
// its last step's planned and measured timelines (write_timeline_trace) to
// $TRIDENT_BENCH_OUT_DIR/model_timeline.json, which benchmarks/report.py draws as model_timeline.png.
#include "common.hpp"

#include <trident/model/explain_step.hpp>
#include <trident/model/layers/dense.hpp>
#include <trident/model/timeline.hpp>
#include <trident/trident.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace mp = trident::model;
using namespace trident::literals;

constexpr std::size_t width = 384, layers = 8, batch = 256;

mp::sequential make_net()
{
    std::vector<mp::any_layer> net;
    for (std::size_t j = 0; j < layers; ++j)
        net.emplace_back(mp::dense(width, width, 1 + j));
    return mp::sequential(std::move(net));
}

struct data {
    std::vector<float> x, y;
    data() : x(batch * width), y(batch)
    {
        unsigned s = 12345u;
        for (float& v : x) {
            s = s * 1664525u + 1013904223u;
            v = static_cast<float>(s >> 8) / static_cast<float>(1u << 24) - 0.5f;
        }
        for (std::size_t r = 0; r < batch; ++r)
            y[r] = static_cast<float>((r * 37) % width);
    }
};

struct config {
    int devices;
    mp::schedule kind;
    bool recompute;
    int micro_batches;
    bool write_timeline = false;
};

int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

void pipeline_step(benchmark::State& state, config c)
{
    static const data d;
    mp::sequential net = make_net();
    std::vector<trident::device> devices;
    for (int i = 0; i < c.devices; ++i)
        devices.push_back(trident::cpu_device(1, 256_MiB, "device " + std::to_string(i)));
    const auto shard_start = std::chrono::steady_clock::now();
    auto plan = mp::shard(net, devices,
                          {.micro_batches = c.micro_batches, .batch_size = batch, .schedule = c.kind, .chunks = 2,
                           .optimizer = mp::sgd{.learning_rate = 1e-3, .momentum = 0.9},
                           .recomputation = {c.recompute ? mp::recompute::on : mp::recompute::off}});
    const double shard_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - shard_start).count();
    const trident::matrix_view<const float> x(d.x.data(), batch, width), y(d.y.data(), batch, 1);
    (void)plan.step(x, y); // warm-up: first touch of every buffer

    std::vector<mp::step_stats> steps;
    for (auto _ : state)
        steps.push_back(plan.step(x, y));

    // The explanation of each step; the label from the step of median wall time.
    const auto p = static_cast<double>(c.devices), m = static_cast<double>(c.micro_batches);
    double device_time = 0, bubble = 0;
    mp::step_losses lost;
    std::vector<std::pair<double, std::string>> whys;
    std::vector<double> peak(static_cast<std::size_t>(c.devices), 0.0);
    for (const mp::step_stats& s : steps) {
        const mp::step_explanation e = mp::explain_step(plan, s);
        device_time += p * s.seconds;
        bubble += s.bubble;
        lost.bubble += e.losses.bubble, lost.imbalance += e.losses.imbalance, lost.transfers += e.losses.transfers;
        lost.recomputation += e.losses.recomputation, lost.other += e.losses.other;
        whys.emplace_back(s.seconds, e.why());
        for (std::size_t i = 0; i < peak.size(); ++i)
            peak[i] = std::max(peak[i], static_cast<double>(s.peak_bytes[i]) / (1024.0 * 1024.0));
    }
    if (steps.empty())
        return;
    std::sort(whys.begin(), whys.end());
    std::string label = whys[whys.size() / 2].second;
    if (c.devices > cores())
        label = "oversubscribed: " + std::to_string(c.devices) + " devices take turns on " + std::to_string(cores()) +
                " cores; " + label;
    state.SetLabel(label);

    const mp::prediction& pr = plan.predicted();
    double one_device = 0; // m x every stage's F + B + W (recomputation included where on)
    for (const mp::stage_info& st : plan.stages())
        one_device += m * (st.forward_seconds + st.backward_input_seconds + st.backward_weight_seconds);
    auto& k = state.counters;
    k["devices"] = p;
    k["workers"] = p; // the report's x axis (speedup against workers)
    k["micro_batches"] = m;
    k["samples_per_second"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
    k["pipeline_ideal"] = p * m / (m + p - 1);
    k["ideal_speedup"] = std::min(p * m / (m + p - 1), static_cast<double>(cores()));
    k["predicted_seconds"] = pr.total_seconds(); // the optimizer's update included
    double mean_step = 0;
    for (const mp::step_stats& s : steps)
        mean_step += s.seconds / static_cast<double>(steps.size());
    k["predicted_over_measured"] = mean_step > 0 ? pr.total_seconds() / mean_step : 0.0;
    k["shard_seconds"] = shard_seconds;
    k["predicted_bubble"] = pr.bubble_fraction;
    k["predicted_speedup"] = pr.step_time > 0 ? one_device / pr.step_time : 0.0; // the schedule's
    if (plan.schedule().stages == c.devices) {
        mp::stage_costs costs;
        for (const mp::stage_info& st : plan.stages()) {
            costs.forward.push_back(st.forward_seconds);
            costs.backward_input.push_back(st.backward_input_seconds);
            costs.backward_weight.push_back(st.backward_weight_seconds);
        }
        k["predicted_gain_over_1f1b"] =
            mp::simulate(mp::one_f_one_b(c.devices, c.micro_batches), costs).step_time / pr.step_time;
    }
    k["bubble"] = bubble / static_cast<double>(steps.size());
    k["lost_bubble"] = lost.bubble / device_time;
    k["lost_imbalance"] = lost.imbalance / device_time;
    k["lost_transfers"] = lost.transfers / device_time;
    k["lost_recompute"] = lost.recomputation / device_time;
    k["lost_other"] = lost.other / device_time;
    k["peak_mib_max"] = *std::max_element(peak.begin(), peak.end());
    double activations = 0; // the peak above what the plan books for the whole run
    for (std::size_t i = 0; i < peak.size(); ++i) {
        const mp::device_memory& dm = plan.memory()[i];
        activations = std::max(activations, peak[i] - static_cast<double>(dm.parameters + dm.gradients + dm.optimizer) /
                                                         (1024.0 * 1024.0));
    }
    k["activations_mib_max"] = activations;
    for (std::size_t i = 0; i < peak.size(); ++i)
        k["peak_mib_d" + std::to_string(i)] = peak[i];

    if (const char* dir = std::getenv("TRIDENT_BENCH_OUT_DIR"); c.write_timeline && dir != nullptr && *dir != '\0') {
        std::ofstream f(std::string(dir) + "/model_timeline.json");
        mp::write_timeline_trace(f, plan, steps.back().timeline);
    }
}

const char* impl_name(mp::schedule kind)
{
    switch (kind) {
    case mp::schedule::gpipe: return "gpipe";
    case mp::schedule::one_f_one_b: return "1f1b";
    case mp::schedule::interleaved: return "interleaved_v2";
    case mp::schedule::zero_bubble_h1: return "zb_h1";
    default: return "automatic";
    }
}

void add(const std::string& name, config c)
{
    benchmark::RegisterBenchmark(name.c_str(), [c](benchmark::State& s) { pipeline_step(s, c); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}

void register_all()
{
    const int ms[] = {1, 2, 4, 8, 16};
    for (int m : ms)
        add("model_pipeline_p1/one_device/" + std::to_string(m), {1, mp::schedule::one_f_one_b, false, m});
    for (int p : {2, 4}) {
        const std::string w = "model_pipeline_p" + std::to_string(p) + "/";
        for (mp::schedule kind : {mp::schedule::gpipe, mp::schedule::one_f_one_b, mp::schedule::interleaved,
                                  mp::schedule::zero_bubble_h1})
            for (int m : ms) {
                if (kind == mp::schedule::interleaved && m % p != 0)
                    continue; // interleaved 1F1B needs m a multiple of p
                config c{p, kind, false, m};
                c.write_timeline = p == 2 && kind == mp::schedule::one_f_one_b && m == 8;
                add(w + impl_name(kind) + "/" + std::to_string(m), c);
            }
        const int m = 4 * p; // the memory row: 1F1B with recomputation
        add(w + "1f1b_recompute/" + std::to_string(m), {p, mp::schedule::one_f_one_b, true, m});
    }
}

} // namespace

int main(int argc, char** argv)
{
    register_all();
    return bench::run_main(argc, argv, "0.2");
}
