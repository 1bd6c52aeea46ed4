#!/bin/sh
# Archive jobs under abs-ctld, crash campaign (docs/QUEUE.md, "Under
# abs-ctld"): an archive job (abs-ctl archive-add) works a queue on a
# media server's vtape library drive while a producer adds files to the
# queue (closed ones, open ones it closes later, open ones that expire, one
# whose data file it removes). At random instants the media server,
# abs-ctld, or both are killed with SIGKILL (a restarted media server is
# armed, half the time, to kill itself at a crash point of common/crash.h:
# a block write, a commit point, a dump-log line, an entry rewritten or
# moved into done), then started again as a supervisor would.
#
# After each kill (the media server held with SIGSTOP while it is looked
# at, if it lives) and at each run's end, every entry the producer queued
# is in exactly one place: the queue, done, or done/refused; never two,
# never none. Every done entry's parts, read from the cartridges with dd
# alone (each part header's recipe), give the file's bytes: the done
# entry's digest and the original's. At the end of a run nothing ready is
# left queued, the catalog's archive_entries are done/'s entries, each
# with the done entry's dump and first cartridge and tape file, and each
# done entry's dump is complete in the catalog with that first part.
#
# Usage: crash_archive_ctl.sh BUILD KILLS [FIRST_SEED]
# Runs seeds FIRST_SEED, FIRST_SEED+1, ... until KILLS kills happened; a
# failing run prints its seed (crash_archive_ctl.sh BUILD 1 SEED replays
# the choices; the instant a kill lands on depends on the machine).
# CRASH_SETTLE=SECS (default 240): how long a run may take to empty its
# queue after the last kill. CRASH_KEEP=1 keeps the temp dir. Counts:
#   kills     processes killed (ctld, ms: which; point: at a crash point)
#   entries   entries checked (after each kill and at each run's end)
#   proven    done entries whose parts read back as the file
#   both, neither, bad   as crash_archive.sh
#   stuck     a ready entry left queued, or the archive never waits again
#   catalog   a catalog that does not agree with done/
# Prints one summary line "crash-archive-ctl: ..."; exits non-zero on any
# both, neither, bad, stuck or catalog.
set -u
BUILD=$1
KILLS=${2:-100}
SEED0=${3:-$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2000000000 ))}
SETTLE=${CRASH_SETTLE:-240}
BIN=$(cd "$BUILD/bin" && pwd)
CTLD=$BIN/abs-ctld CTL=$BIN/abs-ctl ENGINE=$BIN/abs-engine VTAPE=$BIN/abs-vtape
Q=$BIN/abs-queue
base=${TMPDIR:-/tmp}
T=$(mktemp -d "$base/abs-crash-archive-ctl.XXXXXX")
CPID= MPID= PPID_=
stop_all() {
	for p in $CPID $MPID $PPID_; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
	for p in $CPID $MPID $PPID_; do wait "$p" 2>/dev/null; done
	CPID= MPID= PPID_=
}
cleanup() {
	stop_all
	[ -n "${CRASH_KEEP:-}" ] && { echo "kept $T"; return; }
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM HUP
trap 'exit 130' INT
cd "$T" || exit 1
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
head -c 16000000 /dev/urandom >pool.bin
kills=0 ctldkills=0 mskills=0 pointkills=0 runs=0 entries=0 proven=0
both=0 neither=0 bad=0 stuck=0 catalog=0
bad() {	# CLASS MESSAGE
	echo "FAIL $1 (seed $seed, kill $kn): $2"
	eval "$1=\$(( $1 + 1 ))"
	runbad=1
}

# rnd N: R becomes a number 0..N-1 from the run's stream.
rnd() {
	r=$(( (r * 1103515245 + 12345) % 2147483648 ))
	R=$(( (r / 65536) % $1 ))
}

start_ctld() {
	"$CTLD" --socket "$T/ctld.sock" --db "$T/run/catalog.db" --foreground \
		2>>"$T/run/ctld.log" &
	CPID=$!
	i=0
	until "$CTL" whoami >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 600 ] || { bad stuck "abs-ctld does not answer: $(tail -n2 run/ctld.log)"; return 1; }
		sleep 0.1
	done
}
# start_ms [POINT:N]: the media server, armed at a crash point if given.
start_ms() {
	ABS_CRASH_AT=${1:-} "$ENGINE" serve --control "$T/ctld.sock" --drive d0 \
		--device "vtape:$T/run/lib/drive0" --log "$T/run/journal.log" \
		2>>"$T/run/engine.log" &
	MPID=$!
}
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# What died is started again (a media server needs abs-ctld to start).
revive() {
	alive "$CPID" || { wait "$CPID" 2>/dev/null; start_ctld; } || return 1
	alive "$MPID" || { wait "$MPID" 2>/dev/null; start_ms "${1:-}"; }
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
	# A file the producer removed: against the done entry's digest.
	[ -e "$3" ] || orig=$want
	if [ "$got" = "$want" ] && [ "$got" = "$orig" ]; then
		proven=$((proven + 1))
	else
		bad bad "$1: its parts read $got, the entry says $want, the file is $orig"
	fi
}

