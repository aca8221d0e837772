# lib.sh: helpers that guest scenarios source: virtual NFS servers in network
# namespaces, NFS clients, POSIX locks, kernel log marks and assertions.
# shellcheck shell=bash disable=SC2034
#
# A scenario runs under bash as PID 1's child inside the test VM. It starts with
#   source /mnt/share/lib.sh
# and ends with vm_finish, which prints the summary and sets the exit status.
#
# Names: a namespace NAME is a network namespace with a holder process that keeps
# its own mount and UTS namespace alive, so every command run with vm_ns_exec NAME
# sees that server's /proc/fs/nfsd, rpc_pipefs and /var/lib/nfs.
#
# Results go to /mnt/out, the host's tests/vm/work/out/SCENARIO/:
#   counts   "PASSED FAILED", rewritten after every assertion
#   step     the step that is running, set by vm_step
#   failure  every failed assertion with what was expected and what was seen
#   NS-DAEMON.log  output of each daemon the scenario started

set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

vm_out=/mnt/out
# The project's nsrecoveryd and nsrecoveryctl, copied from the build directory
# by tests/vm/run. The folder is empty when the project was not built.
vm_project_bin=/mnt/share/bin
vm_state=/run/nsr
mkdir -p "$vm_state"

# nfsd accepts nothing below 10 s for either time (fs/nfsd/nfsctl.c, 6.12).
vm_grace_seconds=10
vm_lease_seconds=10
vm_nfsd_threads=8

# Every veth link gets 10.77.INDEX.0/24: the server is .1 and the client .2.
# The VM has no network card, so these addresses exist only inside it.
vm_subnet_prefix=10.77

vm_passed=0
vm_failed=0
vm_current_step="(before the first step)"

# ---------------------------------------------------------------------------
# Output and steps

vm_uptime() {
	cut -d' ' -f1 /proc/uptime
}

# Print the seconds elapsed since uptime value $1, with one decimal.
vm_seconds_since() {
	awk -v start="$1" -v now="$(vm_uptime)" 'BEGIN { printf "%.1f", now - start }'
}

vm_log() {
	echo "[$(vm_uptime)] $*"
}

# Start a named step. A failure report names the step it happened in.
vm_step() {
	vm_current_step=$*
	echo
	vm_log "== $*"
	echo "$*" >"$vm_out/step"
}

# Stop the scenario at once, for a setup error that makes later checks meaningless.
vm_fatal() {
	vm_record_failure "$1" "${2:-}"
	vm_finish
}

# ---------------------------------------------------------------------------
# Assertions. Each prints PASS or FAIL with its description. A failure also
# prints what was expected and what was seen, and appends both to $vm_out/failure.

vm_write_counts() {
	echo "$vm_passed $vm_failed" >"$vm_out/counts"
}

vm_record_pass() {
	vm_passed=$((vm_passed + 1))
	vm_write_counts
	echo "PASS: $1"
}

# Record failed assertion $1 with detail lines $2 (expected / seen).
vm_record_failure() {
	local description=$1 detail=${2:-}

	vm_failed=$((vm_failed + 1))
	vm_write_counts
	echo "FAIL: $description"
	[ -n "$detail" ] && printf '%s\n' "$detail" | sed 's/^/      /'
	{
		echo "FAIL in step '$vm_current_step': $description"
		[ -n "$detail" ] && printf '%s\n' "$detail" | sed 's/^/    /'
	} >>"$vm_out/failure"
	return 0
}

# assert DESCRIPTION COMMAND...: pass when COMMAND exits with status 0. COMMAND's
# output is captured, so it must not leave a background process holding stdout.
# Start daemons with vm_ns_spawn instead.
assert() {
	local description=$1 output status
	shift

	output=$("$@" 2>&1)
	status=$?
	if [ "$status" -eq 0 ]; then
		vm_record_pass "$description"
		return 0
	fi
	vm_record_failure "$description" "expected: '$*' to succeed
seen:     exit status $status, output: ${output:-(none)}"
	return 1
}

