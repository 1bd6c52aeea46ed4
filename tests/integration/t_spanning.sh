# Dumps that cross cartridges: a library's changer, early warning and
# physical end, spot verification, re-dumps after a bad cartridge, and the
# operator's mount requests.
. "$(dirname "$0")/lib.sh"
export ABS_RUN_DIR="$T"

head -c 90000000 /dev/urandom >s.bin
"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 24M --early-warning 2M --barcode-prefix A >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
"$ENGINE" label --device vtape:lib/drive0 --label A00001
"$ENGINE" dump --device vtape:lib/drive0 --entity big --source "cmd:cat $T/s.bin" \
	--log d.log --block-size 256K --autolabel 'A%05d' | tee dump.out
parts=$(grep -c '^part entity=big ' d.log)
[ "$parts" -ge 4 ] || fail "expected at least 4 parts, got $parts"
grep -q "^dump entity=big .*part=$parts .*status=complete" d.log || fail "dump line"
grep -q 'label=A00004 ' d.log || fail "autolabel did not name the fourth cartridge A00004"
"$ENGINE" restore --device vtape:lib/drive0 --entity big --log d.log --stdout |
	cmp - s.bin || fail "multi-part restore differs"
ok "$parts-part dump restored from the log"

# Every part in the log is on tape, and nothing else is.
"$VTAPE" unload lib --drive 0
onTape=0
for s in 1 2 3 4 5 6; do
	"$VTAPE" load lib --slot $s --drive 0 2>/dev/null || continue
	n=$("$ENGINE" list --device vtape:lib/drive0 --json 2>/dev/null | grep -c '"kind":"part"' || true)
	onTape=$((onTape + n))
	"$ENGINE" verify --device vtape:lib/drive0 >/dev/null 2>&1 ||
		[ "$n" = 0 ] || fail "cartridge in slot $s does not verify"
	"$VTAPE" unload lib --drive 0
done
[ "$onTape" = "$parts" ] || fail "$onTape parts on tape, $parts in the log"
ok "tapes hold exactly the logged parts"
# An empty drive: the changer fetches each cartridge in turn.
"$ENGINE" restore --device vtape:lib/drive0 --entity big --log d.log --stdout |
	cmp - s.bin || fail "restore from an empty drive differs"
# No log, part 1 in the drive: the library is searched for the rest.
"$VTAPE" unload lib --drive 0
"$VTAPE" load lib --slot 1 --drive 0
"$ENGINE" restore --device vtape:lib/drive0 --entity big --stdout | cmp - s.bin ||
	fail "restore by scanning the library differs"
"$ENGINE" verify --device vtape:lib/drive0 --entity big --log d.log |
	grep -q "verified big: $parts parts" || fail "verify of the whole dump"
ok "restore with an empty drive and by scanning; verify of a whole dump"

# Physical end without early warning (PEW off, tiny EW zone): the block
# that did not fit is written again on the next cartridge; parts cut at
# the end have no trailer and the log holds their proof. The capacity
# leaves 2 KiB after the label, a header and 9 blocks of 1 MiB: no room
# for the trailer (4 KiB since format version 2).
"$VTAPE" new-library lib2 --slots 6 --drives 1 --capacity 9447424 --early-warning 1K --barcode-prefix B >/dev/null
"$VTAPE" load lib2 --slot 1 --drive 0
"$ENGINE" label --device vtape:lib2/drive0 --label B00001
head -c 40000000 s.bin >e.bin
"$ENGINE" dump --device vtape:lib2/drive0 --entity edge --source "file:$T/e.bin" \
	--log e.log --no-pew --autolabel 'B%05d' --block-size 1M
grep -q '^part entity=edge .*status=no-trailer' e.log || fail "no part was cut at physical end"
"$ENGINE" restore --device vtape:lib2/drive0 --entity edge --log e.log --stdout |
	cmp - e.bin || fail "restore across physical ends differs"
ok "physical end: nothing lost, nothing written twice"

# A cartridge that writes bad data: spot verification catches it, the
# cartridge goes out of use and the entity is dumped again on another.
"$VTAPE" new-library lib3 --slots 3 --drives 1 --capacity 64M --barcode-prefix C >/dev/null
"$VTAPE" load lib3 --slot 1 --drive 0
"$ENGINE" label --device vtape:lib3/drive0 --label C00001
# Logical objects: 0 label, 1 its filemark, 2 header, 3 first data block.
"$VTAPE" inject lib3 --drive 0 --corrupt-write-at 3
head -c 20000000 s.bin >m.bin
"$ENGINE" dump --device vtape:lib3/drive0 --entity m --source "file:$T/m.bin" \
	--log m.log --autolabel 'C%05d' 2>err.txt || { cat err.txt; fail "no retry"; }
