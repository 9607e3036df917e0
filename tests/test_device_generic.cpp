// The generic device algorithms (backend/generic/device_algorithms.hpp) on a device system written
// here: `toy_system` keeps its "device memory" in host vectors and logs every primitive it is asked
// for, so that the test sees what the generic for_each, for_each_index, map and map_reduce do with
// a system's primitives (the call built first, inputs staged, host outputs copied back, the call
// finished with or without a wait for the host), and that a system's own overload of an algorithm
// replaces the generic one.  The CUDA system (backend/cuda/system.cuh) supplies the same primitives.

#include "trident/backend/generic/device_algorithms.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <list>
#include <ranges>
#include <string>
#include <type_traits>
#include <vector>

namespace toy {

using trident::detail::device_algo::for_each;
using trident::detail::device_algo::for_each_index;
using trident::detail::device_algo::map;
using trident::detail::device_algo::map_reduce;

struct toy_policy {
    std::vector<std::string>* log;
};

struct toy_system : trident::detail::device_system<toy_system> {
    struct call {
        std::vector<std::string>* log;
        explicit call(const toy_policy& policy) : log(policy.log) { log->push_back("call"); }
        void finish(bool to_host) const { log->push_back(to_host ? "finish, wait for the host" : "finish"); }
    };

    template <class R>
    class staged {
    public:
        using value_type = std::ranges::range_value_t<R>;
        static constexpr bool host_output = !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>;

        staged(R& range, std::size_t n, const call& c, bool copy_in) : range_(range), log_(c.log), memory_(n)
        {
            if (copy_in)
                for (std::size_t i = 0; i < n; ++i)
                    memory_[i] = std::ranges::data(range)[i];
            log_->push_back(copy_in ? "stage, copy in" : "stage");
        }
        value_type* get() { return memory_.data(); }
        void copy_back(std::size_t n) const
        {
            if constexpr (host_output) {
                for (std::size_t i = 0; i < n; ++i)
                    std::ranges::data(range_)[i] = memory_[i];
                log_->push_back("copy back");
            }
        }

    private:
        R& range_;
        std::vector<std::string>* log_;
        std::vector<value_type> memory_;
    };

    template <class... R>
    static constexpr bool ranges_ok()
    {
        return (std::ranges::contiguous_range<R> && ...);
    }
    template <class T>
    static constexpr bool value_ok()
    {
        return std::is_trivially_copyable_v<T>;
    }

    template <class F>
    static void launch_n(const call& c, std::size_t n, const F& f)
    {
        c.log->push_back("launch_n");
        for (std::size_t i = 0; i < n; ++i)
            f(i);
    }
    template <class P, class F>
    static void for_each_n(const call& c, P data, std::size_t n, const F& f)
    {
        c.log->push_back("for_each_n");
        for (std::size_t i = 0; i < n; ++i)
            f(data[i]);
    }
    template <class InP, class OutP, class F>
    static void transform_n(const call& c, InP in, OutP out, std::size_t n, const F& f)
    {
        c.log->push_back("transform_n");
        for (std::size_t i = 0; i < n; ++i)
            out[i] = f(in[i]);
    }
    template <class V, class P, class F, class T, class Op>
    static T map_reduce_n(const call& c, P data, std::size_t n, const F& f, const T& init, const Op& op)
    {
        c.log->push_back("map_reduce_n");
        T acc = init;
        for (std::size_t i = 0; i < n; ++i)
            acc = op(acc, T(f(data[i])));
        return acc;
    }
};

/// toy_system with a map of its own: it replaces the generic map; every other algorithm stays generic.
struct toy_with_own_map : toy_system {};

template <class In, class Out, class F>
void device_algorithm(const toy_with_own_map&, map, const toy_policy& policy, In& in, Out& out, F& f)
{
    policy.log->push_back("own map");
    for (std::size_t i = 0; i < std::ranges::size(in); ++i)
        out[i] = f(in[i]);
}

template <class Algorithm, class... Args>
decltype(auto) run(const auto& system, std::vector<std::string>& log, Args&... args)
{
    return device_algorithm(system, Algorithm{}, toy_policy{&log}, args...);
}

using log_t = std::vector<std::string>;

} // namespace toy

