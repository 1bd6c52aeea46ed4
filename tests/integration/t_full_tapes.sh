# Cartridges past early warning are full: dumps in a row never append to
# them (the dump log's `full` lines are the record in direct mode), never
# write an empty part, and the first cartridge is labelled from its
# barcode like the others (a library's barcode is the sticker label:
# --autolabel names only cartridges without one).
. "$(dirname "$0")/lib.sh"

# Small cartridges: 6 MiB, early warning 1 MiB before the end; with
# 256 KiB blocks the engine sets programmable early warning 2 MiB earlier.
"$VTAPE" new-library lib --slots 20 --drives 1 --capacity 6M --early-warning 1M >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
D=vtape:lib/drive0
head -c 12000000 /dev/urandom >s.bin

# Several dumps in a row, of sizes that fill cartridges and end at or near
# early warning (the first one exactly fills its cartridge); the first one
# starts on a blank, unlabelled cartridge.
n=0
for size in 2883584 9000000 5000000 3145728 1000000 2621440 6000000; do
	n=$((n + 1))
	head -c $size s.bin >e$n.bin
	"$ENGINE" dump --device $D --entity e$n --source "file:$T/e$n.bin" \
		--log d.log --block-size 256K --autolabel 'K%05d' >>dump.out 2>&1 ||
		{ cat dump.out; fail "dump $n of $size bytes"; }
done
grep -q '^part entity=e1 .*label=V00001 .*part=1 ' d.log ||
	fail "the first, blank cartridge was not labelled V00001 from its barcode"
! grep -q 'label=K0' d.log || fail "--autolabel named a library cartridge"
ok "$n dumps in a row; the first cartridge labelled from its barcode"

# Check the log: no empty part; no part on a cartridge after its `full`
# line; every part but a dump's last ends on a cartridge then marked full;
# a dump never comes back to a cartridge it left.
awk '
function kv(k,   i) { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1)
	return substr($i, length(k) + 2); return "" }
$1 == "full" { full[kv("tape")] = 1; lastfull = kv("tape"); next }
$1 == "part" {
	t = kv("tape"); d = kv("dump")
	if (kv("bytes") == 0) { print "empty part: " $0; bad = 1 }
	if (t in full) { print "part on a full cartridge: " $0; bad = 1 }
	if ((d SUBSEP t) in left) { print "dump came back to a cartridge: " $0; bad = 1 }
	if (d in cur && cur[d] != t) {
		if (!(cur[d] in full)) { print "left a cartridge not marked full: " $0; bad = 1 }
		left[d SUBSEP cur[d]] = 1
	}
	cur[d] = t; parts++
}
$1 == "dump" && kv("status") != "complete" { print "not complete: " $0; bad = 1 }
END { if (!parts) { print "no parts"; bad = 1 } exit bad }' d.log ||
	fail "dump log shows fragmentation onto full cartridges"
fulls=$(grep -c '^full ' d.log)
[ "$fulls" -ge 5 ] || fail "only $fulls cartridges marked full"
ok "no empty part, no part on a full cartridge ($fulls marked full)"

# Part counts: a dump of S bytes uses at most ceil(S / room) + 1 cartridges,
# where room (the bytes a cartridge takes before programmable early warning)
# is at least 2.5 MiB here.
for i in $(seq 1 $n); do
	size=$(wc -c <e$i.bin)
	parts=$(grep -c "^part entity=e$i " d.log)
	max=$(( (size + 2621439) / 2621440 + 1 ))
	[ "$parts" -le "$max" ] || fail "e$i ($size bytes) has $parts parts (at most $max)"
done
ok "part counts within bounds"

# Everything restores byte for byte.
for i in $(seq 1 $n); do
	"$ENGINE" restore --device $D --entity e$i --log d.log --stdout |
		cmp - e$i.bin || fail "restore of e$i differs"
done
ok "all $n dumps restore"

# The dump log is the only record: a cartridge marked full but still short
# of early warning (PEW off, so the drive says nothing) is not appended to.
fullbefore=$(awk '$1 == "full" { for (i = 2; i <= NF; i++) if ($i ~ /^label=/) print substr($i, 7) }' d.log | sort -u)
full1=$(awk '$1 == "full" { for (i = 2; i <= NF; i++) if ($i ~ /^label=/) { print substr($i, 7); exit } }' d.log)
"$VTAPE" unload lib --drive 0 2>/dev/null || true
"$ENGINE" dump --device $D --entity x1 --source "file:$T/e5.bin" --log d.log \
	--block-size 256K --autolabel 'K%05d' --no-pew 2>x1.err || { cat x1.err; fail "x1"; }
