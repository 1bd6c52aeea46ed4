# Level 1 dumps take only what changed since the given time.
. "$(dirname "$0")/lib.sh"

new_lib lib 256M
"$ENGINE" label --device vtape:lib/drive0 --label I00001
mkdir src
for i in 1 2 3 4 5; do echo "v1 $i" >src/f$i; done
sleep 1
"$ENGINE" dump --device vtape:lib/drive0 --entity home --source dir:src --log d.log
since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
echo "v2 3" >src/f3
echo new >src/f6
# A level 1 of an entity the log has no full of: refused, not a silent full.
expect_fail "no full dump of other" "$ENGINE" dump --device vtape:lib/drive0 \
	--entity other --source dir:src --log d.log --level 1
"$ENGINE" dump --device vtape:lib/drive0 --entity home --source dir:src --log d.log \
	--level 1 --since "$since"
grep -q "^dump entity=home .*level=1 since=$since" d.log || fail "level 1 not logged"
# --level-only: that dump alone (without it, the chain: full + level 1).
"$ENGINE" restore --device vtape:lib/drive0 --entity home --log d.log --level-only --to inc
[ "$(ls inc | tr '\n' ' ')" = "f3 f6 " ] || fail "incremental holds: $(ls inc | tr '\n' ' ')"
[ "$(cat inc/f3)" = "v2 3" ] || fail "f3 content"
ok "level 1 holds only changed files"

# Without --since the base is the log's full: since is its date exactly,
# base= names it on the dump line and in the part header. (Dumps a second
# apart: a base is older than its incremental.)
sleep 1
full=$(grep '^dump entity=home .*level=0 ' d.log | sed 's/.* dump=\([^ ]*\).*/\1/')
fdate=$(grep '^dump entity=home .*level=0 ' d.log | sed 's/.* date=\([^ ]*\).*/\1/')
"$ENGINE" dump --device vtape:lib/drive0 --entity home --source dir:src --log d.log \
	--level 1
grep -q "^dump entity=home .*level=1 since=$fdate .* base=$full " d.log ||
	fail "level 1 without --since: base not the full ($full, $fdate)"
# A level 2 takes the newest dump below it: that level 1.
l1=$(grep '^dump entity=home .*level=1 ' d.log | tail -n 1 | sed 's/.* dump=\([^ ]*\).*/\1/')
sleep 1
echo v3 >src/f1
"$ENGINE" dump --device vtape:lib/drive0 --entity home --source dir:src --log d.log \
	--level 2
grep -q "^dump entity=home .*level=2 .* base=$l1 " d.log || fail "level 2 base"
expect_fail "not the date of base" "$ENGINE" dump --device vtape:lib/drive0 \
	--entity home --source dir:src --log d.log --level 1 --base "$full" \
	--since 2020-01-01
rm -rf chain
"$ENGINE" restore --device vtape:lib/drive0 --entity home --log d.log --to chain
diff -r src chain >/dev/null || fail "the chain's restore differs from the tree"
ok "a level 1 and 2 find their bases in the log; the chain restores the tree"
