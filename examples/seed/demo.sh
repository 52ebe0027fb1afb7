#!/bin/bash
# The seed procedure, declared and converged by mbstate.
#
#   1. on the seed machine's facts snapshot (what `mbstate facts` captured on
#      the Windows Server of the procedure): validate, plan, apply, check;
#   2. on real disk images built like that machine (when the image target is
#      built): apply, check, apply again, and the independent tools' verdict.
#
# Everything happens under a temporary directory (or $MBSTATE_DEMO_DIR).
set -eu
cd "$(dirname "$0")/../.."
bash scripts/build.sh >/dev/null
mb=build/mbstate
site=examples/seed/site.yaml
work=${MBSTATE_DEMO_DIR:-$(mktemp -d)}
mkdir -p "$work"

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; set +e; "$@"; rc=$?; set -e; echo "(exit $rc)"; }

step "site.yaml"
cat "$site"
run $mb validate "$site"

cp tests/data/seed/facts-before.yaml "$work/facts.yaml"
target="snapshot:$work/facts.yaml"
step "plan against the seed machine's facts (Disk 1 offline and empty)"
run $mb plan "$site" --target "$target"
step "apply"
run $mb apply "$site" --target "$target"
step "check while the new plex resyncs, then wait for it"
run $mb check "$site" --target "$target"
run $mb apply "$site" --target "$target" --wait
run $mb check "$site" --target "$target"
step "a second apply changes nothing"
run $mb apply "$site" --target "$target" --json

if [ -x examples/seed/make-images ] && $mb facts --target image:/dev/null 2>&1 | grep -vq "not built"; then
        step "the same on disk images: two 32 GiB sparse images like the seed's disks"
        run examples/seed/make-images "$work/images"
        images="image:$work/images/disk0.img,$work/images/disk1.img"
        # the firmware's variable store, when the seed images carry one (Debian's ovmf)
        [ -f "$work/images/vars.fd" ] && images="$images,nvram=$work/images/vars.fd"
        run $mb plan "$site" --target "$images"
        run $mb apply "$site" --target "$images"
        run $mb check "$site" --target "$images"
        step "a second apply changes nothing"
        run $mb apply "$site" --target "$images"
        step "what tools nobody here wrote say"
        for d in disk0 disk1; do run sgdisk -v "$work/images/$d.img"; done
        group=$(ldmtool -d "$work/images/disk0.img" -d "$work/images/disk1.img" scan 2>/dev/null | tr -d '[]" \n')
        run ldmtool -d "$work/images/disk0.img" -d "$work/images/disk1.img" show volume "$group" Volume1
        mcopy -n -i "$work/images/disk1.img@@1048576" ::/EFI/Microsoft/Boot/BCD "$work/BCD.disk1"
        run reglookup -p /Objects -t SZ "$work/BCD.disk1"
fi
echo
echo "demo files are in $work"
