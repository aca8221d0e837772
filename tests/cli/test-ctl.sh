#!/bin/bash
# test-ctl.sh: run nsrecoveryctl against databases that make-db builds through the store.
# Usage: test-ctl.sh NSRECOVERYCTL MAKE-DB
set -u

CTL_BIN=$1
MAKE_DB=$2
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nsr-ctl-test-XXXXXX")
trap 'rm -rf "$DIR"' EXIT
failures=0

printf '[nsrecoveryd]\nnode-id = node-a\n' > "$DIR/nfs.conf"
mkdir "$DIR/state"
ctl() { "$CTL_BIN" -c "$DIR/nfs.conf" -s "$DIR/state" "$@"; }

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_rc NAME CODE COMMAND...: the command exits with CODE.
expect_rc() {
	local name=$1 want=$2 got
	shift 2
	"$@" > "$DIR/out" 2> "$DIR/err"
	got=$?
	if [ "$got" -eq "$want" ]; then pass "$name"; else
		fail "$name: exit $got, expected $want"; cat "$DIR/out" "$DIR/err"; fi
}

# expect_err NAME TEXT: the last command's standard error contains TEXT.
expect_err() {
	if grep -qF -- "$2" "$DIR/err"; then pass "$1"; else
		fail "$1: stderr lacks '$2': $(cat "$DIR/err")"; fi
}

# expect_json NAME JQ-FILTER EXPECTED: the last output, parsed, gives EXPECTED.
expect_json() {
	local got
	if ! got=$(jq -c "$2" < "$DIR/out" 2>&1); then fail "$1: invalid JSON: $got"; return; fi
	if [ "$got" = "$3" ]; then pass "$1"; else fail "$1: got $got, expected $3"; fi
}

"$MAKE_DB" "$DIR/state" blue basic || fail "make-db blue"
"$MAKE_DB" "$DIR/state" red shared 2> /dev/null || fail "make-db red"

# Listings print valid JSON.
for cmd in "servers" "clients blue" "events blue" "show blue alpha" "audit red" "check" \
	   "owner blue" "export blue --events"; do
	expect_rc "$cmd --json exits 0" 0 ctl --json $cmd
	jq -e . < "$DIR/out" > /dev/null || fail "$cmd --json: invalid JSON"
done

# Filters.
expect_rc "clients filter address" 0 ctl --json clients blue --address 192.0.2.2
expect_json "address filter keeps bravo" '[.clients[].id]' '["bravo"]'
expect_rc "clients filter principal" 0 ctl clients blue --json --principal nfs/bravo@EXAMPLE.ORG
expect_json "principal filter keeps bravo" '[.clients[].id]' '["bravo"]'
expect_rc "clients filter since" 0 ctl --json clients blue --since 90m
expect_json "since filter drops alpha of epoch 1" '[.clients[] | "\(.epoch):\(.id)"]' \
	'["1:0x0001feff","1:bravo","2:alpha"]'
expect_rc "clients filter since ISO" 0 ctl --json clients blue --since 2000-01-01T00:00:00Z
expect_json "old ISO time keeps all" '.clients | length' '4'
expect_rc "invalid since is usage" 2 ctl clients blue --since yesterday
expect_rc "option of another command is usage" 2 ctl clients blue --force
expect_rc "servers --since is usage" 2 ctl servers --since 1h
expect_err "rejected option named, not its value" "servers does not take the option --since"
expect_rc "servers -y is usage" 2 ctl servers -y
expect_err "short option named by its long name" "servers does not take the option --yes"
expect_rc "-V shows the version" 0 ctl -V
grep -q "^nsrecoveryctl " "$DIR/out" || fail "-V output: $(cat "$DIR/out")"
expect_rc "events since" 0 ctl --json events blue --since 5m
expect_json "recent events" '[.events[].type]' '["grace-start","reclaim"]'
expect_rc "unknown server" 3 ctl clients nosuch
expect_rc "show binary id in hex" 0 ctl --json show blue 0x0001feff
expect_json "show binary id records" '[.records[].state]' '["reclaimable"]'
expect_rc "show unknown client" 3 ctl show blue nosuch

# Audit findings and flags.
expect_rc "audit red" 0 ctl --json audit red
expect_json "red findings" '[.findings[].kind]' '["address-conflict","scope-change"]'
expect_json "red scope history" '[.scope_history[].scope]' '["scope-one","scope-two"]'
expect_rc "servers flags findings" 0 ctl --json servers
expect_json "findings counts" '[.servers[] | .findings]' '[0,2]'

