# Every path on which a dump changes cartridges in a library, with each
# kind of source (file:, cmd:, and dir:, whose tree walker is a forked
# child that never execs): the engine gives back everything it holds on
# the cartridge it leaves (its device, the drive's and cartridge's locks,
# and so must its source's child) before the changer moves it, and takes
# the new cartridge's locks after. The paths: end of tape during a dump;
# the cartridge in the drive found full when the part opens (the log does
# not know it) or full by the dump log at open; damaged, foreign-pool and
# write-protected cartridges refused on the way; a medium error and the
# dump again on another cartridge. Each dump must complete and restore
# byte for byte, refused cartridges stay as they were, and the library
# checks clean; a dump killed with its source's child still running
# leaves nothing that holds the drive. While a dump is stopped on its second cartridge, every
# other process is refused that drive and that cartridge, and the
# cartridge it gave back is free for another drive.
#
# On the build before this test, every dir: dump that changed cartridges
# failed: "unloading drive 0 ... failed: ILLEGAL REQUEST 53/02 (Medium
# removal prevented)", then "no writable cartridge left": the tree
# walker held a copy of the engine's lock descriptors (and a killed
# dump's walker held the drive for ever); and a tree restored from a
# library named by a relative path failed at its second cartridge ("Not a
# directory": the extraction works from inside the tree).
. "$(dirname "$0")/lib.sh"

# Cartridges of 6 MiB, early warning 1 MiB before the end; with 64 KiB
# blocks a cartridge takes about 4 MiB before programmable early warning,
# so 9 MB of data changes cartridge twice. The engine reads ahead about
# 2 MB (its ring and the pipe): with more data than that behind a
# cartridge change, the source's child is still running during it.
head -c 9000000 /dev/urandom >data.bin
head -c 4000000 /dev/urandom >small.bin

# lib_new DIR SLOTS: a library of SLOTS cartridges, 2 drives, slot 1 in drive 0.
lib_new() {
	"$VTAPE" new-library "$1" --slots "$2" --drives 2 --capacity 6M \
		--early-warning 1M >/dev/null
	"$VTAPE" load "$1" --slot 1 --drive 0
}

# src_spec KIND ENTITY FILE: a source of FILE's bytes of that kind.
src_spec() {
	case $1 in
	file) echo "file:$T/$3" ;;
	cmd) echo "cmd:cat $T/$3" ;;
	dir)
		rm -rf "tree.$2"
		mkdir "tree.$2"
		cp "$3" "tree.$2/data"
		echo "dir:$T/tree.$2"
		;;
	esac
}

# dump LIB KIND ENTITY FILE LOG [OPTIONS...]: must succeed (64 KiB blocks).
dump() {
	lib=$1 kind=$2 e=$3 f=$4 log=$5
	shift 5
	"$ENGINE" dump --device "vtape:$lib/drive0" --entity "$e" \
		--source "$(src_spec "$kind" "$e" "$f")" --log "$log" \
		--block-size 64K "$@" >"$e.err" 2>&1 ||
		{ cat "$e.err" >&2; fail "dump $e ($kind source, $lib) failed"; }
}

# restored LIB KIND ENTITY FILE LOG: the dump restores FILE's bytes.
restored() {
	rm -rf "out.$3"
	"$ENGINE" restore --device "vtape:$1/drive0" --entity "$3" --log "$5" \
		--to "$T/out.$3" --quiet 2>"$3.rerr" ||
		{ cat "$3.rerr" >&2; fail "restore of $3 ($2 source) failed"; }
	if [ "$2" = dir ]; then
		cmp -s "out.$3/data" "$4" || fail "restore of $3 (dir source) differs"
	else
		cmp -s "out.$3" "$4" || fail "restore of $3 ($2 source) differs"
	fi
}

# clean LIB: no cartridge in two places, and the library checks clean.
clean() {
	"$VTAPE" check "$1" >chk.txt 2>&1 || { cat chk.txt >&2; fail "$1 does not check clean"; }
	d=$("$VTAPE" list "$1" | awk '$2 != "(empty)" { print $2 }' | sort | uniq -d)
	[ -z "$d" ] || fail "$1: cartridge in two places: $d"
}

# parts LOG ENTITY: how many parts the log gives the entity's dump.
parts() { grep -c "^part entity=$2 " "$1"; }

