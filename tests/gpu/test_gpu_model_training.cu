// [gpu] What GPU training is made of, against the CPU: model::gpu::device_tensor (booking before
// allocating, budgets, exact in_use / peak, round trips, device and peer copies, cudaMalloc failing),
// the losses (value and gradient against loss.hpp, the bad-target sentence), sgd and adam (3 steps
// against optimizer.hpp), and a small network trained two steps on the GPU against
// model::reference_trainer, then twice on the GPU for bitwise equality (determinism).
//
// Tolerances (eps = 2^-23):
// - loss values: sums in double (per-row sums in another order, CUDA's exp / log within 2 ulp):
//   1e-12 per row and unit of |logit|;
// - cross-entropy gradient: the probability in double, then rounded: 2 eps of the value (plus
//   1e-14 |scale| for a probability near 1); mean_squared_error's gradient: the same double
//   operations as the CPU: bitwise;
// - sgd, adam: the same double operations, IEEE-rounded, no FMA: bitwise (checked after a 4-eps
//   comparison, so that a failure says which it is);
// - the network: 6 layers of float rounding in another order: 1e-5 on the mean loss and on each
//   parameter after two SGD steps (a wrong formula moves a parameter by about lr * |gradient|).
#include "gpu/gpu_test_env.hpp"
#include "model_gpu_checks.hpp"

#include <trident/model/gpu/layer_kernels.cuh>
#include <trident/model/gpu/loss_kernels.cuh>
#include <trident/model/gpu/optimizer_kernels.cuh>
#include <trident/model/layers/dense.hpp>
#include <trident/model/layers/gelu.hpp>
#include <trident/model/layers/layer_norm.hpp>
#include <trident/model/layers/relu.hpp>
#include <trident/model/loss.hpp>
#include <trident/model/optimizer.hpp>
#include <trident/model/reference.hpp>
#include <trident/model/sequential.hpp>

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

namespace mp = trident::model;
namespace mg = trident::model::gpu;
using namespace trident::literals;
using Catch::Matchers::Contains;
using gpu_checks::eps;

struct stream_holder {
    cudaStream_t s{};
    stream_holder() { REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess); }
    stream_holder(const stream_holder&) = delete;
    stream_holder& operator=(const stream_holder&) = delete;
    ~stream_holder() { (void)cudaStreamDestroy(s); }
};

std::vector<float> class_targets(std::size_t rows, std::size_t classes, unsigned seed)
{
    std::vector<float> t = gpu_checks::random_values(rows, seed, 0.0f, static_cast<float>(classes));
    for (float& v : t)
        v = std::fmin(std::floor(v), static_cast<float>(classes - 1));
    return t;
}

} // namespace

