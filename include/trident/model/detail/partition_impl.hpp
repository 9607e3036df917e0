#pragma once
// partition() of model/partition.hpp (documented there).

// Included only at the end of model/partition.hpp (which declares what this defines).

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace trident::model {

namespace detail {

class partition_solver {
public:
    partition_solver(std::span<const layer_profile> layers, std::span<const device_profile> devices,
                     std::span<const int> stage_device, std::span<const int> in_flight, partition_options options)
        : options_(options), devices_(devices), stage_device_(stage_device.begin(), stage_device.end()),
          in_flight_(in_flight.begin(), in_flight.end()), L_(layers.size()), S_(stage_device.size())
    {
        check(layers);
        cost_.assign(L_ + 1, 0.0);
        static_.assign(L_ + 1, 0);
        act_.assign(L_ + 1, 0);
        for (std::size_t l = 0; l < L_; ++l) {
            cost_[l + 1] = cost_[l] + layers[l].cost;
            static_[l + 1] = static_[l] + layers[l].static_bytes;
            act_[l + 1] = act_[l] + layers[l].activation_bytes;
        }
        std::vector<int> stages_on(devices.size(), 0);
        for (int d : stage_device_)
            one_stage_per_device_ = one_stage_per_device_ && ++stages_on[static_cast<std::size_t>(d)] == 1;
        has_stage_from_.assign((S_ + 1) * devices.size(), 0);
        min_in_flight_from_.assign(S_ + 1, 0);
        for (std::size_t s = S_; s-- > 0;) {
            for (std::size_t d = 0; d < devices.size(); ++d)
                has_stage_from_[s * devices.size() + d] = has_stage_from_[(s + 1) * devices.size() + d];
            has_stage_from_[s * devices.size() + dev(s)] = 1;
            min_in_flight_from_[s] = s + 1 == S_ ? in_flight_[s] : std::min(in_flight_[s], min_in_flight_from_[s + 1]);
        }
    }

    partition_result solve()
    {
        std::vector<std::size_t> cut;
        if (one_stage_per_device_ ? solve_dp(cut) : solve_search(cut))
            return result(cut);
        explain_no_fit();
        throw std::logic_error("trident::model::partition: no partition fits, but none failed either");
    }

private:
    [[nodiscard]] std::size_t dev(std::size_t s) const { return static_cast<std::size_t>(stage_device_[s]); }
    [[nodiscard]] double time(std::size_t s, std::size_t i, std::size_t j) const
    {
        return (cost_[j] - cost_[i]) / devices_[dev(s)].speed;
    }
    [[nodiscard]] std::size_t bytes(std::size_t s, std::size_t i, std::size_t j) const
    {
        return static_[j] - static_[i] + static_cast<std::size_t>(in_flight_[s]) * (act_[j] - act_[i]);
    }
    // Layers [i, j) as stage s: j - i >= 1 and enough layers left for the stages after s.
    [[nodiscard]] std::size_t last_end(std::size_t s) const { return L_ - (S_ - 1 - s); }

    void check(std::span<const layer_profile> layers) const
    {
        auto fail = [](const std::string& why) { throw std::invalid_argument("trident::model::partition: " + why); };
        if (devices_.empty())
            fail("no devices");
        if (S_ == 0)
            fail("no stages (stage_device is empty)");
        if (L_ < S_)
            fail(std::to_string(L_) + " layers for " + std::to_string(S_) + " stages: every stage needs a layer");
        if (in_flight_.size() != S_)
            fail("in_flight has " + std::to_string(in_flight_.size()) + " entries for " + std::to_string(S_) +
                 " stages");
        for (std::size_t s = 0; s < S_; ++s) {
            if (stage_device_[s] < 0 || static_cast<std::size_t>(stage_device_[s]) >= devices_.size())
                fail("stage " + std::to_string(s) + " is on device " + std::to_string(stage_device_[s]) +
                     ", not one of the " + std::to_string(devices_.size()) + " devices");
            if (in_flight_[s] < 0)
                fail("in_flight[" + std::to_string(s) + "] = " + std::to_string(in_flight_[s]) + " is negative");
        }
        for (std::size_t d = 0; d < devices_.size(); ++d)
            if (!(devices_[d].speed > 0) || !std::isfinite(devices_[d].speed))
                fail("device " + std::to_string(d) + " has speed " + std::to_string(devices_[d].speed) +
                     ", must be finite and > 0");
        for (std::size_t l = 0; l < layers.size(); ++l)
            if (!(layers[l].cost >= 0) || !std::isfinite(layers[l].cost))
                fail("layer " + std::to_string(l) + " has cost " + std::to_string(layers[l].cost) +
                     ", must be finite and not negative");
    }

    // Every device at most one stage: best[s][j] = least bottleneck of layers [0, j) on stages [0, s).
    bool solve_dp(std::vector<std::size_t>& cut) const
    {
        constexpr double none = std::numeric_limits<double>::infinity();
        std::vector<std::vector<double>> best(S_ + 1, std::vector<double>(L_ + 1, none));
        std::vector<std::vector<std::size_t>> from(S_ + 1, std::vector<std::size_t>(L_ + 1, 0));
        best[0][0] = 0;
        for (std::size_t s = 0; s < S_; ++s)
            for (std::size_t i = s; i < last_end(s); ++i) {
                if (best[s][i] == none)
                    continue;
                for (std::size_t j = i + 1; j <= last_end(s); ++j) {
                    if (bytes(s, i, j) > devices_[dev(s)].budget)
                        break; // more layers only need more bytes
                    const double b = std::max(best[s][i], time(s, i, j));
                    if (b < best[s + 1][j]) {
                        best[s + 1][j] = b;
                        from[s + 1][j] = i;
                    }
                }
            }
        if (best[S_][L_] == none)
            return false;
        cut.assign(S_ + 1, L_);
        for (std::size_t s = S_; s > 0; --s)
            cut[s - 1] = from[s][cut[s]];
        return true;
    }

    // Some device holds several stages: binary search on the bottleneck, each a depth-first search.
    bool solve_search(std::vector<std::size_t>& cut)
    {
        std::vector<double> candidates;
        for (std::size_t s = 0; s < S_; ++s)
            for (std::size_t i = s; i < last_end(s); ++i)
                for (std::size_t j = i + 1; j <= last_end(s); ++j)
                    candidates.push_back(time(s, i, j));
        std::sort(candidates.begin(), candidates.end());
        candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
        std::vector<std::size_t> trial;
        if (!feasible(candidates.back(), trial))
            return false;
        cut = trial;
        std::size_t lo = 0;
        std::size_t hi = candidates.size() - 1; // feasible
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (feasible(candidates[mid], trial)) {
                hi = mid;
                cut = trial;
            } else {
                lo = mid + 1;
            }
        }
        return true;
    }

    // Is there a partition with every stage within `limit` that fits?  A depth-first search over
    // the boundaries, longest stage first, pruned four ways (all exact): the layers left must be
    // coverable in time by the stages left (reach_, a table per limit); every device must have room
    // for the fewest bytes it can take of the layers left (least_); the bytes left must fit the
    // room left on the devices with stages left; and a (stage, layer) that failed with some bytes
    // in use fails again with as many or more on every device that has stages left (failed_).
    bool feasible(double limit, std::vector<std::size_t>& cut)
    {
        reach_.assign((S_ + 1) * (L_ + 1), 0);
        reach_[S_ * (L_ + 1) + L_] = 1;
        for (std::size_t s = S_; s-- > 0;)
            for (std::size_t i = s; i < last_end(s); ++i)
                for (std::size_t j = i + 1; j <= last_end(s) && time(s, i, j) <= limit; ++j)
                    if (reach_[(s + 1) * (L_ + 1) + j]) {
                        reach_[s * (L_ + 1) + i] = 1;
                        break;
                    }
        if (!reach_[0])
            return false;
        // least_[(s * (L + 1) + i) * P + d]: the fewest bytes device d must take for layers [i, L)
        // on stages s.. within the limit (memory of the other devices ignored): a bound per device.
        const std::size_t P = devices_.size();
        constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
        least_.assign((S_ + 1) * (L_ + 1) * P, none);
        for (std::size_t d = 0; d < P; ++d)
            least_[(S_ * (L_ + 1) + L_) * P + d] = 0;
        for (std::size_t s = S_; s-- > 0;)
            for (std::size_t i = s; i < last_end(s); ++i)
                for (std::size_t j = i + 1; j <= last_end(s) && time(s, i, j) <= limit; ++j)
                    for (std::size_t d = 0; d < P; ++d) {
                        const std::size_t after = least_[((s + 1) * (L_ + 1) + j) * P + d];
                        if (after == none)
                            continue;
                        const std::size_t here = (dev(s) == d ? bytes(s, i, j) : 0) + after;
                        std::size_t& best = least_[(s * (L_ + 1) + i) * P + d];
                        best = std::min(best, here);
                    }
        for (std::size_t d = 0; d < P; ++d)
            if (least_[d] > devices_[d].budget)
                return false;
        failed_.assign((S_ + 1) * (L_ + 1), {});
        remembered_ = 0;
        used_.assign(devices_.size(), 0);
        cut.assign(S_ + 1, L_);
        cut[0] = 0;
        return place(0, 0, limit, cut);
    }
    bool place(std::size_t s, std::size_t i, double limit, std::vector<std::size_t>& cut)
    {
        if (s == S_)
            return i == L_;
        if (++steps_ > options_.max_search_steps)
            throw std::runtime_error(
                "trident::model::partition: the exact search gave up after " +
                std::to_string(options_.max_search_steps) + " steps (partition_options::max_search_steps) for " +
                std::to_string(L_) + " layers on " + std::to_string(S_) + " stages over " +
                std::to_string(devices_.size()) +
                " devices: devices holding several stages under budgets that bind make the problem hard; "
                "raise the limit, or use fewer stages per device");
        auto& failed = failed_[s * (L_ + 1) + i];
        const std::vector<std::size_t> used = projected(s);
        for (const auto& f : failed)
            if (std::equal(f.begin(), f.end(), used.begin(), [](std::size_t a, std::size_t b) { return a <= b; }))
                return false;
        // The bytes left, at the fewest micro-batches in flight of the stages left, against the room left.
        std::size_t room = 0;
        for (std::size_t d = 0; d < devices_.size(); ++d)
            if (has_stage_from_[s * devices_.size() + d])
                room += devices_[d].budget - std::min(devices_[d].budget, used_[d]);
        if (static_[L_] - static_[i] + static_cast<std::size_t>(min_in_flight_from_[s]) * (act_[L_] - act_[i]) >
            room)
            return false;
        const std::size_t d = dev(s);
        const std::size_t P = devices_.size();
        for (std::size_t j = last_end(s); j > i; --j) {
            if (time(s, i, j) > limit || !reach_[(s + 1) * (L_ + 1) + j] ||
                used_[d] + bytes(s, i, j) > devices_[d].budget)
                continue;
            bool room = true;
            for (std::size_t e = 0; e < P && room; ++e)
                room = used_[e] + (e == d ? bytes(s, i, j) : 0) + least_[((s + 1) * (L_ + 1) + j) * P + e] <=
                       devices_[e].budget;
            if (!room)
                continue;
            used_[d] += bytes(s, i, j);
            cut[s + 1] = j;
            const bool ok = place(s + 1, j, limit, cut);
            used_[d] -= bytes(s, i, j);
            if (ok)
                return true;
        }
        if (remembered_ < max_remembered && failed.size() < max_remembered_here) { // bounded; forgetting prunes less
            failed.push_back(used);
            ++remembered_;
        }
        return false;
    }
    // The bytes in use on the devices that hold a stage from s on (0 for the others).
    [[nodiscard]] std::vector<std::size_t> projected(std::size_t s) const
    {
        std::vector<std::size_t> v(devices_.size(), 0);
        for (std::size_t d = 0; d < devices_.size(); ++d)
            if (has_stage_from_[s * devices_.size() + d])
                v[d] = used_[d];
        return v;
    }

    partition_result result(const std::vector<std::size_t>& cut) const
    {
        partition_result r;
        r.first_layer = cut;
        r.device_bytes.assign(devices_.size(), 0);
        for (std::size_t s = 0; s < S_; ++s) {
            r.stage_time.push_back(time(s, cut[s], cut[s + 1]));
            r.stage_bytes.push_back(bytes(s, cut[s], cut[s + 1]));
            r.device_bytes[dev(s)] += r.stage_bytes.back();
            r.bottleneck = std::max(r.bottleneck, r.stage_time.back());
        }
        return r;
    }

    // Nothing fits: fill the stages in order as far as memory allows and report the first layer
    // that cannot be placed.
    [[noreturn]] void explain_no_fit() const
    {
        std::vector<std::size_t> used(devices_.size(), 0);
        std::size_t i = 0;
        for (std::size_t s = 0; s < S_; ++s) {
            const std::size_t d = dev(s);
            const std::size_t end = s + 1 == S_ ? L_ : last_end(s);
            std::size_t j = i;
            while (j < end && used[d] + bytes(s, i, j + 1) <= devices_[d].budget)
                ++j;
            const bool last = s + 1 == S_;
            if (j == i || (last && j < L_)) {
                const std::string name =
                    devices_[d].name.empty() ? "device " + std::to_string(d) : devices_[d].name;
                throw out_of_memory(name,
                                    "layer " + std::to_string(j) + " (stage " + std::to_string(s) + " with layers " +
                                        std::to_string(i) + ".." + std::to_string(j) + ": static bytes and " +
                                        std::to_string(in_flight_[s]) + " micro-batches of activations)",
                                    bytes(s, i, j + 1), used[d], devices_[d].budget);
            }
            used[d] += bytes(s, i, j);
            i = j;
        }
        throw std::logic_error("trident::model::partition: no partition fits, but every layer was placed");
    }

    static constexpr std::size_t max_remembered = std::size_t{1} << 20;
    static constexpr std::size_t max_remembered_here = 16; // per (stage, layer): keeps each check cheap
    partition_options options_;
    std::size_t steps_ = 0;
    std::size_t remembered_ = 0;
    std::span<const device_profile> devices_;
    std::vector<int> stage_device_;
    std::vector<int> in_flight_;
    std::size_t L_;
    std::size_t S_;
    std::vector<double> cost_;
    std::vector<std::size_t> static_;
    std::vector<std::size_t> act_;
    std::vector<std::size_t> used_;
    std::vector<char> reach_;                                  // [s][i]: layers [i, L) fit stages s.. in time
    std::vector<std::size_t> least_;                            // [s][i][d]: see feasible()
    std::vector<std::vector<std::vector<std::size_t>>> failed_; // [s][i]: projected bytes in use that failed
    std::vector<char> has_stage_from_;                          // [s][d]: device d holds a stage >= s
    std::vector<int> min_in_flight_from_;                       // [s]: min of in_flight over stages >= s
    bool one_stage_per_device_ = true;
};

} // namespace detail

inline partition_result partition(std::span<const layer_profile> layers, std::span<const device_profile> devices,
                                  std::span<const int> stage_device, std::span<const int> in_flight,
                                  partition_options options)
{
    return detail::partition_solver(layers, devices, stage_device, in_flight, options).solve();
}

inline partition_result partition(std::span<const layer_profile> layers, std::span<const device_profile> devices,
                                  const schedule_table& schedule, partition_options options)
{
    validate(schedule);
    if (static_cast<std::size_t>(schedule.devices) != devices.size())
        throw std::invalid_argument("trident::model::partition: the schedule has " +
                                    std::to_string(schedule.devices) + " devices, " +
                                    std::to_string(devices.size()) + " device profiles given");
    const std::vector<int> in_flight = in_flight_micro_batches(schedule);
    return partition(layers, devices, schedule.stage_device, in_flight, options);
}

} // namespace trident::model
