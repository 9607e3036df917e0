#pragma once
// The typed event of the recorder behind trident::explain (detail/recorder.hpp records it,
// explain/analyse.hpp analyses it): where it ran (a device: the host, or a CUDA device index),
// what kind of time it was (a category), what it was (a label), and when (begin and end ticks).
// The worker, the thread that recorded it, is not stored per event: a recording keeps each
// worker's events in a list of its own (recorder::collected::per_worker, explain_recording).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace trident::detail {

/// What kind of time an event is.  compute, transfer and communication are work (the worker or
/// device that records them is busy); idle is recorded waiting (not busy); parallel_call is not
/// work at all but the span of one parallel call, from the fork to the join, on the thread that
/// made it (the time between is "inside a parallel call" for explain's accounting).
enum class event_category : std::uint8_t {
    compute = 0,       ///< running a body: a chunk, a task, a stage call, a kernel
    transfer = 1,      ///< moving data between memories (host to device, device to host, peer)
    communication = 2, ///< a collective or message between workers, devices or processes
    idle = 3,          ///< waiting, recorded as such (a pipeline bubble, a device with no work)
    parallel_call = 4, ///< the span of a parallel call on its calling thread (see above)
};

/// The number of categories (the size of per-category arrays).
inline constexpr std::size_t event_category_count = 5;

/// The category's name, as explain's Chrome trace writes it in an event's "cat" field.
constexpr std::string_view category_name(event_category c) noexcept
{
    switch (c) {
    case event_category::compute: return "compute";
    case event_category::transfer: return "transfer";
    case event_category::communication: return "communication";
    case event_category::idle: return "idle";
    case event_category::parallel_call: return "parallel call";
    }
    return "?";
}

/// The device of an event that ran on the host (a CPU thread); a CUDA device is its index (>= 0).
inline constexpr std::int16_t host_device = -1;

/// The labels the executors use; stage names are interned after these (recorder::intern).
enum fixed_label : std::uint32_t {
    label_for_chunks = 0,
    label_reduce = 1,
    label_task = 2,
    label_invoke = 3,
    label_stage = 4, ///< a pipeline stage whose name was not interned (the run began before recording)
    /// Not a body call: the span of one parallel call, from the fork to the join, recorded by the
    /// thread that made the call (category parallel_call).
    label_parallel_call = 5,
    label_pool_task = 6, ///< a task on a blocking_pool thread
};

/// The category an event with this label has unless its recorder says otherwise: parallel_call
/// for label_parallel_call, compute for every other label.
constexpr event_category default_category(std::uint32_t label) noexcept
{
    return label == label_parallel_call ? event_category::parallel_call : event_category::compute;
}

/// One recorded event: begin and end in ticks(), its label (an index into recorder::labels), its
/// device and its category.  {begin, end, label} alone is a host event of the label's default
/// category (the tests build recordings so).  24 bytes.
struct recorded_event {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    std::uint32_t label = 0;
    std::int16_t device = host_device;
    event_category category = default_category(label);
};

} // namespace trident::detail
