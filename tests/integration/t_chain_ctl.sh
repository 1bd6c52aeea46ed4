# Chains through abs-ctld (issue 13): a tree dumped in full through a media
# server on a vtape library, changed (a file deleted, one renamed, one
# changed, a file and a directory added), dumped again at level 1. The
# catalog keeps each dump's file index (uploaded by the media server) and
# its base; `abs-ctl restore` of the entity gives the tree as it is now
# (the chain: full, then the incremental), `--date` of the full the old
# tree, `--path` one file alone, `--level-only` the incremental alone;
# `abs-ctl find` says which versions of a path are in which dumps;
# `abs-ctl entity` shows the chain restorable. Then the full's cartridge
# goes out of service: the restore is refused naming the full, the entity
# shows the chain broken, the nightly report lists it and the plan makes
# the next dump a full. Last, the index comes back through the journal
# with the media server's journal replay.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
command -v jq >/dev/null 2>&1 || skip "jq is needed to read abs-ctl's answers"
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 is needed to look into the catalog"

wait_for() { poll_until "$1" || fail "timed out: $1"; }
job_state() { "$CTL" --json jobs --count 200 | jq -r ".[] | select(.id == $1) | .state"; }
wait_job() {
	wait_for "case \$(job_state $1) in done|failed|aborted) true;; *) false;; esac"
	[ "$(job_state "$1")" = done ] || { tail -n 20 "$T/engine.log" >&2; fail "job $1 ($2): $(job_state "$1")"; }
}
start_ctld() {
	"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>>"$T/ctld.log" &
	CPID=$!
	PIDS="$PIDS $CPID"
	wait_for '[ -S "$T/ctld.sock" ]'
}
start_engine() {
	"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
		--log "$T/journal.log" 2>>"$T/engine.log" &
	EPID=$!
	PIDS="$PIDS $EPID"
	wait_for '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
}
# dump LEVEL: a dump of home on lib0; its dump ID.
dump() {
	j=$("$CTL" --json dump lib0 home --level "$1" | jq -r '.jobs[0]')
	wait_job "$j" "dump level $1"
	sqlite3 "$T/catalog.db" "SELECT d.dump_uid FROM dumps d JOIN jobs j ON j.id = d.job_id WHERE j.id = $j"
}
# restore DIR ARGS...: restore home into DIR through abs-ctl; must succeed.
restore() {
	d=$1
	shift
	j=$("$CTL" --json restore home --to "$d" --drive lib0 "$@" | jq -r '.job')
	[ -n "$j" ] && [ "$j" != null ] || fail "restore $*: no job"
	wait_job "$j" "restore $*"
}
# same A B: two trees with the same names, types, contents and modes.
same() {
	diff -r "$1" "$2" >/dev/null || { diff -r "$1" "$2" >&2; fail "$3: the trees differ"; }
	(cd "$1" && find . -printf '%p %y %m\n' | sort) >a.lst
	(cd "$2" && find . -printf '%p %y %m\n' | sort) >b.lst
	cmp -s a.lst b.lst || { diff a.lst b.lst >&2; fail "$3: types or modes differ"; }
}

"$VTAPE" new-library lib --slots 4 --drives 1 --capacity 64M --barcode-prefix K >/dev/null
start_ctld
start_engine
"$CTL" tape-add default K00001 K00002 K00003 K00004 >/dev/null
"$CTL" pool-set default --keep-fulls 1 --keep-days 0 >/dev/null
mkdir -p src/sub src/keep
echo one >src/a.txt
echo gone >src/gone.txt
echo renamed >src/old-name.txt
head -c 200000 /dev/urandom >src/sub/b.bin
echo kept >src/keep/k.txt
# Names a terminal or JSON cannot take as they are: Latin-1 bytes, and
# an escape sequence (hostile13 H15, H17).
bad=$(printf 'caf\351')
esc=$(printf 'e\033[1;31mred')
echo latin >"src/$bad"
echo esc >"src/$esc"
"$CTL" entity-add home "dir:$T/src" >/dev/null
sleep 1		# the full starts after the tree's last change (ctime < since)

