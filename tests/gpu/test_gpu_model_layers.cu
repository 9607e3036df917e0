// [gpu] model::gpu::layer_kernels against the CPU layers (the reference: same parameters, same
// inputs): dense, relu, gelu, layer_norm forward, backward_input and backward_weight on odd shapes
// (1 x 1, 33 x 65, more rows and columns than a block has threads), contiguous and with padded rows,
// with the default grid and with 1 or 3 blocks (every grid-stride loop strides), each bound checked
// to reject a result 1% off (bound_detects_one_percent); the default stream; the refusals (a
// user layer, a CPU device, host memory, shapes).  Losses, optimizers, device_tensor and a whole
// network's training steps: test_gpu_model_training.cu.
//
// Tolerances (eps = 2^-23, float's epsilon), each the largest difference two correct results can
// have, so that a wrong formula (an O(1) relative error) cannot pass:
// - products (dense; cuBLAS FP32, no TF32, against the CPU BLAS): both within (k + 2) eps sum|a||b|
//   of the exact value, so 2 (k + 2) eps (sum|a||b| + |c|), k the length of the dot product;
// - relu, the bias / gain / layer_norm-bias gradients (sums over rows in row order, no FMA):
//   bitwise equal;
// - gelu: CUDA's erff / expf are within 2 ulp, glibc's within 1: 8 eps (|x| + |y|) forward,
//   16 eps |dy| (1 + |x|) + 2 eps |dx| backward;
// - layer_norm: per-row statistics are sums in double in another order, so mean and 1/stddev may
//   round to a neighbouring float: 2 eps of each (+ 1e-12 for a mean near 0); y within
//   8 eps (|gain| (|xhat| + rstd |mean|) + |bias|); dx (from the CPU's saved values) within
//   8 eps rstd (|dxhat| + mean|dxhat| + |xhat| mean|dxhat xhat|).
#include "model_gpu_checks.hpp"

#include <trident/model/any_layer.hpp>
#include <trident/model/gpu/layer_kernels.cuh>
#include <trident/model/layers/dense.hpp>
#include <trident/model/layers/gelu.hpp>
#include <trident/model/layers/layer_norm.hpp>
#include <trident/model/layers/relu.hpp>

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace {

namespace mp = trident::model;
namespace mg = trident::model::gpu;
using namespace trident::literals;
using gpu_checks::compare;
using gpu_checks::eps;
using gpu_checks::padded;

struct stream_holder {
    cudaStream_t s{};
    stream_holder() { REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess); }
    stream_holder(const stream_holder&) = delete;
    stream_holder& operator=(const stream_holder&) = delete;
    ~stream_holder() { (void)cudaStreamDestroy(s); }
};

double abs_of(float v) { return std::fabs(static_cast<double>(v)); }

