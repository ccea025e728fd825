#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECS seconds each, one after the other, and prints
# a line per target: executions, corpus size, crashes. Seeds come from ../captures (made again
# when a target's corpus folder is empty). Needs a nightly toolchain and cargo-fuzz.
#   fuzz/run.sh 30                 # the smoke run of .ci/run
#   fuzz/run.sh 600 pipeline sip   # a longer run of two targets
# FUZZ_BUILD: cargo-fuzz build options, `-O` (optimised, the default) or `--dev` (builds in a
# third of the time, runs slower: the CI smoke run).
# Exit status: 1 when a target crashed (its input is in fuzz/artifacts/<target>/), 2 when the
# targets do not build.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-30}
read -r -a build <<< "${FUZZ_BUILD:--O}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
need_seeds=0
for t in "${targets[@]}"; do
  if [ -z "$(ls -A "corpus/$t" 2>/dev/null)" ]; then need_seeds=1; fi
done
if [ $need_seeds = 1 ]; then
  cargo run -q --example seeds -- ../captures corpus
fi
if ! cargo +nightly fuzz build "${build[@]}" >build.log 2>&1; then
  tail -30 build.log >&2
  exit 2
fi
failed=0
printf '%-16s %12s %10s %8s %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  log=$(mktemp)
  if cargo +nightly fuzz run "${build[@]}" "$t" -- -max_total_time="$secs" -rss_limit_mb=1024 \
      -print_final_stats=1 -close_fd_mask=3 >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/artifacts/$t/)"
    failed=1
    tail -40 "$log" >&2
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  units=$(ls "corpus/$t" | wc -l)
  printf '%-16s %12s %10s %8s %s\n' "$t" "${execs:-0}" "${rate:-0}" "$units" "$result"
  rm -f "$log"
done
exit $failed
