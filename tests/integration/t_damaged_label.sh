# A damaged label is never taken for a blank tape. Blank means end of data
# at the beginning of tape; a tape whose label cannot be used but which
# holds data after it is damaged: label refuses it without --force, dump
# (with or without --autolabel), the library's changer, restore and verify
# leave it alone, and the message says what was found after the label.
. "$(dirname "$0")/lib.sh"

"$VTAPE" new-library lib --slots 3 --drives 1 --capacity 64M >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
D=vtape:lib/drive0
C=lib/carts/V00001
"$ENGINE" label --device $D --label D00001 >/dev/null
head -c 3000000 /dev/urandom >s.bin
"$ENGINE" dump --device $D --entity e1 --source "file:$T/s.bin" --log d.log >/dev/null 2>&1
dump=$(sed -n 's/^dump .* dump=\([0-9a-f]*\)$/\1/p' d.log)
[ -n "$dump" ] || fail "no dump"
"$VTAPE" unload lib --drive 0
cp -a $C saved

# damage KIND: the cartridge as saved, then its label file damaged.
damage() {
	rm -rf $C
	cp -a saved $C
	case $1 in
	deleted) rm $C/file000000 ;;
	deleted-index) rm $C/file000000 $C/file000000.idx ;;
	trunc-0) : >$C/file000000 ;;
	trunc-37) truncate -s 37 $C/file000000 ;;
	trunc-4095) truncate -s 4095 $C/file000000 ;;
	index-lost) : >$C/file000000.idx ;;
	crc) flip $C/file000000 100 ;;
	field) printf '9' | dd of=$C/file000000 bs=1 seek=0 conv=notrunc status=none ;;
	foreign) head -c 4096 /dev/zero | tr '\0' 'F' >$C/file000000 ;;
	esac
}

sum() { (cd $C && cat ./* | md5sum); }

for kind in deleted deleted-index trunc-0 trunc-37 trunc-4095 index-lost crc field foreign; do
	damage $kind
	"$VTAPE" load lib --slot 1 --drive 0
	before=$(sum)
	expect_fail "damaged tape: .*but file 1 holds part 1 of dump $dump of entity e1" \
		"$ENGINE" label --device $D --label NEW
	expect_fail "damaged tape" "$ENGINE" dump --device $D --entity x \
		--source "file:$T/s.bin" --log x.log
	expect_fail "damaged tape" "$ENGINE" dump --device $D --entity x \
		--source "file:$T/s.bin" --log x.log --autolabel 'N%05d'
	expect_fail "damaged tape" "$ENGINE" verify --device $D
	expect_fail "damaged tape" "$ENGINE" list --device $D
	"$ENGINE" status --device $D 2>&1 | grep -q "damaged tape" ||
		fail "$kind: status does not say the tape is damaged"
	[ "$before" = "$(sum)" ] || fail "$kind: the damaged cartridge was written"
	! grep -q '^part ' x.log 2>/dev/null || fail "$kind: a part was logged"
	# The library's changer (an empty drive, --autolabel) skips it and
	# labels the blank cartridge in slot 2 with its barcode instead (then
	# appends to it): --autolabel names no library cartridge.
	"$VTAPE" unload lib --drive 0
	rm -f x.log
	"$ENGINE" dump --device $D --entity x --source "file:$T/s.bin" --log x.log \
		--autolabel 'N%05d' >/dev/null 2>x.err || { cat x.err; fail "$kind: changer"; }
	grep -q 'damaged tape' x.err || { cat x.err; fail "$kind: changer did not say why"; }
	[ "$before" = "$(sum)" ] || fail "$kind: the changer wrote on the damaged cartridge"
	grep -q '^dump entity=x .*label=V00002 .*status=complete' x.log ||
		fail "$kind: not dumped onto the blank cartridge"
	"$VTAPE" unload lib --drive 0
	rm -f x.log
	ok "$kind: refused by label, dump, changer, verify, list, status"
done

# A foreign tape: not ABS at all, nothing ABS after it.
damage foreign
rm -f $C/file000001* $C/file000002*
"$VTAPE" load lib --slot 1 --drive 0
expect_fail "not an ABS tape (foreign)" "$ENGINE" label --device $D --label NEW
expect_fail "not an ABS tape (foreign)" "$ENGINE" dump --device $D --entity x \
	--source "file:$T/s.bin" --log x.log --autolabel 'N%05d'
"$ENGINE" label --device $D --label NEW --force >/dev/null
"$VTAPE" unload lib --drive 0
ok "a foreign tape is refused as foreign, relabelled only with --force"

# A damaged label with nothing after it is still not blank.
damage crc
rm -f $C/file000001* $C/file000002*
"$VTAPE" load lib --slot 1 --drive 0
expect_fail "damaged tape: the label is damaged .*nothing follows it" \
	"$ENGINE" label --device $D --label NEW
"$VTAPE" unload lib --drive 0

# --force relabels a damaged cartridge (its dumps are given up).
damage deleted
"$VTAPE" load lib --slot 1 --drive 0
"$ENGINE" label --device $D --label NEW --force >/dev/null
"$ENGINE" list --device $D | grep -q '^tape NEW ' || fail "relabel with --force"
ok "--force relabels a damaged cartridge"

# A true blank is still blank: labelled without --force.
"$VTAPE" unload lib --drive 0
"$VTAPE" load lib --slot 3 --drive 0
expect_fail "blank (no label)" "$ENGINE" dump --device $D --entity x \
	--source "file:$T/s.bin" --log b.log
"$ENGINE" label --device $D --label B00001 >/dev/null
ok "blank tapes are labelled as before"
