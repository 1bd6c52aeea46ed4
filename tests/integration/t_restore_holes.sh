# A dir restore writes each run of a file's data in one piece and makes
# holes again where a whole aligned 4 KiB of the file is zero (the dump
# stores holes as zeros): every file comes back byte for byte, with its
# size, whatever its zeros: none, a file of zeros, zeros at its end (the
# size is still set), short runs of zeros inside data, a zero stretch
# across tape blocks (small blocks, so that the data arrives in many
# chunks), a sparse file ending in a hole; plain and compressed dumps, one
# read at a time and read ahead. Holes are kept: a file of zeros and a
# sparse file take no more space than their data.
. "$(dirname "$0")/lib.sh"

mkdir src
head -c 3000000 /dev/urandom >src/rand
head -c 10000 /dev/zero >src/zeros
{ head -c 5000 /dev/urandom; head -c 200000 /dev/zero; } >src/tailzero
# short zero runs at unaligned places, between data
{ head -c 3000 /dev/zero; head -c 7 /dev/urandom; head -c 9000 /dev/zero
  head -c 100 /dev/urandom; head -c 4095 /dev/zero; head -c 1 /dev/urandom
  head -c 4097 /dev/zero; head -c 33 /dev/urandom; } >src/mixed
# data, 300 KiB of zeros across several 64 KiB tape blocks, data
{ head -c 61000 /dev/urandom; head -c 307200 /dev/zero
  head -c 70000 /dev/urandom; } >src/across
truncate -s 20M src/sparse
printf 'in the middle' | dd of=src/sparse bs=1 seek=7000000 conv=notrunc status=none
: >src/empty
printf x >src/one
ln src/rand src/rand.link
for f in rand zeros tailzero mixed across sparse empty one; do
	ls -ln src/$f | awk '{print $5}' >"src.$f.size"
done

blocks() { stat -c %b "$1"; }
check() {	# check DIR WHAT: the restore in DIR against src
	diff -r src "$1" >/dev/null || fail "$2: contents differ"
	for f in rand zeros tailzero mixed across sparse empty one; do
		[ "$(stat -c %s "$1/$f")" = "$(cat "src.$f.size")" ] ||
			fail "$2: $f has size $(stat -c %s "$1/$f"), not $(cat "src.$f.size")"
	done
	[ "$(stat -c %i "$1/rand")" = "$(stat -c %i "$1/rand.link")" ] ||
		fail "$2: the hard link is not one"
	[ "$(blocks "$1/zeros")" = 0 ] || fail "$2: a file of zeros took $(blocks "$1/zeros") blocks"
	# one 4 KiB page of data at most (8 blocks of 512), less on a file
	# system with smaller blocks
	[ "$(blocks "$1/sparse")" -le 8 ] ||
		fail "$2: the sparse file took $(blocks "$1/sparse") blocks"
	# tailzero: 5000 bytes of data, two 4 KiB pages at most
	[ "$(blocks "$1/tailzero")" -le 16 ] ||
		fail "$2: zeros at the end took space ($(blocks "$1/tailzero") blocks)"
	[ "$(blocks "$1/rand")" -ge $((3000000 / 512)) ] ||
		fail "$2: rand is short of blocks"
	ok "$2: every file whole, holes kept"
}

"$VTAPE" new-cartridge c --barcode H00001 --capacity 64M >/dev/null
"$ENGINE" label --device "vtape:$T/c" --label H00001 --block-size 65536 >/dev/null
"$ENGINE" dump --device "vtape:$T/c" --entity h --source "dir:$T/src" --log d.log \
	--block-size 65536 >/dev/null 2>&1 || fail "dump"
"$ENGINE" dump --device "vtape:$T/c" --entity hz --source "dir:$T/src" --log d.log \
	--block-size 65536 --compress zstd >/dev/null 2>&1 || fail "zstd dump"
for e in h hz; do
	for q in 1 4; do
		"$ENGINE" restore --device "vtape:$T/c" --entity $e --log d.log \
			--to "$T/r.$e.$q" --queue $q >out.txt 2>&1 || { cat out.txt; fail "restore $e --queue $q"; }
		grep -q "all checksums good" out.txt || { cat out.txt; fail "restore $e: not proven"; }
		check "r.$e.$q" "$e, --queue $q"
	done
done
