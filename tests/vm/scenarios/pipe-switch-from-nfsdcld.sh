#!/bin/bash
# pipe-switch-from-nfsdcld: a server that ran Debian's nfsdcld switches to
# nsrecoveryd. nsrecoveryd imports nfsdcld's database when it first opens the
# server, so the clients nfsdcld recorded reclaim their locks at the very next
# nfsd start. Runs on the stock nfsd.ko over the pipe protocol.
# vm: nfsd=stock
# vm: timeout=240

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

srv1_address=$(vm_server_address 1)

vm_step "create namespaces and links"
for name in srv1 cli cli2; do
	vm_ns_create "$name"
done
vm_link srv1 cli 1
vm_link srv1 cli2 2

vm_step "srv1 runs with Debian's nfsdcld"
vm_server_setup srv1
vm_nfsdcld_start srv1
assert "srv1: rpc.nfsd starts with nfsdcld" vm_nfsd_start srv1
for version in 4.1 4.0; do
	dir=/m/srv1-v${version/./}
	assert "cli mounts srv1 with $version" vm_mount cli "$srv1_address" "$version" "$dir"
	assert "srv1 $version: cli holds a lock" \
		vm_lock_hold "srv1-$version" cli "$dir/lock-v${version/./}"
done
assert "cli2 mounts srv1 with 4.1" vm_mount cli2 "$(vm_server_address 2)" 4.1 /m/srv1
# nfsdcld's storage directory, seen from outside srv1's mount namespace.
# SQLite resolves symbolic links in a path, and /proc/PID/root resolves to
# "/" in the reader's own mount namespace, so SQLite files are read from a
# copy, as an administrator would copy or bind-mount nfsdcld's directory.
nfsdcld_dir=/proc/$(vm_holder_pid srv1)/root/var/lib/nfs/nfsdcld
nfsdcld_copy=/var/lib/nfsdcld-srv1
nfsdcld_current_count() {
	local db="file:$1/main.sqlite?immutable=1" epoch

	epoch=$(sqlite3 "$db" 'SELECT current FROM grace') || return 1
	sqlite3 "$db" "SELECT count(*) FROM \"rec-$(printf '%016x' "$epoch")\""
}
nfsdcld_has_clients() {
	rm -rf "$nfsdcld_copy"
	cp -a "$nfsdcld_dir" "$nfsdcld_copy" && [ "$(nfsdcld_current_count "$nfsdcld_copy")" -eq "$1" ]
}
assert "nfsdcld recorded 3 clients" vm_wait_for 20 "nfsdcld records" nfsdcld_has_clients 3

vm_step "stop nfsd and nfsdcld, start nsrecoveryd with import-from"
assert "srv1: nfsd stops" vm_nfsd_stop srv1
kill "$(cat "$vm_state/srv1-nfsdcld.pid")"
vm_wait_for 10 "nfsdcld to exit" sh -c "! kill -0 $(cat "$vm_state/srv1-nfsdcld.pid") 2>/dev/null"
assert "copy nfsdcld's directory" nfsdcld_has_clients 3
checksum_before=$(md5sum "$nfsdcld_copy/main.sqlite" | cut -d' ' -f1)
nsr_write_config "transport = auto" \
	'[nsrecoveryd-netns "srv1"]' "server = srv1" "import-from = nfsdcld:$nfsdcld_copy"
nsr_daemon_start
assert "nsrecoveryd watches srv1's rpc_pipefs" nsr_wait_pipe srv1

vm_step "nfsd starts under nsrecoveryd and the clients reclaim"
assert "srv1: rpc.nfsd starts" vm_nfsd_start srv1
assert "nsrecoveryd imported nfsdcld's clients" nsr_log_has "imported nfsdcld"
assert "nsrecoveryd streamed 3 reclaimable clients" \
	nsr_log_has "grace start over the cld pipe (version 2): sent 3 reclaimable clients"
for version in 4.1 4.0; do
	assert "srv1 $version: write after the switch" \
		vm_ns_exec cli sh -c "echo again >>/m/srv1-v${version/./}/after"
	assert "srv1 $version: lock holder still runs" vm_lock_alive "srv1-$version"
	assert_eq "srv1 $version: lock was reclaimed" conflict \
		"$(vm_lock_probe cli2 "/m/srv1/lock-v${version/./}")"
done
assert_eq "nfsdcld's database was not modified" "$checksum_before" \
	"$(md5sum "$nfsdcld_copy/main.sqlite" | cut -d' ' -f1)"
events=$(nsr_ctl events srv1 2>&1)
echo "$events"
assert_contains "the import is an audit event" "import" "$events"

vm_step "stop"
for version in 4.1 4.0; do
	vm_lock_release "srv1-$version"
done
assert "nsrecoveryd stops on SIGTERM" nsr_daemon_stop
vm_finish
