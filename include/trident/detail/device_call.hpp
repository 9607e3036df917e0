#pragma once
// What a data algorithm (data/*.hpp) hands to dispatch for the GPU: the algorithm's tag and its
// arguments, `on_device<device_algo::map>(in, out, f)`.  dispatch calls it with the GPU policy;
// it runs the algorithm on that policy's device system (cuda_backend<P>::run, which picks the
// system's own path, e.g. a CUB algorithm, or the generic one written from the system's
// primitives: backend/generic/device_algorithms.hpp).  Only nvcc instantiates the call.

#include "trident/detail/device_traits.hpp"

#include <cstddef>
#include <tuple>

namespace trident::detail {

/// The data algorithms a device system runs, one tag each (the argument lists: see
/// backend/generic/device_algorithms.hpp and backend/cuda/backend.cuh).
namespace device_algo {
struct for_each {};       // (range, f)
struct for_each_index {}; // (n, f)
struct map {};            // (in, out, f)
struct map_reduce {};     // (range, f, init, op) -> init's type
template <bool Inclusive>
struct scan {};           // (in, out, op, std::optional<T> init): exclusive scans always have init
struct sort {};           // (range, comp, stable)
} // namespace device_algo

/// The algorithm `Algorithm` with the call's arguments, by reference: dispatch's `gpu` argument.
template <class Algorithm, class... Args>
class device_call {
public:
    explicit device_call(Args&... args) noexcept : args_(args...) {}

    template <class GpuPolicy>
    decltype(auto) operator()(const GpuPolicy& policy) const
    {
        return std::apply(
            [&](Args&... args) -> decltype(auto) { return cuda_backend<GpuPolicy>::run(Algorithm{}, policy, args...); },
            args_);
    }

private:
    std::tuple<Args&...> args_;
};

/// `dispatch<...>(policy, work, cpu, on_device<device_algo::map>(in, out, f))`.
template <class Algorithm, class... Args>
device_call<Algorithm, Args...> on_device(Args&... args) noexcept
{
    return device_call<Algorithm, Args...>(args...);
}

} // namespace trident::detail
