# The archiver in direct mode (abs-engine archive, docs/QUEUE.md) on a
# vtape library: closed and expired entries to tape, each file restorable
# with the tools that exist, done entries that say where; a missing file
# leaves the queue with a report; a file larger than a cartridge spans;
# scrub deletes only what the done entries prove.
. "$(dirname "$0")/lib.sh"
Q="$ABS_BIN/abs-queue"
export ABS_RUN_DIR="$T"

"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 24M --early-warning 2M \
	--barcode-prefix A >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
"$ENGINE" label --device vtape:lib/drive0 --label A00001 >/dev/null
mkdir data
for i in 1 2 3 4 5 6; do head -c $((i * 200000 + 17)) /dev/urandom >data/f$i.dat; done
"$Q" add q data/f1.dat data/f2.dat data/f3.dat
"$Q" add q data/f4.dat --open				# waits for close
"$Q" add q data/f5.dat --open --expires 0		# abandoned: archived
"$Q" add q data/f6.dat --checksum "xxh128:$(xxh128sum data/f6.dat | cut -d' ' -f1)"
rm data/f3.dat						# missing: a report
"$ENGINE" archive --device vtape:lib/drive0 --queue q --done done --once \
	--autolabel 'A%05d' >arch.out || { cat arch.out; fail "archive"; }
grep -q "^archive: 4 archived .* 1 refused, 0 failed" arch.out || { cat arch.out; fail "counts"; }
[ "$(ls q/*.json)" = "$(ls q/f4.dat.*.json)" ] || { ls q; fail "only the open f4 stays queued"; }
[ "$(ls done/*.json | wc -l)" = 4 ] || fail "four done entries"
jq -e '.state == "refused" and (.reason | startswith("missing"))' done/refused/f3.dat.*.json \
	>/dev/null || fail "f3's report"
ok "closed and expired entries archived, the open one waits, the missing one reported"

# Every done entry: where (label, tape ID, file) and what (the file's
# xxh128, as xxh128sum prints it); restorable by the dump's tape file.
for i in 1 2 5 6; do
	e=$(ls done/f$i.dat.*.json)
	sum=$(xxh128sum data/f$i.dat | cut -d' ' -f1)
	jq -e --arg s "xxh128:$sum" --arg p "$T/data/f$i.dat" \
		'.state == "archived" and .digest == $s and .path == $p and .label == "A00001"
		 and (.tape_id | length) == 32 and .file >= 1 and (.parts | length) == 1' \
		"$e" >/dev/null || { cat "$e"; fail "done entry of f$i"; }
	file=$(jq -r .file "$e")
	"$ENGINE" restore --device vtape:lib/drive0 --entity archive --file "$file" \
		--stdout 2>/dev/null | cmp - data/f$i.dat || fail "restore of f$i by tape file $file"
done
# The part header carries the queue entry; dd alone restores the file.
e=$(ls done/f2.dat.*.json)
file=$(jq -r .file "$e")
cart=lib/carts/A00001/$(printf 'file%06d' "$file")
tr -d '\000' <"$cart" 2>/dev/null | head -c 20000 | grep -a '^archive_entry=' |
	grep -q '"path":"'"$T"'/data/f2.dat"' || fail "the header holds no archive_entry of f2"
skip=$(tr -d '\000' <"$cart" | head -c 20000 | grep -ao 'skip_bytes skip=[0-9]*' | head -1 | cut -d= -f2)
dd if="$cart" bs=1048576 iflag=skip_bytes skip="$skip" status=none | cmp - data/f2.dat ||
	fail "dd of the header's recipe"
# Once the original is gone: the log names it, restore by entity and date.
ok "done entries say where and what; restored by abs-engine restore and by dd"

# Close f4: archived on the next run; a second archiver is refused.
"$Q" close q data/f4.dat
"$ENGINE" archive --device vtape:lib/drive0 --queue q --done done --poll 1 \
	--autolabel 'A%05d' >arch2.out 2>&1 &
apid=$!
PIDS="$PIDS $apid"
w_end=$(deadline)
until [ -z "$(ls q/*.json 2>/dev/null)" ]; do
	before "$w_end" || { cat arch2.out; fail "f4 not archived"; }
	sleep 0.1
done
expect_fail "another archiver" "$ENGINE" archive --device vtape:lib/drive0 \
	--queue q --done done --once
jq -e '.state == "waiting"' q/.archive-status.json >/dev/null ||
	{ cat q/.archive-status.json; fail "status: waiting"; }
kill -TERM $apid
wait $apid || { cat arch2.out; fail "the archiver stopped by SIGTERM exits 0"; }
jq -e '.state == "stopped" and (.messages | map(select(test("archived .*f4.dat"))) | length) == 1' \
	q/.archive-status.json >/dev/null || { cat q/.archive-status.json; fail "status messages"; }
ok "a waiting archiver takes a closed entry; one archiver per queue; status with messages"

