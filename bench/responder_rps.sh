#!/bin/sh
# Responder requests per second next to nginx with one worker serving the same bytes, in
# one run: wrk (one thread, 16 connections, on CPU 0) against pingmesh's /v1/ping and
# against nginx's copy of it (both servers on CPU 1), with keep-alive and with
# `Connection: close`, over http and over https (the test certificate of
# tests/certs/make-certs.sh for both; TLS 1.2, which is all mbedTLS 2.28 speaks). wrk
# resumes its session when it reconnects, so its https `Connection: close` runs are
# abbreviated handshakes: nginx gets an in-process session cache as ours has, and no
# tickets (ours has none). Full handshakes are a row of their own, from four
# `openssl s_time -new` at once (never resumes). The clients come from 1,000 loopback
# addresses (bench/spread_source.c preloaded): the responder lets one address start 4
# handshakes a second, as it should; and tens of thousands of connections from one
# address would reuse its ports within the 60 s of the server's TIME-WAIT, where a SYN
# stalls for a second. nginx speaks the group and cipher suite ours picks (x25519,
# the suite s_client sees from ours). Our daemon defers accept (TCP_DEFER_ACCEPT); nginx does
# not by default, so the close row is run again against nginx's `listen ... deferred`. Rounds alternate which server goes first;
# the figures are the mean of the rounds. Loopback only.
#   bench/responder_rps.sh [seconds] [rounds] [older pingmesh binary]
# (default 5 2; VERBOSE=1 shows wrk's output). With an older binary, it is measured the same
# way in the same run, in columns of its own.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-2}
before=${3:-}
[ -z "$before" ] || before=$(realpath "$before")
dir=build-bench-dynamic
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || command -v "/usr/sbin/$tool" >/dev/null || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends wrk nginx-light >/dev/null ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk nginx-light >/dev/null; }
  }
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -f "$dir/build.ninja" ] || meson setup "$dir" --buildtype=release -Dtests=false >/dev/null
ninja -C "$dir" >/dev/null
meson compile -C "$dir" spread_source >/dev/null
spread="$PWD/$dir/bench/spread_source.so"

tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; sleep 0.2; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT PIPE TERM  # so that the EXIT trap runs on these too
tests/certs/make-certs.sh "$tmp" >/dev/null
set -- $(python3 -c 'import socket
ss = [socket.socket() for _ in range(7)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
pm_port=$1 pm_tls=$2 ng_port=$3 ng_tls=$4 old_port=$5 old_tls=$6 ng_deferred=$7

# A pingmesh responder: name, binary, port, tls port. Sets ${name}_pid.
pingmesh() {
  cat >"$tmp/$1.ini" <<EOF
[node]
port = $3
tls_port = $4
cert = $tmp/server.pem
key = $tmp/server.key
listen = 127.0.0.1
location = Lab
probe_self = no
EOF
  PINGMESH_CONFIG='' taskset -c 1 "$2" -q -C "$tmp/$1.ini" >/dev/null 2>&1 &
  eval "$1_pid=$!"
  pids="$pids $!"
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$3/v1/ping" && break; sleep 0.05; done
}
pingmesh pm "$dir/pingmesh" "$pm_port" "$pm_tls"
[ -z "$before" ] || pingmesh old "$before" "$old_port" "$old_tls"

# What our /v1/ping sends, for nginx to send the same: status, body, and any header
# nginx does not make itself.
curl -s -D "$tmp/headers" -o "$tmp/body" "http://127.0.0.1:$pm_port/v1/ping"
tr -d '\r' <"$tmp/headers" >"$tmp/h"
status=$(head -n 1 "$tmp/h" | awk '{print $2}')
ctype=$(sed -n 's/^[Cc]ontent-[Tt]ype: //p' "$tmp/h")
extra=$(sed -n '2,$p' "$tmp/h" | grep -v -i -E '^(content-type|content-length|connection|date|server):' |
  grep . | sed 's/^\([^:]*\): \(.*\)$/      add_header \1 "\2" always;/' || true)
if grep -q '[$"\\]' "$tmp/body"; then echo "body has \$, \" or \\: cannot quote it for nginx" >&2; exit 1; fi
body=$(cat "$tmp/body"; echo x)  # keep trailing newlines
body=${body%x}
# The cipher suite ours picks, for nginx to use the same (OpenSSL's name).
suite=$(echo | openssl s_client -connect "127.0.0.1:$pm_tls" 2>/dev/null | awk '/^ *Cipher *:/ {print $3}')

mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  server_tokens off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  ssl_certificate $tmp/server.pem;
  ssl_certificate_key $tmp/server.key;
  ssl_protocols TLSv1.2;
  ssl_ecdh_curve X25519:prime256v1;
  ssl_ciphers $suite;
  ssl_session_cache builtin:256;
  ssl_session_tickets off;
  server {
    listen 127.0.0.1:$ng_port;
    listen 127.0.0.1:$ng_tls ssl;
    listen 127.0.0.1:$ng_deferred deferred;  # TCP_DEFER_ACCEPT, as our daemon's listeners
    location = /v1/ping {
      default_type "$ctype";
$extra
      return $status "$body";
    }
  }
}
EOF
taskset -c 1 "$nginx" -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx.conf" &
ng_pid=$!
pids="$pids $ng_pid"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$ng_port/v1/ping" && break; sleep 0.05; done
curl -s -o "$tmp/ng_body" "http://127.0.0.1:$ng_port/v1/ping"
cmp -s "$tmp/body" "$tmp/ng_body" || { echo "nginx does not send the same body" >&2; exit 1; }

since() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }  # seconds from $1 to $2

