#pragma once
// The optimizer's share of a plan's predicted step: after the schedule's last action each device
// updates the parameters of its stages, one pass over them (sgd: parameters and gradients, with
// momentum its buffer too; adam: both moments).  Its time per parameter is timed at shard() on a
// scratch block of the device's update size (at most 2^20 floats, host memory no device books), on
// the first device, the median of 3 updates after a warm-up; or, for costs_from::estimate or a GPU
// first device, flops per parameter / flops_per_second (sgd 3, adam 12).

#include "trident/device.hpp"
#include "trident/model/detail/layer_costs.hpp"
#include "trident/model/shard_options.hpp"

#include <algorithm>
#include <cstddef>
#include <span>
#include <variant>
#include <vector>

namespace trident::model::detail {

/// Seconds per parameter of one update of `opt` on `dev`; `largest` is the most parameters a device
/// updates (the scratch block's size, capped).
inline double optimizer_seconds_per_parameter(const optimizer_choice& opt, const shard_options& o, const device& dev,
                                              std::size_t largest)
{
    if (largest == 0)
        return 0.0;
    if (o.costs == costs_from::estimate || dev.kind() == device_kind::gpu) { // a GPU's update is not timed here
        const double flops = std::holds_alternative<adam>(opt) ? 12.0 : 3.0;
        return flops / o.flops_per_second; // the update is one serial loop on the device's thread
    }
    const std::size_t n = std::min<std::size_t>(largest, std::size_t{1} << 20);
    std::vector<float> params(n, 0.5f), grads(n, 0.25f), state(std::visit([&](const auto& a) { return a.state_floats(n); }, opt));
    std::vector<double> times;
    dev.execute([&] {
        for (int r = 0; r <= 3; ++r) { // run 0 warms up
            const double t = seconds_of(
                [&] { std::visit([&](const auto& a) { a.update(params, grads, state, static_cast<std::size_t>(r + 1)); }, opt); });
            if (r > 0)
                times.push_back(t);
        }
    });
    return median_of(std::move(times)) / static_cast<double>(n);
}

} // namespace trident::model::detail
