# A read error in a dump that spans cartridges names the cartridge (its
# label), the part, the tape file and the block (hostile15 H6): every
# cartridge has a tape file 1, and the operator must know which one to take
# out of service. A medium error in a data block, in a part's header, and a
# damaged block (checksum), through restore (with and without the dump
# log, one read at a time and read ahead) and verify.
. "$(dirname "$0")/lib.sh"

head -c 25000000 /dev/urandom >big
"$VTAPE" new-library lib --slots 4 --drives 1 --capacity 16M --barcode-prefix SP >/dev/null
for s in 1 2 3 4; do
	"$VTAPE" load lib --slot $s --drive 0
	"$ENGINE" label --device vtape:lib/drive0 --label SP0000$s >/dev/null
	"$VTAPE" unload lib --drive 0
done
"$VTAPE" load lib --slot 1 --drive 0
"$ENGINE" dump --device vtape:lib/drive0 --changer smc:vtape:lib --entity big \
	--source "file:$T/big" --log d.log >/dev/null 2>&1 || fail "dump"
[ "$(grep -c '^part entity=big' d.log)" = 4 ] || fail "the dump is not in 4 parts"
grep -q '^part .*label=SP00003 .*part=3 ' d.log || fail "part 3 is not on SP00003"
cp -a lib lib.good

# expect_where PATTERN [PATTERN-WITHOUT-LOG]: every way of reading the dump
# fails, naming PATTERN (without the dump log, the second if given).
to_null() { "$@" >/dev/null; }
expect_where() {
	for q in 1 4; do
		expect_fail "$1" to_null "$ENGINE" restore --device vtape:lib/drive0 \
			--changer smc:vtape:lib --entity big --log d.log --stdout --queue $q
		expect_fail "${2:-$1}" to_null "$ENGINE" restore --device vtape:lib/drive0 \
			--changer smc:vtape:lib --entity big --stdout --queue $q
	done
	expect_fail "$1" "$ENGINE" verify --device vtape:lib/drive0 \
		--changer smc:vtape:lib --entity big --log d.log
}

# A medium error in part 3's first data block (SP00003: label, its
# filemark, the header, then data).
"$VTAPE" inject lib --slot 3 --medium-error-at 3
expect_where "tape file 1 block 1 (part 3 of 4 on SP00003): read: MEDIUM ERROR"
ok "a medium error in a data block names SP00003, part 3 of 4, tape file 1, block 1"

# A medium error in part 2's header block. Without the log, the scan of
# the library's headers cannot find part 2 and says which file it could
# not read.
rm -rf lib && cp -a lib.good lib
"$VTAPE" inject lib --slot 2 --medium-error-at 2
expect_where "part 2 of 4 on SP00002, tape file 1: .*MEDIUM ERROR" \
	"no part 2 of dump .* in the headers of every cartridge .*; the scan could not read SP00002 tape file 1 (read: MEDIUM ERROR"
ok "a medium error in a part's header names SP00002, part 2 of 4, tape file 1"

# A damaged byte in part 4's second data block (1 MiB blocks after the
# header's 4 KiB in SP00004's tape file 1).
rm -rf lib && cp -a lib.good lib
flip lib/carts/SP00004/file000001 $((4096 + 1048576 + 777))
expect_where "checksum mismatch in tape file 1 block 2 (part 4 of 4 on SP00004)"
ok "a damaged block names SP00004, part 4 of 4, tape file 1, block 2"

rm -rf lib && cp -a lib.good lib
"$ENGINE" restore --device vtape:lib/drive0 --changer smc:vtape:lib --entity big \
	--log d.log --stdout | cmp - big || fail "the undamaged library does not restore"
ok "the same library undamaged restores byte for byte"
