#!/bin/sh
# bench-memory.sh: RSS of one nsrecoveryd serving many network namespaces, idle and with clients.
#
# Usage: bench-memory.sh BUILD_DIR [--quick | --full]
#   --quick  1 and 100 namespaces (default); --full adds 1000.
# Needs root (ip netns add). Every namespace, process and directory it
# creates is removed on exit, also on failure or Ctrl-C.
set -eu

build=${1:?usage: bench-memory.sh BUILD_DIR [--quick | --full]}
mode=${2:---quick}
case "$mode" in
--quick) counts="1 100" ;;
--full) counts="1 100 1000" ;;
*) echo "bench-memory.sh: unknown mode '$mode': use --quick or --full" >&2; exit 2 ;;
esac

daemon="$build/nsrecoveryd/nsrecoveryd"
clients="$build/bench/bench-memory-clients"
for f in "$daemon" "$clients"; do
	[ -x "$f" ] || { echo "bench-memory.sh: $f is missing: build first (bench/run does)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench-memory.sh: creating namespaces needs root" >&2; exit 1; }

prefix="nsrbench$$x"
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/nsr-bench-memory-XXXXXX")
pid=

cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix" || true); do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '[nsrecoveryd]\nworkers = 2\n' >"$tmp/nsrecoveryd.conf"

created=0
ensure_namespaces() {
	while [ "$created" -lt "$1" ]; do
		created=$((created + 1))
		ip netns add "$prefix$created"
	done
}

status_kib() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

cpu_ticks() {
	# utime + stime: fields 14 and 15 of /proc/PID/stat, after the "(comm)" field.
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# Start the daemon with K namespaces of ours present; print one table row.
measure() {
	k=$1
	ensure_namespaces "$k"
	rm -rf "$tmp/state" && mkdir -m 0700 "$tmp/state"
	"$daemon" -F -c "$tmp/nsrecoveryd.conf" -s "$tmp/state" 2>"$tmp/log" &
	pid=$!

	# Wait until every namespace is served (the own one included), at most 120 s.
	want=$((k + 1))
	i=0
	while [ "$(grep -c ': serving (' "$tmp/log" || true)" -lt "$want" ] && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	served=$(grep -c ': serving (' "$tmp/log" || true)
	sleep 5 # a few of the 2 s retry rounds for the missing family
	rss=$(status_kib "$pid" VmRSS)
	hwm=$(status_kib "$pid" VmHWM)
	fds=$(ls "/proc/$pid/fd" | wc -l)
	t0=$(cpu_ticks "$pid")
	sleep 10
	t1=$(cpu_ticks "$pid")
	hz=$(getconf CLK_TCK)
	cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) * 100 / hz / 10 }')

	kill -TERM "$pid"
	wait "$pid" || true
	pid=

	if [ "$k" = 0 ]; then
		base=$rss
		per=-
	else
		per=$(awk -v r="$rss" -v b="$base" -v n="$((served - 1))" 'BEGIN { printf "%.1f", (r - b) / n }')
	fi
	echo "| $k | $served | $rss | $hwm | $per | $fds | $cpu |"
}

echo "# bench-memory ($mode)"
echo "date: $(date '+%Y-%m-%d %H:%M:%S %Z')"
echo "kernel: $(uname -r); nproc: $(nproc)"
if grep -q '^nfsd ' /proc/modules 2>/dev/null; then
	echo "nfsd: loaded"
else
	echo "nfsd: not loaded, so the nfsd_cltrack family is missing and the daemon retries every 2 s"
fi
echo
echo "## nsrecoveryd discovering namespaces in /run/netns (idle: no nfsd)"
echo
echo "| namespaces added | served (incl. own) | VmRSS (KiB) | VmHWM (KiB) | KiB per namespace above 0 | open fds | CPU % while idle |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
base=0
measure 0
for k in $counts; do
	measure "$k"
done

echo
echo "## In-process daemon modules, fake nfsd over socketpairs, 1000 clients per namespace"
echo
header=--header
for k in $counts; do
	# Its scratch directory goes under $tmp, so cleanup removes it even after Ctrl-C.
	"$clients" "$k" 1000 "$tmp" $header
	header=
done
