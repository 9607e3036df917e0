// The GPU seam of a pipeline plan (model/detail/gpu_hooks.hpp), without CUDA: a program without
// <trident/model/gpu.cuh> refuses a GPU device with the include sentence; with a gpu_hooks table
// installed (here a host stand-in whose runtime runs the CPU executor and the host optimizer), a
// GPU device's stages go through the table: its runtime is made once at shard(), nothing of its
// layers is booked through the CPU bookings, begin_step and update run once per step, and the
// plan trains bitwise as reference_trainer does (the stand-in does the CPU's arithmetic), under
// every built-in schedule.  A second stand-in sends its messages as device payloads (buffer.hpp), as
// the real runtime does: a GPU device receives them with their booking moved, a CPU device as a
// host copy, and the plan still trains bitwise as reference_trainer does.  What the real runtime
// computes is tested by tests/gpu/test_gpu_model_plan.cu.
#include "pipeline_helpers.hpp"

#include <trident/model/detail/cpu_executor.hpp>
#include <trident/model/detail/gpu_hooks.hpp>
#include <trident/model/shard.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace {

namespace mpd = trident::model::detail;
using namespace trident::literals;
using namespace pipeline_test;

std::atomic<int> made{0}, begun{0}, updated{0};
std::atomic<int> payloads_sent{0}, payloads_rebooked{0}, payloads_copied_out{0};

// "GPU memory" for the stand-in: a host buffer behind the device_payload interface.
class host_payload final : public mpd::device_payload {
public:
    explicit host_payload(mpd::buffer b) : floats(std::move(b)) {}
    void copy_to_host(std::span<float> out) const override
    {
        ++payloads_copied_out;
        std::copy(floats.span().begin(), floats.span().end(), out.begin());
    }
    void rebook(const trident::device& dev, std::string_view what) override
    {
        ++payloads_rebooked;
        floats.rebook(dev, what);
    }
    mpd::buffer floats;
};

// The CPU executor, its messages sent as payloads and payloads received taken back as they are.
class payload_executor final : public mpd::stage_executor {
public:
    payload_executor(mpd::step_context& ctx, int device) : inner_(ctx, device) {}
    mpd::buffer forward(int stage, int mb, mpd::buffer received) override
    {
        return send(inner_.forward(stage, mb, take(std::move(received))));
    }
    mpd::buffer backward(int stage, int mb, mpd::buffer grad, bool weights) override
    {
        return send(inner_.backward(stage, mb, take(std::move(grad)), weights));
    }
    void backward_weight(int stage, int mb) override { inner_.backward_weight(stage, mb); }

private:
    static mpd::buffer send(mpd::buffer b)
    {
        if (b.size() == 0)
            return b;
        ++payloads_sent;
        const std::size_t rows = b.rows(), cols = b.cols();
        return mpd::buffer(std::make_unique<host_payload>(std::move(b)), rows, cols);
    }
    static mpd::buffer take(mpd::buffer b)
    {
        if (b.payload() == nullptr)
            return b;
        std::unique_ptr<mpd::device_payload> p = b.release_payload();
        return std::move(dynamic_cast<host_payload&>(*p).floats);
    }
    mpd::cpu_stage_executor inner_;
};
bool send_payloads = false;

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
        if (send_payloads)
            return std::make_unique<payload_executor>(ctx, device_);
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

TEST_CASE("messages sent as device payloads reach GPU devices rebooked and CPU devices as host copies",
          "[model][pipeline]")
{
    const installed guard;
    struct payloads_on { // off again however the test ends
        payloads_on() { send_payloads = true; }
        ~payloads_on() { send_payloads = false; }
    } const on;
    const batch b1 = make_batch(24, 1), b2 = make_batch(24, 2);
    const mp::sgd sgd{.learning_rate = 0.05, .momentum = 0.9};
    mp::sequential ref = make_net();
    const std::vector<double> ref_losses = reference_steps(ref, {&b1, &b2}, 4, sgd);
    for (const mp::schedule s : {mp::schedule::gpipe, mp::schedule::one_f_one_b, mp::schedule::zero_bubble_h1}) {
        CAPTURE(static_cast<int>(s));
        payloads_sent = payloads_rebooked = payloads_copied_out = 0;
        const trident::device c0 = trident::cpu_device(1, 64_MiB, "c0"), g1 = trident::gpu_device(0, 64_MiB, "g1"),
                              g2 = trident::gpu_device(0, 64_MiB, "g2");
        mp::sequential net = make_net();
        auto plan = mp::shard(net, {c0, g1, g2},
                              {.micro_batches = 4, .batch_size = 24, .schedule = s, .optimizer = sgd,
                               .costs = mp::costs_from::estimate});
        REQUIRE(plan.stages().size() == 3); // c0 -> g1 -> g2: payloads g1 -> g2, g2 -> g1, g1 -> c0
        std::vector<double> losses;
        for (const batch* b : {&b1, &b2})
            losses.push_back(plan.step(b->xv(), b->yv()).loss);
        CHECK(payloads_sent > 0);
        CHECK(payloads_rebooked > 0);   // g1 <-> g2: the payload moved its booking
        CHECK(payloads_copied_out > 0); // g1 -> c0: a host copy
        CHECK(losses == ref_losses);
        CHECK(same_parameters(net, ref));
        CHECK(c0.in_use() > 0);
    }
}
