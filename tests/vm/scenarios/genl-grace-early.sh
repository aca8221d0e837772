#!/bin/bash
# genl-grace-early: with nsrecoveryd, nfsd ends its grace period as soon as every
# recorded NFSv4.1+ client has sent RECLAIM_COMPLETE. Three 4.1 and 4.2 clients
# hold locks. No client uses 4.0, because a 4.0 client never sends RECLAIM_COMPLETE.
# After a restart with a 60-second grace period, a new lock succeeds well before
# those 60 s.
# vm: nfsd=patched
# vm: timeout=200

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

clients="cli cli2 cli3"
# The limit for the new lock after the restart, far below the grace time.
early_limit_seconds=20

# Print the minor version that client $1 mounts with.
client_version() {
	case $1 in
	cli) echo 4.2 ;;
	*) echo 4.1 ;;
	esac
}

vm_step "start nsrecoveryd and nfsd in srv1"
vm_ns_create srv1
index=1
for name in $clients; do
	vm_ns_create "$name"
	vm_link srv1 "$name" "$index"
	index=$((index + 1))
done
nsr_write_config
nsr_daemon_start
assert "nsrecoveryd tracks srv1" nsr_wait_tracking srv1
vm_server_setup srv1
assert "srv1: rpc.nfsd starts" vm_nfsd_start srv1
vm_nfsd_end_grace srv1
srv1_net=$(vm_ns_net_id srv1)

vm_step "three clients mount with 4.1 or 4.2 and hold locks"
index=1
for name in $clients; do
	version=$(client_version "$name")
	assert "$name mounts srv1 with $version" \
		vm_mount "$name" "$(vm_server_address "$index")" "$version" /m/srv1
	assert "$name holds a lock" vm_lock_hold "$name" "$name" "/m/srv1/lock-$name"
	index=$((index + 1))
done
assert "srv1 has 3 current clients" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 3

vm_step "restart nfsd with a 60-second grace period"
vm_grace_seconds=60
mark=$(vm_dmesg_mark)
assert "srv1: nfsd restarts" vm_nfsd_restart srv1
start=$(vm_uptime)
log=$(vm_dmesg_since "$mark")
assert_contains "nfsd started a 60-second grace period" \
	"starting 60-second grace period (net $srv1_net)" "$log"
assert_contains "nfsd loaded 3 reclaimable clients" "nfsd_cltrack loaded 3 reclaimable clients" "$log"

vm_step "the clients reclaim and the grace period ends early"
# A GETATTR makes each client notice the restart and run its recovery, which
# ends with RECLAIM_COMPLETE.
for name in $clients; do
	vm_ns_exec "$name" stat "/m/srv1/lock-$name" >/dev/null 2>&1 &
done
assert "nfsd ended the grace period early" vm_wait_for "$early_limit_seconds" "the end of grace" \
	sh -c "dmesg | grep -qF 'all clients done reclaiming, ending NFSv4 grace period (net $srv1_net)'"
vm_log "the grace period ended $(vm_seconds_since "$start") s after the restart"
assert "nsrecoveryd saw the grace period end" vm_wait_for 10 "grace done" \
	nsr_log_has "netns srv1 server srv1: grace period ended, recovery epoch dropped"
assert_eq "the grace period is over" Y "$(vm_ns_exec srv1 cat /proc/fs/nfsd/v4_end_grace)"

vm_step "new opens and locks succeed before the grace time"
assert "cli creates a new file" vm_ns_exec cli sh -c 'echo new >/m/srv1/new-file'
assert_eq "cli2 takes a new lock" acquired "$(vm_lock_probe cli2 /m/srv1/new-lock)"
elapsed=$(vm_seconds_since "$start")
vm_log "the new lock succeeded $elapsed s after the restart"
assert_le "the new lock came well before the 60-second grace time" "$early_limit_seconds" "$elapsed"
for name in $clients; do
	assert "the lock holder of $name still runs" vm_lock_alive "$name"
	other=cli
	[ "$name" = cli ] && other=cli2
	assert_eq "the lock of $name was reclaimed" conflict \
		"$(vm_lock_probe "$other" "/m/srv1/lock-$name")"
done

vm_step "stop"
for name in $clients; do
	vm_lock_release "$name"
done
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
vm_finish