ticks() {  # utime+stime of a process and its children that are alive now
  for p in $1 $(pgrep -P "$1" || true); do awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat"; done |
    awk '{t += $1} END {print t + 0}'
}

# One wrk run: server pid, url, keep|close, plain|spread (source addresses). Prints
# "rps server-cpu% errors wrk-cpu%".
one() {
  hdr="" pre=""
  [ "$3" = close ] && hdr="Connection: close"
  [ "$4" = spread ] && pre=$spread
  t0=$(ticks "$1") s0=$(date +%s.%N)
  LD_PRELOAD=$pre taskset -c 0 wrk -t1 -c16 -d"${secs}s" ${hdr:+-H "$hdr"} "$2" >"$tmp/wrk" 2>&1 &
  wrk=$!
  sleep "$secs"
  w=$(ticks "$wrk" 2>/dev/null || echo 0)  # wrk's own CPU, read just before it ends
  wait "$wrk" || true
  t1=$(ticks "$1") s1=$(date +%s.%N)
  out=$(cat "$tmp/wrk")
  [ -z "${VERBOSE:-}" ] || echo "$out" >&2
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  errors=$(echo "$out" | awk '/Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
    /Non-2xx/ {n += $NF} END {print n + 0}')
  hz=$(getconf CLK_TCK)
  server=$(awk -v a="$t0" -v b="$t1" -v s="$(since "$s0" "$s1")" -v hz="$hz" \
    'BEGIN {printf "%.0f", (b - a) / hz / s * 100}')
  client=$(awk -v w="$w" -v s="$secs" -v hz="$hz" 'BEGIN {printf "%.0f", w / hz / s * 100}')
  echo "$rps $server $errors $client"
}

# Full handshakes: server pid, port. Prints "handshakes/s cpu% errors", errors being
# the s_time runs that failed.
full() {
  t0=$(ticks "$1") s0=$(date +%s.%N)
  clients=""
  for i in 1 2 3 4; do
    LD_PRELOAD=$spread taskset -c 0 openssl s_time -connect "127.0.0.1:$2" -new -www /v1/ping \
      -time "$secs" >"$tmp/s_time.$i" 2>&1 &
    clients="$clients $!"
  done
  for c in $clients; do wait "$c" || true; done
  t1=$(ticks "$1") s1=$(date +%s.%N)
  [ -z "${VERBOSE:-}" ] || cat "$tmp"/s_time.* >&2
  cat "$tmp"/s_time.* | awk -v a="$t0" -v b="$t1" -v s="$(since "$s0" "$s1")" \
    -v hz="$(getconf CLK_TCK)" '/connections in [0-9]+ real seconds/ {n += $1; runs++}
    END {printf "%.1f %.0f %d -\n", n / s, (b - a) / hz / s * 100, 4 - runs}'
}

echo "load average before: $(cut -d' ' -f1 /proc/loadavg)"
olds=""
[ -z "$before" ] || olds=yes
for s in "pingmesh $pm_port" ${olds:+"before $old_port"} "nginx $ng_port"; do
  set -- $s
  echo "$1 /v1/ping: $(curl -s -o /dev/null -w '%{http_code}, %{size_header} bytes of head, %{size_download} of body' \
    "http://127.0.0.1:$2/v1/ping"); head fields: $(curl -s -o /dev/null -D - "http://127.0.0.1:$2/v1/ping" |
    sed -n '2,$s/:.*//p' | tr -d '\r' | grep . | tr '\n' ' ')"
