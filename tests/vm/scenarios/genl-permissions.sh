#!/bin/bash
# genl-permissions: only a namespace's own administrator may act as its tracker.
# An unprivileged process cannot join the tracker group or send downcalls, while
# root of a user namespace that owns a network namespace may track nfsd there
# (GENL_UNS_ADMIN_PERM and GENL_MCAST_CAP_NET_ADMIN).
# vm: nfsd=patched
# vm: timeout=120

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

# write_own_config FILE STATE_DIR: serve only the daemon's own namespace.
write_own_config() {
	mkdir -p "$2"
	printf '[nsrecoveryd]\nstate-directory = %s\nnetns-directory =\n' "$2" >"$1"
}

vm_step "an unprivileged process is not a tracker"
# /tmp is world-writable, so the unprivileged daemon can own its state directory.
printf '[nsrecoveryd]\nstate-directory = /tmp/nobody-state\nnetns-directory =\n' \
	>"$vm_state/nobody.conf"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	bash -c "mkdir -m 0700 /tmp/nobody-state && exec $nsr_bin/nsrecoveryd -F -c $vm_state/nobody.conf" \
	</dev/null >"$vm_out/nobody.log" 2>&1 &
nobody_pid=$!
assert "the kernel refuses the tracker group to an unprivileged process" \
	vm_wait_for 10 "the refusal" grep -q "joining nfsd's tracker group failed: Operation not permitted" \
	"$vm_out/nobody.log"
assert_not_contains "no protocol agreed without CAP_NET_ADMIN" "tracking nfsd over generic netlink" \
	"$(cat "$vm_out/nobody.log")"
kill "$nobody_pid" 2>/dev/null

vm_step "root of a user namespace tracks the network namespace it owns"
write_own_config "$vm_state/userns.conf" "$vm_state/userns-state"
chmod 0700 "$vm_state/userns-state"
unshare --user --map-root-user --net \
	"$nsr_bin/nsrecoveryd" -F -c "$vm_state/userns.conf" </dev/null >"$vm_out/userns.log" 2>&1 &
userns_pid=$!
assert "container root agrees the protocol with nfsd (GENL_UNS_ADMIN_PERM)" \
	vm_wait_for 10 "HELLO" grep -q "netns init: tracking nfsd over generic netlink" "$vm_out/userns.log"
assert "the container's daemon runs in a user namespace of its own" \
	test "$(readlink /proc/$userns_pid/ns/user)" != "$(readlink /proc/self/ns/user)"
kill "$userns_pid" 2>/dev/null
vm_finish
