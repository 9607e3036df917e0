#pragma once
/// \file errors.hpp
/// Exceptions thrown by trident.
///
/// - `std::invalid_argument`: bad input (an output range shorter than the input, `threads(0)`,
///   a grain below 1).  The message names the argument and its value.
/// - `trident::cuda_error`: a CUDA runtime call failed.  The message names the call, the
///   file:line of the call and CUDA's own error string; `code()` returns the raw `cudaError_t` value.
/// - `trident::device_unavailable`: `trident::gpu` was asked for and no usable device answered
///   (no driver, no device, a device index out of range, a prohibited device, or one held by
///   another process in exclusive-process mode).  The message says which.
///   `trident::automatic` never throws it (nor out-of-memory errors): it falls back to `trident::par`.
/// - `trident::task_cancelled`: held by the future of a `trident::task_group` task that never ran,
///   because another task of the group threw or `cancel()` was called before it started (also what
///   `run()` returns for a group already cancelled).
/// - `trident::out_of_memory`: an allocation through a `trident::device` would exceed its memory
///   budget.  The message names the device, what was being allocated, the bytes asked, the bytes in
///   use and the budget; the same values are members.
/// - Whatever a user function throws inside a parallel call reaches the caller unchanged (the
///   first one thrown, when several are); the rest of that call's work is cancelled.

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace trident {

/// A CUDA runtime call returned an error.
class cuda_error : public std::runtime_error {
public:
    cuda_error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    /// The `cudaError_t` value, as an int so that this header needs no CUDA header.
    [[nodiscard]] int code() const noexcept { return code_; }

private:
    int code_;
};

/// `trident::gpu` could not run: no driver, no device, or the device index is out of range.
class device_unavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A task of a `trident::task_group` that never started: the group was cancelled first (a task of
/// it threw, or `cancel()` was called).  Found in that task's future, never thrown by `wait()`.
class task_cancelled : public std::runtime_error {
public:
    task_cancelled() : std::runtime_error("trident::task_group: task cancelled before it started") {}
    using std::runtime_error::runtime_error;
};

/// An allocation through a `trident::device` would exceed the device's memory budget (thrown
/// before anything is allocated; the device's accounting is unchanged).
class out_of_memory : public std::runtime_error {
public:
    out_of_memory(std::string device, std::string what_for, std::size_t requested, std::size_t in_use,
                  std::size_t budget)
        : std::runtime_error("trident: out of memory on device '" + device + "': allocating " + what_for + " needs " +
                             std::to_string(requested) + " bytes, " + std::to_string(in_use) + " of the budget of " +
                             std::to_string(budget) + " bytes are in use (" +
                             std::to_string(requested > budget - std::min(in_use, budget)
                                                ? requested - (budget - std::min(in_use, budget))
                                                : 0) +
                             " bytes missing)"),
          device_(std::move(device)), what_for_(std::move(what_for)), requested_(requested), in_use_(in_use),
          budget_(budget)
    {
    }
    [[nodiscard]] const std::string& device() const noexcept { return device_; }
    [[nodiscard]] const std::string& allocation() const noexcept { return what_for_; }
    [[nodiscard]] std::size_t requested() const noexcept { return requested_; }
    [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
    [[nodiscard]] std::size_t budget() const noexcept { return budget_; }

private:
    std::string device_;
    std::string what_for_;
    std::size_t requested_;
    std::size_t in_use_;
    std::size_t budget_;
};

} // namespace trident