for kind in file cmd dir; do
	# End of tape during a dump: 5 MB over two or three cartridges.
	L=span.$kind
	lib_new $L 8
	dump $L $kind s1 data.bin $L.log --autolabel 'S%05d'
	[ "$(parts $L.log s1)" -ge 2 ] || fail "s1 ($kind) did not change cartridge"
	restored $L $kind s1 data.bin $L.log
	clean $L
	ok "$kind: end of tape during a dump, $(parts $L.log s1) cartridges"

	# The cartridge in the drive is full, which a new dump log does not
	# know: found when the part opens, with the source already started.
	"$VTAPE" unload $L --drive 0
	"$VTAPE" load $L --slot 1 --drive 0
	dump $L $kind s2 small.bin $L.new.log --autolabel 'N%05d'
	grep -q 'is full (beyond' s2.err || { cat s2.err; fail "s2 ($kind): no full cartridge found at part open"; }
	restored $L $kind s2 small.bin $L.new.log
	clean $L
	ok "$kind: full at part open, taken another"

	# Full by the dump log, at open.
	"$VTAPE" unload $L --drive 0
	"$VTAPE" load $L --slot 1 --drive 0
	dump $L $kind s3 small.bin $L.log --autolabel 'S%05d'
	grep -q 'is full (the dump log' s3.err || { cat s3.err; fail "s3 ($kind): the log's full line was not used"; }
	restored $L $kind s3 small.bin $L.log
	clean $L
	ok "$kind: full by the dump log at open, taken another"

	# Refused on the way: a damaged label, another pool, write-protected.
	L=refuse.$kind
	lib_new $L 8
	"$ENGINE" label --device vtape:$L/carts/V00002 --label D00002 >/dev/null
	head -c 500000 small.bin >old.bin
	"$ENGINE" dump --device vtape:$L/carts/V00002 --entity old --source "file:$T/old.bin" \
		--log other.$kind.log --quiet --mount-timeout 5
	flip $L/carts/V00002/file000000 100
	# (Labelled as their barcodes: the sticker rule refuses any other.)
	"$ENGINE" label --device vtape:$L/carts/V00003 --label V00003 --pool other >/dev/null
	"$ENGINE" label --device vtape:$L/carts/V00004 --label V00004 >/dev/null
	"$VTAPE" inject $L --slot 4 --write-protect
	before=$(cat $L/carts/V0000[234]/file* | md5sum)
	dump $L $kind r1 data.bin $L.log --autolabel 'R%05d'
	for w in 'V00002 (slot 2) refused: .*damaged' 'V00003 (slot 3) refused: .*pool other' \
	    'V00004 (slot 4) refused: write-protected'; do
		grep -q "$w" r1.err || { cat r1.err; fail "r1 ($kind): no '$w'"; }
	done
	[ "$before" = "$(cat $L/carts/V0000[234]/file* | md5sum)" ] ||
		fail "r1 ($kind): a refused cartridge changed"
	"$VTAPE" list $L | grep -q '^slot[234] .*V0000[234]' || fail "r1 ($kind): refused cartridges not back"
	restored $L $kind r1 data.bin $L.log
	clean $L
	ok "$kind: damaged, foreign-pool and write-protected cartridges refused on the way"

	# A medium error: the cartridge is taken out of use, the entity is
	# dumped again on another one.
	L=retry.$kind
	lib_new $L 8
	"$VTAPE" inject $L --drive 0 --medium-error-at 4
	dump $L $kind m1 small.bin $L.log --autolabel 'M%05d' --retries 1
	grep -q '^bad .*label=V00001 ' $L.log || fail "m1 ($kind): no bad line for V00001"
	grep -q 'again on another cartridge' m1.err || { cat m1.err; fail "m1 ($kind): not dumped again"; }
	restored $L $kind m1 small.bin $L.log
	clean $L
	ok "$kind: medium error, dumped again on another cartridge"

	# kill -9 of the engine at its 5th block write, its source's child
	# still running: nothing of the dead dump holds the drive or its
	# cartridge, so the next dump there (which finds the cut part) runs.
	L=kill.$kind
	lib_new $L 8
	rc=0
	ABS_CRASH_AT=scsi-write:5 "$ENGINE" dump --device vtape:$L/drive0 --entity k1 \
		--source "$(src_spec $kind k1 data.bin)" --log $L.log --block-size 64K \
		--autolabel 'K%05d' >k1.err 2>&1 || rc=$?
	[ "$rc" = 137 ] || { cat k1.err >&2; fail "k1 ($kind) was not killed at its crash point (exit $rc)"; }
	dump $L $kind k2 data.bin $L.log --autolabel 'K%05d'
	restored $L $kind k2 data.bin $L.log
	clean $L
	ok "$kind: killed mid-dump, the next dump on the drive runs"
done

# A dump stopped on its second cartridge (its command's input is a FIFO
# that is held open): the engine holds drive 0 and that cartridge against
# every other process, and the cartridge it gave back is free.
L=hold
lib_new $L 8
mkfifo feed
"$ENGINE" dump --device vtape:$L/drive0 --entity h --source "cmd:cat $T/feed" \
	--log $L.log --block-size 64K --autolabel 'H%05d' >h.err 2>&1 &
hp=$!
PIDS="$PIDS $hp"
exec 3>feed
head -c 6000000 data.bin >&3
# The engine says so once it has the new cartridge open (and labelled).
wait_for 'changer loaded V00002' h.err
expect_fail "device busy" "$ENGINE" list --device vtape:$L/drive0
expect_fail "in use by pid $hp" "$ENGINE" list --device vtape:$L/carts/V00002
expect_fail "in use\|removal prevented\|53/02" "$VTAPE" unload $L --drive 0
"$ENGINE" list --device vtape:$L/carts/V00001 >list1.txt 2>&1 ||
	{ cat list1.txt >&2; fail "the cartridge given back is still held"; }
"$VTAPE" load $L --slot 1 --drive 1 || fail "the cartridge given back cannot be loaded elsewhere"
"$ENGINE" list --device vtape:$L/drive1 >/dev/null || fail "drive 1 cannot read the given-back cartridge"
"$VTAPE" unload $L --drive 1
ok "while stopped on V00002: drive and cartridge refused to others, V00001 free"
tail -c +6000001 data.bin >&3
exec 3>&-
wait $hp || { cat h.err >&2; fail "the held dump failed"; }
restored $L cmd h data.bin $L.log
clean $L
ok "the held dump completes and restores"
