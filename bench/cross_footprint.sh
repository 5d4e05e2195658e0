#!/bin/sh
# The static build (-Dstatic_deps=true, release, LTO: as seed_footprint.sh) for each
# architecture: stripped size, and the seed's self-ping run under qemu-user for a while
# with its peak RSS (VmHWM of the qemu process: qemu's translator and code cache
# included, so not what a Pi would show) and its peak malloc heap (bench/heap_peak.c,
# preloaded: what the program itself asks for). amd64 runs natively beside them, so the
# two figures can be read against a real VmHWM.
#   bench/cross_footprint.sh [seconds] [arch ...]   (default 10; amd64 arm64 armhf)
# Needs scripts/cross.sh ARCH run once (it installs the cross compilers, qemu, sysroot).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-10}
[ $# -gt 0 ] && shift
arches=${*:-amd64 arm64 armhf}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

printf '| arch | stripped binary | peak RSS (VmHWM) | peak heap in use | malloc arena at exit | pings in %ss |\n|---|---|---|---|---|---|\n' "$secs"
for arch in $arches; do
  case $arch in
    amd64) triplet=x86_64-linux-gnu cross="" run="" cflags="" ;;
    arm64) triplet=aarch64-linux-gnu cross=cross/aarch64-linux-gnu.ini run=qemu-aarch64-static
           cflags="" ;;
    armhf) triplet=arm-linux-gnueabihf cross=cross/arm-linux-gnueabihf.ini
           sysroot=/var/cache/pingmesh-cross/armhf/root
           run="qemu-arm-static -L $sysroot" cflags="--sysroot=$sysroot" ;;
    *) echo "unknown arch $arch" >&2; exit 64 ;;
  esac
  dir=build-bench-$arch-static
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" ${cross:+--cross-file "$cross"} --buildtype=release -Dtests=false \
      -Dstatic_deps=true -Db_lto=true >/dev/null
  fi
  nice -n 10 meson compile -C "$dir" >/dev/null
  # shellcheck disable=SC2086
  $triplet-gcc $cflags -O2 -shared -fPIC -o "$dir/heap_peak.so" bench/heap_peak.c
  $triplet-strip -o "$dir/pingmesh.stripped" "$dir/pingmesh"
  size=$(stat -c %s "$dir/pingmesh.stripped")

  port=$(free_port)
  out=$(mktemp) err=$(mktemp)
  if [ -n "$run" ]; then
    # shellcheck disable=SC2086
    $run -E LD_PRELOAD="$PWD/$dir/heap_peak.so" "$dir/pingmesh" -s "$port" -d 1 \
      "http://localhost:$port/v1/ping" >"$out" 2>"$err" &
  else
    LD_PRELOAD="$PWD/$dir/heap_peak.so" "$dir/pingmesh" -s "$port" -d 1 \
      "http://localhost:$port/v1/ping" >"$out" 2>"$err" &
  fi
  pid=$!
  sleep "$secs"
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -INT "$pid"
  wait "$pid" || true
  pings=$(grep -c ' msec ' "$out" || true)
  heap=$(sed -n 's/.*peak_in_use=\([0-9]*\).*/\1/p' "$err")
  arena=$(sed -n 's/.*arena=\([0-9]*\).*/\1/p' "$err")
  rm -f "$out" "$err"
  printf '| %s%s | %d KB | %d KB | %d KB | %d KB | %d |\n' "$arch" "${run:+ (qemu)}" \
    $((size / 1024)) "$hwm" $((${heap:-0} / 1024)) $((${arena:-0} / 1024)) "$pings"
done
