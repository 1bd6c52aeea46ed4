# Snapshot coordination: a type's snapshot, dump, incremental and release
# commands around a dump (small scripts here that record their arguments
# and order; the "volume" is a file that keeps changing, its snapshot a
# copy). Through abs-engine in direct mode and through abs-ctld and a
# media server on a vtape library, with the clock injected (ABS_CLOCK):
# a full and an incremental, their placeholders filled, each restored
# byte for byte as the snapshot held it (not as the volume is now); the
# release after a dump that worked and after one whose dump command
# failed; a snapshot that fails: nothing on tape, the job failed with the
# reason, no release (a snapshot never made is not released); a snapshot
# that hangs: killed at --cmd-timeout with its process group; an operator's
# abort during the snapshot; crippled mode, with the commands of the
# catalog's cache. The catalog's and the tape's dates follow the injected
# clock.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
command -v jq >/dev/null 2>&1 && command -v sqlite3 >/dev/null 2>&1 || skip "jq and sqlite3 are needed to read the catalog"
echo "2026-12-01T22:00:00Z" >"$T/clock"
export ABS_CLOCK="$T/clock"

wait_for() { poll_until "$1" || fail "timed out: $1"; }

# The volume and its commands. snap.sh NAME VOL-ARG...: copies the volume
# to snaps/NAME (and keeps a copy to compare with), then the volume
# changes; dump.sh NAME: the snapshot's bytes; incr.sh NAME SINCE BASE
# LEVEL: a line naming them, then the snapshot's bytes; release.sh NAME:
# removes the snapshot. Each appends "WHAT ARGS" to calls.log. A file
# named fail-WHAT makes that command fail; hang-snapshot makes it hang.
mkdir -p snaps kept
head -c 3000000 /dev/urandom >vol.img
cat >snap.sh <<EOF
#!/bin/sh
echo "snapshot \$*" >>$T/calls.log
[ -e $T/hang-snapshot ] && { $T/hang.sh & wait; }
[ -e $T/fail-snapshot ] && { echo "no such volume: \$2" >&2; exit 3; }
cp $T/vol.img $T/snaps/\$1 && cp $T/vol.img $T/kept/\$1
head -c 100000 /dev/urandom >>$T/vol.img
echo "made \$1"
EOF
cat >dump.sh <<EOF
#!/bin/sh
echo "dump \$*" >>$T/calls.log
[ -e $T/fail-dump ] && { echo "dump broke" >&2; exit 1; }
exec cat $T/snaps/\$1
EOF
cat >incr.sh <<EOF
#!/bin/sh
echo "incr \$*" >>$T/calls.log
echo "since=\$2 base=\$3 level=\$4"
exec cat $T/snaps/\$1
EOF
cat >release.sh <<EOF
#!/bin/sh
echo "release \$*" >>$T/calls.log
[ -e $T/fail-release ] && { echo "busy" >&2; exit 2; }
rm -f $T/snaps/\$1
EOF
printf '#!/bin/sh\nsleep 300\n' >hang.sh
chmod +x snap.sh dump.sh incr.sh release.sh hang.sh
# Whether the hanging snapshot's child still runs (it may be in a PID
# namespace of its own: its pid means nothing here).
hanging() { pgrep -f "$T/hang.sh" >/dev/null; }

# --- Direct mode: abs-engine dump with the commands as options. ---
"$VTAPE" new-cartridge c1 --barcode D1 --capacity 64M >/dev/null
"$ENGINE" label --device "vtape:$T/c1" --label D1 >/dev/null
direct() {	# direct ARGS...: a dump of vol.d with the four commands
	"$ENGINE" dump --device "vtape:$T/c1" --entity vol.d --log "$T/d.log" \
		--snapshot "$T/snap.sh {snapshot} {entity}@abs-{date} L{level}" \
		--dump-cmd "$T/dump.sh {snapshot}" \
		--incr-cmd "$T/incr.sh {snapshot} {since} {base} {level}" \
		--release "$T/release.sh {snapshot}" --cmd-timeout 3 "$@"
}
parts() { "$ENGINE" list --device "vtape:$T/c1" --json | jq -s '[.[] | select(.kind == "part")] | length'; }
: >calls.log
direct --date 2026-12-01 >direct1.txt 2>&1 || { cat direct1.txt >&2; fail "direct full dump"; }
name=$(sed -n 's/^snapshot \([^ ]*\) .*/\1/p' calls.log)
case $name in abs-2026-12-01-d[0-9]*) ;; *) fail "snapshot name: $(cat calls.log)" ;; esac
printf 'snapshot %s vol.d@abs-2026-12-01 L0\ndump %s\nrelease %s\n' "$name" "$name" "$name" >want.txt
cmp -s want.txt calls.log || { diff want.txt calls.log; fail "direct full: commands, arguments or order"; }
[ ! -e "snaps/$name" ] || fail "the snapshot was not released"
"$ENGINE" restore --device "vtape:$T/c1" --entity vol.d --stdout --log "$T/d.log" >out.img 2>/dev/null
cmp "kept/$name" out.img || fail "direct full: the restore differs from the snapshot"
cmp -s vol.img out.img && fail "the volume did not change after its snapshot (the test proves nothing)"
ok "direct full: snapshot, dump, release in order with {snapshot} {entity}@abs-{date} L{level} filled; restored as the snapshot held it ($(wc -c <out.img) bytes)"

