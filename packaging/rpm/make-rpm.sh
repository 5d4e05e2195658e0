#!/bin/bash
# The .rpm of a staged meson install: make-rpm.sh STAGE VERSION RELEASE OUTDIR
#   make-rpm.sh --spec VERSION RELEASE OUT.spec   the spec alone, for a Fedora/RHEL build
# rpmlint must find no error.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

spec() {  # VERSION RELEASE OUT
  sed -e "s/@VERSION@/$1/g" -e "s/@RELEASE@/$2/g" \
    -e "s/@DATE@/$(LC_ALL=C date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" '+%a %b %d %Y')/" \
    "$here/pingmesh.spec.in" > "$3"
}
if [ "$1" = --spec ]; then
  spec "$2" "$3" "$4"
  exit 0
fi
stage=$1 version=$2 release=$3 out=$4

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/tree
cp -a "$stage" "$tree"
# The RPM layout: units under /usr/lib, the license beside the docs.
if [ -d "$tree/lib/systemd" ]; then
  mkdir -p "$tree/usr/lib"
  mv "$tree/lib/systemd" "$tree/usr/lib/systemd"
  rmdir "$tree/lib" 2>/dev/null || true
fi
# %doc and %license put the docs in place.
rm -rf "$tree/usr/share/lintian" "$tree/usr/share/doc"
mkdir -p "$work/build"
cp "$top/LICENSE" "$top/README.md" "$work/build/"
spec "$version" "$release" "$work/pingmesh.spec"

macros=()
if [ "$(rpm --eval '%{?systemd_post:1}')" != 1 ]; then
  macros=(--load "$here/macros.systemd")
fi
mkdir -p "$out"
rm -f "$out"/pingmesh-*.rpm
# The tree is stripped and compressed already: rpm's own post-install scripts (written
# for bash, where Debian's sh is dash) are left out.
# --nodeps: the BuildRequires name Fedora's packages, which Debian's rpm database lacks.
rpmbuild "${macros[@]}" -bb --nodeps --quiet \
  --define "_topdir $work/rpm" --define "_builddir $work/build" \
  --define "_rpmdir $out" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
  --define "packager pingmesh developers <pingmesh-developers@example.org>" \
  --define "pingmesh_stage $tree" --define "__os_install_post %{nil}" --define "source_date_epoch_from_changelog 0" \
  --define "use_source_date_epoch_as_buildtime 1" --define "clamp_mtime_to_source_date_epoch 1" \
  "$work/pingmesh.spec"
rpm=$(ls "$out"/pingmesh-*.rpm)
echo "$rpm"
if command -v rpmlint >/dev/null; then
  rpmlint -c "$here/rpmlint.toml" "$rpm"
else
  echo "rpmlint is not installed: $rpm is not checked" >&2
fi
