# Restore never says "all checksums good" over entries it dropped: entries
# that extraction refuses (a `..` path, an absolute path, a path through a
# symlink) are listed and counted and make the exit status 3 unless
# --allow-refused; symlinks restore as symlinks; a checksum failure in the
# middle of a restore leaves a tree marked incomplete that says what was
# restored and what was not.
. "$(dirname "$0")/lib.sh"

"$VTAPE" new-cartridge cart --barcode R1 --capacity 256M >/dev/null
mkdir drv && ln -s ../cart drv/tape
D=vtape:drv
"$ENGINE" label --device $D --label R00001 >/dev/null

# A crafted archive: a good file, ../x, an absolute path, a symlink and a
# file through it, a good symlink.
mkdir -p w/sub alt/l && cd w
echo good >ok.txt
echo evil >../x
echo evil >"$T/abs.txt"
ln -s /tmp l
ln -s ok.txt sl
tar -cf ../crafted.tar ok.txt sl
tar -rPf ../crafted.tar ../x "$T/abs.txt" l 2>/dev/null
echo evil >../alt/l/through
tar -rf ../crafted.tar -C ../alt l/through
cd "$T"
tar -tPf crafted.tar | grep -qx 'l/through' || fail "crafted archive lacks l/through"
"$ENGINE" dump --device $D --entity c --source "cmd:cat $T/crafted.tar" \
	--log d.log >/dev/null 2>&1 || fail "dump of the crafted archive"

set +e
"$ENGINE" restore --device $D --entity c --log d.log --extract --to "$T/out" >out.txt 2>err.txt
rc=$?
set -e
[ $rc = 3 ] || { cat out.txt err.txt; fail "exit status $rc, not 3, with refused entries"; }
grep -q "refused: \.\./x: .*'\.\.'" err.txt || fail "../x not listed"
grep -q "refused: .*abs.txt: .*absolute" err.txt || fail "absolute path not listed"
grep -q "refused: l/through: .*symlink" err.txt || fail "entry through a symlink not listed"
grep -q "3 entries of the dump refused" err.txt || fail "refusals not counted"
! grep -q "all checksums good" out.txt err.txt || fail "claims success"
[ -L out/l ] && [ "$(readlink out/l)" = /tmp ] || fail "symlink l was not kept a symlink"
[ -L out/sl ] && [ "$(cat out/sl)" = good ] || fail "symlink sl"
[ ! -e /tmp/through ] || [ "$(cat /tmp/through)" != evil ] || fail "wrote through the symlink"
# Refused entries leave the tree marked until the operator decides
# (hostile13 H6): the marker names them.
grep -q "^REFUSED \.\./x" out/.abs-restore-INCOMPLETE || fail "marker gone or not naming the refusals"
ok "refused entries listed, counted, exit 3, marker kept; symlinks stay symlinks"

# --allow-refused: the same restore succeeds and says how many were refused.
rm -rf out
"$ENGINE" restore --device $D --entity c --log d.log --extract --to "$T/out" \
	--allow-refused >out.txt 2>err.txt || { cat err.txt; fail "--allow-refused"; }
grep -q "3 entries restored, 3 refused" out.txt || { cat out.txt; fail "summary lacks the counts"; }
[ ! -e out/.abs-restore-INCOMPLETE ] || fail "marker left after --allow-refused"
ok "--allow-refused: exit 0, counts in the summary"

# A dir dump with symlinks: they restore as symlinks.
mkdir -p tree/d && echo hi >tree/d/f && ln -s d tree/ld && ln -s /etc/passwd tree/abs &&
	ln -s ../../nowhere tree/up
"$ENGINE" dump --device $D --entity t --source "dir:$T/tree" --log d.log >/dev/null 2>&1
"$ENGINE" restore --device $D --entity t --log d.log --to "$T/tout" >/dev/null 2>&1 ||
	fail "restore of a tree with symlinks"
for l in ld abs up; do
	[ -L tout/$l ] && [ "$(readlink tout/$l)" = "$(readlink tree/$l)" ] ||
		fail "symlink $l not restored as a symlink"
