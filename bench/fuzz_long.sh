#!/bin/bash
# The long fuzz runs behind the figures in bench/README.md: each libFuzzer target in turn
# (one process, niced), to RUNS executions or SECONDS, whichever comes first, from its
# seeds into a scratch corpus. Prints one line per target: executions, exec/s, cov, ft,
# and the crash files written (none expected).
#   bench/fuzz_long.sh [RUNS] [SECONDS] [target ...]
set -eu
cd "$(dirname "$0")/.."
runs=${1:-10000000}
seconds=${2:-900}
shift $(($# < 2 ? $# : 2))
targets=${*:-response responder url ini imds_json aws_xml san}

[ -f build-fuzz/build.ninja ] ||
  CC=clang CXX=clang++ meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined \
    -Db_lundef=false >&2
meson compile -C build-fuzz >&2
out=$(mktemp -d)
echo "target executions exec/s cov ft crashes (logs in $out)"
for t in $targets; do
  mkdir -p "$out/corpus-$t"
  extra=""
  [ "$t" = response ] && extra=-max_len=16384  # as in tests/fuzz/meson.build
  nice -n 19 build-fuzz/tests/fuzz/fuzz_$t -runs="$runs" -max_total_time="$seconds" -timeout=10 \
    -print_final_stats=1 $extra -artifact_prefix="$out/$t-" "$out/corpus-$t" tests/fuzz/corpus/$t \
    >"$out/$t.log" 2>&1 || true
  last=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log")
  cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  crashes=$(find "$out" -maxdepth 1 -name "$t-*" | wc -l)
  echo "$t ${execs:-?} ${rate:-?} ${cov:-?} ${ft:-?} $crashes"
done
