#!/bin/bash
# genl-unknown-client: a client that nsrecoveryd never recorded cannot reclaim.
# cli3 mounts srv1 while no daemon runs, so its CREATE upcall times out and no
# record of it exists. After the daemon is back and nfsd restarts, the recorded
# client cli reclaims its lock, while nfsd refuses the reclaim of cli3, whose
# lock is then free for others and which the daemon records as a new client.
# vm: nfsd=patched
# vm: timeout=200

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

timeout_parameter=/sys/module/nfsd/parameters/cltrack_upcall_timeout_ms
short_timeout_ms=2000

# Succeed when the current daemon log has a line matching extended regex $1.
nsr_log_matches() {
	grep -qE -- "$1" "$nsr_daemon_log"
}

# Print "Y" when the grace period of server $1 is over, "N" while it runs.
grace_over() {
	vm_ns_exec "$1" cat /proc/fs/nfsd/v4_end_grace
}

# Succeed when the JSON client list of server $1 has a record whose id is exactly $2.
srv_records() {
	nsr_ctl --json clients "$1" | grep -qF "\"id\": \"$2\""
}

vm_step "start nsrecoveryd and nfsd in srv1"
for name in srv1 cli cli2 cli3 cli4; do
	vm_ns_create "$name"
done
vm_link srv1 cli 1
for index in 2 3 4; do
	vm_link srv1 "cli$index" "$index"
done
nsr_write_config
nsr_daemon_start
assert "nsrecoveryd tracks srv1" nsr_wait_tracking srv1
vm_server_setup srv1
assert "srv1: rpc.nfsd starts" vm_nfsd_start srv1
vm_nfsd_end_grace srv1

vm_step "cli, cli2 and cli4 mount while the daemon runs"
assert "cli mounts srv1 with 4.1" vm_mount cli "$(vm_server_address 1)" 4.1 /m/srv1
assert "cli holds a lock" vm_lock_hold cli cli /m/srv1/lock-cli
assert "cli2 mounts srv1 with 4.1" vm_mount cli2 "$(vm_server_address 2)" 4.1 /m/srv1
assert "cli4 mounts srv1 with 4.1" vm_mount cli4 "$(vm_server_address 4)" 4.1 /m/srv1
assert "srv1 has 3 current clients" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 3

vm_step "stop the daemon; cli3 mounts and locks unrecorded"
# A short upcall timeout only shortens cli3's mount; it fails either way.
echo "$short_timeout_ms" >"$timeout_parameter" || vm_fatal "setting $timeout_parameter failed"
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
mark=$(vm_dmesg_mark)
assert "cli3 mounts srv1 with 4.1" vm_mount cli3 "$(vm_server_address 3)" 4.1 /m/srv1
assert "cli3 holds a lock" vm_lock_hold cli3 cli3 /m/srv1/lock-cli3
log=$(vm_dmesg_since "$mark")
assert_contains "the CREATE upcall of cli3 timed out" "timed out after $short_timeout_ms ms" "$log"
assert_contains "nfsd logged that cli3 is not recorded" \
	"nfsd_cltrack CREATE failed for client $vm_subnet_prefix.3.2 " "$log"
echo 10000 >"$timeout_parameter" || vm_fatal "restoring $timeout_parameter failed"
assert_eq "cli2 sees the lock of cli3" conflict "$(vm_lock_probe cli2 /m/srv1/lock-cli3)"

vm_step "start the daemon again; cli3 has no record"
nsr_daemon_start
assert "nsrecoveryd tracks srv1" nsr_wait_tracking srv1
vm_log "$(nsr_ctl clients srv1)"
for name in cli cli2 cli4; do
	assert "srv1 records $name" srv_records srv1 "Linux NFSv4.1 $name"
done
assert_fails "srv1 has no record of cli3" srv_records srv1 "Linux NFSv4.1 cli3"
assert_eq "srv1 has 3 current clients" 3 "$(nsr_count_clients srv1 current)"

vm_step "restart nfsd in srv1 while cli4 is away"
# cli4 stays recorded but cannot reach srv1, so it never sends RECLAIM_COMPLETE
# and the grace period cannot end early. This scenario ends it once every
# reclaim below is done; the long grace time only leaves room for slow runs.
ip -n cli4 link set vc4 down || vm_fatal "taking the link of cli4 down failed"
vm_grace_seconds=60
mark=$(vm_dmesg_mark)
assert "srv1: nfsd restarts" vm_nfsd_restart srv1
assert "nsrecoveryd sent 3 reclaimable clients" \
	nsr_log_has "netns srv1 server srv1: grace start: sent 3 reclaimable clients"
assert_contains "nfsd loaded 3 reclaimable clients" "nfsd_cltrack loaded 3 reclaimable clients" \
	"$(vm_dmesg_since "$mark")"

vm_step "the clients recover in the grace period"
# A GETATTR makes a client notice the restart and run its recovery: reclaims,
# then RECLAIM_COMPLETE, whose CREATE records it in the new epoch. cli3's stat
# returns only after the grace period: nfsd refused its reclaim, and its
# recovery then waits to open the file again without reclaim.
vm_ns_exec cli3 stat /m/srv1/lock-cli3 >/dev/null 2>&1 &
assert "nsrecoveryd recorded cli3 as a new client, not a reclaiming one" \
	vm_wait_for 20 "the new record of cli3" \
	nsr_log_matches 'client Linux NFSv4\.1 cli3 recorded in epoch [0-9]+$'
assert "cli reconnects" vm_ns_exec cli stat /m/srv1/lock-cli
assert "nsrecoveryd recorded cli as reclaiming" vm_wait_for 20 "the reclaim of cli" \
	nsr_log_matches 'client Linux NFSv4\.1 cli recorded in epoch [0-9]+ \(reclaim\)$'
assert "the lock holder of cli still runs" vm_lock_alive cli
assert "the lock holder of cli3 still runs" vm_lock_alive cli3

vm_step "end the grace period and probe the locks"
assert_eq "the grace period was still running" N "$(grace_over srv1)"
assert "end the grace period of srv1" vm_nfsd_end_grace srv1
assert_eq "the lock of cli was reclaimed" conflict "$(vm_lock_probe cli2 /m/srv1/lock-cli)"
assert_eq "the lock of cli3 was not reclaimed: it is free" acquired \
	"$(vm_lock_probe cli2 /m/srv1/lock-cli3)"
assert "cli3 reports its lost lock" vm_wait_for 20 "the client log of cli3" \
	sh -c "dmesg | grep -qF 'NFS: $(vm_server_address 3): lost 1 locks'"
assert_not_contains "cli lost no lock" "NFS: $(vm_server_address 1): lost" "$(dmesg)"

vm_step "stop"
for holder in cli cli3; do
	vm_lock_release "$holder"
done
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
vm_finish
