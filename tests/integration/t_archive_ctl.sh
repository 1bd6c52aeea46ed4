# The archive queue under abs-ctld (docs/QUEUE.md, "Under abs-ctld"): an
# archive job on a media server's drive (abs-ctl archive-add) takes a
# producer's closed and expired entries to tape, reports a missing data
# file and takes its entry out of the queue, spans a file larger than a
# cartridge onto the next one, stops and starts again, and shows its
# states, messages and the next cartridge's label in archive-list; the
# catalog knows where each archived file is (archive-find) and agrees
# with done/; abs-queue check restores and compares them, and scrub
# --verified-only then deletes them. Refusals: an unknown drive, a queue
# directory that is missing, done inside the queue, a second archive on
# the drive, a user who is no admin.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
Q="$ABS_BIN/abs-queue"
export ABS_CTL_SOCKET="$T/ctld.sock" ABS_RUN_DIR="$T"
command -v jq >/dev/null || skip "jq is needed"

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>"$T/ctld.log" &
PIDS="$PIDS $!"
i=0
until "$CTL" whoami >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "abs-ctld did not start"; sleep 0.1
done
"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 24M --early-warning 2M \
	--barcode-prefix A >/dev/null
"$CTL" tape-add default A00001 A00002 A00003 A00004 A00005 A00006 >/dev/null
start_ms() {
	"$ENGINE" serve --control "$T/ctld.sock" --drive d0 --device "vtape:$T/lib/drive0" \
		--log "$T/journal.log" 2>>"$T/engine.log" &
	MS=$!
	PIDS="$PIDS $MS"
}
start_ms
i=0
until "$CTL" --json status | grep -q '"drive":"d0"'; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "d0 did not register"; sleep 0.1
done

