#!/bin/bash
# genl-same-id: one client uses the same client id ("Linux NFSv4.1 cli") with two
# virtual servers, and nsrecoveryd keeps one record in each server. The admin
# expires the client in srv1 only: the daemon removes the record of srv1, keeps
# the one of srv2, and the client still reclaims its lock when srv2 restarts.
# vm: nfsd=patched
# vm: timeout=200

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

client_id="Linux NFSv4.1 cli"

# Succeed when the JSON client list of server $1 has a record whose id is exactly $2.
srv_records() {
	nsr_ctl --json clients "$1" | grep -qF "\"id\": \"$2\""
}

# Print the /proc/fs/nfsd/clients entry of server $1 whose client id is $2.
nfsd_client_dir() {
	vm_ns_exec "$1" sh -c 'for dir in /proc/fs/nfsd/clients/*; do
		grep -qxF "name: \"$1\"" "$dir/info" && echo "$dir"
	done; true' sh "$2"
}

vm_step "start nsrecoveryd and nfsd in srv1 and srv2"
for name in srv1 srv2 cli cli2; do
	vm_ns_create "$name"
done
vm_link srv1 cli 1
vm_link srv2 cli 2
vm_link srv2 cli2 3
nsr_write_config
nsr_daemon_start
for server in srv1 srv2; do
	assert "nsrecoveryd tracks $server" nsr_wait_tracking "$server"
	vm_server_setup "$server"
	assert "$server: rpc.nfsd starts" vm_nfsd_start "$server"
	vm_nfsd_end_grace "$server"
done

vm_step "cli mounts both servers with 4.1 and locks a file on each"
assert "cli mounts srv1" vm_mount cli "$(vm_server_address 1)" 4.1 /m/srv1
assert "cli mounts srv2" vm_mount cli "$(vm_server_address 2)" 4.1 /m/srv2
assert "cli holds a lock on srv1" vm_lock_hold srv1 cli /m/srv1/lock
assert "cli holds a lock on srv2" vm_lock_hold srv2 cli /m/srv2/lock
assert "cli2 mounts srv2" vm_mount cli2 "$(vm_server_address 3)" 4.1 /m/srv2
assert "srv1 has 1 current client" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 1
assert "srv2 has 2 current clients" vm_wait_for 20 "srv2 records" nsr_clients_are srv2 current 2
assert "srv1 records \"$client_id\"" srv_records srv1 "$client_id"
assert "srv2 records \"$client_id\"" srv_records srv2 "$client_id"

vm_step "expire the client in srv1 only"
# Without its link, cli cannot come back to srv1 and be recorded again.
ip -n cli link set vc1 down || vm_fatal "taking the link of cli to srv1 down failed"
dir=$(nfsd_client_dir srv1 "$client_id")
assert "srv1's nfsd lists \"$client_id\"" test -n "$dir"
[ -n "$dir" ] || vm_fatal "no client of srv1 is named $client_id" \
	"$(vm_ns_exec srv1 sh -c 'cat /proc/fs/nfsd/clients/*/info')"
assert "the admin expires the client in srv1" \
	timeout 30 nsenter -t "$(vm_holder_pid srv1)" -m -n -u -- sh -c "echo expire >$dir/ctl"
assert "nsrecoveryd removed the client from srv1" \
	nsr_log_has "netns srv1 server srv1: remove client \"$client_id\""
assert_eq "srv1's nfsd no longer lists the client" "" "$(nfsd_client_dir srv1 "$client_id")"
assert_fails "srv1 has no record of \"$client_id\"" srv_records srv1 "$client_id"
assert_eq "srv1 has no current client" 0 "$(nsr_count_clients srv1 current)"
assert "srv2 still records \"$client_id\"" srv_records srv2 "$client_id"
assert_eq "srv2 still has 2 current clients" 2 "$(nsr_count_clients srv2 current)"
assert_not_contains "nothing was removed from srv2" "netns srv2 server srv2: remove" \
	"$(cat "$nsr_daemon_log")"

vm_step "restart srv2: the client reclaims its lock there"
mark=$(vm_dmesg_mark)
assert "srv2: nfsd restarts" vm_nfsd_restart srv2
assert "nsrecoveryd sent srv2's 2 reclaimable clients" \
	nsr_log_has "netns srv2 server srv2: grace start: sent 2 reclaimable clients"
assert "cli reconnects to srv2" vm_ns_exec cli stat /m/srv2/lock
assert "nsrecoveryd recorded the reclaim in srv2" vm_wait_for 20 "the reclaim of cli in srv2" \
	grep -qE "client $client_id recorded in epoch [0-9]+ \(reclaim\)$" "$nsr_daemon_log"
assert "the lock holder on srv2 still runs" vm_lock_alive srv2
assert_eq "the lock on srv2 was reclaimed" conflict "$(vm_lock_probe cli2 /m/srv2/lock)"
assert_not_contains "srv1 had no grace period" "grace period (net $(vm_ns_net_id srv1))" \
	"$(vm_dmesg_since "$mark")"

vm_step "stop"
vm_lock_release srv2
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
vm_finish
