// Must compile: the control for the layer compile-fail tests (the same layer as
// layer_without_name.cpp, with its name()), so that those fail only for the missing member.
#include <trident/model/layer.hpp>

#include <span>
#include <string>

struct complete {
    std::size_t output_features(std::size_t in) const { return in; }
    std::size_t saved_floats(std::size_t, std::size_t) const { return 0; }
    void forward(trident::matrix_view<const float>, trident::matrix_view<float>, std::span<float>) {}
    void backward(trident::matrix_view<const float>, trident::matrix_view<const float>, std::span<const float>,
                  trident::matrix_view<const float>, trident::matrix_view<float>) {}
    std::span<float> parameters() { return {}; }
    std::span<float> gradients() { return {}; }
    std::string name() const { return "complete"; }
    double flops(std::size_t, std::size_t) const { return 0; }
};

static_assert(trident::model::check_layer<complete>());

int main() { return 0; }