! grep -q "^part entity=x1 .*label=$full1 " d.log || fail "x1 appended to full $full1"
# The cartridge in the drive is full per the log: the changer takes another.
"$ENGINE" restore --device $D --entity e1 --log d.log --stdout >/dev/null
"$ENGINE" dump --device $D --entity x2 --source "file:$T/e5.bin" --log d.log \
	--block-size 256K --autolabel 'K%05d' --no-pew 2>x2.err || { cat x2.err; fail "x2"; }
grep -q "^part entity=x2 .*part=1 " d.log || fail "x2 wrote no part"
for l in $fullbefore; do
	! grep -q "^part entity=x[12] .*label=$l " d.log || fail "x1/x2 appended to full $l"
done
ok "cartridges full by the dump log alone are skipped"

# A new dump log that knows nothing: the drive's (programmable) early
# warning decides, before any part is begun on a full cartridge. V00001
# (slot 1) was filled to programmable early warning by e1.
"$VTAPE" unload lib --drive 0
"$VTAPE" load lib --slot 1 --drive 0
"$ENGINE" dump --device $D --entity y --source "file:$T/e5.bin" --log new.log \
	--block-size 256K --autolabel 'Z%05d' 2>y.err || { cat y.err; fail "y"; }
grep -q 'is full (beyond' y.err || fail "no full cartridge was noticed without the log"
awk '$1 == "part" { for (i = 2; i <= NF; i++) if ($i ~ /^bytes=/ && $i == "bytes=0") exit 1 }' new.log ||
	fail "empty part with a new log"
[ "$(grep -c '^part entity=y ' new.log)" -le 2 ] || fail "y fragmented: $(grep -c '^part entity=y ' new.log) parts"
"$ENGINE" restore --device $D --entity y --log new.log --stdout | cmp - e5.bin ||
	fail "restore of y differs"
ok "without the log, early warning alone keeps dumps off full cartridges"

# The full lines merge into a catalog as state full: none rejected.
export ABS_CTL_SOCKET="$T/ctld.sock"
"$ABS_BIN/abs-ctld" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>ctld.log &
PIDS="$PIDS $!"
w_end=$(deadline)
until [ -S "$T/ctld.sock" ]; do before "$w_end" || fail "no socket"; sleep 0.1; done
"$ABS_BIN/abs-ctl" --json merge d.log >merge.json || { cat merge.json; fail "merge of the dump log"; }
grep -q '"rejected_lines":0' merge.json || { cat merge.json; fail "merge rejected lines"; }
for l in $fullbefore; do
	"$ABS_BIN/abs-ctl" tapes | grep -q "^$l .* full " ||
		{ "$ABS_BIN/abs-ctl" tapes; fail "$l is not full in the catalog"; }
done
ok "the dump log's full lines merge as catalog state full"

# Two drives labelling blank cartridges at once from one dump log: every
# cartridge gets a label of its own (LOG.labels, locked, holds the labels
# handed out before the log has a part on them).
"$VTAPE" new-library two --slots 8 --drives 2 --capacity 64M --barcode-prefix W >/dev/null
"$VTAPE" load two --slot 1 --drive 0
"$VTAPE" load two --slot 2 --drive 1
head -c 100000 /dev/urandom >small.bin
for d in 0 1; do
	(for i in 1 2 3 4; do
		"$ENGINE" dump --device "vtape:$T/two/drive$d" --entity two$d.$i \
			--source "file:$T/small.bin" --log two.log --autolabel T%05d >/dev/null 2>>two$d.err || exit 1
	done) &
	eval "L$d=\$!"
done
wait "$L0" || { cat two0.err; fail "drive 0's dumps"; }
wait "$L1" || { cat two1.err; fail "drive 1's dumps"; }
pairs=$(sed -n 's/^part .*label=\([^ ]*\) tape=\([0-9a-f]*\).*/\1 \2/p' two.log | sort -u)
[ "$(echo "$pairs" | wc -l)" = 2 ] || fail "expected two cartridges: $pairs"
[ "$(echo "$pairs" | cut -d' ' -f1 | sort -u | wc -l)" = 2 ] ||
	fail "two cartridges took one label: $pairs"
ok "two drives labelling at once from one log: $(echo "$pairs" | cut -d' ' -f1 | tr '\n' ' ')"
