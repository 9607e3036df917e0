// trident::explain's typed events (part of test_explain): the recorder's event_scope and
// record_event with a category and a device, the analysis of synthetic recordings with transfer,
// idle and device events (exact numbers), analyse() as a pure function of the recording (the
// worker count and hardware threads come from it), and the category and device in the Chrome trace.

#include "trident/explain/explain.hpp"
#include "trident/trident.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace {

using trident::event_category;
using trident::detail::explain_recording;
using trident::detail::host_device;
using trident::detail::recorded_event;

constexpr std::uint32_t task = trident::detail::label_task;
constexpr std::uint32_t span = trident::detail::label_parallel_call;

/// One second at one tick per microsecond, `workers` threads.
explain_recording second_of(std::size_t workers)
{
    explain_recording r;
    r.per_worker.resize(workers);
    r.labels = {"for_chunks", "reduce", "task", "invoke", "stage", "parallel call", "pool task", "copy"};
    r.begin_ticks = 1'000'000;
    r.end_ticks = 2'000'000;
    r.wall_seconds = 1.0;
    return r;
}

/// An event from begin_us to end_us of that second.
recorded_event at(std::uint64_t begin_us, std::uint64_t end_us, event_category category, std::int16_t device = host_device,
                  std::uint32_t label = task)
{
    return {1'000'000 + begin_us, 1'000'000 + end_us, label, device, category};
}

trident::explain_options on(int workers)
{
    trident::explain_options o;
    o.workers = workers;
    o.hardware_threads = 256;
    return o;
}

double in(const trident::explanation& e, event_category c) { return e.seconds_in(c); }

} // namespace

TEST_CASE("explain events: {begin, end, label} is a host event of the label's default category", "[explain][events]")
{
    const recorded_event body{1, 2, task};
    CHECK(body.device == host_device);
    CHECK(body.category == event_category::compute);
    const recorded_event call{1, 2, span};
    CHECK(call.category == event_category::parallel_call);
    CHECK(sizeof(recorded_event) == 24); // the "24 bytes per event" of explain/explain.hpp
    CHECK(trident::detail::category_name(event_category::transfer) == "transfer");
    CHECK(trident::detail::category_name(event_category::parallel_call) == "parallel call");
}

TEST_CASE("explain accounting: host transfers are busy time, idle events are not", "[explain][events]")
{
    // 2 workers in one parallel call all second.  Worker 0 computes all second; worker 1 copies
    // 0-0.5 s (a transfer), then records 0.5-1 s waiting (idle), with a nested transfer 0.1-0.2 s
    // inside a compute call 0-0.3 s on worker 0.
    auto r = second_of(2);
    r.per_worker[0] = {at(0, 1'000'000, event_category::compute), at(0, 1'000'000, event_category::parallel_call, host_device, span),
                       at(100'000, 200'000, event_category::transfer)};
    r.per_worker[1] = {at(0, 500'000, event_category::transfer, host_device, 7), at(500'000, 1'000'000, event_category::idle)};
    const trident::explanation e = trident::detail::analyse(r, on(2));

    REQUIRE(e.per_worker.size() == 2);
    CHECK(e.per_worker[0].busy_seconds == Approx(1.0)); // the nested transfer is not counted twice
    CHECK(e.per_worker[0].calls == 2);
    CHECK(e.per_worker[1].busy_seconds == Approx(0.5)); // the transfer; the idle event is not busy
    CHECK(e.per_worker[1].calls == 1);
    CHECK(e.event_count == 3);
    CHECK(e.busy_seconds == Approx(1.5));
    CHECK(e.idle_seconds == Approx(0.5));
    CHECK(e.losses.imbalance == Approx(0.5)); // one of two busy for half the call
    CHECK(e.inside_parallel_seconds == Approx(1.0));
    CHECK(in(e, event_category::compute) == Approx(1.0));
    CHECK(in(e, event_category::transfer) == Approx(0.6)); // 0.1 on worker 0 + 0.5 on worker 1
    CHECK(in(e, event_category::idle) == Approx(0.5));
    CHECK(in(e, event_category::parallel_call) == Approx(1.0));
    CHECK(in(e, event_category::communication) == 0.0);
    CHECK(e.devices.empty());
    CHECK(e.count_events("copy") == 1);
    const auto copy = std::find_if(e.events.begin(), e.events.end(), [&](const auto& x) { return e.label_of(x) == "copy"; });
    REQUIRE(copy != e.events.end());
    CHECK(copy->worker == 1);
    CHECK(copy->category == event_category::transfer);
    CHECK(copy->device == -1);
}

