// Must NOT compile: a layer with no backward at all (neither split nor single).
// The build is expected to fail with check_layer's sentence naming the missing backward.
#include <trident/model/layer.hpp>

#include <span>
#include <string>

struct no_backward {
    std::size_t output_features(std::size_t in) const { return in; }
    std::size_t saved_floats(std::size_t, std::size_t) const { return 0; }
    void forward(trident::matrix_view<const float>, trident::matrix_view<float>, std::span<float>) {}
    std::span<float> parameters() { return {}; }
    std::span<float> gradients() { return {}; }
    std::string name() const { return "no_backward"; }
    double flops(std::size_t, std::size_t) const { return 0; }
};

static_assert(trident::model::check_layer<no_backward>());

int main() { return 0; }