done
ok "a tree's symlinks restore as symlinks"

# A checksum failure in the middle: the tree stays marked incomplete and
# the message and the marker say what was restored and what was not.
mkdir big
for i in $(seq 1 24); do head -c 100000 /dev/urandom >big/f$(printf %02d $i); done
"$ENGINE" dump --device $D --entity big --source "dir:$T/big" --log d.log \
	--block-size 64K >/dev/null 2>&1
f=$(sed -n 's/^dump entity=big .* file=\([0-9]*\) .*/\1/p' d.log)
data=cart/$(printf 'file%06d' "$f")
# Block 0 is the header; flip a byte in data block 20 (of about 38).
cp "$data" good.data
flip "$data" $((65536 * 21 + 100))
set +e
"$ENGINE" restore --device $D --entity big --log d.log --to "$T/bout" >out.txt 2>err.txt
rc=$?
set -e
[ $rc = 1 ] || { cat out.txt err.txt; fail "exit status $rc after a checksum failure"; }
grep -q "checksum mismatch.*restore INCOMPLETE: [0-9]* entries restored into $T/bout" err.txt ||
	{ cat err.txt; fail "the failure does not say what was restored"; }
m=bout/.abs-restore-INCOMPLETE
[ -f $m ] || fail "no marker in the partial tree"
grep -q '^ABS restore INCOMPLETE' $m || fail "marker header"
grep -q '^FAILED: .*checksum mismatch' $m || fail "marker lacks the reason"
grep -q '^NOT RESTORED: ' $m || fail "marker does not say what was not restored"
listed=$(grep -c '^\./f[0-9][0-9]$' $m || true)
[ "$listed" -ge 5 ] && [ "$listed" -lt 24 ] || fail "marker lists $listed entries"
# Every entry listed is whole; the one the stream failed in is named.
for e in $(sed -n 's|^\./\(f[0-9][0-9]\)$|\1|p' $m); do
	cmp big/$e bout/$e || fail "entry $e listed as restored differs"
done
grep -q '^CUT SHORT: \./f[0-9][0-9] ' $m || fail "marker does not name the entry cut short"
grep -q 'cut short in \./f[0-9][0-9]' err.txt || fail "message does not name the entry cut short"
ok "checksum failure: $listed of 24 entries listed in the marker, the rest named not restored"

# The same restore, once the tape is good again, is whole: no marker left.
# Over the partial tree only with --force; without, it says why.
cp good.data "$data"
expect_fail "bout holds an earlier restore that did not finish.*--force" \
	"$ENGINE" restore --device $D --entity big --log d.log --to "$T/bout"
[ -e $m ] || fail "the refused restore touched the partial tree"
ok "a restore into a non-empty target is refused without --force, saying why"
"$ENGINE" restore --device $D --entity big --log d.log --to "$T/bout" \
	--force >/dev/null 2>&1 || fail "restore over the partial tree"
[ ! -e $m ] || fail "marker left after a whole restore"
for i in $(seq 1 24); do cmp big/f$(printf %02d $i) bout/f$(printf %02d $i) || fail "f$i"; done
ok "a whole restore over the partial tree removes the marker"

# A file (not a tree): restored as TO.abs-partial and renamed only once
# every byte is proven; a checksum failure leaves no TO that looks whole.
head -c 3000000 /dev/urandom >file.bin
"$ENGINE" dump --device $D --entity fl --source "file:$T/file.bin" --log d.log \
	--block-size 64K >/dev/null 2>&1
f=$(sed -n 's/^dump entity=fl .* file=\([0-9]*\) .*/\1/p' d.log)
data=cart/$(printf 'file%06d' "$f")
flip "$data" $((65536 * 30 + 7))
expect_fail "checksum mismatch.*restore INCOMPLETE: .* is in $T/fl.out.abs-partial, $T/fl.out was not written" \
	"$ENGINE" restore --device $D --entity fl --log d.log --to "$T/fl.out"
