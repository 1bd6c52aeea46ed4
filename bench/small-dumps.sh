#!/bin/sh
# Small dumps (issue 15 section 5): N dumps of 100 KiB to 10 MiB (sizes
# log-uniform from a fixed seed, contents from one random pool) onto vtape,
# and what a tape drive would make of them:
#   abs        this engine: one run (dump --batch), format version 2, commit
#              points (a synchronous filemark at the run's end, or every
#              EVERY dumps / SECS seconds), read-after-write verification
#              at each commit point;
#   abs-noverify  the same writes without the read back (--no-verify);
#   abs-v1     as ABS ran before: a version 1 cartridge (full-size header and
#              trailer blocks) and a synchronous filemark plus a read back
#              after every dump (the same run with --commit-every 1);
#   amanda     one 32 KiB header per dump, the data in 32 KiB blocks, one
#              filemark per dump (Amanda's taper writes synchronous ones);
#   tar        one GNU tar of every file, streamed as one (a filemark at the
#              end).
# With SMALL_VIA_CTLD=1 (abs-bench --small-dumps N --via-ctld) also:
#   ctld       the same N dumps as N dump jobs through abs-ctld and one media
#              server (abs-ctl dump DRIVE E1 ... EN), sharing commit points
#              (abs-ctld --commit-every EVERY --commit-secs SECS);
#   ctld-every1  the same through abs-ctld with --commit-every 1: every dump
#              job its own commit point (as every media server did before).
# Tape bytes: measured on the vtape cartridges (abs, abs-v1) and by tar
# itself; computed for amanda. Time: each writer's trace (for abs the
# engine's own, ABS_TAPE_TRACE) through abs-drive-model --trace: a drive
# streaming at RATE MB/s with a BUF MiB buffer, FLUSH s per synchronous
# filemark, HITCH s per back-hitch (the drive stopped and repositions).
# Wall and CPU (user+sys of the process tree) of the two ABS runs on vtape
# are printed too: they are this host's, not a drive's.
# Usage: bench/small-dumps.sh BUILD N [RATE BUF FLUSH HITCH [EVERY SECS]]
# (abs-bench --small-dumps N runs it).
BUILD=${1:-build}
N=${2:-1000}
RATE=${3:-400}
BUF=${4:-1024}
FLUSH=${5:-0.5}
HITCH=${6:-3}
EVERY=${7:-1000}
SECS=${8:-300}
BIN=$(cd "$BUILD/bin" && pwd)
ENGINE=$BIN/abs-engine VTAPE=$BIN/abs-vtape MODEL=$BIN/abs-drive-model
T=$(mktemp -d "${TMPDIR:-/var/tmp}/abs-small.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
cd "$T" || exit 1
set -e

# Sizes: log-uniform in [100 KiB, 10 MiB], seed 15.
# (tar's size is checked against GNU tar on the first 20 dumps below.)
awk -v n="$N" 'BEGIN { srand(15); for (i = 1; i <= n; i++)
	printf "%d\n", int(102400 * exp(rand() * log(102.4))) }' >sizes
head -c 10485760 /dev/urandom >pool
payload=$(awk '{ s += $1 } END { printf "%.0f", s }' sizes)
# Each dump is a command's output (the pool's first SIZE bytes): no
# source files to write, the page cache holds the pool.
awk -v p="$T/pool" '{ printf "d%05d cmd:head -c %d %s\n", NR, $1, p }' sizes >batch