grep -q 'spot verification failed' err.txt || fail "spot verify did not complain"
grep -q '^bad .*label=C00001 ' m.log || fail "bad cartridge not logged"
grep -q '^error .*label=C00001 .*status=verify-mismatch drive=vtape:lib3/drive0 ' m.log ||
	fail "error event (per cartridge and drive) not logged"
grep -q '^dump entity=m .*label=C00002 .*status=complete' m.log || fail "re-dump not on C00002"
"$ENGINE" restore --device vtape:lib3/drive0 --entity m --log m.log --stdout |
	cmp - m.bin || fail "restore after re-dump differs"
ok "spot verify caught silent corruption; re-dumped on C00002"
# A medium error while writing: the same, on the next cartridge.
"$VTAPE" inject lib3 --slot 1 --clear 2>/dev/null || true
"$VTAPE" inject lib3 --drive 0 --medium-error-at 35
"$ENGINE" dump --device vtape:lib3/drive0 --entity m2 --source "file:$T/m.bin" \
	--log m.log --autolabel 'C%05d' 2>err.txt || { cat err.txt; fail "no retry"; }
grep -q 'medium error writing' err.txt || fail "medium error not reported"
"$ENGINE" restore --device vtape:lib3/drive0 --entity m2 --log m.log --stdout |
	cmp - m.bin || fail "restore after medium-error re-dump differs"
ok "medium error: re-dumped on another cartridge"

# A tree (dir:, zstd) re-dumped after a medium error, and one across
# cartridges: the file index follows the archive in the stream that made
# it, its copy beside the log is the dump line's, and a single path comes
# back from it (the index is stream bytes: re-dumps and hand-overs carry it).
mkdir -p tree/a tree/b
for i in 1 2 3 4 5 6; do head -c 6000000 s.bin | tail -c $((i * 900000)) >tree/a/f$i; done
for i in $(seq 1 200); do echo "small $i" >tree/b/s$i; done
"$VTAPE" new-library lib6 --slots 3 --drives 1 --capacity 64M --barcode-prefix R >/dev/null
"$VTAPE" load lib6 --slot 1 --drive 0
"$ENGINE" label --device vtape:lib6/drive0 --label R00001 >/dev/null
"$VTAPE" inject lib6 --drive 0 --medium-error-at 6
"$ENGINE" dump --device vtape:lib6/drive0 --entity t --source "dir:$T/tree" \
	--log t.log --compress zstd --block-size 256K --autolabel 'R%05d' 2>err.txt ||
	{ cat err.txt; fail "no retry of the tree"; }
grep -q 'medium error writing' err.txt || fail "medium error not reported (tree)"
line=$(grep '^dump entity=t .*status=complete' t.log) || fail "tree not re-dumped"
id=$(echo "$line" | sed 's/.* dump=\([^ ]*\).*/\1/')
ib=$(echo "$line" | sed 's/.* index_bytes=\([0-9]*\).*/\1/')
[ "$ib" -gt 0 ] && [ "$(wc -c <"t.log.fidx/$id")" = "$ib" ] ||
	fail "the re-dump's index copy is not the dump line's ($ib bytes)"
"$ENGINE" restore --device vtape:lib6/drive0 --entity t --log t.log \
	--path a/f6 --to t.out >/dev/null || fail "--path after a re-dump"
cmp tree/a/f6 t.out/a/f6 || fail "--path after a re-dump differs"
ok "a tree re-dumped after a medium error: its index and a single path"
"$VTAPE" new-library lib5 --slots 6 --drives 1 --capacity 12M --early-warning 2M --barcode-prefix S >/dev/null
"$VTAPE" load lib5 --slot 1 --drive 0
"$ENGINE" label --device vtape:lib5/drive0 --label S00001 --block-size 64K >/dev/null
"$ENGINE" dump --device vtape:lib5/drive0 --entity st --source "dir:$T/tree" \
	--log st.log --compress zstd --block-size 64K --autolabel 'S%05d' >/dev/null ||
	fail "spanning tree dump"
