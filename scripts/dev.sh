#!/bin/sh
# The two Quick start commands. As root on Debian 12:
#   scripts/dev.sh run    install what is missing, build, run the seed's self-ping
#   scripts/dev.sh test   install what is missing, build, run every test
set -eu
cd "$(dirname "$0")/.."

PACKAGES="meson ninja-build pkg-config g++ libuv1-dev libc-ares-dev libmbedtls-dev libinih-dev
libjsmn-dev node-llhttp libgtest-dev python3 python3-pytest python3-botocore python3-dnslib chromium
openssl curl systemd systemd-container mmdebstrap clang libclang-rt-14-dev prometheus
podman runc python3-yaml python3-kubernetes dpkg-dev lintian rpm rpmlint
groff-base man-db"

install_missing() {
  missing=""
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
}

build() {
  dir=$1
  shift
  # Build chatter goes to stderr: stdout is the daemon's data.
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >&2
  meson compile -C "$dir" >&2
}

case "${1:-}" in
  run)
    install_missing
    build build
    exec ./build/pingmesh -s 8080 -d 5 http://localhost:8080/v1/ping
    ;;
  test)
    install_missing
    build build
    meson test -C build --print-errorlogs --num-processes 2
    ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 64
    ;;
esac
