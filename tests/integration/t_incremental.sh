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
expect_fail "needs --since" "$ENGINE" dump --device vtape:lib/drive0 --entity home \
	--source dir:src --log d.log --level 1
"$ENGINE" dump --device vtape:lib/drive0 --entity home --source dir:src --log d.log \
	--level 1 --since "$since"
grep -q "^dump entity=home .*level=1 since=$since" d.log || fail "level 1 not logged"
# --level-only: that dump alone (without it, the chain: full + level 1).
"$ENGINE" restore --device vtape:lib/drive0 --entity home --log d.log --level-only --to inc
[ "$(ls inc | tr '\n' ' ')" = "f3 f6 " ] || fail "incremental holds: $(ls inc | tr '\n' ' ')"
[ "$(cat inc/f3)" = "v2 3" ] || fail "f3 content"
ok "level 1 holds only changed files"