// One layer, one shape: forward, backward_input, backward_weight on the GPU against the CPU layer.
void compare_layer(mp::any_layer cpu, std::size_t rows, std::size_t in, std::size_t pad, unsigned seed)
{
    CAPTURE(cpu.name(), rows, in, pad, seed);
    const trident::device g = trident::gpu_device(0, 256_MiB);
    stream_holder st;
    if (cpu.target<mp::layer_norm>()) { // a gain and bias that are not the identity
        const auto p = gpu_checks::random_values(cpu.parameters().size(), seed + 100, 0.5f, 1.5f);
        std::copy(p.begin(), p.end(), cpu.parameters().begin());
    }
    const auto g0 = gpu_checks::random_values(cpu.gradients().size(), seed + 200); // backward_weight adds
    std::copy(g0.begin(), g0.end(), cpu.gradients().begin());

    mg::layer_kernels k(cpu, g);
    REQUIRE(k.name() == cpu.name());
    REQUIRE(k.splits_backward() == cpu.splits_backward());
    const std::size_t out = cpu.output_features(in), n_saved = cpu.saved_floats(rows, in);
    REQUIRE(k.output_features(in) == out);
    REQUIRE(k.saved_floats(rows, in) == n_saved);

    padded x(g, rows, in, pad, seed, -2.0f, 2.0f), y(g, rows, out, pad, seed + 1), dy(g, rows, out, pad, seed + 2),
        dx(g, rows, in, pad, seed + 3);
    const std::vector<float> y_before = y.host, dx_before = dx.host;
    std::vector<float> saved(n_saved);
    mg::device_tensor saved_dev(g, 1, n_saved, "saved");

    // forward
    cpu.forward(x.host_view(), y.host_view(), saved);
    k.forward(x.device_view(), y.device_view(), saved_dev.span(), st.s);
    const std::vector<float> y_gpu = y.download(st.s), saved_gpu = saved_dev.download(st.s);
    const auto row_of = [](std::size_t i, std::size_t stride) { return i / stride; };
    const auto col_of = [](std::size_t i, std::size_t stride) { return i % stride; };
    std::function<double(std::size_t)> y_bound;
    if (const auto* d = cpu.target<mp::dense>()) {
        y_bound = [&, d](std::size_t i) {
            const std::size_t r = row_of(i, y.stride), j = col_of(i, y.stride);
            double m = abs_of(d->bias()[j]);
            for (std::size_t c = 0; c < in; ++c)
                m += abs_of(x.host[r * x.stride + c]) * abs_of(d->weight()(j, c));
            return 2.0 * static_cast<double>(in + 2) * eps * m;
        };
    } else if (cpu.target<mp::relu>()) {
        y_bound = [](std::size_t) { return 0.0; };
    } else if (cpu.target<mp::gelu>()) {
        y_bound = [&](std::size_t i) {
            const std::size_t r = row_of(i, y.stride), j = col_of(i, y.stride);
            return 8.0 * eps * (abs_of(x.host[r * x.stride + j]) + abs_of(y.host[i]));
        };
    } else {
        const auto* ln = cpu.target<mp::layer_norm>();
        y_bound = [&, ln](std::size_t i) {
            const std::size_t r = row_of(i, y.stride), j = col_of(i, y.stride);
            const double mean = saved[2 * r], rstd = saved[2 * r + 1];
            const double xhat = (x.host[r * x.stride + j] - mean) * rstd;
            return 8.0 * eps *
                   (abs_of(ln->gain()[j]) * (std::fabs(xhat) + rstd * std::fabs(mean)) + abs_of(ln->bias()[j]));
        };
        // 1e-12: the double sums' own difference (n terms of at most 2, 2^-52 each), for a mean near 0.
        const auto saved_cmp = compare(saved_gpu, saved, 1, n_saved, n_saved,
                                       [&](std::size_t i) { return 2.0 * eps * abs_of(saved[i]) + 1e-12; });
        INFO("saved (mean, 1/stddev per row)");
        GPU_CHECKS_REQUIRE_CLOSE(saved_cmp);
    }
    {
        INFO("forward");
        GPU_CHECKS_REQUIRE_CLOSE(compare(y_gpu, y.host, rows, out, y.stride, y_bound, &y_before));
        REQUIRE(gpu_checks::bound_detects_one_percent(y.host, rows, out, y.stride, y_bound));
    }

    // backward_input, from the CPU's output and saved values (so that it is checked on its own)
    y.upload();
    saved_dev.upload(saved);
    cpu.backward_input(x.host_view(), y.host_view(), saved, dy.host_view(), dx.host_view());
    k.backward_input(x.device_view(), y.device_view(), saved_dev.span(), dy.device_view(), dx.device_view(), st.s);
    const std::vector<float> dx_gpu = dx.download(st.s);
    std::function<double(std::size_t)> dx_bound;
    if (const auto* d = cpu.target<mp::dense>()) {
        dx_bound = [&, d](std::size_t i) {
            const std::size_t r = row_of(i, dx.stride), c = col_of(i, dx.stride);
            double m = 0;
            for (std::size_t j = 0; j < out; ++j)
                m += abs_of(dy.host[r * dy.stride + j]) * abs_of(d->weight()(j, c));
            return 2.0 * static_cast<double>(out + 2) * eps * m;
        };
    } else if (cpu.target<mp::relu>()) {
        dx_bound = [](std::size_t) { return 0.0; };
    } else if (cpu.target<mp::gelu>()) {
        dx_bound = [&](std::size_t i) {
            const std::size_t r = row_of(i, dx.stride), c = col_of(i, dx.stride);
            return 16.0 * eps * abs_of(dy.host[r * dy.stride + c]) * (1.0 + abs_of(x.host[r * x.stride + c])) +
                   2.0 * eps * abs_of(dx.host[i]);
        };
    } else {
        const auto* ln = cpu.target<mp::layer_norm>();
        std::vector<double> s1(rows), s2(rows); // mean |dxhat|, mean |dxhat xhat| per row
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < in; ++j) {
                const double xhat = (x.host[r * x.stride + j] - saved[2 * r]) * saved[2 * r + 1];
                const double dxhat = dy.host[r * dy.stride + j] * ln->gain()[j];
                s1[r] += std::fabs(dxhat) / static_cast<double>(in);
                s2[r] += std::fabs(dxhat * xhat) / static_cast<double>(in);
            }
        dx_bound = [&, ln, s1, s2](std::size_t i) {
            const std::size_t r = row_of(i, dx.stride), j = col_of(i, dx.stride);
            const double rstd = saved[2 * r + 1];
            const double xhat = (x.host[r * x.stride + j] - saved[2 * r]) * rstd;
            const double dxhat = dy.host[r * dy.stride + j] * ln->gain()[j];
            return 8.0 * eps * rstd * (std::fabs(dxhat) + s1[r] + std::fabs(xhat) * s2[r]);
        };
    }
    {
        INFO("backward_input");
        GPU_CHECKS_REQUIRE_CLOSE(compare(dx_gpu, dx.host, rows, in, dx.stride, dx_bound, &dx_before));
        REQUIRE(gpu_checks::bound_detects_one_percent(dx.host, rows, in, dx.stride, dx_bound));
    }

    // backward_weight: added to the (random) gradients both had before
    cpu.backward_weight(x.host_view(), y.host_view(), saved, dy.host_view());
    k.backward_weight(x.device_view(), y.device_view(), saved_dev.span(), dy.device_view(), st.s);
    const std::vector<float> grads_gpu = k.gradients().download(st.s);
    const std::span<float> grads_cpu = cpu.gradients();
    REQUIRE(grads_gpu.size() == grads_cpu.size());
    const std::vector<float> gc(grads_cpu.begin(), grads_cpu.end());
    if (const auto* d = cpu.target<mp::dense>()) {
        (void)d;
        const std::function<double(std::size_t)> w_bound = [&](std::size_t i) {
            const std::size_t j = i / in, c = i % in;
            double m = abs_of(g0[i]);
            for (std::size_t r = 0; r < rows; ++r)
                m += abs_of(dy.host[r * dy.stride + j]) * abs_of(x.host[r * x.stride + c]);
            return 2.0 * static_cast<double>(rows + 2) * eps * m;
        };
        INFO("backward_weight: weight gradient");
        GPU_CHECKS_REQUIRE_CLOSE(compare(grads_gpu, gc, out, in, in, w_bound));
        REQUIRE(gpu_checks::bound_detects_one_percent(gc, out, in, in, w_bound));
        INFO("backward_weight: bias gradient (column sums in row order: bitwise)");
        REQUIRE(gpu_checks::bitwise_equal({grads_gpu.begin() + in * out, grads_gpu.end()},
                                          {gc.begin() + in * out, gc.end()}, 1, out, out));
    } else {
        INFO("backward_weight: gain and bias gradients (sums in row order: bitwise)");
        REQUIRE(gpu_checks::bitwise_equal(grads_gpu, gc, 1, gc.size(), gc.size()));
    }
    // The parameters are unchanged, and come back as they went.
    std::vector<float> params(cpu.parameters().size());
    k.download_parameters(params, st.s);
    REQUIRE(gpu_checks::bitwise_equal(params, {cpu.parameters().begin(), cpu.parameters().end()}, 1, params.size(),
                                      params.size()));
}

} // namespace