TEST_CASE("gpu model: device_tensor books before it allocates, round-trips and copies", "[gpu][model]")
{
    SECTION("a CPU device is refused")
    {
        const trident::device c = trident::cpu_device(1, 1_MiB, "cpu-for-tensor");
        REQUIRE_THROWS_AS(mg::device_tensor(c, 2, 2, "x"), std::invalid_argument);
        REQUIRE_THROWS_WITH(mg::device_tensor(c, 2, 2, "x"), Contains("device 'cpu-for-tensor' is a CPU device"));
        REQUIRE(c.in_use() == 0);
    }
    SECTION("a budget too small: out_of_memory naming the device and the tensor, nothing booked")
    {
        const trident::device g = trident::gpu_device(0, 1000, "small-gpu");
        const mg::device_tensor a(g, 10, 10, "a"); // 400 bytes
        REQUIRE_THROWS_AS(mg::device_tensor(g, 16, 16, "weights of layer 3"), trident::out_of_memory);
        REQUIRE_THROWS_WITH(mg::device_tensor(g, 16, 16, "weights of layer 3"),
                            Contains("device 'small-gpu'") && Contains("weights of layer 3") && Contains("1024 bytes"));
        REQUIRE(g.in_use() == 400);
        REQUIRE(g.peak() == 400);
    }
    SECTION("cudaMalloc failing (1 TiB within a larger budget): out_of_memory with CUDA's message, nothing kept")
    {
        if (under_compute_sanitizer()) {
            WARN("skipped under compute-sanitizer: the failed cudaMalloc would count as an error of the run");
            return;
        }
        const trident::device g = trident::gpu_device(0, std::size_t{1} << 50, "huge-budget");
        REQUIRE_THROWS_AS(mg::device_tensor(g, std::size_t{1} << 19, std::size_t{1} << 19, "huge"),
                          mg::allocation_failed);
        try {
            mg::device_tensor t(g, std::size_t{1} << 19, std::size_t{1} << 19, "huge");
            FAIL("1 TiB was allocated");
        } catch (const trident::out_of_memory& e) {
            REQUIRE_THAT(e.what(), Contains("device 'huge-budget'") && Contains("huge") && Contains("cudaMalloc") &&
                                       Contains("cudaErrorMemoryAllocation"));
            REQUIRE(e.requested() == std::size_t{1} << 40);
        }
        REQUIRE(g.in_use() == 0);
        // The failure is not sticky: the device still works.
        mg::device_tensor small(g, 2, 2, "after");
        REQUIRE(small.download() == std::vector<float>(4, 0.0f));
    }
    SECTION("in_use and peak follow the tensors exactly; moves keep the booking with the memory")
    {
        const trident::device g = trident::gpu_device(0, 1_MiB);
        {
            mg::device_tensor a(g, 10, 10, "a");
            REQUIRE(g.in_use() == 400);
            REQUIRE(a.bytes() == 400);
            {
                mg::device_tensor b(g, 3, 7, "b");
                REQUIRE(g.in_use() == 484);
            }
            REQUIRE(g.in_use() == 400);
            REQUIRE(g.peak() == 484);
            mg::device_tensor c = std::move(a);
            REQUIRE(g.in_use() == 400);
            REQUIRE(a.data() == nullptr);
            REQUIRE(a.size() == 0);
            mg::device_tensor d(g, 1, 1, "d");
            d = std::move(c); // d's own 4 bytes go back
            REQUIRE(g.in_use() == 400);
            mg::device_tensor empty(g, 0, 5, "empty");
            REQUIRE(g.in_use() == 400);
            REQUIRE(empty.view().rows() == 0);
        }
        REQUIRE(g.in_use() == 0);
        REQUIRE(g.peak() == 484);
    }
    SECTION("zeros at first; upload / download round trip; sizes checked; device and peer copies")
    {
        const trident::device g = trident::gpu_device(0, 1_MiB);
        stream_holder st;
        mg::device_tensor a(g, 33, 65, "a"), b(g, 33, 65, "b"), c(g, 65, 33, "c");
        REQUIRE(a.download(st.s) == std::vector<float>(33 * 65, 0.0f));
        const auto v = gpu_checks::random_values(33 * 65, 7);
        a.upload(v, st.s);
        REQUIRE(a.download(st.s) == v);
        b.copy_from(a, st.s);
        REQUIRE(b.download(st.s) == v);
        b.fill_zero(st.s);
        REQUIRE(b.download(st.s) == std::vector<float>(33 * 65, 0.0f));
        REQUIRE_THROWS_WITH(c.copy_from(a, st.s), Contains("the source is 33 x 65, this tensor 65 x 33"));
        REQUIRE_THROWS_WITH(a.upload(std::vector<float>(5)), Contains("the host span has 5 floats"));
        std::vector<float> small(3);
        REQUIRE_THROWS_WITH(a.download(small), Contains("the host span has 3 floats"));
        int count = 0;
        REQUIRE(cudaGetDeviceCount(&count) == cudaSuccess);
        if (count > 1) { // a peer copy (cudaMemcpyPeerAsync) from device 0 to device 1
            const trident::device g1 = trident::gpu_device(1, 1_MiB);
            mg::device_tensor p(g1, 33, 65, "peer");
            REQUIRE(p.cuda_index() == 1);
            p.copy_from(a);
            REQUIRE(p.download() == v);
        } else {
            WARN("one CUDA device: the peer copy is not exercised");
        }
    }
}

