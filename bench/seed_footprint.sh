#!/bin/sh
# Peak RSS, RSS and PSS and the stripped binary size of the seed's self-ping, for the
# dynamic build and the static_deps build side by side, measured in one run. The two run
# one after the other: PSS splits shared pages between the processes mapping them, so it
# means something only with no other instance running.
#   bench/seed_footprint.sh [seconds]      (default 10; loopback only)
set -eu
cd "$(dirname "$0")/.."
secs=${1:-10}

build() {  # dir, extra meson options...
  dir=$1
  shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" --buildtype=release -Dtests=false "$@" >/dev/null
  meson compile -C "$dir" >/dev/null
}
build build-bench-dynamic
build build-bench-static -Dstatic_deps=true -Db_lto=true

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

printf '| build | stripped binary | peak RSS (VmHWM) | RSS | PSS | pings in %ss |\n|---|---|---|---|---|---|\n' "$secs"
for variant in dynamic static; do
  bin=build-bench-$variant/pingmesh
  stripped=$(mktemp)
  strip -o "$stripped" "$bin"
  size=$(stat -c %s "$stripped")
  rm -f "$stripped"

  port=$(free_port)
  out=$(mktemp)
  "$bin" -s "$port" -d 1 "http://localhost:$port/v1/ping" >"$out" 2>/dev/null &
  pid=$!
  sleep "$secs"
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
  kill -INT "$pid"
  wait "$pid"
  pings=$(grep -c ' msec ' "$out" || true)
  rm -f "$out"
  printf '| %s | %d KB | %d KB | %d KB | %d KB | %d |\n' "$variant" $((size / 1024)) "$hwm" "$rss" \
    "$pss" "$pings"
done
