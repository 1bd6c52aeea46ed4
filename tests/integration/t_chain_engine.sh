# Chains in direct mode (engine side): a full, then deletes, renames and
# adds, an incremental; the chain restores to the tree as it was; --path
# reads only the blocks its entries span (plain and zstd); a chain whose
# base is missing is refused before anything is written; find.
. "$(dirname "$0")/lib.sh"

new_lib lib 512M
"$ENGINE" label --device vtape:lib/drive0 --label C00001 --block-size 64K >/dev/null
DEV=vtape:lib/drive0

# A tree with a multi-block file, subdirectories, a hard link, a symlink.
mkdir -p src/d/sub src/keep src/gone
for i in 1 2 3 4 5 6; do echo "file $i" >src/f$i; done
head -c 3000000 /dev/urandom >src/big
echo inner >src/d/x
echo deeper >src/d/sub/y
echo stays >src/keep/k
echo bye >src/gone/g
ln src/f1 src/f1.link
ln -s f2 src/f2.sym
head -c 200000 /dev/urandom >src/tail.bin	# after big in the archive
sleep 1
"$ENGINE" dump --device $DEV --entity home --source dir:src --block-size 64K --log d.log >full.txt ||
	fail "full dump"
grep -q "index_bytes=[1-9]" d.log || skip "dumps carry no file index yet"
full=$(grep '^dump entity=home ' d.log | tail -1 | sed 's/.* dump=\([^ ]*\).*/\1/')
[ -f "d.log.fidx/$full" ] || fail "no index copy d.log.fidx/$full"
cp -a src snap0

# Changes: delete, rename (a file, a directory), add, change, file <-> dir.
sleep 1
rm src/f3 src/f1.link
mv src/f4 src/f4.renamed
mv src/d src/d2
rm -r src/gone
echo gone-now-a-file >src/gone
rm src/f5 && mkdir src/f5 && echo in-f5 >src/f5/inner
echo changed >src/f6
echo new >src/new
sleep 1
"$ENGINE" dump --device $DEV --entity home --source dir:src --block-size 64K --log d.log --level 1 \
	>inc.txt || fail "incremental dump"
inc=$(grep '^dump entity=home ' d.log | tail -1 | sed 's/.* dump=\([^ ]*\).*/\1/')
grep "^dump .*dump=$inc" d.log | grep -q "base=$full" || fail "incremental names no base"
cp -a src snap1

# The chain: full then incremental gives the tree at the incremental.
"$ENGINE" restore --device $DEV --entity home --log d.log --to r1 >r1.txt ||
	fail "chain restore: $(cat r1.txt)"
grep -q "2 dumps of a chain" r1.txt || fail "not a chain: $(cat r1.txt)"
tree_meta snap1 >m.snap1
tree_meta r1 >m.r1
cmp -s m.snap1 m.r1 || { diff m.snap1 m.r1 >&2; fail "chain restore differs from the tree"; }
diff -r snap1 r1 >/dev/null || fail "chain restore content differs"
[ ! -e r1/.abs-restore-INCOMPLETE ] || fail "marker left"
ls -a r1 | grep -q abs-chain && fail "scratch left"
ok "chain restore equals the tree: deletes, renames, adds, file<->dir"

# --level-only: the incremental alone (what changed).
"$ENGINE" restore --device $DEV --entity home --log d.log --level-only --to r2 >/dev/null
[ -f r2/new ] && [ ! -e r2/f2 ] || fail "--level-only restored more than the incremental"
ok "--level-only restores one dump alone"

# --date at the full: the full's tree.
fdate=$(grep "^dump .*dump=$full" d.log | sed 's/.* date=\([^ ]*\).*/\1/')
"$ENGINE" restore --device $DEV --entity home --log d.log --date "$fdate" --to r3 >/dev/null
[ "$(tree_meta snap0)" = "$(tree_meta r3)" ] || fail "restore at the full's date"
ok "--date picks the full"

