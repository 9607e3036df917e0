#pragma once
// Helpers of the pipeline tests: a small network, deterministic data, the unsharded reference step
// (the same micro-batches through the whole network on one thread, in micro-batch order), and
// layers that throw or request a stop at a chosen call.

#include <trident/device.hpp>
#include <trident/model/layers/dense.hpp>
#include <trident/model/layers/gelu.hpp>
#include <trident/model/layers/layer_norm.hpp>
#include <trident/model/layers/relu.hpp>
#include <trident/model/reference.hpp>
#include <trident/model/sequential.hpp>
#include <trident/model/shard.hpp>

#include <atomic>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <variant>
#include <vector>

namespace pipeline_test {

namespace mp = trident::model;

inline constexpr std::size_t default_budget = std::size_t{64} << 20; // 64 MiB

/// p CPU devices of one thread each, named dev0, dev1, ...
inline std::vector<trident::device> cpu_devices(int p, std::size_t budget = default_budget)
{
    std::vector<trident::device> d;
    for (int i = 0; i < p; ++i)
        d.push_back(trident::cpu_device(1, budget, "dev" + std::to_string(i)));
    return d;
}

/// 9 layers, 8 -> 4 (with dense, gelu, relu, layer_norm), deterministic weights.
inline mp::sequential make_net()
{
    return mp::sequential{mp::dense(8, 16, 1), mp::gelu(),          mp::dense(16, 16, 2),
                          mp::relu(),          mp::dense(16, 12, 3), mp::layer_norm(12),
                          mp::dense(12, 12, 4), mp::gelu(),          mp::dense(12, 4, 5)};
}

struct batch {
    std::vector<float> x, y;
    std::size_t rows;
    [[nodiscard]] trident::matrix_view<const float> xv() const { return {x.data(), rows, 8}; }
    [[nodiscard]] trident::matrix_view<const float> yv() const { return {y.data(), rows, 1}; }
};

/// rows samples of 8 features, targets: a class in 0..3.
inline batch make_batch(std::size_t rows, unsigned seed)
{
    batch b{std::vector<float>(rows * 8), std::vector<float>(rows), rows};
    unsigned s = seed * 2654435761u + 12345u;
    for (float& v : b.x) {
        s = s * 1664525u + 1013904223u;
        v = static_cast<float>(s >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
    }
    for (std::size_t r = 0; r < rows; ++r)
        b.y[r] = static_cast<float>((r * 7 + seed) % 4);
    return b;
}

/// Training steps of the unsharded network on one device (reference_trainer, reference.hpp: the
/// same micro-batches in order), one per batch; returns their mean losses.
inline std::vector<double> reference_steps(mp::sequential& net, const std::vector<const batch*>& batches, int m,
                                           const mp::optimizer_choice& opt)
{
    return std::visit(
        [&](const auto& o) {
            using optimizer = std::decay_t<decltype(o)>;
            mp::reference_trainer<mp::softmax_cross_entropy, optimizer> trainer(
                net, trident::cpu_device(1, std::size_t{1} << 30, "reference"), {}, o);
            std::vector<double> losses;
            for (const batch* b : batches)
                losses.push_back(trainer.step(b->xv(), b->yv(), static_cast<std::size_t>(m)));
            return losses;
        },
        opt);
}

/// Every parameter of every layer, bitwise.
inline bool same_parameters(mp::sequential& a, mp::sequential& b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t j = 0; j < a.size(); ++j) {
        auto pa = a[j].parameters(), pb = b[j].parameters();
        if (pa.size() != pb.size() || (!pa.empty() && std::memcmp(pa.data(), pb.data(), pa.size_bytes()) != 0))
            return false;
    }
    return true;
}

inline std::vector<float> all_parameters(mp::sequential& net)
{
    std::vector<float> v;
    for (auto& l : net)
        v.insert(v.end(), l.parameters().begin(), l.parameters().end());
    return v;
}

/// An identity layer (any width) that throws std::runtime_error("injected") at its `when`-th
/// forward (or backward) call of a step count it shares with its copies; or, given a stop source,
/// requests a stop there instead.
struct trap {
    bool in_backward = false;
    int when = 0;
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    std::shared_ptr<std::stop_source> stop;

    void hit() const
    {
        if (calls->fetch_add(1) != when)
            return;
        if (stop)
            stop->request_stop();
        else
            throw std::runtime_error("injected");
    }
    [[nodiscard]] std::size_t output_features(std::size_t in) const { return in; }
    [[nodiscard]] std::size_t saved_floats(std::size_t, std::size_t) const { return 0; }
    void forward(trident::matrix_view<const float> in, trident::matrix_view<float> out, std::span<float>)
    {
        if (!in_backward)
            hit();
        for (std::size_t r = 0; r < in.rows(); ++r)
            for (std::size_t c = 0; c < in.cols(); ++c)
                out(r, c) = in(r, c);
    }
    void backward(trident::matrix_view<const float>, trident::matrix_view<const float>, std::span<const float>,
                  trident::matrix_view<const float> dy, trident::matrix_view<float> dx)
    {
        if (in_backward)
            hit();
        for (std::size_t r = 0; r < dy.rows(); ++r)
            for (std::size_t c = 0; c < dy.cols(); ++c)
                dx(r, c) = dy(r, c);
    }
    std::span<float> parameters() { return {}; }
    std::span<float> gradients() { return {}; }
    [[nodiscard]] std::string name() const { return "trap"; }
    [[nodiscard]] double flops(std::size_t, std::size_t) const { return 0; }
};

} // namespace pipeline_test
