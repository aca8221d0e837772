#!/bin/bash
# stock-no-tracker: baseline on the stock nfsd.ko without any tracker. nfsd in a
# network namespace other than the initial one rejects the usermode helper and the
# legacy directory, so it logs that client tracking failed, and still serves once
# the grace period is over.
# vm: nfsd=stock
# vm: timeout=120

# shellcheck source=../lib.sh
source /mnt/share/lib.sh

address=$(vm_server_address 1)

vm_step "create namespaces and link"
vm_ns_create srv
vm_ns_create cli
vm_link srv cli 1

vm_step "start nfsd without a tracker"
mark=$(vm_dmesg_mark)
vm_server_setup srv
start=$(vm_uptime)
assert "rpc.nfsd starts" vm_nfsd_start srv
vm_log "rpc.nfsd took $(vm_seconds_since "$start") s"
log=$(vm_dmesg_since "$mark")
# With no v4recovery directory, the last method fails its lookup with -ENOENT.
assert_contains "tracking init fails with -ENOENT" \
	"Unable to initialize client recovery tracking! (-2)" "$log"
assert_contains "usermode helper is rejected" "umh client tracking in a container ignored" "$log"
assert_not_contains "no tracking method is chosen" "client tracking operations" "$log"
# Debian's 6.12.118 refuses v4_end_grace (EBUSY) while no tracker is active.
assert_fails "admin cannot end the grace period" vm_nfsd_end_grace srv

vm_step "restart nfsd with a v4recovery directory"
assert "stop nfsd" vm_nfsd_stop srv
vm_ns_exec srv mkdir -p /var/lib/nfs/v4recovery
mark=$(vm_dmesg_mark)
assert "rpc.nfsd starts" vm_nfsd_start srv
log=$(vm_dmesg_since "$mark")
assert_contains "legacy tracking is rejected" "legacy client tracking in a container ignored" "$log"
assert_contains "tracking init fails with -EINVAL" \
	"Unable to initialize client recovery tracking! (-22)" "$log"

vm_step "serve a client after the grace period"
start=$(vm_uptime)
assert "cli mounts with 4.2" vm_mount cli "$address" 4.2 /m/srv
assert "cli writes a file" vm_ns_exec cli sh -c 'echo data >/m/srv/data'
assert_eq "file reads back" data "$(vm_ns_exec cli cat /m/srv/data)"
vm_log "the first write took $(vm_seconds_since "$start") s, because it waits out the grace period"

vm_finish
