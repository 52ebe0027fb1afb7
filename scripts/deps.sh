#!/bin/bash
# Installs the Debian packages mbstate needs to build and test, when missing.
# Run as root on Debian 12 (or with sudo available).
set -eu

packages=(
        # build
        meson ninja-build gcc pkg-config
        libyaml-dev libcyaml-dev libcriterion-dev
        libfdisk-dev libblkid-dev libhivex-dev libssl-dev ntfs-3g-dev
        # the image target's tools and the independent checkers
        mtools dosfstools ntfs-3g gdisk fdisk util-linux
        libhivex-bin reglookup ldmtool xz-utils
        # UEFI variables (OVMF_VARS), the stand-in boot manager, the failover boot test
        ovmf grub-efi-amd64-bin qemu-system-x86
        # Secure Boot: signing the stand-ins, independent Authenticode checks,
        # a boot program Microsoft signed (shimx64.efi, read at test time)
        sbsigntool osslsigncode shim-signed openssl
        # stand-in boot managers with a version resource (tests/e2e/standin)
        mingw-w64
        # the Ansible twin playbook test
        ansible-core
        # process starts per check (tests/e2e/image-drift.sh)
        strace
        # fuzzing (libFuzzer with ASan/UBSan); the end-to-end run under memcheck
        clang libclang-rt-14-dev valgrind
        # JSON/YAML schema checks in the tests
        python3 python3-yaml python3-jsonschema
        # the monitoring tests' real consumers: promtool (prometheus),
        # node_exporter's textfile collector, a Nagios 4 daemon (and Icinga 2's
        # config check of the example), a Zabbix agent;
        # curl scrapes;
        # icoutils' wrestool reads the event message table back from mbstate.exe
        prometheus prometheus-node-exporter nagios4-core icinga2-bin zabbix-agent curl icoutils
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
        exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
