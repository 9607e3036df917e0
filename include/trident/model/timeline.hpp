#pragma once
/// \file timeline.hpp
/// `write_timeline_trace(os, plan, measured)`: a Chrome trace (JSON, open in ui.perfetto.dev or
/// chrome://tracing) of one pipeline step with one row per device, the predicted timeline (from
/// simulate(), plan.predicted()) in one process and the measured one (step_stats::timeline) in
/// another, so the two can be compared by eye: where the measured step waits longer than the
/// prediction, and on which device.  Compute actions are named "F3.1", "B2.0", "W0.4", "BW1.2";
/// receives ("RA1.0<0") are drawn as the wait they were; sends, which take no time, are left out.
///
/// \code
///   trident::model::step_stats s = plan.step(x, y);
///   std::ofstream f("pipeline.json");
///   trident::model::write_timeline_trace(f, plan, s.timeline);
/// \endcode
///
/// Complexity: linear in the actions.  Writes only to `os` (its errors are the stream's state).

#include "trident/detail/json_string.hpp"
#include "trident/model/plan.hpp"
#include "trident/model/simulate.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace trident::model {

/// Writes the predicted and the measured timeline of `plan` as a Chrome trace (see the file comment).
inline void write_timeline_trace(std::ostream& os, const pipeline_plan& plan, const std::vector<timed_action>& measured)
{
    os << "{\"traceEvents\":[";
    bool first = true;
    auto meta = [&](int pid, int tid, const char* what, const std::string& name) {
        os << (first ? "" : ",") << "\n{\"ph\":\"M\",\"pid\":" << pid << ",\"tid\":" << tid << ",\"name\":\"" << what
           << "\",\"args\":{\"name\":";
        trident::detail::write_json_string(os, name);
        os << "}}";
        first = false;
    };
    meta(1, 0, "process_name", "predicted (simulate)");
    meta(2, 0, "process_name", "measured");
    for (std::size_t d = 0; d < plan.devices().size(); ++d)
        for (int pid : {1, 2})
            meta(pid, static_cast<int>(d), "thread_name", plan.devices()[d].name());
    auto events = [&](int pid, const std::vector<timed_action>& timeline) {
        for (const timed_action& t : timeline) {
            const action_kind k = t.act.kind;
            if (k == action_kind::send_activation || k == action_kind::send_gradient)
                continue;
            os << ",\n{\"ph\":\"X\",\"pid\":" << pid << ",\"tid\":" << t.device << ",\"name\":";
            trident::detail::write_json_string(os, to_string(t.act));
            os << ",\"cat\":\"" << (is_compute(k) ? "compute" : "idle") << "\",\"ts\":" << t.start * 1e6
               << ",\"dur\":" << (t.end - t.start) * 1e6 << "}";
        }
    };
    events(1, plan.predicted().timeline);
    events(2, measured);
    os << "\n]}\n";
}

} // namespace trident::model
