# Compression on every core: any number of compression threads, and none
# beside the dump's own (0), makes the same stream (same frames, same stored
# bytes and digests) and restores the same bytes;
# a dir: dump's one-file restore starts at its frame; and a compressed dump
# written before the frames were compressed side by side (28f9993, frames
# streamed by one thread) still restores and verifies.
. "$(dirname "$0")/lib.sh"

# Text that zstd shrinks, of several 4 MiB frames, not a multiple of a block.
awk 'BEGIN { srand(7); for (i = 0; i < 400000; i++)
	printf "%d line %d of %s\n", int(rand() * 1e6), i,
	    (rand() < 0.5 ? "the volume" : "a cartridge") }' >text.txt
head -c 3000001 /dev/urandom >>text.txt
mkdir -p tree/sub
cp text.txt tree/big.txt
i=0
while [ $i -lt 300 ]; do echo "small $i" >"tree/sub/f$i"; i=$((i + 1)); done
head -c 5000000 /dev/urandom >tree/sub/random.bin

new_lib lib 2G
"$ENGINE" label --device vtape:lib/drive0 --label V00001 >/dev/null

# stored_bytes ENTITY: the data part's stored bytes in the dump log.
stored_bytes() {
	awk -v e="entity=$1" '$1 == "dump" && $2 == e {
		for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) print substr($i, 7) }' d.log
}
# digests ENTITY: the stream's digest and the source bytes' digest.
digests() {
	awk -v e="entity=$1" '$1 == "dump" && $2 == e {
		for (i = 1; i <= NF; i++) if ($i ~ /^(raw_)?digest=/) printf "%s ", $i }' d.log
}

for n in 0 1 2 5; do
	"$ENGINE" dump --device vtape:lib/drive0 --entity "file-t$n" \
		--source file:text.txt --compress zstd:5 --compress-threads $n \
		--log d.log --quiet 2>/dev/null
	"$ENGINE" restore --device vtape:lib/drive0 --entity "file-t$n" \
		--log d.log --stdout >out.txt
	cmp text.txt out.txt || fail "threads $n: restored bytes differ"
	"$ENGINE" dump --device vtape:lib/drive0 --entity "tree-t$n" \
		--source "dir:$T/tree" --compress zstd --compress-threads $n \
		--log d.log --quiet 2>/dev/null
	rm -rf "out-$n"
	"$ENGINE" restore --device vtape:lib/drive0 --entity "tree-t$n" \
		--log d.log --to "out-$n" >/dev/null
	diff -r tree "out-$n" || fail "threads $n: restored tree differs"
	# One file through the frame table: it starts at the frame holding it.
	rm -rf "one-$n"
	"$ENGINE" restore --device vtape:lib/drive0 --entity "tree-t$n" \
		--log d.log --path ./sub/f299 --to "one-$n" >/dev/null
	cmp tree/sub/f299 "one-$n/sub/f299" || fail "threads $n: --path differs"
done
ok "0 (the dump's own thread), 1, 2 and 5 compression threads restore the same file and tree"
for n in 0 2 5; do
	[ "$(stored_bytes file-t1)" = "$(stored_bytes file-t$n)" ] ||
		fail "the stream differs with $n threads: $(stored_bytes file-t1) against $(stored_bytes file-t$n)"
	[ "$(digests file-t1)" = "$(digests file-t$n)" ] ||
		fail "the digests differ with $n threads: $(digests file-t1) against $(digests file-t$n)"
	[ "$(stored_bytes tree-t1)" = "$(stored_bytes tree-t$n)" ] ||
		fail "the tree's stream differs with $n threads"
done
ok "the stored stream is the same for any number of threads ($(stored_bytes file-t1) bytes)"
"$ENGINE" verify --device vtape:lib/drive0 >/dev/null
ok "verify reads every dump back"

# Across cartridges: the stream handed over at early warning mid-frame, on
# the dump's own thread and with workers, restores whole and the same.
"$VTAPE" new-library span --slots 8 --drives 1 --capacity 5M \
	--early-warning 1M --barcode-prefix Z >/dev/null
"$VTAPE" load span --slot 1 --drive 0
"$ENGINE" label --device vtape:span/drive0 --label Z00001 --block-size 64K >/dev/null
for n in 0 2; do
	"$ENGINE" dump --device vtape:span/drive0 --entity "span-t$n" \
		--source file:text.txt --compress zstd:5 --compress-threads $n \
		--block-size 64K --autolabel 'Z%05d' --log s.log --quiet 2>/dev/null ||
		fail "spanning dump, $n threads"
	parts=$(awk -v e="entity=span-t$n" '$1 == "dump" && $2 == e {
		for (i = 1; i <= NF; i++) if ($i ~ /^part=/) print substr($i, 6) }' s.log)
	[ "${parts:-0}" -ge 2 ] || fail "$n threads: the dump did not span ($parts parts)"
	"$ENGINE" restore --device vtape:span/drive0 --entity "span-t$n" \
		--log s.log --stdout >span.out || fail "restore of span-t$n"
	cmp text.txt span.out || fail "$n threads: the spanning dump restores wrong"
done
ok "a compressed dump across cartridges restores, 0 and 2 threads"

expect_fail "compress-threads takes" "$ENGINE" dump --device null: \
	--entity x --source file:text.txt --compress zstd --compress-threads 257 \
	--log n.log
expect_fail "compress-threads takes" "$ENGINE" dump --device null: \
	--entity x --source file:text.txt --compress zstd --compress-threads many \
	--log n.log

# A dump written by 28f9993 (before this change): a library, its dump log
# and the tree's digests (tests/data/zstd-dump-28f9993.tar.zst).
mkdir old && cd old
zstd -dc "$ABS_TOP/tests/data/zstd-dump-28f9993.tar.zst" | tar -xf -
"$ENGINE" restore --device vtape:lib/drive0 --entity old-zstd --log d.log \
	--to out >/dev/null
(cd out && sha256sum -c --quiet ../tree.sha256) || fail "the old dump restores wrong"
"$ENGINE" restore --device vtape:lib/drive0 --entity old-zstd --log d.log \
	--path ./sub/b.txt --to one >/dev/null
(cd one && grep ' ./sub/b.txt$' ../tree.sha256 | sha256sum -c --quiet) ||
	fail "one file of the old dump restores wrong"
"$ENGINE" verify --device vtape:lib/drive0 >/dev/null
ok "a compressed dump from before restores whole and by path"
