#!/bin/sh
# Engine crash campaign: abs-engine is killed (SIGKILL) at random moments of
# random direct-mode dumps (of a file, a command's output or a tree) on
# vtape libraries: before a block write, a
# filemark, a spot-verification read or locate, a load/unload, a changer
# move, a dump-log line (common/crash.h: ABS_CRASH_AT=POINT:N), or, with
# CRASH_TIMED=1, also after a random delay. After each kill a new dump runs
# on the same drive, then every dump the log calls complete is restored and
# compared byte for byte with its source, and the log's parts of every
# complete dump are compared with the part headers on the cartridges.
#
# Usage: crash_engine.sh BUILD KILLS [FIRST_SEED]
# Runs seeds FIRST_SEED, FIRST_SEED+1, ... until KILLS kills happened; one
# run is one library and 2..4 dumps in a row. A failing run prints its seed:
# crash_engine.sh BUILD 1 SEED replays it (the kill is at the same point;
# timed kills are not replayable). CRASH_SPAN=0 makes the cartridges large
# enough that no dump changes cartridge; CRASH_TIMED=1 adds timed kills;
# CRASH_KEEP=1 keeps the temp dir. Every third run is one dump --batch
# of its dumps (commit points; CRASH_BATCH=0: none), killed anywhere in it,
# at a commit point (commit:N) among others; its uncommitted dumps are run
# again. Counts:
#   kills     dumps killed by SIGKILL
#   verified  restores of complete dumps compared byte for byte (all checks)
#   lost      a dump the log calls complete that does not restore exactly
#   dup       a dump logged complete twice, or parts on tape that the log
#             does not list for a complete dump (or the other way round)
#   stuck     after a kill, the next dump on the drive fails, or the
#             library shows a cartridge in two places (or, where abs-vtape
#             has a check command, the check is not clean)
#   errors    a dump that failed without being killed
# A dump that finds no writable cartridge where no blank one is left ends
# its run as "library used up", which is not a failure.
# Prints one summary line "crash-engine: ..."; exits non-zero on any
# lost, dup, stuck or error.
set -u
BUILD=$1
KILLS=${2:-200}
SEED0=${3:-$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2000000000 ))}
BIN=$(cd "$BUILD/bin" && pwd)
base=${TMPDIR:-/tmp}
[ -w /dev/shm ] && base=/dev/shm
T=$(mktemp -d "$base/abs-crash-engine.XXXXXX")
[ -n "${CRASH_KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
trap 'exit 143' TERM HUP
trap 'exit 130' INT
cd "$T" || exit 1
head -c 24000000 /dev/urandom >pool.bin
kills=0 runs=0 unreached=0 timed=0 verified=0 complete=0 exhaust=0
lost=0 dup=0 stuck=0 errors=0
bad() {	# CLASS MESSAGE
	echo "FAIL $1 (seed $seed): $2"
	eval "$1=\$(( $1 + 1 ))"
	runbad=1
}

# The parameters of dump K of the run with this seed: length, source kind,
# crash point and hit number ("none" for no kill), timed kill delay (ms).
dump_params() {
	awk -v s="$1" -v k="$2" -v bs="$3" -v usable="$4" -v timed="$5" \
	    -v span="$6" 'BEGIN {
		srand(s * 7 + k)
		len = int(rand() * usable * 2) + 1
		if (rand() < 0.1) len = int(rand() * bs) + 1
		src = rand() < 0.6 ? "file" : "cmd"
		blocks = int(len / bs) + 1
		parts = span ? int(len / usable) + 1 : 1
		split("scsi-write scsi-filemark scsi-read scsi-locate scsi-other " \
		    "scsi-space scsi-rewind dumplog * scsi-load changer-move", P, " ")
		split((blocks + 3 * parts) " " (2 * parts + 1) " " (3 * parts + 3) \
		    " " (2 * parts + 2) " " (4 * parts + 6) " " (2 * parts + 2) \
		    " " (2 * parts + 2) " " (parts + 1) " " (blocks + 20 * parts) \
		    " " (parts + 2) " " (2 * parts), M, " ")
		# Without cartridge changes, no loads or moves to kill.
		i = 1 + int(rand() * (span ? 11 : 9))
		n = 1 + int(rand() * M[i])
		point = rand() < 0.15 ? "none" : P[i] ":" n
		ms = -1
		if (timed && point != "none" && rand() < 0.25) {
			ms = int(rand() * 400)
			point = "timed"
		}
		# A third of the file sources become trees (dir:, whose walker
		# is a forked child of the engine); drawn last, so that a seed
		# keeps its other parameters.
		if (src == "file" && rand() < 0.34) src = "dir"
		print len, src, point, ms
	}'
}

