#pragma once
// Shared by the CPU benchmark binaries: run context, a default minimum time, buffers.
//
// Naming: every benchmark is "<workload>/<implementation>[/<n>]"; benchmarks/summarize.py groups
// by workload, and each workload has an entry in benchmarks/manifest/<theme>.toml (its description
// and targets; benchmarks/README.md).  Implementations:
//   seq_loop     the plain sequential loop or std:: algorithm a user writes first
//   trident_seq  trident with trident::seq          trident_par  trident with trident::par
//   tbb          a raw oneTBB loop (default auto_partitioner)   tbb_static  static_partitioner
//   omp          OpenMP (#pragma omp parallel for [reduction])  std_par  std::execution::par
// Parallel benchmarks measure wall-clock time (UseRealTime).

#include <benchmark/benchmark.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <omp.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#ifndef TRIDENT_BENCH_GIT_HASH
#  define TRIDENT_BENCH_GIT_HASH "unknown"
#endif
#ifndef TRIDENT_BENCH_BUILD_TYPE
#  define TRIDENT_BENCH_BUILD_TYPE "unknown"
#endif

namespace bench {

inline std::string cpu_model()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown";
}

inline void add_context()
{
    benchmark::AddCustomContext("cores", std::to_string(std::thread::hardware_concurrency()));
    benchmark::AddCustomContext("tbb_max_concurrency", std::to_string(tbb::this_task_arena::max_concurrency()));
    benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
#if defined(__clang__)
    benchmark::AddCustomContext("compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
    benchmark::AddCustomContext("compiler", "g++ " __VERSION__);
#else
    benchmark::AddCustomContext("compiler", "unknown");
#endif
    benchmark::AddCustomContext("git_hash", TRIDENT_BENCH_GIT_HASH);
    benchmark::AddCustomContext("build_type", TRIDENT_BENCH_BUILD_TYPE);
    benchmark::AddCustomContext("cpu_model", cpu_model());
}

/// TRIDENT_BENCH_THREADS (scripts/trident bench --threads n): n; 0 when unset; -1 when set to
/// anything but a positive integer.
inline int requested_threads()
{
    const char* env = std::getenv("TRIDENT_BENCH_THREADS");
    if (env == nullptr)
        return 0;
    const int n = std::atoi(env);
    return n >= 1 ? n : -1;
}

/// Runs the registered benchmarks; `default_min_time` (seconds) applies unless the command line
/// passes --benchmark_min_time itself.
inline int run_main(int argc, char** argv, const char* default_min_time)
{
    std::vector<char*> args(argv, argv + argc);
    std::string min_time = std::string("--benchmark_min_time=") + default_min_time;
    bool has_min_time = false;
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--benchmark_min_time", 20) == 0)
            has_min_time = true;
    if (!has_min_time)
        args.insert(args.begin() + 1, min_time.data());
    int n = static_cast<int>(args.size());
    args.push_back(nullptr);
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data()))
        return 1;

    // TRIDENT_BENCH_THREADS=n (scripts/trident bench --threads n): every benchmark runs inside a
    // oneTBB arena of n threads (trident's par, raw oneTBB and std::execution::par alike) and
    // OpenMP uses n threads; n may exceed the cores.
    const int threads = requested_threads();
    if (threads < 0) {
        std::fprintf(stderr, "TRIDENT_BENCH_THREADS must be a positive integer, got '%s'\n",
                     std::getenv("TRIDENT_BENCH_THREADS"));
        return 2;
    }
    auto run = [] {
        add_context();
        benchmark::RunSpecifiedBenchmarks();
    };
    if (threads > 0) {
        omp_set_num_threads(threads);
        const tbb::global_control allow(tbb::global_control::max_allowed_parallelism,
                                        static_cast<std::size_t>(threads));
        tbb::task_arena arena(threads);
        arena.execute(run);
    } else {
        run();
    }
    benchmark::Shutdown();
    return 0;
}

/// An uninitialised array of n trivially-copyable T, 64-byte aligned (no zeroing pass).
template <class T>
struct buffer {
    struct free_deleter {
        void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
    };
    explicit buffer(std::size_t count)
        : n(count), data(static_cast<T*>(::operator new[](count * sizeof(T), std::align_val_t{64})))
    {
    }
    std::size_t n;
    std::unique_ptr<T, free_deleter> data;
    T* begin() const noexcept { return data.get(); }
    T* end() const noexcept { return data.get() + n; }
    T& operator[](std::size_t i) const noexcept { return data.get()[i]; }
    std::size_t size() const noexcept { return n; }
};

} // namespace bench

#define TRIDENT_BENCH_MAIN(default_min_time)                                                                          \
    int main(int argc, char** argv) { return bench::run_main(argc, argv, default_min_time); }