done
for s in "pingmesh $pm_tls" ${olds:+"before $old_tls"} "nginx $ng_tls"; do
  set -- $s
  echo "$1 https: $(echo | openssl s_client -connect "127.0.0.1:$2" 2>/dev/null |
    awk '/Server Temp Key/ {sub(/.*Key: /, ""); k = $0} /^ *Protocol *:/ {p = $3}
      /^ *Cipher *:/ {c = $3} END {print p, c, k}')"
done
echo
head="| wrk -t1 -c16, ${secs} s x $rounds rounds | pingmesh req/s | nginx req/s | ratio | budget | server CPU % (pingmesh / nginx) | ratio per server CPU second | client CPU % (pingmesh / nginx) | errors (pingmesh / nginx) |"
rule="|---|---|---|---|---|---|---|---|---|"
if [ -n "$before" ]; then
  head="$head before req/s | before ratio | before server CPU % | before ratio per server CPU second | before errors |"
  rule="$rule---|---|---|---|---|"
fi
echo "$head"
echo "$rule"
servers="pm ng"
[ -z "$before" ] || servers="pm old ng"
# The last field: nginx's port for the row, when not the plain or TLS one.
for mode in "http keep-alive|http|keep|spread" \
  "http Connection: close|http|close|spread" \
  "http Connection: close, nginx \`listen ... deferred\`|http|close|spread|$ng_deferred" \
  "https keep-alive|https|keep|spread" \
  "https Connection: close (resumed)|https|close|spread" \
  "https full handshakes, 4 x s_time -new|https|full|spread"; do
  IFS='|' read -r label scheme conn how ng_row_port <<EOF
$mode
EOF
  for who in $servers; do : >"$tmp/$who"; done
  for r in $(seq "$rounds"); do
    # Odd rounds in order, even rounds reversed.
    order=$servers
    [ $((r % 2)) = 1 ] || order=$(echo $servers | awk '{for (i = NF; i; i--) printf "%s ", $i}')
    for who in $order; do
      case $who in
        pm) pid=$pm_pid plain=$pm_port tls=$pm_tls ;;
        old) pid=$old_pid plain=$old_port tls=$old_tls ;;
        ng) pid=$ng_pid plain=${ng_row_port:-$ng_port} tls=$ng_tls ;;
      esac
      if [ "$scheme" = https ]; then port=$tls; else port=$plain; fi
      if [ "$conn" = full ]; then
        full "$pid" "$port" >>"$tmp/$who"
      else
        one "$pid" "$scheme://127.0.0.1:$port/v1/ping" "$conn" "$how" >>"$tmp/$who"
      fi
      sleep 1
    done
  done
  mean='{r += $1; c += $2; e += $3; w += $4} END {printf "%.0f %.0f %d %s", r / NR, c / NR, e,
    $4 == "-" ? "-" : sprintf("%.0f", w / NR)}'
  pm=$(awk "$mean" "$tmp/pm")
  ng=$(awk "$mean" "$tmp/ng")
  old="- - - -"
  [ -z "$before" ] || old=$(awk "$mean" "$tmp/old")
  echo "$pm $ng $old" | awk -v label="$label" -v before="$before" '{
    ratio = $5 > 0 ? $1 / $5 : 0
    per_cpu = $2 > 0 && $5 > 0 && $6 > 0 ? ($1 / $2) / ($5 / $6) : 0
    printf "| %s | %d | %d | %.2f | >= 1.2: %s | %d / %d | %.2f | %s / %s | %d / %d |", label,
      $1, $5, ratio, (ratio >= 1.2 ? "met" : "MISSED"), $2, $6, per_cpu, $4, $8, $3, $7
    if (before != "") {
      old_ratio = $5 > 0 ? $9 / $5 : 0
      old_per_cpu = $10 > 0 && $5 > 0 && $6 > 0 ? ($9 / $10) / ($5 / $6) : 0
      printf " %d | %.2f | %d | %.2f | %d |", $9, old_ratio, $10, old_per_cpu, $11
    }
    printf "\n"}'
done
echo "load average after: $(cut -d' ' -f1 /proc/loadavg)"
