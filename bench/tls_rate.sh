#!/bin/sh
# TLS probes per second on one core next to `openssl s_time` against the same
# `openssl s_server` (full handshakes both), as a ratio; then peak RSS of the daemon
# probing an https peer next to an http one. Loopback only.
#   bench/tls_rate.sh [seconds]   (default 10)
set -eu
cd "$(dirname "$0")/.."
secs=${1:-10}
dir=build-bench-dynamic
[ -f "$dir/build.ninja" ] || meson setup "$dir" --buildtype=release -Dtests=false >/dev/null
ninja -C "$dir" >/dev/null  # regenerates the build when meson files changed
meson compile -C "$dir" tls_probe_rate >/dev/null

certs=$(mktemp -d)
tests/certs/make-certs.sh "$certs" >/dev/null
log=$(mktemp)
openssl s_server -accept 127.0.0.1:0 -cert "$certs/server.pem" -key "$certs/server.key" -www >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$certs" "$log"' EXIT
for _ in $(seq 50); do grep -q ACCEPT "$log" && break; sleep 0.1; done
port=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$log" | head -n 1)

ours=$("$dir/bench/tls_probe_rate" "https://localhost:$port/" "$certs/ca.pem" "$secs")
theirs=$(openssl s_time -connect "127.0.0.1:$port" -new -time "$secs" -www / 2>/dev/null |
  sed -n 's/.* \([0-9.]*\) connections\/user sec.*/\1/p' | head -n 1)
theirs_real=$(openssl s_time -connect "127.0.0.1:$port" -new -time "$secs" -www / 2>/dev/null |
  sed -n 's/^\([0-9]*\) connections in \([0-9]*\) real seconds.*/\1 \2/p' | head -n 1)
our_rate=$(echo "$ours" | awk '{print $8}')
their_rate=$(echo "$theirs_real" | awk '{printf "%.1f", $1 / $2}')
echo "| client | full handshakes + GET per second (wall) |"
echo "|---|---|"
echo "| pingmesh (mbedTLS $(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null)) | $our_rate |"
echo "| openssl s_time -new (OpenSSL $(openssl version | awk '{print $2}')) | $their_rate (per user-CPU second: $theirs) |"
echo "ratio pingmesh / s_time (wall): $(awk -v a="$our_rate" -v b="$their_rate" 'BEGIN {printf "%.2f", a / b}')"

rss() {  # url [extra args]: peak RSS of the daemon probing url every second for $secs
  "$dir/pingmesh" -q -d 1 --ca-file "$certs/ca.pem" "$1" >/dev/null 2>&1 &
  pid=$!
  sleep "$secs"
  awk '/VmHWM/ {print $2}' "/proc/$pid/status"
  kill -INT "$pid"
  wait "$pid" || true
}
echo
echo "| peer | peak RSS (VmHWM) |"
echo "|---|---|"
echo "| https://localhost (s_server) | $(rss "https://localhost:$port/") KB |"
echo "| http://127.0.0.1 (closed port: failures) | $(rss "http://127.0.0.1:1/") KB |"
