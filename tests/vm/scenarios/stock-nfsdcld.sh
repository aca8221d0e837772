#!/bin/bash
# stock-nfsdcld: baseline on the stock nfsd.ko with Debian's nfsdcld. Two virtual
# servers run in their own namespaces. A restart of one of them must start a grace
# period there only. Its NFSv4.1 and NFSv4.0 clients must reclaim their locks.
# vm: nfsd=stock
# vm: timeout=240

# shellcheck source=../lib.sh
source /mnt/share/lib.sh

srv1_address=$(vm_server_address 1)
srv2_address=$(vm_server_address 2)
srv1_second_address=$(vm_server_address 3)

vm_step "create namespaces and links"
for name in srv1 srv2 cli cli2; do
	vm_ns_create "$name"
done
vm_link srv1 cli 1
vm_link srv2 cli 2
vm_link srv1 cli2 3
assert "cli reaches srv1" vm_ns_exec cli ping -c 1 -W 2 "$srv1_address"
assert "cli reaches srv2" vm_ns_exec cli ping -c 1 -W 2 "$srv2_address"
assert "cli2 reaches srv1" vm_ns_exec cli2 ping -c 1 -W 2 "$srv1_second_address"

for server in srv1 srv2; do
	vm_step "start $server with nfsdcld"
	mark=$(vm_dmesg_mark)
	vm_server_setup "$server"
	vm_nfsdcld_start "$server"
	assert "$server: rpc.nfsd starts" vm_nfsd_start "$server"
	assert "$server: nfsd created the cld pipe" \
		vm_ns_exec "$server" test -p /var/lib/nfs/rpc_pipefs/nfsd/cld
	assert_contains "$server: kernel uses nfsdcld tracking" \
		"Using nfsdcld client tracking" "$(vm_dmesg_since "$mark")"
done
srv1_net=$(vm_ns_net_id srv1)
srv2_net=$(vm_ns_net_id srv2)

vm_step "mount both servers with NFSv4.1 and NFSv4.0"
assert "cli mounts srv1 with 4.1" vm_mount cli "$srv1_address" 4.1 /m/srv1-v41
assert "cli mounts srv1 with 4.0" vm_mount cli "$srv1_address" 4.0 /m/srv1-v40
assert "cli mounts srv2 with 4.1" vm_mount cli "$srv2_address" 4.1 /m/srv2-v41
assert "cli mounts srv2 with 4.0" vm_mount cli "$srv2_address" 4.0 /m/srv2-v40
assert "cli2 mounts srv1 with 4.1" vm_mount cli2 "$srv1_second_address" 4.1 /m/srv1
for mount in srv1-v41 srv1-v40 srv2-v41 srv2-v40; do
	vm_ns_exec cli sh -c "echo $mount >/m/$mount/data-$mount"
	assert_eq "$mount: file reads back" "$mount" "$(vm_ns_exec cli cat "/m/$mount/data-$mount")"
done

vm_step "hold locks from cli"
for mount in srv1-v41 srv1-v40 srv2-v41 srv2-v40; do
	assert "$mount: cli holds a lock" vm_lock_hold "$mount" cli "/m/$mount/lock-$mount"
done
# The probe must see a conflict before the restart, or a conflict after it
# would prove nothing about reclaim.
assert_eq "cli2 sees the 4.1 lock before the restart" conflict \
	"$(vm_lock_probe cli2 /m/srv1/lock-srv1-v41)"
assert_eq "cli2 sees the 4.0 lock before the restart" conflict \
	"$(vm_lock_probe cli2 /m/srv1/lock-srv1-v40)"
assert_eq "cli2 locks an unlocked file" acquired "$(vm_lock_probe cli2 /m/srv1/unlocked)"

vm_step "restart nfsd in srv1 only"
mark=$(vm_dmesg_mark)
assert "srv1: nfsd restarts" vm_nfsd_restart srv1
start=$(vm_uptime)
assert_eq "srv2: new lock without waiting for a grace period" acquired \
	"$(vm_lock_probe cli /m/srv2-v41/fresh-after-srv1-restart)"
assert_le "srv2: lock answered within 3 s" 3 "$(vm_seconds_since "$start")"

vm_step "clients reclaim on srv1"
start=$(vm_uptime)
assert "srv1: 4.1 write after the restart" vm_ns_exec cli sh -c 'echo after >>/m/srv1-v41/after'
assert "srv1: 4.0 write after the restart" vm_ns_exec cli sh -c 'echo after >>/m/srv1-v40/after'
# Each write creates a file, and nfsd refuses new opens until the grace period ends.
vm_log "writes after the restart took $(vm_seconds_since "$start") s"
for mount in srv1-v41 srv1-v40 srv2-v41 srv2-v40; do
	assert "$mount: lock holder still runs" vm_lock_alive "$mount"
done

vm_step "cli2 probes the reclaimed locks"
start=$(vm_uptime)
assert_eq "srv1: 4.1 lock was reclaimed" conflict "$(vm_lock_probe cli2 /m/srv1/lock-srv1-v41)"
assert_eq "srv1: 4.0 lock was reclaimed" conflict "$(vm_lock_probe cli2 /m/srv1/lock-srv1-v40)"
assert_eq "srv1: unlocked file is still free" acquired "$(vm_lock_probe cli2 /m/srv1/unlocked)"
vm_log "probes took $(vm_seconds_since "$start") s"

vm_step "kernel log of the restart"
log=$(vm_dmesg_since "$mark")
assert_contains "srv1: kernel uses nfsdcld after the restart" "Using nfsdcld client tracking" "$log"
assert_contains "srv1: grace period started" "grace period (net $srv1_net)" "$log"
assert_not_contains "srv2: no grace period" "(net $srv2_net)" "$log"

vm_step "stop"
for mount in srv1-v41 srv1-v40 srv2-v41 srv2-v40; do
	vm_lock_release "$mount"
done
vm_finish
