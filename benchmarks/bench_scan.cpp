// Inclusive prefix sums of 32M elements (doubles and 64-bit ints) into a separate output array.
// bytes_per_second counts 2 x sizeof(T) per element (read the input, write the output).
#include "common.hpp"

#include <trident/trident.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_scan.h>

#include <cstddef>
#include <cstdint>
#include <execution>
#include <functional>
#include <numeric>
#include <span>
#include <string>

namespace {

constexpr std::size_t scan_n = std::size_t{32} << 20;

template <class T>
struct scan_data {
    bench::buffer<T> in{scan_n}, out{scan_n};
    scan_data()
    {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, scan_n), [&](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t i = r.begin(); i < r.end(); ++i) {
                in[i] = static_cast<T>(i % 7) - T(3); // small exact values, mixed signs
                out[i] = T(0);
            }
        });
    }
};

template <class T>
scan_data<T>& data()
{
    static scan_data<T> d;
    return d;
}

template <class T>
void counters(benchmark::State& state)
{
    const auto items = static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(scan_n);
    state.SetItemsProcessed(items);
    state.SetBytesProcessed(items * static_cast<std::int64_t>(2 * sizeof(T)));
}

template <class T>
void seq_loop(benchmark::State& state)
{
    auto& d = data<T>();
    for (auto _ : state) {
        std::inclusive_scan(d.in.begin(), d.in.end(), d.out.begin());
        benchmark::ClobberMemory();
    }
    counters<T>(state);
}

template <class T, class Policy>
void trident_scan(benchmark::State& state, Policy policy)
{
    auto& d = data<T>();
    const std::span<const T> in(d.in.begin(), scan_n);
    const std::span<T> out(d.out.begin(), scan_n);
    for (auto _ : state) {
        trident::inclusive_scan(policy, in, out);
        benchmark::ClobberMemory();
    }
    counters<T>(state);
}

template <class T>
void tbb_scan(benchmark::State& state)
{
    auto& d = data<T>();
    const T* in = d.in.begin();
    T* out = d.out.begin();
    for (auto _ : state) {
        tbb::parallel_scan(
            tbb::blocked_range<std::size_t>(0, scan_n), T(0),
            [=](const tbb::blocked_range<std::size_t>& r, T sum, bool is_final) {
                for (std::size_t i = r.begin(); i < r.end(); ++i) {
                    sum += in[i];
                    if (is_final)
                        out[i] = sum;
                }
                return sum;
            },
            std::plus<T>{});
        benchmark::ClobberMemory();
    }
    counters<T>(state);
}

template <class T>
void omp_scan(benchmark::State& state)
{
    auto& d = data<T>();
    const T* in = d.in.begin();
    T* out = d.out.begin();
    for (auto _ : state) {
        T sum = 0;
#pragma omp parallel for reduction(inscan, + : sum)
        for (std::size_t i = 0; i < scan_n; ++i) {
            sum += in[i];
#pragma omp scan inclusive(sum)
            out[i] = sum;
        }
        benchmark::ClobberMemory();
    }
    counters<T>(state);
}

template <class T>
void std_par(benchmark::State& state)
{
    auto& d = data<T>();
    for (auto _ : state) {
        std::inclusive_scan(std::execution::par, d.in.begin(), d.in.end(), d.out.begin());
        benchmark::ClobberMemory();
    }
    counters<T>(state);
}

template <class T>
void register_type(const std::string& w)
{
    auto reg = [&](const std::string& impl, auto f) {
        benchmark::RegisterBenchmark((w + "/" + impl).c_str(), f)->Unit(benchmark::kMillisecond)->UseRealTime();
    };
    reg("seq_loop", seq_loop<T>);
    reg("trident_seq", [](benchmark::State& s) { trident_scan<T>(s, trident::seq); });
    reg("trident_par", [](benchmark::State& s) { trident_scan<T>(s, trident::par); });
    reg("tbb", tbb_scan<T>);
    reg("omp", omp_scan<T>);
    reg("std_par", std_par<T>);
}

const int registered = [] {
    register_type<double>("scan_double");
    register_type<std::int64_t>("scan_int64");
    return 0;
}();

} // namespace

TRIDENT_BENCH_MAIN("0.3")
