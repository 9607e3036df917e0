# Runs explain_trace_writer (WRITER) to write TRACE, then loads TRACE with Python's json module
# (PYTHON) and checks the Chrome trace's shape: a non-empty traceEvents list whose "X" events have
# a name, numeric ts and dur, pid and tid.
execute_process(COMMAND ${WRITER} ${TRACE} RESULT_VARIABLE written)
if(NOT written EQUAL 0)
  message(FATAL_ERROR "explain_trace_writer failed (${written})")
endif()
set(check [=[
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
events = d["traceEvents"]
assert events, "no events"
complete = [e for e in events if e["ph"] == "X"]
assert complete, "no complete events"
for e in complete:
    assert isinstance(e["name"], str) and isinstance(e["ts"], (int, float)) and isinstance(e["dur"], (int, float))
    assert e["dur"] >= 0 and isinstance(e["pid"], int) and isinstance(e["tid"], int)
assert any(e["name"] == 'say "hi"\\ \t\x01 \u00e9' for e in complete), "the escaped stage name did not round-trip"
assert all(e["ph"] in ("X", "M") for e in events)
print(len(complete), "complete events")
]=])
execute_process(COMMAND ${PYTHON} -c "${check}" ${TRACE} RESULT_VARIABLE checked)
if(NOT checked EQUAL 0)
  message(FATAL_ERROR "the trace ${TRACE} is not the expected JSON (${checked})")
endif()