# wait_until SECS CMD...: poll until CMD succeeds (at most SECS seconds).
wait_until() {
	lim=$(( $1 * 5 )); shift
	n=0
	until "$@"; do
		n=$((n + 1))
		[ $n -lt $lim ] || return 1
		sleep 0.2
	done
}
alist() { "$CTL" --json archive-list | jq -c ".[] | select(.name == \"$1\")"; }
state_is() { [ "$(alist "$1" | jq -r .state)" = "$2" ]; }
ndone() { ls done/*.json 2>/dev/null | wc -l; }
done_is() { [ "$(ndone)" = "$1" ]; }

# Refusals before anything is added.
mkdir q data
expect_fail "no drive nosuch" "$CTL" archive-add A0 --queue "$T/q" --done "$T/done" --drive nosuch
expect_fail "no such directory" "$CTL" archive-add A0 --queue "$T/nope" --done "$T/done" --drive d0
expect_fail "is inside the queue" "$CTL" archive-add A0 --queue "$T/q" --done "$T/q/done" --drive d0
expect_fail "is the queue" "$CTL" archive-add A0 --queue "$T/q" --done "$T/q/." --drive d0
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	"$CTL" acl-set 65533 operator >/dev/null
	chmod 755 "$T"
	chmod 666 "$T/ctld.sock"	# the test's other user
	rc=0
	setpriv --reuid=65533 --regid=65533 --clear-groups "$CTL" --json archive-add A0 \
		--queue "$T/q" --done "$T/done" --drive d0 >r.txt 2>&1 || rc=$?
	[ $rc != 0 ] && grep -q '"code":"denied"' r.txt || fail "an operator added an archive: $(cat r.txt)"
	ok "refused: an operator may not add an archive: $(tail -n1 r.txt)"
	setpriv --reuid=65533 --regid=65533 --clear-groups "$CTL" archive-list >/dev/null ||
		fail "an operator cannot list archives"
else
	echo "skip: the non-admin refusal needs root and setpriv"
fi
[ "$("$CTL" --json archive-list)" = "[]" ] || fail "a refused archive-add left an archive"

# The producer: closed files, an expired open one, an open one that
# waits, one whose data file goes before it is archived.
for i in 1 2 3 4 5 6; do head -c $((i * 150000 + 11)) /dev/urandom >data/f$i.dat; done
"$Q" add q data/f1.dat data/f2.dat data/f3.dat
"$Q" add q data/f4.dat --checksum "xxh128:$(xxh128sum data/f4.dat | cut -d' ' -f1)"
"$Q" add q data/f5.dat --open --expires 0
"$Q" add q data/f6.dat --open
rm data/f3.dat
"$CTL" archive-add A1 --queue "$T/q" --done "$T/done" --drive d0 --poll 1 \
	--commit-every 3 >add.txt ||
	{ cat add.txt; fail "archive-add"; }
ok "archive A1 added on d0"
expect_fail "works another archive" "$CTL" archive-add A2 --queue "$T/data" --done "$T/done2" --drive d0
expect_fail "exists" "$CTL" archive-add A1 --queue "$T/data" --done "$T/done2" --drive d0

wait_until 300 done_is 4 || { "$CTL" archive-list; tail engine.log; fail "four files archived: $(ndone)"; }
wait_until 120 state_is A1 waiting || { "$CTL" archive-list; fail "A1 waits for more"; }
for i in 1 2 4 5; do
	e=$(ls done/f$i.dat.*.json)
	sum=$(xxh128sum data/f$i.dat | cut -d' ' -f1)
	jq -e --arg s "xxh128:$sum" '.state == "archived" and .digest == $s and
		.entity == "archive.A1" and (.parts | length) == 1' "$e" >/dev/null ||
		{ cat "$e"; fail "done entry of f$i"; }
done
jq -e '.state == "refused" and (.reason | startswith("missing"))' done/refused/f3.dat.*.json \
	>/dev/null || fail "f3's report"
[ "$(ls q/*.json)" = "$(ls q/f6.dat.*.json)" ] || { ls q; fail "only the open f6 stays queued"; }
# --commit-every 3: one read-back per commit point (its file is verified).
[ "$(jq -s '[.[] | select(.verified)] | length' done/*.json)" = 2 ] ||
	fail "two commit points for four files: $(jq -c '[.name, .verified]' done/*.json)"
ok "closed and expired entries archived under abs-ctld, the open one waits, the missing one reported and out of the queue"

alist A1 >l.json
jq -e '.archived == 4 and .pending == 1 and .drive == "d0" and .cartridge == "A00001"
	and .next_label == "A00002"' l.json >/dev/null || { cat l.json; fail "archive-list counts"; }
jq -e '[.messages[] | select(test("refused .*f3.dat"))] | length == 1' l.json >/dev/null ||
	{ cat l.json; fail "the refusal in the messages"; }
jq -e '[.messages[] | select(test("archived .*f5.dat"))] | length == 1' l.json >/dev/null ||
	{ cat l.json; fail "f5's archiving in the messages"; }
"$CTL" archive-list >l.txt
grep -q "^A1  waiting  drive d0  archived 4" l.txt || { cat l.txt; fail "archive-list for people"; }
grep -q "cartridge A00001  next A00002" l.txt || { cat l.txt; fail "the next label for people"; }
grep -q "archive A1: refused" ctld.log || grep -q "archive A1: refused" l.txt ||
	{ "$CTL" status; fail "the drive's log has no archive message"; }
ok "archive-list: waiting, 4 archived, 1 pending, cartridge A00001, next A00002, the messages"

# The catalog knows where each file is.
"$CTL" --json archive-find "$T/data/f2.dat" >f.json || fail "archive-find by path"
e=$(ls done/f2.dat.*.json)
jq -e --slurpfile d "$e" '.[0] | .label == $d[0].label and .file == $d[0].file and
	.tape_id == $d[0].tape_id and .digest == $d[0].digest and .archive == "A1"' f.json \
	>/dev/null || { cat f.json "$e"; fail "archive-find says where f2 is"; }
"$CTL" archive-find "$(jq -r .name "$e")" | grep -q "cartridge A00001" ||
	fail "archive-find by entry name"
expect_fail "no archived file" "$CTL" archive-find "$T/data/f6.dat"
ok "archive-find: cartridge, tape file and digest by path and by entry name"

# A job for the drive waits while the archive holds it.
"$CTL" entity-add small "dir:$T/data" >/dev/null
j=$("$CTL" --json dump d0 small | jq -r '.jobs[0] // .job // empty')
[ -n "$j" ] || fail "no dump job"
wait_until 60 grep -q "job $j waits: drive d0 is held by archive A1" ctld.log ||
	{ tail ctld.log; fail "the waiting job is not said"; }
ok "a dump on the drive waits while archive A1 holds it (said in the drive's log)"

# Stop: the archive lets the drive go, the dump runs; a file added
# meanwhile stays queued; start: it is archived.
"$CTL" archive-stop A1 | grep -q stopping || fail "archive-stop"
wait_until 120 state_is A1 stopped || { "$CTL" archive-list; fail "A1 stops"; }
wait_until 300 sh -c "[ \"\$(sqlite3 '$T/catalog.db' 'SELECT state FROM jobs WHERE id = $j')\" = done ]" ||
	fail "the waiting dump ran after the stop"
"$Q" close q data/f6.dat
sleep 2
[ -f "$(ls q/f6.dat.*.json)" ] || fail "a stopped archive took f6"
ok "archive-stop: stopped, the dump that waited ran, f6 stays queued"
"$CTL" archive-start A1 >/dev/null || fail "archive-start"
wait_until 300 done_is 5 || { "$CTL" archive-list; fail "f6 archived after the start"; }
ok "archive-start: f6 archived"

# A file larger than a cartridge spans onto the next one; the next label
# moves on.
head -c 30000000 /dev/urandom >data/big.dat
"$Q" add q data/big.dat
wait_until 300 done_is 6 || { "$CTL" archive-list; tail -n 20 engine.log; fail "big.dat archived"; }
e=$(ls done/big.dat.*.json)
jq -e '(.parts | length) >= 2 and .parts[0].label != .parts[1].label and
	.bytes == 30000000' "$e" >/dev/null || { cat "$e"; fail "big.dat spans"; }
"$CTL" --json archive-find "$T/data/big.dat" | jq -e '.[0].parts | length >= 2' >/dev/null ||
	fail "archive-find: big.dat's parts"
wait_until 60 state_is A1 waiting
alist A1 | jq -e --arg c "$(jq -r '.parts[-1].label' "$e")" '.cartridge == $c and
	.next_label != null and .next_label != $c' >/dev/null ||
	{ alist A1; fail "after spanning: the cartridge and the next label"; }
ok "big.dat spans $(jq -r '[.parts[].label] | join(" and ")' "$e"); the next label follows"

# The catalog agrees with done/.
cat_names=$(sqlite3 "$T/catalog.db" "SELECT name FROM archive_entries ORDER BY name")
dir_names=$(cd done && ls *.json | sed 's/\.json$//' | LC_ALL=C sort)
[ "$cat_names" = "$dir_names" ] || fail "catalog [$cat_names] and done/ [$dir_names] differ"
ok "the catalog holds every done entry and nothing else"
# And each done entry's dump is complete in the catalog, its first part
# where the done entry says (parts reach the catalog at commit points).
for e in done/*.json; do
	want=$(jq -r '"\(.parts[0].label)|\(.parts[0].file)|\(.parts | length)"' "$e")
	got=$(sqlite3 "$T/catalog.db" "SELECT t.label || '|' || p.file || '|' ||
		(SELECT count(*) FROM dump_parts x WHERE x.dump_id = d.id) FROM dumps d
		JOIN dump_parts p ON p.dump_id = d.id AND p.part = 1 JOIN tapes t ON
		t.id = p.tape_id WHERE d.dump_uid = '$(jq -r .dump_id "$e")' AND
		d.state = 'complete'")
	[ "$got" = "$want" ] || fail "$e: the catalog's dump says [$got], the entry [$want]"
done
ok "every done entry's dump is complete in the catalog with its parts"

# Stop, remove refused while running; stop the media server; check every
# file against tape, then scrub only what is proven.
expect_fail "archive-stop it first" "$CTL" archive-remove A1
"$CTL" archive-stop A1 >/dev/null
wait_until 120 state_is A1 stopped || fail "A1 stops again"
kill "$MS"; wait "$MS" 2>/dev/null || true
"$Q" check --done done --device "vtape:$T/lib/drive0" --log "$T/journal.log" >check.txt 2>&1 ||
	{ cat check.txt; fail "abs-queue check against tape"; }
[ "$(grep -c MISMATCH check.txt)" = 0 ] || fail "check: $(cat check.txt)"
ok "abs-queue check restored and compared every archived file"
"$Q" scrub q --done done --verified-only --log "$T/journal.log" >scrub.txt 2>&1 || { cat scrub.txt; fail "scrub"; }
for i in 1 2 4 5 6; do [ ! -e data/f$i.dat ] || fail "f$i not scrubbed"; done
[ ! -e data/big.dat ] || fail "big.dat not scrubbed"
ok "scrub --verified-only deleted the checked files"
start_ms
"$CTL" archive-remove A1 >/dev/null || fail "archive-remove"
[ "$("$CTL" --json archive-list)" = "[]" ] || fail "A1 still listed"
ok "archive-remove"
