#!/bin/sh
# abs-bench --hosts N: N media servers on other hosts reporting to one
# abs-ctld. Hosts are network namespaces (tests/integration/netns.sh):
# abs-ctld on host A, the media servers split between hosts B and C, each
# on a drive of its own in a vtape library of small cartridges. Over TLS
# when this abs-ctld has --listen (certificates from a CA made here),
# else over abs-ctld's Unix socket (the namespaces still apart).
#
#   register  the N media servers started at once: registrations per
#             second (from the first start to all N registered, polled
#             every 50 ms through the admin's socket on A)
#   night     a dump on every drive at once (one file of SIZE each):
#             wall until all N jobs are done, jobs/s, events abs-ctld
#             took (progress once a second, tapes, parts, results)
#   events    N sessions (N/2 on B, N/2 on C) each register a drive,
#             are given a dump job and report progress as fast as
#             abs-ctld answers (one request in flight each, as a media
#             server has): events per second
# For each: abs-ctld's CPU (user+sys from /proc, all its threads) and its
# memory (VmRSS after, VmHWM peak).
# ABS_BENCH_HOSTS_UNIX=1: over abs-ctld's Unix socket even when it has
# --listen (the same phases without TLS, to compare).
# Usage: bench/hosts.sh BUILD [N] [DIR] [EVENTS] [SIZE_MIB] (root).
BUILD=${1:-build}
N=${2:-50}
DIR=${3:-${TMPDIR:-/var/tmp}}
EV=${4:-2000}
SIZE=${5:-4}
BIN=$(cd "$BUILD/bin" && pwd) || exit 1
ABS_TOP=${ABS_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "abs-bench --hosts: network namespaces need root" >&2; exit 2; }
case $N in '' | *[!0-9]* | 0 | 1) echo "abs-bench --hosts: N is 2 or more" >&2; exit 2 ;; esac
T=$(mktemp -d "$DIR/abs-hosts.XXXXXX") || exit 1
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${ABS_BENCH_KEEP:-}" ] || rm -rf "$T"
}
fail() { echo "abs-bench --hosts: $*" >&2; for f in ctld.log; do [ -f "$T/$f" ] && tail -n 20 "$T/$f" >&2; done; exit 1; }
skip() { echo "abs-bench --hosts: $*" >&2; exit 2; }
ok() { echo "  $*"; }
# netns.sh sets its EXIT trap (its namespaces, then cleanup).
. "$ABS_TOP/tests/integration/netns.sh"
trap 'exit 130' INT TERM
cd "$T" || exit 1
now() { date +%s.%N; }
HZ=$(getconf CLK_TCK)
cpu_of() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"; }
mem_of() { awk '/^VmRSS|^VmHWM/ { printf "%s %d MB  ", $1, $2 / 1024 }' "/proc/$1/status"; }
admin() { "$BIN/abs-ctl" --socket "$T/ctld.sock" "$@"; }
until_ok() { i=0; until eval "$1"; do i=$((i + 1)); [ $i -lt "${2:-1200}" ] || fail "timed out: $1"; sleep 0.05; done; }

netns_up >/dev/null
TLS=""
"$BIN/abs-ctld" --help 2>&1 | grep -q -- '--listen' && TLS=1
[ -z "${ABS_BENCH_HOSTS_UNIX:-}" ] || TLS=""
PORT=4747
if [ -n "$TLS" ]; then
	# A site CA, abs-ctld's certificate for host A's address, one for
	# the media servers (each of N names is allowed with its subject).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout ca.key -out ca.pem -days 2 -subj "/CN=abs bench CA" 2>/dev/null || fail "CA"
	cert() {
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null &&
		printf '%s\n' "$3" >"$1.ext" &&
		openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
			-days 2 -out "$1.pem" -extfile "$1.ext" 2>/dev/null || fail "certificate $1"
	}
	cert ctld "$(host_ip A)" "subjectAltName=IP:$(host_ip A)"
	cert ms mediaserver "extendedKeyUsage=clientAuth"
	CONTROL="tls://$(host_ip A):$PORT"
	MS_AUTH="--cert $T/ms.pem --key $T/ms.key --ca $T/ca.pem"
	LISTEN="--listen $(host_ip A):$PORT --cert $T/ctld.pem --key $T/ctld.key --ca $T/ca.pem"
	RAW_AUTH="--host $(host_ip A):$PORT --cert $T/ms.pem --key $T/ms.key --ca $T/ca.pem"
