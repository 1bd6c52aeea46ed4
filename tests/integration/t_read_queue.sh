# Restores that stream (issue 15, section 3): reads queued over iscsi://
# against tgtd, where several READs really are in flight. The queue's
# endings on a LUN of tgt's (test_read_queue with ABS_RQ_URI: a filemark,
# end of data, a caller's stop, at every place in queues of 1 to 16); then
# the engine: dumps stacked on one cartridge, each restored at depths 1, 8
# and 32 (each stream must stop at its own filemark), a damaged block that
# ends a restore at that block and a verify that goes on to the next
# dumps, a tree's single file restored by its span (a queue stopped in
# the middle of a part), and a chain restored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tgt.sh"
export ABS_RUN_DIR="$T"
UNIT="${ABS_BUILD:-$ABS_BIN/..}/tests/test_read_queue"
[ -x "$UNIT" ] || fail "no $UNIT (build it first)"

tgt_start
tgt_tape 1 "$T/q.img" 64
ABS_RQ_URI="iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1" "$UNIT" ||
	fail "the queue's endings over iSCSI against tgtd"
ok "the queue's endings on tgt: filemark, end of data, stops, depths 1..16"

tgt_tape 2 "$T/t.img" 256
U="iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/2"
"$ENGINE" label --device "$U" --label Q00001 --block-size 256K >/dev/null
# Three dumps one after the other; the first has a mark in its 6th block.
head -c $((5 * 262144 + 100)) /dev/urandom >a.bin
printf 'MARK-IN-BLOCK-SIX' >>a.bin
head -c 3000000 /dev/urandom >>a.bin
head -c 7000000 /dev/urandom >b.bin
head -c 262144 /dev/urandom >c.bin	# exactly one block
for e in a b c; do
	"$ENGINE" dump --device "$U" --entity $e --source "file:$T/$e.bin" --log d.log \
		--block-size 256K --no-verify >/dev/null
done
for q in 1 8 32; do
	for e in a b c; do
		"$ENGINE" restore --device "$U" --entity $e --log d.log --to "$T/$e.$q" \
			--queue $q >/dev/null
		cmp $e.bin $e.$q || fail "dump $e restored with $q reads in flight differs"
	done
	# Without a log: found by scanning the headers, read to its filemark.
	"$ENGINE" restore --device "$U" --entity b --file 3 --stdout --queue $q |
		cmp - b.bin || fail "dump b by its tape file, $q in flight, differs"
done
"$ENGINE" verify --device "$U" --queue 8 | tee v.txt
[ "$(grep -c 'part 1: OK' v.txt)" = 3 ] || fail "verify: not three parts OK"
ok "three stacked dumps restored at depths 1, 8, 32: each ends at its filemark"

# A damaged block: the restore ends at that block, the blocks read ahead
# behind it are never used; verify says so and goes on to the next dumps.
off=$(grep -boa 'MARK-IN-BLOCK-SIX' "$T/t.img" | head -1 | cut -d: -f1)
[ -n "$off" ] || fail "no mark in tgt's image"
flip "$T/t.img" "$off"
tgt_swap 2 "$T/t.img"
for q in 1 8; do
	expect_fail "checksum mismatch in tape file 1 block 6 (part 1 of 1 on Q00001):" \
		"$ENGINE" restore --device "$U" --entity a --log d.log --to "$T/bad.$q" --queue $q
done
"$ENGINE" verify --device "$U" --queue 8 >v2.txt 2>&1 && fail "verify passed a damaged block"
grep -q "^file 1 .*BAD: .*checksum mismatch in tape file 1 block 6 (part 1 of 1 on Q00001)" v2.txt ||
	{ cat v2.txt; fail "verify: the damaged block not named"; }
[ "$(grep -c 'part 1: OK' v2.txt)" = 2 ] || { cat v2.txt; fail "verify stopped at the damage"; }
"$ENGINE" restore --device "$U" --entity c --log d.log --stdout --queue 8 | cmp - c.bin ||
	fail "the dump after the damaged one"
flip "$T/t.img" "$off"
tgt_swap 2 "$T/t.img"
ok "a damaged block ends the restore there; the dumps after it read"

# A tree (zstd) and an incremental of it: a file by its span (the queue
# stopped inside the part), and the chain.
mkdir src
cp -a /usr/share/doc/coreutils src/ 2>/dev/null || cp -a /etc/default src/
head -c 4000000 /dev/urandom >src/blob
"$ENGINE" dump --device "$U" --entity tree --source "dir:$T/src" --compress zstd \
	--log d.log --no-verify >/dev/null
sleep 1
head -c 1000000 /dev/urandom >src/new
"$ENGINE" dump --device "$U" --entity tree --source "dir:$T/src" --compress zstd \
	--log d.log --level 1 --no-verify >/dev/null
"$ENGINE" restore --device "$U" --entity tree --log d.log --to "$T/one" --path blob \
	--queue 8 >/dev/null
cmp src/blob one/blob || fail "a file by its span over iSCSI differs"
"$ENGINE" restore --device "$U" --entity tree --log d.log --to "$T/all" --queue 8 >/dev/null
diff -r --no-dereference src all || fail "the chain over iSCSI differs"
ok "a file by its span and a chain of two dumps, 8 reads in flight"
