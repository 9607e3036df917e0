#!/usr/bin/env bash
# Runs trident's benchmark suite and prints its summary table.
#
#   benchmarks/run-suite.sh <build-dir> <out-dir> [extra Google Benchmark flags...]
#
# Runs every benchmark binary built in <build-dir> (trident_bench_*, the GPU one included when it
# was built: without a GPU it says so and exits 0), writes each one's Google Benchmark JSON to
# <out-dir>/<binary>.json and its console output to <out-dir>/<binary>.log, then runs
# benchmarks/summarize.py <out-dir>, which prints the table and writes <out-dir>/summary.md.
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

defaults=(--benchmark_repetitions=3 --benchmark_enable_random_interleaving=true
          --benchmark_report_aggregates_only=true)
status=0
for bin in "${binaries[@]}"; do
  name=$(basename "$bin")
  rm -f "$out_dir/$name.json"
  printf '== %s ... ' "$name"
  start=$SECONDS
  if "$bin" "${defaults[@]}" "$@" --benchmark_out="$out_dir/$name.json" --benchmark_out_format=json \
       >"$out_dir/$name.log" 2>&1; then
    printf 'done in %ds\n' $((SECONDS - start))
  else
    rc=$?
    printf 'FAILED (exit %d), see %s\n' "$rc" "$out_dir/$name.log"
    tail -n 5 "$out_dir/$name.log" | sed 's/^/   /'
    status=1
  fi
  if [[ ! -s $out_dir/$name.json ]]; then
    # A binary with nothing to measure (the GPU one without a GPU) writes no JSON: show why.
    rm -f "$out_dir/$name.json"
    tail -n 2 "$out_dir/$name.log" | sed 's/^/   /'
  fi
done

python3 "$here/summarize.py" "$out_dir" || status=1
exit $status
