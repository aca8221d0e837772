#!/bin/bash
# pipe-reboot: on Debian's stock nfsd.ko, one nsrecoveryd serves two virtual
# servers through nfsdcld's rpc_pipefs protocol. A restart of server 1 reclaims
# its clients' NFSv4.1 and 4.0 locks and leaves server 2 alone.
# vm: nfsd=stock
# vm: timeout=240

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

srv1_address=$(vm_server_address 1)
srv2_address=$(vm_server_address 2)

vm_step "create namespaces and links"
for name in srv1 srv2 cli cli2; do
	vm_ns_create "$name"
done
vm_link srv1 cli 1
vm_link srv2 cli 2
vm_link srv1 cli2 3

vm_step "start nsrecoveryd with the pipe transport"
nsr_write_config "transport = pipe" \
	'[nsrecoveryd-netns "srv1"]' "server = srv1" \
	'[nsrecoveryd-netns "srv2"]' "server = srv2"
nsr_daemon_start
for server in srv1 srv2; do
	assert "nsrecoveryd watches the rpc_pipefs of $server" nsr_wait_pipe "$server"
done

for server in srv1 srv2; do
	vm_step "start nfsd in $server"
	mark=$(vm_dmesg_mark)
	vm_server_setup "$server"
	assert "$server: rpc.nfsd starts" vm_nfsd_start "$server"
	assert_contains "$server: nfsd uses the nfsdcld pipe protocol" \
		"Using nfsdcld client tracking" "$(vm_dmesg_since "$mark")"
done
assert "nsrecoveryd serves srv1's cld pipe" nsr_log_has "netns srv1: serving nfsd's cld pipe"
assert "nsrecoveryd serves srv2's cld pipe" nsr_log_has "netns srv2: serving nfsd's cld pipe"
srv1_net=$(vm_ns_net_id srv1)
srv2_net=$(vm_ns_net_id srv2)

vm_step "mount, write and lock"
for server in srv1 srv2; do
	address=$srv1_address
	[ "$server" = srv2 ] && address=$srv2_address
	for version in 4.1 4.0; do
		dir=/m/$server-v${version/./}
		assert "cli mounts $server with $version" vm_mount cli "$address" "$version" "$dir"
		vm_ns_exec cli sh -c "echo $server >$dir/data"
		assert "$server $version: cli holds a lock" \
			vm_lock_hold "$server-$version" cli "$dir/lock-v${version/./}"
	done
done
assert "cli2 mounts srv1 with 4.1" vm_mount cli2 "$(vm_server_address 3)" 4.1 /m/srv1
assert "srv1 has 3 current clients" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 3
assert "srv2 has 2 current clients" vm_wait_for 20 "srv2 records" nsr_clients_are srv2 current 2

vm_step "restart nfsd in srv1 only"
mark=$(vm_dmesg_mark)
assert "srv1: nfsd restarts" vm_nfsd_restart srv1
start=$(vm_uptime)
assert_eq "srv2: new lock at once" acquired "$(vm_lock_probe cli /m/srv2-v41/fresh)"
assert_le "srv2: no wait for a grace period" 3 "$(vm_seconds_since "$start")"

vm_step "clients reclaim on srv1"
for version in 4.1 4.0; do
	assert "srv1 $version: write after the restart" \
		vm_ns_exec cli sh -c "echo again >>/m/srv1-v${version/./}/after"
	assert "srv1 $version: lock holder still runs" vm_lock_alive "srv1-$version"
	assert_eq "srv1 $version: lock was reclaimed" conflict \
		"$(vm_lock_probe cli2 "/m/srv1/lock-v${version/./}")"
done
log=$(vm_dmesg_since "$mark")
assert_contains "srv1: nfsdcld protocol again after the restart" "Using nfsdcld client tracking" "$log"
assert_contains "srv1: grace period started" "grace period (net $srv1_net)" "$log"
assert_not_contains "srv2: no grace period" "(net $srv2_net)" "$log"
assert "nsrecoveryd streamed srv1's clients over the pipe" \
	nsr_log_has "netns srv1 server srv1: grace start over the cld pipe (version 2): sent 3 reclaimable clients"

vm_step "stop"
for server in srv1 srv2; do
	for version in 4.1 4.0; do
		vm_lock_release "$server-$version"
	done
done
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
vm_finish
