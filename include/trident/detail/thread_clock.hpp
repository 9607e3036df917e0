#pragma once
// Per-thread CPU time for trident::explain (detail/recorder.hpp samples it, explain/cpu_time.hpp
// analyses it): how long a thread ran on a CPU, and how long it waited runnable for one (its
// run-queue delay: the time other threads took from it).
//
// On Linux the thread's CPU clock (pthread_getcpuclockid) gives the CPU time and its
// /proc/thread-self/schedstat ("<on-CPU ns> <run-queue ns> <timeslices>", kept open, read with
// pread) the run-queue delay; a kernel without schedstats gives the CPU time alone.  About two
// microseconds a reading.  Elsewhere nothing is measured.  Either can be read by another thread of the process
// (the explain caller reads every worker's at the end of a region); a thread that has exited
// reads as nothing.

#include <cstdint>

#if defined(__linux__)
#  include <fcntl.h>
#  include <pthread.h>
#  include <time.h>
#  include <unistd.h>
#endif

namespace trident::detail {

/// One reading of a thread's clocks at ticks(): CPU time, and run-queue delay (-1: not measured).
struct cpu_sample {
    std::uint64_t ticks = 0;
    std::int64_t cpu_ns = 0;
    std::int64_t wait_ns = -1;
};

class thread_clock {
public:
    thread_clock() = default;
    thread_clock(const thread_clock&) = delete;
    thread_clock& operator=(const thread_clock&) = delete;
    ~thread_clock() { close(); }

    /// Opens the calling thread's clocks.
    void open() noexcept
    {
        close();
#if defined(__linux__)
        fd_ = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
        has_clock_ = pthread_getcpuclockid(pthread_self(), &clock_) == 0;
#endif
    }

    void close() noexcept
    {
#if defined(__linux__)
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
        has_clock_ = false;
#endif
    }

    /// Reads the clocks of the thread that opened them into s (s.ticks is left to the caller);
    /// false when nothing could be read (not opened, the thread exited, not Linux).
    bool read(cpu_sample& s) const noexcept
    {
#if defined(__linux__)
        // The CPU clock is exact; schedstat's on-CPU field lags a running thread by up to a
        // scheduler tick, so it is used only without the clock.  Its run-queue delay is added
        // when the thread gets a CPU back.
        std::int64_t sched[2] = {-1, -1};
        if (fd_ >= 0) {
            char text[96];
            const ssize_t n = ::pread(fd_, text, sizeof text - 1, 0);
            if (n <= 0)
                return false; // the thread has exited
            text[n] = '\0';
            const char* p = text;
            for (std::int64_t& v : sched) {
                while (*p == ' ')
                    ++p;
                if (*p < '0' || *p > '9')
                    return false;
                for (v = 0; *p >= '0' && *p <= '9'; ++p)
                    v = v * 10 + (*p - '0');
            }
        }
        s.wait_ns = sched[1];
        if (has_clock_) {
            timespec ts{};
            if (clock_gettime(clock_, &ts) != 0)
                return false;
            s.cpu_ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
            return true;
        }
        s.cpu_ns = sched[0];
        return sched[0] >= 0;
#else
        (void)s;
        return false;
#endif
    }

private:
#if defined(__linux__)
    int fd_ = -1;
    clockid_t clock_{};
    bool has_clock_ = false;
#endif
};

/// The CPU time of the whole process in nanoseconds (-1: not measured).
inline std::int64_t process_cpu_ns() noexcept
{
#if defined(__linux__)
    timespec ts{};
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
        return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
#endif
    return -1;
}

} // namespace trident::detail