# A producer's checksum that differs: on tape, but reported, not done.
head -c 1000 /dev/urandom >data/bad.dat
"$Q" add q data/bad.dat --checksum xxh128:00000000000000000000000000000000
"$ENGINE" archive --device vtape:lib/drive0 --queue q --done done --once >/dev/null 2>&1 ||
	fail "archive of a bad checksum"
jq -e '.state == "refused" and (.reason | startswith("checksum differs"))' \
	done/refused/bad.dat.*.json >/dev/null || fail "checksum report"
[ ! -e "$(ls done/bad.dat.*.json 2>/dev/null | head -1)" ] || fail "bad.dat has a done entry"
ok "a checksum that differs is reported"

# A file larger than what is left of the cartridge spans onto the next.
head -c 30000000 /dev/urandom >data/big.dat
"$Q" add q data/big.dat
"$ENGINE" archive --device vtape:lib/drive0 --queue q --done done --once \
	--autolabel 'A%05d' >/dev/null 2>&1 || fail "archive of a file that spans"
e=$(ls done/big.dat.*.json)
jq -e '(.parts | length) >= 2 and .parts[0].label != .parts[-1].label and
	([.parts[].bytes] | add) == .bytes and .bytes == 30000000' "$e" >/dev/null ||
	{ cat "$e"; fail "big.dat's parts"; }
# Restored from its first cartridge's tape file (the operator loads the
# cartridge the done entry names); the library finds the parts after it.
first=$(jq -r '.parts[0].label' "$e")
file=$(jq -r '.parts[0].file' "$e")
"$VTAPE" unload lib --drive 0
slot=$("$VTAPE" list lib | awk -v l="$first" '$2 == l { sub(/^slot/, "", $1); print $1 }')
[ -n "$slot" ] || { "$VTAPE" list lib; fail "no slot holds $first"; }
"$VTAPE" load lib --slot "$slot" --drive 0
"$ENGINE" restore --device vtape:lib/drive0 --entity archive --file "$file" \
	--label "$first" --stdout 2>restore.err | cmp - data/big.dat ||
	{ cat restore.err; fail "restore of a file across cartridges"; }
ok "a file across $(jq '.parts | length' "$e") cartridges, restored whole"

# Scrub: --verified-only deletes only files a read-back covered; then
# every file done proves, but not one changed since it was archived.
echo changed >>data/f6.dat
expect_fail "not proven by a read-back" "$Q" scrub q --done done --verified-only
verified=$(jq -r 'select(.verified) | .path' done/*.json | sort)
[ -n "$verified" ] || fail "no done entry is verified"
for p in $verified; do
	[ "$p" = "$T/data/f6.dat" ] || [ ! -e "$p" ] || fail "verified $p not scrubbed"
done
expect_fail "changed since it was archived" "$Q" scrub q --done done
for i in 1 2 4 5; do [ ! -e data/f$i.dat ] || fail "f$i.dat not scrubbed"; done
[ ! -e data/big.dat ] || fail "big.dat not scrubbed"
[ -e data/f6.dat ] && [ -e data/bad.dat ] || fail "scrub deleted a file done does not prove"
jq -e '.scrubbed' done/f1.dat.*.json >/dev/null || fail "the done entry records the scrub"
"$Q" scrub q --done done --dry-run >scrub.out 2>&1 && fail "f6 still refused"
grep -q "scrub: 0 to delete, .* 1 refused" scrub.out || { cat scrub.out; fail "scrub again"; }
ok "scrub deletes what done proves, refuses the rest"

# check: restore every done entry's file and compare. Originals gone
# (scrubbed): against the done entry's digest; f6 changed on disk since:
# a mismatch, unless --against-catalog; a damaged block on tape: refused.
"$Q" check --done done --device vtape:lib/drive0 >check.out 2>&1 &&
	fail "check passed although f6 changed on disk"
grep -q "MISMATCH .*f6.dat: the original on disk differs" check.out || { cat check.out; fail "f6"; }
grep -q "^checked $T/data/f1.dat: .* the same as the done entry's digest" check.out ||
	{ cat check.out; fail "f1 checked against its digest"; }
grep -q "^check: 5 the same, 1 not" check.out || { cat check.out; fail "check counts"; }
"$Q" check --done done --device vtape:lib/drive0 --against-catalog >check.out 2>&1 ||
	{ cat check.out; fail "check --against-catalog"; }
jq -e '.checked' done/f2.dat.*.json >/dev/null || fail "the done entry records the check"
e=$(ls done/f2.dat.*.json)
label=$(jq -r .label "$e")
file=$(jq -r .file "$e")
cart=$(grep -l "^label=$label\$" lib/carts/*/file000000 | head -1)
cart=$(dirname "$cart")/$(printf 'file%06d' "$file")
flip "$cart" $(( $(stat -c %s "$cart") - 100 ))
expect_fail "MISMATCH .*f2.dat" "$Q" check --done done --device vtape:lib/drive0 \
	--against-catalog "$T/data/f2.dat"
ok "check: restored and compared with the originals or the digests; damage found"
