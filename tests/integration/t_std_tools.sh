# Restore with standard tools only: follow the recipe printed in a part's
# header with dd, zstd and tar on the vtape files.
. "$(dirname "$0")/lib.sh"
command -v zstd >/dev/null || skip "zstd command not installed"

new_lib lib 1G
"$ENGINE" label --device vtape:lib/drive0 --label R00001
mkdir src
cp -a /usr/share/doc/coreutils /usr/share/doc/tar src/ 2>/dev/null || cp -a /etc src/
head -c 3000000 /dev/urandom >src/blob
"$ENGINE" dump --device vtape:lib/drive0 --entity docs --source "dir:$T/src" \
	--compress zstd --log d.log
head -c 5000000 /dev/urandom >raw.bin
"$ENGINE" dump --device vtape:lib/drive0 --entity raw --source "cmd:cat $T/raw.bin" \
	--log d.log

CART=$(readlink -f lib/drive0/tape)
export CART
recipe() {
	# The header is the first block of its tape file: text, then zeros.
	head -c 65536 "$CART/$1" | tr -d '\000' | sed -n 's/^  vtape\$ //p'
}
r1=$(recipe file000001)
[ -n "$r1" ] || fail "no vtape recipe in the header of file 1"
echo "recipe: $r1"
DEST="$T/by-hand" && mkdir "$DEST" && export DEST
sh -c "$r1" || fail "recipe failed"
diff -r --no-dereference src "$DEST" || fail "tar restore by hand differs"
ok "dir dump restored with dd | zstd | tar"

r3=$(recipe file000003)
echo "recipe: $r3"
DEST="$T/raw.out" sh -c "$r3" || fail "recipe failed"
cmp raw.bin raw.out || fail "cmd dump restored by hand differs"
ok "cmd dump restored with dd"
# The tape recipe names the same tape file for the real drive.
head -c 65536 "$CART/file000003" | tr -d '\000' | grep -q 'mt -f /dev/nst0 fsf 3' ||
	fail "tape recipe does not position at file 3"