else
	CONTROL="$T/ctld.sock"
	MS_AUTH=""
	LISTEN=""
	RAW_AUTH="--socket $T/ctld.sock"
fi
start_ctld() {
	rm -f "$T/ctld.sock"
	# shellcheck disable=SC2086
	bg_on A "$BIN/abs-ctld" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
		--grace 30 $LISTEN 2>>"$T/ctld.log"
	CPID=$BG_PID
	until_ok '[ -S "$T/ctld.sock" ] && admin status >/dev/null 2>&1'
}
start_ctld
OVER="abs-ctld's Unix socket"
[ -z "$TLS" ] || OVER="TLS 1.3 ($CONTROL)"
echo "abs-bench --hosts $N: abs-ctld on host A ($(host_ip A)), media servers on B and C," \
	"over $OVER; work dir $T"

"$BIN/abs-vtape" new-library lib --slots "$N" --drives "$N" --capacity 64M --barcode-prefix B >/dev/null || fail "new-library"
k=0
while [ $k -lt "$N" ]; do
	"$BIN/abs-vtape" load lib --slot $((k + 1)) --drive $k >/dev/null || fail "load $k"
	k=$((k + 1))
done
head -c $((SIZE << 20)) /dev/urandom >data.bin
k=0
while [ $k -lt "$N" ]; do
	# A pool a drive: the one cartridge in drive K is the one its dump
	# asks for (a whole night's cartridge traffic is t_hosts' business).
	admin pool-add "p$k" >/dev/null || fail "pool-add"
	admin tape-add "p$k" "$(printf 'B%05d' $((k + 1)))" >/dev/null || fail "tape-add"
	admin entity-add "e$k" "file:$T/data.bin" --pool "p$k" >/dev/null || fail "entity-add"
	admin entity-add "f$k" "cmd:true" >/dev/null || fail "entity-add"
	[ -z "$TLS" ] || {
		admin server-allow "m$k" "cert:CN=mediaserver" >/dev/null 2>&1
		admin server-allow "f$k" "cert:CN=mediaserver" >/dev/null 2>&1
	} || true
	k=$((k + 1))
done
registered() { admin --json status | jq "[.drives[] | select(.drive | startswith(\"$1\")) | select(.state == \"$2\")] | length"; }

# ---- register ----
c0=$(cpu_of "$CPID")
t0=$(now)
k=0
while [ $k -lt "$N" ]; do
	h=B
	[ $((k % 2)) = 1 ] && h=C
	# shellcheck disable=SC2086
	bg_on $h "$BIN/abs-engine" serve --control "$CONTROL" $MS_AUTH --drive "m$k" \
		--device "vtape:$T/lib/drive$k" --log "$T/journal-m$k.log" 2>>"$T/engine-m$k.log"
	k=$((k + 1))
done
until_ok '[ "$(registered m idle)" = "$N" ]'
t1=$(now)
c1=$(cpu_of "$CPID")
echo "start: $N media servers started at once (B and C) all registered in $(echo "$t0 $t1" | awk '{ printf "%.2f s", $2 - $1 }'):" \
	"$(echo "$N $t0 $t1" | awk '{ printf "%.1f", $1 / ($3 - $2) }') registrations/s (their start included);" \
	"abs-ctld CPU $(echo "$c0 $c1" | awk '{ printf "%.2f s", $2 - $1 }'); $(mem_of "$CPID")"
# abs-ctld restarted: every media server comes back at once (1 s after
# it lost the connection, or at its next try): polled without a pause
# (each poll is an abs-ctl status), from abs-ctld answering again to the
# first and to the last registration; abs-ctld's CPU for all of them.
kill "$CPID"
wait "$CPID" 2>/dev/null
start_ctld
c0=$(cpu_of "$CPID")
t0=$(now)
tf="" polls=0
while :; do
	n=$(registered m idle)
	polls=$((polls + 1))
	[ -n "$tf" ] || [ "$n" = 0 ] || { tf=$(now); nf=$n; }
	[ "$n" != "$N" ] || break
	[ "$(echo "$t0 $(now)" | awk '{ print ($2 - $1 > 120) }')" = 0 ] || fail "only $n of $N media servers came back"
