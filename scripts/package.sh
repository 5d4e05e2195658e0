#!/bin/bash
# Builds pingmesh's packages from one meson install: the .deb, and the .rpm where this
# machine is the target architecture.
#
#   scripts/package.sh            this machine's architecture
#   scripts/package.sh arm64      a cross build (also armhf); scripts/cross.sh sets it up
#
# The packages land in dist/ (PINGMESH_PKG_OUT), built in build-pkg-<arch>. The version is meson's project version; the Debian and
# RPM release is 1. lintian checks the .deb (and rpmlint the .rpm) before they count.
set -eu
cd "$(dirname "$0")/.."
root=$PWD

arch=${1:-$(dpkg --print-architecture)}
native=$(dpkg --print-architecture)
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n1)
release=1
# Timestamps inside the packages are the last commit's: the same sources, the same bytes.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

build=build-pkg-$arch
out=${PINGMESH_PKG_OUT:-dist}
cross=()
if [ "$arch" != "$native" ]; then
  scripts/cross.sh "$arch" --setup-only
  cross=(--cross-file "$(scripts/cross.sh "$arch" --cross-file)")
fi
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "${cross[@]}" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
    --buildtype=release -Dtests=false -Dsystemd_unit_dir=/lib/systemd/system >/dev/null
fi
meson compile -C "$build" >/dev/null

# The tree both packages are made of.
stage=$root/$build/stage
rm -rf "$stage"
meson install -C "$build" --destdir "$stage" --strip --quiet
find "$stage/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +

mkdir -p "$out"
rm -f "$out"/pingmesh_*_"$arch".deb
deb=$out/pingmesh_${version}-${release}_${arch}.deb
packaging/deb/make-deb.sh "$stage" "$arch" "$version-$release" "$deb"
echo "$deb"
if [ "$arch" = "$native" ] && [ -x packaging/rpm/make-rpm.sh ] && command -v rpmbuild >/dev/null; then
  packaging/rpm/make-rpm.sh "$stage" "$version" "$release" "$out"
fi
