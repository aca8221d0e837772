#!/bin/bash
# demo: a guided run of the main job. One nsrecoveryd serves two virtual NFS
# servers, each in its own network namespace. A client holds locks on both,
# server 1 restarts, and the client reclaims every lock while server 2 carries on.
# vm: nfsd=patched
# vm: timeout=240

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

say() {
	echo
	echo ">>> $*"
}

show() {
	sed 's/^/    /'
}

srv1_address=$(vm_server_address 1)
srv2_address=$(vm_server_address 2)

vm_step "two virtual servers and two clients"
say "Creating network namespaces srv1 and srv2 (NFS servers) and cli, cli2 (clients)."
for name in srv1 srv2 cli cli2; do
	vm_ns_create "$name"
done
vm_link srv1 cli 1
vm_link srv2 cli 2
vm_link srv1 cli2 3
say "srv1 serves $srv1_address and srv2 serves $srv2_address; cli2 reaches srv1 at $(vm_server_address 3)."

vm_step "one nsrecoveryd for the whole host"
say "Starting one nsrecoveryd. It finds every namespace in /run/netns."
nsr_write_config
nsr_daemon_start
for server in srv1 srv2; do
	assert "nsrecoveryd tracks $server" nsr_wait_tracking "$server"
done
grep -E "netns (srv1|srv2): tracking" "$nsr_daemon_log" | show

for server in srv1 srv2; do
	vm_step "start nfsd in $server"
	mark=$(vm_dmesg_mark)
	vm_server_setup "$server"
	assert "$server: rpc.nfsd starts" vm_nfsd_start "$server"
	vm_dmesg_since "$mark" | grep NFSD | show
	assert_contains "$server: nfsd chose the generic netlink tracker" \
		"Using nfsd_cltrack generic netlink client tracking" "$(vm_dmesg_since "$mark")"
done
srv1_net=$(vm_ns_net_id srv1)
srv2_net=$(vm_ns_net_id srv2)

vm_step "the client mounts both servers and takes locks"
say "cli mounts srv1 with NFSv4.1 and NFSv4.0, and srv2 with NFSv4.2, then locks a file on each."
say "cli2 mounts srv1 too; it plays a second client that later tries the same locks."
assert "cli mounts srv1 with 4.1" vm_mount cli "$srv1_address" 4.1 /m/srv1-v41
assert "cli mounts srv1 with 4.0" vm_mount cli "$srv1_address" 4.0 /m/srv1-v40
assert "cli mounts srv2 with 4.2" vm_mount cli "$srv2_address" 4.2 /m/srv2-v42
assert "cli2 mounts srv1 with 4.1" vm_mount cli2 "$(vm_server_address 3)" 4.1 /m/srv1
for mount in srv1-v41 srv1-v40 srv2-v42; do
	assert "$mount: cli holds a lock" vm_lock_hold "$mount" cli "/m/$mount/lock-$mount"
done
assert "srv1 records 3 clients" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 3

say "What nsrecoveryd keeps, per server (nsrecoveryctl servers). Each nfsd start begins
    a new epoch, and the clients of the epoch before it are those that may reclaim."
nsr_ctl servers | show
say "srv1's clients: one per NFS minor version of cli, and cli2 (nsrecoveryctl clients srv1):"
nsr_ctl clients srv1 | show

vm_step "restart nfsd in srv1 only"
say "Restarting nfsd in srv1. srv2 keeps running."
mark=$(vm_dmesg_mark)
assert "srv1: nfsd restarts" vm_nfsd_restart srv1
start=$(vm_uptime)
assert_eq "srv2 grants a new lock at once" acquired "$(vm_lock_probe cli /m/srv2-v42/new-lock)"
say "cli asked srv2 for a new lock and got it in $(vm_seconds_since "$start") s: srv2 has no grace period."
vm_dmesg_since "$mark" | grep NFSD | show
grep -F "grace start" "$nsr_daemon_log" | tail -n 1 | show

vm_step "the client reclaims"
say "cli writes again; the NFS client reclaims its opens and locks on srv1 first."
assert "srv1 4.1: write after the restart" vm_ns_exec cli sh -c 'echo again >>/m/srv1-v41/after'
assert "srv1 4.0: write after the restart" vm_ns_exec cli sh -c 'echo again >>/m/srv1-v40/after'
say "cli2, a second client, tries to take the same locks on srv1:"
for mount in srv1-v41 srv1-v40; do
	result=$(vm_lock_probe cli2 "/m/srv1/lock-$mount")
	echo "    lock-$mount: $result"
	assert_eq "$mount: the lock survived the restart" conflict "$result"
done
log=$(vm_dmesg_since "$mark")
assert_contains "srv1 had a grace period" "grace period (net $srv1_net)" "$log"
assert_not_contains "srv2 had none" "(net $srv2_net)" "$log"

say "The reclaiming clients are recorded in srv1's new epoch:"
vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 3
nsr_ctl clients srv1 | show

vm_step "stop"
for mount in srv1-v41 srv1-v40 srv2-v42; do
	vm_lock_release "$mount"
done
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
say "Done: srv1 restarted and its clients kept their locks; srv2 never noticed."
vm_finish
