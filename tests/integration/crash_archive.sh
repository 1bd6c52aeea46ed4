#!/bin/sh
# Archiver crash campaign (docs/QUEUE.md): abs-engine archive is killed
# (SIGKILL) at a random crash point of a random queue on a vtape library
# (common/crash.h, ABS_CRASH_AT=POINT:N: a block write, a filemark, a
# spot-verification read, a changer move, a dump-log line, a commit point,
# an entry rewritten or moved into done), then run again to the end.
# After the kill and again at the end, every entry the producer queued must
# be in exactly one place: the queue, done, or (a file removed before it
# was archived) done/refused; never in two, never in none. Every done
# entry's parts, read from the cartridges with dd alone (the recipe in
# each part header), must give the file's bytes: the done entry's digest
# and the original's.
#
# Usage: crash_archive.sh BUILD KILLS [FIRST_SEED]
# Runs seeds FIRST_SEED, FIRST_SEED+1, ... until KILLS kills happened; a
# failing run prints its seed (crash_archive.sh BUILD 1 SEED replays it).
# CRASH_KEEP=1 keeps the temp dir. Counts:
#   kills     archivers killed by SIGKILL
#   entries   entries checked (after each kill and at each run's end)
#   proven    done entries whose parts read back as the file
#   both      an entry in two places
#   neither   an entry in none
#   bad       a done entry whose parts are not the file, or that names
#             parts not on the cartridges
#   stuck     the archiver run after a kill fails, or leaves a ready
#             entry queued
# Prints one summary line "crash-archive: ..."; exits non-zero on any
# both, neither, bad or stuck.
set -u
BUILD=$1
KILLS=${2:-100}
SEED0=${3:-$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2000000000 ))}
BIN=$(cd "$BUILD/bin" && pwd)
base=${TMPDIR:-/tmp}
[ -w /dev/shm ] && base=/dev/shm
T=$(mktemp -d "$base/abs-crash-archive.XXXXXX")
[ -n "${CRASH_KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
trap 'exit 143' TERM HUP
trap 'exit 130' INT
cd "$T" || exit 1
export ABS_RUN_DIR="$T"
head -c 16000000 /dev/urandom >pool.bin
kills=0 runs=0 unreached=0 entries=0 proven=0 both=0 neither=0 bad=0 stuck=0
bad() {	# CLASS MESSAGE
	echo "FAIL $1 (seed $seed): $2"
	eval "$1=\$(( $1 + 1 ))"
	runbad=1
}

# rnd N: R becomes a number 0..N-1 from the run's stream.
rnd() {
	r=$(( (r * 1103515245 + 12345) % 2147483648 ))
	R=$(( (r / 65536) % $1 ))
}

# The cartridge directory that holds label L.
cart_of() {
	for c in "$1"/carts/*; do
		grep -aqs "^label=$2\$" "$c/file000000" && { echo "$c"; return; }
	done
}

# prove ENTRY: its parts, read with dd as the headers say, are the file.
prove() {
	: >part.out
	jq -r '.parts[] | "\(.label) \(.file)"' "$1" >parts.txt
	while read -r label file; do
		c=$(cart_of lib "$label")
		f=$c/$(printf 'file%06d' "$file")
		[ -n "$c" ] && [ -f "$f" ] || { bad bad "$1: a part names $label file $file, not on a cartridge"; return; }
		skip=$(head -c 16384 "$f" | tr -d '\000' | grep -ao 'skip_bytes skip=[0-9]*' | head -1 | cut -d= -f2)
		[ -n "$skip" ] || { bad bad "$1: $label file $file has no part header"; return; }
		dd if="$f" bs=1048576 iflag=skip_bytes skip="$skip" status=none >>part.out
	done <parts.txt
	set -- "$1" $(jq -r '"\(.digest) \(.path)"' "$1")
	want=${2#*:}
	got=$(xxh128sum part.out 2>/dev/null | cut -d' ' -f1)
	orig=$(xxh128sum "$3" 2>/dev/null | cut -d' ' -f1)
	if [ "$got" = "$want" ] && [ "$got" = "$orig" ]; then
		proven=$((proven + 1))
	else
		bad bad "$1: its parts read $got, the entry says $want, the file is $orig"
	fi
}

# check: every queued name in exactly one place; done entries proven.
check() {
	for name in $(cat names); do
		k=0
		[ -f "q/$name.json" ] && k=$((k + 1))
		[ -f "done/$name.json" ] && k=$((k + 1))
		[ -f "done/refused/$name.json" ] && k=$((k + 1))
		entries=$((entries + 1))
		[ $k -le 1 ] || bad both "$name is in $k places ($1)"
		[ $k -ge 1 ] || bad neither "$name is nowhere ($1)"
	done
	for e in done/*.json; do
		[ -f "$e" ] && prove "$e"
	done
}

POINTS="scsi-write scsi-write scsi-write commit dumplog scsi-read changer-move archive-entry archive-entry archive-move archive-move *"
seed=$SEED0
while [ $kills -lt "$KILLS" ]; do
	runs=$((runs + 1))
	runbad=0
	r=$seed
	rm -rf run && mkdir run && cd run || exit 1
	rnd 2; cap=$(( R == 0 ? 24 : 64 ))
	"$BIN/abs-vtape" new-library lib --slots 12 --drives 1 --capacity ${cap}M \
		--early-warning 2M --barcode-prefix A >/dev/null
	"$BIN/abs-vtape" load lib --slot 1 --drive 0
	"$BIN/abs-engine" label --device vtape:lib/drive0 --label A00001 >/dev/null 2>&1
	mkdir data
	rnd 8; nf=$(( 2 + R ))
	: >names
	k=0
	while [ $k -lt "$nf" ]; do
		rnd 6000; size=$(( 1000 + R * 1000 ))
		rnd 9000000; off=$R
		{ echo "seed $seed file $k"; dd if=../pool.bin bs=1000 skip=$((off / 1000)) \
			count=$((size / 1000)) status=none; } >data/f$k
		rnd 6
		case $R in
		0) "$BIN/abs-queue" add q data/f$k --open --expires 0 ;;
		1) "$BIN/abs-queue" add q data/f$k --checksum "xxh128:$(xxh128sum data/f$k 2>/dev/null | cut -d' ' -f1)" ;;
		*) "$BIN/abs-queue" add q data/f$k ;;
		esac
		k=$((k + 1))
	done
	ls q | sed -n 's/\.json$//p' >names
	# One file gone before it is archived, in a third of the runs.
	rnd 3; [ $R = 0 ] && rm -f data/f0
	rnd 4; ce=$(( 1 + R ))
	set -f
	set -- $POINTS
	set +f
	rnd $#; shift $R
	point=$1
	# N within what a run reaches: a block write per MB, a dump-log
	# line, an entry rewrite and a move per file, fewer of the rest.
	case $point in
	scsi-write | '*') rnd 40 ;;
	dumplog) rnd $((2 * nf)) ;;
	archive-*) rnd "$nf" ;;
	*) rnd 3 ;;
	esac
	n=$(( 1 + R ))
	ABS_CRASH_AT="$point:$n" "$BIN/abs-engine" archive --device vtape:lib/drive0 \
		--queue q --done done --once --autolabel 'A%05d' --commit-every $ce \
		--quiet >arch1.log 2>&1
	rc=$?
	if [ $rc = 137 ]; then
		kills=$((kills + 1))
		check "after the kill at $point:$n"
	else
		unreached=$((unreached + 1))
		[ $rc = 0 ] || bad stuck "the archiver exited $rc without a kill: $(tail -n 2 arch1.log)"
	fi
	# Again, to the end: nothing ready stays queued.
	"$BIN/abs-engine" archive --device vtape:lib/drive0 --queue q --done done \
		--once --autolabel 'A%05d' --quiet >arch2.log 2>&1 ||
		bad stuck "the archiver after the kill at $point:$n: $(tail -n 2 arch2.log)"
	left=$(ls q/*.json 2>/dev/null | wc -l)
	[ "$left" = 0 ] || bad stuck "$left entries still queued after the run to the end"
	check "at the end (kill at $point:$n)"
	cd "$T" || exit 1
	[ $runbad = 0 ] || { [ -n "${CRASH_KEEP:-}" ] && cp -r run "run.$seed"; }
	seed=$((seed + 1))
done
echo "crash-archive: runs=$runs kills=$kills unreached=$unreached entries=$entries proven=$proven both=$both neither=$neither bad=$bad stuck=$stuck (seeds $SEED0..$((seed - 1)))"
[ $((both + neither + bad + stuck)) = 0 ]
