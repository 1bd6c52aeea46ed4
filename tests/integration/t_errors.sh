# Bad situations get clear errors, a non-zero exit, and lose no data:
# wrong or missing label, write protect, corrupt header, flipped data byte,
# bad source, full cartridge, medium error, busy drive, label overwrite.
. "$(dirname "$0")/lib.sh"

new_lib lib 64M 8M
D=vtape:lib/drive0
expect_fail "no label" "$ENGINE" dump --device $D --entity x --source "cmd:echo hi" --log d.log
"$ENGINE" label --device $D --label E00001
expect_fail "already labelled E00001" "$ENGINE" label --device $D --label E00002
expect_fail "wrong tape: E00001 is in the drive, E00009 was asked for" \
	"$ENGINE" dump --device $D --entity x --source "cmd:echo hi" --log d.log --label E00009
expect_fail "log DUMPLOG is required" "$ENGINE" dump --device $D --entity x --source "cmd:echo hi"
expect_fail "source .*: No such file" "$ENGINE" dump --device $D --entity x \
	--source "dir:$T/nonexistent" --log d.log
expect_fail "source must be" "$ENGINE" dump --device $D --entity x --source "tcp:1" --log d.log
expect_fail "no cartridge in the drive" "$ENGINE" list --device vtape:lib/drive1
expect_fail "unknown URI scheme" "$ENGINE" list --device floppy:/dev/fd0

head -c 3000000 /dev/urandom >a.bin
"$ENGINE" dump --device $D --entity a --source "file:$T/a.bin" --log d.log
"$ENGINE" dump --device $D --entity b --source "cmd:head -c 2000000 $T/a.bin" --log d.log

# A failing command: the stream is recorded as source-failed, not restored.
expect_fail "exited with status 3" "$ENGINE" dump --device $D --entity c \
	--source "cmd:sh -c 'echo partial; exit 3'" --log d.log
grep -q '^dump entity=c .*status=source-failed' d.log || fail "source failure not logged"
expect_fail "no complete dump of c" "$ENGINE" restore --device $D --entity c --log d.log --stdout
expect_fail "cannot run\|status 127" "$ENGINE" dump --device $D --entity c2 \
	--source "cmd:/nonexistent/vos dump" --log d.log

# Write protect: label and dump refuse, the tape is unchanged.
before=$(ls lib/drive0/tape/ | md5sum)
"$VTAPE" inject lib --drive 0 --write-protect
expect_fail "write-protected" "$ENGINE" dump --device $D --entity d --source "cmd:echo hi" --log d.log
expect_fail "write-protected" "$ENGINE" label --device $D --label E00003 --force
[ "$before" = "$(ls lib/drive0/tape/ | md5sum)" ] || fail "write-protected tape changed"
"$VTAPE" inject lib --drive 0 --write-enable

# A drive is used by one engine at a time.
"$ENGINE" dump --device $D --entity slow --source "cmd:sh -c 'sleep 2; echo x'" --log d.log &
bg=$!
PIDS="$PIDS $bg"
sleep 0.5
expect_fail "device busy" "$ENGINE" list --device $D
wait $bg || fail "dump alongside a busy check failed"

# A full bare cartridge (no library to change it): the engine asks for a
# mount, nobody comes, a clear error; the tape stays usable.
"$VTAPE" new-cartridge solo --barcode SOLO01 --capacity 40M --early-warning 4M
"$ENGINE" label --device vtape:solo --label SOLO01
"$ENGINE" dump --device vtape:solo --entity a --source "file:$T/a.bin" --log s.log
head -c 80000000 /dev/urandom >big.bin
expect_fail "nobody mounted a writable cartridge" "$ENGINE" dump --device vtape:solo \
	--entity big --source "file:$T/big.bin" --log s.log --mount-timeout 1
grep -q '^dump entity=big ' s.log && fail "a failed dump reached the dump log as a dump"
"$ENGINE" restore --device vtape:solo --entity a --log s.log --stdout | cmp - a.bin ||
	fail "earlier dump damaged by the full-tape failure"
"$ENGINE" verify --device vtape:solo --file 1
ok "full cartridge left earlier dumps intact"

# A fresh tape for damage tests. Its offsets below are those of format
# version 1 (a header and a trailer record of a whole block each), so it
# is labelled version 1; t_format_versions damages version 2 tapes.
"$VTAPE" unload lib --drive 0
"$VTAPE" load lib --slot 2 --drive 0
ABS_FORMAT_VERSION=1 "$ENGINE" label --device $D --label E00002
"$ENGINE" dump --device $D --entity a --source "file:$T/a.bin" --log d2.log
"$ENGINE" dump --device $D --entity b --source "file:$T/a.bin" --log d2.log
CART=$(readlink -f lib/drive0/tape)
# Tape file 3 (part b): the header block (1 MiB: text, then zeros), data
# blocks 1 and 2 (1 MiB each) and 3 (the rest); file 4 its trailer: a
# text block of 1 MiB, then the CRC table (12 bytes).
# One byte of the second data block.
flip "$CART/file000003" $((1048576 * 2 + 12345))
expect_fail "BAD: checksum mismatch in tape file 3 block 2" "$ENGINE" verify --device $D
expect_fail "checksum mismatch in tape file 3 block 2" "$ENGINE" restore --device $D \
	--entity b --log d2.log --to "$T/b.out"
