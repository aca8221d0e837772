#!/bin/bash
# kernel-bench: the real-kernel benchmark. In one VM boot, the same patched nfsd
# records client storms and reclaims with five client tracking methods in turn.
# They are nsrecoveryd over generic netlink, nsrecoveryd over the cld pipe,
# Debian's nfsdcld, the legacy v4recovery directory (initial namespace only) and
# no tracker at all. Run it with tests/vm/run bench/vm/kernel-bench.sh; it is never
# part of the test suite. Results: kernel-bench.txt in the scenario's output folder.
# vm: nfsd=patched
# vm: timeout=1200

# shellcheck source=../../tests/vm/lib.sh
source /mnt/share/lib.sh
# shellcheck source=../../tests/vm/nsr.sh
source /mnt/share/nsr.sh

load_bin=$vm_project_bin/nfs41-load
[ -x "$load_bin" ] ||
	vm_fatal "nfs41-load is missing from $vm_project_bin; build the project (bench/nfs41-load) before tests/vm/run"

# Sizes. nfsd admits at most 1024 clients per namespace in a 2 GiB guest
# (NFS4_CLIENTS_PER_GB), so a storm stays below that.
bench_clients=${BENCH_CLIENTS:-1000}
bench_serial_clients=${BENCH_SERIAL_CLIENTS:-200}
bench_connections=16
bench_threads=16
bench_grace=90
bench_lease=90
bench_results=$vm_out/kernel-bench.txt
bench_work=/run/kbench
mkdir -p "$bench_work"

# Run command $2... in server namespace $1; "init" is the VM's own namespace.
srv_exec() {
	local name=$1
	shift

	if [ "$name" = init ]; then
		"$@"
	else
		vm_ns_exec "$name" "$@"
	fi
}

bench_record() {
	echo "$*"
	echo "$*" >>"$bench_results"
}

# Print the value of KEY in the first line of FILE that starts with PREFIX.
kv() {
	local file=$1 prefix=$2 key=$3

	grep -m 1 "^$prefix" "$file" | tr ' ' '\n' | sed -n "s/^$key=//p"
}

set_listener_wait() {
	echo "$1" >/sys/module/nfsd/parameters/cltrack_listener_wait_ms
}

# Time one nfsd client-record call from the kernel's side: function_graph on
# nfsd4_client_record_create only, with depth 1, so no other function is traced.
trace_start() {
	local t=/sys/kernel/tracing

	[ -d $t/events ] || mount -t tracefs tracefs $t 2>/dev/null || return 0
	echo 0 >$t/tracing_on
	echo nop >$t/current_tracer
	echo nfsd4_client_record_create >$t/set_ftrace_filter 2>/dev/null || return 0
	echo nfsd4_client_record_create >$t/set_graph_function
	echo 1 >$t/max_graph_depth
	echo 16384 >$t/buffer_size_kb
	echo function_graph >$t/current_tracer
	: >$t/trace
	echo 1 >$t/tracing_on
}

# Print "n= p50_us= p99_us=" of the traced durations, then stop tracing.
trace_stop() {
	local t=/sys/kernel/tracing

	[ -f $t/trace ] || return 0
	echo 0 >$t/tracing_on
	grep -o '[0-9.]\+ us' $t/trace | awk '{ print $1 }' | sort -n >"$bench_work/trace.us"
	echo nop >$t/current_tracer
	echo >$t/set_ftrace_filter
	awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n=0"; exit }
		p50 = v[int(0.50 * (NR - 1) + 1.5)]; p99 = v[int(0.99 * (NR - 1) + 1.5)]
		printf "n=%d p50_us=%.0f p99_us=%.0f\n", NR, p50, p99 }' "$bench_work/trace.us"
}

# Run nfs41-load MODE in the client namespace against $address, with label LABEL.
# The output goes to the results folder; the result lines also to the results file.
load_run() {
	local label=$1 mode=$2 address=$3 out
	shift 3

	out=$vm_out/load-$label.txt
	vm_ns_exec load "$load_bin" "$mode" --server "$address" --concurrency "$bench_connections" \
		"$@" >"$out" 2>"$vm_out/load-$label.err"
	echo "load_status=$?" >>"$out"
	grep -E '^(result|latency)' "$out" | sed "s/^/$label /" >>"$bench_results"
	grep -E '^result' "$out"
	head -n 5 "$vm_out/load-$label.err"
}

# Start nfsd in server $1 with the benchmark's times.
bench_nfsd_start() {
	srv_exec "$1" rpc.nfsd -N 3 -L "$bench_lease" -G "$bench_grace" "$bench_threads"
}