# make_src ENTITY LEN SRC: a fresh slice of pool.bin as the entity's
# source of kind SRC (file, cmd, dir); sets s to its --source.
make_src() {
	off=$(( ($(printf '%s %s' "$seed" "$1" | cksum | cut -d' ' -f1) % 4000) * 4096 ))
	tail -c +$((off + 1)) pool.bin | head -c "$2" >"src.$1"
	case $3 in
	cmd) s="cmd:cat $T/src.$1" ;;
	dir) rm -rf "tree.$1" && mkdir "tree.$1" && cp "src.$1" "tree.$1/data" &&
		s="dir:$T/tree.$1" ;;
	*) s="file:$T/src.$1" ;;
	esac
}

# dump ENTITY LEN SRC [ABS_CRASH_AT] [MS]: one dump of a fresh slice of
# pool.bin; sets drc (exit status) and leaves the message in err.txt.
dump() {
	make_src "$1" "$2" "$3"
	set -- "$1" "$2" "$3" "${4:-}" "${5:--1}"
	if [ "$5" -ge 0 ]; then
		"$BIN/abs-engine" dump --device vtape:lib/drive0 --entity "$1" \
			--source "$s" --log d.log --block-size "$bs" \
			--autolabel 'X%05d' --quiet 2>err.txt &
		p=$!
		sleep "$(awk -v m="$5" 'BEGIN { printf "%.3f", m / 1000 }')"
		kill -9 "$p" 2>/dev/null
		wait "$p"
		drc=$?
		return
	fi
	if [ -n "$4" ] && [ "$4" != none ]; then
		ABS_CRASH_AT=$4 "$BIN/abs-engine" dump --device vtape:lib/drive0 \
			--entity "$1" --source "$s" --log d.log --block-size "$bs" \
			--autolabel 'X%05d' --quiet 2>err.txt
	else
		"$BIN/abs-engine" dump --device vtape:lib/drive0 --entity "$1" \
			--source "$s" --log d.log --block-size "$bs" \
			--autolabel 'X%05d' --quiet 2>err.txt
	fi
	drc=$?
}

# Restore every dump the log calls complete and compare it with its source;
# a dump ID or entity logged complete twice is a duplicate.
check_complete() {
	sed -n 's/^dump entity=\([^ ]*\) .* dump=\([0-9a-f]*\)$/\1 \2/p' d.log 2>/dev/null >done.txt
	[ -z "$(cut -d' ' -f1 done.txt | sort | uniq -d)" ] ||
		bad dup "an entity logged complete twice: $(cut -d' ' -f1 done.txt | sort | uniq -d | tr '\n' ' ')"
	[ -z "$(cut -d' ' -f2 done.txt | sort | uniq -d)" ] ||
		bad dup "a dump ID logged complete twice"
	while read -r e id; do
		rm -rf out.bin
		# A tree restores into a directory, its one file in it.
		out=out.bin
		[ -d "tree.$e" ] && out=out.bin/data
		if ! "$BIN/abs-engine" restore --device vtape:lib/drive0 --entity "$e" \
			--log d.log --to out.bin --quiet 2>rerr.txt; then
			bad lost "complete dump $e ($id) does not restore: $(tail -n1 rerr.txt)"
		elif ! cmp -s "src.$e" "$out"; then
			bad lost "complete dump $e ($id) restores different bytes"
		else
			verified=$((verified + 1))
		fi
	done <done.txt
}

# The log's parts (label:file) of each complete dump against the part
# headers on the cartridges that carry its dump ID.
check_parts() {
	for c in lib/carts/*; do
		for f in "$c"/file[0-9][0-9][0-9][0-9][0-9][0-9]; do
			[ -f "$f" ] || continue
			[ "$(head -c 8 "$f")" = "ABS-PART" ] || continue
			head -c 8192 "$f" | tr -d '\000' |
				sed -n 's/^dump_id=//p; s/^label=//p' | tr '\n' ' '
			echo "$(basename "$f" | sed 's/^file0*//; s/^$/0/')"
		done
	done >tape.all
	while read -r e id; do
		sed -n "s/^part .* label=\([^ ]*\) .* file=\([0-9]*\) .* dump=$id\$/\1:\2/p" \
			d.log | sort >log.parts
		awk -v id="$id" '$1 == id { print $2 ":" $3 }' tape.all | sort >tape.parts
		cmp -s log.parts tape.parts ||
			bad dup "dump $e ($id): log parts $(tr '\n' ' ' <log.parts)but on tape $(tr '\n' ' ' <tape.parts)"
	done <done.txt
}

# A dump that found no writable cartridge in a library without a blank
# one: the library is used up (the run ends), not stuck.
exhausted() {
	grep -q 'no writable cartridge left' err.txt &&
		! "$BIN/abs-vtape" list lib 2>/dev/null | grep -q ' files=0 '
}