# A --date that is no date prefix is refused, showing the form, never
# taken for the newest (hostile13 H2).
for d in zzz yesterday "" "2026-11-29 11:00" "2026-11-29T11:40:00+01:00" 2026-1 2026-13; do
	expect_fail "YYYY-MM-DD" "$ENGINE" restore --device $DEV --entity home --log d.log \
		--date "$d" --to r7
	[ ! -e r7 ] || fail "--date '$d' restored"
	expect_fail "YYYY-MM-DD" "$ENGINE" find --device $DEV --entity home --log d.log \
		--date "$d" f6
done
"$ENGINE" find --device $DEV --entity home --log d.log --date "${fdate%%T*}" f6 >/dev/null ||
	fail "find --date ${fdate%%T*}"
ok "--date: only a date prefix"

# --path: a small file, a renamed unchanged file (data in the full), a
# directory; blocks read checked against the spans.
"$ENGINE" restore --device $DEV --entity home --log d.log --path f6 \
	--path d2 --path f4.renamed --to p1 >p1.txt || fail "--path: $(cat p1.txt)"
cat p1.txt
cmp p1/f6 snap1/f6 && cmp p1/f4.renamed snap1/f4.renamed &&
	cmp p1/d2/x snap1/d2/x && cmp p1/d2/sub/y snap1/d2/sub/y ||
	fail "--path content"
[ ! -e p1/f1 ] && [ ! -e p1/big ] || fail "--path restored more"
b=$(sed -n 's/.*blocks read \([0-9]*\),.*/\1/p' p1.txt)
s=$(sed -n 's/.*spans \([0-9]*\) blocks.*/\1/p' p1.txt)
[ -n "$b" ] && [ "$b" -le "$s" ] || fail "blocks read $b > spans $s"
ok "--path: $b blocks read, spans $s"

# The small file after the big one: its blocks only, not the big file's.
total=$(grep "^part .*dump=$full" d.log | sed 's/.* blocks=\([0-9]*\).*/\1/' |
	awk '{ n += $1 } END { print n }')
"$ENGINE" restore --device $DEV --entity home --log d.log --path tail.bin \
	--to p2 >p2.txt || fail "--path tail.bin: $(cat p2.txt)"
cmp p2/tail.bin snap1/tail.bin || fail "tail.bin content"
b=$(sed -n 's/.*blocks read \([0-9]*\),.*/\1/p' p2.txt)
[ "$b" -le 5 ] || fail "tail.bin: $b blocks read (of $total)"
ok "--path tail.bin: $b of $total blocks read"

# Without the log's index copies: the indexes come from tape.
mv d.log.fidx fidx.away
"$ENGINE" restore --device $DEV --entity home --log d.log --path f6 --to p3 >p3.txt ||
	fail "--path without index copies: $(cat p3.txt)"
cmp p3/f6 snap1/f6 || fail "f6 from tape index"
"$ENGINE" restore --device $DEV --entity home --log d.log --to r4 >/dev/null ||
	fail "chain restore without index copies"
[ "$(tree_meta snap1)" = "$(tree_meta r4)" ] || fail "chain restore (tape indexes)"
mv fidx.away d.log.fidx
ok "indexes read from tape"

# A FIFO (or any non-regular file) in place of an index copy: not opened
# to block, the index read from tape with a warning (hostile13 H4).
mv "d.log.fidx/$inc" fifo.away
mkfifo "d.log.fidx/$inc"
"$ENGINE" restore --device $DEV --entity home --log d.log --path f6 --to p4 >p4.txt 2>&1 ||
	fail "--path with a FIFO as the index copy: $(cat p4.txt)"
grep -q "not a regular file" p4.txt || fail "no warning of the FIFO: $(cat p4.txt)"
cmp p4/f6 snap1/f6 || fail "f6 with a FIFO as the index copy"
"$ENGINE" find --device $DEV --entity home --log d.log f6 >find4.txt 2>&1 ||
	fail "find with a FIFO as the index copy: $(cat find4.txt)"