TEST_CASE("gpu model: every built-in layer's forward, backward_input and backward_weight equal the CPU layer's",
          "[gpu][model]")
{
    struct shape {
        std::size_t rows, in, out;
    };
    // 1 x 1; 33 x 65; more rows than a block has threads (and than 8 warps have rows); more columns
    // than a block has threads; a width that is not a multiple of a warp.
    const shape shapes[] = {{1, 1, 1}, {33, 65, 17}, {300, 7, 300}, {5, 257, 3}, {270, 33, 1}};
    unsigned seed = 1;
    for (const unsigned blocks : {0u, 1u, 3u}) {
        const gpu_checks::grid_limit limit(blocks);
        for (const std::size_t pad : {std::size_t{0}, std::size_t{3}})
            for (const shape s : shapes) {
                CAPTURE(blocks);
                compare_layer(mp::dense(s.in, s.out, seed), s.rows, s.in, pad, seed);
                compare_layer(mp::relu(), s.rows, s.in, pad, seed + 1);
                compare_layer(mp::gelu(), s.rows, s.in, pad, seed + 2);
                compare_layer(mp::layer_norm(s.in), s.rows, s.in, pad, seed + 3);
                seed += 4;
            }
    }
}

namespace {
// A user layer (layer.hpp's example): y = w x, one parameter.  It has no GPU code.
struct scale_layer {
    std::vector<float> w{2.0f}, g{0.0f};
    std::size_t output_features(std::size_t in) const { return in; }
    std::size_t saved_floats(std::size_t, std::size_t) const { return 0; }
    void forward(trident::matrix_view<const float> x, trident::matrix_view<float> y, std::span<float>)
    {
        for (std::size_t r = 0; r < x.rows(); ++r)
            for (std::size_t c = 0; c < x.cols(); ++c)
                y(r, c) = w[0] * x(r, c);
    }
    void backward(trident::matrix_view<const float> x, trident::matrix_view<const float>, std::span<const float>,
                  trident::matrix_view<const float> dy, trident::matrix_view<float> dx)
    {
        for (std::size_t r = 0; r < x.rows(); ++r)
            for (std::size_t c = 0; c < x.cols(); ++c) {
                dx(r, c) = w[0] * dy(r, c);
                g[0] += x(r, c) * dy(r, c);
            }
    }
    std::span<float> parameters() { return w; }
    std::span<float> gradients() { return g; }
    std::string name() const { return "scale"; }
    double flops(std::size_t rows, std::size_t in) const { return double(rows) * double(in); }
};
} // namespace

