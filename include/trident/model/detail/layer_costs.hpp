#pragma once
// Per-layer costs and bytes for shard(): the widths through the network, each layer's bytes
// (parameters, optimizer state, activations per micro-batch) and its times per micro-batch, either
// measured (short profiling passes of a sample micro-batch through the whole network, on every CPU
// device at once, each in its own arena, in host memory that no device books: nothing has run yet)
// or estimated from the layer's flops.

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/sequential.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace trident::model::detail {

struct layer_cost {
    double forward = 0;         // seconds per micro-batch on one thread's worth of device
    double backward_input = 0;  // seconds (for a layer that does not split: its whole backward)
    double backward_weight = 0; // seconds (0 for a layer that does not split)
    std::size_t parameter_bytes = 0;
    bool parameters_placed = false; // the layer books them on its own devices (parameter_placement())
    std::size_t output_bytes = 0; // per micro-batch: output + saved floats (kept for backward)
    bool splits = false;
};

/// features[i]: the input width of layer i; features[n]: the network's output width.
inline std::vector<std::size_t> widths(sequential& net, std::size_t input_features)
{
    std::vector<std::size_t> f{input_features};
    for (auto& l : net.layers())
        f.push_back(l.output_features(f.back()));
    return f;
}

/// Bytes and, from flops, an estimate of the times: forward flops / flops_per_second, backward
/// input and weight as much again each (a dense layer's three products), 0 for W without
/// parameters.
inline std::vector<layer_cost> estimated_costs(sequential& net, const std::vector<std::size_t>& feat, std::size_t rows,
                                               double flops_per_second)
{
    std::vector<layer_cost> c;
    auto& layers = net.layers();
    for (std::size_t j = 0; j < layers.size(); ++j) {
        auto& l = layers[j];
        layer_cost k;
        k.splits = l.splits_backward();
        k.parameter_bytes = l.parameters().size() * sizeof(float);
        k.parameters_placed = !l.parameter_placement().empty();
        k.output_bytes = (rows * feat[j + 1] + l.saved_floats(rows, feat[j])) * sizeof(float);
        const double f = l.flops(rows, feat[j]) / flops_per_second;
        k.forward = f;
        k.backward_input = f;
        k.backward_weight = k.parameter_bytes != 0 ? f : 0.0;
        if (!k.splits) {
            k.backward_input += k.backward_weight;
            k.backward_weight = 0;
        }
        c.push_back(k);
    }
    return c;
}

/// Wall seconds f() took.
template <class F>
double seconds_of(F&& f)
{
    const auto t0 = std::chrono::steady_clock::now();
    std::forward<F>(f)();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The median of `times` (the upper one of an even count); 0 for none.
inline double median_of(std::vector<double> times)
{
    if (times.empty())
        return 0.0;
    const auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), mid, times.end());
    return *mid;
}

/// One device's share of measured_costs(): `passes` + 1 passes (the first warms up) of its own
/// sample micro-batch (`acts`, `grads`, `saved`: this device's scratch) through the layers `order`,
/// the forward in that order, the backward in the reverse order; layer j runs only while its mutex
/// `locks[j]` is held (the layers are shared by every device's pass), and only that time is
/// counted.  Appends each call's seconds to f, bi, bw.
struct device_pass {
    std::vector<any_layer>& layers;
    const std::vector<std::size_t>& feat;
    std::size_t rows;
    const std::vector<layer_cost>& base;
    std::vector<std::mutex>& locks;
    const std::atomic<bool>& failed;

