// Writes the Chrome trace of a small explained run (a pipeline with an oddly named stage, a
// parallel for_each, parallel_invoke) to the file named by argv[1], for the test that loads it
// with Python's json module (test explain.trace_is_json).

#include "trident/explain/explain.hpp"
#include "trident/trident.hpp"

#include <cstdio>
#include <exception>
#include <optional>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: explain_trace_writer <trace.json>\n");
        return 2;
    }
    try {
        std::vector<int> data(100'000, 1);
        int next = 0;
        const trident::explanation e = trident::explain([&] {
            trident::run_pipeline(
                trident::par.threads(2),
                trident::source("load", [&]() -> std::optional<int> {
                    if (next == 50)
                        return std::nullopt;
                    return next++;
                }),
                trident::stage("say \"hi\"\\ \t\x01 \xc3\xa9", trident::parallel_out_of_order, [](int x) { return x + 1; }),
                trident::stage("sink", trident::serial_in_order, [](int) {}));
            trident::for_each(trident::par, data, [](int& x) { x *= 2; });
            trident::parallel_invoke(trident::par, [] {}, [] {});
        });
        e.write_chrome_trace(argv[1]);
        std::printf("%zu events\n", e.events.size());
        return e.events.empty() ? 1 : 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "explain_trace_writer: %s\n", error.what());
        return 1;
    }
}