: >calls.log
full_date=$(jq -r 'select(.kind == "part") | .dump_date' <<EOF
$("$ENGINE" list --device "vtape:$T/c1" --json)
EOF
)
direct --level 1 --since "$full_date" >direct2.txt 2>&1 || { cat direct2.txt >&2; fail "direct incremental"; }
name=$(sed -n 's/^snapshot \([^ ]*\) .*/\1/p' calls.log)
printf 'snapshot %s vol.d@abs-%s L1\nincr %s %s  1\nrelease %s\n' "$name" "$(echo "$full_date" | cut -c1-10)" "$name" "$full_date" "$name" >want.txt
cmp -s want.txt calls.log || { diff want.txt calls.log; fail "direct incremental: commands, arguments or order"; }
"$ENGINE" restore --device "vtape:$T/c1" --entity vol.d --stdout --log "$T/d.log" >out.img 2>/dev/null
{ echo "since=$full_date base= level=1"; cat "kept/$name"; } >want.img
cmp want.img out.img || fail "direct incremental: the restore differs"
ok "direct incremental: the incr command with {since} $full_date and {level} 1, restored byte for byte"

# A snapshot that fails: nothing on tape, no release, the reason said.
n0=$(parts)
: >calls.log
touch fail-snapshot
rc=0
direct >direct3.txt 2>&1 || rc=$?
rm fail-snapshot
[ "$rc" != 0 ] && grep -q 'snapshot failed: .*snap.sh exited with status 3: no such volume' direct3.txt ||
	fail "a failed snapshot: exit $rc: $(cat direct3.txt)"
[ "$(parts)" = "$n0" ] || fail "a failed snapshot wrote to tape"
[ "$(cut -d' ' -f1 calls.log | tr '\n' ' ')" = "snapshot " ] || fail "after a failed snapshot: $(cat calls.log)"
ok "direct, snapshot fails: exit $rc, nothing on tape, no dump and no release ($(grep 'dump:' direct3.txt))"

# A dump command that fails: the release runs all the same.
: >calls.log
touch fail-dump
rc=0
direct >direct4.txt 2>&1 || rc=$?
rm fail-dump
[ "$rc" != 0 ] || fail "a failed dump command exited 0"
[ "$(cut -d' ' -f1 calls.log | tr '\n' ' ')" = "snapshot dump release " ] || fail "after a failed dump: $(cat calls.log)"
ok "direct, dump command fails: exit $rc, the snapshot released after it"
n0=$(parts)	# (its empty stream is on tape, as source-failed)

# A snapshot that hangs: killed at --cmd-timeout with its process group.
: >calls.log
touch hang-snapshot
rc=0
direct >direct5.txt 2>&1 || rc=$?
rm hang-snapshot
[ "$rc" != 0 ] && grep -q 'did not finish in 3 s' direct5.txt || fail "a hanging snapshot: exit $rc: $(cat direct5.txt)"
wait_for '! hanging'
[ "$(parts)" = "$n0" ] || fail "a hanging snapshot wrote to tape"
ok "direct, snapshot hangs: killed after 3 s with what it started, nothing on tape"

# --- Through abs-ctld and a media server. ---
"$VTAPE" new-library lib --slots 4 --drives 1 --capacity 64M --barcode-prefix S >/dev/null
"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --journal "$T/journal" \
	--foreground 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for '[ -S "$T/ctld.sock" ]'
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal.log" --cmd-timeout 3 2>"$T/engine.log" &
EPID=$!
PIDS="$PIDS $EPID"
wait_for '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
"$CTL" tape-add default S00001 S00002 >/dev/null
"$CTL" type-add snapvol --full 7 --incr 1 >/dev/null
job_state() { "$CTL" --json jobs --count 200 | jq -r ".[] | select(.id == $1) | .state"; }
job_detail() { "$CTL" --json jobs --count 200 | jq -r ".[] | select(.id == $1) | .detail // \"\""; }
# dump LEVEL: a dump of vol.s through abs-ctl; its job ID.
dump() {
	j=$("$CTL" --json dump lib0 vol.s --level "$1" | jq -r '.jobs[0]')
	wait_for "case \$(job_state $j) in done|failed|aborted) true;; *) false;; esac"
	echo "$j"
}
messages() { "$CTL" --json status | jq -r '.drives[0].messages[].text'; }