# The full: its index in the catalog, uploaded by the media server.
F=$(dump 0)
[ -n "$F" ] || fail "no full dump recorded"
idx=$(sqlite3 "$T/catalog.db" "SELECT coalesce(sum(length(x.data)), 0) FROM dump_index x JOIN dumps d ON d.id = x.dump_id WHERE d.dump_uid = '$F'")
[ "$idx" -gt 0 ] || skip "dumps carry no file index yet (the writer of issue 13)"
want=$(sqlite3 "$T/catalog.db" "SELECT index_bytes FROM dumps WHERE dump_uid = '$F'")
[ "$idx" = "$want" ] || fail "the catalog keeps $idx bytes of index, the dump line says $want"
cp -a src snap0
ok "full $F: its index ($idx bytes) in the catalog"

# Changes, then the incremental (on another cartridge): its base is the full.
Ftape=$(sqlite3 "$T/catalog.db" "SELECT t.label FROM dump_parts p JOIN tapes t ON t.id = p.tape_id JOIN dumps d ON d.id = p.dump_id WHERE d.dump_uid = '$F' LIMIT 1")
"$CTL" tape-state "$Ftape" no-new-writes >/dev/null
sleep 1		# dumps a second apart: --date tells them apart
rm src/gone.txt
mv src/old-name.txt src/new-name.txt
echo two >>src/a.txt
echo added >src/added.txt
mkdir src/newdir && echo y >src/newdir/y.txt
I=$(dump 1)
base=$(sqlite3 "$T/catalog.db" "SELECT base_uid FROM dumps WHERE dump_uid = '$I'")
[ "$base" = "$F" ] || fail "incremental $I names base '$base', not the full $F"
cp -a src snap1
"$CTL" --json entity home >entity.json
jq -e --arg f "$F" --arg i "$I" '.chains | length == 1 and .[0].full == $f and .[0].restorable and
	([.[0].dumps[].dump] == [$f, $i])' entity.json >/dev/null || fail "entity home: $(jq -c .chains entity.json)"
"$CTL" entity home | grep -q "full $F: 2 dumps, newest .*, restorable" || fail "entity home's chains not shown: $("$CTL" entity home)"
ok "incremental $I on base $F; entity home shows one restorable chain of 2 dumps"

# The whole chain: the tree as it is now (deleted gone, renamed renamed).
restore "$T/r1"
same snap1 r1 "restore of the chain"
[ ! -e r1/gone.txt ] && [ ! -e r1/old-name.txt ] || fail "a deleted or renamed file came back"
ok "abs-ctl restore: the chain (full + incremental) gives the tree as it is now"

# As of the full: the old tree.
Fdate=$(sqlite3 "$T/catalog.db" "SELECT started FROM dumps WHERE dump_uid = '$F'")
restore "$T/r0" --date "$Fdate"
same snap0 r0 "restore --date $Fdate"
ok "abs-ctl restore --date $Fdate: the tree as the full saw it"

# One path, and the incremental alone.
restore "$T/r2" --path ./new-name.txt --path sub
cmp snap1/new-name.txt r2/new-name.txt || fail "--path new-name.txt differs"
cmp snap1/sub/b.bin r2/sub/b.bin || fail "--path sub: sub/b.bin differs"
[ ! -e r2/a.txt ] && [ ! -e r2/keep ] || fail "--path restored more than asked: $(cd r2 && find . | sort | tr '\n' ' ')"
restore "$T/r3" --level-only
[ -e r3/added.txt ] && [ ! -e r3/keep/k.txt ] || fail "--level-only: $(cd r3 && find . | sort | tr '\n' ' ')"
ok "--path: only those paths; --level-only: the incremental alone"

# find: which versions are where.
"$CTL" --json find home '*name.txt' >find.json
jq -e --arg f "$F" --arg i "$I" '[.matches[] | select(.path == "./old-name.txt")] | map(.dump) == [$f]' find.json >/dev/null ||
	fail "find: old-name.txt should be in the full only: $(cat find.json)"
