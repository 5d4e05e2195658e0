#!/bin/sh
# The footprint budgets, checked (a step of .ci/run): the stripped binary, and the peak
# RSS (VmHWM), RSS, PSS and private memory (Private_Clean + Private_Dirty) of the seed's
# self-ping `pingmesh -s PORT -d 1 http://localhost:PORT/v1/ping`, for the release builds
# dynamic and static (-Dstatic_deps=true -Db_lto=true), one after the other. Each figure is
# printed next to its budget; the exit status is 1 when one is over. Sizes and memory only:
# timings vary too much from run to run for a budget.
#   bench/footprint_check.sh [seconds]      (default 6; loopback only)
# FOOTPRINT_SCALE=90 scales every budget to 90% (to see the check fail);
# FOOTPRINT_DYNAMIC=path FOOTPRINT_STATIC=path measure other binaries (an older commit's).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-6}

# Budgets in KB, build by build: the highest of several runs on 2026-12-01 (CI's among
# them), sizes plus about 5%, memory plus 8%, so nothing creeps in unseen (sizes are
# exact; memory moves by up to 8% between runs, with where ASLR puts the 64 KB windows
# the kernel maps around each page fault). Measured
# on a quiet machine, as CI's is: with other processes mapping the same libraries, pss and
# private read low. The issue's targets beside them (bench/README.md says where the rest
# goes for those not met). Lower a budget when a change makes room; never raise one
# without saying why in bench/README.md. 2026-12-02: the static build's lowered by what
# the bundled mbedTLS (subprojects/mbedtls.wrap) saved, measured before and after in one
# run: the stripped binary 993 KB + 5%; peak RSS the highest of six runs + 8%; pss_alone
# and private the quiet machine's (CI's) figures less the saving (67 and 68 KB), + 8%: a
# busy machine reads them 200 KB lower, so its own would fail CI. The dynamic build's,
# since libstdc++ is linked in: the figures of a busy machine plus the 3% CI read above
# them, plus 8%; private with room, since CI's has libuv's, c-ares' and mbedTLS' pages to
# itself.
#        build   figure   budget  target
budgets='
static   stripped  1024  1024
static   peak_rss  2940  2560
static   pss_alone 1530  1229
static   private   1190  -
dynamic  stripped   865  -
dynamic  peak_rss  3560  -
dynamic  pss_alone 2060  2458
dynamic  private   1720  -
'
scale=${FOOTPRINT_SCALE:-100}

build() {  # dir, extra meson options...
  dir=$1
  shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" --buildtype=release -Dtests=false "$@" >/dev/null
  meson compile -C "$dir" >/dev/null
}
[ -n "${FOOTPRINT_DYNAMIC:-}" ] || build build-bench-dynamic
[ -n "${FOOTPRINT_STATIC:-}" ] || build build-bench-static -Dstatic_deps=true -Db_lto=true

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

others=$(pgrep -c -x pingmesh || true)
[ "$others" = 0 ] ||
  echo "note: $others other pingmesh process(es) running: they share pages, so pss reads low (pss_alone does not)"

figures=$(mktemp)
for variant in dynamic static; do
  bin=build-bench-$variant/pingmesh
  [ "$variant" = dynamic ] && bin=${FOOTPRINT_DYNAMIC:-$bin}
  [ "$variant" = static ] && bin=${FOOTPRINT_STATIC:-$bin}
  stripped=$(mktemp)
  strip -o "$stripped" "$bin"
  echo "$variant stripped $(($(stat -c %s "$stripped") / 1024))" >>"$figures"
  rm -f "$stripped"

  port=$(free_port)
  out=$(mktemp)
  "$bin" -s "$port" -d 1 "http://localhost:$port/v1/ping" >"$out" 2>&1 &
  pid=$!
  sleep "$secs"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: the $variant self-ping exited early:"
    cat "$out"
    exit 1
  fi
  {
    awk -v v="$variant" '/^VmHWM/ {print v, "peak_rss", $2} /^VmRSS/ {print v, "rss", $2}' \
      "/proc/$pid/status"
    awk -v v="$variant" '/^Pss:/ {print v, "pss", $2} /^Private_(Clean|Dirty):/ {p += $2}
      END {print v, "private", p}' "/proc/$pid/smaps_rollup"
    # PSS as if no other pingmesh ran (the issue's figure, and one that does not depend on
    # who else runs on a shared CI machine): libc's and the loader's pages at their share,
    # since every process maps them; every other page in full (libuv, mbedTLS, c-ares and
    # libstdc++ are mapped by pingmesh alone on a router).
    awk -v v="$variant" '/^[0-9a-f]+-[0-9a-f]+ / {name = $6} /^Rss:/ {rss = $2}
      /^Pss:/ {a += (name ~ /\/(libc\.so\.6|ld-linux[^\/]*\.so\.2)$/ || name == "[vdso]") ? $2 : rss}
      END {print v, "pss_alone", a}' "/proc/$pid/smaps"
  } >>"$figures"
  kill -INT "$pid"
  wait "$pid" || true
  pings=$(grep -c ' msec ' "$out" || true)
  rm -f "$out"
  if [ "$pings" -lt $((secs / 2)) ]; then
    echo "FAIL: the $variant self-ping answered $pings pings in ${secs}s"
    exit 1
  fi
done

# Each figure, its budget and the issue's target; over budget fails.
status=0
echo "$budgets" | awk -v scale="$scale" -v secs="$secs" '
  NR == FNR { if (NF) { cap[$1 " " $2] = int($3 * scale / 100); target[$1 " " $2] = $4 }; next }
  { value[$1 " " $2] = $3 }
  END {
    printf "%-8s %-9s %9s %9s %9s  %s\n", "build", "figure", "KB", "budget", "target", "result"
    split("dynamic static", builds, " ")
    split("stripped peak_rss rss pss pss_alone private", names, " ")
    over = 0
    for (b = 1; b <= 2; ++b) for (n = 1; n <= 6; ++n) {
      k = builds[b] " " names[n]
      if (!(k in value)) { printf "%-8s %-9s missing\n", builds[b], names[n]; over = 1; continue }
      if (k in cap) {
        result = value[k] <= cap[k] ? "ok" : "OVER BUDGET"
        if (value[k] > cap[k]) over = 1
        printf "%-8s %-9s %9d %9d %9s  %s\n", builds[b], names[n], value[k], cap[k], target[k], result
      } else {
        printf "%-8s %-9s %9d %9s %9s  (no budget)\n", builds[b], names[n], value[k], "-", "-"
      }
    }
    print (over ? "footprint: OVER BUDGET" : "footprint: within budget") " (self-ping " secs " s; KB = 1024 bytes; target - = none given)"
    exit over
  }' - "$figures" || status=$?
rm -f "$figures"
exit $status
