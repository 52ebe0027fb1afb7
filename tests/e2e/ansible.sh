#!/bin/bash
# The Ansible twin (examples/ansible/linux-images.yml) against localhost,
# driving the image target: the first run reports changed, the second ok,
# a run after injected drift reports changed again.
#   ansible.sh MBSTATE MKSEED
set -u
mb=$1 mkseed=$2
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
if ! command -v ansible-playbook >/dev/null; then
        echo "FAIL: ansible-playbook not installed (Debian package ansible-core; scripts/deps.sh installs it)"
        echo "ansible: 0 passed, 1 failed"
        exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
examples/seed/make-images "$tmp/img" "$mkseed" >/dev/null || { bad "make-images"; echo "ansible: $pass passed, $fail failed"; exit 1; }
target="image:$tmp/img/disk0.img,$tmp/img/disk1.img"
site=${MBSTATE_ANSIBLE_SITE:-tests/data/site-no-mirror.yaml}
export ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
play() {
        ansible-playbook -i localhost, examples/ansible/linux-images.yml \
                -e "mbstate_bin=$mb" -e "mbstate_site=$PWD/$site" -e "mbstate_target=$target" "$@" \
                > "$tmp/play.log" 2>&1
        local rc=$?
        sed -n '/PLAY RECAP/,$p' "$tmp/play.log"
        return $rc
}
recap() { grep -E "^localhost +:" "$tmp/play.log"; }

echo "== first run"
play && ok || { bad "first run failed"; cat "$tmp/play.log"; }
recap | grep -q "changed=1" && ok || bad "first run not changed: $(recap)"
echo "== second run"
play && ok || bad "second run failed"
recap | grep -q "changed=0" && ok || bad "second run changed: $(recap)"
echo "== check mode after injected drift (a file added to disk0's ESP)"
echo "drift" > "$tmp/drift.txt"
mcopy -o -i "$tmp/img/disk0.img@@1048576" "$tmp/drift.txt" ::/EFI/drift.txt || bad "mcopy"
play --check && ok || bad "check-mode run failed"
recap | grep -q "changed=1" && ok || bad "check mode does not report the drift: $(recap)"
echo "== run after drift"
play && ok || bad "drift run failed"
recap | grep -q "changed=1" && ok || bad "drift run not changed: $(recap)"
play && ok || bad "last run failed"
recap | grep -q "changed=0" && ok || bad "last run changed: $(recap)"
echo "ansible: $pass passed, $fail failed"
[ "$fail" = 0 ]
