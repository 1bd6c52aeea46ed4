# A part never ends with no data block (issue 15): every way a cartridge
# can end at a part's start, with no early warning before it (PEW off, a
# small early-warning zone): the header does not fit; the header fits and
# the first data block does not; an empty stream whose filemark or trailer
# does not fit; and each of those after a held drive, behind an immediate
# filemark (dump --batch with commit points). Each time the part begins on
# the next cartridge: no empty part in the dump log, no stray header on
# any tape, every dump restores byte for byte.
. "$(dirname "$0")/lib.sh"

BS=65536
head -c 65536 /dev/urandom >a.bin		# exactly one block
head -c 65536 /dev/urandom >b.bin		# one block: a fresh cartridge holds it
: >z.bin					# an empty stream

# What the label and dump A (one block) take of a cartridge: measured, so
# that the capacities below follow the format's sizes.
"$VTAPE" new-library m --slots 1 --drives 1 --capacity 64M --barcode-prefix M \
	>/dev/null
"$VTAPE" load m --slot 1 --drive 0
"$ENGINE" label --device vtape:m/drive0 --label M00001 --block-size $BS >/dev/null
"$ENGINE" dump --device vtape:m/drive0 --entity a --source "file:$T/a.bin" \
	--log m.log --block-size $BS --quiet
USED=$(cat m/carts/*/file[0-9][0-9][0-9][0-9][0-9][0-9] | wc -c)
HDR=$(($(wc -c <m/carts/M00001/file000001) - 65536))	# the header block
[ "$HDR" -gt 0 ] && [ "$HDR" -lt 65536 ] || fail "header of $HDR bytes"

# check LOG ENTITY...: each entity restores, the log's parts are the
# headers on the tapes (no more, no fewer), and none is empty unless its
# whole stream is.
check() {
	log=$1
	shift
	for e in "$@"; do
		"$ENGINE" restore --device vtape:lib/drive0 --entity "$e" --log "$log" \
			--stdout >out.bin 2>err.txt || { cat err.txt; fail "restore of $e ($case)"; }
		cmp -s out.bin "$e.bin" || fail "restore of $e differs ($case)"
	done
	sed -n 's/^part .* label=\([^ ]*\) .* file=\([0-9]*\) part=.*/\1:\2/p' "$log" |
		sort >log.parts
	: >tape.parts
	for c in lib/carts/*; do
		[ -f "$c/file000000" ] || continue
		label=$(head -c 4096 "$c/file000000" | tr -d '\000' | sed -n 's/^label=//p')
		for f in "$c"/file[0-9][0-9][0-9][0-9][0-9][0-9]; do
			[ "$(head -c 11 "$f")" = "ABS-PART v1" ] || continue
			n=$(basename "$f" | sed 's/^file0*//; s/^$/0/')
			echo "$label:$n" >>tape.parts
		done
	done
	sort -o tape.parts tape.parts
	cmp -s log.parts tape.parts || fail "$case: log $(tr '\n' ' ' <log.parts)" \
		"tape $(tr '\n' ' ' <tape.parts)"
	if grep '^part ' "$log" | grep -v ' entity=z ' | grep -q ' blocks=0 '; then
		fail "$case: a part of no block in the log"
	fi
	if grep -q '^part entity=z .*status=no-trailer' "$log"; then
		fail "$case: the empty stream's part has no trailer"
	fi
}

# run CASE ROOM EW SECOND SAYS [BATCH-OPTIONS]: a library whose
# cartridges end ROOM bytes after dump A (early warning EW bytes before
# that), then A and SECOND on it, one job each or one batch; the engine
# SAYS what it did at the end of the first cartridge.
run() {
	case=$1 room=$2 ew=$3 second=$4 says=$5
	shift 5
	rm -rf lib d.log d.log.fidx
	"$VTAPE" new-library lib --slots 4 --drives 1 --capacity $((USED + room)) \
		--early-warning "$ew" --barcode-prefix L >/dev/null
	"$VTAPE" load lib --slot 1 --drive 0
	"$ENGINE" label --device vtape:lib/drive0 --label L00001 --block-size $BS \
		>/dev/null 2>&1
	if [ $# -gt 0 ]; then
		printf 'a file:%s/a.bin\n%s file:%s/%s.bin\n' "$T" "$second" "$T" \
			"$second" >batch.txt
		"$ENGINE" dump --device vtape:lib/drive0 --batch batch.txt "$@" \
			--log d.log --block-size $BS --autolabel 'L%05d' --no-pew --quiet \
			2>err.txt || { cat err.txt; fail "$case: batch"; }
	else
		for e in a "$second"; do
			"$ENGINE" dump --device vtape:lib/drive0 --entity "$e" \
				--source "file:$T/$e.bin" --log d.log --block-size $BS \
				--autolabel 'L%05d' --no-pew --quiet 2>err.txt ||
				{ cat err.txt; fail "$case: dump of $e"; }
		done
	fi
	grep -q "$says" err.txt || { cat err.txt; fail "$case: not '$says'"; }
	check d.log a "$second"
	parts=$(grep -c "^part entity=$second " d.log)
	ok "$case: $second in $parts part(s), on $(grep "^dump entity=$second " d.log |
		sed 's/.* label=\([^ ]*\) .*/\1/')"
}

back="L00001 ended right after the header of part 1 .*taken back"
for mode in jobs batch; do
	set --
	[ $mode = batch ] && set -- --commit-every 3
	# The header does not fit (nothing written): the next cartridge.
	run "$mode, no room for a header" $((HDR - 1)) 1 b \
		"L00001 is full: taking another" "$@"
	# The header fits, the first block not: the header is taken back.
	run "$mode, header then physical end" $((HDR + 1000)) 100 b "$back" "$@"
	# The same with the header inside the early-warning zone.
	run "$mode, header at early warning then physical end" $((HDR + 1000)) \
		1500 b "$back" "$@"
	grep -q "^part entity=b .*label=L00001 " d.log && fail "b began on a full cartridge"
	# An empty stream: its filemark finds no room; then its trailer.
	run "$mode, empty stream, no room for its filemark" "$HDR" 1 z "$back" "$@"
	run "$mode, empty stream, no room for its trailer" $((HDR + 1000)) 1 z \
		"$back" "$@"
done

# Commit points: the stray header is taken back behind a commit point, so
# the batch's earlier dump is in the log once it is on the medium.
run "batch, every dump a commit point" $((HDR + 1000)) 100 b "$back" \
	--commit-every 1
grep -q '^dump entity=a .*label=L00001 .*status=complete' d.log ||
	fail "dump a not committed on L00001"