TEST_CASE("gpu model: losses equal loss.hpp's value and gradient; a bad class index gets the CPU's sentence",
          "[gpu][model]")
{
    const trident::device g = trident::gpu_device(0, 64_MiB);
    stream_holder st;
    struct shape {
        std::size_t rows, cols;
    };
    unsigned seed = 11;
    for (const unsigned blocks : {0u, 1u})
        for (const shape s : {shape{1, 1}, shape{33, 65}, shape{300, 10}, shape{2, 1000}}) {
            const gpu_checks::grid_limit limit(blocks);
            CAPTURE(blocks, s.rows, s.cols);
            const auto z = gpu_checks::random_values(s.rows * s.cols, seed++, -3.0f, 3.0f);
            const auto t_ce = class_targets(s.rows, s.cols, seed++);
            const auto t_mse = gpu_checks::random_values(s.rows * s.cols, seed++);
            mg::device_tensor dz(g, s.rows, s.cols, "logits"), dce(g, s.rows, 1, "classes"),
                dmse(g, s.rows, s.cols, "targets"), dgrad(g, s.rows, s.cols, "grad");
            dz.upload(z);
            dce.upload(t_ce);
            dmse.upload(t_mse);
            const float scale = 1.0f / static_cast<float>(s.rows);
            const trident::matrix_view<const float> hz(z.data(), s.rows, s.cols);
            std::vector<float> grad(s.rows * s.cols);
            const double value_bound = 1e-12 * static_cast<double>(s.rows) * (1.0 + 2.0 * 3.0 + std::log(s.cols + 1.0));

            const mp::softmax_cross_entropy ce;
            const mg::loss_kernels gce(g, ce);
            const double ce_cpu = ce.value(hz, {t_ce.data(), s.rows, 1});
            REQUIRE(std::fabs(gce.value(dz.view(), dce.view(), st.s) - ce_cpu) <= value_bound);
            ce.gradient(hz, {t_ce.data(), s.rows, 1}, {grad.data(), s.rows, s.cols}, scale);
            const double both = gce.value_and_gradient(dz.view(), dce.view(), dgrad.view(), scale, st.s);
            REQUIRE(std::fabs(both - ce_cpu) <= value_bound);
            const auto ce_bound = [&](std::size_t i) { return 2.0 * eps * std::fabs(grad[i]) + 1e-14 * scale; };
            GPU_CHECKS_REQUIRE_CLOSE(gpu_checks::compare(dgrad.download(st.s), grad, s.rows, s.cols, s.cols, ce_bound));
            dgrad.fill_zero(st.s);
            gce.gradient(dz.view(), dce.view(), dgrad.view(), scale, st.s);
            GPU_CHECKS_REQUIRE_CLOSE(gpu_checks::compare(dgrad.download(st.s), grad, s.rows, s.cols, s.cols, ce_bound));

            const mp::mean_squared_error mse;
            const mg::loss_kernels gmse(g, mse);
            const double mse_cpu = mse.value(hz, {t_mse.data(), s.rows, s.cols});
            REQUIRE(std::fabs(gmse.value(dz.view(), dmse.view(), st.s) - mse_cpu) <= value_bound);
            mse.gradient(hz, {t_mse.data(), s.rows, s.cols}, {grad.data(), s.rows, s.cols}, scale);
            gmse.gradient(dz.view(), dmse.view(), dgrad.view(), scale, st.s);
            REQUIRE(gpu_checks::bitwise_equal(dgrad.download(st.s), grad, s.rows, s.cols, s.cols));
            dgrad.fill_zero(st.s);
            REQUIRE(std::fabs(gmse.value_and_gradient(dz.view(), dmse.view(), dgrad.view(), scale, st.s) - mse_cpu) <=
                    value_bound);
            REQUIRE(gpu_checks::bitwise_equal(dgrad.download(st.s), grad, s.rows, s.cols, s.cols));
            REQUIRE(g.in_use() == dz.bytes() + dce.bytes() + dmse.bytes() + dgrad.bytes()); // scratch given back
        }

    // Bad class indices: rows 7 (2.5) and 20 (-1) and 30 (10 of 10 classes): the first is named, as on the CPU.
    auto z = gpu_checks::random_values(40 * 10, 99);
    auto t = class_targets(40, 10, 98);
    t[7] = 2.5f;
    t[20] = -1.0f;
    t[30] = 10.0f;
    mg::device_tensor dz(g, 40, 10, "z"), dt(g, 40, 1, "t"), dgrad(g, 40, 10, "g");
    dz.upload(z);
    dt.upload(t);
    std::string cpu_message;
    try {
        (void)mp::softmax_cross_entropy{}.value({z.data(), 40, 10}, {t.data(), 40, 1});
    } catch (const std::invalid_argument& e) {
        cpu_message = e.what();
    }
    REQUIRE_THAT(cpu_message, Contains("target of row 7 is 2.5"));
    const mg::loss_kernels gce(g, mp::softmax_cross_entropy{});
    REQUIRE_THROWS_WITH(gce.value(dz.view(), dt.view(), st.s), cpu_message);
    REQUIRE_THROWS_WITH(gce.gradient(dz.view(), dt.view(), dgrad.view(), 1.0f, st.s), cpu_message);
    REQUIRE_THROWS_WITH(gce.value_and_gradient(dz.view(), dt.view(), dgrad.view(), 1.0f, st.s), cpu_message);
    REQUIRE_THROWS_WITH(gce.value(dz.view(), dz.view(), st.s), Contains("targets is 40 x 10, expected 40 x 1"));
    REQUIRE(cudaStreamSynchronize(st.s) == cudaSuccess); // no kernel read outside a row
}