# One ABS run on a fresh cartridge: FORMAT VERSION, EVERY dumps per commit.
# Prints: tape-bytes wall-s cpu-s; leaves the trace in trace.NAME.
abs_run() {
	name=$1 fv=$2 every=$3
	rm -rf lib "trace.$name" "log.$name"
	"$VTAPE" new-library lib --slots 1 --drives 1 \
		--capacity $((payload * 2 + (N + 8) * 4194304)) --barcode-prefix B >/dev/null
	"$VTAPE" load lib --slot 1 --drive 0
	ABS_FORMAT_VERSION=$fv "$ENGINE" label --device vtape:lib/drive0 --label B00001 >/dev/null
	ABS_TAPE_TRACE="$T/trace.$name" /usr/bin/time -f "%e %U %S" -o "time.$name" \
		"$ENGINE" dump --device vtape:lib/drive0 --batch batch --log "log.$name" \
		--commit-every "$every" --commit-secs "$SECS" --quiet 2>"err.$name"
	bytes=$(find lib/carts -name 'file[0-9]*' ! -name '*.idx' -printf '%s\n' |
		awk '{ s += $1 } END { printf "%.0f", s }')
	echo "$bytes $(cat "time.$name")"
}
# N dump jobs through abs-ctld and one media server, EVERY dumps per commit
# point. Prints: tape-bytes wall-s; leaves the trace in trace.NAME.
ctld_run() {
	name=$1 every=$2
	rm -rf lib "trace.$name" cdb* crippled "journal.$name" "run.$name"
	mkdir -p "run.$name"
	"$VTAPE" new-library lib --slots 1 --drives 1 \
		--capacity $((payload * 2 + (N + 8) * 4194304)) --barcode-prefix B >/dev/null
	ABS_RUN_DIR="$T/run.$name" "$BIN/abs-ctld" --socket "$T/ctld.sock" \
		--db "$T/cdb" --foreground --commit-every "$every" \
		--commit-secs "$SECS" 2>"err.ctld.$name" &
	cpid=$! mpid=
	# (ctld_run runs in $(...): its own EXIT trap stops its daemons
	# when it fails; cleared once they are stopped)
	trap 'kill $cpid $mpid 2>/dev/null; exit 1' EXIT
	export ABS_CTL_SOCKET="$T/ctld.sock"
	i=0; until "$BIN/abs-ctl" whoami >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 600 ] || { echo "abs-ctld did not start" >&2; exit 1; }; sleep 0.1; done
	"$BIN/abs-ctl" tape-add default B00001 >/dev/null
	while read -r e src; do
		"$BIN/abs-ctl" entity-add "$e" "$src" >/dev/null
	done <batch
	ABS_RUN_DIR="$T/run.$name" ABS_TAPE_TRACE="$T/trace.$name" \
		"$ENGINE" serve --control "$T/ctld.sock" --drive d0 \
		--device vtape:lib/drive0 --log "journal.$name" 2>"err.ms.$name" &
	mpid=$!
	i=0; until "$BIN/abs-ctl" --json status | grep -q '"state":"idle"'; do
		i=$((i + 1)); [ $i -lt 600 ] || { echo "no media server" >&2; exit 1; }; sleep 0.1; done
	t0=$(date +%s.%N)
	awk '{ print $1 }' batch | xargs "$BIN/abs-ctl" dump d0 >/dev/null
	i=0; until [ "$(sqlite3 "$T/cdb" "SELECT count(*) FROM jobs WHERE kind = 'dump' AND state <> 'running' AND state <> 'queued'")" -eq "$N" ]; do
		i=$((i + 1)); [ $i -lt 36000 ] || { echo "the dump jobs did not end" >&2; exit 1; }; sleep 0.2; done
	t1=$(date +%s.%N)
	grep -c '^F$' "trace.$name" >"syncs.$name" || true
	done_n=$(sqlite3 "$T/cdb" "SELECT count(*) FROM jobs WHERE kind = 'dump' AND state = 'done'")
	[ "$done_n" -eq "$N" ] || { echo "$name: $done_n of $N dump jobs done" >&2; exit 1; }
	kill "$mpid"; wait "$mpid" 2>/dev/null || true
	kill "$cpid"; wait "$cpid" 2>/dev/null || true
	trap - EXIT
	bytes=$(find lib/carts -name 'file[0-9]*' ! -name '*.idx' -printf '%s\n' |
		awk '{ s += $1 } END { printf "%.0f", s }')
	echo "$bytes $(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }')"
}
if [ "${SMALL_VIA_CTLD:-}" = 1 ]; then
	r=$(ctld_run ctld "$EVERY") || exit 1
	set -- $r
	ctld_bytes=$1 ctld_wall=$2
	r=$(ctld_run ctld-every1 1) || exit 1
	set -- $r
	ctld1_bytes=$1 ctld1_wall=$2
fi
set -- $(abs_run abs 2 "$EVERY")
abs_bytes=$1 abs_wall=$2 abs_cpu=$(echo "$3 $4" | awk '{ print $1 + $2 }')
set -- $(abs_run abs-v1 1 1)
v1_bytes=$1 v1_wall=$2 v1_cpu=$(echo "$3 $4" | awk '{ print $1 + $2 }')
grep -c '^dump ' log.abs | grep -qx "$N" || { echo "abs: not every dump committed" >&2; exit 1; }

