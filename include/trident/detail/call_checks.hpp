#pragma once
// Run-time checks of an algorithm's arguments shared by the data algorithms, with messages that
// name the algorithm and the value.

#include "trident/detail/offload.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace trident::detail {

template <class R>
constexpr void require_host_range()
{
    static_assert(!is_device_range_v<std::remove_cvref_t<R>>,
                  "this range lives in GPU memory (trident::device_vector): use trident::gpu or trident::automatic, "
                  "or copy it to the host first");
}

template <class Size>
std::size_t checked_count(const char* algorithm, Size n)
{
    static_assert(std::is_integral_v<Size>, "the element count must be an integer");
    if constexpr (std::is_signed_v<Size>) {
        if (n < 0)
            throw std::invalid_argument(std::string(algorithm) + ": the count n must not be negative, got " +
                                        std::to_string(n));
    }
    return static_cast<std::size_t>(n);
}

inline void check_output_size(const char* algorithm, std::size_t input, std::size_t output)
{
    if (output < input)
        throw std::invalid_argument(std::string(algorithm) + ": the output range has " + std::to_string(output) +
                                    " elements, fewer than the input's " + std::to_string(input));
}

} // namespace trident::detail
