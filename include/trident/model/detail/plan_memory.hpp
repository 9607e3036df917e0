#pragma once
// The activation bytes a stage holds, for shard()'s budget check and simulate()'s peak, in the
// runtime's own terms (stage_runner.hpp books exactly these buffers):
// - per micro-batch in flight (F started, last backward action not finished): the received input
//   (stage > 0), the copy sent on (not the last stage), the loss gradient (the last stage), the
//   received output gradient (not the last stage), the input gradient sent back (stage > 0) and,
//   without recomputation, every layer's output and saved floats and, when the schedule splits W
//   from B, the output gradients kept for W;
// - with recomputation, the outputs, saved floats and kept gradients only between B and W (the
//   micro-batches in that window: window_micro_batches), and once for the micro-batch being
//   recomputed;
// - once per device, the largest pair of gradients one layer's backward holds (its output's and its
//   input's; one action runs at a time).
// An upper bound: the buffers of one micro-batch that never coexist are added anyway.

#include "trident/model/detail/layer_costs.hpp"
#include "trident/model/schedule.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace trident::model::detail {

/// Per stage, the most micro-batches between their B and their W at once (0 without split W).
inline std::vector<int> window_micro_batches(const schedule_table& t)
{
    std::vector<int> now(static_cast<std::size_t>(t.stages), 0), peak = now;
    for (const auto& list : t.actions)
        for (const action& a : list) {
            const auto s = static_cast<std::size_t>(a.stage);
            if (a.kind == action_kind::backward_input)
                peak[s] = std::max(peak[s], ++now[s]);
            else if (a.kind == action_kind::backward_weight)
                --now[s];
        }
    return peak;
}

struct stage_bytes {
    std::size_t per_micro_batch = 0; // held by each micro-batch in flight
    std::size_t per_window = 0;      // held by each micro-batch between B and W (recomputation)
    std::size_t transient = 0;       // once, while one action runs
};

/// The bytes of a stage of layers [first, last), `rows` rows per micro-batch.
inline stage_bytes bytes_of_stage(const std::vector<layer_cost>& c, const std::vector<std::size_t>& feat,
                                  std::size_t rows, int first, int last, int stage, int stages, bool recompute,
                                  bool split_w)
{
    const std::size_t f = sizeof(float);
    const auto fi = static_cast<std::size_t>(first), la = static_cast<std::size_t>(last);
    std::size_t outputs = 0, kept_grads = 0, largest_grad_in = 0;
    for (std::size_t j = fi; j < la; ++j) {
        outputs += c[j].output_bytes;
        if (split_w && c[j].splits)
            kept_grads += rows * feat[j + 1] * f;
        largest_grad_in = std::max(largest_grad_in, rows * (feat[j] + feat[j + 1]) * f);
    }
    const std::size_t in = stage > 0 ? rows * feat[fi] * f : 0;
    const std::size_t out = rows * feat[la] * f;
    stage_bytes b;
    b.per_micro_batch = 2 * in + out /* sent copy or loss gradient */ + (stage < stages - 1 ? out : 0);
    if (recompute) {
        b.per_window = outputs + kept_grads;
        b.transient = outputs + kept_grads + largest_grad_in;
    } else {
        b.per_micro_batch += outputs + kept_grads;
        b.transient = largest_grad_in;
    }
    return b;
}

} // namespace trident::model::detail
