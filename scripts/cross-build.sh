#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Cross-builds a static mbstate.exe for Windows x64 with mingw-w64.
#
#   scripts/cross-build.sh [BUILD_DIR]        (default /tmp/build-win-cross)
#
# libyaml and libcyaml come from Debian source packages (`apt-get source`),
# unpacked into subprojects/ (git-ignored) and built as meson subprojects
# with our build files from cross/subprojects-overlay/. Installs mingw-w64,
# wine and dpkg-dev when they are missing.
#
# Exit 0 with the build done and the line "cross-build OK: <exe>"; when the
# sources cannot be fetched, exit 0 after one loud line and the marker line
# MBSTATE_CROSS_BUILD_SKIPPED, so CI can skip only what needs the exe.
# Anything else that fails exits non-zero.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-/tmp/build-win-cross}
work=$(mktemp -d /tmp/mbstate-cross-src.XXXXXX)
trap 'rm -rf "$work"' EXIT

skip() {
    echo "cross-build SKIPPED: could not fetch libyaml/libcyaml sources with apt-get source" >&2
    echo "MBSTATE_CROSS_BUILD_SKIPPED"
    exit 0
}

apt_updated=no
apt_update() {
    if [ "$apt_updated" = no ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt_updated=yes
    fi
}

need_pkg() { # COMMAND PACKAGE...
    local cmd=$1; shift
    if ! command -v "$cmd" >/dev/null 2>&1; then
        apt_update
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}

need_pkg x86_64-w64-mingw32-gcc mingw-w64
need_pkg wine wine wine64
need_pkg dpkg-source dpkg-dev
need_pkg meson meson
need_pkg ninja ninja-build

# deb-src entries derived from the machine's own apt sources: every "deb"
# source gets a "deb-src" twin; Debian's main archive also gets the next
# suite, because libcyaml's source has been seen to download only from there.
srcfile=/etc/apt/sources.list.d/mbstate-deb-src.sources
if [ ! -e "$srcfile" ]; then
    python3 - "$srcfile" <<'PY'
import glob, re, sys
stanzas = []
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    if path == sys.argv[1]:
        continue
    for block in re.split(r"\n\s*\n", open(path).read()):
        fields = {}
        for line in block.splitlines():
            m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
            if m:
                fields[m.group(1)] = m.group(2)
        if "deb" not in fields.get("Types", "").split():
            continue
        if fields.get("Enabled", "yes").lower() == "no":
            continue
        stanzas.append(fields)
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = re.match(r"^deb\s+(\[[^]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line.strip())
        if m:
            stanzas.append({"URIs": m.group(2), "Suites": m.group(3), "Components": m.group(4)})
out = []
nxt = {"bullseye": "bookworm", "bookworm": "trixie", "trixie": "forky"}
for f in stanzas:
    suites = f.get("Suites", "").split()
    extra = [nxt[s] for s in suites if s in nxt]
    s = ["Types: deb-src", "URIs: " + f["URIs"], "Suites: " + " ".join(suites + extra),
         "Components: " + f.get("Components", "main")]
    if "Signed-By" in f:
        s.append("Signed-By: " + f["Signed-By"])
    out.append("\n".join(s))
open(sys.argv[1], "w").write("# added by mbstate scripts/cross-build.sh\n" + "\n\n".join(out) + "\n")
PY
    apt_updated=no
fi
apt_update

# Fetches and unpacks source package $1 into $work/$1; prints the version.
fetch() {
    local pkg=$1 dir
    for spec in "$pkg" "$pkg/bookworm" "$pkg/trixie"; do
        rm -rf "$work/$pkg"; mkdir -p "$work/$pkg"
        (cd "$work/$pkg" && apt-get source -qq "$spec" >/dev/null 2>&1) || true
        dir=$(find "$work/$pkg" -mindepth 1 -maxdepth 1 -type d | head -1)
        if [ -z "$dir" ]; then
            # The .dsc may 404 while the upstream tarball came: use that.
            local orig
            orig=$(ls "$work/$pkg"/*.orig.tar.* 2>/dev/null | head -1 || true)
            if [ -n "$orig" ]; then
                tar -xf "$orig" -C "$work/$pkg"
                dir=$(find "$work/$pkg" -mindepth 1 -maxdepth 1 -type d | head -1)
            fi
        fi
        if [ -n "$dir" ] && [ -d "$dir/src" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

yaml_dir=$(fetch libyaml) || skip
cyaml_dir=$(fetch libcyaml) || skip
yaml_ver=$(basename "$yaml_dir" | sed 's/^[^-]*-//; s/[^0-9.].*$//')
cyaml_ver=$(sed -n 's/^VERSION_\(MAJOR\|MINOR\|PATCH\) *= *\([0-9]*\).*/\2/p' "$cyaml_dir/Makefile" | paste -sd.)

mkdir -p "$root/subprojects"
for p in libyaml libcyaml; do
    rm -rf "$root/subprojects/$p"
done
cp -a "$yaml_dir" "$root/subprojects/libyaml"
cp -a "$cyaml_dir" "$root/subprojects/libcyaml"
sed "s/@VERSION@/$yaml_ver/" "$root/cross/subprojects-overlay/libyaml/meson.build" \
    > "$root/subprojects/libyaml/meson.build"
sed "s/@VERSION@/$cyaml_ver/" "$root/cross/subprojects-overlay/libcyaml/meson.build" \
    > "$root/subprojects/libcyaml/meson.build"

if ! grep -q "fallback *: *\['libyaml'" "$root/meson.build"; then
    echo "cross-build FAILED: meson.build must declare yaml_dep/cyaml_dep with" \
         "fallback : ['libyaml', 'yaml_dep'] / ['libcyaml', 'cyaml_dep']" >&2
    exit 1
fi

rm -rf "$build"
mkdir -p "$(dirname "$build")"
printf "[constants]\nmbstate_cross_dir = '%s'\n" "$root/cross" >"$build.constants.txt"
meson setup "$build" "$root" --cross-file "$build.constants.txt" \
    --cross-file "$root/cross/mingw-w64-x86_64.txt" \
    -Dbuildtype=release -Dwerror=true -Dlibyaml:werror=false -Dlibcyaml:werror=false \
    --wrap-mode=nodownload >"$build.setup.log" 2>&1 || { cat "$build.setup.log" >&2; exit 1; }
ninja -C "$build" mbstate.exe >"$build.ninja.log" 2>&1 || { tail -50 "$build.ninja.log" >&2; exit 1; }

exe="$build/mbstate.exe"
# Only DLLs every Windows has.
bad=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\s*DLL Name: //p' |
      grep -viE '^(kernel32|advapi32|ole32|oleaut32|user32|msvcrt|ucrtbase|shell32|ntdll|bcrypt|crypt32|api-ms-win-[a-z0-9-]+)\.dll$' || true)
if [ -n "$bad" ]; then
    echo "cross-build FAILED: $exe imports non-system DLLs: $bad" >&2
    exit 1
fi
echo "cross-build OK: $exe"