snap_cmd="$T/snap.sh {snapshot} {entity}@abs-{date} L{level}"
dump_cmd="$T/dump.sh {snapshot}"
incr_cmd="$T/incr.sh {snapshot} {since} {base} {level}"
rel_cmd="$T/release.sh {snapshot}"
"$CTL" type-set snapvol --snapshot "$snap_cmd" --dump "$dump_cmd" \
	--incr "$incr_cmd" --release "$rel_cmd" >typeset.txt 2>&1 ||
	fail "type-set: $(cat typeset.txt)"
"$CTL" entity-add vol.s "cmd:false" --type snapvol >/dev/null

: >calls.log
j=$(dump 0)
[ "$(job_state "$j")" = done ] || { tail -n 20 engine.log >&2; fail "full through abs-ctld: $(job_detail "$j")"; }
[ -s calls.log ] || fail "the job event carries no commands (the type's snapshot did not run)"
name=$(sed -n 's/^snapshot \([^ ]*\) .*/\1/p' calls.log)
[ "$name" = "abs-2026-12-01-$j" ] || fail "snapshot name $name for job $j"
printf 'snapshot %s vol.s@abs-2026-12-01 L0\ndump %s\nrelease %s\n' "$name" "$name" "$name" >want.txt
cmp -s want.txt calls.log || { diff want.txt calls.log; fail "full through abs-ctld: commands, arguments or order"; }
full=$(sqlite3 "$T/catalog.db" "SELECT started || ' ' || dump_uid FROM dumps WHERE job_id = $j")
case $full in 2026-12-01T22:*) ;; *) fail "the full's date does not follow the clock: $full" ;; esac
messages | grep -q "snapshot: made $name" || fail "the snapshot's output is not in the drive's messages: $(messages)"
r=$("$CTL" --json restore vol.s --to "$T/s-full.img" --drive lib0 | jq -r '.job')
wait_for "case \$(job_state $r) in done|failed|aborted) true;; *) false;; esac"
[ "$(job_state "$r")" = done ] && cmp "kept/$name" s-full.img || fail "restore of the full through abs-ctld"
ok "full through abs-ctld (job $j): snapshot $name, dump, release; dated ${full% *}; its output in the drive's messages; restored byte for byte"

