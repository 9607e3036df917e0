#pragma once
/// \file policy.hpp
/// Execution policies: where and how a trident algorithm runs.
///
/// Every algorithm takes a policy as its first argument.  Policies are small values; options
/// return a new policy and leave the original untouched, so they compose in one expression:
///
/// \code
///   trident::reduce(trident::seq, v, 0.0);                 // one thread, in order
///   trident::reduce(trident::par, v, 0.0);                 // every core, through oneTBB
///   trident::reduce(trident::par.threads(4), v, 0.0);      // at most 4 threads for this call
///   trident::reduce(trident::par.grain(4096), v, 0.0);     // chunks of at least 4096 elements
///   trident::reduce(trident::gpu.device(1), v, 0.0);       // CUDA device 1 (a .cu file only)
///   trident::reduce(trident::automatic, v, 0.0);           // GPU when worth it, else par
/// \endcode
///
/// | policy      | runs on                         | options                               |
/// |-------------|---------------------------------|---------------------------------------|
/// | `seq`       | the calling thread              | none                                  |
/// | `par`       | oneTBB workers + calling thread | `threads(n)`, `grain(g)`, `on(cores)` |
/// | `gpu`       | one CUDA device                 | `device(i)`, `stream(s)`              |
/// | `automatic` | `gpu` or `par`, per call        | all of `par`'s and `gpu`'s, `gpu_threshold(n)` |
///
/// Without `threads(n)` or `on(cores)`, a `par` call runs in the current oneTBB arena; outside any
/// arena on `trident::default_concurrency()` threads, which follow the affinity mask and the
/// container's CPU quota (see thread_arena.hpp).
///
/// `trident::gpu` is usable only in translation units compiled by nvcc; elsewhere naming it in an
/// algorithm call is a compile-time error that says so.  `trident::automatic` compiled without nvcc
/// is `trident::par`.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

struct CUstream_st; // CUDA's stream handle type (cudaStream_t is CUstream_st*); no CUDA header needed

namespace trident {

class thread_arena;

/// Run on the calling thread, in order.  The reference every other policy is tested against.
struct seq_policy {};

/// Run on CPU cores through oneTBB.
class par_policy {
public:
    constexpr par_policy() = default;

    /// At most `n` threads (the calling thread included) work on this call.  The cap is real: the
    /// call runs inside a oneTBB task arena of min(n, trident::max_threads()) threads (oneTBB gives
    /// no arena more: a bigger one would only make it print a warning on stderr), so
    /// `threads(1'000'000)` is `threads(max_threads())`.  The arenas are cached by size, the 8 most
    /// recently used kept; an older one is destroyed once the last call running in it has ended,
    /// so memory stays bounded whatever n the calls ask for.  A thread repeating the n of its previous
    /// call takes no lock; another n takes a mutex (and a new size makes an arena, microseconds).
    /// \throws std::invalid_argument if n < 1.
    [[nodiscard]] constexpr par_policy threads(int n) const
    {
        if (n < 1)
            throw std::invalid_argument("trident::par.threads(n): n must be at least 1, got " + std::to_string(n));
        par_policy p = *this;
        p.threads_ = n;
        return p;
    }

    /// Chunks of at least `g` elements: no task handles fewer than `g` elements (the last chunk
    /// excepted), and an input of at most `g` elements runs inline on the calling thread.
    /// Without it the grain is chosen per call (see the README's "Small inputs").
    /// \throws std::invalid_argument if g < 1.
    [[nodiscard]] constexpr par_policy grain(long long g) const
    {
        if (g < 1)
            throw std::invalid_argument("trident::par.grain(g): g must be at least 1, got " + std::to_string(g));
        par_policy p = *this;
        p.grain_ = static_cast<std::size_t>(g);
        return p;
    }

    /// Run on a group of cores the caller owns (see thread_arena.hpp).  The group must outlive
    /// every call made with this policy.  Overrides `threads(n)`.
    [[nodiscard]] constexpr par_policy on(thread_arena& cores) const
    {
        par_policy p = *this;
        p.cores_ = &cores;
        return p;
    }

    /// The thread cap, or 0 when none was set.
    [[nodiscard]] constexpr int thread_limit() const noexcept { return threads_; }
    /// The grain, or 0 when it is chosen per call.
    [[nodiscard]] constexpr std::size_t grain_size() const noexcept { return grain_; }
    /// The core group, or nullptr.
    [[nodiscard]] constexpr thread_arena* cores() const noexcept { return cores_; }

private:
    int threads_ = 0;
    std::size_t grain_ = 0;
    thread_arena* cores_ = nullptr;
};

/// Run on one CUDA device.  Only in translation units compiled by nvcc (with --extended-lambda).
class gpu_policy {
public:
    constexpr gpu_policy() = default;

    /// The CUDA device index (0 by default).
    /// \throws std::invalid_argument if i < 0.  An index past the last device is reported by the
    ///         call that uses the policy, as trident::device_unavailable.
    [[nodiscard]] constexpr gpu_policy device(int i) const
    {
        if (i < 0)
            throw std::invalid_argument("trident::gpu.device(i): i must be at least 0, got " + std::to_string(i));
        gpu_policy p = *this;
        p.device_ = i;
        return p;
    }