jq -e --arg i "$I" '[.matches[] | select(.path == "./new-name.txt")] | map(.dump) == [$i]' find.json >/dev/null ||
	fail "find: new-name.txt should be in the incremental only: $(cat find.json)"
# An unchanged file: the full holds it, the incremental lists it.
"$CTL" --json find home 'keep/k.txt' >find.json
jq -e --arg f "$F" --arg i "$I" '[.matches[] | [.dump, .in_stream]] == [[$f, true], [$i, false]]' find.json >/dev/null ||
	fail "find: keep/k.txt should be in the full and listed unchanged by the incremental: $(cat find.json)"
jq -e --arg i "$I" '[.matches[] | select(.path == "./a.txt")] | length == 0' find.json >/dev/null || fail "find matched a.txt"
"$CTL" --json find home '*a.txt' --date "$Fdate" | jq -e '[.matches[].path] == ["./a.txt"]' >/dev/null ||
	fail "find --date: $("$CTL" --json find home '*a.txt' --date "$Fdate")"
"$CTL" find home '*added*' | grep -q "$I  ./added.txt" || fail "find (text): $("$CTL" find home '*added*')"
expect_fail "no entity\|not-found\|no such" "$CTL" find nosuch '*'
ok "abs-ctl find: versions of matching paths by dump"

# A name that is not UTF-8 (hostile13 H17, chain13 F3): find lists it,
# '?' for its bytes above 0x7f and the bytes in path_b64; it can be asked
# for as it is (abs-ctl sends it in base64) and restored by --path or
# --path-b64. Text output escapes it, and control bytes (H15).
b64=$(printf './caf\351' | base64)
"$CTL" --json find home '*caf*' >find.json
jq -e --arg b "$b64" '[.matches[] | select(.path == "./caf?" and .path_b64 == $b)] | length == 2' find.json >/dev/null ||
	fail "find: the Latin-1 name is not listed with its bytes: $(cat find.json)"
"$CTL" --json find home "*$bad" | jq -e --arg b "$b64" '[.matches[].path_b64] == [$b, $b]' >/dev/null ||
	fail "find by the name's own bytes: $("$CTL" --json find home "*$bad")"
"$CTL" find home '*caf*' >find.txt
grep -q "$F  ./caf\\\\351\$" find.txt || fail "find (text) does not show the name escaped: $(cat -A find.txt)"
"$CTL" find home '*red' >find.txt
! grep -q "$(printf '\033')" find.txt && grep -q "./e\\\\033\[1;31mred" find.txt ||
	fail "find (text) prints an escape sequence raw: $(cat -A find.txt)"
restore "$T/r8" --path "$bad"
cmp "snap1/$bad" "r8/$bad" || fail "--path of a Latin-1 name: not restored"
restore "$T/r9" --path-b64 "$b64" --path ./a.txt
cmp "snap1/$bad" "r9/$bad" && cmp snap1/a.txt r9/a.txt || fail "--path-b64: not restored"
[ "$(ls r9 | wc -l)" = 2 ] || fail "--path-b64 restored more than asked: $(ls r9)"
ok "a name that is not UTF-8: found with its bytes, restored by --path and --path-b64; text output escaped"

# Paths checked against the dump's index before a job is queued (H10);
# as many as a request holds, and a clear word past that.
jobs0=$("$CTL" --json jobs --count 200 | jq length)
rc=0
"$CTL" restore home --to "$T/r10" --drive lib0 --path ./a.txt --path ./nosuch --path "$(printf 'no\351')" >out.txt 2>&1 || rc=$?
[ $rc = 5 ] && grep -q "2 of the 3 paths are not in dump $I: ./nosuch no?" out.txt ||
	fail "unknown paths not refused up front: exit $rc: $(cat out.txt)"
