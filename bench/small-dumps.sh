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
for w in abs abs-noverify abs-v1 amanda tar; do
	case $w in
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
