#pragma once
// The built-in schedule generators of model/schedule.hpp (declared and documented there).
// Each generator writes the compute order of every device; insert_transfers() adds the sends and
// receives next to the actions that produce and consume the data.

// Included only at the end of model/schedule.hpp (which declares what this defines).

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace trident::model {

namespace detail {

inline void require_positive(const char* function, const char* name, int value)
{
    if (value < 1)
        throw std::invalid_argument(std::string("trident::model::") + function + ": " + name + " = " +
                                    std::to_string(value) + ", must be at least 1");
}

inline schedule_table empty_table(int devices, int stages, int micro_batches)
{
    schedule_table t{devices, stages, micro_batches, {}, {}};
    t.stage_device.resize(static_cast<std::size_t>(stages));
    for (int s = 0; s < stages; ++s)
        t.stage_device[static_cast<std::size_t>(s)] = s % devices;
    t.actions.resize(static_cast<std::size_t>(devices));
    return t;
}

} // namespace detail

inline schedule_table insert_transfers(schedule_table table)
{
    const int stages = table.stages;
    if (stages < 1 || table.stage_device.size() != static_cast<std::size_t>(stages))
        throw std::invalid_argument("trident::model::insert_transfers: stage_device has " +
                                    std::to_string(table.stage_device.size()) + " entries for " +
                                    std::to_string(stages) + " stages");
    for (int s = 0; s < stages; ++s) {
        const int d = table.stage_device[static_cast<std::size_t>(s)];
        if (d < 0 || d >= table.devices)
            throw std::invalid_argument("trident::model::insert_transfers: stage " + std::to_string(s) +
                                        " is on device " + std::to_string(d) + ", not one of the " +
                                        std::to_string(table.devices) + " devices");
    }
    auto dev = [&](int s) { return table.stage_device[static_cast<std::size_t>(s)]; };
    for (auto& list : table.actions) {
        std::vector<action> out;
        out.reserve(list.size() * 2);
        for (const action& a : list) {
            const int s = a.stage;
            const bool known = s >= 0 && s < stages;
            const bool fwd = a.kind == action_kind::forward;
            const bool bwd = a.kind == action_kind::backward_input || a.kind == action_kind::backward;
            if (known && fwd && s > 0 && dev(s - 1) != dev(s))
                out.push_back({action_kind::receive_activation, s, a.micro_batch, dev(s - 1)});
            if (known && bwd && s + 1 < stages && dev(s + 1) != dev(s))
                out.push_back({action_kind::receive_gradient, s, a.micro_batch, dev(s + 1)});
            out.push_back(a);
            if (known && fwd && s + 1 < stages && dev(s + 1) != dev(s))
                out.push_back({action_kind::send_activation, s, a.micro_batch, dev(s + 1)});
            if (known && bwd && s > 0 && dev(s - 1) != dev(s))
                out.push_back({action_kind::send_gradient, s, a.micro_batch, dev(s - 1)});
        }
        list = std::move(out);
    }
    return table;
}

inline schedule_table gpipe(int devices, int micro_batches)
{
    detail::require_positive("gpipe", "devices", devices);
    detail::require_positive("gpipe", "micro_batches", micro_batches);
    schedule_table t = detail::empty_table(devices, devices, micro_batches);
    for (int d = 0; d < devices; ++d) {
        auto& list = t.actions[static_cast<std::size_t>(d)];
        for (int mb = 0; mb < micro_batches; ++mb)
            list.push_back({action_kind::forward, d, mb});
        for (int mb = 0; mb < micro_batches; ++mb)
            list.push_back({action_kind::backward, d, mb});
    }
    return insert_transfers(std::move(t));
}

inline schedule_table one_f_one_b(int devices, int micro_batches)
{
    detail::require_positive("one_f_one_b", "devices", devices);
    detail::require_positive("one_f_one_b", "micro_batches", micro_batches);
    schedule_table t = detail::empty_table(devices, devices, micro_batches);
    for (int d = 0; d < devices; ++d) {
        auto& list = t.actions[static_cast<std::size_t>(d)];
        const int warmup = std::min(devices - d - 1, micro_batches);
        int f = 0;
        for (; f < warmup; ++f)
            list.push_back({action_kind::forward, d, f});
        for (int b = 0; b < micro_batches; ++b) {
            if (f < micro_batches)
                list.push_back({action_kind::forward, d, f++});
            list.push_back({action_kind::backward, d, b});
        }
    }
    return insert_transfers(std::move(t));
}

inline schedule_table interleaved_one_f_one_b(int devices, int micro_batches, int chunks_per_device)
{
    detail::require_positive("interleaved_one_f_one_b", "devices", devices);
    detail::require_positive("interleaved_one_f_one_b", "micro_batches", micro_batches);
    detail::require_positive("interleaved_one_f_one_b", "chunks_per_device", chunks_per_device);
    if (chunks_per_device == 1)
        return one_f_one_b(devices, micro_batches);
    if (micro_batches % devices != 0)
        throw std::invalid_argument("trident::model::interleaved_one_f_one_b: micro_batches = " +
                                    std::to_string(micro_batches) + " is not a multiple of devices = " +
                                    std::to_string(devices) + " (required when chunks_per_device = " +
                                    std::to_string(chunks_per_device) + " > 1)");
    const int p = devices;
    const int v = chunks_per_device;
    const int m = micro_batches;
    schedule_table t = detail::empty_table(p, p * v, m);
    // The order of (chunk, micro-batch) on every device: micro-batches in groups of p, every chunk
    // of a group in turn (backwards: chunks in reverse), as Megatron-LM's get_model_chunk_id.
    std::vector<std::pair<int, int>> order_f;
    std::vector<std::pair<int, int>> order_b;
    for (int first = 0; first < m; first += p) {
        const int size = std::min(p, m - first);
        for (int c = 0; c < v; ++c)
            for (int j = 0; j < size; ++j) {
                order_f.emplace_back(c, first + j);
                order_b.emplace_back(v - 1 - c, first + j);
            }
    }
    const int total = m * v;
    for (int d = 0; d < p; ++d) {
        auto& list = t.actions[static_cast<std::size_t>(d)];
        auto forward = [&](int k) {
            auto [c, mb] = order_f[static_cast<std::size_t>(k)];
            list.push_back({action_kind::forward, c * p + d, mb});
        };
        auto backward = [&](int k) {
            auto [c, mb] = order_b[static_cast<std::size_t>(k)];
            list.push_back({action_kind::backward, c * p + d, mb});
        };
        const int warmup = std::min((p - d - 1) * 2 + (v - 1) * p, total);
        int f = 0;
        for (; f < warmup; ++f)
            forward(f);
        for (int b = 0; b < total; ++b) {
            if (f < total)
                forward(f++);
            backward(b);
        }
    }
    return insert_transfers(std::move(t));
}

inline schedule_table zero_bubble_h1(int devices, int micro_batches)
{
    detail::require_positive("zero_bubble_h1", "devices", devices);
    detail::require_positive("zero_bubble_h1", "micro_batches", micro_batches);
    const int p = devices;
    const int m = micro_batches;
    schedule_table t = detail::empty_table(p, p, m);
    for (int d = 0; d < p; ++d) {
        auto& list = t.actions[static_cast<std::size_t>(d)];
        int f = 0;
        int w = 0;
        for (const int warmup = std::min(p - d - 1, m); f < warmup; ++f)
            list.push_back({action_kind::forward, d, f});
        for (int b = 0; b < m; ++b) {
            if (f < m) {
                if (f - w >= p) // p micro-batches between F and W already: free one first
                    list.push_back({action_kind::backward_weight, d, w++});
                list.push_back({action_kind::forward, d, f++});
                list.push_back({action_kind::backward_input, d, b});
            } else {
                if (w < b) // cool-down: a W while the next gradient travels, then the B
                    list.push_back({action_kind::backward_weight, d, w++});
                list.push_back({action_kind::backward_input, d, b});
            }
        }
        while (w < m)
            list.push_back({action_kind::backward_weight, d, w++});
    }
    return insert_transfers(std::move(t));
}

} // namespace trident::model