TEST_CASE("generic for_each: stages the range, runs, copies it back, waits for the host", "[device_generic]")
{
    toy::log_t log;
    std::vector<int> v{1, 2, 3};
    auto twice = [](int& x) { x *= 2; };
    toy::run<toy::for_each>(toy::toy_system{}, log, v, twice);
    CHECK(v == std::vector<int>{2, 4, 6});
    CHECK(log == toy::log_t{"call", "stage, copy in", "for_each_n", "copy back", "finish, wait for the host"});

    log.clear();
    const std::vector<int> c{1, 2};
    int seen = 0;
    auto count = [&](const int& x) { seen += x; };
    toy::run<toy::for_each>(toy::toy_system{}, log, c, count);
    CHECK(seen == 3);
    CHECK(log == toy::log_t{"call", "stage, copy in", "for_each_n", "finish"}); // read-only: nothing comes back

    log.clear();
    std::vector<int> empty;
    toy::run<toy::for_each>(toy::toy_system{}, log, empty, twice);
    CHECK(log == toy::log_t{"call"}); // the device is checked for empty input too
}

TEST_CASE("generic for_each_index and map", "[device_generic]")
{
    toy::log_t log;
    std::vector<std::size_t> hit(5, 0);
    auto mark = [&](std::size_t i) { hit[i] += i + 1; };
    const std::size_t n = hit.size();
    toy::run<toy::for_each_index>(toy::toy_system{}, log, n, mark);
    CHECK(hit == std::vector<std::size_t>{1, 2, 3, 4, 5});
    CHECK(log == toy::log_t{"call", "launch_n", "finish"});

    log.clear();
    const std::vector<int> in{1, 2, 3};
    std::vector<long> out(3, 0);
    auto square = [](int x) { return long(x) * x; };
    toy::run<toy::map>(toy::toy_system{}, log, in, out, square);
    CHECK(out == std::vector<long>{1, 4, 9});
    CHECK(log == toy::log_t{"call", "stage, copy in", "stage", "transform_n", "copy back", "finish, wait for the host"});
}

TEST_CASE("generic map_reduce: init for empty input, the ranges' checks first", "[device_generic]")
{
    toy::log_t log;
    const std::vector<int> v{1, 2, 3, 4};
    auto square = [](int x) { return x * x; };
    auto plus = [](long a, long b) { return a + b; };
    long init = 100;
    CHECK(toy::run<toy::map_reduce>(toy::toy_system{}, log, v, square, init, plus) == 130);
    CHECK(log == toy::log_t{"call", "stage, copy in", "map_reduce_n"});

    log.clear();
    const std::vector<int> empty;
    CHECK(toy::run<toy::map_reduce>(toy::toy_system{}, log, empty, square, init, plus) == 100);
    CHECK(log == toy::log_t{"call"});

    log.clear();
    std::list<int> not_contiguous{1, 2};
    CHECK(toy::run<toy::map_reduce>(toy::toy_system{}, log, not_contiguous, square, init, plus) == 100);
    CHECK(log.empty()); // a range the system cannot take: no device work is instantiated
}

TEST_CASE("a system's own algorithm replaces the generic one, the others stay generic", "[device_generic]")
{
    toy::log_t log;
    const std::vector<int> in{1, 2, 3};
    std::vector<int> out(3, 0);
    auto inc = [](int x) { return x + 1; };
    toy::run<toy::map>(toy::toy_with_own_map{}, log, in, out, inc);
    CHECK(out == std::vector<int>{2, 3, 4});
    CHECK(log == toy::log_t{"own map"});

    log.clear();
    auto twice = [](int& x) { x *= 2; };
    toy::run<toy::for_each>(toy::toy_with_own_map{}, log, out, twice);
    CHECK(out == std::vector<int>{4, 6, 8});
    CHECK(log.front() == "call");
}
