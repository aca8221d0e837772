#!/bin/bash
# genl-daemon-absent: nfsd starts in a server namespace while no nsrecoveryd runs.
# nfsd waits cltrack_listener_wait_ms for a tracker, logs that none came and falls
# back to the older methods. Once nsrecoveryd tracks the namespace, the next nfsd
# start uses the generic netlink tracker and the daemon records a new client.
# vm: nfsd=patched
# vm: timeout=150

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

listener_wait_ms=500
wait_parameter=/sys/module/nfsd/parameters/cltrack_listener_wait_ms

vm_step "create the namespaces and the link"
vm_ns_create srv1
vm_ns_create cli
vm_link srv1 cli 1
vm_server_setup srv1
assert_eq "no nsrecoveryd runs" "" "$(pidof nsrecoveryd)"

vm_step "start nfsd with no tracker listening"
# A shorter listener wait only shortens the fallback; the message names the value.
echo "$listener_wait_ms" >"$wait_parameter" || vm_fatal "setting $wait_parameter failed"
assert_eq "listener wait is ${listener_wait_ms} ms" "$listener_wait_ms" "$(cat "$wait_parameter")"
mark=$(vm_dmesg_mark)
start=$(vm_uptime)
assert "srv1: rpc.nfsd starts without a tracker" vm_nfsd_start srv1
elapsed=$(vm_seconds_since "$start")
vm_log "rpc.nfsd took $elapsed s"
log=$(vm_dmesg_since "$mark")
assert_contains "nfsd found no tracker and fell back" \
	"no nfsd_cltrack tracker in this namespace after $listener_wait_ms ms, falling back" "$log"
assert_not_contains "nfsd did not choose the generic netlink tracker" \
	"Using nfsd_cltrack generic netlink client tracking" "$log"
# No nfsdcld either, and a namespace refuses the legacy methods (see stock-no-tracker).
assert_contains "the older methods were tried after the fallback" \
	"Unable to initialize client recovery tracking" "$log"
assert_le "the fallback cost at most a few seconds" 10 "$elapsed"

vm_step "start nsrecoveryd while nfsd runs"
nsr_write_config
nsr_daemon_start
assert "nsrecoveryd tracks srv1" nsr_wait_tracking srv1

vm_step "restart nfsd with the daemon listening"
mark=$(vm_dmesg_mark)
assert "srv1: nfsd restarts" vm_nfsd_restart srv1
log=$(vm_dmesg_since "$mark")
assert_contains "nfsd chose the generic netlink tracker" \
	"Using nfsd_cltrack generic netlink client tracking" "$log"
assert_not_contains "nfsd did not fall back this time" "falling back" "$log"
assert_contains "nfsd loaded no reclaimable clients" "nfsd_cltrack loaded 0 reclaimable clients" "$log"
assert_contains "nfsd skipped the grace period" "no clients to reclaim, skipping NFSv4 grace period" "$log"
assert "nsrecoveryd answered the grace start" \
	nsr_log_has "netns srv1 server srv1: grace start: sent 0 reclaimable clients"

vm_step "a new client is recorded"
assert "cli mounts srv1 with 4.1" vm_mount cli "$(vm_server_address 1)" 4.1 /m/srv1
assert "cli writes a file" vm_ns_exec cli sh -c 'echo data >/m/srv1/data'
assert "srv1 has 1 current client" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 1
assert_contains "the record names cli" '"id": "Linux NFSv4.1 cli"' "$(nsr_ctl --json clients srv1)"

vm_step "stop"
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
vm_finish
