#!/bin/bash
# Builds pingmesh's packages from one meson install: the .deb, and the .rpm where this
# machine is the target architecture.
#
#   scripts/package.sh                 this machine's architecture
#   scripts/package.sh arm64           a cross build (also armhf); scripts/cross.sh sets it up
#   scripts/package.sh [ARCH] --static pingmesh-static: libuv, c-ares, mbedTLS and inih
#                                      linked in too, so it depends on libc alone
#
# The packages land in dist/ (PINGMESH_PKG_OUT), built in build-pkg-<arch>[-static]. The
# version is meson's project version; the Debian and RPM release is 1. lintian checks the
# .deb (and rpmlint the .rpm) before they count.
set -eu
cd "$(dirname "$0")/.."
root=$PWD

native=$(dpkg --print-architecture)
arch=$native static=false
for a in "$@"; do
  case "$a" in
    --static) static=true ;;
    -*) echo "usage: $0 [ARCH] [--static]" >&2; exit 64 ;;
    *) arch=$a ;;
  esac
done
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n1)
release=1
# Timestamps inside the packages are the last commit's: the same sources, the same bytes.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export GIT_COMMIT=${GIT_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || true)}  # the changelog's

suffix=
if $static; then suffix=-static; fi
build=build-pkg-$arch$suffix
package=pingmesh$suffix
out=${PINGMESH_PKG_OUT:-dist}
cross=()
if [ "$arch" != "$native" ]; then
  mapfile -t cross < <(scripts/cross.sh "$arch" --setup)
  [ ${#cross[@]} -gt 0 ] || exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "${cross[@]}" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
    --buildtype=release -Dtests=false -Dsystemd_unit_dir=/lib/systemd/system \
    -Dstatic_deps=$static >/dev/null
fi
meson compile -C "$build" >/dev/null

# The tree both packages are made of.
stage=$root/$build/stage
rm -rf "$stage"
meson install -C "$build" --destdir "$stage" --strip --quiet
find "$stage/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +

mkdir -p "$out"
rm -f "$out/${package}_"*"_$arch.deb"
deb=$out/${package}_${version}-${release}_${arch}.deb
packaging/deb/make-deb.sh "$stage" "$arch" "$version-$release" "$deb" "$package"
echo "$deb"
if [ "$arch" = "$native" ] && ! $static && command -v rpmbuild >/dev/null; then
  packaging/rpm/make-rpm.sh "$stage" "$version" "$release" "$out"
fi