"$ENGINE" verify --device $D --file 1 || fail "undamaged part fails verify"
flip "$CART/file000003" $((1048576 * 2 + 12345))
"$ENGINE" verify --device $D >/dev/null || fail "the flip undone, verify still fails"
# The zeros after a text block's text are no field and no data, but a
# byte changed there is damage on tape: verify says so, a restore (whose
# bytes are all proven) goes on.
for fo in 3:500000 3:1048575 4:500000; do
	flip "$CART/file00000${fo%%:*}" "${fo#*:}"
	expect_fail "tape file ${fo%%:*}: 1 byte of the .* block after its text is not zero" \
		"$ENGINE" verify --device $D
	expect_fail "1 byte of the .* block after its text is not zero" \
		"$ENGINE" verify --device $D --entity b --log d2.log
	"$ENGINE" restore --device $D --entity b --log d2.log --stdout 2>/dev/null | cmp -s - a.bin ||
		fail "restore of b with damaged padding in file ${fo%%:*}"
	flip "$CART/file00000${fo%%:*}" "${fo#*:}"
done
# A damaged trailer is not a part cut at the end of tape: verify fails
# even where the dump log has the part's digest; a restore proves the
# bytes by that digest and says it did.
flip "$CART/file000004" $((1048576 + 5))
expect_fail "trailer CRC table damaged" "$ENGINE" verify --device $D --entity b --log d2.log
"$ENGINE" restore --device $D --entity b --log d2.log --to "$T/b.out" >r.out 2>&1 ||
	{ cat r.out; fail "restore of b with a damaged trailer and its log"; }
cmp -s b.out a.bin || fail "restore of b with a damaged trailer differs"
grep -q "trailer CRC table damaged; the dump log's record" r.out &&
	grep -q "1 part without a trailer proven by the dump log's digest" r.out ||
	{ cat r.out; fail "restore did not say it used the log's record"; }
rm -f b.out
flip "$CART/file000004" $((1048576 + 5))
ok "damaged data, padding and trailer: verify fails, restore proves or refuses"
# Corrupt the header block of file 1.
flip "$CART/file000001" 40
expect_fail "part header is damaged" "$ENGINE" restore --device $D --entity a \
	--log d2.log --stdout
"$ENGINE" list --device $D | grep -q '^1 .*damaged' || fail "list does not flag the damaged header"
# A damaged label.
flip "$CART/file000000" 100
expect_fail "label is damaged" "$ENGINE" list --device $D
expect_fail "use --force" "$ENGINE" label --device $D --label E00004
ABS_FORMAT_VERSION=1 "$ENGINE" label --device $D --label E00004 --force	# version 1 offsets below

# Medium error while writing: the dump fails clearly.
"$VTAPE" inject lib --drive 0 --medium-error-at 4
expect_fail "medium error writing" "$ENGINE" dump --device $D --entity m \
	--source "file:$T/a.bin" --log d3.log --retries 0
grep -q "^bad .*label=E00004 " d3.log || fail "bad cartridge not in the dump log"
# A truncated tape file (the data file lost its tail on disk).
"$VTAPE" inject lib --drive 0 --clear
"$ENGINE" dump --device $D --entity t --source "file:$T/a.bin" --log d4.log
f=$(grep '^dump entity=t ' d4.log | sed 's/.* file=\([0-9]*\) .*/\1/')
truncate -s 1500000 "$CART/$(printf 'file%06d' "$f")"
# With its trailer file after it, the file was damaged, not cut by an
# interrupted write: its lost blocks cannot be read (as on a real tape).
expect_fail "Unrecovered read error" "$ENGINE" restore \
	--device $D --entity t --log d4.log --stdout
# The last file on the tape lost its tail: end of data comes early.
rm "$CART/$(printf 'file%06d' $((f + 1)))" "$CART/$(printf 'file%06d.idx' $((f + 1)))"
expect_fail "ends after 0 of 3 blocks: the tape is truncated" "$ENGINE" restore \
	--device $D --entity t --log d4.log --stdout
# Without the log, the lost trailer is reported as such.
expect_fail "has no trailer" "$ENGINE" restore --device $D --entity t --stdout
ok "all error cases"