# Amanda: 32 KiB header, data in 32 KiB blocks (the last padded), a filemark.
awk '{ printf "w 32768\n"; for (b = int(($1 + 32767) / 32768); b > 0; b--)
	printf "w 32768\n"; printf "F\n" }' sizes >trace.amanda
amanda_bytes=$(awk '{ s += 32768 + int(($1 + 32767) / 32768) * 32768 } END { printf "%.0f", s }' sizes)
# tar: one stream of every file (GNU tar's size for these names: a
# 512-byte header and the data padded to 512 each, the directory's
# header, two zero blocks, padded to 10 KiB records), 1 MiB writes, a
# filemark at the end.
tar_bytes=$(awk '{ s += 512 + int(($1 + 511) / 512) * 512 }
	END { s += 512 + 1024; printf "%.0f", int((s + 10239) / 10240) * 10240 }' sizes)
awk -v b="$tar_bytes" 'BEGIN { for (; b > 1048576; b -= 1048576) print "w 1048576";
	print "w " b; print "F" }' >trace.tar

# The tar formula against GNU tar itself, on the first 20 sizes.
mkdir src
head -n 20 sizes | awk '{ printf "%d %05d\n", $1, NR }' | while read -r sz n; do
	head -c "$sz" pool >"src/d$n"
done
want=$(head -n 20 sizes | awk '{ s += 512 + int(($1 + 511) / 512) * 512 }
	END { s += 512 + 1024; printf "%.0f", int((s + 10239) / 10240) * 10240 }')
got=$(tar -cf - -C src . | wc -c)
[ "$want" = "$got" ] || echo "note: tar wrote $got bytes for 20 files, the formula says $want" >&2
rm -rf src

model() { "$MODEL" --trace "$RATE" "$BUF" "$FLUSH" "$HITCH" <"trace.$1"; }
stream_s=$(echo "$payload $RATE" | awk '{ printf "%.3f", $1 / ($2 * 1e6) }')
echo "abs-bench --small-dumps $N: $N dumps, $payload bytes of data" \
	"($(awk -v p="$payload" -v n="$N" 'BEGIN { printf "%.2f", p / n / 1e6 }') MB mean);" \
	"drive model $RATE MB/s, $BUF MiB buffer, $FLUSH s per synchronous" \
	"filemark, $HITCH s per back-hitch; ABS commit points every $EVERY dumps or $SECS s"
printf '%-13s %14s %14s %10s %8s %6s %10s %10s %8s\n' writer "tape bytes" \
	"overhead/dump" filemarks syncs hitch "model s" "vs tar" "lost s"
# ABS without its read back at commit points (--no-verify): the same
# writes, the trace without its "r" lines.
grep -v '^r$' trace.abs >trace.abs-noverify
abs_noverify_bytes=$abs_bytes
writers="abs abs-noverify abs-v1 amanda tar"
[ "${SMALL_VIA_CTLD:-}" = 1 ] && writers="abs ctld ctld-every1 abs-noverify abs-v1 amanda tar"
for w in $writers; do
	case $w in
	ctld) b=$ctld_bytes ;;
	ctld-every1) b=$ctld1_bytes ;;
	abs) b=$abs_bytes ;;
	abs-noverify) b=$abs_noverify_bytes ;;
	abs-v1) b=$v1_bytes ;;
	amanda) b=$amanda_bytes ;;
	tar) b=$tar_bytes ;;
	esac
	model "$w" >"model.$w"
	eval "$(sed 's/ /\n/g' "model.$w")"
	echo "$w $b $filemarks $syncs $backhitches $seconds $lost" >>table
done
tar_s=$(awk '$1 == "tar" { print $6 }' table)
while read -r w b fm sy bh s lost; do
	printf '%-13s %14d %14.0f %10d %8d %6d %10.2f %10.3f %8.2f\n' "$w" "$b" \
		"$(echo "$b $payload $N" | awk '{ print ($1 - $2) / $3 }')" "$fm" "$sy" \
		"$bh" "$s" "$(echo "$s $tar_s" | awk '{ print $1 / $2 }')" "$lost"
done <table
echo "streaming the data alone: $stream_s s"
echo "on this host (vtape, wall s / CPU s of the engine's process tree):" \
	"abs $abs_wall / $abs_cpu, abs-v1 $v1_wall / $v1_cpu"
[ "${SMALL_VIA_CTLD:-}" = 1 ] && echo "through abs-ctld (vtape, wall s from the" \
	"dump request to the last job ended): ctld $ctld_wall, ctld-every1 $ctld1_wall"
exit 0