namespace {

// 3 steps of `opt` on the CPU and on the GPU from the same parameters, new gradients each step.
template <class Optimizer>
void compare_optimizer(const Optimizer& opt, std::size_t n, unsigned seed)
{
    CAPTURE(opt.name(), n, seed);
    const trident::device g = trident::gpu_device(0, 16_MiB);
    stream_holder st;
    std::vector<float> p = gpu_checks::random_values(n, seed), state(opt.state_floats(n), 0.0f);
    mg::device_tensor dp(g, 1, n, "params"), dg(g, 1, n, "grads"), ds(g, 1, state.size(), "state");
    dp.upload(p);
    for (std::size_t step = 1; step <= 3; ++step) {
        CAPTURE(step);
        const auto grad = gpu_checks::random_values(n, seed + static_cast<unsigned>(step) * 17);
        dg.upload(grad);
        opt.update(p, grad, state, step);
        mg::update(opt, dp, dg, ds, step, st.s);
        const auto gp = dp.download(st.s), gs = ds.download(st.s);
        GPU_CHECKS_REQUIRE_CLOSE(gpu_checks::compare(gp, p, 1, n, n, [&](std::size_t i) { return 4 * eps * std::fabs(p[i]); }));
        GPU_CHECKS_REQUIRE_CLOSE(gpu_checks::compare(gs, state, 1, state.size(), state.size(),
                                                     [&](std::size_t i) { return 4 * eps * std::fabs(state[i]); }));
        INFO("within 4 eps but not bitwise: look for an FMA contraction on either side");
        REQUIRE(gpu_checks::bitwise_equal(gp, p, 1, n, n));
        REQUIRE(gpu_checks::bitwise_equal(gs, state, 1, state.size(), state.size()));
    }
}

} // namespace

