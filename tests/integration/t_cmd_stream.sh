# A cmd: dump of a 200 MiB+ stream restores to stdout byte for byte; also
# compressed, and from a file: source.
. "$(dirname "$0")/lib.sh"

new_lib lib 2G
"$ENGINE" label --device vtape:lib/drive0 --label S00001 --pool weekly
head -c 230000000 /dev/urandom >stream.bin
want=$(sha256sum <stream.bin | cut -d' ' -f1)
"$ENGINE" dump --device vtape:lib/drive0 --entity vol.big \
	--source "cmd:cat $T/stream.bin" --log d.log --block-size 256K
got=$("$ENGINE" restore --device vtape:lib/drive0 --entity vol.big \
	--log d.log --stdout | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "stream differs: $got vs $want"
ok "230 MB cmd: stream, 256 KiB blocks, restored to stdout"
xx=$(xxh128sum <stream.bin | cut -d' ' -f1)
grep -q "^dump entity=vol.big .*digest_alg=xxh128 digest=$xx" d.log ||
	fail "dump log lacks the stream's xxh128 digest"
# A cryptographic digest on request, checkable with sha256sum.
"$ENGINE" dump --device vtape:lib/drive0 --entity vol.sha --digest sha256 \
	--source "cmd:head -c 30000000 $T/stream.bin" --log d.log
want30=$(head -c 30000000 stream.bin | sha256sum | cut -d' ' -f1)
grep -q "^dump entity=vol.sha .*digest_alg=sha256 digest=$want30" d.log ||
	fail "dump log lacks the stream's sha256 digest"
"$ENGINE" restore --device vtape:lib/drive0 --entity vol.sha --log d.log --stdout |
	cmp - "$T/stream.bin" -n 30000000 || fail "sha256 dump differs"

# A compressible command stream with zstd; restored to a file.
"$ENGINE" dump --device vtape:lib/drive0 --entity vol.text --compress zstd:5 \
	--source "cmd:sh -c 'seq 1 3000000'" --log d.log
"$ENGINE" restore --device vtape:lib/drive0 --entity vol.text --log d.log \
	--to "$T/text.out"
seq 1 3000000 | cmp - "$T/text.out" || fail "compressed stream differs"
ok "zstd cmd: stream"

# file: source, 8 MiB blocks, a size that is not a block multiple.
head -c 25165829 /dev/urandom >file.bin
"$ENGINE" dump --device vtape:lib/drive0 --entity vol.file \
	--source "file:$T/file.bin" --log d.log --block-size 8M
"$ENGINE" restore --device vtape:lib/drive0 --entity vol.file --log d.log \
	--stdout | cmp - file.bin || fail "file: source differs"
# An empty stream is a valid dump too.
"$ENGINE" dump --device vtape:lib/drive0 --entity vol.empty \
	--source "cmd:true" --log d.log
[ "$("$ENGINE" restore --device vtape:lib/drive0 --entity vol.empty --stdout | wc -c)" = 0 ] ||
	fail "empty stream not empty"
ok "file: source and empty stream"

# Two dumps of one entity: newest by default, older by --date.
sleep 1
"$ENGINE" dump --device vtape:lib/drive0 --entity vol.file \
	--source "cmd:echo newer" --log d.log
[ "$("$ENGINE" restore --device vtape:lib/drive0 --entity vol.file --log d.log --stdout)" = newer ] ||
	fail "newest dump not chosen"
old=$(grep '^dump entity=vol.file ' d.log | head -1 | sed 's/.* date=\([^ ]*\).*/\1/')
"$ENGINE" restore --device vtape:lib/drive0 --entity vol.file --log d.log \
	--date "$old" --stdout | cmp - file.bin || fail "--date did not pick the older dump"
ok "newest by default, older by --date"
"$ENGINE" list --device vtape:lib/drive0
"$ENGINE" list --device vtape:lib/drive0 --json | grep -c '"kind":"part"' | grep -qx 6 ||
	fail "list --json does not show 6 parts"
"$ENGINE" verify --device vtape:lib/drive0