    /// Enqueue the call's work on this CUDA stream.  Without it a call runs on the calling thread's
    /// default stream (cudaStreamPerThread) and returns with its work done; with it, a call whose
    /// results stay on the device (device ranges in and out) returns once its work is enqueued
    /// (stream-ordered: later work on `s` sees the results), and a call with a host output or a
    /// value result (reduce) returns once the result is ready.
    [[nodiscard]] constexpr gpu_policy stream(CUstream_st* s) const
    {
        gpu_policy p = *this;
        p.stream_ = s;
        return p;
    }

    [[nodiscard]] constexpr int device_index() const noexcept { return device_; }
    [[nodiscard]] constexpr CUstream_st* stream_handle() const noexcept { return stream_; }

private:
    int device_ = 0;
    CUstream_st* stream_ = nullptr;
};

/// Per call: the GPU when the translation unit is compiled by nvcc, a device answers, the data can
/// go there, every function may run there (std::plus / multiplies / less / greater, a radix sort,
/// or a function declared with trident::offloadable, hints.hpp: trident cannot see what a
/// TRIDENT_LAMBDA captures, and a host pointer would fault on the GPU), the input has at least
/// `gpu_threshold()` elements, and the GPU is expected to finish first: host ranges cost their
/// PCIe copies, weighed against the CPU's work by a cost model (detail/offload.hpp; the README's
/// "Policies" gives its figures), so cheap element-wise work on host data stays on the CPU while
/// a sort, or a function declared expensive (`offloadable(f, ns_per_call)`), goes to the GPU.
/// Data already on the device always runs there.  `par` otherwise, and also when the GPU part
/// runs out of device memory or finds the device unavailable (asked again after a back-off), and
/// for the rest of the process after a sticky CUDA error.
class automatic_policy {
public:
    constexpr automatic_policy() = default;

    [[nodiscard]] constexpr automatic_policy threads(int n) const { return with(cpu_.threads(n), gpu_); }
    [[nodiscard]] constexpr automatic_policy grain(long long g) const { return with(cpu_.grain(g), gpu_); }
    [[nodiscard]] constexpr automatic_policy on(thread_arena& cores) const { return with(cpu_.on(cores), gpu_); }
    [[nodiscard]] constexpr automatic_policy device(int i) const { return with(cpu_, gpu_.device(i)); }
    [[nodiscard]] constexpr automatic_policy stream(CUstream_st* s) const { return with(cpu_, gpu_.stream(s)); }

    /// Inputs with fewer elements than this stay on the CPU (a lower bound: the cost model may keep
    /// larger ones there too).  Default: 2^20.
    [[nodiscard]] constexpr automatic_policy gpu_threshold(std::size_t n) const
    {
        automatic_policy p = *this;
        p.gpu_threshold_ = n;
        return p;
    }

    [[nodiscard]] constexpr const par_policy& cpu_part() const noexcept { return cpu_; }
    [[nodiscard]] constexpr const gpu_policy& gpu_part() const noexcept { return gpu_; }
    [[nodiscard]] constexpr std::size_t gpu_threshold() const noexcept { return gpu_threshold_; }

private:
    constexpr automatic_policy with(par_policy c, gpu_policy g) const
    {
        automatic_policy p = *this;
        p.cpu_ = c;
        p.gpu_ = g;
        return p;
    }

    par_policy cpu_{};
    gpu_policy gpu_{};
    std::size_t gpu_threshold_ = std::size_t{1} << 20;
};

inline constexpr seq_policy seq{};
inline constexpr par_policy par{};
inline constexpr gpu_policy gpu{};
inline constexpr automatic_policy automatic{};

// ---- traits -------------------------------------------------------------------------------

/// Maps a CPU policy to the executor its calls run on: a specialisation has
/// `static E make(const Policy&)`, E a `trident::executor` (backend/executor.hpp).  seq's is in
/// backend/seq/executor.hpp, par's in backend/tbb/executor.hpp; specialise it for a policy of your
/// own (before the policy's first use) and every data algorithm takes that policy.
template <class Policy> struct executor_of;

/// Whether P is an execution policy: seq, par, gpu, automatic, or a type with an executor_of.
template <class P> inline constexpr bool is_execution_policy_v = requires(const P& p) { executor_of<P>::make(p); };
template <> inline constexpr bool is_execution_policy_v<seq_policy> = true;
template <> inline constexpr bool is_execution_policy_v<par_policy> = true;
template <> inline constexpr bool is_execution_policy_v<gpu_policy> = true;
template <> inline constexpr bool is_execution_policy_v<automatic_policy> = true;

/// A trident execution policy (seq, par, gpu, automatic, one derived from them by options, or a
/// policy of the user's with an executor_of).
template <class P>
concept execution_policy = is_execution_policy_v<std::remove_cvref_t<P>>;

template <class P> inline constexpr bool is_gpu_policy_v = std::is_same_v<std::remove_cvref_t<P>, gpu_policy>;
template <class P> inline constexpr bool is_automatic_policy_v = std::is_same_v<std::remove_cvref_t<P>, automatic_policy>;
template <class P> inline constexpr bool is_cpu_policy_v =
    std::is_same_v<std::remove_cvref_t<P>, seq_policy> || std::is_same_v<std::remove_cvref_t<P>, par_policy>;

} // namespace trident