TEST_CASE("gpu model: sgd and adam steps equal optimizer.hpp's, bitwise", "[gpu][model]")
{
    for (const unsigned blocks : {0u, 1u}) {
        const gpu_checks::grid_limit limit(blocks);
        for (const std::size_t n : {std::size_t{1}, std::size_t{333}, std::size_t{5000}}) {
            compare_optimizer(mp::sgd{.learning_rate = 0.1, .momentum = 0.9}, n, 1);
            compare_optimizer(mp::sgd{.learning_rate = 0.05}, n, 2);
            compare_optimizer(mp::adam{.learning_rate = 1e-2}, n, 3);
            compare_optimizer(mp::adam{.learning_rate = 3e-3, .beta1 = 0.8, .beta2 = 0.99, .epsilon = 1e-6}, n, 4);
        }
    }
    const trident::device g = trident::gpu_device(0, 1_MiB);
    mg::device_tensor p(g, 1, 10, "p"), gr(g, 1, 9, "g"), s(g, 1, 20, "s"), s19(g, 1, 19, "s19");
    REQUIRE_THROWS_WITH(mg::update(mp::adam{}, p, gr, s, 1), Contains("adam::update: 10 parameters but 9 gradients"));
    REQUIRE_THROWS_WITH(mg::update(mp::adam{}, p, p, s19, 1),
                        Contains("adam::update: state holds 19 floats, state_floats() is 20"));
    REQUIRE_THROWS_WITH(mg::update(mp::adam{}, p, p, s, 0), Contains("step counts from 1, got 0"));
}

namespace {

struct gpu_run {
    std::vector<double> losses;     // mean loss of each step
    std::vector<std::vector<float>> parameters, gradients;
};

// reference_trainer's step on the GPU, layer for layer (reference.hpp's order, one micro-batch).
template <class Optimizer>
gpu_run train_on_gpu(mp::sequential net, const Optimizer& opt, const std::vector<float>& x,
                     const std::vector<float>& targets, std::size_t rows, std::size_t steps)
{
    const trident::device g = trident::gpu_device(0, 256_MiB);
    stream_holder st;
    const std::size_t layers = net.size();
    std::vector<mg::layer_kernels> k;
    std::vector<mg::device_tensor> state;
    std::vector<std::size_t> width{x.size() / rows};
    for (std::size_t i = 0; i < layers; ++i) {
        k.emplace_back(net[i], g);
        state.emplace_back(g, 1, opt.state_floats(k[i].parameters().size()), "state");
        width.push_back(k[i].output_features(width[i]));
    }
    mg::device_tensor dx(g, rows, width[0], "x"), dt(g, rows, 1, "targets");
    dx.upload(x);
    dt.upload(targets);
    const mg::loss_kernels loss(g, mp::softmax_cross_entropy{});
    gpu_run run;
    for (std::size_t step = 1; step <= steps; ++step) {
        for (auto& l : k)
            l.zero_gradients(st.s);
        std::vector<mg::device_tensor> out, saved;
        for (std::size_t i = 0; i < layers; ++i) {
            out.emplace_back(g, rows, width[i + 1], "out");
            saved.emplace_back(g, 1, k[i].saved_floats(rows, width[i]), "saved");
            k[i].forward(i == 0 ? dx.view() : out[i - 1].view(), out[i].view(), saved[i].span(), st.s);
        }
        mg::device_tensor grad(g, rows, width[layers], "loss gradient");
        run.losses.push_back(loss.value_and_gradient(out.back().view(), dt.view(), grad.view(),
                                                     1.0f / static_cast<float>(rows), st.s) /
                             static_cast<double>(rows));
        for (std::size_t i = layers; i-- > 0;) {
            const trident::matrix_view<const float> in = i == 0 ? dx.view() : out[i - 1].view();
            if (i == 0 && k[i].splits_backward()) {
                k[i].backward_weight(in, out[i].view(), saved[i].span(), grad.view(), st.s);
                break;
            }
            mg::device_tensor grad_in(g, rows, width[i], "grad in");
            k[i].backward(in, out[i].view(), saved[i].span(), grad.view(), grad_in.view(), st.s);
            grad = std::move(grad_in); // the old gradient is freed after the queued work (device_tensor)
        }
        for (std::size_t i = 0; i < layers; ++i)
            mg::update(opt, k[i].parameters(), k[i].gradients(), state[i], step, st.s);
    }
    for (auto& l : k) {
        run.parameters.push_back(l.parameters().download(st.s));
        run.gradients.push_back(l.gradients().download(st.s));
    }
    return run;
}

mp::sequential small_net()
{
    return mp::sequential{mp::dense(65, 300, 1), mp::layer_norm(300), mp::gelu(),
                          mp::dense(300, 33, 2),  mp::relu(),         mp::dense(33, 10, 3)};
}

} // namespace

