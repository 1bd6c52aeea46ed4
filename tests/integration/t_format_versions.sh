# Tape format versions 1 and 2 side by side: a cartridge labelled version 1
# (ABS_FORMAT_VERSION=1, as engines before version 2 wrote) keeps getting
# full-size header and trailer blocks and reads back; a version 2
# cartridge's parts cost their bytes plus a few KiB; a dump that spans
# from a version 1 cartridge onto a version 2 one restores whole.
. "$(dirname "$0")/lib.sh"

"$VTAPE" new-library lib --slots 4 --drives 1 --capacity 64M --early-warning 4M --barcode-prefix V >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
ABS_FORMAT_VERSION=1 "$ENGINE" label --device vtape:lib/drive0 --label V00001
head -c 300000 /dev/urandom >small.bin
mkdir tree && cp -a /etc/hostname /etc/passwd tree/ && head -c 2000000 /dev/urandom >tree/blob
"$ENGINE" dump --device vtape:lib/drive0 --entity old1 --source "file:$T/small.bin" \
	--log d.log --block-size 256K >/dev/null
"$ENGINE" dump --device vtape:lib/drive0 --entity old2 --source "dir:$T/tree" \
	--log d.log --block-size 256K >/dev/null
C1=$(readlink -f lib/drive0/tape)
head -c 4096 "$C1/file000000" | tr -d '\000' | grep -qx 'version=1' ||
	fail "the label does not say version 1"
# Version 1: the header is a whole block, the trailer's text block too.
[ "$(stat -c %s "$C1/file000001")" = $((262144 + 300000)) ] ||
	fail "file 1 is $(stat -c %s "$C1/file000001") bytes, not a 256 KiB header and the data"
[ "$(stat -c %s "$C1/file000002")" = $((262144 + 8)) ] ||
	fail "trailer file is $(stat -c %s "$C1/file000002") bytes"
head -c 262144 "$C1/file000001" | tr -d '\000' | grep -qx 'version=1' ||
	fail "the header does not say version 1"
"$ENGINE" restore --device vtape:lib/drive0 --entity old1 --log d.log --stdout |
	cmp - small.bin || fail "restore of a version 1 part differs"
mkdir out && "$ENGINE" restore --device vtape:lib/drive0 --entity old2 --to "$T/out" >/dev/null ||
	fail "restore of a version 1 dir dump (no log: headers scanned)"
diff -r tree out || fail "version 1 dir dump restored differs"
"$ENGINE" verify --device vtape:lib/drive0 >/dev/null || fail "verify of a version 1 cartridge"
"$ENGINE" scan --device vtape:lib/drive0 --json >scan1.json || fail "scan of a version 1 cartridge"
[ "$(grep -c '"dump"' scan1.json)" -ge 2 ] || fail "scan found $(grep -c '"dump"' scan1.json) parts"
ok "version 1 cartridge: full blocks written, restored, verified, scanned"

# Version 2: sized header (4 KiB) and trailer record.
"$VTAPE" unload lib --drive 0
"$VTAPE" load lib --slot 2 --drive 0
"$ENGINE" label --device vtape:lib/drive0 --label V00002
"$ENGINE" dump --device vtape:lib/drive0 --entity new1 --source "file:$T/small.bin" \
	--log d.log --block-size 256K >/dev/null
C2=$(readlink -f lib/drive0/tape)
head -c 4096 "$C2/file000000" | tr -d '\000' | grep -qx 'version=2' ||
	fail "a new label does not say version 2"
[ "$(stat -c %s "$C2/file000001")" = $((4096 + 300000)) ] ||
	fail "file 1 is $(stat -c %s "$C2/file000001") bytes, not a 4 KiB header and the data"
[ "$(stat -c %s "$C2/file000002")" = $((4096 + 8)) ] ||
	fail "trailer file is $(stat -c %s "$C2/file000002") bytes"
"$ENGINE" restore --device vtape:lib/drive0 --entity new1 --log d.log --stdout |
	cmp - small.bin || fail "restore of a version 2 part differs"
"$ENGINE" verify --device vtape:lib/drive0 >/dev/null || fail "verify of a version 2 cartridge"
"$ENGINE" list --device vtape:lib/drive0 | grep -q new1 || fail "list of a version 2 cartridge"
ok "version 2 cartridge: a part costs 8 KiB beyond its data"

# A dump from a nearly full version 1 cartridge onto a version 2 one.
"$VTAPE" unload lib --drive 0
"$VTAPE" load lib --slot 1 --drive 0
head -c 70000000 /dev/urandom >big.bin
"$ENGINE" dump --device vtape:lib/drive0 --entity span --source "file:$T/big.bin" \
	--log d.log --block-size 256K --autolabel 'V%05d' >/dev/null
[ "$(grep -c '^part entity=span ' d.log)" -ge 2 ] || fail "the dump did not span"
"$ENGINE" restore --device vtape:lib/drive0 --entity span --log d.log --stdout |
	cmp - big.bin || fail "restore across versions 1 and 2 differs"
ok "a dump spanning a version 1 and a version 2 cartridge restores"