[ ! -e fl.out ] || fail "a partial file restore left fl.out"
[ -f fl.out.abs-partial ] || fail "no fl.out.abs-partial"
ok "a failed file restore leaves only TO.abs-partial"

# A tree restored onto a disk that fills up (a file size limit: write(2)
# fails with EFBIG as it would with ENOSPC): the entry that could not be
# written is named, the tree stays marked incomplete, exit 1, and no file
# is left looking whole with a hole where its tail should be.
mkdir fill && head -c 100 /dev/urandom >fill/a && head -c 3000000 /dev/urandom >fill/big
"$ENGINE" dump --device $D --entity fill --source "dir:$T/fill" --log d.log >/dev/null 2>&1 ||
	fail "dump of fill"
set +e
(trap '' XFSZ; exec prlimit --fsize=1048576 -- "$ENGINE" restore --device $D \
	--entity fill --log d.log --to "$T/fout") >out.txt 2>err.txt
rc=$?
set -e
[ $rc = 1 ] || { cat out.txt err.txt; fail "exit status $rc on a full disk, not 1"; }
! grep -q "all checksums good" out.txt err.txt || fail "a restore onto a full disk claims success"
grep -q "writing \./big: .*restore INCOMPLETE: .*cut short in \./big" err.txt ||
	{ cat err.txt; fail "the failure does not name the entry it could not write"; }
m=fout/.abs-restore-INCOMPLETE
[ -f $m ] && grep -q '^CUT SHORT: \./big ' $m || fail "marker does not name ./big"
! grep -qx '\./big' $m || fail "marker lists ./big as restored"
ok "a restore onto a full disk fails, names the entry and leaves the tree marked"

# The restore's own files are never opened through what a user planted:
# a symlink at the marker's name or at TO.abs-partial is replaced, and
# what it points at stays as it was. A dumped file with the marker's name
# is refused, not restored and then deleted.
echo precious >victim1
echo precious >victim2
mkdir plant && ln -s "$T/victim1" plant/.abs-restore-INCOMPLETE
"$ENGINE" restore --device $D --entity t --log d.log --to "$T/plant" >/dev/null 2>err.txt ||
	{ cat err.txt; fail "restore into a tree with a planted marker link"; }
[ "$(cat victim1)" = precious ] || fail "the marker was written through a planted symlink"
[ ! -e plant/.abs-restore-INCOMPLETE ] && [ ! -L plant/.abs-restore-INCOMPLETE ] ||
	fail "marker left after a whole restore"
ln -s "$T/victim2" fl2.out.abs-partial
"$ENGINE" dump --device $D --entity f2 --source "file:$T/file.bin" --log d.log >/dev/null 2>&1 ||
	fail "dump of f2"
"$ENGINE" restore --device $D --entity f2 --log d.log --to "$T/fl2.out" >/dev/null 2>err.txt ||
	{ cat err.txt; fail "file restore over a planted .abs-partial link"; }
[ "$(cat victim2)" = precious ] || fail "the file restore wrote through a planted symlink"
[ -f fl2.out ] && [ ! -L fl2.out ] && cmp -s fl2.out file.bin || fail "fl2.out is not the restored file"
mkdir -p mk && echo mine >mk/.abs-restore-INCOMPLETE && echo other >mk/f
"$ENGINE" dump --device $D --entity mk --source "dir:$T/mk" --log d.log >/dev/null 2>&1 || fail "dump of mk"
set +e
"$ENGINE" restore --device $D --entity mk --log d.log --to "$T/mkout" >out.txt 2>err.txt
rc=$?
set -e
[ $rc = 3 ] && grep -q "refused: .*\.abs-restore-INCOMPLETE: the restore's own marker" err.txt ||
	{ cat out.txt err.txt; fail "a dumped file named like the marker: rc $rc"; }
[ "$(cat mkout/f)" = other ] || fail "mk's other file"
ok "planted links at the marker and .abs-partial are replaced, not followed; a file named like the marker is refused"