grep -q "not a regular file" find4.txt || fail "find: no warning of the FIFO"
rm "d.log.fidx/$inc"
mv fifo.away "d.log.fidx/$inc"
ok "a FIFO as an index copy: read from tape, warned"

# An index copy swapped with another dump's of the same size is not
# taken as the dump's: the index names its dump, the copy is warned of
# and the tape's read (hostile13 H20: a deleted file came back, rc 0).
mkdir sw && echo one >sw/a1 && echo k >sw/keep
"$ENGINE" dump --device $DEV --entity sw --source dir:sw --block-size 64K --log d.log >/dev/null ||
	fail "sw full F"
swF=$(grep '^dump entity=sw ' d.log | tail -1 | sed 's/.* dump=\([^ ]*\).*/\1/')
mv sw/a1 sw/b1
"$ENGINE" dump --device $DEV --entity sw --source dir:sw --block-size 64K --log d.log >/dev/null ||
	fail "sw full G"
swG=$(grep '^dump entity=sw ' d.log | tail -1 | sed 's/.* dump=\([^ ]*\).*/\1/')
mv sw/b1 sw/a1 && rm sw/a1 && echo n >sw/n
"$ENGINE" dump --device $DEV --entity sw --source dir:sw --block-size 64K --log d.log \
	--level 1 --base "$swF" >/dev/null || fail "sw level 1 on F"
[ "$(stat -c %s "d.log.fidx/$swF")" = "$(stat -c %s "d.log.fidx/$swG")" ] ||
	skip "the two fulls' indexes differ in size"
cp "d.log.fidx/$swF" swF.away
cp "d.log.fidx/$swG" "d.log.fidx/$swF"
"$ENGINE" restore --device $DEV --entity sw --log d.log --to rsw >rsw.txt 2>&1 ||
	fail "chain with a swapped index copy: $(cat rsw.txt)"
[ ! -e rsw/a1 ] || fail "a swapped index copy was used: a1 came back"
[ -f rsw/n ] && [ -f rsw/keep ] || fail "swapped copy: $(ls rsw)"
grep -q "is the index of dump $swG" rsw.txt || fail "no warning of the swapped copy: $(cat rsw.txt)"
"$ENGINE" find --device $DEV --entity sw --log d.log --date "$(grep "^dump .*dump=$swF" d.log |
	sed 's/.* date=\([^ ]*\).*/\1/')" 'b1' >fsw.txt 2>&1 || fail "find: $(cat fsw.txt)"
grep -q "is the index of dump $swG" fsw.txt || fail "find took the swapped copy: $(cat fsw.txt)"
grep -q "b1 *$swF" fsw.txt && fail "find listed G's b1 as F's: $(cat fsw.txt)"
mv swF.away "d.log.fidx/$swF"
ok "an index copy of another dump is not taken for the dump's"

# A log that names another base of the same entity, its since made to
# fit, is caught by the incremental's header on tape (hostile13 H3, the
# tapes' side): refused, the target marked, not G's tree taken for F's.
swI=$(grep '^dump entity=sw ' d.log | tail -1 | sed 's/.* dump=\([^ ]*\).*/\1/')
gdate=$(grep "^dump .*dump=$swG" d.log | sed 's/.* date=\([^ ]*\).*/\1/')
sed "/^dump .*dump=$swI/{s/base=$swF/base=$swG/;s/since=[^ ]*/since=$gdate/}" d.log >xb.log
cp -a d.log.fidx xb.log.fidx
expect_fail "the dump log says level 1 with base $swG" "$ENGINE" restore --device $DEV \
	--entity sw --log xb.log --to rxb
[ -e rxb/.abs-restore-INCOMPLETE ] || fail "a chain through a lying base: no marker"
ok "a base= the incremental's tape header contradicts: refused"

# No dump log: the chain from the tapes' headers (a scan of the library).
"$ENGINE" restore --device $DEV --entity home --to r6 >r6.txt 2>&1 ||
	fail "chain restore without a log: $(cat r6.txt)"
