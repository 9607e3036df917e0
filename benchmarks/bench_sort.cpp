// Sorting 10M keys.  Every iteration sorts a fresh copy of the same random input (the copy is not
// timed).  bytes_per_second counts the array's size once per sort.
//   sort_u32, sort_double:  default order (trident picks its parallel radix sort)
//   sort_double_cmp:        a lambda comparator (trident's parallel merge sort)
//   stable_sort_double:     stable_sort with a lambda comparator; tbb::parallel_sort (unstable)
//                           is the peer to beat, as the issue asks
#include "common.hpp"

#include <trident/trident.hpp>

#include <oneapi/tbb/parallel_sort.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <execution>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t sort_n = 10'000'000;

template <class T>
const std::vector<T>& input()
{
    static const std::vector<T> v = [] {
        std::vector<T> r(sort_n);
        std::mt19937_64 gen(20261123);
        if constexpr (std::is_floating_point_v<T>) {
            std::uniform_real_distribution<T> dist(-1e6, 1e6);
            for (auto& x : r)
                x = dist(gen);
        } else {
            for (auto& x : r)
                x = static_cast<T>(gen());
        }
        return r;
    }();
    return v;
}

inline constexpr auto less_lambda = [](double a, double b) { return a < b; };

// Runs sort_fn(v) on a fresh copy of the input per iteration and checks the result once.
template <class T, class SortFn>
void run(benchmark::State& state, SortFn sort_fn)
{
    const auto& in = input<T>();
    std::vector<T> v(in.size());
    for (auto _ : state) {
        state.PauseTiming();
        std::copy(in.begin(), in.end(), v.begin());
        state.ResumeTiming();
        sort_fn(v);
        benchmark::ClobberMemory();
    }
    if (!std::is_sorted(v.begin(), v.end()))
        state.SkipWithError("the output is not sorted");
    const auto items = static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(sort_n);
    state.SetItemsProcessed(items);
    state.SetBytesProcessed(items * static_cast<std::int64_t>(sizeof(T)));
}

template <class F>
void reg(const std::string& name, F f)
{
    benchmark::RegisterBenchmark(name.c_str(), f)->Unit(benchmark::kMillisecond)->UseRealTime();
}

template <class T>
void register_default_order(const std::string& w)
{
    using V = std::vector<T>;
    reg(w + "/seq_loop", [](benchmark::State& s) { run<T>(s, [](V& v) { std::sort(v.begin(), v.end()); }); });
    reg(w + "/trident_seq", [](benchmark::State& s) { run<T>(s, [](V& v) { trident::sort(trident::seq, v); }); });
    reg(w + "/trident_par", [](benchmark::State& s) { run<T>(s, [](V& v) { trident::sort(trident::par, v); }); });
    reg(w + "/tbb", [](benchmark::State& s) { run<T>(s, [](V& v) { tbb::parallel_sort(v.begin(), v.end()); }); });
    reg(w + "/std_par",
        [](benchmark::State& s) { run<T>(s, [](V& v) { std::sort(std::execution::par, v.begin(), v.end()); }); });
}

const int registered = [] {
    using V = std::vector<double>;
    register_default_order<std::uint32_t>("sort_u32");
    register_default_order<double>("sort_double");

    reg("sort_double_cmp/seq_loop",
        [](benchmark::State& s) { run<double>(s, [](V& v) { std::sort(v.begin(), v.end(), less_lambda); }); });
    reg("sort_double_cmp/trident_seq",
        [](benchmark::State& s) { run<double>(s, [](V& v) { trident::sort(trident::seq, v, less_lambda); }); });
    reg("sort_double_cmp/trident_par",
        [](benchmark::State& s) { run<double>(s, [](V& v) { trident::sort(trident::par, v, less_lambda); }); });
    reg("sort_double_cmp/tbb",
        [](benchmark::State& s) { run<double>(s, [](V& v) { tbb::parallel_sort(v.begin(), v.end(), less_lambda); }); });
    reg("sort_double_cmp/std_par", [](benchmark::State& s) {
        run<double>(s, [](V& v) { std::sort(std::execution::par, v.begin(), v.end(), less_lambda); });
    });

    reg("stable_sort_double/seq_loop",
        [](benchmark::State& s) { run<double>(s, [](V& v) { std::stable_sort(v.begin(), v.end(), less_lambda); }); });
    reg("stable_sort_double/trident_seq",
        [](benchmark::State& s) { run<double>(s, [](V& v) { trident::stable_sort(trident::seq, v, less_lambda); }); });
    reg("stable_sort_double/trident_par",
        [](benchmark::State& s) { run<double>(s, [](V& v) { trident::stable_sort(trident::par, v, less_lambda); }); });
    reg("stable_sort_double/tbb",
        [](benchmark::State& s) { run<double>(s, [](V& v) { tbb::parallel_sort(v.begin(), v.end(), less_lambda); }); });
    reg("stable_sort_double/std_par", [](benchmark::State& s) {
        run<double>(s, [](V& v) { std::stable_sort(std::execution::par, v.begin(), v.end(), less_lambda); });
    });
    return 0;
}();

} // namespace

TRIDENT_BENCH_MAIN("0.5")
