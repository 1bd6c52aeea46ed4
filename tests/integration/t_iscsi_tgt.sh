# Rig A: the engine over libiscsi against tgtd's tape emulation (an SSC
# target we did not write) on 127.0.0.1: label, dumps of a tree and a
# command, list, restore, verify, and a dump spanning two tgt cartridges
# (tgt reports EOM but keeps writing: the part must close there).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tgt.sh"
export ABS_RUN_DIR="$T"

tgt_start
tgt_tape 1 "$T/t1.img" 64
U="iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1"
"$ENGINE" label --device "$U" --label G00001 --pool tgt
expect_fail "already labelled G00001" "$ENGINE" label --device "$U" --label G00002

mkdir src
cp -a /usr/share/doc/coreutils src/ 2>/dev/null || cp -a /etc/default src/
head -c 3000000 /dev/urandom >src/blob
ln -s blob src/link
"$ENGINE" dump --device "$U" --entity tree --source "dir:$T/src" --compress zstd --log d.log
head -c 20000000 /dev/urandom >c.bin
"$ENGINE" dump --device "$U" --entity stream --source "cmd:cat $T/c.bin" --log d.log \
	--block-size 256K
"$ENGINE" list --device "$U" | tee list.txt
grep -c '^[0-9]* *part ' list.txt | grep -qx 2 || fail "list does not show two parts"
"$ENGINE" restore --device "$U" --entity tree --log d.log --to "$T/out"
diff -r --no-dereference src out || fail "tree restored over iSCSI differs"
"$ENGINE" restore --device "$U" --entity stream --stdout | cmp - c.bin ||
	fail "stream restored over iSCSI (by scanning) differs"
"$ENGINE" verify --device "$U"
"$ENGINE" status --device "$U" | tee status.txt
grep -q '^drive  *IET VIRTUAL-TAPE' status.txt || fail "status: no INQUIRY data"
grep -q '^cartridge  *label G00001 ' status.txt || fail "status: no label"
grep -q '^TapeAlert  *not supported by this drive' status.txt ||
	fail "status: tgt's missing LOG SENSE not reported as such"
"$ENGINE" status --device "$U" --json | grep -q '"ready":true' || fail "status --json"
expect_fail "larger than the drive takes" "$ENGINE" dump --device "$U" --entity big \
	--source "cmd:true" --log d.log --block-size 8M
ok "label, dump, list, restore, verify, status over iSCSI against tgtd"

# A damaged label (one byte of its text flipped in tgt's image) is a
# damaged tape, never a blank one: label refuses it and says what follows.
off=$(grep -boa 'ABS-LABEL v1' "$T/t1.img" | head -1 | cut -d: -f1)
[ -n "$off" ] || fail "no label in tgt's image"
cp "$T/t1.img" "$T/t1.good"
flip "$T/t1.img" $((off + 200))
tgt_swap 1 "$T/t1.img"
expect_fail "damaged tape: the label is damaged .*but file 1 holds part 1 of dump .* of entity tree" \
	"$ENGINE" label --device "$U" --label G00099
expect_fail "damaged tape" "$ENGINE" dump --device "$U" --entity x --source "cmd:true" \
	--log d.log --autolabel 'G%05d'
cp "$T/t1.good" "$T/t1.img"
tgt_swap 1 "$T/t1.img"
"$ENGINE" list --device "$U" >/dev/null || fail "the repaired label is not read"
ok "a damaged label over iSCSI: refused, with what follows it"

# Spanning: a small cartridge fills; tgt says EOM and keeps writing; the
# engine closes the part and asks for the next tape; the "operator" puts
# a new image behind the LUN and says so.
tgt_tape 2 "$T/small1.img" 8
U2="iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/2"
"$ENGINE" label --device "$U2" --label G00010
head -c 12000000 /dev/urandom >s.bin
"$ENGINE" dump --device "$U2" --entity span --source "cmd:cat $T/s.bin" --log s.log \
	--autolabel 'H%05d' --mount-timeout 60 2>span.err &
pid=$!
PIDS="$PIDS $pid"
wait_for 'MOUNT REQUEST' span.err
tgtimg --op new --device-type tape --barcode TSMALL2 --size 8 --type data \
	--file "$T/small2.img" >/dev/null
tgt_swap 2 "$T/small2.img"
"$ENGINE" mounted --device "$U2"
wait $pid || { cat span.err; fail "spanning dump over iSCSI failed"; }
grep -q '^dump entity=span .*part=2 .*status=complete' s.log || fail "not two parts"
# Restore: part 2's cartridge is in the drive; the engine asks for part 1's.
"$ENGINE" restore --device "$U2" --entity span --log s.log --to "$T/span.out" \
	--mount-timeout 60 2>rs.err &
pid=$!
PIDS="$PIDS $pid"
wait_for 'MOUNT REQUEST: put cartridge G00010' rs.err
tgt_swap 2 "$T/small1.img"
"$ENGINE" mounted --device "$U2"
wait_for 'MOUNT REQUEST: put cartridge H00001' rs.err
tgt_swap 2 "$T/small2.img"
"$ENGINE" mounted --device "$U2"
wait $pid || { cat rs.err; fail "spanning restore over iSCSI failed"; }
cmp s.bin span.out || fail "spanning restore over iSCSI differs"
ok "a dump across two tgt cartridges, restored byte for byte"

# One engine per LUN (issue 11): while a dump holds LUN 1, a second engine
# is refused whatever portal address it names, and is told who holds it.
mkfifo hold.fifo
exec 3<>hold.fifo
"$ENGINE" dump --device "$U" --entity held --source "cmd:cat $T/hold.fifo" --log d.log \
	2>held.err 3>&- &
hpid=$!
PIDS="$PIDS $hpid"
wait_for "pid=$hpid " "$T/abs-lock.iscsi-${TGT_IQN%%:*}_${TGT_IQN#*:}-1"
expect_fail "iSCSI LUN 1 of $TGT_IQN is in use by pid $hpid (opened as $U)" \
	"$ENGINE" list --device "$U"
expect_fail "is in use by pid $hpid" \
	"$ENGINE" status --device "iscsi://localhost:$TGT_PORT/$TGT_IQN/1"
head -c 1000000 /dev/urandom >held.bin
cat held.bin >&3
exec 3>&-
wait $hpid || { cat held.err; fail "the dump holding the LUN failed"; }
"$ENGINE" restore --device "$U" --entity held --log d.log --stdout | cmp - held.bin ||
	fail "the held dump over iSCSI does not restore"
ok "a second engine on the same iSCSI LUN is refused"