tree_meta r6 >m.r6
cmp -s m.snap1 m.r6 || { diff m.snap1 m.r6 >&2; fail "chain restore without a log"; }
"$ENGINE" restore --device $DEV --entity home --path d2/x --to p6 >p6.txt 2>&1 ||
	fail "--path without a log: $(cat p6.txt)"
cmp p6/d2/x snap1/d2/x || fail "--path without a log: content"
ok "no dump log: the chain and a single path from the tapes alone"

# Without a log the chain comes from the tapes' headers, checked as a
# log's is: an incremental whose header names another entity's dump as
# its base is refused (hostile13 H3). The writer takes the base from a
# log where the full's line was made s3's.
mkdir s3 && echo x >s3/x
sed "/^dump .*dump=$full/s/entity=home /entity=s3 /" d.log >x3.log
"$ENGINE" dump --device $DEV --entity s3 --source dir:s3 --block-size 64K --log x3.log \
	--level 1 --base "$full" >/dev/null 2>&1 || fail "s3 level 1 on home's full"
expect_fail "a dump of entity home" "$ENGINE" restore --device $DEV --entity s3 --to r3x
[ ! -e r3x ] || fail "another entity's full restored as s3's base: $(ls r3x)"
ok "no dump log: a base of another entity in the headers is refused"

# find: versions of a path.
"$ENGINE" find --device $DEV --entity home --log d.log 'f6' --json >find.txt
[ "$(grep -c '"path":"./f6"' find.txt)" = 2 ] || fail "find f6: $(cat find.txt)"
grep '"dump":"'$inc'"' find.txt | grep -q '"in_stream":true' || fail "find: f6 in stream"
"$ENGINE" find --device $DEV --entity home --log d.log 'keep/*' >find2.txt
grep -q "unchanged" find2.txt || fail "find: keep/k unchanged in the incremental"
ok "find lists versions"

# A missing base: refused before anything is written, naming it.
grep -v "^dump .*dump=$full" d.log >broken.log
expect_fail "$full" "$ENGINE" restore --device $DEV --entity home --log broken.log --to r5
[ ! -e r5 ] || fail "a refused chain wrote $T/r5"
ok "missing base refused"

# A bad index of the chain's last dump (no copy, the dump line's
# index_stored off): refused before the full is written (hostile13 H9).
sed "/^dump .*dump=$inc/s/index_stored=[0-9]*/index_stored=5000/" d.log >x9.log
mkdir x9.log.fidx && cp "d.log.fidx/$full" x9.log.fidx/
expect_fail "$inc" "$ENGINE" restore --device $DEV --entity home --log x9.log --to r9
[ ! -e r9 ] || fail "a chain with a bad index wrote $T/r9: $(ls -a r9)"
ok "a bad index anywhere in the chain: refused before anything is written"

# Out of inodes (a file system of 8): the host's error, said as such; the
# restore fails and the marker stays (hostile13 H6: "refused: unsafe
# paths" and no marker). A private tmpfs in a user and mount namespace.
mkdir inod
if unshare -rm sh -c "mount -t tmpfs -o size=16M,nr_inodes=8 tmpfs '$T/inod'" 2>/dev/null; then
	for how in "--date $fdate" ""; do
		unshare -rm sh -c "mount -t tmpfs -o size=16M,nr_inodes=8 tmpfs '$T/inod' &&
			{ '$ENGINE' restore --device $DEV --entity home --log d.log $how \
			--to '$T/inod/r' >'$T/inod.txt' 2>&1; echo \$? >'$T/inod.rc';
			ls -a '$T/inod/r' >'$T/inod.ls'; }"
		[ "$(cat inod.rc)" != 0 ] || fail "restore ($how) into a full file system: rc 0"
		grep -q "No space left on device" inod.txt || fail "out of inodes ($how): $(cat inod.txt)"
		grep -q "unsafe paths" inod.txt && fail "out of inodes called unsafe paths: $(cat inod.txt)"
		grep -qx .abs-restore-INCOMPLETE inod.ls || fail "out of inodes ($how): no marker: $(cat inod.ls)"
	done
	ok "out of inodes: a host error, the restore fails, the marker stays"