# assert_fails DESCRIPTION COMMAND...: pass when COMMAND exits with a non-zero status.
assert_fails() {
	local description=$1 output status
	shift

	output=$("$@" 2>&1)
	status=$?
	if [ "$status" -ne 0 ]; then
		vm_record_pass "$description"
		return 0
	fi
	vm_record_failure "$description" "expected: '$*' to fail
seen:     exit status 0, output: ${output:-(none)}"
	return 1
}

# assert_eq DESCRIPTION EXPECTED SEEN
assert_eq() {
	if [ "$2" = "$3" ]; then
		vm_record_pass "$1"
		return 0
	fi
	vm_record_failure "$1" "expected: '$2'
seen:     '$3'"
	return 1
}

# assert_contains DESCRIPTION NEEDLE TEXT: pass when TEXT contains the fixed string NEEDLE.
assert_contains() {
	if grep -qF -- "$2" <<<"$3"; then
		vm_record_pass "$1"
		return 0
	fi
	vm_record_failure "$1" "expected: text containing '$2'
seen:     $(vm_excerpt "$3")"
	return 1
}

# assert_not_contains DESCRIPTION NEEDLE TEXT
assert_not_contains() {
	local matches

	matches=$(grep -F -- "$2" <<<"$3")
	if [ -z "$matches" ]; then
		vm_record_pass "$1"
		return 0
	fi
	vm_record_failure "$1" "expected: no line containing '$2'
seen:     $matches"
	return 1
}

# assert_le DESCRIPTION LIMIT VALUE: pass when the number VALUE <= LIMIT.
assert_le() {
	if awk -v limit="$2" -v value="$3" 'BEGIN { exit !(value <= limit) }'; then
		vm_record_pass "$1"
		return 0
	fi
	vm_record_failure "$1" "expected: at most $2
seen:     $3"
	return 1
}

# Print the last lines of a long text, so a failure report stays readable.
vm_excerpt() {
	local lines

	lines=$(printf '%s\n' "$1" | wc -l)
	if [ "$lines" -le 12 ]; then
		printf '%s\n' "${1:-(empty)}"
	else
		echo "(last 12 of $lines lines)"
		printf '%s\n' "$1" | tail -n 12
	fi
}

# Print the summary line and exit: 0 when no assertion failed, 1 otherwise.
vm_finish() {
	echo
	vm_log "scenario done"
	echo "$vm_passed passed, $vm_failed failed"
	vm_write_counts
	[ "$vm_failed" -eq 0 ] && exit 0
	exit 1
}

# vm_wait_for SECONDS DESCRIPTION COMMAND...: run COMMAND every 0.2 s until it
# succeeds. Returns 1 with a message when SECONDS pass first.
vm_wait_for() {
	local seconds=$1 description=$2 start
	shift 2

	start=$(vm_uptime)
	until "$@" >/dev/null 2>&1; do
		if awk -v start="$start" -v now="$(vm_uptime)" -v limit="$seconds" \
			'BEGIN { exit !(now - start >= limit) }'; then
			echo "timed out after $seconds s waiting for $description"
			return 1
		fi
		sleep 0.2
	done
}

# ---------------------------------------------------------------------------
# Namespaces and links

vm_holder_pid() {
	cat "$vm_state/$1.pid" 2>/dev/null
}

# Create network namespace NAME with its own mount and UTS namespace. The
# hostname inside is NAME. A holder process keeps the namespaces alive, because
# "ip netns exec" drops its mount namespace when its command exits.
vm_ns_create() {
	local name=$1

	ip netns add "$name" || vm_fatal "creating network namespace $name failed"
	ip -n "$name" link set lo up
	ip netns exec "$name" unshare --mount --uts --propagation private \
		bash -c "hostname $name; echo \$\$ >$vm_state/$name.pid.tmp; exec sleep 1000000" \
		</dev/null >/dev/null 2>&1 &
	vm_wait_for 10 "holder of namespace $name" test -s "$vm_state/$name.pid.tmp" ||
		vm_fatal "starting the holder of namespace $name failed"
	mv "$vm_state/$name.pid.tmp" "$vm_state/$name.pid"
}