# Wait until server $1 leaves its grace period and print the uptime then.
# Polls v4_end_grace every 50 ms.
grace_end_uptime() {
	srv_exec "$1" bash -c '
		limit=$(( $(cut -d. -f1 /proc/uptime) + '"$((bench_grace * 3))"' ))
		while read -r v </proc/fs/nfsd/v4_end_grace && [ "$v" = N ]; do
			[ "$(cut -d. -f1 /proc/uptime)" -ge "$limit" ] && break
			sleep 0.05
		done
		cut -d" " -f1 /proc/uptime'
}

# Print the kernel timestamp of the first dmesg line after mark $1 matching $2.
dmesg_time_since() {
	vm_dmesg_since "$1" | grep -m 1 -F -- "$2" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'
}

dmesg_mark_time() {
	dmesg | grep -m 1 -F "nsr-mark $1." | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'
}

# The whole measurement for one method: METHOD SERVER ADDRESS RECLAIM(yes/no).
# The tracker already runs and nfsd is not started yet.
bench_method() {
	local method=$1 server=$2 address=$3 reclaim=$4 mark log t0 t1 grace_end net trace
	local end_line

	vm_step "$method: start nfsd"
	mark=$(vm_dmesg_mark)
	t0=$(vm_uptime)
	assert "$method: rpc.nfsd starts" bench_nfsd_start "$server"
	bench_record "$method start_s=$(vm_seconds_since "$t0")"
	log=$(vm_dmesg_since "$mark")
	echo "$log" | grep NFSD
	echo "$log" >"$vm_out/dmesg-$method-start.txt"

	vm_step "$method: storm with 1 connection ($bench_serial_clients clients)"
	trace_start
	bench_connections=1 load_run "$method-serial" storm "$address" \
		--clients "$bench_serial_clients" --prefix "$method-serial" \
		--state "$bench_work/$method-serial.state"
	trace=$(trace_stop)
	bench_record "$method-serial upcall_trace $trace"
	load_run "$method-serial-teardown" teardown "$address" \
		--state "$bench_work/$method-serial.state"

	vm_step "$method: storm with $bench_connections connections ($bench_clients clients)"
	trace_start
	load_run "$method-storm" storm "$address" --clients "$bench_clients" \
		--prefix "$method" --state "$bench_work/$method.state"
	trace=$(trace_stop)
	bench_record "$method-storm upcall_trace $trace"
	assert_eq "$method: every storm client succeeded" "$bench_clients" \
		"$(kv "$vm_out/load-$method-storm.txt" result ok)"

	if [ "$reclaim" = yes ]; then
		vm_step "$method: restart nfsd, $bench_clients clients reclaim"
		assert "$method: rpc.nfsd stops" srv_exec "$server" rpc.nfsd 0
		sleep 1
		mark=$(vm_dmesg_mark)
		t0=$(vm_uptime)
		vm_ns_exec load "$load_bin" reclaim --server "$address" --concurrency "$bench_connections" \
			--clients "$bench_clients" --prefix "$method" --state "$bench_work/$method.state" \
			>"$vm_out/load-$method-reclaim.txt" 2>"$vm_out/load-$method-reclaim.err" &
		reclaim_pid=$!
		assert "$method: rpc.nfsd starts again" bench_nfsd_start "$server"
		t1=$(vm_uptime)
		grace_end=$(grace_end_uptime "$server")
		wait "$reclaim_pid"
		echo "load_status=$?" >>"$vm_out/load-$method-reclaim.txt"
		grep -E '^(result|latency)' "$vm_out/load-$method-reclaim.txt" |
			sed "s/^/$method-reclaim /" >>"$bench_results"
		grep -E '^result' "$vm_out/load-$method-reclaim.txt"
		head -n 5 "$vm_out/load-$method-reclaim.err"

		log=$(vm_dmesg_since "$mark")
		echo "$log" >"$vm_out/dmesg-$method-restart.txt"
		echo "$log" | grep NFSD | head -n 20
		net=$(srv_exec "$server" readlink /proc/self/ns/net | tr -dc 0-9)
		net=$(printf '%x' "$net")
		end_line=$(dmesg_time_since "$mark" "all clients done reclaiming")
		bench_record "$method restart nfsd_start_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" \
			"grace_end_s=$(awk -v a="$t0" -v b="$grace_end" 'BEGIN { printf "%.2f", b - a }')" \
			"dmesg_early_end_s=$( [ -n "$end_line" ] &&
				awk -v a="$(dmesg_mark_time "$mark")" -v b="$end_line" 'BEGIN { printf "%.2f", b - a }' || echo none)"
		assert_eq "$method: every client reclaimed" "$bench_clients" \
			"$(kv "$vm_out/load-$method-reclaim.txt" result ok)"
	fi

	vm_step "$method: teardown"
	load_run "$method-teardown" teardown "$address" --state "$bench_work/$method.state"
	assert "$method: rpc.nfsd stops" srv_exec "$server" rpc.nfsd 0
}

# ---------------------------------------------------------------------------

