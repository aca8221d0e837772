#!/bin/bash
# genl-reboot: two virtual servers, each in its own namespace, served by one
# nsrecoveryd over generic netlink. A client holds NFSv4.2, 4.1 and 4.0 locks on
# both. Restarting server 1 reclaims every lock there and leaves server 2 alone.
# A second restart shows that the 4.0 client was recorded again when it reclaimed.
# vm: nfsd=patched
# vm: timeout=300

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

versions="4.2 4.1 4.0"
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

vm_step "start one nsrecoveryd for the whole host"
nsr_write_config
nsr_daemon_start
for server in srv1 srv2; do
	assert "nsrecoveryd tracks $server" nsr_wait_tracking "$server"
done
assert_eq "one nsrecoveryd process" 1 "$(pidof nsrecoveryd | wc -w)"

for server in srv1 srv2; do
	vm_step "start nfsd in $server"
	mark=$(vm_dmesg_mark)
	vm_server_setup "$server"
	assert "$server: rpc.nfsd starts" vm_nfsd_start "$server"
	assert_contains "$server: nfsd chose the generic netlink tracker" \
		"Using nfsd_cltrack generic netlink client tracking" "$(vm_dmesg_since "$mark")"
done
srv1_net=$(vm_ns_net_id srv1)
srv2_net=$(vm_ns_net_id srv2)
vm_nfsd_end_grace srv1
vm_nfsd_end_grace srv2

vm_step "mount both servers with NFSv4.2, 4.1 and 4.0, write and lock"
for server in srv1 srv2; do
	address=$srv1_address
	[ "$server" = srv2 ] && address=$srv2_address
	for version in $versions; do
		dir=/m/$server-v${version/./}
		assert "cli mounts $server with $version" vm_mount cli "$address" "$version" "$dir"
		vm_ns_exec cli sh -c "echo $server-$version >$dir/data"
		assert_eq "$server $version: file reads back" "$server-$version" \
			"$(vm_ns_exec cli cat "$dir/data")"
		assert "$server $version: cli holds a lock" \
			vm_lock_hold "$server-$version" cli "$dir/lock-$version"
	done
done
assert "cli2 mounts srv1 with 4.1" vm_mount cli2 "$srv1_second_address" 4.1 /m/srv1

vm_step "nsrecoveryd recorded the clients"
# One client per minor version and server; cli2 adds one more on srv1.
assert "srv1 has 4 current clients" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 4
assert "srv2 has 3 current clients" vm_wait_for 20 "srv2 records" nsr_clients_are srv2 current 3
for version in $versions; do
	assert_eq "cli2 sees the $version lock before the restart" conflict \
		"$(vm_lock_probe cli2 "/m/srv1/lock-$version")"
done

restart_srv1() {
	local round=$1 log start

	vm_step "restart nfsd in srv1 ($round)"
	mark=$(vm_dmesg_mark)
	assert "srv1: nfsd restarts ($round)" vm_nfsd_restart srv1
	start=$(vm_uptime)
	assert_eq "srv2: new lock at once ($round)" acquired \
		"$(vm_lock_probe cli "/m/srv2-v41/fresh-$round")"
	assert_le "srv2: no wait for a grace period ($round)" 3 "$(vm_seconds_since "$start")"

	vm_step "clients reclaim on srv1 ($round)"
	for version in $versions; do
		assert "srv1 $version: write after the restart ($round)" \
			vm_ns_exec cli sh -c "echo $round >>/m/srv1-v${version/./}/after-$round"
		assert "srv1 $version: lock holder still runs ($round)" vm_lock_alive "srv1-$version"
		assert_eq "srv1 $version: lock was reclaimed ($round)" conflict \
			"$(vm_lock_probe cli2 "/m/srv1/lock-$version")"
	done

	log=$(vm_dmesg_since "$mark")
	assert_contains "srv1: grace period started ($round)" "grace period (net $srv1_net)" "$log"
	assert_not_contains "srv2: no grace period ($round)" "(net $srv2_net)" "$log"
	assert_contains "srv1: generic netlink tracker again ($round)" \
		"Using nfsd_cltrack generic netlink client tracking" "$log"
	assert "nsrecoveryd sent the reclaimable clients ($round)" \
		nsr_log_has "netns srv1 server srv1: grace start: sent 4 reclaimable clients"
}

restart_srv1 first
assert "srv1: every client recorded again after reclaim" \
	vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 4
vm_nfsd_end_grace srv1
restart_srv1 second

vm_step "nsrecoveryctl lists both servers and their clients"
servers=$(nsr_ctl servers)
echo "$servers"
assert_contains "servers lists srv1" "srv1" "$servers"
assert_contains "servers lists srv2" "srv2" "$servers"
assert_contains "servers --json names srv1" '"srv1"' "$(nsr_ctl --json servers)"
clients=$(nsr_ctl clients srv2)
echo "$clients"
assert_contains "clients shows the 4.0 client of srv2" "Linux NFSv4.0 cli" "$clients"
assert_contains "clients shows a 4.1 client of srv2" "Linux NFSv4.1" "$clients"
assert_eq "srv2 kept 3 current clients" 3 "$(nsr_count_clients srv2 current)"

vm_step "reload and namespace removal"
kill -HUP "$(nsr_daemon_pid)"
assert "nsrecoveryd reloads its configuration on SIGHUP" \
	vm_wait_for 10 "the reload" nsr_log_has "received SIGHUP, reloading"
assert "nsrecoveryd still runs after the reload" nsr_daemon_alive
# The holder keeps cli2's namespace alive; only its /run/netns entry goes.
ip netns del cli2
assert "nsrecoveryd drops a namespace whose entry is deleted" \
	vm_wait_for 10 "cli2 to be dropped" nsr_log_has "netns cli2: no longer served"
assert_eq "srv1 still has its records after the reload" 4 "$(nsr_count_clients srv1 current)"

vm_step "stop"
for server in srv1 srv2; do
	for version in $versions; do
		vm_lock_release "$server-$version"
	done
done
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
vm_finish
