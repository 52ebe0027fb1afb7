#!/bin/bash
# SPDX-License-Identifier: MIT
# replace-prepare.sh DIR MBSTATE: turns the seed images in DIR (disk0.img,
# disk1.img, vars.fd from examples/seed/make-images) into replacement case
# (b) of issue 16: the seed converged with examples/seed/site.yaml, then the
# primary lost: the survivor (the old disk1.img) is listed first as
# disk0.img and a blank disk of the same size is disk1.img. The firmware
# store keeps the lost primary's "Windows Boot Manager" entry. Used as
# FAULTS_PREPARE by the faults and crash sweeps over that replacement.
set -eu
P=${1:?dir} MB=${2:?mbstate}
"$MB" apply examples/seed/site.yaml --target "image:$P/disk0.img,$P/disk1.img,nvram=$P/vars.fd"
"$MB" check examples/seed/site.yaml --target "image:$P/disk0.img,$P/disk1.img,nvram=$P/vars.fd"
size=$(stat -c %s "$P/disk1.img")
rm "$P/disk0.img"
mv "$P/disk1.img" "$P/disk0.img"
truncate -s "$size" "$P/disk1.img"
# the survivor alone is a degraded mirror (exit 2), never an error
rc=0
"$MB" check examples/replacement/site.yaml --target "image:$P/disk0.img,nvram=$P/vars.fd" || rc=$?
if [ "$rc" != 2 ]; then
        echo "the survivor alone: check exited $rc, expected 2 (degraded)" >&2
        exit 1
fi
