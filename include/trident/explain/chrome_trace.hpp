#pragma once
/// \file explain/chrome_trace.hpp
/// explanation::write_chrome_trace (declared in explain/explain.hpp, which includes this file):
/// the kept events of an explain region as a Chrome trace, {"traceEvents":[...]}, one complete
/// ("X") event per event with ts and dur in microseconds from the region's start, tid = worker,
/// and thread_name / process_name metadata ("M") events.  Open it in https://ui.perfetto.dev or
/// chrome://tracing.
///
/// **Complexity.**  O(events).  **Exceptions.**  write_chrome_trace(path): std::runtime_error
/// naming the path when it cannot be opened or written.

#include "trident/explain/explain.hpp"

#include <fstream>
#include <iomanip>
#include <locale>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace trident {
namespace detail {

inline void write_json_string(std::ostream& os, std::string_view s)
{
    os << '"';
    for (const char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        switch (ch) {
        case '"': os << "\\\""; break;
        case '\\': os << "\\\\"; break;
        case '\n': os << "\\n"; break;
        case '\r': os << "\\r"; break;
        case '\t': os << "\\t"; break;
        default:
            if (u < 0x20) {
                static constexpr char hex[] = "0123456789abcdef";
                os << "\\u00" << hex[u >> 4] << hex[u & 15];
            } else {
                os << ch;
            }
        }
    }
    os << '"';
}

} // namespace detail

inline void explanation::write_chrome_trace(std::ostream& os) const
{
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out << std::fixed << std::setprecision(3);
    out << "{\"traceEvents\":[\n";
    out << R"({"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"trident::explain"}})";
    for (const auto& w : per_worker) {
        out << ",\n" << R"({"name":"thread_name","ph":"M","pid":1,"tid":)" << w.worker << R"(,"args":{"name":)";
        detail::write_json_string(out, "worker " + std::to_string(w.worker) + (w.worker == 0 ? " (caller)" : ""));
        out << "}}";
    }
    for (const auto& ev : events) {
        out << ",\n{\"name\":";
        detail::write_json_string(out, ev.label < labels.size() ? std::string_view(labels[ev.label]) : std::string_view("?"));
        out << ",\"cat\":\"" << (ev.label == detail::label_parallel_call ? "call" : "body") << "\",\"ph\":\"X\",\"ts\":"
            << ev.begin_seconds * 1e6 << ",\"dur\":" << (ev.end_seconds - ev.begin_seconds) * 1e6
            << ",\"pid\":1,\"tid\":" << ev.worker << '}';
    }
    out << "\n],\"displayTimeUnit\":\"ms\"}\n";
    os << out.str();
}

inline void explanation::write_chrome_trace(const std::string& path) const
{
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file)
        throw std::runtime_error("trident::explanation::write_chrome_trace: cannot open '" + path + "' for writing");
    write_chrome_trace(file);
    file.flush();
    if (!file)
        throw std::runtime_error("trident::explanation::write_chrome_trace: writing '" + path + "' failed");
}

} // namespace trident
