// Must NOT compile: a layer without name() const.
#include <trident/model/layer.hpp>

#include <span>

struct no_name {
    std::size_t output_features(std::size_t in) const { return in; }
    std::size_t saved_floats(std::size_t, std::size_t) const { return 0; }
    void forward(trident::matrix_view<const float>, trident::matrix_view<float>, std::span<float>) {}
    void backward(trident::matrix_view<const float>, trident::matrix_view<const float>, std::span<const float>,
                  trident::matrix_view<const float>, trident::matrix_view<float>) {}
    std::span<float> parameters() { return {}; }
    std::span<float> gradients() { return {}; }
    double flops(std::size_t, std::size_t) const { return 0; }
};

static_assert(trident::model::check_layer<no_name>());

int main() { return 0; }