TEST_CASE("gpu model: a user layer, a CPU device, host memory and bad shapes are refused with a sentence",
          "[gpu][model]")
{
    using Catch::Matchers::Contains;
    const trident::device g = trident::gpu_device(0, 64_MiB, "gpu-test");
    mp::any_layer user = scale_layer{};
    REQUIRE_THROWS_AS(mg::layer_kernels(user, g), std::invalid_argument);
    REQUIRE_THROWS_WITH(mg::layer_kernels(user, g), Contains("layer 'scale' has no GPU implementation") &&
                                                        Contains("the layers that run on a GPU are dense, relu, gelu "
                                                                 "and layer_norm"));
    REQUIRE(g.in_use() == 0);

    mp::any_layer d = mp::dense(4, 3, 1);
    const trident::device c = trident::cpu_device(1, 1_MiB, "cpu-test");
    REQUIRE_THROWS_AS(mg::layer_kernels(d, c), std::invalid_argument);
    REQUIRE_THROWS_WITH(mg::layer_kernels(d, c), Contains("device 'cpu-test' is a CPU device"));

    mg::layer_kernels k(d, g);
    REQUIRE(g.in_use() == 2 * 15 * sizeof(float)); // parameters and gradients: W (3 x 4) and b (3)
    std::vector<float> hx(8), hy(6);
    mg::device_tensor x(g, 2, 4, "x"), y(g, 2, 3, "y"), x5(g, 2, 5, "x5");
    REQUIRE_THROWS_WITH(k.forward({hx.data(), 2, 4}, y.view(), {}),
                        Contains("dense(4 -> 3): in is not memory of CUDA device 0 (it is host memory)"));
    REQUIRE_THROWS_WITH(k.forward(x.view(), {hy.data(), 2, 3}, {}), Contains("out is not memory of CUDA device 0"));
    REQUIRE_THROWS_WITH(k.backward_input(x.view(), y.view(), {}, y.view(), {hx.data(), 2, 4}),
                        Contains("grad_in is not memory of CUDA device 0"));
    REQUIRE_THROWS_WITH(k.forward(x5.view(), y.view(), {}), Contains("dense(4 -> 3) takes 4 input features, got 5"));
    REQUIRE_THROWS_WITH(k.forward(x.view(), x.view(), {}), Contains("dense(4 -> 3): out is 2 x 4, expected 2 x 3"));

    mp::any_layer ln = mp::layer_norm(4);
    mg::layer_kernels kl(ln, g);
    mg::device_tensor s(g, 1, 3, "saved");
    REQUIRE_THROWS_WITH(kl.forward(x.view(), x.view(), s.span()),
                        Contains("layer_norm(4): saved holds 3 floats, saved_floats() asks for 4"));
    // Nothing reached the device: the context is healthy.
    REQUIRE(cudaDeviceSynchronize() == cudaSuccess);

    // Without a stream (nullptr): the calling thread's default stream, ordered before download().
    const std::vector<float> xv = gpu_checks::random_values(8, 77);
    x.upload(xv);
    k.forward(x.view(), y.view(), {});
    std::vector<float> yc(6);
    d.forward({xv.data(), 2, 4}, {yc.data(), 2, 3}, {});
    const std::vector<float> yg = y.download();
    for (std::size_t i = 0; i < 6; ++i)
        REQUIRE(std::fabs(yg[i] - yc[i]) <= 1e-5 * (1.0 + std::fabs(yc[i])));
}
