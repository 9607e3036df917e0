// An image filter: grayscale, then a 3x3 box blur, over a generated RGB image.
//
//   image_filter [width]            (default 4096; the image is width x 3/4 width)
//
// Grayscale is a map over the pixels.  The blur is a stencil: pixel i reads its eight neighbours,
// so it runs as for_each_index over the pixel indices with the gray image captured by pointer
// (edges repeat the border pixel).  Runs with trident::seq, trident::par and, compiled by nvcc,
// trident::gpu; checks that the blurred images agree and prints the time per policy.
//
// On the GPU, map copies the host image over and the gray image back by itself; for_each_index
// moves nothing, so the GPU part puts the gray image in device memory for the blur, and its time
// includes those copies.
#include "example_common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace image_example {

struct rgb {
    std::uint8_t r, g, b;
};

TRIDENT_HOST_DEVICE inline float luminance(const rgb& p)
{
    return 0.299f * float(p.r) + 0.587f * float(p.g) + 0.114f * float(p.b);
}

/// The mean of the 3x3 neighbourhood of pixel i (coordinates clamped to the image).
TRIDENT_HOST_DEVICE inline void blur_pixel(const float* gray, float* out, std::size_t width, std::size_t height,
                                           std::size_t i)
{
    const std::size_t x = i % width, y = i / width;
    const std::size_t x0 = x > 0 ? x - 1 : 0, x1 = x + 1 < width ? x + 1 : x;
    const std::size_t y0 = y > 0 ? y - 1 : 0, y1 = y + 1 < height ? y + 1 : y;
    const std::size_t xs[3] = {x0, x, x1}, ys[3] = {y0, y, y1};
    float sum = 0;
    for (std::size_t row : ys)
        for (std::size_t col : xs)
            sum += gray[row * width + col];
    out[i] = sum / 9.0f;
}

std::vector<rgb> generate(std::size_t width, std::size_t height)
{
    // A colour gradient plus noise, drawn per pixel from a counter-based generator.
    std::vector<rgb> image(width * height);
    rgb* pixels = image.data();
    trident::for_each_index(trident::par, image.size(), [=](std::size_t i) {
        const std::size_t x = i % width, y = i / width;
        const std::uint64_t noise = example::random_bits(7, i);
        pixels[i] = rgb{std::uint8_t((x * 200 / width + (noise & 0x3F)) & 0xFF),
                        std::uint8_t((y * 200 / height + ((noise >> 8) & 0x3F)) & 0xFF),
                        std::uint8_t(((noise >> 16) & 0xFF))};
    });
    return image;
}

template <class Policy>
std::vector<float> filter(const Policy& policy, const std::vector<rgb>& image, std::size_t width, std::size_t height)
{
    const std::vector<float> gray = trident::map(policy, image, TRIDENT_LAMBDA(const rgb& p) { return luminance(p); });
    std::vector<float> blurred(gray.size());
    const float* in = gray.data();
    float* out = blurred.data();
    trident::for_each_index(policy, gray.size(), TRIDENT_LAMBDA(std::size_t i) { blur_pixel(in, out, width, height, i); });
    return blurred;
}

#if defined(__CUDACC__)
inline void check(cudaError_t status, const char* call)
{
    if (status != cudaSuccess)
        throw trident::cuda_error(static_cast<int>(status),
                                  std::string(call) + " failed in image_filter: " + cudaGetErrorString(status));
}

/// The same filter on the GPU: the map through trident (host vectors copied by it), the blur on
/// device memory of our own (for_each_index moves no data).
std::vector<float> filter_gpu(const std::vector<rgb>& image, std::size_t width, std::size_t height)
{
    const std::vector<float> gray = trident::map(trident::gpu, image, TRIDENT_LAMBDA(const rgb& p) { return luminance(p); });
    const std::size_t bytes = gray.size() * sizeof(float);
    float* in = nullptr;
    float* out = nullptr;
    check(cudaMalloc(&in, bytes), "cudaMalloc");
    try {
        check(cudaMalloc(&out, bytes), "cudaMalloc");
        check(cudaMemcpy(in, gray.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
        trident::for_each_index(trident::gpu, gray.size(),
                                TRIDENT_LAMBDA(std::size_t i) { blur_pixel(in, out, width, height, i); });
        std::vector<float> blurred(gray.size());
        check(cudaMemcpy(blurred.data(), out, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy");
        cudaFree(in);
        cudaFree(out);
        return blurred;
    } catch (...) {
        cudaFree(in);
        cudaFree(out);
        throw;
    }
}
#endif

/// The largest difference between two images.
double max_difference(const std::vector<float>& a, const std::vector<float>& b)
{
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
    return worst;
}

} // namespace image_example

int main(int argc, char** argv)
{
    using namespace image_example;
    const std::size_t width = example::size_argument(argc, argv, 4096, "width");
    const std::size_t height = std::max<std::size_t>(1, width * 3 / 4);
    const std::vector<rgb> image = generate(width, height);
    std::printf("image_filter: %zu x %zu pixels (%.1f MB of RGB)\n", width, height, double(image.size() * 3) / 1e6);

    bool ok = true;
    std::vector<float> reference;
    double seq_ms = 0;
    auto report = [&](const char* policy, const std::vector<float>& blurred, double ms, double tolerance) {
        const double mean = trident::reduce(trident::seq, blurred, 0.0) / double(blurred.size());
        std::printf("%-4s mean brightness %.4f\n", policy, mean);
        example::print_time(policy, ms, seq_ms);
        if (reference.empty()) {
            reference = blurred;
            return true;
        }
        const double diff = max_difference(reference, blurred);
        if (diff > tolerance) {
            std::printf("%s: MISMATCH, a pixel differs from seq's by %g\n", policy, diff);
            return false;
        }
        return true;
    };

    const auto seq_run = example::timed([&] { return filter(trident::seq, image, width, height); });
    seq_ms = seq_run.second;
    ok &= report("seq", seq_run.first, seq_run.second, 0);
    const auto par_run = example::timed([&] { return filter(trident::par, image, width, height); });
    ok &= report("par", par_run.first, par_run.second, 0); // same operations per pixel: bit-identical
#if defined(__CUDACC__)
    ok &= example::run_gpu_part([&] {
        const auto gpu_run = example::timed([&] { return filter_gpu(image, width, height); });
        return report("gpu", gpu_run.first, gpu_run.second, 1e-3); // fused multiply-adds may round differently
    });
#endif
    std::printf(ok ? "policies agree\n" : "FAILED\n");
    return ok ? 0 : 1;
}
