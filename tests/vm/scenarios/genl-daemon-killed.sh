#!/bin/bash
# genl-daemon-killed: nsrecoveryd dies from SIGKILL while nfsd serves clients. A
# client that mounts meanwhile waits in its CREATE upcall. A new nsrecoveryd,
# started within the upcall timeout, fetches and answers that request: the mount
# completes, the new client is recorded, the old records are intact, no nfsd
# thread hangs, and a restart of nfsd still reclaims the old locks.
# vm: nfsd=patched
# vm: timeout=200

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

srv1_address=$(vm_server_address 1)
srv1_cli2_address=$(vm_server_address 2)
versions="4.2 4.1"

# Print one line "PID STATE WCHAN" for each nfsd kernel thread.
nfsd_threads() {
	local dir state

	for dir in /proc/[0-9]*; do
		[ "$(cat "$dir/comm" 2>/dev/null)" = nfsd ] || continue
		state=$(awk '{ print $3 }' "$dir/stat" 2>/dev/null)
		echo "${dir#/proc/} $state $(cat "$dir/wchan" 2>/dev/null)"
	done
}

# Succeed when an nfsd thread waits for the reply to an nfsd_cltrack upcall.
nfsd_thread_waits_for_upcall() {
	nfsd_threads | grep -q ' nfsd_cltrack_upcall$'
}

# Print the nfsd threads in uninterruptible sleep (state D), one a line.
nfsd_threads_blocked() {
	nfsd_threads | awk '$2 == "D"'
}

vm_step "start nsrecoveryd, nfsd in srv1 and two 4.x clients of cli"
for name in srv1 cli cli2; do
	vm_ns_create "$name"
done
vm_link srv1 cli 1
vm_link srv1 cli2 2
nsr_write_config
nsr_daemon_start
assert "nsrecoveryd tracks srv1" nsr_wait_tracking srv1
vm_server_setup srv1
assert "srv1: rpc.nfsd starts" vm_nfsd_start srv1
vm_nfsd_end_grace srv1
for version in $versions; do
	dir=/m/srv1-v${version/./}
	assert "cli mounts srv1 with $version" vm_mount cli "$srv1_address" "$version" "$dir"
	assert "cli holds a lock over $version" vm_lock_hold "v$version" cli "$dir/lock-$version"
done
assert "srv1 has 2 current clients" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 2

vm_step "SIGKILL nsrecoveryd"
killed_pid=$(nsr_daemon_pid)
killed_log=$nsr_daemon_log
kill -KILL "$killed_pid"
assert "nsrecoveryd is gone" vm_wait_for 10 "nsrecoveryd to die" \
	sh -c "! kill -0 $killed_pid 2>/dev/null"

vm_step "cli2 mounts srv1 while no daemon runs"
mark=$(vm_dmesg_mark)
timeout_ms=$(cat /sys/module/nfsd/parameters/cltrack_upcall_timeout_ms)
vm_log "nfsd waits up to $timeout_ms ms for an upcall answer"
vm_ns_exec cli2 mkdir -p /m/srv1
mount_start=$(vm_uptime)
# The mount waits in its RECLAIM_COMPLETE, whose CREATE upcall no tracker answers yet.
vm_ns_exec cli2 mount -t nfs4 -o vers=4.1,proto=tcp,retry=0 "$srv1_cli2_address:/" /m/srv1 \
	</dev/null >"$vm_state/cli2-mount.out" 2>&1 &
mount_pid=$!
assert "an nfsd thread waits for the CREATE answer" \
	vm_wait_for 8 "an nfsd thread in nfsd_cltrack_upcall" nfsd_thread_waits_for_upcall
assert "the mount has not completed while nobody answers" kill -0 "$mount_pid"
assert_not_contains "the killed daemon never saw the request of cli2" \
	'client "Linux NFSv4.1 cli2"' "$(cat "$killed_log")"

vm_step "start nsrecoveryd again within the upcall timeout"
nsr_daemon_start
assert "the new nsrecoveryd tracks srv1" nsr_wait_tracking srv1
assert "the new nsrecoveryd found the pending request at HELLO" \
	nsr_log_has "netns srv1: tracking nfsd over generic netlink: protocol 1, capabilities 0x3, upcall timeout $timeout_ms ms, 1 requests pending"
assert "the mount completes" vm_wait_for 20 "the mount of cli2" sh -c "! kill -0 $mount_pid 2>/dev/null"
wait "$mount_pid"
mount_status=$?
assert_eq "the mount succeeded (exit status)" 0 "$mount_status" ||
	cat "$vm_state/cli2-mount.out"
elapsed=$(vm_seconds_since "$mount_start")
assert_le "the mount finished within the upcall timeout" "$((timeout_ms / 1000))" "$elapsed"
assert "the new nsrecoveryd recorded cli2" \
	nsr_log_has 'netns srv1 server srv1: create client "Linux NFSv4.1 cli2" (10.77.2.2): done'
log=$(vm_dmesg_since "$mark")
assert_not_contains "no upcall timed out" "timed out" "$log"
assert_not_contains "no upcall failed" "nfsd_cltrack CREATE failed" "$log"

vm_step "the records are intact"
assert "srv1 has 3 current clients" vm_wait_for 20 "srv1 records" nsr_clients_are srv1 current 3
clients=$(nsr_ctl --json clients srv1)
for id in "Linux NFSv4.2 cli" "Linux NFSv4.1 cli" "Linux NFSv4.1 cli2"; do
	assert_contains "srv1 records \"$id\"" "\"id\": \"$id\"" "$clients"
done

vm_step "no nfsd thread is stuck"
assert_eq "srv1 runs all its nfsd threads" "$vm_nfsd_threads" \
	"$(vm_ns_exec srv1 cat /proc/fs/nfsd/threads)"
assert_eq "no nfsd thread is in D state" "" "$(nfsd_threads_blocked)"
assert_eq "no nfsd thread waits for an upcall" "" "$(nfsd_threads | grep nfsd_cltrack)"
start=$(vm_uptime)
assert "srv1: rpc.nfsd 0 completes within 15 s" \
	timeout 15 nsenter -t "$(vm_holder_pid srv1)" -m -n -u -- rpc.nfsd 0
vm_log "rpc.nfsd 0 took $(vm_seconds_since "$start") s"
assert_eq "srv1 has no nfsd thread left" 0 "$(vm_ns_exec srv1 cat /proc/fs/nfsd/threads)"

vm_step "start nfsd again: the old locks are reclaimed"
mark=$(vm_dmesg_mark)
assert "srv1: rpc.nfsd starts" vm_nfsd_start srv1
assert "nsrecoveryd sent the 3 reclaimable clients" \
	nsr_log_has "netns srv1 server srv1: grace start: sent 3 reclaimable clients"
assert_contains "nfsd loaded the 3 clients" "nfsd_cltrack loaded 3 reclaimable clients" \
	"$(vm_dmesg_since "$mark")"
for version in $versions; do
	dir=/m/srv1-v${version/./}
	assert "srv1 $version: cli writes after the restart" \
		vm_ns_exec cli sh -c "echo after >>$dir/after"
	assert "srv1 $version: the lock holder still runs" vm_lock_alive "v$version"
	assert_eq "srv1 $version: the lock was reclaimed" conflict \
		"$(vm_lock_probe cli2 "/m/srv1/lock-$version")"
done

vm_step "stop"
for version in $versions; do
	vm_lock_release "v$version"
done
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
vm_finish