else
	echo "no user/mount namespace here: out-of-inodes case not run"
fi

# A chain restored by a user who is not root, through a 0555 directory
# whose contents the incremental changes (hostile13 H11: "Can't create",
# the old file kept, no marker). The library and log copied for nobody.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	mkdir -p ro/rd && echo v1 >ro/rd/f && chmod 555 ro/rd
	"$ENGINE" dump --device $DEV --entity ro --source dir:ro --block-size 64K --log d.log \
		>/dev/null || fail "ro full"
	chmod 755 ro/rd && echo v2 >ro/rd/f && echo g >ro/rd/g && chmod 555 ro/rd
	"$ENGINE" dump --device $DEV --entity ro --source dir:ro --block-size 64K --log d.log \
		--level 1 >/dev/null || fail "ro level 1"
	mkdir nb && cp -a lib d.log d.log.fidx nb/ && chown -R 65534:65534 nb && chmod 755 "$T"
	(cd nb && setpriv --reuid=65534 --regid=65534 --clear-groups "$ENGINE" restore \
		--device vtape:lib/drive0 --entity ro --log d.log --to r) >nb.txt 2>&1 ||
		fail "non-root chain restore through a 0555 directory: $(cat nb.txt)"
	[ "$(cat nb/r/rd/f)" = v2 ] && [ "$(cat nb/r/rd/g)" = g ] || fail "non-root chain: content"
	[ "$(stat -c %a nb/r/rd)" = 555 ] || fail "non-root chain: rd is $(stat -c %a nb/r/rd)"
	[ ! -e nb/r/.abs-restore-INCOMPLETE ] || fail "non-root chain: marker left"
	chmod 700 "$T"
	ok "a non-root chain restore writes into a directory the full left 0555, mode set at the end"
fi

# The index copies' directory: never followed through a symlink, made
# ours alone when others could write it, refused when it is someone
# else's (hostile13 H16).
mkdir elsewhere && ln -s elsewhere s16.log.fidx
"$ENGINE" dump --device $DEV --entity s16 --source dir:sw --block-size 64K --log s16.log \
	>s16.txt 2>&1 || fail "dump with a symlinked LOG.fidx: $(cat s16.txt)"
[ -z "$(ls elsewhere)" ] || fail "the index copy went through the symlink: $(ls elsewhere)"
grep -q "is a symbolic link" s16.txt || fail "no warning of the symlink: $(cat s16.txt)"
mkdir -m 777 s17.log.fidx
"$ENGINE" dump --device $DEV --entity s17 --source dir:sw --block-size 64K --log s17.log \
	>s17.txt 2>&1 || fail "dump with a 0777 LOG.fidx: $(cat s17.txt)"
[ "$(stat -c %a s17.log.fidx)" = 700 ] || fail "s17.log.fidx left $(stat -c %a s17.log.fidx)"
[ -n "$(ls s17.log.fidx)" ] || fail "no index copy in s17.log.fidx"
if [ "$(id -u)" = 0 ]; then
	mkdir -m 700 s18.log.fidx && chown 65534 s18.log.fidx
	"$ENGINE" dump --device $DEV --entity s18 --source dir:sw --block-size 64K --log s18.log \
		>s18.txt 2>&1 || fail "dump with someone else's LOG.fidx: $(cat s18.txt)"
	[ -z "$(ls s18.log.fidx)" ] || fail "index copy written into someone else's directory"
	grep -q "belongs to uid 65534" s18.txt || fail "no warning of the owner: $(cat s18.txt)"
fi
# Readers too: copies in a directory others can write are not used.
chmod 777 d.log.fidx
"$ENGINE" restore --device $DEV --entity home --log d.log --path f6 --to p16 >p16.txt 2>&1 ||
	fail "--path with a 0777 LOG.fidx: $(cat p16.txt)"
