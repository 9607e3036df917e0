#!/usr/bin/env bash
# Runs trident's benchmark suite and prints its summary table.
#
#   benchmarks/run-suite.sh <build-dir> <out-dir> [extra Google Benchmark flags...]
#
# Runs every benchmark binary built in <build-dir> (trident_bench_*, the GPU one included when it
# was built: without a GPU it says so and exits 0), writes each one's Google Benchmark JSON to
# <out-dir>/<binary>.json and its console output to <out-dir>/<binary>.log, then runs
# benchmarks/summarize.py <out-dir>, which prints the table and writes <out-dir>/summary.md.
# Before and after each binary it appends "<binary> start|end <contents of /proc/loadavg>" to
# <out-dir>/loadavg.txt: the summary and the report show the load and flag a busy machine.
#
# By default every benchmark runs 3 times, interleaved at random with the others of its binary,
# and the summary reads the median; about 3-4 minutes on 2 cores.  Extra flags go to every
# binary after the defaults and so override them, e.g. --benchmark_min_time=1 or
# --benchmark_repetitions=1 or --benchmark_filter=sum.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 <build-dir> <out-dir> [extra Google Benchmark flags...]" >&2
  exit 2
fi
build_dir=$1
out_dir=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ ! -d $build_dir ]]; then
  echo "$0: no build directory $build_dir (build first: cmake --workflow --preset bench)" >&2
  exit 2
fi
mkdir -p "$out_dir"

mapfile -t binaries < <(find "$build_dir" -type f -perm -u+x -name 'trident_bench_*' ! -name '*.*' | sort)
if [[ ${#binaries[@]} -eq 0 ]]; then
  echo "$0: no trident_bench_* binaries under $build_dir (configure with -DTRIDENT_BUILD_BENCHMARKS=ON)" >&2
  exit 2
fi

# The JSON keeps every repetition and the aggregates (the console shows the aggregates only): the
# summary reads the medians, the report also the repetitions' labels (the aggregates carry none).
defaults=(--benchmark_repetitions=3 --benchmark_enable_random_interleaving=true
          --benchmark_display_aggregates_only=true)
# Progress: benchmarks finished / benchmarks in all, the time elapsed and, once one has finished,
# the estimated time left (the mean time per finished benchmark x the benchmarks left), the current
# binary and benchmark; on one line rewritten in place on a terminal (a line per benchmark otherwise).
total=0
for bin in "${binaries[@]}"; do
  count=$("$bin" --benchmark_list_tests=true "$@" 2>/dev/null | grep -c . || true)
  total=$((total + count))
done
finished=0
suite_start=$SECONDS
progress() { # $1: binary, $2: what is running or was last finished
  local line eta='' elapsed=$((SECONDS - suite_start)) left
  if ((finished > 0 && finished < total)); then
    left=$((elapsed * (total - finished) / finished))
    eta=$(printf ', ETA %dm%02ds' $((left / 60)) $((left % 60)))
  fi
  line=$(printf '[%d/%d benchmarks, %dm%02ds%s] %s: %s' "$finished" "$total" \
    $((elapsed / 60)) $((elapsed % 60)) "$eta" "$1" "$2")
  if [[ -t 1 ]]; then printf '\r\033[K%s' "${line:0:$(( $(tput cols 2>/dev/null || echo 120) - 1 ))}"; else printf '%s\n' "$line"; fi
}

status=0
rm -f "$out_dir/loadavg.txt"
# Where a benchmark may write more than its JSON (trident_bench_model: model_timeline.json, the
# planned and measured timelines of one pipeline step, drawn by report.py).
export TRIDENT_BENCH_OUT_DIR="$out_dir"
record_load() { # $1: binary, $2: start or end
  [[ -r /proc/loadavg ]] && printf '%s %s %s\n' "$1" "$2" "$(cat /proc/loadavg)" >>"$out_dir/loadavg.txt"
  return 0
}
for bin in "${binaries[@]}"; do
  name=$(basename "$bin")
  record_load "$name" start
  rm -f "$out_dir/$name.json"
  : >"$out_dir/$name.log"
  start=$SECONDS
  progress "$name" "starting"
  # The console output goes to the log; each benchmark's last line (its median, or its only row)
  # advances the progress count.
  set +e
  "$bin" "${defaults[@]}" "$@" --benchmark_out="$out_dir/$name.json" --benchmark_out_format=json 2>&1 |
    while IFS= read -r line; do
      printf '%s\n' "$line" >>"$out_dir/$name.log"
      # A benchmark is done at its median (repetitions) or at its only row (one repetition).
      if [[ $line =~ ^([^[:space:]]+)[[:space:]]+[0-9.]+[[:space:]](ns|us|ms|s)[[:space:]] ]]; then
        row=${BASH_REMATCH[1]}
        case $row in
          *_mean | *_stddev | *_cv) ;;
          *)
            finished=$((finished + 1))
            row=${row%_median}
            progress "$name" "${row%/real_time}"
            echo "$finished" >"$out_dir/.finished"
            ;;
        esac
      fi
    done
  rc=${PIPESTATUS[0]}
  set -e
  record_load "$name" end
  [[ -f $out_dir/.finished ]] && finished=$(cat "$out_dir/.finished")
  [[ -t 1 ]] && printf '\r\033[K'
  if [[ $rc -eq 0 ]]; then
    printf '== %s: done in %ds\n' "$name" $((SECONDS - start))
  else
    printf '== %s: FAILED (exit %d), see %s\n' "$name" "$rc" "$out_dir/$name.log"
    tail -n 5 "$out_dir/$name.log" | sed 's/^/   /'
    status=1
  fi
  if [[ ! -s $out_dir/$name.json ]]; then
    # A binary with nothing to measure (the GPU one without a GPU) writes no JSON: show why.
    rm -f "$out_dir/$name.json"
    tail -n 2 "$out_dir/$name.log" | sed 's/^/   /'
  fi
done
rm -f "$out_dir/.finished"

python3 "$here/summarize.py" "$out_dir" || status=1
exit $status