[ "$("$CTL" --json jobs --count 200 | jq length)" = "$jobs0" ] || fail "a job was queued for unknown paths"
set --
i=0
while [ $i -lt 1500 ]; do set -- "$@" --path ./a.txt; i=$((i + 1)); done
restore "$T/r10" "$@"
cmp snap1/a.txt r10/a.txt || fail "1500 --path: not restored"
i=0
while [ $i -lt 4000 ]; do set -- "$@" --path ./keep/k.txt; i=$((i + 1)); done
rc=0
"$CTL" restore home --to "$T/r11" --drive lib0 "$@" >out.txt 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "5500 paths" out.txt || fail "5500 --path: exit $rc: $(cat out.txt)"
set --
ok "restore --path: unknown paths refused by name before a job; 1500 paths taken, 5500 refused as too long"

# --date and --to are checked by abs-ctl and by abs-ctld (H2, H18): a
# date that is not a date prefix is a usage error, a relative --to is
# made absolute by abs-ctl and refused by abs-ctld.
for d in zzz yesterday '' 2026-13 "$(date -u +%Y-%m-%d) 11:00" 2026-11-29T11:00+01:00; do
	rc=0
	"$CTL" restore home --to "$T/rz" --drive lib0 --date "$d" >out.txt 2>&1 || rc=$?
	[ $rc = 2 ] && grep -q "YYYY-MM-DDTHH:MM" out.txt || fail "restore --date '$d': exit $rc: $(cat out.txt)"
	rc=0
	"$CTL" find home '*' --date "$d" >out.txt 2>&1 || rc=$?
	[ $rc = 2 ] && grep -q "YYYY-MM-DDTHH:MM" out.txt || fail "find --date '$d': exit $rc: $(cat out.txt)"
done
printf '%s\n' '{"op":"restore","id":2,"args":{"entity":"home","date":"zzz","to":"/tmp/x"}}' \
	'{"op":"find","id":3,"args":{"entity":"home","pattern":"*","date":"2026-11-29 11"}}' \
	'{"op":"restore","id":4,"args":{"entity":"home","to":"rel/dir"}}' | "$CTL" raw >raw.txt
[ "$(jq -r 'select(.id > 1) | .code' raw.txt | sort -u)" = bad-args ] ||
	fail "abs-ctld took a bad --date or a relative --to: $(cat raw.txt)"
jq -r 'select(.id == 4) | .error' raw.txt | grep -q "absolute" || fail "relative --to: $(cat raw.txt)"
# A full time without its Z, and the full's own second, find the full.
"$CTL" --json find home 'keep/k.txt' --date "${Fdate%Z}" | jq -e --arg f "$F" '[.matches[].dump] == [$f]' >/dev/null ||
	fail "find --date ${Fdate%Z}: $("$CTL" --json find home 'keep/k.txt' --date "${Fdate%Z}")"
mkdir -p rel
(cd rel && "$CTL" --json restore home --to out --drive lib0 --path ./a.txt) >rel.json || fail "restore --to out: $(cat rel.json)"
wait_job "$(jq -r .job rel.json)" "restore --to a relative path"
cmp snap1/a.txt rel/out/a.txt || fail "restore --to out (from $T/rel) did not restore into $T/rel/out"
ok "--date checked by abs-ctl and abs-ctld (exit 2); a relative --to made absolute by abs-ctl, refused by abs-ctld"

# The media server checks the chain a restore job hands it as a dump
# log's reader does (hostile13 H13): a catalog that lies about where a
# dump's index lies, or a dump ID that is no ID, fails the job, named.
n=$(sqlite3 catalog.db "SELECT index_bytes FROM dumps WHERE dump_uid = '$I'")
sqlite3 catalog.db "UPDATE dumps SET index_bytes = 4611686018427387904 WHERE dump_uid = '$I'"
j=$("$CTL" --json restore home --to "$T/r12" --drive lib0 | jq -r .job)
wait_for "case \$(job_state $j) in done|failed|aborted) true;; *) false;; esac"
[ "$(job_state "$j")" = failed ] && grep -q "chain: dump 2 ($I): index_raw=.* lie outside the stream" engine.log ||
	fail "a chain whose index lies outside its stream: job $j $(job_state "$j"): $(tail -n 3 engine.log)"
