# file: sources read with O_DIRECT where the file system allows it, and
# through the page cache where it does not (tmpfs, procfs, ramfs), at an
# unaligned tail, from a block device and from a pipe: every dump restores
# the same bytes, and the engine says which way it read (--verbose).
. "$(dirname "$0")/lib.sh"

new_lib lib 2G
"$ENGINE" label --device vtape:lib/drive0 --label V00001 >/dev/null
n=0

# roundtrip FILE EXPECT-PATTERN [dump options]: dump, restore, compare.
roundtrip() {
	f=$1 pat=$2
	shift 2
	n=$((n + 1))
	"$ENGINE" dump --device vtape:lib/drive0 --entity "e$n" --source "file:$f" \
		--log d.log --verbose "$@" >dump.out 2>&1 || { cat dump.out >&2; fail "dump of $f"; }
	grep -q -- "$pat" dump.out || { cat dump.out >&2; fail "$f: no '$pat'"; }
	"$ENGINE" restore --device vtape:lib/drive0 --entity "e$n" --log d.log \
		--stdout >restored
	cmp "$f" restored || fail "$f restored differs"
	ok "$f: $(grep -o 'source .*: \(O_DIRECT\|through\).*' dump.out | head -1)"
}

# On this disk: 5 MiB and an unaligned tail.
head -c 5242897 /dev/urandom >disk.bin
roundtrip "$T/disk.bin" "O_DIRECT reads" --direct-io on
roundtrip "$T/disk.bin" "through the page cache: --direct-io off" --direct-io off
# auto: a file in the page cache is copied from there; once dropped, direct.
cat disk.bin >/dev/null
roundtrip "$T/disk.bin" "in the page cache" --direct-io auto
sync disk.bin
dd if=disk.bin iflag=nocache count=0 status=none
roundtrip "$T/disk.bin" "O_DIRECT reads"
head -c 65536 /dev/urandom >aligned.bin
roundtrip "$T/aligned.bin" "O_DIRECT reads" --direct-io on
: >empty.bin
roundtrip "$T/empty.bin" "source .*empty.bin" --direct-io on

# tmpfs: direct where the kernel has it (6.6 on), else refused at open.
shm=$(mktemp -d /dev/shm/abs-direct.XXXXXX)
trap 'rm -rf "$shm"; cleanup' EXIT	# tmpfs is not under $T
head -c 3000001 /dev/urandom >"$shm/shm.bin"
roundtrip "$shm/shm.bin" "source .*shm.bin: \(O_DIRECT reads\|through the page cache\)" \
	--direct-io on
rm -rf "$shm"
trap cleanup EXIT

# procfs refuses O_DIRECT at open: the page cache, the same bytes.
cat /proc/version >version.expect
"$ENGINE" dump --device vtape:lib/drive0 --entity proc --source file:/proc/version \
	--log d.log --verbose --direct-io on >dump.out 2>&1
grep -q "refuses O_DIRECT" dump.out || { cat dump.out >&2; fail "procfs: no fallback said"; }
"$ENGINE" restore --device vtape:lib/drive0 --entity proc --log d.log --stdout >restored
cmp version.expect restored || fail "procfs source restored differs"
ok "procfs: refused at open, read through the page cache"

# ramfs has no direct I/O at all (root only; skipped elsewhere).
mkdir ram
if mount -t ramfs none ram 2>/dev/null; then
	MOUNTS="$MOUNTS $T/ram"
	head -c 2000000 /dev/urandom >ram/r.bin
	roundtrip "$T/ram/r.bin" "source .*r.bin: through the page cache" --direct-io on
else
	echo "# ramfs: cannot mount (not root?), left out"
fi

# A block device (a loop device on disk.bin's copy; root only).
head -c 8388608 /dev/urandom >blk.img
if loop=$(losetup -f --show blk.img 2>/dev/null); then
	trap 'losetup -d "$loop" 2>/dev/null; cleanup' EXIT
	roundtrip "$loop" "source .*: \(O_DIRECT reads\|through the page cache\)" \
		--direct-io on
	"$ENGINE" restore --device vtape:lib/drive0 --entity "e$n" --log d.log \
		--stdout | cmp - blk.img || fail "block device restored differs"
	losetup -d "$loop"
	trap cleanup EXIT
else
	echo "# loop device: cannot attach (not root?), left out"
fi

# A pipe: read as it comes, never direct.
head -c 3000017 /dev/urandom >piped.bin
cat piped.bin | "$ENGINE" dump --device vtape:lib/drive0 --entity pipe \
	--source file:/dev/stdin --log d.log --direct-io on --verbose >dump.out 2>&1 ||
	{ cat dump.out >&2; fail "dump from a pipe"; }
grep -q "not a regular file or block device" dump.out ||
	{ cat dump.out >&2; fail "pipe: no word of the page cache"; }
"$ENGINE" restore --device vtape:lib/drive0 --entity pipe --log d.log --stdout |
	cmp - piped.bin || fail "pipe restored differs"
ok "a pipe reads as before"

"$ENGINE" verify --device vtape:lib/drive0 >/dev/null
ok "verify reads every dump back"
expect_fail "direct-io takes" "$ENGINE" dump --device null: --entity x \
	--source file:disk.bin --direct-io sometimes --log n.log
