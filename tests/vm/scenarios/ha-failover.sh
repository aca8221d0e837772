#!/bin/bash
# ha-failover: two nsrecoveryd daemons play node A and node B, and a shared
# directory plays the shared storage. Virtual server X runs under A and a
# client holds a lock. A dies; X's address moves to a namespace that B serves,
# B takes X over and starts nfsd with the same scope, and the client reclaims
# its lock against B. When A comes back it may not write X's records.
# vm: nfsd=patched
# vm: timeout=300

# shellcheck source=../lib.sh
source /mnt/share/lib.sh
# shellcheck source=../nsr.sh
source /mnt/share/nsr.sh

x_address=$(vm_server_address 1)
x_second_address=$(vm_server_address 2)
shared=/shared
config_a=$vm_state/node-a.conf
config_b=$vm_state/node-b.conf

# write_node_config FILE NODE NAMESPACE: a daemon that serves only NAMESPACE,
# whose server X keeps its database in the shared directory.
write_node_config() {
	mkdir -p "/var/lib/nsr-$2"
	cat >"$1" <<CONF
[nsrecoveryd]
state-directory = /var/lib/nsr-$2
netns-directory =
node-id = $2
debug = yes
[nsrecoveryd-netns "$3"]
server = X
state-directory = $shared/X
CONF
}

# start_node NODE CONFIG: start a daemon and print its pid; its log is $vm_out/NODE.log.
start_node() {
	"$nsr_bin/nsrecoveryd" -F -c "$2" </dev/null >>"$vm_out/$1.log" 2>&1 &
	echo $!
}

node_log_has() {
	grep -qF -- "$2" "$vm_out/$1.log"
}

ctl_b() {
	"$nsr_bin/nsrecoveryctl" -c "$config_b" "$@"
}

# Set up a server namespace like vm_server_setup, but export the shared
# directory, so that the files and their handles are the same on both nodes.
server_setup_shared() {
	local name=$1

	vm_ns_exec "$name" bash -c "
		set -e
		mount -t tmpfs tmpfs /var/lib/nfs
		mkdir -p /var/lib/nfs/rpc_pipefs
		mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs
		mount -t nfsd nfsd /proc/fs/nfsd
		mount --bind $shared/export /export
		touch /var/lib/nfs/etab /var/lib/nfs/rmtab" ||
		vm_fatal "mounting the file systems of server $name failed"
	vm_ns_exec "$name" exportfs -o rw,sync,no_subtree_check,no_root_squash,insecure,fsid=0 \
		"$vm_subnet_prefix.0.0/16:/export" || vm_fatal "exporting /export in $name failed"
	vm_ns_spawn "$name" "$vm_out/$name-mountd.log" rpc.mountd --foreground -N 2 -N 3 >/dev/null
}

vm_step "shared storage, namespaces and links"
# The shared file system is mounted before the namespaces are created, so
# both server namespaces see the same tmpfs: same inodes, same file handles.
mkdir -p "$shared"
mount -t tmpfs -o mode=0755 tmpfs "$shared"
mkdir -p "$shared/X" "$shared/export"
chmod 0700 "$shared/X"
for name in xa xb cli cli2; do
	vm_ns_create "$name"
done
# Both instances of X use the same server scope: nfsd takes it from the host name.
vm_ns_exec xa hostname x
vm_ns_exec xb hostname x
vm_link xa cli 1
vm_link xa cli2 2

vm_step "node A serves X"
write_node_config "$config_a" node-a xa
write_node_config "$config_b" node-b xb
pid_a=$(start_node node-a "$config_a")
assert "node A tracks xa" vm_wait_for 20 "node A to track xa" \
	node_log_has node-a "netns xa: tracking nfsd over generic netlink"
server_setup_shared xa
assert "xa: rpc.nfsd starts" vm_nfsd_start xa
vm_nfsd_end_grace xa
assert "cli mounts X with 4.1" vm_mount cli "$x_address" 4.1 /m/x
assert "cli holds a lock on X" vm_lock_hold x-lock cli /m/x/lock
assert "cli2 mounts X with 4.1" vm_mount cli2 "$x_second_address" 4.1 /m/x
assert_eq "cli2 sees cli's lock" conflict "$(vm_lock_probe cli2 /m/x/lock)"
x_clients() {
	ctl_b --json clients X | grep -o '"state": *"current"' | wc -l
}
x_has_clients() {
	[ "$(x_clients)" -eq "$1" ]
}
assert "X's shared database records 2 clients" vm_wait_for 20 "X's records" x_has_clients 2
assert_contains "node A owns X" '"node_id": "node-a"' "$(ctl_b --json owner X)"

vm_step "node A dies; X's addresses move to xb"
kill -KILL "$pid_a"
assert "xa: nfsd stops" vm_nfsd_stop xa
for index in 1 2; do
	ip -n xa link set "vs$index" netns xb
	ip -n xb addr add "$vm_subnet_prefix.$index.1/24" dev "vs$index"
	ip -n xb link set "vs$index" up
done
assert "xb has X's address" vm_ns_exec xb ip -o addr show to "$x_address"

vm_step "node B takes X over and starts nfsd with the same scope"
takeover=$(ctl_b takeover X --node node-b 2>&1)
echo "$takeover"
assert_contains "the takeover fences node A" "node-b" "$takeover"
pid_b=$(start_node node-b "$config_b")
assert "node B tracks xb" vm_wait_for 20 "node B to track xb" \
	node_log_has node-b "netns xb: tracking nfsd over generic netlink"
server_setup_shared xb
mark=$(vm_dmesg_mark)
assert "xb: rpc.nfsd starts" vm_nfsd_start xb
assert_contains "xb: nfsd loaded X's 2 clients" "loaded 2 reclaimable clients" \
	"$(vm_dmesg_since "$mark")"

vm_step "the client reclaims its lock against node B"
assert "cli writes to X after the failover" vm_ns_exec cli sh -c 'echo after >>/m/x/after'
assert "cli's lock holder still runs" vm_lock_alive x-lock
assert_eq "cli2 sees cli's reclaimed lock" conflict "$(vm_lock_probe cli2 /m/x/lock)"
assert_contains "node B owns X" '"node_id": "node-b"' "$(ctl_b --json owner X)"

vm_step "node A comes back and may not write X"
generation=$(ctl_b --json owner X | grep -o '"generation": *[0-9]*' | grep -o '[0-9]*$')
pid_a=$(start_node node-a "$config_a")
assert "node A tracks xa again" vm_wait_for 20 "node A to track xa" \
	node_log_has node-a "netns xa: tracking nfsd over generic netlink"
# nfsd in xa still has X's scope; its grace start makes node A open X.
vm_nfsd_start xa
assert "node A refuses to serve X" vm_wait_for 20 "node A's refusal" \
	node_log_has node-a "node node-b owns this server"
assert_contains "node B still owns X" '"node_id": "node-b"' "$(ctl_b --json owner X)"
assert_eq "X's fencing generation is unchanged" "$generation" \
	"$(ctl_b --json owner X | grep -o '"generation": *[0-9]*' | grep -o '[0-9]*$')"
assert_eq "X keeps its 2 clients" 2 "$(x_clients)"

vm_step "stop"
vm_lock_release x-lock
kill -TERM "$pid_a" "$pid_b"
vm_finish
