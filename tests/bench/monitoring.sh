#!/bin/bash
# SPDX-License-Identifier: MIT
# Each monitoring format of `check` (README, "Monitoring") timed against a
# plain `check`, in one run, on the seed images converged with the seed's
# site.yaml (mirror, firmware entries). Prints figures, asserts nothing about
# time: the figure to read is each format's time beside Zabbix's default
# agent Timeout of 3 s.
#
#   bash tests/bench/monitoring.sh     (also run at the end of tests/bench/run.sh)
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
[ -x "$BUILD/mbstate" ] || bash scripts/build.sh >/dev/null
MB=$BUILD/mbstate
MKSEED=$BUILD/engine/platform/image/image-mkseed
SITE=examples/seed/site.yaml
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
T=$(mktemp -d "${TMPDIR:-/tmp}/mbstate-bench-mon.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

examples/seed/make-images "$T" "$MKSEED" >/dev/null
L=image:$T/disk0.img,$T/disk1.img
[ -f "$T/vars.fd" ] && L=$L,nvram=$T/vars.fd
"$MB" apply "$SITE" --target "$L" >/dev/null 2>&1
"$MB" check "$SITE" --target "$L" >/dev/null 2>&1 || { echo "bench: check after apply is not 0" >&2; exit 1; }

# best N CMD...: "WALL CPU", the shortest wall time and the shortest CPU time
# (user + system) of N runs of CMD, in seconds; CMD must exit 0. The CPU time
# is the figure that holds on a loaded machine.
best() {
        local n=$1 i w=1e9 c=1e9; shift
        for ((i = 0; i < n; i++)); do
                /usr/bin/time -f '%e %U %S' -o "$T/time" "$@" >/dev/null 2>&1 ||
                        { echo "bench: $* failed" >&2; exit 1; }
                read -r w c < <(awk -v w="$w" -v c="$c" '{e = $1; u = $2 + $3;
                        printf "%s %s\n", (e < w ? e : w), (u < c ? u : c)}' "$T/time")
        done
        echo "$w $c"
}

read -r t_plain c_plain < <(best "$RUNS" "$MB" check "$SITE" --target "$L")
echo "mbstate check, monitoring formats ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg); best of $RUNS; seed images converged)"
printf '%-36s %9s %9s  %s\n' "" "wall" "CPU" "ratio to a plain check (wall, CPU); wall as part of 3 s"
printf '%-36s %9s %9s  %s\n' "plain check" "$(printf '%.2f s' "$t_plain")" "$(printf '%.2f s' "$c_plain")" "1.00, 1.00 (reference)"
for args in "--format nagios" "--format checkmk" "--format prometheus" "--format zabbix-discovery" \
            "--textfile $T/mbstate.prom"; do
        # shellcheck disable=SC2086
        read -r t c < <(best "$RUNS" "$MB" check "$SITE" --target "$L" $args)
        label=${args/$T\//}
        printf '%-36s %9s %9s  %s\n' "check $label" "$(printf '%.2f s' "$t")" "$(printf '%.2f s' "$c")" \
                "$(echo "$t $t_plain $c $c_plain" | awk '{printf "%.2f, %.2f; %.0f%% of Zabbix'"'"'s 3 s Timeout", $1 / $2, $3 / $4, $1 / 3 * 100}')"
done
