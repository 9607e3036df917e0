#pragma once
// What a trainer (a pipeline plan, reference_trainer) books for one layer: its parameters and
// gradients on the stage's device, and its optimizer state; and the optimizer update over that
// state.  A layer that books its parameters itself (`parameter_placement()`, layer.hpp: the
// tensor-parallel layers) gets no parameter or gradient booking on the stage's device, and one
// optimizer-state tensor per shard on the shard's device; the update then runs shard by shard.

#include "trident/device.hpp"
#include "trident/model/any_layer.hpp"
#include "trident/model/tensor.hpp"

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace trident::model::detail {

class parameter_booking {
public:
    parameter_booking() = default;

    /// Books layer `l` (called `name` in messages) against `stage_device`; state_floats(n) is the
    /// optimizer's state for n parameters, `state_label` names it ("adam state").
    /// \throws trident::out_of_memory from a device; std::invalid_argument when the placement's floats
    ///   do not add up to the layer's parameters.
    template <class StateFloats>
    parameter_booking(any_layer& l, const device& stage_device, const std::string& name, StateFloats&& state_floats,
                      const std::string& state_label)
    {
        const std::size_t n = l.parameters().size();
        if (n == 0)
            return;
        std::vector<parameter_shard> shards = l.parameter_placement();
        if (shards.empty()) {
            leases_.push_back(stage_device.reserve(n * sizeof(float), "parameters of " + name));
            leases_.push_back(stage_device.reserve(n * sizeof(float), "gradients of " + name));
            stage_bytes_ = n * sizeof(float);
            shards.push_back({stage_device, n});
        }
        std::size_t total = 0;
        for (std::size_t s = 0; s < shards.size(); ++s) {
            const std::string which = shards.size() > 1 ? " shard " + std::to_string(s) : std::string();
            const std::size_t state = state_floats(shards[s].floats);
            state_.emplace_back(shards[s].on, 1, state, state_label + " of " + name + which);
            if (shards[s].on == stage_device)
                stage_state_bytes_ += state * sizeof(float);
            floats_.push_back(shards[s].floats);
            total += shards[s].floats;
        }
        if (total != n)
            throw std::invalid_argument("trident::model: " + name + "'s parameter_placement() places " +
                                        std::to_string(total) + " floats; parameters() has " + std::to_string(n));
    }

    /// Parameter bytes booked on the stage's device (gradients: as many again); 0 for a placed layer.
    [[nodiscard]] std::size_t stage_parameter_bytes() const noexcept { return stage_bytes_; }
    /// Optimizer-state bytes booked on the stage's device.
    [[nodiscard]] std::size_t stage_state_bytes() const noexcept { return stage_state_bytes_; }
    /// The optimizer state, one span per shard (one for a layer without placement; none without parameters).
    [[nodiscard]] std::size_t shards() const noexcept { return state_.size(); }
    [[nodiscard]] std::span<const float> state(std::size_t shard) const { return state_.at(shard).span(); }

    /// update(params, grads, state) for each shard's slice of the layer's parameters, in order.
    template <class Update>
    void update(any_layer& l, Update&& update)
    {
        const std::span<float> params = l.parameters(), grads = l.gradients();
        std::size_t offset = 0;
        for (std::size_t s = 0; s < state_.size(); ++s) {
            update(params.subspan(offset, floats_[s]), std::span<const float>(grads.subspan(offset, floats_[s])),
                   state_[s].span());
            offset += floats_[s];
        }
    }

private:
    std::vector<memory_lease> leases_; // parameters and gradients on the stage's device
    std::vector<tensor> state_;        // optimizer state per shard, on the shard's device
    std::vector<std::size_t> floats_;  // parameters per shard
    std::size_t stage_bytes_ = 0;
    std::size_t stage_state_bytes_ = 0;
};

} // namespace trident::model::detail
