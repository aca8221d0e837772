#!/bin/bash
# genl-module-reload: the nfsd module is unloaded and loaded again while
# nsrecoveryd runs. The new module registers the nfsd_cltrack family under a
# new id; the daemon notices the old one going away, attaches to the new one,
# and nfsd finds the tracker and its records at the next start.
# vm: nfsd=patched
# vm: timeout=150

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

srv1_address=$(vm_server_address 1)

# Count the daemon log lines that contain the fixed string $1.
nsr_log_count() {
	grep -cF -- "$1" "$nsr_daemon_log"
}

nsr_log_count_is() {
	[ "$(nsr_log_count "$1")" -eq "$2" ]
}

vm_step "serve srv1; a client holds a lock"
for name in srv1 cli cli2; do
	vm_ns_create "$name"
done
vm_link srv1 cli 1
vm_link srv1 cli2 2
nsr_daemon_start
assert "nsrecoveryd tracks srv1" nsr_wait_tracking srv1
vm_server_setup srv1
assert "srv1: rpc.nfsd starts" vm_nfsd_start srv1
vm_nfsd_end_grace srv1
assert "cli mounts srv1 with 4.1" vm_mount cli "$srv1_address" 4.1 /m/srv1
assert "cli holds a lock" vm_lock_hold lock cli /m/srv1/lock
assert "cli2 mounts srv1 with 4.1" vm_mount cli2 "$(vm_server_address 2)" 4.1 /m/srv1
assert "srv1 records both clients" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 2

vm_step "stop nfsd and unload the module; the clients stay mounted"
assert "srv1: nfsd stops" vm_nfsd_stop srv1
# rpc.mountd holds nfsd's export cache channels, and the nfsd file system pins the module.
kill "$(cat "$vm_state/srv1-mountd.pid")"
vm_wait_for 10 "rpc.mountd to exit" sh -c "! kill -0 $(cat "$vm_state/srv1-mountd.pid") 2>/dev/null"
assert "srv1: the nfsd file system is unmounted" vm_ns_exec srv1 umount /proc/fs/nfsd
assert "the nfsd module unloads" rmmod nfsd
assert "nsrecoveryd notices the family going away" vm_wait_for 10 "the notice" \
	nsr_log_has "netns srv1: nfsd unregistered the nfsd_cltrack family"
assert "nsrecoveryd still runs" nsr_daemon_alive

vm_step "load the module again and restart nfsd"
assert "the nfsd module loads again" insmod /mnt/share/modules/nfsd.ko
assert "nsrecoveryd attaches to the new family" vm_wait_for 15 "the second HELLO" \
	nsr_log_count_is "netns srv1: tracking nfsd over generic netlink" 2
mark=$(vm_dmesg_mark)
assert "srv1: the nfsd file system mounts again" vm_ns_exec srv1 mount -t nfsd nfsd /proc/fs/nfsd
vm_ns_spawn srv1 "$vm_out/srv1-mountd-2.log" rpc.mountd --foreground -N 2 -N 3 >/dev/null
assert "srv1: rpc.nfsd starts" vm_nfsd_start srv1
log=$(vm_dmesg_since "$mark")
assert_contains "srv1: nfsd chose the generic netlink tracker" \
	"Using nfsd_cltrack generic netlink client tracking" "$log"
assert_contains "srv1: nfsd loaded both recorded clients" "loaded 2 reclaimable clients" "$log"

vm_step "the client reclaims its lock"
assert "cli writes after the reload" vm_ns_exec cli sh -c 'echo after >>/m/srv1/after'
assert "cli's lock holder still runs" vm_lock_alive lock
assert_eq "cli2 sees the reclaimed lock" conflict "$(vm_lock_probe cli2 /m/srv1/lock)"

vm_step "stop"
vm_lock_release lock
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
vm_finish
