// The GPU seam of a pipeline plan (model/detail/gpu_hooks.hpp), without CUDA: a program without
// <trident/model/gpu.cuh> refuses a GPU device with the include sentence; with a gpu_hooks table
// installed (here a host stand-in whose runtime runs the CPU executor and the host optimizer), a
// GPU device's stages go through the table: its runtime is made once at shard(), nothing of its
// layers is booked through the CPU bookings, begin_step and update run once per step, and the
// plan trains bitwise as reference_trainer does (the stand-in does the CPU's arithmetic), under
// every built-in schedule.  What the real runtime computes is tested by tests/gpu/test_gpu_model_plan.cu.
#include "pipeline_helpers.hpp"

#include <trident/model/detail/cpu_executor.hpp>
#include <trident/model/detail/gpu_hooks.hpp>
#include <trident/model/shard.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <variant>
#include <vector>

namespace {

namespace mpd = trident::model::detail;
using namespace trident::literals;
using namespace pipeline_test;

std::atomic<int> made{0}, begun{0}, updated{0};

// A GPU device's runtime that computes on the host: the CPU executor, the host optimizer with its
// own state (not booked: the real runtime books its device copies itself).
class host_runtime final : public mpd::gpu_stage_runtime {
public:
    host_runtime(mp::sequential& net, const std::vector<mpd::stage_layout>& layout, int device,
                 const mp::optimizer_choice& opt)
        : net_(net), device_(device), opt_(opt)
    {
        for (const auto& sl : layout)
            if (sl.device == device)
                for (int j = sl.first; j < sl.last; ++j) {
                    layers_.push_back(j);
                    const std::size_t n = net[static_cast<std::size_t>(j)].parameters().size();
                    state_.emplace_back(std::visit([&](const auto& o) { return o.state_floats(n); }, opt), 0.0f);
                }
    }
    std::unique_ptr<mpd::stage_executor> begin_step(mpd::step_context& ctx) override
    {
        ++begun;
        for (int j : layers_)
            for (float& g : net_[static_cast<std::size_t>(j)].gradients())
                g = 0.0f;
        return std::make_unique<mpd::cpu_stage_executor>(ctx, device_);
    }
    void update(std::size_t step) override
    {
        ++updated;
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            auto& l = net_[static_cast<std::size_t>(layers_[i])];
            std::visit([&](const auto& o) { o.update(l.parameters(), l.gradients(), state_[i], step); }, opt_);
        }
    }

private:
    mp::sequential& net_;
    int device_;
    mp::optimizer_choice opt_;
    std::vector<int> layers_;
    std::vector<std::vector<float>> state_;
};

std::unique_ptr<mpd::gpu_stage_runtime> make_host_runtime(mp::sequential& net, const std::vector<mpd::stage_layout>& layout,
                                                          const std::vector<trident::device>&, int device,
                                                          const mp::optimizer_choice& opt, const mp::loss_choice&)
{
    ++made;
    return std::make_unique<host_runtime>(net, layout, device, opt);
}

constexpr mpd::gpu_hooks host_hooks{&make_host_runtime};

struct installed { // the stand-in for the scope, then no hooks again
    installed() { mpd::installed_gpu_hooks.store(&host_hooks); }
    ~installed() { mpd::installed_gpu_hooks.store(nullptr); }
    installed(const installed&) = delete;
    installed& operator=(const installed&) = delete;
};

} // namespace

TEST_CASE("a GPU device without the GPU runtime is refused with the include sentence", "[model][pipeline]")
{
    REQUIRE(mpd::installed_gpu_hooks.load() == nullptr);
    mp::sequential net = make_net();
    CHECK_THROWS_WITH(mp::shard(net, {trident::cpu_device(1, 64_MiB), trident::gpu_device(0, 64_MiB, "g1")},
                                {.micro_batches = 2, .batch_size = 8, .costs = mp::costs_from::estimate}),
                      Catch::Contains("'g1' is a GPU device") &&
                          Catch::Contains("include <trident/model/gpu.cuh> in a .cu file of the program"));
}

TEST_CASE("a GPU device's stages go through the installed gpu_hooks and train as reference_trainer does",
          "[model][pipeline]")
{
    const installed guard;
    const batch b1 = make_batch(24, 1), b2 = make_batch(24, 2);
    const mp::adam adam{.learning_rate = 1e-2};
    mp::sequential ref = make_net();
    const std::vector<double> ref_losses = reference_steps(ref, {&b1, &b2}, 4, adam);
    for (const mp::schedule s : {mp::schedule::gpipe, mp::schedule::one_f_one_b, mp::schedule::interleaved,
                                 mp::schedule::zero_bubble_h1}) {
        CAPTURE(static_cast<int>(s));
        made = begun = updated = 0;
        const trident::device c0 = trident::cpu_device(1, 64_MiB, "c0"), g1 = trident::gpu_device(0, 64_MiB, "g1");
        mp::sequential net = make_net();
        auto plan = mp::shard(net, {c0, g1},
                              {.micro_batches = 4, .batch_size = 24, .schedule = s, .optimizer = adam,
                               .costs = mp::costs_from::measured}); // a CPU first device: profiled
        CHECK(made == 1);
        CHECK(c0.in_use() > 0);
        CHECK(g1.in_use() == 0); // its layers are the runtime's to book, not the CPU bookings'
        bool g1_has_a_stage = false;
        for (const auto& st : plan.stages())
            g1_has_a_stage = g1_has_a_stage || st.device == 1;
        CHECK(g1_has_a_stage);
        std::vector<double> losses;
        for (const batch* b : {&b1, &b2})
            losses.push_back(plan.step(b->xv(), b->yv()).loss);
        CHECK(begun == 2);
        CHECK(updated == 2);
        CHECK(losses == ref_losses);
        CHECK(same_parameters(net, ref));
    }
}
