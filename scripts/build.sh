#!/bin/bash
# Configures and builds mbstate in ./build (warnings are errors).
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ ! -f build/build.ninja ]; then
        meson setup build -Dwerror=true --buildtype=debugoptimized >/dev/null
fi
ninja -C build
