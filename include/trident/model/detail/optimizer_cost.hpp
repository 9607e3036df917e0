#pragma once
// The optimizer's share of a plan's predicted step: after the schedule's last action every device
// updates the parameters of its stages at the same time, one pass over them (sgd: parameters and
// gradients, with momentum its buffer too; adam: both moments).  Each CPU device's time per
// parameter is timed at shard() on a scratch block of its own update size (at most 2^20 floats,
// host memory no device books), on every CPU device at once (each on a thread of its own inside
// its arena, as the step runs the updates), the median of 3 updates after a warm-up; for
// costs_from::estimate or a GPU device, flops per parameter / flops_per_second (sgd 3, adam 12).

#include "trident/device.hpp"
#include "trident/model/detail/layer_costs.hpp"
#include "trident/model/shard_options.hpp"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <span>
#include <thread>
#include <variant>
#include <vector>

namespace trident::model::detail {

/// Seconds of the step's optimizer phase: the largest over the devices of its update size
/// (`update_floats[d]` parameters) x its seconds per parameter.
/// \throws what an allocation of the scratch throws (after every device's timing stopped).
inline double optimizer_seconds(const optimizer_choice& opt, const shard_options& o, const std::vector<device>& devices,
                                const std::vector<std::size_t>& update_floats)
{
    const double flops = std::holds_alternative<adam>(opt) ? 12.0 : 3.0;
    std::vector<double> per_parameter(devices.size(), flops / o.flops_per_second); // one serial loop per device
    std::vector<std::size_t> timed;
    for (std::size_t d = 0; d < devices.size(); ++d)
        if (update_floats[d] != 0 && o.costs == costs_from::measured && devices[d].kind() == device_kind::cpu)
            timed.push_back(d); // a GPU's update is not timed here
    std::vector<std::exception_ptr> errors(devices.size());
    auto run = [&](std::size_t d) {
        try {
            const std::size_t n = std::min<std::size_t>(update_floats[d], std::size_t{1} << 20);
            std::vector<float> params(n, 0.5f), grads(n, 0.25f),
                state(std::visit([&](const auto& a) { return a.state_floats(n); }, opt));
            std::vector<double> times;
            devices[d].execute([&] {
                for (int r = 0; r <= 3; ++r) { // run 0 warms up
                    const double t = seconds_of([&] {
                        std::visit([&](const auto& a) { a.update(params, grads, state, static_cast<std::size_t>(r + 1)); }, opt);
                    });
                    if (r > 0)
                        times.push_back(t);
                }
            });
            per_parameter[d] = median_of(std::move(times)) / static_cast<double>(n);
        } catch (...) {
            errors[d] = std::current_exception();
        }
    };
    {
        std::vector<std::jthread> threads;
        for (std::size_t k = 1; k < timed.size(); ++k) {
            try {
                threads.emplace_back(run, timed[k]);
            } catch (...) {
                errors[timed[k]] = std::current_exception();
            }
        }
        if (!timed.empty())
            run(timed[0]);
    } // joined
    for (const std::exception_ptr& e : errors)
        if (e)
            std::rethrow_exception(e);
    double seconds = 0;
    for (std::size_t d = 0; d < devices.size(); ++d)
        seconds = std::max(seconds, static_cast<double>(update_floats[d]) * per_parameter[d]);
    return seconds;
}

} // namespace trident::model::detail
