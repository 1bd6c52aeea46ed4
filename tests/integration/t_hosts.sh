# Several hosts (issue 17): three hosts as network namespaces
# (tests/integration/netns.sh). Host A runs abs-ctld, host B a media
# server with a vtape library, host C abs-ctl as an operator. A night's
# run dumps the entities on B's drive; a restore asked from C lands on B
# and equals the source; the catalog holds each dump once.
[ -w /dev/shm ] && TMPDIR=/dev/shm
. "$(dirname "$0")/lib.sh"
. "$ABS_TOP/tests/integration/netns.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
command -v jq >/dev/null || skip "jq is needed (make deps)"
command -v sqlite3 >/dev/null || skip "sqlite3 is needed (make deps)"
export TZ=UTC ABS_RUN_DIR="$T"
DB="$T/catalog.db"
q() { sqlite3 "$DB" "$1"; }
until_ok() { i=0; until eval "$1"; do i=$((i + 1)); [ $i -lt 300 ] || fail "timed out: $1"; sleep 0.1; done; }
netns_up

# Host A: abs-ctld. Its Unix socket is for the admin on A.
bg_on A "$CTLD" --socket "$T/ctld.sock" --db "$DB" --foreground --grace 30 \
	--exception-cmd "cat >>$T/exceptions.txt" 2>"$T/ctld.log"
CPID=$BG_PID
until_ok '[ -S "$T/ctld.sock" ]'
admin() { on A "$CTL" --socket "$T/ctld.sock" "$@"; }
# What media servers and operators on other hosts name to reach it.
CONTROL="$T/ctld.sock"
# An operator on host C.
opc() { on C "$CTL" --socket "$T/ctld.sock" "$@"; }

# Host B: a vtape library and its media server.
"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 24M --barcode-prefix H >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
bg_on B "$ENGINE" serve --control "$CONTROL" --drive b0 \
	--device "vtape:$T/lib/drive0" --log "$T/journal-b0.log" \
	2>>"$T/engine-b0.log"
EPID=$BG_PID
admin tape-add default H00001 H00002 H00003 H00004 H00005 H00006 >/dev/null
until_ok 'admin --json status | jq -e ".drives[] | select(.drive == \"b0\" and .state == \"idle\")" >/dev/null'
ok "host B's media server registered drive b0 with abs-ctld on host A"

# The entities (their data on B's side of the world: the media server
# reads them).
for i in 1 2 3; do
	mkdir -p "src/v$i/sub"
	head -c $((i * 70000)) /dev/urandom >"src/v$i/a.bin"
	echo "v$i" >"src/v$i/sub/b.txt"
	ln -s a.bin "src/v$i/link"
	admin entity-add "v$i" "dir:$T/src/v$i" >/dev/null
done

# The night: run b0, asked from host C.
opc run b0 </dev/null >run.txt 2>&1 || { cat run.txt "$T/ctld.log" >&2; fail "run b0 from host C"; }
grep -q "done: 3 dumped, 0 failed" run.txt || { cat run.txt; fail "the night's summary"; }
[ "$(q "SELECT count(*) FROM dumps WHERE state = 'complete'")" = 3 ] ||
	fail "3 complete dumps expected: $(q "SELECT * FROM dumps")"
ok "a night's run asked from host C: 3 dumps on host B's drive"

# A restore asked from C, run by B's media server.
for i in 1 3; do
	opc restore "v$i" --to "$T/r$i" >/dev/null || fail "restore v$i from host C"
done
until_ok '[ "$(q "SELECT count(*) FROM jobs WHERE kind = '\''restore'\'' AND state IN ('\''queued'\'','\''running'\'')")" = 0 ]'
[ "$(q "SELECT count(*) FROM jobs WHERE kind = 'restore' AND state = 'done'")" = 2 ] ||
	{ admin jobs >&2; fail "the restores did not end done"; }
for i in 1 3; do
	[ "$(tree_meta "src/v$i")" = "$(tree_meta "r$i")" ] || fail "restore of v$i differs"
	cmp "src/v$i/a.bin" "r$i/a.bin" || fail "r$i/a.bin differs"
done
ok "restores asked from host C, run on host B, equal their sources"
