// model_parallel [steps]: an MLP whose parameters, gradients and Adam state (about 37 MB) exceed one
// device's budget (24 MiB).  shard() refuses it on one device, naming the layer, the device and the
// bytes missing; on 2 devices (and 4 where the machine has the cores) it trains it with 1F1B and
// ZB-H1, printing the loss per step, the throughput, the predicted and the measured step time and
// bubble, and writes the last step's timeline (predicted and measured, one row per device) to
// model_parallel_trace.json (open it in ui.perfetto.dev).
#include <trident/model/layers/dense.hpp>
#include <trident/model/layers/gelu.hpp>
#include <trident/model/timeline.hpp>
#include <trident/trident.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace mp = trident::model;
using namespace trident::literals;

namespace {

constexpr std::size_t in_features = 256, classes = 10, batch = 64;

mp::sequential make_mlp()
{
    return mp::sequential{mp::dense(in_features, 1024, 1), mp::gelu(), mp::dense(1024, 1024, 2), mp::gelu(),
                          mp::dense(1024, 1024, 3),        mp::gelu(), mp::dense(1024, classes, 4)};
}

// A learnable task: the class is the largest of 10 fixed projections of x.
void make_batch(unsigned step, std::vector<float>& x, std::vector<float>& y)
{
    x.resize(batch * in_features);
    y.resize(batch);
    unsigned s = 2654435761u * (step + 1);
    for (float& v : x) {
        s = s * 1664525u + 1013904223u;
        v = static_cast<float>(s >> 8) / static_cast<float>(1u << 24) - 0.5f;
    }
    for (std::size_t r = 0; r < batch; ++r) {
        std::size_t best = 0;
        float best_value = -1e30f;
        for (std::size_t c = 0; c < classes; ++c) {
            float dot = 0;
            for (std::size_t k = c; k < in_features; k += classes)
                dot += x[r * in_features + k];
            if (dot > best_value)
                best_value = dot, best = c;
        }
        y[r] = static_cast<float>(best);
    }
}

void train(int devices_count, mp::schedule kind, int steps)
{
    mp::sequential net = make_mlp();
    std::vector<trident::device> devices;
    for (int d = 0; d < devices_count; ++d)
        devices.push_back(trident::cpu_device(1, 24_MiB));
    auto plan = mp::shard(net, devices, {.micro_batches = 8, .batch_size = batch, .schedule = kind,
                                         .optimizer = mp::adam{.learning_rate = 1e-3}});
    std::cout << plan;
    std::vector<float> x, y;
    mp::step_stats s;
    for (int step = 0; step < steps; ++step) {
        make_batch(static_cast<unsigned>(step), x, y);
        s = plan.step({x.data(), batch, in_features}, {y.data(), batch, 1});
        std::printf("  step %d: loss %.4f, %.1f ms (predicted %.1f ms), %.0f samples/s; actions %.1f ms (predicted %.1f "
                    "ms), bubble %.0f%% (predicted %.0f%%)\n",
                    step, s.loss, s.seconds * 1e3, plan.predicted().total_seconds() * 1e3, batch / s.seconds,
                    s.actions_seconds * 1e3, plan.predicted().step_time * 1e3, 100 * s.bubble,
                    100 * plan.predicted().bubble_fraction);
    }
    for (std::size_t d = 0; d < devices.size(); ++d)
        std::printf("  %s: peak %.1f MiB of %.1f MiB\n", devices[d].name().c_str(),
                    static_cast<double>(s.peak_bytes[d]) / 1048576.0, static_cast<double>(devices[d].budget()) / 1048576.0);
    std::ofstream trace("model_parallel_trace.json");
    mp::write_timeline_trace(trace, plan, s.timeline);
}

} // namespace

int main(int argc, char** argv)
{
    const int steps = argc > 1 ? std::atoi(argv[1]) : 5;
    if (steps < 1) {
        std::fprintf(stderr, "usage: model_parallel [steps >= 1]\n");
        return 2;
    }
    try {
        mp::sequential net = make_mlp();
        std::printf("%zu parameters: with gradients and Adam state %.1f MiB\n", net.parameter_count(),
                    4.0 * 4 * static_cast<double>(net.parameter_count()) / 1048576.0);
        try {
            (void)mp::shard(net, {trident::cpu_device(1, 24_MiB)},
                            {.micro_batches = 8, .batch_size = batch, .optimizer = mp::adam{}});
            std::printf("unexpected: the network fits one device\n");
            return 1;
        } catch (const trident::out_of_memory& e) {
            std::printf("one device refuses it: %s\n", e.what());
        }
        for (mp::schedule kind : {mp::schedule::one_f_one_b, mp::schedule::zero_bubble_h1}) {
            train(2, kind, steps);
            if (std::thread::hardware_concurrency() >= 4)
                train(4, kind, steps);
        }
        if (std::thread::hardware_concurrency() < 4)
            std::printf("(4 devices skipped: %u hardware threads)\n", std::thread::hardware_concurrency());
        std::printf("timeline of the last step: model_parallel_trace.json\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "model_parallel: %s\n", e.what());
        return 1;
    }
    return 0;
}