# vm_ns_exec NAME COMMAND...: run COMMAND in namespace NAME (network, mount, UTS).
vm_ns_exec() {
	local name=$1 pid
	shift

	pid=$(vm_holder_pid "$name")
	[ -n "$pid" ] || { echo "namespace $name does not exist; create it with vm_ns_create"; return 1; }
	nsenter -t "$pid" -m -n -u -- "$@"
}

# vm_ns_spawn NAME LOG COMMAND...: start COMMAND in the background in namespace
# NAME with its output in file LOG, and print its pid. nsenter is started
# directly, not through a function, so that $! is COMMAND's pid: nsenter execs
# COMMAND when it enters no PID namespace.
vm_ns_spawn() {
	local name=$1 log=$2 pid
	shift 2

	pid=$(vm_holder_pid "$name")
	[ -n "$pid" ] || { echo "namespace $name does not exist; create it with vm_ns_create" >&2; return 1; }
	nsenter -t "$pid" -m -n -u -- "$@" </dev/null >"$log" 2>&1 &
	echo $!
}

# Print the inode number of namespace NAME's network namespace in hex, as nfsd
# prints it in "(net %x)".
vm_ns_net_id() {
	local link

	link=$(readlink "/proc/$(vm_holder_pid "$1")/ns/net")
	link=${link#net:[}
	printf '%x\n' "${link%]}"
}

# Print the server address of link INDEX.
vm_server_address() {
	echo "$vm_subnet_prefix.$1.1"
}

# vm_link SERVER CLIENT INDEX: connect two namespaces with a veth pair. SERVER
# gets 10.77.INDEX.1/24 and CLIENT 10.77.INDEX.2/24.
vm_link() {
	local server=$1 client=$2 index=$3

	ip link add "vs$index" netns "$server" type veth peer name "vc$index" netns "$client" ||
		vm_fatal "creating veth link $index between $server and $client failed"
	ip -n "$server" addr add "$vm_subnet_prefix.$index.1/24" dev "vs$index"
	ip -n "$client" addr add "$vm_subnet_prefix.$index.2/24" dev "vc$index"
	ip -n "$server" link set "vs$index" up
	ip -n "$client" link set "vc$index" up
}

# ---------------------------------------------------------------------------
# Virtual NFS servers

# Prepare namespace NAME as an NFSv4 server: private /var/lib/nfs, rpc_pipefs and
# nfsd mounts, a tmpfs exported as the pseudo-root (fsid=0) and rpc.mountd.
# nfsd itself starts with vm_nfsd_start.
vm_server_setup() {
	local name=$1

	vm_ns_exec "$name" bash -c '
		set -e
		mount -t tmpfs tmpfs /var/lib/nfs
		mkdir -p /var/lib/nfs/rpc_pipefs /var/lib/nfs/nfsdcld
		mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs
		mount -t nfsd nfsd /proc/fs/nfsd
		mount -t tmpfs tmpfs /export
		touch /var/lib/nfs/etab /var/lib/nfs/rmtab
		echo "served by $(hostname)" >/export/README' ||
		vm_fatal "mounting the file systems of server $name failed"

	vm_ns_exec "$name" exportfs -o rw,sync,no_subtree_check,no_root_squash,insecure,fsid=0 \
		"$vm_subnet_prefix.0.0/16:/export" || vm_fatal "exporting /export in server $name failed"
	vm_ns_spawn "$name" "$vm_out/$name-mountd.log" rpc.mountd --foreground -N 2 -N 3 \
		>"$vm_state/$name-mountd.pid"
}

# Start Debian's nfsdcld in server NAME and wait until it watches rpc_pipefs, so
# that it opens the pipe within the 1 s that nfsd waits for a reader.
vm_nfsdcld_start() {
	local name=$1 pid

	pid=$(vm_ns_spawn "$name" "$vm_out/$name-nfsdcld.log" \
		nfsdcld --foreground --debug --pipefsdir /var/lib/nfs/rpc_pipefs \
		--storagedir /var/lib/nfs/nfsdcld)
	echo "$pid" >"$vm_state/$name-nfsdcld.pid"
	vm_wait_for 10 "nfsdcld in $name to watch rpc_pipefs" vm_process_has_inotify "$pid" ||
		vm_fatal "starting nfsdcld in $name failed" "$(tail -n 5 "$vm_out/$name-nfsdcld.log")"
}

vm_process_has_inotify() {
	local fd

	for fd in /proc/"$1"/fd/*; do
		[[ $(readlink "$fd") == *inotify* ]] && return 0
	done
	return 1
}

# Start nfsd in server NAME: NFSv4 only (no rpcbind needed), short grace and
# lease times. Returns rpc.nfsd's status.
vm_nfsd_start() {
	local name=$1 threads=${2:-$vm_nfsd_threads}

	vm_ns_exec "$name" rpc.nfsd -N 3 -L "$vm_lease_seconds" -G "$vm_grace_seconds" "$threads"
}

# Stop nfsd in server NAME. Client records stay, because a normal shutdown
# sends no Remove upcall.
vm_nfsd_stop() {
	vm_ns_exec "$1" rpc.nfsd 0
}

vm_nfsd_restart() {
	vm_nfsd_stop "$1" && vm_nfsd_start "$1"
}

# End the grace period of server NAME now, for a step that need not wait it out.
vm_nfsd_end_grace() {
	vm_ns_exec "$1" sh -c 'echo Y >/proc/fs/nfsd/v4_end_grace'
}

# ---------------------------------------------------------------------------
# Clients

# vm_mount CLIENT ADDRESS VERSION DIR: mount ADDRESS:/ on DIR with NFS VERSION
# (4.2, 4.1 or 4.0). retry=0 makes a failed mount fail at once, not after 2 min.
vm_mount() {
	local client=$1 address=$2 version=$3 dir=$4

	vm_ns_exec "$client" mkdir -p "$dir" &&
		vm_ns_exec "$client" mount -t nfs4 -o "vers=$version,proto=tcp,retry=0" "$address:/" "$dir"
}

# ---------------------------------------------------------------------------
# POSIX locks, through the nfslock tool in the image

# vm_lock_hold NAME NAMESPACE FILE: hold a write lock on FILE from a background
# process in NAMESPACE, and wait until it has the lock. NAME identifies the holder.
vm_lock_hold() {
	local name=$1 namespace=$2 file=$3 pid

	pid=$(vm_ns_spawn "$namespace" "$vm_state/lock-$name.out" nfslock hold "$file")
	echo "$pid" >"$vm_state/lock-$name.pid"
	vm_wait_for 30 "lock $name on $file" grep -q '^locked' "$vm_state/lock-$name.out" ||
		{ cat "$vm_state/lock-$name.out"; return 1; }
}

# Succeed when the holder NAME still runs, so it has not lost its lock to an error.
vm_lock_alive() {
	kill -0 "$(cat "$vm_state/lock-$1.pid")" 2>/dev/null
}

vm_lock_release() {
	kill "$(cat "$vm_state/lock-$1.pid")" 2>/dev/null
}

# vm_lock_probe NAMESPACE FILE: try a write lock on FILE once and print
# "acquired" (no other owner held it), "conflict" (another owner holds it) or
# "error N" (nfslock exit status N, its message on stderr).
vm_lock_probe() {
	local status

	vm_ns_exec "$1" nfslock try "$2" >/dev/null
	status=$?
	case $status in
	0) echo acquired ;;
	1) echo conflict ;;
	*) echo "error $status" ;;
	esac
}

# ---------------------------------------------------------------------------
# Kernel log

# Write a mark into the kernel log and print its id for vm_dmesg_since. The id
# is unique without shared state, because callers run this in $(...).
vm_dmesg_mark() {
	local id

	id="$(vm_uptime)-$RANDOM"
	echo "nsr-mark $id." >/dev/kmsg
	echo "$id"
}

# Print the kernel log lines after mark ID.
vm_dmesg_since() {
	dmesg | awk -v mark="nsr-mark $1." 'found { print } index($0, mark) { found = 1 }'
}
