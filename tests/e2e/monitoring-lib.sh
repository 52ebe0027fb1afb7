# SPDX-License-Identifier: MIT
# Helpers of the monitoring tests (sourced after image-cli-lib.sh): the seed's
# own site.yaml (mirror, firmware entries) on the converged seed images, and
# the daemons a test starts, stopped on exit.
SITE=examples/seed/site.yaml
PIDS=""
stop_daemons() {
        local p
        for p in $PIDS; do
                kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
        done
        PIDS=""
}
trap 'stop_daemons; rm -rf "$T"' EXIT

# converged DIR: the seed images in DIR, applied with the seed's site.yaml; sets L
converged() {
        seed "$1"
        L=image:$1/disk0.img,$1/disk1.img
        [ -f "$1/vars.fd" ] && L=$L,nvram=$1/vars.fd
        mb 0 "apply of the seed's site.yaml on the seed images" apply "$SITE" --target "$L"
}
# free_port [LOW HIGH]: a TCP port on 127.0.0.1 nobody listens on now (in
# LOW..HIGH: zabbix_agentd takes ListenPort 1024-32767 only)
free_port() {
        python3 - "${1:-0}" "${2:-0}" <<'PY'
import random, socket, sys
low, high = int(sys.argv[1]), int(sys.argv[2])
for _ in range(200):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randint(low, high) if high else 0))
    except OSError:
        continue
    print(s.getsockname()[1])
    sys.exit(0)
sys.exit("no free port")
PY
}
# lose_bootmgr DIR: disk1's ESP loses its boot programs (mtools):
# \EFI\Microsoft\Boot\bootmgfw.efi, which its firmware entry loads, and the
# removable-media fallback \EFI\Boot\bootx64.efi the firmware would try next,
# so disk 1 would not boot on its own
lose_bootmgr() {
        mdel -i "$(esp "$1/disk1.img")" ::/EFI/Microsoft/Boot/bootmgfw.efi ::/EFI/Boot/bootx64.efi
}