sqlite3 catalog.db "UPDATE dumps SET index_bytes = $n WHERE dump_uid = '$I'"
ok "a restore job whose chain lies about a dump's index fails, the dump named"

# A broken chain: the full's cartridge goes out of service.
Itape=$(sqlite3 "$T/catalog.db" "SELECT t.label FROM dump_parts p JOIN tapes t ON t.id = p.tape_id JOIN dumps d ON d.id = p.dump_id WHERE d.dump_uid = '$I' LIMIT 1")
[ "$Ftape" != "$Itape" ] || fail "the incremental was written on the full's cartridge $Ftape (no-new-writes)"
"$CTL" tape-state "$Ftape" out-of-service >/dev/null
rc=0
"$CTL" restore home --to "$T/r4" --drive lib0 >refused.txt 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "broken" refused.txt && grep -q "$F" refused.txt && [ ! -e r4 ] ||
	fail "a broken chain was not refused by name: exit $rc: $(cat refused.txt)"
"$CTL" --json entity home | jq -e '.chains[0].restorable == false' >/dev/null || fail "entity home: chain still restorable"
"$CTL" --json report | jq -e --arg i "$I" '.broken_chains | map(select(.entity == "home" and .dump == $i)) | length == 1' >/dev/null ||
	fail "the report does not list the broken chain: $("$CTL" --json report | jq -c .broken_chains)"
"$CTL" report | grep -q "broken chains (1" || fail "report text: $("$CTL" report | grep -i chain)"
# (dumped tonight already: the plan of tomorrow night)
at=$(date -u -d tomorrow +%Y-%m-%dT20:00:00Z)
"$CTL" --json plan --drives lib0 --at "$at" | jq -e '[.. | objects | select(.entity? == "home")] | map(.level == 0 and .reason == "must-full") | any' >/dev/null ||
	fail "the plan does not make home's next dump a full: $("$CTL" --json plan --drives lib0 --at "$at" | jq -c '[.. | objects | select(.entity? == "home")]')"
restore "$T/r5" --level-only
ok "broken chain: restore refused naming $F, entity shows it, report lists it, plan makes a full; --level-only still reads"
"$CTL" tape-state "$Ftape" appendable >/dev/null

# An upload is checked whole, off abs-ctld's loop, before the catalog
# keeps it (hostile13 H7): one that does not decode, another dump's
# index, one for a dump whose record announced none: refused, none kept.
if command -v python3 >/dev/null 2>&1; then
	kill "$EPID"
	wait "$EPID" 2>/dev/null || true
	wait_for '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"offline\")" >/dev/null'
	sqlite3 "$T/catalog.db" "DELETE FROM dump_index WHERE dump_id = (SELECT id FROM dumps WHERE dump_uid = '$I')"
	python3 - "$T/ctld.sock" "$I" "$T/journal.log.fidx/$I" "$T/catalog.db" >upload.txt <<'PY' || fail "the upload script"
import base64, json, socket, sqlite3, sys
sock, dump, good_path, db = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
f = s.makefile("rb")
n = 0
def call(op, **a):
    global n
    n += 1
    s.sendall((json.dumps({"op": op, "id": n, "args": a}) + "\n").encode())
    while True:
        m = json.loads(f.readline())
        if m.get("id") == n:
            return m
def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF
def up(data):
    return call("index-upload", dump=dump, total=len(data), offset=0,
                data=base64.b64encode(bytes(data)).decode())
