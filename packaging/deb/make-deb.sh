#!/bin/bash
# The .deb of a staged meson install: make-deb.sh STAGE ARCH VERSION OUT.deb [PACKAGE]
# PACKAGE is pingmesh, or pingmesh-static for the static build (which takes its place).
# Depends come from dpkg-shlibdeps over the binary; the maintainer scripts are ours
# (what dh_installsystemd would write); lintian must find nothing but what the
# overrides explain.
set -eu
stage=$1 arch=$2 version=$3 out=$4 package=${5:-pingmesh}
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Where dpkg-shlibdeps expects a package's files: debian/<package>.
mkdir -p "$work/debian"
tree=$work/debian/$package
cp -a "$stage" "$tree"
if [ "$package" != pingmesh ]; then
  mv "$tree/usr/share/doc/pingmesh" "$tree/usr/share/doc/$package"
  # The unit's link to the README follows it.
  sed -i "s|/usr/share/doc/pingmesh/|/usr/share/doc/$package/|" "$tree/lib/systemd/system/pingmesh.service"
fi
doc=$tree/usr/share/doc/$package
install -m 644 "$here/copyright" "$doc/copyright"
# The Debian changelog: one entry for this build, dated like everything else in it.
{
  echo "$package ($version) unstable; urgency=medium"
  echo
  echo "  * Built from the pingmesh sources${GIT_COMMIT:+ at $GIT_COMMIT}."
  echo
  echo " -- pingmesh developers <pingmesh-developers@example.org>  $(date -R -u -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$doc/changelog.Debian.gz"
install -d "$tree/usr/share/lintian/overrides"
{
  sed "s/^pingmesh:/$package:/" "$here/lintian-overrides"
  [ "$package" = pingmesh ] || cat "$here/lintian-overrides-static"
} > "$tree/usr/share/lintian/overrides/$package"
chmod 644 "$tree/usr/share/lintian/overrides/$package"

install -d -m 755 "$tree/DEBIAN"  # before dpkg-shlibdeps: it finds the package root by it
# The shared libraries the binary links.
printf 'Source: pingmesh\n\nPackage: %s\nArchitecture: any\n' "$package" > "$work/debian/control"
binary=$tree/usr/bin/pingmesh
if [ "$arch" = "$(dpkg --print-architecture)" ] || dpkg --print-foreign-architectures | grep -qx "$arch"; then
  depends=$(cd "$work" && DEB_HOST_ARCH=$arch dpkg-shlibdeps -O "-edebian/$package/usr/bin/pingmesh" |
    sed -n 's/^shlibs:Depends=//p')
elif [ "$package" != pingmesh ]; then
  # A sysroot's libraries (armhf) are in no dpkg database dpkg-shlibdeps could read. The
  # static build needs glibc alone: the newest GLIBC_ symbol version it uses is the bound.
  glibc=$(readelf -V "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1)
  depends="libc6 (>= $glibc)"
else
  echo "$arch: no dpkg database knows its libraries; build it with --static" >&2
  exit 1
fi
# The sources compiled in: llhttp (from node-llhttp) and libstdc++ always; the static
# build's libraries.
linked_in="node-llhttp libstdc++-12-dev"
relations=
if [ "$package" != pingmesh ]; then
  linked_in="$linked_in libuv1-dev libc-ares-dev libmbedtls-dev libinih-dev"
  relations="Provides: pingmesh\nConflicts: pingmesh\nReplaces: pingmesh\n"
fi
built_using=$(for p in $linked_in; do
  dpkg-query -W -f='${source:Package} (= ${source:Version})\n' "$p:$arch" 2>/dev/null ||
    dpkg-query -W -f='${source:Package} (= ${source:Version})\n' "$p"
done | sort -u | paste -sd, | sed 's/,/, /g')

for s in postinst prerm postrm; do install -m 755 "$here/$s" "$tree/DEBIAN/$s"; done
(cd "$tree" && find etc -type f | sed 's|^|/|' | sort) > "$tree/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$tree" | cut -f1)
sed -e "s/@PACKAGE@/$package/" -e "s/@RELATIONS@/$relations/" -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  -e "s/@DEPENDS@/$depends, init-system-helpers (>= 1.54~)/" -e "s/@BUILT_USING@/$built_using/" \
  "$here/control.in" > "$tree/DEBIAN/control"
(cd "$tree" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$tree/DEBIAN/md5sums"
find "$tree" -path "$tree/DEBIAN" -prune -o -type d -exec chmod 755 {} +
dpkg-deb --root-owner-group -Zxz --build "$tree" "$out" >/dev/null

if command -v lintian >/dev/null; then
  lintian --fail-on error,warning "$out"
else
  echo "lintian is not installed: $out is not checked" >&2
fi