# No cartridge may be in two places at once.
check_library() {
	"$BIN/abs-vtape" list lib >list.txt 2>&1 ||
		{ bad stuck "abs-vtape list fails: $(tail -n1 list.txt)"; return; }
	d=$(awk '$2 != "(empty)" { print $2 }' list.txt | sort | uniq -d)
	[ -z "$d" ] || bad stuck "cartridge in two places: $d"
	# Where abs-vtape has a check, the library must be clean once the
	# next dump has run (exit 0; 3: problems left, 4: all repaired).
	if [ "$has_check" = 1 ] && ! "$BIN/abs-vtape" check lib >chk.txt 2>&1; then
		bad stuck "abs-vtape check after the next dump: $(tail -n2 chk.txt | tr '\n' ' ')"
	fi
}
has_check=0
"$BIN/abs-vtape" 2>&1 | grep -q '^ *check ' && has_check=1

# A run's dumps in one process (dump --batch, issue 15): immediate
# filemarks between dumps, a synchronous one every EVERY dumps and at the
# end; a dump is in the log only once a commit point covers it. The kill
# lands anywhere in the run, at the commit points in particular (commit:N,
# just before the synchronous filemark, with dumps written but not yet
# covered). Then the dumps the log does not hold are run again as a new
# batch (e1r, ...) on the same drive, and every complete dump is checked as
# after any kill: nothing the log calls complete may be missing, and
# nothing uncovered may be in the log.
batch_run() {
	set -- $(awk -v s="$seed" -v n="$ndumps" 'BEGIN {
		srand(s * 13 + 5)
		split("commit scsi-filemark scsi-write dumplog", P, " ")
		split(n " " (3 * n + 3) " " (8 * n) " " (2 * n + 2), M, " ")
		i = 1 + int(rand() * 4)
		point = rand() < 0.1 ? "none" : P[i] ":" (1 + int(rand() * M[i]))
		print point, 1 + int(rand() * 3)
	}')
	point=$1 every=$2
	: >batch.txt
	k=0
	while [ "$k" -lt "$ndumps" ]; do
		k=$((k + 1))
		set -- $(dump_params "$seed" "$k" "$bs" "$usable" 0 "${CRASH_SPAN:-1}")
		make_src "e$k" "$1" "$2"
		echo "e$k $s" >>batch.txt
	done
	what="bs=$bs usable=$usable batch of $ndumps, commit every $every, kill=$point"
	ABS_CRASH_AT=$point "$BIN/abs-engine" dump --device vtape:lib/drive0 \
		--batch batch.txt --log d.log --block-size "$bs" \
		--autolabel 'X%05d' --commit-every "$every" --quiet 2>err.txt
	drc=$?
	batches=$((batches + 1))
	if [ "$drc" = 137 ]; then
		kills=$((kills + 1))
		batchkills=$((batchkills + 1))
		# Half the kills at a commit point are power cuts: what the
		# drive held in its buffer (every tape file after the last one
		# a commit point covered, as the log says) is lost too.
		case $point in commit:*)
			[ $((seed % 2)) = 0 ] && power_cut && powercuts=$((powercuts + 1)) ;;
		esac
		: >redo.txt
		while read -r e src; do
			grep -q "^dump entity=$e " d.log && continue
			cp "src.$e" "src.${e}r"
			[ -d "tree.$e" ] && rm -rf "tree.${e}r" && cp -a "tree.$e" "tree.${e}r"
			echo "${e}r $src" | sed "s|\(src\|tree\)\.$e\b|\1.${e}r|" >>redo.txt
			redone=$((redone + 1))
		done <batch.txt
		if [ -s redo.txt ]; then
			"$BIN/abs-engine" dump --device vtape:lib/drive0 --batch redo.txt \
				--log d.log --block-size "$bs" --autolabel 'X%05d' \
				--commit-every "$every" --quiet 2>err.txt
			drc=$?
			if [ "$drc" != 0 ] && exhausted; then
				exhaust=$((exhaust + 1))
			elif [ "$drc" != 0 ]; then
				bad stuck "after kill ($what), the dumps run again fail: $(tail -n1 err.txt)"
			fi
		fi
		check_library
	elif [ "$drc" != 0 ] && exhausted; then
		exhaust=$((exhaust + 1))
	elif [ "$drc" != 0 ]; then
		bad errors "batch failed without a kill ($what): $(tail -n1 err.txt)"
	elif [ "$point" != none ]; then
		unreached=$((unreached + 1))
	fi
}
batches=0 batchkills=0 redone=0 powercuts=0

