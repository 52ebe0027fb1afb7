# SPDX-License-Identifier: MIT
# One boot of disk images under QEMU and OVMF, for the boot tests
# (boot-failover.sh, boot-replace.sh). Sourced after image-lib.sh ($T).
# The caller sets OVMF_CODE, BOOT_LIMIT (seconds), OVMF_MACHINE (an array
# of QEMU machine options), BOOT_STOP (an extended regex: the serial output
# that ends a boot early) and BOOT_LABEL (shown with each boot).

# ovmf_boot NAME VARS DISK...: one boot from a copy of VARS; transcript in
# $T/NAME.log. Stops when the stand-in powers off, when the serial output
# matches BOOT_STOP, or after BOOT_LIMIT seconds. BOOT_CDROM=1 attaches an
# empty DVD drive as well (the firmware lists it).
ovmf_boot() {
        local name=$1 vars=$2 args=() d qpid start end secs
        shift 2
        cp "$vars" "$T/$name.vars.fd"
        for d in "$@"; do args+=(-drive "file=$d,format=raw,if=virtio"); done
        [ -n "${BOOT_CDROM:-}" ] && args+=(-drive "if=ide,media=cdrom")
        start=$(date +%s.%N)
        qemu-system-x86_64 "${OVMF_MACHINE[@]}" -m 256 -display none -monitor none \
                -serial "file:$T/$name.raw" -nic none -no-reboot \
                -drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE" \
                -drive if=pflash,format=raw,file="$T/$name.vars.fd" \
                "${args[@]}" </dev/null >/dev/null 2>&1 &
        qpid=$!
        for _ in $(seq 1 $((BOOT_LIMIT * 2))); do
                kill -0 $qpid 2>/dev/null || break
                grep -a -q -E "$BOOT_STOP" "$T/$name.raw" 2>/dev/null && break
                sleep 0.5
        done
        kill $qpid 2>/dev/null
        wait $qpid 2>/dev/null
        end=$(date +%s.%N)
        tr -d '\r' <"$T/$name.raw" | sed 's/\x1b\[[0-9;?=]*[a-zA-Z]//g' >"$T/$name.log"
        secs=$(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')
        echo "--- boot ($name${BOOT_LABEL:+, $BOOT_LABEL}): $(for d in "$@"; do basename "$d"; done | paste -s -d ' ') -- ${secs} s"
        grep -a -E "BdsDxe: (failed|loading|starting|No bootable)|MBSTATE-" "$T/$name.log" | sed 's/^/    /'
}
