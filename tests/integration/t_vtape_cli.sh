# abs-vtape: libraries, slots, drives, load/unload, show, inject.
. "$(dirname "$0")/lib.sh"

"$VTAPE" new-library L --slots 3 --drives 2 --capacity 100M --early-warning 10M \
	--barcode-prefix ABS >/dev/null
expect_fail "already exists" "$VTAPE" new-library L --slots 3 --drives 2 --capacity 100M
"$VTAPE" list L | grep -q '^slot3 *ABS00003 ' || fail "slot 3 listing"
"$VTAPE" load L --slot 2 --drive 1
"$VTAPE" list L | grep -q '^drive1 *ABS00002' || fail "drive 1 should hold ABS00002"
"$VTAPE" list L | grep -q '^slot2 *(empty)' || fail "slot 2 should be empty"
expect_fail "empty" "$VTAPE" load L --slot 2 --drive 0
expect_fail "already holds" "$VTAPE" load L --slot 1 --drive 1
"$ENGINE" label --device vtape:L/drive1 --label X1
"$VTAPE" show L --drive 1 | grep -q 'file 0 .*blocks=1 .*bytes=4096 .*filemark' ||
	fail "show does not list the label file"
"$VTAPE" unload L --drive 1
"$VTAPE" list L | grep -q '^slot2 *ABS00002 *files=1' || fail "cartridge not home"
expect_fail "empty" "$VTAPE" unload L --drive 1
"$VTAPE" inject L --slot 2 --write-protect --tapealert 3
grep -q 'write_protect=1' L/carts/ABS00002/cart.conf || fail "inject"
"$VTAPE" show L --slot 2 | grep -q write-protected || fail "show write-protected"
expect_fail "bad size" "$VTAPE" new-library L2 --slots 1 --capacity 12Q
# A bare cartridge is a device of its own.
"$VTAPE" new-cartridge C --barcode SOLO01 --capacity 50M
"$ENGINE" label --device vtape:C --label SOLO01
"$ENGINE" list --device vtape:C | grep -q 'tape SOLO01' || fail "bare cartridge"
# Health as the drive reports it.
"$VTAPE" load L --slot 1 --drive 0
"$VTAPE" inject L --drive 0 --tapealert 20
"$ENGINE" label --device vtape:L/drive0 --label X0
"$ENGINE" status --device vtape:L/drive0 | tee st.txt
grep -q '^TapeAlert  *20 (clean now)' st.txt || fail "status: TapeAlert flag"
grep -q '^cartridge MAM medium serial ABS00001, barcode ABS00001' st.txt || fail "status: MAM"
grep -q '^cartridge  *label X0 ' st.txt || fail "status: label"
"$ENGINE" status --device vtape:L/drive1 | grep -q 'no cartridge in the drive' ||
	fail "status of an empty drive"
ok "abs-vtape commands"
