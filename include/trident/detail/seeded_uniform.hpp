#pragma once
// Deterministic uniform floats from a seed (splitmix64), the same on every platform and standard
// library (std::uniform_real_distribution is not): the built-in layers' initialisation.

#include <cstdint>

namespace trident::detail {

class seeded_uniform {
public:
    explicit seeded_uniform(std::uint64_t seed) : state_(seed) {}
    /// A float in [-bound, bound): 24 random bits, scaled.
    float operator()(float bound)
    {
        const auto bits = static_cast<std::uint32_t>(next() >> 40); // 24 bits
        const float unit = static_cast<float>(bits) * 0x1.0p-24f;   // [0, 1), exact
        return (2.0f * unit - 1.0f) * bound;
    }

private:
    std::uint64_t next()
    {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t state_;
};

} // namespace trident::detail