# check WHEN: every queued name in exactly one place; done entries proven.
# The media server, if it lives, is held still meanwhile.
check() {
	alive "$MPID" && kill -STOP "$MPID"
	for name in $(cat names 2>/dev/null); do
		k=0
		[ -f "q/$name.json" ] && k=$((k + 1))
		[ -f "done/$name.json" ] && k=$((k + 1))
		[ -f "done/refused/$name.json" ] && k=$((k + 1))
		entries=$((entries + 1))
		[ $k -le 1 ] || bad both "$name is in $k places ($1)"
		[ $k -ge 1 ] || bad neither "$name is nowhere ($1)"
	done
	alive "$MPID" && kill -CONT "$MPID"
	for e in done/*.json; do
		[ -f "$e" ] && prove "$e"
	done
}

q() { sqlite3 -cmd ".timeout 5000" "$T/run/catalog.db" "$1"; }
# The catalog against done/: the same names, dumps, first parts.
check_catalog() {
	for e in done/*.json; do
		[ -f "$e" ] && jq -r '"\(.name)|\(.dump_id)|\(.parts[0].label)|\(.parts[0].file)"' "$e"
	done | LC_ALL=C sort >want.cat
	q "SELECT name || '|' || dump_uid || '|' || label || '|' || file FROM archive_entries" |
		LC_ALL=C sort >got.cat
	cmp -s want.cat got.cat ||
		bad catalog "the catalog and done/ differ: $(diff want.cat got.cat | grep '^[<>]' | head -n 3 | tr '\n' ' ')"
	# Each done entry's dump complete in the catalog, its first part there.
	q "SELECT d.dump_uid || '|' || t.label || '|' || p.file FROM dumps d
		JOIN dump_parts p ON p.dump_id = d.id AND p.part = 1 JOIN tapes t
		ON t.id = p.tape_id WHERE d.state = 'complete'" | LC_ALL=C sort >dumps.cat
	cut -d'|' -f2- want.cat | LC_ALL=C sort >want.dumps
	n=$(LC_ALL=C comm -23 want.dumps dumps.cat | wc -l)
	[ "$n" = 0 ] || bad catalog "$n done entries whose dump is not complete in the catalog: $(LC_ALL=C comm -23 want.dumps dumps.cat | head -n 2 | tr '\n' ' ')"
}

# The producer: files added over a few seconds, some open (closed later
# or expiring), one removed before it is archived; each name is recorded
# once its add returned.
producer() {
	nf=$1 k=0 pr=$2 opened=""
	while [ $k -lt "$nf" ]; do
		pr=$(( (pr * 1103515245 + 12345) % 2147483648 ))
		size=$(( 1000 + (pr / 65536) % 3000 * 1000 ))
		off=$(( (pr / 7) % 12000 ))
		{ echo "seed $seed file $k"; dd if=../pool.bin bs=1000 skip="$off" \
			count=$((size / 1000)) status=none; } >data/f$k
		gone=no
		[ $k = 1 ] && [ $(( pr % 3 )) = 0 ] && gone=yes
		case $gone$(( (pr / 3) % 6 )) in
		no0) "$Q" add q data/f$k --open --expires 0 ;;
		no1) "$Q" add q data/f$k --open; opened="$opened $k" ;;
		no2) "$Q" add q data/f$k --checksum "xxh128:$(xxh128sum data/f$k | cut -d' ' -f1)" ;;
		*) "$Q" add q data/f$k ;;
		esac
		ls q done done/refused 2>/dev/null |
			sed -n "s/^\(f$k\.[^.]*\)\.json\$/\1/p" | sort -u | head -n 1 >>names
		# A closed one whose file goes (an open one would wait for ever).
		[ $gone = yes ] && rm -f data/f1
		sleep "0.$(( (pr / 11) % 6 ))"
		k=$((k + 1))
	done
	for k in $opened; do
		"$Q" close q data/f$k 2>/dev/null || true
		sleep 0.3
	done
}
archive_waits() {
	[ "$("$CTL" --json archive-list 2>/dev/null | jq -r '.[0].state')" = waiting ]
}

POINTS="scsi-write scsi-write commit dumplog archive-entry archive-move"
seed=$SEED0
kn=0
while [ $kills -lt "$KILLS" ]; do
	runs=$((runs + 1))
	runbad=0
	r=$seed
	stop_all
	rm -rf run && mkdir run && cd run || exit 1
	rnd 2; cap=$(( R == 0 ? 24 : 64 ))
	"$VTAPE" new-library lib --slots 12 --drives 1 --capacity ${cap}M \
		--early-warning 2M --barcode-prefix A >/dev/null
	mkdir data q
	: >names
	start_ctld || { cd "$T"; seed=$((seed + 1)); continue; }
	"$CTL" tape-add default A00001 A00002 A00003 A00004 A00005 A00006 \
		A00007 A00008 A00009 A00010 A00011 A00012 >/dev/null
	start_ms
	i=0
	until "$CTL" --json status 2>/dev/null | grep -q '"drive":"d0"'; do
		i=$((i + 1)); [ $i -lt 600 ] || break; sleep 0.1
	done
	rnd 4; ce=$(( 1 + R ))
	"$CTL" archive-add A --queue "$T/run/q" --done "$T/run/done" --drive d0 \
		--poll 1 --commit-every $ce >/dev/null ||
		bad stuck "archive-add refused: $("$CTL" archive-add A --queue "$T/run/q" --done "$T/run/done" --drive d0 2>&1)"
	rnd 8; nf=$(( 6 + R ))
	rnd 100000; producer "$nf" "$R" >producer.log 2>&1 &
	PPID_=$!
	rnd 4; nk=$(( 1 + R ))
	kn=0
	while [ $kn -lt $nk ] && [ $runbad = 0 ] && [ $kills -lt "$KILLS" ]; do
		kn=$((kn + 1))
		rnd 25; sleep "$((R / 10)).$((R % 10))"
		rnd 5
		case $R in
		0|1)	victim=ms ;;
		2|3)	victim=ctld ;;
		*)	victim=both ;;
		esac
		case $victim in
		ms|both) alive "$MPID" && { kill -9 "$MPID"; wait "$MPID" 2>/dev/null; mskills=$((mskills + 1)); } ;;
		esac
		case $victim in
		ctld|both) alive "$CPID" && { kill -9 "$CPID"; wait "$CPID" 2>/dev/null; ctldkills=$((ctldkills + 1)); } ;;
		esac
		kills=$((kills + 1))
		check "after killing $victim ($kn)"
		# Half the restarted media servers are armed at a crash point.
		point=
		rnd 2
		if [ $R = 0 ] && ! alive "$MPID"; then
			set -- $POINTS
			rnd $#; shift $R
			rnd 6; point="$1:$(( 1 + R ))"
		fi
		revive "$point" || break
		if [ -n "$point" ]; then
			# The armed one gets a few seconds to reach its point.
			i=0
			while alive "$MPID" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
			if ! alive "$MPID"; then
				wait "$MPID" 2>/dev/null
				pointkills=$((pointkills + 1))
				kills=$((kills + 1))
				check "after the crash point $point"
				revive || break
			fi
		fi
	done
	wait "$PPID_" 2>/dev/null
	PPID_=
	# To the end: what died lives again; the queue empties; the archive
	# waits; the catalog has heard of everything.
	i=0
	while :; do
		alive "$CPID" && alive "$MPID" || revive || break
		left=$(ls q/*.json 2>/dev/null | wc -l)
		[ "$left" = 0 ] && archive_waits && break
		i=$((i + 1))
		[ $i -lt $((SETTLE * 2)) ] || break
		sleep 0.5
	done
	left=$(ls q/*.json 2>/dev/null | wc -l)
	[ "$left" = 0 ] || bad stuck "$left entries still queued $SETTLE s after the last kill: $("$CTL" archive-list 2>&1 | tail -n 4 | tr '\n' ' ')"
	archive_waits || bad stuck "the archive does not wait again: $("$CTL" archive-list 2>&1 | head -n 5 | tr '\n' ' ')"
	check "at the end"
	# The catalog hears of a done entry as it moves (or at the next
	# registration): a moment for the last ones.
	i=0
	while [ $i -lt 60 ]; do
		for e in done/*.json; do [ -f "$e" ] && jq -r .name "$e"; done | LC_ALL=C sort >w.n
		q "SELECT name FROM archive_entries" | LC_ALL=C sort >g.n
		cmp -s w.n g.n && break
		i=$((i + 1)); sleep 0.5
	done
	check_catalog
	stop_all
	cd "$T" || exit 1
	[ $runbad = 0 ] || { [ -n "${CRASH_KEEP:-}" ] && cp -r run "run.$seed"; }
	seed=$((seed + 1))
done
echo "crash-archive-ctl: runs=$runs kills=$kills (ms=$mskills ctld=$ctldkills points=$pointkills) entries=$entries proven=$proven both=$both neither=$neither bad=$bad stuck=$stuck catalog=$catalog (seeds $SEED0..$((seed - 1)))"
[ $((both + neither + bad + stuck + catalog)) = 0 ]