TEST_CASE("gpu model: a network's training steps on the GPU equal reference_trainer's, and repeat bitwise",
          "[gpu][model]")
{
    const std::size_t rows = 270;
    const auto x = gpu_checks::random_values(rows * 65, 5);
    const auto t = class_targets(rows, 10, 6);
    const mp::sgd sgd{.learning_rate = 0.1, .momentum = 0.9};

    mp::sequential cpu_net = small_net();
    mp::reference_trainer trainer(cpu_net, trident::cpu_device(1, 256_MiB), mp::softmax_cross_entropy{}, sgd);
    std::vector<double> cpu_losses;
    for (int step = 0; step < 2; ++step)
        cpu_losses.push_back(trainer.step({x.data(), rows, 65}, {t.data(), rows, 1}, 1));

    const gpu_run gpu = train_on_gpu(small_net(), sgd, x, t, rows, 2);
    REQUIRE(gpu.losses.size() == 2);
    for (std::size_t s = 0; s < 2; ++s)
        REQUIRE(std::fabs(gpu.losses[s] - cpu_losses[s]) <= 1e-5 * (1.0 + std::fabs(cpu_losses[s])));
    for (std::size_t i = 0; i < cpu_net.size(); ++i) {
        CAPTURE(i, cpu_net[i].name());
        const auto p = cpu_net[i].parameters();
        REQUIRE(gpu.parameters[i].size() == p.size());
        const std::vector<float> pc(p.begin(), p.end());
        GPU_CHECKS_REQUIRE_CLOSE(gpu_checks::compare(gpu.parameters[i], pc, 1, pc.size(), pc.size(),
                                                     [&](std::size_t j) { return 1e-5 * (1.0 + std::fabs(pc[j])); }));
    }
    // The training moved the parameters (so that the comparison above says something).
    const mp::sequential fresh = small_net();
    REQUIRE_FALSE(gpu_checks::bitwise_equal(gpu.parameters[0],
                                            {fresh.layers()[0].target<mp::dense>()->weight().data(),
                                             fresh.layers()[0].target<mp::dense>()->weight().data() + 300 * 65},
                                            1, 300 * 65, 300 * 65));

    // Determinism: two GPU runs (Adam, 2 steps, each time with a grid of 2 blocks and the default)
    // give the same bits.
    const mp::adam adam{.learning_rate = 1e-2};
    const gpu_run a = train_on_gpu(small_net(), adam, x, t, rows, 2);
    const gpu_run b = train_on_gpu(small_net(), adam, x, t, rows, 2);
    gpu_run c;
    {
        const gpu_checks::grid_limit limit(2);
        c = train_on_gpu(small_net(), adam, x, t, rows, 2);
    }
    for (const gpu_run* other : std::initializer_list<const gpu_run*>{&b, &c}) {
        REQUIRE(std::memcmp(a.losses.data(), other->losses.data(), 2 * sizeof(double)) == 0);
        for (std::size_t i = 0; i < a.parameters.size(); ++i) {
            CAPTURE(i);
            REQUIRE(gpu_checks::bitwise_equal(a.parameters[i], other->parameters[i], 1, a.parameters[i].size(),
                                              a.parameters[i].size()));
            REQUIRE(gpu_checks::bitwise_equal(a.gradients[i], other->gradients[i], 1, a.gradients[i].size(),
                                              a.gradients[i].size()));
        }
    }
}
