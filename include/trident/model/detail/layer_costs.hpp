#pragma once
// Per-layer costs and bytes for shard(): the widths through the network, each layer's bytes
// (parameters, optimizer state, activations per micro-batch) and its times per micro-batch, either
// measured (a short profiling pass on a sample micro-batch, on the first device's arena, in host
// memory that no device books: nothing has run yet) or estimated from the layer's flops.

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/sequential.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
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

/// The same bytes, with times measured: each layer's forward and backward on a sample micro-batch
/// of `rows` rows (deterministic values), inside `dev`'s arena, the best of `repeats` runs after a
/// warm-up.  The layers' gradients are restored afterwards.
inline std::vector<layer_cost> measured_costs(sequential& net, const std::vector<std::size_t>& feat, std::size_t rows,
                                              const device& dev, int repeats = 3)
{
    std::vector<layer_cost> c = estimated_costs(net, feat, rows, 1.0);
    auto& layers = net.layers();
    using clock = std::chrono::steady_clock;
    auto best_of = [&](auto&& f) {
        double best = std::numeric_limits<double>::infinity();
        for (int r = 0; r <= repeats; ++r) { // run 0 warms up
            const auto t0 = clock::now();
            f();
            const double t = std::chrono::duration<double>(clock::now() - t0).count();
            if (r > 0)
                best = std::min(best, t);
        }
        return best;
    };
    dev.execute([&] {
        for (std::size_t j = 0; j < layers.size(); ++j) {
            auto& l = layers[j];
            std::vector<float> in(rows * feat[j]), out(rows * feat[j + 1]), saved(l.saved_floats(rows, feat[j]));
            std::vector<float> grad_out(out.size()), grad_in(in.size());
            for (std::size_t i = 0; i < in.size(); ++i)
                in[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
            for (std::size_t i = 0; i < grad_out.size(); ++i)
                grad_out[i] = static_cast<float>((i * 40503u) % 1000) / 1000.0f - 0.5f;
            matrix_view<const float> x(in.data(), rows, feat[j]), y(out.data(), rows, feat[j + 1]);
            matrix_view<const float> dy(grad_out.data(), rows, feat[j + 1]);
            matrix_view<float> dx(grad_in.data(), rows, feat[j]);
            const auto g = l.gradients();
            const std::vector<float> kept(g.begin(), g.end());
            c[j].forward = best_of([&] { l.forward(x, matrix_view<float>(out.data(), rows, feat[j + 1]), saved); });
            if (c[j].splits) {
                c[j].backward_input = best_of([&] { l.backward_input(x, y, saved, dy, dx); });
                c[j].backward_weight = kept.empty() ? 0.0 : best_of([&] { l.backward_weight(x, y, saved, dy); });
            } else {
                c[j].backward_input = best_of([&] { l.backward(x, y, saved, dy, dx); });
            }
            std::copy(kept.begin(), kept.end(), g.begin());
        }
    });
    return c;
}

} // namespace trident::model::detail
