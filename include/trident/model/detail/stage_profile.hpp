#pragma once
// After the partition, the stages' costs as the plan runs them: each CPU device profiles again
// only the layers of its own stages, every device at once (measured_costs with `only`,
// layer_costs.hpp), so that a device's caches hold only its stages' weights, as in a step, and
// its neighbour runs its own stages beside it; each stage's F, B, W become those times
// (recomputation adds the forward to B, as evaluate() does).  A GPU device's stages keep the
// costs they had.  The bytes and the activation bounds (the memory check) stay the partition's.

#include "trident/device.hpp"
#include "trident/model/detail/layer_costs.hpp"
#include "trident/model/detail/stage_partition.hpp"

#include <cstddef>
#include <vector>

namespace trident::model::detail {

/// Replaces the CPU devices' stage costs in `c` by their layers profiled on their own devices.
/// Cost: about (repeats + 1) passes of the largest device's share of the network.
inline void profile_stages(stage_choice& c, sequential& net, const std::vector<std::size_t>& feat, std::size_t rows,
                           const std::vector<device>& devices)
{
    std::vector<std::vector<std::size_t>> mine(devices.size());
    for (const stage_layout& sl : c.layout)
        if (devices[static_cast<std::size_t>(sl.device)].kind() == device_kind::cpu)
            for (int j = sl.first; j < sl.last; ++j)
                mine[static_cast<std::size_t>(sl.device)].push_back(static_cast<std::size_t>(j));
    const std::vector<std::vector<layer_cost>> t = measured_costs(net, feat, rows, devices, 3, mine);
    for (std::size_t s = 0; s < c.layout.size(); ++s) {
        const stage_layout& sl = c.layout[s];
        const auto d = static_cast<std::size_t>(sl.device);
        if (devices[d].kind() != device_kind::cpu)
            continue;
        double f = 0, b = 0, w = 0;
        for (int j = sl.first; j < sl.last; ++j) {
            const layer_cost& k = t[d][static_cast<std::size_t>(j)];
            f += k.forward;
            b += k.backward_input;
            w += k.backward_weight;
        }
        c.costs.forward[s] = f;
        c.costs.backward_input[s] = b + (sl.recompute ? f : 0.0);
        c.costs.backward_weight[s] = w;
    }
}

} // namespace trident::model::detail