grep -q "writable by others" p16.txt || fail "a copy from a 0777 LOG.fidx used: $(cat p16.txt)"
cmp p16/f6 snap1/f6 || fail "f6 with a 0777 LOG.fidx"
chmod 700 d.log.fidx
ok "LOG.fidx: no symlink followed, no directory others can write"

# A dump line or a part line that lies about where things are: refused,
# named, before anything is written; a huge index_bytes is not allocated
# (hostile13 H13).
sed "/^dump .*dump=$full/s/index_bytes=[0-9]*/index_bytes=3000000000/" d.log >x13b.log
expect_fail "lies" "$ENGINE" restore --device $DEV --entity home --log x13b.log --to r13b
[ ! -e r13b ] || fail "a lying dump line wrote $T/r13b"
sed "/^part .*dump=$full/s/ offset=0 / offset=65536 /" d.log >x13c.log
expect_fail "part line of dump $full" "$ENGINE" restore --device $DEV --entity home \
	--log x13c.log --to r13c
[ ! -e r13c ] || fail "a lying part line wrote $T/r13c"
sed "/^part .*dump=$full/s/label=C00001 /label=C0|0001 /" d.log >x13d.log
expect_fail "label holds" "$ENGINE" restore --device $DEV --entity home --log x13d.log --to r13d
[ ! -e r13d ] || fail "a part line with a bad label wrote $T/r13d"
ok "lying dump and part lines refused before anything is written"

# A dump ID that is not 32 hex digits names no file outside d.log.fidx/:
# the line is refused, named, by restore and find (hostile13 H13).
sed "s/dump=$inc/dump=..\/..\/probe/" d.log >x13.log
cp -a d.log.fidx x13.log.fidx
expect_fail "x13.log, line" "$ENGINE" restore --device $DEV --entity home --log x13.log --to r13
[ ! -e r13 ] || fail "a refused log wrote $T/r13"
expect_fail "x13.log, line" "$ENGINE" find --device $DEV --entity home --log x13.log f6
ok "a dump ID that is a path is refused"

# zstd: a file from the end of a compressed dump, from its frame on.
"$ENGINE" dump --device $DEV --entity z --source dir:src --block-size 64K --log d.log \
	--compress zstd >/dev/null || fail "zstd dump"
"$ENGINE" restore --device $DEV --entity z --log d.log --path tail.bin --to z1 >z1.txt ||
	fail "--path zstd: $(cat z1.txt)"
cmp z1/tail.bin src/tail.bin || fail "zstd tail.bin"
cat z1.txt
ok "--path from a zstd dump"

# tgt's tape has no LOCATE: a single path by SPACE from its tape file.
if command -v tgtd >/dev/null 2>&1 && command -v tgtadm >/dev/null 2>&1; then
	. "$(dirname "$0")/tgt.sh"
	export ABS_RUN_DIR="$T"
	tgt_start
	tgt_tape 1 "$T/t1.img" 64
	U="iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1"
	"$ENGINE" label --device "$U" --label G00001 >/dev/null
	"$ENGINE" dump --device "$U" --entity t --source dir:src --block-size 64K \
		--log t.log >/dev/null || fail "dump over iSCSI"
	"$ENGINE" restore --device "$U" --entity t --log t.log --path tail.bin \
		--path d2/x --to g1 >g1.txt || fail "--path over iSCSI: $(cat g1.txt)"
	cmp g1/tail.bin src/tail.bin && cmp g1/d2/x src/d2/x || fail "--path over iSCSI: content"
	b=$(sed -n 's/.*blocks read \([0-9]*\),.*/\1/p' g1.txt)
	s=$(sed -n 's/.*spans \([0-9]*\) blocks.*/\1/p' g1.txt)
	[ "$b" -le "$s" ] || fail "over iSCSI: $b blocks read, spans $s"
	ok "--path over iSCSI against tgt (SPACE, no LOCATE): $b blocks read"
	tgt_stop
fi
