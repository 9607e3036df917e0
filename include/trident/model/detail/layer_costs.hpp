#pragma once
// Per-layer costs and bytes for shard(): the widths through the network, each layer's bytes
// (parameters, optimizer state, activations per micro-batch) and its times per micro-batch, either
// measured (short profiling passes of a sample micro-batch through the whole network, on the first
// device's arena, in host memory that no device books: nothing has run yet) or estimated from the
// layer's flops.

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/sequential.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
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

/// The same bytes, with times measured as a step meets them: `repeats` passes of one sample
/// micro-batch of `rows` rows (deterministic values) through the whole network, forward from the
/// first layer to the last, then backward (input, then weight gradients) from the last to the first,
/// inside `dev`'s arena, after one warm-up pass; each time is the median over the passes.  Timing
/// each layer inside whole passes (not a layer repeated alone) keeps the caches as a step leaves
/// them: a layer's weights have been pushed out by the other layers' since its last call.  The
/// layers' gradients are restored afterwards.
inline std::vector<layer_cost> measured_costs(sequential& net, const std::vector<std::size_t>& feat, std::size_t rows,
                                              const device& dev, int repeats = 3)
{
    std::vector<layer_cost> c = estimated_costs(net, feat, rows, 1.0);
    auto& layers = net.layers();
    const std::size_t n = layers.size();
    dev.execute([&] {
        // acts[j]: layer j's input (acts[n]: the output); grads[j]: the gradient at acts[j].
        std::vector<std::vector<float>> acts(n + 1), grads(n + 1), saved(n), kept(n);
        for (std::size_t j = 0; j <= n; ++j) {
            acts[j].resize(rows * feat[j]);
            grads[j].resize(rows * feat[j]);
        }
        for (std::size_t i = 0; i < acts[0].size(); ++i)
            acts[0][i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        for (std::size_t i = 0; i < grads[n].size(); ++i)
            grads[n][i] = static_cast<float>((i * 40503u) % 1000) / 1000.0f - 0.5f;
        for (std::size_t j = 0; j < n; ++j) {
            saved[j].resize(layers[j].saved_floats(rows, feat[j]));
            const auto g = layers[j].gradients();
            kept[j].assign(g.begin(), g.end());
        }
        auto in = [&](std::vector<float>& v, std::size_t j) { return matrix_view<const float>(v.data(), rows, feat[j]); };
        auto out = [&](std::vector<float>& v, std::size_t j) { return matrix_view<float>(v.data(), rows, feat[j]); };
        const auto passes = static_cast<std::size_t>(std::max(repeats, 1));
        std::vector<std::vector<double>> f(n), bi(n), bw(n); // per layer, per pass
        for (std::size_t r = 0; r <= passes; ++r) {          // pass 0 warms up
            for (std::size_t j = 0; j < n; ++j) {
                const double t = seconds_of([&] { layers[j].forward(in(acts[j], j), out(acts[j + 1], j + 1), saved[j]); });
                if (r > 0)
                    f[j].push_back(t);
            }
            for (std::size_t j = n; j-- > 0;) {
                auto& l = layers[j];
                const auto x = in(acts[j], j), y = in(acts[j + 1], j + 1), dy = in(grads[j + 1], j + 1);
                const auto dx = out(grads[j], j);
                if (c[j].splits) {
                    const double ti = seconds_of([&] { l.backward_input(x, y, saved[j], dy, dx); });
                    const double tw = kept[j].empty() ? 0.0 : seconds_of([&] { l.backward_weight(x, y, saved[j], dy); });
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
        for (std::size_t j = 0; j < n; ++j) {
            c[j].forward = median_of(std::move(f[j]));
            c[j].backward_input = median_of(std::move(bi[j]));
            c[j].backward_weight = median_of(std::move(bw[j]));
            const auto g = layers[j].gradients();
            std::copy(kept[j].begin(), kept[j].end(), g.begin());
        }
    });
    return c;
}

} // namespace trident::model::detail