line=$(grep '^dump entity=st .*status=complete' st.log)
parts=$(echo "$line" | sed 's/.* part=\([0-9]*\) .*/\1/')
[ "$parts" -ge 2 ] || fail "the tree did not span ($parts parts)"
echo "$line" | grep -q 'index_bytes=[1-9]' || fail "spanning tree: no index"
for f in a/f1 a/f6 b/s200; do
	rm -rf st.out
	"$ENGINE" restore --device vtape:lib5/drive0 --entity st --log st.log \
		--path $f --to st.out >/dev/null || fail "--path $f of a spanning tree"
	cmp tree/$f st.out/$f || fail "--path $f of a spanning tree differs"
done
rm -rf st.out
"$ENGINE" restore --device vtape:lib5/drive0 --entity st --log st.log --to st.out \
	>/dev/null || fail "restore of the spanning tree"
diff -r tree st.out >/dev/null || fail "spanning tree restore differs"
ok "a tree across $parts cartridges: single paths by its index, and whole"

# No library: the operator mounts. A drive directory whose tape link the
# "operator" swaps, answering with `abs-engine mounted`.
"$VTAPE" new-cartridge ca --barcode OPA --capacity 12M --early-warning 1M
"$VTAPE" new-cartridge cb --barcode OPB --capacity 12M --early-warning 1M
mkdir drv && ln -s ../ca drv/tape
"$ENGINE" label --device vtape:drv --label O00001
head -c 8000000 s.bin >o.bin
"$ENGINE" dump --device vtape:drv --entity op --source "file:$T/o.bin" --log o.log \
	--autolabel 'O%05d' --mount-timeout 60 2>op.err &
pid=$!
PIDS="$PIDS $pid"
wait_for 'MOUNT REQUEST' op.err
rm drv/tape && ln -s ../cb drv/tape
"$ENGINE" mounted --device vtape:drv
wait $pid || { cat op.err; fail "operator-mounted dump failed"; }
grep -q '^dump entity=op .*part=2 ' o.log || fail "not two parts"
# Restore starting from the second cartridge: asks for O00001 first.
"$ENGINE" restore --device vtape:drv --entity op --log o.log --mount-timeout 60 \
	--to "$T/o.out" 2>rs.err &
pid=$!
PIDS="$PIDS $pid"
wait_for 'MOUNT REQUEST: put cartridge O00001' rs.err
rm drv/tape && ln -s ../ca drv/tape
"$ENGINE" mounted --device vtape:drv
wait_for 'MOUNT REQUEST: put cartridge O00002' rs.err
rm drv/tape && ln -s ../cb drv/tape
"$ENGINE" mounted --device vtape:drv
wait $pid || { cat rs.err; fail "operator-mounted restore failed"; }
cmp o.bin o.out || fail "operator-mounted restore differs"
expect_fail "no engine is waiting" "$ENGINE" mounted --device vtape:drv
ok "operator mount requests for dump and restore"

# Logical block protection: CRC32C travels with every block, the drive
# checks it on write and VERIFYs the whole part in place; silent damage in
# the middle of a part (which sampling might miss) is found there.
"$VTAPE" new-library lib4 --slots 3 --drives 1 --capacity 64M --barcode-prefix P >/dev/null
"$VTAPE" load lib4 --slot 1 --drive 0
"$ENGINE" label --device vtape:lib4/drive0 --label P00001
"$VTAPE" inject lib4 --drive 0 --corrupt-write-at 12
"$ENGINE" dump --device vtape:lib4/drive0 --entity p --source "file:$T/m.bin" \
	--log p.log --lbp --verify-rate 0 --autolabel 'P%05d' >p.out 2>p.err ||
	{ cat p.err; fail "protected dump failed"; }
grep -q 'logical block protection on' p.err || fail "LBP not turned on"
grep -q 'spot verification failed: block 10 ' p.err || { cat p.err; fail "in-drive VERIFY missed block 10"; }
grep -q 'verified in the drive' p.out || fail "no in-drive verification reported"
"$VTAPE" show lib4 --drive 0 | grep -q 'logical block protection' || fail "blocks not protected"
"$ENGINE" restore --device vtape:lib4/drive0 --entity p --log p.log --stdout |
	cmp - m.bin || fail "restore of the protected dump differs"
ok "logical block protection: the drive's VERIFY caught a damaged block"
