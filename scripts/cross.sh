#!/bin/sh
# Cross builds for routers and Raspberry Pis, tested under qemu-user. As root on Debian 12:
#   scripts/cross.sh ARCH [--static] [--test] [--quick]
#     ARCH      arm64 (Debian's arm64 -dev packages by multiarch) or armhf (a sysroot of
#               Debian's armhf packages, made by mmdebstrap and cached)
#     --static  -Dstatic_deps=true, built in build-ARCH-static (else build-ARCH)
#     --test    the unit and loopback suites under qemu (the cross file's exe_wrapper),
#               then the seed's self-ping under qemu; --quick: the unit suite only, then
#               the self-ping (CI's short form)
#     --setup   only install and cache what a cross build needs, and print the meson
#               arguments for one (scripts/package.sh makes its own build with them)
# Installs what is missing first (idempotent). The system suites (pytest, namespaces,
# nspawn) are not run here: they test the daemon's behaviour, which the host build covers.
set -eu
cd "$(dirname "$0")/.."

CACHE=/var/cache/pingmesh-cross
SELFPING_SECONDS=${SELFPING_SECONDS:-12}
# Compiles yield to latency-sensitive tests running beside them.
NICE="nice -n 10"

arch=${1:-}
shift || true
static=false test=false quick=false setup=false
for a in "$@"; do
  case $a in
    --static) static=true ;;
    --test) test=true ;;
    --quick) quick=true ;;
    --setup) setup=true ;;
    *) echo "unknown argument: $a" >&2; exit 64 ;;
  esac
done

COMMON="meson ninja-build pkg-config qemu-user-static binfmt-support node-llhttp libjsmn-dev ccache"
case $arch in
  arm64)
    triplet=aarch64-linux-gnu qemu=qemu-aarch64-static qemu_args=""
    PACKAGES="$COMMON g++-aarch64-linux-gnu libuv1-dev:arm64 libc-ares-dev:arm64
      libmbedtls-dev:arm64 libinih-dev:arm64 libgtest-dev:arm64"
    ;;
  armhf)
    triplet=arm-linux-gnueabihf qemu=qemu-arm-static qemu_args="-L $CACHE/armhf/root"
    PACKAGES="$COMMON g++-arm-linux-gnueabihf mmdebstrap"
    ;;
  *)
    echo "usage: $0 arm64|armhf [--static] [--test] [--quick]" >&2
    exit 64
    ;;
esac
# The armhf sysroot: what the build links and what qemu loads at run time.
SYSROOT_PACKAGES="libc6-dev,libstdc++-12-dev,libuv1-dev,libc-ares-dev,libmbedtls-dev,libinih-dev,\
libgtest-dev,libjsmn-dev"

# Wait for the dpkg lock rather than fail when another install is running.
APT="apt-get -o DPkg::Lock::Timeout=600"
apt_updated=false
apt_update() {
  $apt_updated || $APT update -qq
  apt_updated=true
}