done
t1=$(now)
c1=$(cpu_of "$CPID")
echo "register: abs-ctld restarted; the first back after $(echo "$t0 $tf" | awk '{ printf "%.2f s", $2 - $1 }') ($nf at that poll)," \
	"all $N after $(echo "$t0 $t1" | awk '{ printf "%.2f s", $2 - $1 }') ($polls polls);" \
	"abs-ctld CPU $(echo "$c0 $c1" | awk '{ printf "%.3f s (%.2f ms a registration, polls included)", $2 - $1, 1000 * ($2 - $1) / '"$N"' }'); $(mem_of "$CPID")"

# ---- night ----
c0=$(cpu_of "$CPID")
t0=$(now)
k=0
while [ $k -lt "$N" ]; do
	echo "dump m$k e$k"
	k=$((k + 1))
done >night.txt
admin batch night.txt >/dev/null || fail "the night's dumps were refused"
until_ok '[ "$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE kind = '\''dump'\'' AND state IN ('\''queued'\'','\''running'\'')")" = 0 ]' 6000
t1=$(now)
c1=$(cpu_of "$CPID")
done_n=$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE kind = 'dump' AND state = 'done'")
[ "$done_n" = "$N" ] || fail "$done_n of $N dumps done"
wall=$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }')
echo "night: $N dumps of $SIZE MiB at once, all done in $wall s ($(echo "$N $wall" | awk '{ printf "%.1f", $1 / $2 }') jobs/s);" \
	"abs-ctld CPU $(echo "$c0 $c1" | awk '{ printf "%.2f s (%.1f%% of one core)", $2 - $1, 100 * ($2 - $1) / '"$wall"' }'); $(mem_of "$CPID")"

# ---- events ----
# Session K: register drive fK, wait for its job, report EV progress
# events, then the job's result. One request in flight (abs-ctl raw
# sends a line and reads a line: a pushed event is read in a reply's
# place, which only shifts what is printed).
feeder() {
	printf '{"op":"engine-register","args":{"drive":"f%s","device":"null:"},"id":1}\n' "$1"
	until [ -e "$T/go" ]; do sleep 0.05; done
	awk -v n="$EV" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"op\":\"engine-event\",\"args\":{\"event\":\"progress\",\"data\":{\"bytes\":%d,\"rate\":1.5,\"state\":\"writing\"}},\"id\":%d}\n", i * 65536, i + 1 }'
	printf '{"op":"engine-event","args":{"event":"result","data":{"ok":false,"error":"abs-bench --hosts: the events phase"}},"id":0}\n'
}
RAWP=""
k=0
while [ $k -lt "$N" ]; do
	h=B
	[ $((k % 2)) = 1 ] && h=C
	# shellcheck disable=SC2086
	feeder $k | ip netns exec "$(ns_of $h)" "$BIN/abs-ctl" $RAW_AUTH raw >"raw-f$k.out" 2>&1 &
	RAWP="$RAWP $!"
	PIDS="$PIDS $!"
	k=$((k + 1))
done
until_ok '[ "$(registered f idle)" = "$N" ]'
k=0
while [ $k -lt "$N" ]; do
	echo "dump f$k f$k"
	k=$((k + 1))
done >jobs.txt
admin batch jobs.txt >/dev/null || fail "the events phase's jobs were refused"
until_ok '[ "$(admin --json status | jq "[.drives[] | select(.drive | startswith(\"f\")) | select(.job != null and .job != 0)] | length")" = "$N" ]'
c0=$(cpu_of "$CPID")
t0=$(now)
: >go
for p in $RAWP; do wait "$p"; done
t1=$(now)
c1=$(cpu_of "$CPID")
bad=$(cat raw-f*.out | grep -c '"ok":false' || true)
wall=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
echo "events: $N sessions x $EV progress events in $wall s:" \
	"$(echo "$N $EV $wall" | awk '{ printf "%.0f", $1 * $2 / $3 }') events/s ($bad refused);" \
	"abs-ctld CPU $(echo "$c0 $c1" | awk '{ printf "%.2f s (%.0f us an event)", $2 - $1, 1e6 * ($2 - $1) / '"$((N * EV))"' }'); $(mem_of "$CPID")"
