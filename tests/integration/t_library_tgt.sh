# Rig A's library through abs-ctld (issue 14): tgtd emulates a medium
# changer (tgt_library: a changer LUN, two tape drive LUNs, six cartridges
# of 8 MiB with LTO barcodes TG0001L6...) and abs-ctld drives it over
# libiscsi (library-add ... --changer smc:iscsi://...), each drive served by
# its own media server on its iscsi:// LUN. A dump of 20 MB spans three
# cartridges that the robot changes by itself (no operator: no mount
# request reaches anybody), a restore on the other drive fetches them (the
# last one out of the first drive), and the two drives of the library run
# a dump and a restore at once. Every job must end (a hang deadline,
# ABS_LIB_TGT_DEADLINE, 600 s) and restore byte for byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tgt.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
DB="$T/catalog.db"
DEADLINE=${ABS_LIB_TGT_DEADLINE:-600}
command -v jq >/dev/null || skip "jq is needed (make deps)"
command -v sqlite3 >/dev/null || skip "sqlite3 is needed (make deps)"
"$CTL" --help 2>&1 | grep -q "library-add" ||
	skip "abs-ctl has no library-add yet (issue 14's control side)"
command -v tgt_library >/dev/null 2>&1 ||
	skip "tests/integration/tgt.sh has no tgt changer yet (tgt_library)"
q() { sqlite3 -cmd ".timeout 10000" "$DB" "$1"; }
ctl() { timeout "$DEADLINE" "$CTL" "$@"; }
until_ok() { poll_until "$1" || fail "timed out: $1"; }
job_state() { q "SELECT state FROM jobs WHERE id = $1"; }
# wait_job ID...: until every job ended; one past the deadline is a hang.
wait_job() {
	t0=$(date +%s)
	for j in "$@"; do
		until case $(job_state "$j") in done | failed | aborted) true ;; *) false ;; esac; do
			if [ $(($(date +%s) - t0)) -gt "$DEADLINE" ]; then
				"$CTL" status >&2 || true
				tail -n 40 "$T/ctld.log" >&2
				fail "job $j still $(job_state "$j") after ${DEADLINE}s"
			fi
			sleep 0.2
		done
	done
}
job_ok() {
	[ "$(job_state "$1")" = done ] || {
		"$CTL" jobs >&2 || true
		tail -n 30 "$T/ctld.log" "$T"/engine-t*.log >&2
		fail "$2: job $1 $(job_state "$1")"
	}
}

tgt_start
tgt_library 2 6 6 8
"$CTLD" --socket "$T/ctld.sock" --db "$DB" --foreground --changer-cmd "$ENGINE changer" \
	--exception-cmd "cat >>$T/exceptions.txt" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
until_ok '[ -S "$T/ctld.sock" ]'
for k in 0 1; do
	eval "dev=\$TGT_LIB_DRIVE$k"
	"$ENGINE" serve --control "$T/ctld.sock" --drive "t$k" --device "$dev" \
		--log "$T/journal-t$k.log" --block-size 256K 2>"$T/engine-t$k.log" &
	PIDS="$PIDS $!"
done
until_ok '[ "$("$CTL" --json status | jq "[.drives[] | select(.state == \"idle\")] | length")" = 2 ]'
ctl library-add tl --changer "smc:$TGT_LIB_CHANGER" >/dev/null || fail "library-add"
ctl library-drive tl t0 --element 0 >/dev/null || fail "library-drive t0"
ctl library-drive tl t1 --element 1 >/dev/null || fail "library-drive t1"
# The sticker rule: the tape labels are the barcodes less the LTO suffix.
ctl tape-add default TG0001 TG0002 TG0003 TG0004 TG0005 TG0006 >/dev/null
ctl inventory tl >inv.txt || { cat inv.txt >&2; fail "inventory tl"; }
for k in 1 2 3 4 5 6; do
	grep -q "TG000${k}L6" inv.txt || { cat inv.txt; fail "inventory: no TG000${k}L6"; }
done
ok "tgt library: changer and 2 drives through abs-ctld, inventory of 6 cartridges"

# A dump spanning three cartridges; the robot changes them.
head -c 20000000 /dev/urandom >big.bin
ctl entity-add big "file:$T/big.bin" >/dev/null
j=$(ctl --json dump t0 big | jq -r '.jobs[0]')
wait_job "$j"
job_ok "$j" "dump spanning cartridges"
n=$("$CTL" tapes-for big | grep -c '^TG000')
[ "$n" -ge 3 ] || { "$CTL" tapes-for big; fail "big spans $n cartridges, not 3"; }
! grep -q "then run abs-ctl mounted" "$T/ctld.log" ||
	fail "abs-ctld asked the operator to mount a library cartridge"
loads=$(q "SELECT count(*) FROM moves WHERE state = 'done' AND to_type = 'drive'")
[ "$loads" -ge "$n" ] || fail "$loads loads done by the robot for $n cartridges"
ok "a dump of 20 MB spanned $n cartridges, loaded by the robot ($loads loads)"

# A restore on the other drive fetches them, the last one out of t0.
j=$(ctl --json restore big --to "$T/big.out" --drive t1 | jq -r '.job')
wait_job "$j"
job_ok "$j" "restore on t1"
cmp big.bin big.out || fail "big restored on t1 differs"
ok "restore on t1: the robot fetched big's cartridges (one out of t0)"

# Both drives at once: a dump on t0, a restore of big on t1.
head -c 3000000 /dev/urandom >small.bin
ctl entity-add small "file:$T/small.bin" >/dev/null
rm -f big.out
j1=$(ctl --json dump t0 small | jq -r '.jobs[0]')
j2=$(ctl --json restore big --to "$T/big.out" --drive t1 | jq -r '.job')
wait_job "$j1" "$j2"
job_ok "$j1" "dump on t0 beside a restore"
job_ok "$j2" "restore on t1 beside a dump"
cmp big.bin big.out || fail "big restored beside a dump differs"
rm -f small.out
j=$(ctl --json restore small --to "$T/small.out" --drive t1 | jq -r '.job')
wait_job "$j"
job_ok "$j" "restore of small"
cmp small.bin small.out || fail "small differs"
ok "two drives of one tgt library: a dump and a restore at once, both byte for byte"

# The robot's view and the catalog's agree: no barcode in two places.
ctl inventory tl >/dev/null || fail "last inventory"
ctl --json inventory tl --cached >inv.json || fail "inventory --cached"
dup=$(jq -r '.. | objects | select(has("barcode")) | .barcode // empty' inv.json |
	LC_ALL=C sort | uniq -d)
[ -z "$dup" ] || { cat inv.json; fail "cartridge(s) in two places: $dup"; }
kill -0 "$CPID" || fail "abs-ctld died"
ok "t_library_tgt"