install_missing() {
  export DEBIAN_FRONTEND=noninteractive
  if [ "$arch" = arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "adding dpkg architecture arm64" >&2
    dpkg --add-architecture arm64
    apt_update
  fi
  missing=""
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "installing:$missing" >&2
    apt_update
    # shellcheck disable=SC2086
    $APT install -y -qq --no-install-recommends $missing >/dev/null
  fi
  # The host's own packages must still install: a foreign architecture's Multi-Arch: same
  # libraries have to stay at the host's versions.
  $APT check -qq >&2
}

# The armhf sysroot, made once and kept while its package list is the same.
armhf_sysroot() {
  dir=$CACHE/armhf
  if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$SYSROOT_PACKAGES" ]; then
    return 0
  fi
  echo "making the armhf sysroot in $dir/root" >&2
  rm -rf "$dir/root.new" && mkdir -p "$dir"
  mmdebstrap --quiet --variant=extract --architectures=armhf --include="$SYSROOT_PACKAGES" \
    bookworm "$dir/root.new" http://deb.debian.org/debian >&2
  rm -rf "$dir/root" && mv "$dir/root.new" "$dir/root"
  echo "$SYSROOT_PACKAGES" >"$dir/stamp"
}

install_missing
[ "$arch" = armhf ] && armhf_sysroot

# Compiles go through ccache, kept in the cache beside the sysroot: a fresh clone (CI's)
# rebuilds from it. Paths are made relative to the clone so another folder hits too.
export CCACHE_DIR=$CACHE/ccache CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=2G
ccache_file=$CACHE/ccache-$triplet.ini
printf "[binaries]\nc = ['ccache', '%s-gcc']\ncpp = ['ccache', '%s-g++']\n" "$triplet" "$triplet" \
  >"$ccache_file"
if $setup; then
  printf '%s\n' "--cross-file=cross/$triplet.ini" "--cross-file=$ccache_file"
  exit 0
fi

dir=build-$arch
$static && dir=$dir-static
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" --cross-file "cross/$triplet.ini" --cross-file "$ccache_file" \
    -Dstatic_deps=$static -Dnspawn_tests=disabled >&2
fi
$NICE meson compile -C "$dir" >&2
if $static; then
  # The router build (and its package) may need glibc's libraries and nothing else.
  others=$($triplet-readelf -d "$dir/pingmesh" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
    grep -v -E '^(libc|libm|ld-linux[-a-z0-9]*)\.so' || true)
  if [ -n "$others" ]; then
    echo "the static build needs more than libc:" "$others" >&2
    exit 1
  fi
fi
$test || exit 0

# Cases that test what qemu-user does not emulate, left out with the reason:
# - ProbeTest.ProbesOurResponder asserts the kernel's tcpi_rtt: qemu's getsockopt copies
#   only an int for IPPROTO_TCP options, so TCP_INFO comes back 4 bytes long (rtt 0).
# - TlsTest.HandshakeFloodIsBounded gives the responder a 200 ms handshake timeout: an
#   emulated handshake (both ends in one process) takes longer when qemu shares its core,
#   and the responder resets it (always, pinned to one core; passes on an idle machine).
# - KernelTimingTest.* compares the kernel's clock with the loop's: qemu-user passes
#   neither TCP_INFO whole nor SO_TIMESTAMPING's control messages, so there is no kernel
#   clock (the samples fall back on the loop's, which the probe tests check there).
QEMU_FILTER="--gtest_filter=-ProbeTest.ProbesOurResponder"
QEMU_FILTER="$QEMU_FILTER:TlsTest.HandshakeFloodIsBounded"
QEMU_FILTER="$QEMU_FILTER:KernelTimingTest.*"
suites="--suite unit"
$quick || suites="$suites --suite loopback"
tests=OK
# shellcheck disable=SC2086
$NICE meson test -C "$dir" --print-errorlogs --num-processes 2 $suites --test-args="$QEMU_FILTER" ||
  tests=FAIL

# The seed's self-ping (scripts/dev.sh run) under qemu, on a free port, for a bounded time.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$dir/selfping.out
echo "self-ping under $qemu for ${SELFPING_SECONDS}s: pingmesh -s $port -d 5 http://localhost:$port/v1/ping" >&2
# shellcheck disable=SC2086
timeout -s INT "$SELFPING_SECONDS" $qemu $qemu_args "$dir/pingmesh" -s "$port" -d 5 \
  "http://localhost:$port/v1/ping" >"$out" || [ $? -eq 124 ]
pings=$(grep -c ' msec ' "$out" || true)
cat "$out"
result=OK
[ "$pings" -ge 2 ] || result=FAIL
# One more entry in meson's test log, so that a count over it (.ci/run's) includes the
# self-ping.
/usr/bin/python3 -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "result": sys.argv[2], "stdout": sys.argv[3]}))' \
  "selfping_qemu_$arch" "$result" "$pings answered pings in ${SELFPING_SECONDS}s" \
  >>"$dir/meson-logs/testlog.json"
echo "self-ping under qemu: $pings answered pings in ${SELFPING_SECONDS}s ($result; expected 2 or more)"
[ "$result" = OK ] && [ "$tests" = OK ]
