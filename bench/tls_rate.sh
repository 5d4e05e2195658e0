#!/bin/sh
# CPU per full TLS handshake (TLS 1.2, ECDHE, a new connection each), against the 3 ms
# budget, for an ECDSA P-256 and an RSA-2048 server key (both under an RSA-2048 CA):
#   client: our https probe (tls_probe_rate: one peer probing back to back) next to
#     `openssl s_time -new`, both against the same `openssl s_server -www`;
#   responder: our https responder (tls_responder: the daemon's Responder, TLS config
#     and ping page, without the daemon's 4 handshakes a second per address) next to
#     `openssl s_server -www` with the same key, both under `openssl s_time -new`.
# Our CPU: getrusage (probe), /proc/PID/stat utime+stime before and after (responder).
# s_time's: its rusage as a child; s_server's: /proc/PID/stat. Then peak RSS of the
# daemon probing an https peer next to an http one (RSS and PSS too). Loopback only.
# Each for the release builds dynamic (Debian's mbedTLS) and static (-Dstatic_deps=true
# -Db_lto=true: the bundled mbedTLS, subprojects/mbedtls.wrap), in one run.
#   bench/tls_rate.sh [seconds]   (default 10, per measurement)
#   TLS_BUILDS="static" bench/tls_rate.sh   one of them only
set -eu
cd "$(dirname "$0")/.."
secs=${1:-10}
builds=${TLS_BUILDS:-dynamic static}
for b in $builds; do
  d=build-bench-$b
  opts=""
  [ "$b" = static ] && opts="-Dstatic_deps=true -Db_lto=true"
  # shellcheck disable=SC2086
  [ -f "$d/build.ninja" ] || meson setup "$d" --buildtype=release -Dtests=false $opts >/dev/null
  ninja -C "$d" >/dev/null  # regenerates the build when meson files changed
  meson compile -C "$d" tls_probe_rate tls_responder >/dev/null
done

tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
for k in ec rsa; do
  SERVER_KEY=$k CA_KEY=rsa tests/certs/make-certs.sh "$tmp/$k" >/dev/null
done
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime

# openssl s_server -www with key type $1 on a free port; sets server_pid, server_port.
start_s_server() {
  : >"$tmp/s_server.log"
  openssl s_server -accept 127.0.0.1:0 -cert "$tmp/$1/server.pem" -key "$tmp/$1/server.key" \
    -www >"$tmp/s_server.log" 2>&1 &
  server_pid=$!
  pids="$pids $server_pid"
  for _ in $(seq 50); do grep -q ACCEPT "$tmp/s_server.log" && break; sleep 0.1; done
  server_port=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$tmp/s_server.log" | head -n 1)
}

# Our responder with key type $1; sets server_pid, server_port.
start_ours() {
  : >"$tmp/ours.log"
  "$dir/bench/tls_responder" "$tmp/$1/server.pem" "$tmp/$1/server.key" $((secs + 30)) \
    >"$tmp/ours.log" &
  server_pid=$!
  pids="$pids $server_pid"
  for _ in $(seq 50); do grep -q port "$tmp/ours.log" && break; sleep 0.1; done
  server_port=$(awk '/^port/ {print $2}' "$tmp/ours.log")
}

stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }

# s_time -new for $secs against 127.0.0.1:$1, path $2, CA of key type $3: prints
# "connections per_wall_second cpu_ms_per_connection" (its own CPU, user + system).
s_time() {
  python3 - "$secs" "$1" "$2" "$tmp/$3/ca.pem" <<'PY'
import re, resource, subprocess, sys
secs, port, path, ca = sys.argv[1:]
out = subprocess.run(["openssl", "s_time", "-connect", "127.0.0.1:" + port, "-new", "-tls1_2",
                      "-CAfile", ca, "-verify", "2", "-time", secs, "-www", path],
                     capture_output=True, text=True).stdout
m = re.search(r"^(\d+) connections in (\d+) real seconds", out, re.M)
n, wall = (int(m.group(1)), int(m.group(2))) if m else (0, 1)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(n, "%.1f" % (n / wall), "%.3f" % ((r.ru_utime + r.ru_stime) * 1000 / max(n, 1)))
PY
}

# A responder's CPU per handshake under s_time: $1 = ours | s_server, $2 = key type.
# Prints "per_wall_second cpu_ms_per_handshake".
responder() {
  if [ "$1" = ours ]; then start_ours "$2"; path=/v1/ping; else start_s_server "$2"; path=/; fi
  before=$(cpu_ticks "$server_pid")
  set -- $(s_time "$server_port" "$path" "$2")
  after=$(cpu_ticks "$server_pid")
  stop_server
  awk -v n="$1" -v r="$2" -v t=$((after - before)) -v hz="$tck" \
    'BEGIN {printf "%s %.3f\n", r, n ? t * 1000 / hz / n : 0}'
}

mbedtls=$(dpkg-query -W -f="\${Version}\n" libmbedtls-dev 2>/dev/null | head -n 1)
ossl=$(openssl version | awk '{print $2}')
echo "TLS 1.2 full handshakes, ${secs}s each, CA RSA-2048; mbedTLS: Debian's $mbedtls" \
  "(dynamic), 2.28.3 bundled (static); OpenSSL $ossl;" \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| build | server key | side | pingmesh: per s (wall) | pingmesh: CPU ms each | openssl: per s (wall) | openssl: CPU ms each | budget |"
echo "|---|---|---|---|---|---|---|---|"
for b in $builds; do
  dir=build-bench-$b
  for k in ec rsa; do
    name=$([ "$k" = ec ] && echo "ECDSA P-256" || echo "RSA-2048")
    start_s_server "$k"
    set -- $("$dir/bench/tls_probe_rate" "https://localhost:$server_port/" "$tmp/$k/ca.pem" "$secs")
    our_rate=$8 our_cpu=${10}
    set -- $(s_time "$server_port" / "$k")
    stop_server
    echo "| $b | $name | client: https probe / s_time -new | $our_rate | $our_cpu | $2 | $3 | 3 ms |"
    set -- $(responder ours "$k")
    ours_rate=$1 ours_cpu=$2
    set -- $(responder s_server "$k")
    echo "| $b | $name | responder / s_server -www | $ours_rate | $ours_cpu | $1 | $2 | 3 ms |"
  done
done

start_s_server ec
rss() {  # url: peak RSS, RSS and PSS of the daemon probing url every second for $secs
  "$dir/pingmesh" -q -d 1 --ca-file "$tmp/ec/ca.pem" "$1" >/dev/null 2>&1 &
  pid=$!
  sleep "$secs"
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  now=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
  echo "$hwm KB | $now KB | $pss KB"
  kill -INT "$pid"
  wait "$pid" || true
}
echo
echo "other pingmesh processes running (they share library pages, lowering PSS): $(pgrep -c pingmesh || true)"
echo "| build | peer | peak RSS (VmHWM) | RSS | PSS |"
echo "|---|---|---|---|---|"
for b in $builds; do
  dir=build-bench-$b
  echo "| $b | https://localhost (s_server, ECDSA P-256) | $(rss "https://localhost:$server_port/") |"
  echo "| $b | http://127.0.0.1 (closed port: failures) | $(rss "http://127.0.0.1:1/") |"
done
stop_server