# Export, then import into a fresh server, gives identical records.
expect_rc "export blue" 0 ctl export blue
cp "$DIR/out" "$DIR/blue.json"
expect_rc "import into unknown server" 3 ctl import green "$DIR/blue.json"
expect_err "unknown server suggests --create" "add --create"
[ ! -e "$DIR/state/green" ] || fail "import without --create made a server directory"
expect_rc "import into fresh green" 0 ctl import green "$DIR/blue.json" --create
expect_rc "export green" 0 ctl export green
records() { jq -S '[.grace | del(.grace_started, .grace_started_epoch)], .records' "$1"; }
if diff <(records "$DIR/blue.json") <(records "$DIR/out") > "$DIR/diff"; then
	pass "round trip keeps records and grace"
else
	fail "round trip differs"; cat "$DIR/diff"
fi
expect_rc "second import" 0 ctl --json clients green
count_before=$(jq '.clients | length' < "$DIR/out")
expect_rc "import is idempotent" 0 ctl import green "$DIR/blue.json"
expect_rc "clients after second import" 0 ctl --json clients green
expect_json "same record count" '.clients | length' "$count_before"
jq '.format_version = 99' "$DIR/blue.json" > "$DIR/newer.json"
expect_rc "newer format version refused" 1 ctl import green "$DIR/newer.json"
grep -q "newer" "$DIR/err" || fail "newer format message: $(cat "$DIR/err")"
echo '{"format": "nsrecoveryd-export",' > "$DIR/broken.json"
expect_rc "broken JSON refused" 1 ctl import green "$DIR/broken.json"
expect_err "JSON error has line and column" "broken.json:2:"
expect_rc "missing import file" 3 ctl import green "$DIR/nosuch.json"
expect_err "missing file reported as not found" "import file $DIR/nosuch.json not found"
grep -q -- ":-1:" "$DIR/err" && fail "missing file reported with a JSON position: $(cat "$DIR/err")"
jq '.records |= map(select(.state == "current"))' "$DIR/blue.json" > "$DIR/one.json"
expect_rc "import one record" 0 ctl import yellow "$DIR/one.json" --create
grep -q ": 1 record added," "$DIR/out" || fail "one record in singular: $(cat "$DIR/out")"

# Forget: asks on a terminal, needs --yes without one, refused during grace unless
# --force; not found is 3.
expect_rc "forget from a pipe needs --yes" 2 ctl forget blue bravo --force <<< "n"
expect_err "forget names --yes" "pass --yes"
expect_rc "forget from /dev/null needs --yes" 2 ctl forget blue bravo --force < /dev/null
expect_rc "bravo kept after pipe" 0 ctl --json clients blue
expect_json "pipe did not forget" '[.clients[].id | select(. == "bravo")]' '["bravo"]'
if command -v script > /dev/null; then
	# script(1) runs the command on a pseudo-terminal, so forget asks; "n" keeps the client.
	printf 'n\n' | script -qec "$(printf '%q ' "$CTL_BIN" -c "$DIR/nfs.conf" -s "$DIR/state" \
		forget blue bravo --force)" /dev/null > "$DIR/out" 2>&1
	grep -q "Nothing changed" "$DIR/out" && pass "forget on a terminal asks" ||
		fail "forget on a terminal: $(cat "$DIR/out")"
	expect_rc "bravo kept after no" 0 ctl --json clients blue
	expect_json "no did not forget" '[.clients[].id | select(. == "bravo")]' '["bravo"]'
else
	echo "skip: forget on a terminal: script(1) is not installed"
fi
expect_rc "forget during grace refused" 1 ctl forget blue bravo --yes < /dev/null
expect_rc "bravo still listed" 0 ctl --json clients blue
expect_json "bravo kept" '[.clients[].id | select(. == "bravo")]' '["bravo"]'
expect_rc "forget --force" 0 ctl forget blue bravo --yes --force < /dev/null
expect_rc "bravo gone" 0 ctl --json clients blue
expect_json "bravo removed" '[.clients[].id | select(. == "bravo")]' '[]'
expect_rc "forget event" 0 ctl --json events blue
expect_json "forget recorded" '[.events[].type | select(. == "forget")]' '["forget"]'
expect_rc "forget unknown client" 3 ctl forget blue nosuch --yes --force < /dev/null

