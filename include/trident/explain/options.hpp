#pragma once
/// \file explain/options.hpp
/// `trident::explain_options`: what `trident::explain` (explain/explain.hpp) knows besides the
/// recording, and the check of its values.
///
/// \code
///   trident::explain_options o;
///   o.sequential_seconds = 1.8;      // a measured sequential run of the same work, wall time
///   o.sequential_cpu_seconds = 1.7;  // ... and its CPU time (other processes took the rest)
///   o.workers = 4;
///   o.validate();                    // explain() and detail::analyse() call it too
/// \endcode
///
/// **Exceptions.**  validate() throws std::invalid_argument naming the field and its value for a
/// time that is NaN, infinite or not above zero (sequential_seconds, peak_bytes_per_second), a
/// negative, NaN or infinite byte count or CPU time, a sequential_cpu_seconds without
/// sequential_seconds, and a negative workers or hardware_threads.
/// **Complexity.**  O(1).

#include <cmath>
#include <iomanip>
#include <locale>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace trident {

/// What explain knows besides the recording.
struct explain_options {
    /// A measured sequential time of the same work (wall seconds, > 0), if the caller has one:
    /// the reference of measured_speedup, and busy - sequential_seconds becomes the overhead term.
    std::optional<double> sequential_seconds;
    /// The CPU time of that sequential run (seconds, >= 0; needs sequential_seconds), if measured
    /// (clock_gettime(CLOCK_THREAD_CPUTIME_ID) around it, say): when it is well below
    /// sequential_seconds, other processes took the rest, the reference is too long and why()
    /// says the speedup cannot be trusted.
    std::optional<double> sequential_cpu_seconds;
    /// Bytes the region moves (reads + writes, >= 0): with peak_bytes_per_second, the bandwidth bound.
    std::optional<double> bytes;
    /// The machine's measured bandwidth in bytes per second (> 0; from a STREAM triad, say).
    std::optional<double> peak_bytes_per_second;
    /// Threads that could work (>= 0); 0: the current arena's max_concurrency.
    int workers = 0;
    /// Threads the hardware runs at once (>= 0); 0: std::thread::hardware_concurrency().
    int hardware_threads = 0;
    /// Keep the events (for write_chrome_trace and explanation::events); the accounting needs
    /// them only while explain analyses them.
    bool keep_events = true;

    /// Checks every field.  \throws std::invalid_argument naming the field and its value.
    void validate() const
    {
        positive("sequential_seconds", sequential_seconds);
        non_negative("sequential_cpu_seconds", sequential_cpu_seconds);
        if (sequential_cpu_seconds && !sequential_seconds)
            throw std::invalid_argument("trident::explain_options::sequential_cpu_seconds (" +
                                        show(*sequential_cpu_seconds) +
                                        ") needs sequential_seconds: the wall time of the same sequential run");
        non_negative("bytes", bytes);
        positive("peak_bytes_per_second", peak_bytes_per_second);
        count("workers", workers, "0 for the current arena's max_concurrency");
        count("hardware_threads", hardware_threads, "0 for std::thread::hardware_concurrency()");
    }

private:
    static std::string show(double v)
    {
        std::ostringstream out;
        out.imbue(std::locale::classic());
        out << std::setprecision(10) << v;
        return out.str();
    }
    static void positive(const char* field, const std::optional<double>& v)
    {
        if (v && !(std::isfinite(*v) && *v > 0))
            throw std::invalid_argument(std::string("trident::explain_options::") + field +
                                        " must be a finite number above zero, got " + show(*v));
    }
    static void non_negative(const char* field, const std::optional<double>& v)
    {
        if (v && !(std::isfinite(*v) && *v >= 0))
            throw std::invalid_argument(std::string("trident::explain_options::") + field +
                                        " must be a finite number >= 0, got " + show(*v));
    }
    static void count(const char* field, int v, const char* zero)
    {
        if (v < 0)
            throw std::invalid_argument(std::string("trident::explain_options::") + field + " must be >= 0 (" + zero +
                                        "), got " + std::to_string(v));
    }
};

} // namespace trident
