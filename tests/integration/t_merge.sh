# Crippled mode and back: dumps in direct mode (no abs-ctld) with a
# cartridge failing on the way, then `abs-ctl merge` brings the dump log
# into a catalog: tapes and entities appear, dumps are complete only with
# all their parts, a label the pool already uses is a conflict left for the
# operator, a second merge changes nothing, and the merged dump restores
# through a media server.
. "$(dirname "$0")/lib.sh"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
CTL="$ABS_BIN/abs-ctl"

"$VTAPE" new-library lib --slots 5 --drives 1 --capacity 24M --barcode-prefix M >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
"$ENGINE" label --device "vtape:$T/lib/drive0" --label M00001 >/dev/null
"$VTAPE" inject lib --drive 0 --medium-error-at 3 >/dev/null
head -c 40000000 /dev/urandom >big.bin
head -c 2000000 /dev/urandom >small.bin
"$ENGINE" dump --device "vtape:$T/lib/drive0" --entity vol.big --source "file:$T/big.bin" \
	--log d.log --autolabel 'M%05d' --retries 1 >/dev/null 2>dump.err ||
	{ cat dump.err; fail "direct-mode dump failed"; }
"$ENGINE" dump --device "vtape:$T/lib/drive0" --entity vol.small \
	--source "cmd:cat $T/small.bin" --log d.log --autolabel 'M%05d' >/dev/null 2>&1 ||
	fail "second direct-mode dump failed"
grep -q '^bad ' d.log || fail "the injected medium error left no bad line"
ok "direct mode: $(grep -c '^part ' d.log) parts, $(grep -c '^dump ' d.log) dumps, a bad cartridge"

"$ABS_BIN/abs-ctld" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>ctld.log &
PIDS="$PIDS $!"
w_end=$(deadline)
until [ -S "$T/ctld.sock" ]; do before "$w_end" || fail "no socket"; sleep 0.1; done

# A tape the pool already knows under a label the log uses: a conflict.
used=$(sed -n 's/^part .*entity=vol.big .* label=\([^ ]*\) .* part=2 .*/\1/p' d.log | tail -n1)
[ -n "$used" ] || fail "no second part of vol.big in the log"
"$CTL" tape-add default "$used" >/dev/null
rc=0
"$CTL" merge d.log >merge1.txt || rc=$?
cat merge1.txt
[ $rc = 1 ] || fail "a label conflict should make merge exit 1 (got $rc)"
grep -q "$used" merge1.txt || fail "the conflict does not name $used"
"$CTL" --json entity vol.small | grep -q '"last_full":{' || fail "vol.small not merged"
"$CTL" --json entity vol.big | grep -q '"last_full":null' ||
	fail "vol.big must not be complete while a part is missing"
ok "merge: conflict on $used reported, the rest merged, incomplete dump held back"

# The operator checks the sticker: the catalog's own $used was never used.
"$CTL" tape-state "$used" destroyed >/dev/null
"$CTL" --json merge d.log >merge2.txt || fail "second merge failed: $(cat merge2.txt)"
grep -q '"dumps":1' merge2.txt || fail "vol.big did not complete: $(cat merge2.txt)"
"$CTL" --json merge d.log >merge3.txt
grep -q '"parts":0,"dumps":0,"tapes_added":0,"entities_added":0,"errors":0,"bad_tapes":0' merge3.txt ||
	fail "merging again changed the catalog: $(cat merge3.txt)"
bad=$(sed -n 's/^bad .* tape=\([0-9a-f]*\) .*/\1/p' d.log | head -n1)
"$CTL" --json tapes | grep -q "\"tape_id\":\"$bad\",\"pool\":\"default\",\"state\":\"out-of-service\"" ||
	fail "the bad cartridge is not out of service"
"$CTL" --json errors | grep -q '"kind":"medium-error"' || fail "the medium error was not merged"
ok "merge after the operator's decision completes the dump; merging again changes nothing"

# The merged dump restores through a media server on the same library.
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal.log" 2>engine.log &
EPID=$!
PIDS="$PIDS $EPID"
w_end=$(deadline)
until "$CTL" --json status | grep -q '"state":"idle"'; do
	before "$w_end" || fail "media server did not register"; sleep 0.1
done
j=$("$CTL" --json restore vol.big --to "$T/big.out" --drive lib0 | sed -n 's/.*"job":\([0-9]*\).*/\1/p')
w_end=$(deadline)
until "$CTL" --json jobs | grep -q "\"id\":$j,\"kind\":\"restore\",\"state\":\"\(done\|failed\)\""; do
	before "$w_end" || fail "restore job $j did not finish"; sleep 0.1
done
cmp big.bin big.out || { cat engine.log; fail "restore of the merged dump differs"; }
ok "the merged dump restores through the catalog"

# A media server reports its journal when it (re)connects: a dump written
# while abs-ctld was not told of it reaches the catalog then.
kill "$EPID"
wait "$EPID" 2>/dev/null || true
"$ENGINE" dump --device "vtape:$T/lib/drive0" --entity vol.late \
	--source "cmd:cat $T/small.bin" --log "$T/journal.log" --autolabel 'M%05d' \
	>/dev/null 2>&1 || fail "direct-mode dump into the journal failed"
"$CTL" --json entity vol.late >/dev/null 2>&1 && fail "vol.late known too early"
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal.log" 2>engine2.log &
PIDS="$PIDS $!"
w_end=$(deadline)
until "$CTL" --json entity vol.late 2>/dev/null | grep -q '"last_full":{'; do
	before "$w_end" || { cat engine2.log; fail "the journal was not reported"; }
	sleep 0.1
done
ok "a reconnecting media server reports what its journal holds"

# Damaged lines: one cut inside dump= (a phantom dump before), one with
# bytes its blocks cannot hold, one with part=0. Each is rejected with its
# file and line number; nothing of them reaches the catalog.
n=$("$CTL" --json entities | grep -o '"name"' | wc -l)
grep '^part .*entity=vol.small' d.log | head -n1 | sed 's/entity=vol.small/entity=vol.cut/; s/dump=\(.\{20\}\).*/dump=\1/' >bad.log
grep '^part .*entity=vol.small' d.log | head -n1 | sed 's/entity=vol.small/entity=vol.huge/; s/ bytes=[0-9]* / bytes=9223372036854775807 /; s/ blocks=[0-9]* / blocks=5 /' >>bad.log
grep '^part .*entity=vol.small' d.log | head -n1 | sed 's/entity=vol.small/entity=vol.zero/; s/ part=1 / part=0 /' >>bad.log
echo '# a comment is no dump-log line' >>bad.log
rc=0
"$CTL" --json merge bad.log >merge4.txt 2>merge4.err || rc=$?
cat merge4.err
[ $rc = 1 ] || fail "rejected lines should make merge exit 1 (got $rc)"
grep -q 'bad.log:1: rejected.*dump=' merge4.err || fail "the cut line was not rejected by number"
grep -q 'bad.log:2: rejected.*bytes=9223372036854775807' merge4.err || fail "the huge part was not rejected"
grep -q 'bad.log:3: rejected.*part=0' merge4.err || fail "part 0 was not rejected"
grep -q '"rejected_lines":3' merge4.txt || fail "not 3 rejected: $(cat merge4.txt)"
[ "$("$CTL" --json entities | grep -o '"name"' | wc -l)" = "$n" ] ||
	fail "a rejected line added an entity"
ok "merge rejects damaged lines by file and line number, and they change nothing"