# Ownership: takeover, owner --node, release.
expect_rc "takeover node with a blank" 2 ctl takeover blue --node "bad node"
expect_err "invalid node named" "invalid --node 'bad node'"
grep -q "clients.sqlite" "$DIR/err" && fail "node error names the database: $(cat "$DIR/err")"
expect_rc "takeover lease below 5" 2 ctl takeover blue --lease 4
expect_rc "takeover lease above 3600" 2 ctl takeover blue --lease 3601
expect_rc "takeover by node-b" 0 ctl takeover blue --node node-b --lease 5
expect_rc "owner is node-b" 0 ctl owner blue --node node-b
expect_rc "owner without --node exits 0" 0 ctl owner blue
expect_rc "owner --node node-a" 5 ctl owner blue --node node-a
expect_rc "release by node-a leaves node-b" 0 ctl release blue
expect_rc "owner still node-b" 0 ctl --json owner blue
expect_json "node-b holds" '[.node_id, .state]' '["node-b","held"]'
expect_rc "release by node-b" 0 ctl release blue --node node-b
expect_rc "owner after release" 0 ctl --json owner blue
expect_json "released" '[.node_id, .generation, .state]' '["node-b",2,"released"]'

# Check: healthy first, then a corrupted copy is named and fails.
expect_rc "check healthy" 0 ctl check
mkdir "$DIR/state/broken"
cp "$DIR/state/red/clients.sqlite" "$DIR/state/broken/clients.sqlite"
size=$(stat -c %s "$DIR/state/broken/clients.sqlite")
# Overwrite the pages after the first with garbage; page 1 keeps the header.
dd if=/dev/urandom of="$DIR/state/broken/clients.sqlite" bs=4096 seek=1 \
	count=$((size / 4096 - 1)) conv=notrunc status=none
expect_rc "check corrupted copy" 4 ctl check
grep -q "broken/clients.sqlite" "$DIR/err" "$DIR/out" || fail "check names the broken file"
expect_rc "check --json corrupted" 4 ctl --json check
expect_json "broken status" '[.databases[] | select(.database | endswith("broken/clients.sqlite")) | .status]' '["problem"]'

# One damaged database: each command reports each problem once, in words.
mkdir "$DIR/state/junk" "$DIR/state/newer"
echo "not a database" > "$DIR/state/junk/clients.sqlite"
cp "$DIR/state/red/clients.sqlite" "$DIR/state/newer/clients.sqlite"
# Offset 60 of the SQLite header contains the user version, which is the schema version.
printf '\x00\x00\x00\x63' | dd of="$DIR/state/newer/clients.sqlite" bs=1 seek=60 \
	conv=notrunc status=none
# once NAME PATTERN: the last command's standard error names PATTERN exactly once.
once() {
	local n
	n=$(grep -c -- "$2" "$DIR/err")
	if [ "$n" -eq 1 ]; then pass "$1"; else fail "$1: $n lines name $2"; cat "$DIR/err"; fi
}
expect_rc "check with three problems" 4 ctl check
once "check logs the broken file once" "broken/clients.sqlite"
once "check logs the junk file once" "junk/clients.sqlite"
once "check logs the newer file once" "newer/clients.sqlite"
expect_rc "check --json with three problems" 4 ctl --json check
problem() { echo "[.databases[] | select(.database | endswith(\"$1/clients.sqlite\")) | .problem]"; }
expect_json "check names damage" "$(problem broken)" '["damaged: the integrity check found problems"]'
expect_json "check names junk" "$(problem junk)" \
	'["not a usable database: damaged, or not an nsrecoveryd database"]'
expect_json "check names the newer schema" "$(problem newer)" \
	'["written by a newer nsrecoveryd (schema 99; this program reads up to '"$(jq '.latest_schema_version' < "$DIR/out")"')"]'
expect_rc "servers with three problems" 0 ctl servers
once "servers logs the junk file once" "junk/clients.sqlite"
grep -q "unreadable" "$DIR/out" && fail "servers shows a bare errno: $(cat "$DIR/out")"
grep -q "newer nsrecoveryd (schema 99" "$DIR/out" || fail "servers names the newer schema"
expect_rc "clients of junk" 1 ctl clients junk
once "clients of junk logs it once" "junk/clients.sqlite"
grep -q "newer/clients.sqlite" "$DIR/err" && fail "clients junk logs another server"
expect_rc "clients of broken" 1 ctl clients broken
once "clients of broken logs it once" "broken/clients.sqlite"
expect_rc "clients of blue is quiet" 0 ctl clients blue
[ -s "$DIR/err" ] && fail "clients blue logs other servers: $(cat "$DIR/err")"

echo "$failures failures"
[ "$failures" -eq 0 ]