TEST_CASE("explain accounting: device events are the device's timeline, not the worker's busy time", "[explain][events]")
{
    // Worker 0 (the host thread that launched the work) computes 0-0.1 s, then waits untracked;
    // it recorded device 1's events: a copy in 0-0.2 s, kernels 0.2-0.6 and 0.4-0.8 s (overlapping),
    // a bubble 0.8-1 s; and device 0's one kernel 0.5-0.7 s.
    auto r = second_of(1);
    r.per_worker[0] = {at(0, 100'000, event_category::compute),
                       at(0, 200'000, event_category::transfer, 1, 7),
                       at(200'000, 600'000, event_category::compute, 1),
                       at(400'000, 800'000, event_category::compute, 1),
                       at(800'000, 1'000'000, event_category::idle, 1),
                       at(500'000, 700'000, event_category::compute, 0)};
    const trident::explanation e = trident::detail::analyse(r, on(1));

    CHECK(e.per_worker[0].busy_seconds == Approx(0.1));
    CHECK(e.per_worker[0].calls == 1);
    CHECK(e.event_count == 1);
    CHECK(in(e, event_category::transfer) == 0.0); // the host moved nothing itself
    REQUIRE(e.devices.size() == 2);
    CHECK(e.devices[0].device == 0);
    CHECK(e.devices[0].busy_seconds == Approx(0.2));
    CHECK(e.devices[0].calls == 1);
    CHECK(e.devices[1].device == 1);
    CHECK(e.devices[1].busy_seconds == Approx(0.8)); // the copy, then the kernels' union
    CHECK(e.devices[1].calls == 3);
    CHECK(e.devices[1].seconds_by_category[static_cast<std::size_t>(event_category::compute)] == Approx(0.6));
    CHECK(e.devices[1].seconds_by_category[static_cast<std::size_t>(event_category::transfer)] == Approx(0.2));
    CHECK(e.devices[1].seconds_by_category[static_cast<std::size_t>(event_category::idle)] == Approx(0.2));
    CHECK(e.events.size() == 6);

    std::ostringstream trace;
    e.write_chrome_trace(trace);
    const std::string t = trace.str();
    INFO(t);
    CHECK(t.find(R"("name":"copy","cat":"transfer","ph":"X")") != std::string::npos);
    CHECK(t.find(R"("pid":3,"tid":0})") != std::string::npos); // device 1: pid 2 + 1
    CHECK(t.find(R"("name":"process_name","ph":"M","pid":3,"tid":0,"args":{"name":"device 1"})") != std::string::npos);
    CHECK(t.find(R"("cat":"idle")") != std::string::npos);
}

TEST_CASE("explain accounting: analyse reads the worker count and hardware threads from the recording",
          "[explain][events]")
{
    auto r = second_of(2);
    r.per_worker[0] = {at(0, 1'000'000, event_category::compute)};
    trident::explain_options defaults; // workers and hardware_threads 0: the recording's
    r.workers = 8;
    r.hardware_threads = 4;
    trident::explanation e = trident::detail::analyse(r, defaults);
    CHECK(e.workers == 8);
    CHECK(e.hardware_threads == 4);
    CHECK(e.why().rfind("oversubscribed: 8 workers take turns on 4 hardware threads", 0) == 0);
    r.workers = 0; // unknown: the workers recorded
    r.hardware_threads = 0;
    e = trident::detail::analyse(r, defaults);
    CHECK(e.workers == 2);
    CHECK(e.hardware_threads == 0);
    e = trident::detail::analyse(r, on(3)); // the options win
    CHECK(e.workers == 3);
    CHECK(e.hardware_threads == 256);
}

TEST_CASE("explain: event_scope and record_event with a category and a device record them", "[explain][events]")
{
    namespace d = trident::detail;
    const std::uint32_t copy = d::recorder::instance().intern("copy to device");
    trident::explain_options options;
    options.workers = 1;
    const trident::explanation e = trident::explain(
        [&] {
            {
                const d::event_scope plain(d::label_task); // the executors' form: host compute
            }
            {
                const d::event_scope moving(copy, event_category::transfer);
                const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
                while (std::chrono::steady_clock::now() < until) {
                }
            }
            {
                const d::event_scope kernel(d::label_task, event_category::compute, 1);
            }
            const std::uint64_t now = d::ticks();
            d::record_event(copy, event_category::communication, host_device, now, now + 1);
        },
        options);

    REQUIRE(e.events.size() == 4);
    CHECK(e.events[0].category == event_category::compute);
    CHECK(e.events[0].device == -1);
    CHECK(e.label_of(e.events[1]) == "copy to device");
    CHECK(e.events[1].category == event_category::transfer);
    CHECK(e.events[1].device == -1);
    CHECK(e.events[2].device == 1);
    CHECK(e.events[3].category == event_category::communication);
    CHECK(e.event_count == 3); // the host's three; the device's kernel is device 1's
    CHECK(e.per_worker.at(0).calls == 3);
    REQUIRE(e.devices.size() == 1);
    CHECK(e.devices[0].device == 1);
    CHECK(e.devices[0].calls == 1);
    CHECK(e.seconds_in(event_category::transfer) >= 0.002);
    CHECK(e.seconds_in(event_category::transfer) <= e.wall_seconds);
}