vm_step "set up the namespaces"
: >"$bench_results"
bench_record "kernel $(uname -r) cpus $(grep -c ^processor /proc/cpuinfo) mem_kib $(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
bench_record "clients $bench_clients serial_clients $bench_serial_clients connections $bench_connections nfsd_threads $bench_threads grace $bench_grace lease $bench_lease"
vm_ns_create load
index=1
for server in genl pipe cld none; do
	vm_ns_create "$server"
	vm_link "$server" load "$index"
	vm_server_setup "$server"
	index=$((index + 1))
done
# The legacy method works only in the initial namespace: link it to the client too.
ip link add vs5 type veth peer name vc5 netns load
ip addr add 10.77.5.1/24 dev vs5
ip link set vs5 up
ip -n load addr add 10.77.5.2/24 dev vc5
ip -n load link set vc5 up

# The daemon logs to tmpfs, not to the 9p share, and without debug lines:
# a write per upcall to 9p under TCG would cost more than the upcall.
nsr_config_for() {
	mkdir -p "$nsr_state_dir"
	chmod 0700 "$nsr_state_dir"
	printf '[nsrecoveryd]\nstate-directory = %s\n%s\n' "$nsr_state_dir" "$1" >"$nsr_config"
}

bench_daemon_start() {
	nsr_daemon_count=$((nsr_daemon_count + 1))
	nsr_daemon_log=$bench_work/nsrecoveryd-$nsr_daemon_count.log
	"$nsr_bin/nsrecoveryd" -F -c "$nsr_config" </dev/null >"$nsr_daemon_log" 2>&1 &
	echo $! >"$vm_state/nsrecoveryd.pid"
}

vm_step "method genl: nsrecoveryd over generic netlink"
set_listener_wait 2000
nsr_config_for "transport = genl"
bench_daemon_start
assert "nsrecoveryd tracks genl" nsr_wait_tracking genl
bench_method genl genl "$(vm_server_address 1)" yes
assert "nsrecoveryd stops" nsr_daemon_stop
cp "$nsr_daemon_log" "$vm_out/"

vm_step "method pipe: nsrecoveryd over the cld pipe"
set_listener_wait 0
nsr_config_for "transport = pipe"
bench_daemon_start
assert "nsrecoveryd watches pipe's rpc_pipefs" nsr_wait_pipe pipe
bench_method pipe pipe "$(vm_server_address 2)" yes
assert_contains "pipe: nfsd used the cld pipe" "Using nfsdcld client tracking" \
	"$(cat "$vm_out/dmesg-pipe-start.txt")"
assert "nsrecoveryd stops" nsr_daemon_stop
cp "$nsr_daemon_log" "$vm_out/"

vm_step "method nfsdcld: Debian's nfsdcld"
pid=$(vm_ns_spawn cld "$bench_work/cld-nfsdcld.log" nfsdcld --foreground \
	--pipefsdir /var/lib/nfs/rpc_pipefs --storagedir /var/lib/nfs/nfsdcld)
vm_wait_for 10 "nfsdcld to watch rpc_pipefs" vm_process_has_inotify "$pid" ||
	vm_fatal "starting nfsdcld failed" "$(tail -n 5 "$bench_work/cld-nfsdcld.log")"
bench_method nfsdcld cld "$(vm_server_address 3)" yes
assert_contains "nfsdcld: nfsd used the cld pipe" "Using nfsdcld client tracking" \
	"$(cat "$vm_out/dmesg-nfsdcld-start.txt")"
kill "$pid"
cp "$bench_work/cld-nfsdcld.log" "$vm_out/"

vm_step "method legacy: the v4recovery directory in the initial namespace"
# The same server setup as vm_server_setup, in the initial namespace. rpc.mountd
# is needed there too, because nfsd looks up every AUTH_SYS caller's address
# through it.
mount -t tmpfs tmpfs /var/lib/nfs
mkdir -p /var/lib/nfs/v4recovery
mount -t nfsd nfsd /proc/fs/nfsd
mount -t tmpfs tmpfs /export
touch /var/lib/nfs/etab /var/lib/nfs/rmtab
exportfs -o rw,sync,no_subtree_check,no_root_squash,insecure,fsid=0 "$vm_subnet_prefix.0.0/16:/export" ||
	vm_fatal "exporting /export in the initial namespace failed"
rpc.mountd --foreground -N 2 -N 3 </dev/null >"$vm_out/init-mountd.log" 2>&1 &
bench_method legacy init 10.77.5.1 yes
assert_contains "legacy: nfsd used the v4recovery directory" \
	"Using legacy client tracking operations" "$(cat "$vm_out/dmesg-legacy-start.txt")"
bench_record "legacy directories left $(find /var/lib/nfs/v4recovery -mindepth 1 -maxdepth 1 | wc -l)"

vm_step "method none: no tracker (baseline)"
bench_method none none "$(vm_server_address 4)" no

set_listener_wait 2000
vm_step "results"
cat "$bench_results"
vm_finish
