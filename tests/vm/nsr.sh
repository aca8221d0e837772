# nsr.sh: helpers for scenarios that run the project's nsrecoveryd and nsrecoveryctl.
# shellcheck shell=bash
#
# Source it after lib.sh. The daemon runs in the VM's own namespaces (the
# initial network and mount namespace) and serves every namespace that
# "ip netns add" creates, as it would on a host.

nsr_bin=$vm_project_bin
nsr_config=$vm_state/nsrecoveryd.conf
nsr_state_dir=/var/lib/nsrecovery

# The daemon log of the current daemon instance; nsr_daemon_start numbers them.
nsr_daemon_log=
nsr_daemon_count=0

[ -x "$nsr_bin/nsrecoveryd" ] ||
	vm_fatal "the project's nsrecoveryd is missing from $nsr_bin; build it with meson before tests/vm/run"

# Write a configuration with the state directory and any extra lines given.
nsr_write_config() {
	mkdir -p "$nsr_state_dir"
	chmod 0700 "$nsr_state_dir"
	{
		echo "[nsrecoveryd]"
		echo "state-directory = $nsr_state_dir"
		echo "debug = yes"
		printf '%s\n' "$@"
	} >"$nsr_config"
}

# Start nsrecoveryd in the background and print its pid. Its log is
# $vm_out/nsrecoveryd-N.log, N counting from 1 in this scenario.
nsr_daemon_start() {
	[ -f "$nsr_config" ] || nsr_write_config
	nsr_daemon_count=$((nsr_daemon_count + 1))
	nsr_daemon_log=$vm_out/nsrecoveryd-$nsr_daemon_count.log
	"$nsr_bin/nsrecoveryd" -F -c "$nsr_config" </dev/null >"$nsr_daemon_log" 2>&1 &
	echo $! >"$vm_state/nsrecoveryd.pid"
}

nsr_daemon_pid() {
	cat "$vm_state/nsrecoveryd.pid"
}

nsr_daemon_alive() {
	kill -0 "$(nsr_daemon_pid)" 2>/dev/null
}

# Succeed when the current daemon log contains the fixed string $1.
nsr_log_has() {
	grep -qF -- "$1" "$nsr_daemon_log"
}

# Wait until the daemon has agreed the protocol with nfsd in namespace $1, so
# that it listens on the tracker group before nfsd starts there.
nsr_wait_tracking() {
	vm_wait_for 20 "nsrecoveryd to track namespace $1" \
		nsr_log_has "netns $1: tracking nfsd over generic netlink"
}

# Stop the daemon with SIGTERM and wait for it to exit.
nsr_daemon_stop() {
	local pid

	pid=$(nsr_daemon_pid)
	kill -TERM "$pid" 2>/dev/null
	vm_wait_for 20 "nsrecoveryd to exit" sh -c "! kill -0 $pid 2>/dev/null"
}

nsr_ctl() {
	"$nsr_bin/nsrecoveryctl" -c "$nsr_config" "$@"
}

# Print the number of clients of server $1 in the epoch column value $2
# (current or reclaimable), from nsrecoveryctl's JSON output.
nsr_count_clients() {
	nsr_ctl --json clients "$1" | grep -o "\"state\": *\"$2\"" | wc -l
}

# Succeed when server $1 has exactly $3 clients whose state is $2.
nsr_clients_are() {
	[ "$(nsr_count_clients "$1" "$2")" -eq "$3" ]
}

# Wait until the daemon watches namespace $1's rpc_pipefs for nfsd's cld
# pipe, so that it opens the pipe within the second nfsd waits for a reader.
nsr_wait_pipe() {
	vm_wait_for 20 "nsrecoveryd to watch rpc_pipefs of namespace $1" \
		nsr_log_has "netns $1: watching rpc_pipefs for nfsd's cld pipe"
}