call("hello", version=1, client="t_chain_ctl")
call("engine-register", drive="lib0", device="vtape:x")
good = open(good_path, "rb").read()
assert int.from_bytes(good[12:16], "little") == crc32c(good[32:]), "crc32c"
bad = bytearray(good)
bad[-1] ^= 0xFF                            # the payload's CRC is wrong
other = bytearray(good)
other[32:48] = bytes(range(1, 17))         # names another dump, CRC right
other[12:16] = crc32c(other[32:]).to_bytes(4, "little")
print(json.dumps(up(bad)))
print(json.dumps(up(other)))
con = sqlite3.connect(db)
con.execute("UPDATE dumps SET index_bytes = NULL WHERE dump_uid = ?", (dump,))
con.commit()
print(json.dumps(up(good)))
con.execute("UPDATE dumps SET index_bytes = ? WHERE dump_uid = ?", (len(good), dump))
con.commit()
print(json.dumps(up(good)))
PY
	sed -n 1p upload.txt | jq -e '.code == "bad-index" and (.error | test("CRC"))' >/dev/null &&
	sed -n 2p upload.txt | jq -e '.code == "bad-index" and (.error | test("index of dump 0102"))' >/dev/null &&
	sed -n 3p upload.txt | jq -e '.code == "bad-args" and (.error | test("no file index in its record"))' >/dev/null &&
	sed -n 4p upload.txt | jq -e '.result.stored == true' >/dev/null || fail "uploads: $(cat upload.txt)"
	# The media server's journal replay does not wait on a FIFO planted
	# where an index copy belongs (hostile13 H4, H13).
	mv "journal.log.fidx/$F" fidx-full.keep
	mkfifo "journal.log.fidx/$F"
	start_engine
	wait_for "grep -q 'journal.log.fidx/$F not sent' engine.log"
	rm "journal.log.fidx/$F"
	mv fidx-full.keep "journal.log.fidx/$F"
	ok "an index upload that does not decode, names another dump or has no dump record's index: refused; the right one kept; a FIFO for a copy skipped"
fi

# The journal replay: a catalog that lost an index (abs-ctld away when
# the dump ended) gets it back when the media server registers again.
sqlite3 "$T/catalog.db" "DELETE FROM dump_index WHERE dump_id = (SELECT id FROM dumps WHERE dump_uid = '$I')"
kill "$CPID"
wait "$CPID" 2>/dev/null || true
rm -f "$T/ctld.sock"
start_ctld
wait_for '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
wait_for "[ \"\$(sqlite3 \"$T/catalog.db\" \"SELECT count(*) FROM dump_index x JOIN dumps d ON d.id = x.dump_id WHERE d.dump_uid = '$I'\")\" -ge 1 ]"
restore "$T/r6"
same snap1 r6 "restore after the journal replay"
ok "an index the catalog lacked came back with the journal replay"

# A catalog rebuilt from the cartridges alone: the scan reads each dump's
# base from its header and its index from the tape, and the chain
# restores as before.
kill "$EPID" "$CPID" 2>/dev/null || true
wait "$EPID" "$CPID" 2>/dev/null || true
rm -f "$T/ctld.sock"
"$VTAPE" unload lib --drive 0 2>/dev/null || true
"$CTLD" --socket "$T/ctld.sock" --db "$T/rebuilt.db" --foreground --new-catalog 2>>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for '[ -S "$T/ctld.sock" ]'
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal2.log" 2>>"$T/engine.log" &
EPID=$!
PIDS="$PIDS $EPID"
wait_for '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
"$CTL" rebuild --drive lib0 --library >rebuild.txt 2>&1 || { cat rebuild.txt >&2; fail "rebuild"; }
for d in "$F" "$I"; do
	n=$(sqlite3 "$T/rebuilt.db" "SELECT coalesce(sum(length(x.data)), 0) FROM dump_index x JOIN dumps d ON d.id = x.dump_id WHERE d.dump_uid = '$d'")
	[ "$n" = "$(sqlite3 "$T/catalog.db" "SELECT index_bytes FROM dumps WHERE dump_uid = '$d'")" ] ||
		fail "the rebuilt catalog keeps $n bytes of dump $d's index: $(cat rebuild.txt)"
done
[ "$(sqlite3 "$T/rebuilt.db" "SELECT base_uid FROM dumps WHERE dump_uid = '$I'")" = "$F" ] ||
	fail "the rebuilt catalog lost the incremental's base"
restore "$T/r7"
same snap1 r7 "restore from the rebuilt catalog"
ok "rebuilt from the cartridges: indexes and bases back, the chain restores"
