#pragma once
/// \file explain/chrome_trace.hpp
/// explanation::write_chrome_trace (declared in explain/explanation.hpp): the kept events of an
/// explain region as a Chrome trace, {"traceEvents":[...]}, one complete ("X") event per event
/// with ts and dur in microseconds from the region's start, cat = the event's category
/// ("compute", "transfer", "communication", "idle", "parallel call"), tid = worker, pid = 1 for
/// the host and 2 + the device index for a device's events, and thread_name / process_name
/// metadata ("M") events (one process_name per device with events).  Open it in
/// https://ui.perfetto.dev or chrome://tracing.  explain/explain.hpp includes this file.
///
/// \code
///   const trident::explanation e = trident::explain([&] { ... });
///   e.write_chrome_trace("run.json");
/// \endcode
///
/// **Complexity.**  O(events).  **Exceptions.**  write_chrome_trace(path): std::runtime_error
/// naming the path when it cannot be opened or written.

#include "trident/detail/event.hpp"
#include "trident/detail/json_string.hpp"
#include "trident/explain/explanation.hpp"

#include <fstream>
#include <iomanip>
#include <locale>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace trident {

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
    for (const auto& d : devices)
        out << ",\n" << R"({"name":"process_name","ph":"M","pid":)" << 2 + d.device << R"(,"tid":0,"args":{"name":"device )"
            << d.device << "\"}}";
    for (const auto& ev : events) {
        out << ",\n{\"name\":";
        detail::write_json_string(out, ev.label < labels.size() ? std::string_view(labels[ev.label]) : std::string_view("?"));
        out << ",\"cat\":";
        detail::write_json_string(out, detail::category_name(ev.category));
        out << ",\"ph\":\"X\",\"ts\":" << ev.begin_seconds * 1e6 << ",\"dur\":" << (ev.end_seconds - ev.begin_seconds) * 1e6
            << ",\"pid\":" << (ev.device >= 0 ? 2 + ev.device : 1) << ",\"tid\":" << ev.worker << '}';
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
