#!/bin/sh
# Builds the pingmesh image from a meson build directory, with podman (or buildah).
#
#   packaging/container/build.sh [BUILD_DIR] [IMAGE]     (as root; defaults: build-static,
#                                                         localhost/pingmesh:VERSION)
#
# No registry is pulled from: the image is FROM scratch. Its shared libraries and CA
# certificates come from Debian's packages, unpacked once with mmdebstrap
# --variant=extract and cached in $PINGMESH_CONTAINER_CACHE (/var/cache/pingmesh-container).
# Only the files the binary needs are copied: the libraries named by its ELF NEEDED
# entries (followed recursively) and its interpreter. The static build
# (meson setup build-static -Dstatic_deps=true) needs only libc and libm; a dynamic build
# works too and takes libuv, c-ares, mbedTLS and libinih along.
#
# Environment: PODMAN (podman; "buildah" works too), STRIP (strip), PINGMESH_ARCH (the
# Debian architecture, default the host's), PINGMESH_MIRROR (http://deb.debian.org/debian).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-build-static}
[ -x "$build/pingmesh" ] || { echo "no $build/pingmesh: build it first (see README)" >&2; exit 66; }
version=$(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
image=${2:-localhost/pingmesh:$version}
podman=${PODMAN:-podman}
arch=${PINGMESH_ARCH:-$(dpkg --print-architecture)}
cache=${PINGMESH_CONTAINER_CACHE:-/var/cache/pingmesh-container}
mirror=${PINGMESH_MIRROR:-http://deb.debian.org/debian}
uid=10001

# Debian's packages that hold what any build may need; only what the binary names is copied.
packages="libc6,libinih1,libuv1,libc-ares2,libmbedtls14,libmbedx509-1,libmbedcrypto7,ca-certificates"
debian=$cache/debian-$arch.tar
stamp="bookworm $arch $packages"
# Fetched again after a week, so the image takes Debian's security updates of libc.
if [ ! -f "$debian" ] || [ "$(cat "$debian.packages" 2>/dev/null)" != "$stamp" ] ||
  [ -n "$(find "$debian" -mtime +7)" ]; then
  mkdir -p "$cache"
  if mmdebstrap --quiet --variant=extract --architectures="$arch" --include="$packages" \
    bookworm "$cache/debian-$arch.new.tar" "$mirror"; then
    mv "$cache/debian-$arch.new.tar" "$debian"
    echo "$stamp" >"$debian.packages"
  elif [ -f "$debian" ] && [ "$(cat "$debian.packages")" = "$stamp" ]; then
    echo "mmdebstrap could not fetch Debian's packages: using those of $(date -r "$debian" +%F)" >&2
  else
    echo "mmdebstrap could not fetch Debian's packages from $mirror" >&2
    exit 69
  fi
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/debian" "$ctx/rootfs" "$ctx/state"
tar -C "$ctx/debian" -xf "$debian"
deb=$ctx/debian
root=$ctx/rootfs

# Copies PATH (absolute, as seen inside the image) from the Debian tree, symlinks and
# their targets alike, so the image keeps Debian's layout (/lib64/ld-linux... -> ...).
copy() {
  p=$1
  while :; do
    [ -e "$deb$p" ] || [ -L "$deb$p" ] || { echo "$p: not in Debian's packages ($packages)" >&2; exit 69; }
    mkdir -p "$root$(dirname "$p")"
    cp -P "$deb$p" "$root$p"
    [ -L "$deb$p" ] || break
    t=$(readlink "$deb$p")
    case $t in /*) p=$t ;; *) p=$(dirname "$p")/$t ;; esac
  done
}

# The library NAME, found where Debian's loader looks (the multiarch directories).
find_lib() {
  for d in "$deb"/lib/*-linux-gnu* "$deb"/usr/lib/*-linux-gnu*; do
    [ -e "$d/$1" ] && { echo "${d#"$deb"}/$1"; return; }
  done
  echo "$1: not in Debian's packages ($packages)" >&2
  exit 69
}

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

mkdir -p "$root/usr/bin"
${STRIP:-strip} -o "$root/usr/bin/pingmesh" "$build/pingmesh"
interp=$(readelf -l "$build/pingmesh" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
[ -z "$interp" ] || copy "$interp"
todo=$(needed "$build/pingmesh")
done_libs=" "
while [ -n "$todo" ]; do
  # shellcheck disable=SC2086 # a list of library names, split on purpose
  set -- $todo
  lib=$1
  shift
  todo=$*
  case $done_libs in *" $lib "*) continue ;; esac
  done_libs="$done_libs$lib "
  path=$(find_lib "$lib")
  copy "$path"
  todo="$todo $(needed "$deb$path")"
done

# The CA bundle for https probes: what update-ca-certificates makes from Debian's
# certificates (every one is enabled by default), at the daemon's default --ca-file.
mkdir -p "$root/etc/ssl/certs"
cat "$deb"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
[ -s "$root/etc/ssl/certs/ca-certificates.crt" ]

# A user of our own (a numeric uid with a name, for ps and for Kubernetes' runAsNonRoot).
printf 'root:x:0:0:root:/root:/sbin/nologin\npingmesh:x:%s:%s:pingmesh:/var/lib/pingmesh:/sbin/nologin\n' \
  $uid $uid >"$root/etc/passwd"
printf 'root:x:0:\npingmesh:x:%s:\n' $uid >"$root/etc/group"
mkdir -p "$root/etc/pingmesh" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$top/packaging/pingmesh.ini" "$root/etc/pingmesh/pingmesh.ini"
cp "$here/Containerfile" "$ctx/Containerfile"

# --timestamp 0: the same inputs make the same image.
if [ "$(basename "$podman")" = buildah ]; then
  "$podman" bud --quiet --timestamp 0 --label "org.opencontainers.image.version=$version" \
    -t "$image" -f "$ctx/Containerfile" "$ctx" >/dev/null
else
  "$podman" build --quiet --timestamp 0 --label "org.opencontainers.image.version=$version" \
    -t "$image" -f "$ctx/Containerfile" "$ctx" >/dev/null
fi
echo "built $image: $(du -sk "$root" | cut -f1) KiB of files; libraries:$done_libs"