# The next night: an incremental on the full.
echo "2026-12-02T22:00:00Z" >"$T/clock"
: >calls.log
j=$(dump 1)
[ "$(job_state "$j")" = done ] || fail "incremental through abs-ctld: $(job_detail "$j")"
name=$(sed -n 's/^snapshot \([^ ]*\) .*/\1/p' calls.log)
since=${full% *} base=${full#* }
grep -q "^incr $name $since " calls.log || fail "the incremental's {since}: $(cat calls.log) (full: $full)"
if grep -q "^incr $name $since $base 1\$" calls.log; then b="{base} $base"; else b="no {base} (the job event names none)"; fi
[ "$(cut -d' ' -f1 calls.log | tr '\n' ' ')" = "snapshot incr release " ] || fail "incremental: $(cat calls.log)"
r=$("$CTL" --json restore vol.s --to "$T/s-incr.img" --drive lib0 | jq -r '.job')
wait_for "case \$(job_state $r) in done|failed|aborted) true;; *) false;; esac"
{ sed -n 's/^incr [^ ]* \([^ ]*\) \([^ ]*\) \([0-9]\)$/since=\1 base=\2 level=\3/p; s/^incr [^ ]* \([^ ]*\)  \([0-9]\)$/since=\1 base= level=\2/p' calls.log; cat "kept/$name"; } >want.img
[ "$(job_state "$r")" = done ] && cmp want.img s-incr.img || fail "restore of the incremental"
ok "incremental through abs-ctld (job $j): {since} $since, $b, restored byte for byte"

# A dump command that fails: the job fails, the release runs after it.
: >calls.log
touch fail-dump
j=$(dump 0)
rm fail-dump
[ "$(job_state "$j")" = failed ] || fail "a failing dump command: job $j $(job_state "$j")"
[ "$(cut -d' ' -f1 calls.log | tr '\n' ' ')" = "snapshot dump release " ] || fail "after a failed dump: $(cat calls.log)"
ok "dump command fails: job $j failed ($(job_detail "$j" | head -c 100)), released after"

# A release that fails: the dump stands, the failure is an error event.
: >calls.log
touch fail-release
j=$(dump 0)
rm fail-release
[ "$(job_state "$j")" = done ] || fail "a failing release failed the dump: $(job_detail "$j")"
messages | grep -q 'release failed: .*exited with status 2: busy' || fail "no message of the failed release: $(messages)"
"$CTL" --json errors 2>/dev/null | grep -q 'release-failed' ||
	sqlite3 "$T/catalog.db" "SELECT kind FROM error_events" | grep -q 'release-failed' || fail "no release-failed error event"
ok "release fails: the dump (job $j) is done, a warning and a release-failed error event"

# A snapshot that fails, one that hangs: not dumped, nothing on tape.
tape_parts() { sqlite3 "$T/catalog.db" "SELECT count(*) FROM dump_parts"; }
n0=$(tape_parts)
: >calls.log
touch fail-snapshot
j=$(dump 0)
rm fail-snapshot
[ "$(job_state "$j")" = failed ] || fail "a failed snapshot: job $j $(job_state "$j")"
job_detail "$j" | grep -q '^snapshot failed: .*exited with status 3: no such volume' || fail "the job's reason: $(job_detail "$j")"
[ "$(tape_parts)" = "$n0" ] || fail "a failed snapshot wrote to tape"
[ "$(cut -d' ' -f1 calls.log | tr '\n' ' ')" = "snapshot " ] || fail "after a failed snapshot: $(cat calls.log)"
sqlite3 "$T/catalog.db" "SELECT kind FROM error_events" | grep -q 'snapshot-failed' || fail "no snapshot-failed error event"
ok "snapshot fails: job $j failed ($(job_detail "$j")), nothing on tape, no release, an error event"
touch hang-snapshot
j=$(dump 0)
rm hang-snapshot
[ "$(job_state "$j")" = failed ] && job_detail "$j" | grep -q 'did not finish in 3 s' || fail "a hanging snapshot: $(job_detail "$j")"
wait_for '! hanging'
[ "$(tape_parts)" = "$n0" ] || fail "a hanging snapshot wrote to tape"
ok "snapshot hangs: job $j failed after 3 s, its processes gone, nothing on tape"
# Aborted by the operator while the snapshot runs.
touch hang-snapshot
j=$("$CTL" --json dump lib0 vol.s --level 0 | jq -r '.jobs[0]')
wait_for hanging
"$CTL" abort "$j" >/dev/null
wait_for "case \$(job_state $j) in done|failed|aborted) true;; *) false;; esac"
rm hang-snapshot
[ "$(job_state "$j")" = aborted ] || fail "abort during the snapshot: $(job_state "$j") $(job_detail "$j")"
[ "$(tape_parts)" = "$n0" ] || fail "an aborted snapshot wrote to tape"
ok "aborted during its snapshot: job $j aborted, nothing on tape"

# Crippled mode (the catalog gone): the type's commands as the catalog's
# cache had them; a snapshot type is never dumped without its snapshot.
kill "$CPID"
wait "$CPID" 2>/dev/null || true
"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --journal "$T/journal" \
	--crippled --foreground 2>>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for '[ -S "$T/ctld.sock" ]'
: >calls.log
# (until the media server, trying again with backoff, is back)
wait_for 'j=$("$CTL" --json dump lib0 vol.s --level 0 2>/dev/null | jq -r ".jobs[0]") && [ "$j" != null ]'
wait_for "case \$(job_state $j) in done|failed|aborted) true;; *) false;; esac"
[ "$(job_state "$j")" = done ] || { tail -n 20 engine.log >&2; fail "crippled dump: $(job_detail "$j")"; }
name=$(sed -n 's/^snapshot \([^ ]*\) .*/\1/p' calls.log)
[ "$(cut -d' ' -f1 calls.log | tr '\n' ' ')" = "snapshot dump release " ] && [ "$name" = "abs-2026-12-02-$j" ] ||
	fail "crippled mode: $(cat calls.log)"
grep -q "^dump .*entity=vol.s .*status=complete" "$T/journal/dumplog" || fail "no complete dump of vol.s in the crippled dump log"
ok "crippled mode: job $j ran snapshot $name, dump, release as the cache had them"