# power_cut: each cartridge loses the tape files after the last one the
# dump log names on it (a part's trailer file, or the label): the drive's
# buffer, which only a synchronous filemark writes out.
power_cut() {
	for c in lib/carts/*; do
		[ -f "$c/file000000" ] || continue
		label=$(head -c 4096 "$c/file000000" | tr -d '\000' | sed -n 's/^label=//p')
		last=$(sed -n "s/^part .* label=$label .* file=\([0-9]*\) .*/\1/p" d.log |
			sort -n | tail -n1)
		keep=$(( ${last:--1} + 1 ))
		for f in "$c"/file[0-9][0-9][0-9][0-9][0-9][0-9]; do
			n=$(basename "$f" | sed 's/^file0*//; s/^$/0/')
			[ "$n" -gt "$keep" ] && rm -f "$f" "$f.idx"
		done
	done
	return 0
}

while [ "$kills" -lt "$KILLS" ]; do
	seed=$((SEED0 + runs))
	runs=$((runs + 1))
	runbad=0
	rm -rf lib d.log src.* tree.* out.bin
	set -- $(awk -v s="$seed" 'BEGIN {
		srand(s)
		split("65536 131072 262144", B, " ")
		bs = B[1 + int(rand() * 3)]
		usable = bs * (8 + int(rand() * 16))
		# Up to 8 dumps of up to 2 cartridges each, each may start on
		# a fresh cartridge: 3 per dump and some to spare.
		print bs, usable, 2 + int(rand() * 3), 26 + int(rand() * 5)
	}')
	bs=$1 usable=$2 ndumps=$3 slots=$4
	# The engine sets programmable early warning to the window (one block
	# in flight), three blocks and 16 KiB, rounded up to a MiB: add it.
	pew=$(( (4 * bs + 16384 + 1048575) / 1048576 * 1048576 ))
	cap=$((usable + pew + 2 * bs))
	# CRASH_SPAN=0: cartridges large enough that no dump changes cartridge.
	[ "${CRASH_SPAN:-1}" = 0 ] && cap=268435456
	"$BIN/abs-vtape" new-library lib --slots "$slots" --drives 1 \
		--capacity "$cap" >/dev/null &&
	"$BIN/abs-vtape" load lib --slot 1 --drive 0 &&
	"$BIN/abs-engine" label --device vtape:lib/drive0 --label X00001 \
		--block-size "$bs" >/dev/null 2>&1 ||
		{ bad errors "set-up of the library failed"; continue; }
	k=$ndumps
	# Every third run is one batch (CRASH_BATCH=0: none).
	if [ "${CRASH_BATCH:-1}" = 1 ] && [ $((runs % 3)) = 0 ]; then
		batch_run
	else
		k=0
	fi
	while [ "$k" -lt "$ndumps" ] && [ "$runbad" = 0 ]; do
		k=$((k + 1))
		set -- $(dump_params "$seed" "$k" "$bs" "$usable" \
			"${CRASH_TIMED:-0}" "${CRASH_SPAN:-1}")
		len=$1 src=$2 point=$3 ms=$4
		what="bs=$bs usable=$usable dump $k/$ndumps len=$len src=$src kill=$point"
		dump "e$k" "$len" "$src" "$point" "$ms"
		if [ "$drc" = 137 ]; then
			kills=$((kills + 1))
			[ "$point" = timed ] && timed=$((timed + 1))
			# The next dump on the same drive must work.
			dump "e${k}r" "$len" "$src"
			if [ "$drc" != 0 ] && exhausted; then
				exhaust=$((exhaust + 1))
				break
			elif [ "$drc" != 0 ]; then
				bad stuck "after kill ($what), the next dump fails: $(tail -n1 err.txt)"
			fi
			check_library
			check_complete
		elif [ "$drc" != 0 ] && exhausted; then
			exhaust=$((exhaust + 1))
			break
		elif [ "$drc" != 0 ]; then
			bad errors "dump failed without a kill ($what): $(tail -n1 err.txt)"
		elif [ "$point" != none ]; then
			unreached=$((unreached + 1))
		fi
	done
	check_complete
	check_parts
	complete=$((complete + $(wc -l <done.txt)))
	if [ "$runbad" != 0 ]; then
		echo "  replay: sh tests/integration/crash_engine.sh BUILD 1 $seed ($what)"
	fi
done
echo "crash-engine: $kills kills ($timed timed) in $runs runs from seed $SEED0," \
	"$complete complete dumps, $verified restores byte-exact, $lost lost," \
	"$dup duplicated, $stuck stuck, $errors other errors ($unreached crash points not reached," \
	"$exhaust libraries used up); $batches batch runs, $batchkills killed" \
	"($powercuts power cuts at a commit point), $redone uncommitted dumps run again"
[ $((lost + dup + stuck + errors)) -eq 0 ]