    void operator()(const std::vector<std::size_t>& order, std::size_t passes, std::vector<std::vector<double>>& f,
                    std::vector<std::vector<double>>& bi, std::vector<std::vector<double>>& bw) const
    {
        const std::size_t n = layers.size();
        // acts[j]: layer j's input (acts[n]: the output); grads[j]: the gradient at acts[j].  Every
        // one filled with deterministic values: a pass that does not start at layer 0 reads them.
        std::vector<std::vector<float>> acts(n + 1), grads(n + 1), saved(n);
        for (std::size_t j = 0; j <= n; ++j) {
            acts[j].resize(rows * feat[j]);
            grads[j].resize(rows * feat[j]);
            for (std::size_t i = 0; i < acts[j].size(); ++i) {
                acts[j][i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
                grads[j][i] = static_cast<float>((i * 40503u) % 1000) / 1000.0f - 0.5f;
            }
        }
        for (std::size_t j = 0; j < n; ++j)
            saved[j].resize(layers[j].saved_floats(rows, feat[j]));
        auto in = [&](std::vector<float>& v, std::size_t j) { return matrix_view<const float>(v.data(), rows, feat[j]); };
        auto out = [&](std::vector<float>& v, std::size_t j) { return matrix_view<float>(v.data(), rows, feat[j]); };
        for (std::size_t r = 0; r <= passes; ++r) { // pass 0 warms up
            for (std::size_t i = 0; i < order.size() && !failed.load(); ++i) {
                const std::size_t j = order[i];
                std::lock_guard hold(locks[j]);
                const double t = seconds_of([&] { layers[j].forward(in(acts[j], j), out(acts[j + 1], j + 1), saved[j]); });
                if (r > 0)
                    f[j].push_back(t);
            }
            for (std::size_t i = order.size(); i-- > 0 && !failed.load();) {
                const std::size_t j = order[i];
                auto& l = layers[j];
                const auto x = in(acts[j], j), y = in(acts[j + 1], j + 1), dy = in(grads[j + 1], j + 1);
                const auto dx = out(grads[j], j);
                std::lock_guard hold(locks[j]);
                if (base[j].splits) {
                    const double ti = seconds_of([&] { l.backward_input(x, y, saved[j], dy, dx); });
                    const double tw = base[j].parameter_bytes == 0 ? 0.0 : seconds_of([&] { l.backward_weight(x, y, saved[j], dy); });
                    if (r > 0) {
                        bi[j].push_back(ti);
                        bw[j].push_back(tw);
                    }
                } else {
                    const double t = seconds_of([&] { l.backward(x, y, saved[j], dy, dx); });
                    if (r > 0)
                        bi[j].push_back(t);
                }
            }
        }
    }
};

/// Per device (in the order of `devices`), per layer: the bytes of estimated_costs() with the times
/// measured as a step meets them, on every CPU device at once.  Each CPU device runs `repeats`
/// passes (after one warm-up pass) of a sample micro-batch of `rows` rows through the whole network
/// on a thread of its own inside its arena, as a step's stage runners do, so that the devices'
/// contention (shared caches, memory bandwidth, each other's threads) and each device's own speed
/// are in its times; each time is the median over the passes.  Timing each layer inside whole
/// passes (not a layer repeated alone) keeps the caches as a step leaves them.  The layers are
/// shared: no two devices run the same layer at once (a mutex per layer), and device k of the c
/// CPU devices starts its passes at layer k n / c, so that the devices mostly run different layers
/// side by side, as the stages of a pipeline do.  A GPU device is not profiled here: its times are
/// the first device's times x the first device's threads (a GPU device has threads() 1), as
/// costs_from::estimate scales them.  The first device must be a CPU device.  The layers' gradients
/// are restored afterwards.  Scratch: per CPU device, the activations and gradients of one
/// micro-batch through the whole network, in host memory that no device books (nothing has run yet).
/// Wall time: about (repeats + 1) passes of the slowest device.  Every layer is profiled on every
/// device because the partition needs each device's speed before it knows the stages.  (Profiling
/// each device's own stages again once they are known predicted no better on a 2-core machine: a
/// stage alone leaves more of the caches to its weights than a step with its micro-batches does.)
/// \throws what a layer throws (the first device's error first), after every device's pass stopped.
inline std::vector<std::vector<layer_cost>> measured_costs(sequential& net, const std::vector<std::size_t>& feat,
                                                           std::size_t rows, const std::vector<device>& devices,
                                                           int repeats = 3)
{
    const std::vector<layer_cost> base = estimated_costs(net, feat, rows, 1.0);
    auto& layers = net.layers();
    const std::size_t n = layers.size(), p = devices.size();
    std::vector<std::size_t> profiled; // the CPU devices
    for (std::size_t d = 0; d < p; ++d)
        if (devices[d].kind() == device_kind::cpu)
            profiled.push_back(d);
    if (profiled.empty() || profiled.front() != 0)
        throw std::logic_error("trident::model: measured costs need a CPU first device");
    std::vector<std::vector<std::size_t>> order(p); // per device, the layers of its forward pass
    for (std::size_t k = 0; k < profiled.size(); ++k) {
        const std::size_t d = profiled[k];
        for (std::size_t i = 0; i < n; ++i)
            order[d].push_back((k * n / profiled.size() + i) % n);
    }
    std::vector<std::vector<float>> kept(n);
    for (std::size_t j = 0; j < n; ++j) {
        const auto g = layers[j].gradients();
        kept[j].assign(g.begin(), g.end());
    }
    std::vector<std::mutex> locks(n);
    std::atomic<bool> failed{false};
    const device_pass pass{layers, feat, rows, base, locks, failed};
    const auto passes = static_cast<std::size_t>(std::max(repeats, 1));
    using samples = std::vector<std::vector<double>>; // per layer, per pass
    std::vector<samples> f(p, samples(n)), bi(p, samples(n)), bw(p, samples(n));
    std::vector<std::exception_ptr> errors(p);
    auto run = [&](std::size_t k) {
        const std::size_t d = profiled[k];
        try {
            devices[d].execute([&] { pass(order[d], passes, f[d], bi[d], bw[d]); });
        } catch (...) {
            errors[d] = std::current_exception();
            failed.store(true);
        }
    };
    {
        std::vector<std::jthread> threads;
        for (std::size_t k = 1; k < profiled.size() && !failed.load(); ++k) {
            try {
                threads.emplace_back(run, k);
            } catch (...) {
                errors[profiled[k]] = std::current_exception();
                failed.store(true);
            }
        }
        run(0);
    } // joined
    for (std::size_t j = 0; j < n; ++j) {
        const auto g = layers[j].gradients();
        std::copy(kept[j].begin(), kept[j].end(), g.begin());
    }
    for (const std::exception_ptr& e : errors)
        if (e)
            std::rethrow_exception(e);
    std::vector<std::vector<layer_cost>> c(p, base);
    for (std::size_t d : profiled)
        for (std::size_t j : order[d]) {
            c[d][j].forward = median_of(std::move(f[d][j]));
            c[d][j].backward_input = median_of(std::move(bi[d][j]));
            c[d][j].backward_weight = median_of(std::move(bw[d][j]));
        }
    const auto first_threads = static_cast<double>(devices.front().threads());
    for (std::size_t d = 0; d < p; ++d)
        if (devices[d].kind() != device_kind::cpu)
            for (std::size_t j = 0; j < n; ++j) {
                c[d][j].forward = c[0][j].forward * first_threads / devices[d].threads();
                c[d][j].backward_input = c[0][j].backward_input * first_threads / devices[d].threads();
                c[d][j].backward_weight = c[0][j].backward_weight * first_threads / devices[d].threads();
            }
    return c;
}

} // namespace trident::model::detail
