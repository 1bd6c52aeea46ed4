# A media server on a vtape library drive (its own robot, abs-ctld's
# default --commit-every 1): the cartridge a job asks for that is in the
# drive already (the last job's) stays there, read and checked where it
# is, instead of going back to its slot and being loaded again.
#   A: two dumps in a row on the same cartridge: the second moves nothing
#      (the drive's link to the cartridge is the one the first made);
#   B: a restore of the second from that cartridge: nothing moves either,
#      and the tree comes back equal;
#   C: the cartridge in the drive is not the one asked for (moved by hand
#      to its slot and the other one loaded): the robot brings the right
#      one, the dump is done.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
wait_cond() { poll_until "$1" 300 || fail "timed out after 300 s: $1"; }
dump_job() { "$CTL" --json dump d0 "$@" | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p'; }
link() { stat -c '%i %Y' "$T/lib/drive0/tape"; }

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>>"$T/ctld.log" &
PIDS="$PIDS $!"
wait_cond '"$CTL" whoami >/dev/null 2>&1'
"$VTAPE" new-library lib --slots 2 --drives 1 --capacity 200M --barcode-prefix A >/dev/null
"$CTL" tape-add default A00001 >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive d0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal.log" 2>>"$T/engine.log" &
PIDS="$PIDS $!"
wait_cond '"$CTL" --json status | grep -q "\"drive\":\"d0\",[^}]*\"state\":\"idle\""'
mkdir src
head -c 200000 /dev/urandom >src/a
echo small >src/b
"$CTL" entity-add e "dir:$T/src" >/dev/null

j=$(dump_job e)
"$CTL" job-wait "$j" >/dev/null || fail "the first dump: $(tail -3 "$T/engine.log")"
before=$(link)
[ -n "$before" ] || fail "no cartridge in drive 0 after the first dump"
j=$(dump_job e --level 1)
"$CTL" job-wait "$j" >/dev/null || fail "the second dump: $(tail -3 "$T/engine.log")"
[ "$(link)" = "$before" ] || fail "the cartridge went back to its slot and in again between two dumps on it"
ok "A: the second dump on the cartridge in the drive moved nothing"

"$CTL" restore e --to "$T/r" --drive d0 >/dev/null || fail "restore refused"
wait_cond '[ -z "$("$CTL" --json jobs | tr "{" "\n" | grep "\"kind\":\"restore\"" | grep -E "\"state\":\"(queued|running)\"")" ]'
"$CTL" --json jobs | tr '{' '\n' | grep '"kind":"restore"' | grep -q '"state":"done"' ||
	fail "the restore did not end done: $(tail -3 "$T/engine.log")"
cmp src/a r/a && cmp src/b r/b || fail "the restored tree differs"
[ "$(link)" = "$before" ] || fail "the restore moved the cartridge out of the drive and in again"
ok "B: a restore from the cartridge in the drive moved nothing"

# C: another cartridge in the drive (a hand move): the right one is loaded.
"$CTL" tape-add default A00002 >/dev/null
"$VTAPE" unload lib --drive 0 >/dev/null ||
	fail "vtape unload"
"$VTAPE" load lib --slot 2 --drive 0 >/dev/null || fail "vtape load of slot 2"
j=$(dump_job e)
"$CTL" job-wait "$j" >/dev/null || fail "a dump with another cartridge in the drive: $(tail -3 "$T/engine.log")"
ok "C: with another cartridge in the drive the robot brought the one asked for"
echo PASS
