# Round trip of a generated tree with every awkward kind of file: restore
# compares byte for byte and metadata (modes, owners, times, links, holes).
. "$(dirname "$0")/lib.sh"

src="$T/src"
mkdir -p "$src/small" "$src/deep/a/b/c/d/e" "$src/odd"
head -c 20000000 /dev/urandom >"$src/large.bin"
# Sparse: 200 MiB apparent, a few MiB of data.
truncate -s 200M "$src/sparse.img"
printf 'start' | dd of="$src/sparse.img" conv=notrunc status=none
printf 'middle' | dd of="$src/sparse.img" bs=1M seek=100 conv=notrunc status=none
head -c 1000000 /dev/urandom | dd of="$src/sparse.img" bs=1M seek=150 conv=notrunc status=none
: >"$src/empty"
mkdir "$src/emptydir"
i=0
while [ $i -lt 1500 ]; do echo "file $i" >"$src/small/f$i"; i=$((i + 1)); done
ln -s large.bin "$src/link-rel"
ln -s /etc/hostname "$src/link-abs"
ln -s nowhere "$src/link-dangling"
ln "$src/large.bin" "$src/hardlink-to-large"
ln "$src/small/f1" "$src/deep/a/b/c/d/e/hard-f1"
long=$(printf 'L%.0s' $(seq 1 250))
echo long >"$src/$long"
echo utf8 >"$src/ünïcødé-名前-αβγ"
echo latin1 >"$src/$(printf 'caf\351')"
echo spaces >"$src/with spaces and 'quotes'"
echo nl >"$src/new
line"
echo x >"$src/odd/mode0000" && chmod 0000 "$src/odd/mode0000"
echo x >"$src/odd/setuid" && chmod 4755 "$src/odd/setuid"
echo x >"$src/odd/readonly" && chmod 0444 "$src/odd/readonly"
mkdir "$src/odd/sticky" && chmod 1777 "$src/odd/sticky"
mkfifo "$src/odd/fifo"
echo owned >"$src/odd/owned" && chown 1234:5678 "$src/odd/owned"
touch -d '1999-12-31 23:59:59' "$src/odd/old"
touch -d '2038-02-01 00:00:00' "$src/odd/future"
chmod 0500 "$src/deep/a/b"

new_lib lib 1G
"$ENGINE" label --device vtape:lib/drive0 --label A00001
for comp in none zstd; do
	"$ENGINE" dump --device vtape:lib/drive0 --entity "tree-$comp" \
		--source "dir:$src" --compress $comp --log dump.log
	"$ENGINE" restore --device vtape:lib/drive0 --entity "tree-$comp" \
		--log dump.log --to "$T/out-$comp"
	diff -r --no-dereference -x fifo "$src" "$T/out-$comp" || fail "contents differ ($comp)"
	tree_meta "$src" >meta.src
	tree_meta "$T/out-$comp" >meta.out
	diff meta.src meta.out || fail "metadata differs ($comp)"
	# Hard links stay links.
	[ "$(stat -c %i "$T/out-$comp/large.bin")" = \
	  "$(stat -c %i "$T/out-$comp/hardlink-to-large")" ] || fail "hard link lost"
	[ "$(stat -c %i "$T/out-$comp/small/f1")" = \
	  "$(stat -c %i "$T/out-$comp/deep/a/b/c/d/e/hard-f1")" ] || fail "hard link lost"
	# Holes stay holes.
	alloc=$(du -k "$T/out-$comp/sparse.img" | cut -f1)
	[ "$alloc" -lt 20000 ] || fail "sparse file restored with ${alloc} KiB allocated"
	ok "tree round trip with compression $comp"
done
"$ENGINE" verify --device vtape:lib/drive0
# Without a dump log the engine finds the dump by scanning headers.
"$ENGINE" restore --device vtape:lib/drive0 --entity tree-zstd --to "$T/out-scan"
diff -r --no-dereference -x fifo "$src" "$T/out-scan" || fail "scan restore differs"
ok "restore by scanning the tape"
