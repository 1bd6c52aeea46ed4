# Moving a media server to another master mid-dump, across hosts (issue
# 17; README "Several hosts"): abs-ctld on host A, a media server on host
# B whose configured master (--config FILE, CONTROL=tls://...) is A, over
# TLS 1.3 in network namespaces (tests/integration/netns.sh,
# hosts_lib.sh). Host A's control role moves to a crippled abs-ctld on
# host C started from a copy of A's journal directory (its catalog cache
# carries the entities and the media servers allowed) with a journal of
# its own. CONTROL= is pointed at C and the media server gets SIGHUP
# during a dump (its source a FIFO the test feeds): the job goes on
# without a break, the media server registers with C and reports it, C
# adopts it; the dump completes once (C's dump log, the media server's
# journal). Back to normal: C's journal merged into A's catalog, the
# media server moved back to A by SIGHUP: the catalog holds the dump
# once, and its restore equals the bytes fed.
[ -w /dev/shm ] && TMPDIR=/dev/shm
. "$(dirname "$0")/lib.sh"
. "$ABS_TOP/tests/integration/netns.sh"
. "$ABS_TOP/tests/integration/hosts_lib.sh"
export TZ=UTC ABS_RUN_DIR="$T"
netns_up
pki_site
ctld_start A --grace 3600
CA_PID=$CPID
admin server-allow b0 "$(subject "$PKI/tapehost-b.pem")" >/dev/null || fail "server-allow b0"
ok "abs-ctld on host A listening on $(host_ip A):$PORT"

"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 64M --barcode-prefix M >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
admin tape-add default M00001 M00002 M00003 M00004 M00005 M00006 >/dev/null
mkfifo "$T/src.fifo"
: >"$T/big.stream"
# feed N K: N random bytes to the dump's source (background: it blocks
# until the dump reads them) and to big.stream (what a restore gives).
feed() {
	head -c "$1" /dev/urandom >"$T/chunk.$2"
	cat "$T/chunk.$2" >>"$T/big.stream"
	cat "$T/chunk.$2" >&4 &
	FEED=$!
}
admin entity-add big "cmd:cat $T/src.fifo" >/dev/null || fail "entity-add big"
# The media server's master comes from its configuration file.
printf 'CONTROL=tls://%s:%s\n' "$(host_ip A)" "$PORT" >"$T/b0.env"
ms_start B b0 "vtape:$T/lib/drive0" tapehost-b --config "$T/b0.env"
EPID=$MSPID
until_ok '[ "$(drive_state b0)" = idle ]'
# The FIFO's writing end, held here only (daemons started from here on
# are given it closed: the source ends when this shell closes it).
exec 4<>"$T/src.fifo"
ok "host B's media server registered drive b0 with host A (CONTROL= in its --config)"

j=$(admin --json dump b0 big | jq -r '.jobs[0]')
[ -n "$j" ] && [ "$j" != null ] || fail "dump b0 big: no job"
feed 2097152 1
until_ok '! kill -0 $FEED 2>/dev/null'
until_ok '[ "$(admin --json status | jq -r ".drives[] | select(.drive == \"b0\") | .state")" = writing ]'
ok "job $j dumps big on B's drive for host A (2 MiB read)"

# Host C takes over: a crippled abs-ctld from a copy of A's journal
# directory (catalog-cache.json: entities, the ACL, media servers), its
# own journal and catalog path, listening on C's address (abs-ctld's
# certificate names both hosts).
cp -r "$T/crippled" "$T/standby"
rm -f "$T/standby/lock"
ctld_start C --db "$T/standby.db" --journal "$T/standby" --crippled 4>&-
CC_PID=$CPID
CPID=$CA_PID
cadmin() { on C "$CTL" --socket "$T/ctld-C.sock" "$@"; }
cadmin status | grep -q "CRIPPLED MODE" || fail "abs-ctld on C is not in crippled mode"
ok "a crippled abs-ctld on host C listening on $(host_ip C):$PORT"

# Point the media server at C and tell it, mid-dump.
printf 'CONTROL=tls://%s:%s\n' "$(host_ip C)" "$PORT" >"$T/b0.env"
kill -HUP "$EPID"
feed 2097152 2	# SIGHUP is taken between blocks
until_ok 'grep -q "SIGHUP: registering drive b0 with abs-ctld at tls://$(host_ip C)" "$T/engine-b0.log"'
until_ok 'cadmin --json jobs | jq -e ".[] | select(.state == \"running\")" >/dev/null 2>&1'
j2=$(cadmin --json jobs | jq -r '.[] | select(.state == "running") | .id')
[ "$j2" -gt 1000000000 ] || fail "the adopted job's ID $j2 is not a crippled-mode ID"
grep -q "b0: job $j2: dump big adopted, reported by its media server" "$T/ctld-C.log" ||
	{ tail -n 20 "$T/ctld-C.log" >&2; fail "C did not say it adopted job $j as $j2"; }
cadmin --json jobs | grep -q "adopted: job $j of master" ||
	fail "C's job $j2 does not say where it came from: $(cadmin --json jobs)"
[ "$(cadmin --json jobs | jq -r '[.[] | select(.state == "running")] | length')" = 1 ] ||
	fail "C runs other than one job: $(cadmin --json jobs)"
until_ok '! kill -0 $FEED 2>/dev/null'
kill -0 "$EPID" || fail "the media server died moving"
! grep -q "^aborted .*entity=big" "$T/journal-b0.log" 2>/dev/null || fail "the job was interrupted: $(grep '^aborted' "$T/journal-b0.log")"
[ "$(jq -r .state "$T/journal-b0.log.job")" = running ] || fail "the media server's job: $(cat "$T/journal-b0.log.job")"
[ "$(jq -r .id "$T/journal-b0.log.job")" = "$j" ] || fail "the media server's job is not $j: $(cat "$T/journal-b0.log.job")"
ok "SIGHUP mid-dump: b0 registered with host C, which adopted job $j as $j2; the job went on (2 MiB more read)"

feed 4194304 3
until_ok '! kill -0 $FEED 2>/dev/null'
exec 4>&-	# the source's end
until_ok 'cadmin --json jobs | jq -e ".[] | select(.id == $j2 and .state != \"running\")" >/dev/null 2>&1'
[ "$(cadmin --json jobs | jq -r ".[] | select(.id == $j2) | .state")" = done ] ||
	{ cadmin jobs >&2; tail -n 20 "$T/engine-b0.log" >&2; fail "job $j2 on C did not end done"; }
[ "$(grep -c '^dump .*entity=big .*status=complete' "$T/standby/dumplog")" = 1 ] ||
	fail "C's dump log: $(grep -c '^dump .*entity=big' "$T/standby/dumplog") dump lines of big"
[ "$(grep -c '^dump .*entity=big' "$T/journal-b0.log")" = 1 ] || fail "the media server's journal: not one dump of big"
until_ok '[ ! -e "$T/journal-b0.log.job" ]'
ok "the dump completed once: job $j2 done on C, one dump line in C's dump log and in the media server's journal"

# Back to normal: C's journal merged into A's catalog, the media server
# moved back to A.
admin --json merge "$T/standby" </dev/null >merge.json || fail "merge of C's journal: $(cat merge.json)"
printf 'CONTROL=tls://%s:%s\n' "$(host_ip A)" "$PORT" >"$T/b0.env"
kill -HUP "$EPID"
until_ok '[ "$(drive_state b0)" = idle ]'
admin --json merge "$T/standby" </dev/null >merge2.json || fail "merging again: $(cat merge2.json)"
jq -e '.dumps == 0 and .parts == 0' merge2.json >/dev/null || fail "merging again changed the catalog: $(cat merge2.json)"
[ "$(q "SELECT count(*) FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = 'big'")" = 1 ] ||
	fail "A's catalog holds big's dump other than once: $(q "SELECT id, dump_uid, state, job_id FROM dumps")"
[ "$(q "SELECT d.state FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = 'big'")" = complete ] ||
	fail "big's dump in A's catalog: $(q "SELECT state FROM dumps")"
ok "C's journal merged into A's catalog ($(cat merge.json)); b0 back with A; big's dump there once, complete (job $j: $(q "SELECT state FROM jobs WHERE id = $j"))"

r=$(admin --json restore big --to "$T/big.out" | jq -r '.job')
until_ok '[ "$(q "SELECT state FROM jobs WHERE id = '"$r"'")" != running ] && [ "$(q "SELECT state FROM jobs WHERE id = '"$r"'")" != queued ]'
[ "$(q "SELECT state FROM jobs WHERE id = $r")" = done ] || { admin jobs >&2; fail "restore job $r"; }
cmp "$T/big.stream" "$T/big.out" || fail "the restore of big differs from what was fed"
ok "big's restore from A equals the $(wc -c <"$T/big.stream") bytes fed"
ctld_up
kill -0 "$CC_PID" || fail "C's abs-ctld is gone"
if grep -l "Sanitizer\|runtime error" "$T"/ctld-A.log "$T"/ctld-C.log "$T"/engine-b0.log; then
	cat "$T"/ctld-A.log "$T"/ctld-C.log "$T"/engine-b0.log >&2
	fail "sanitizer reports"
fi
ok "no sanitizer reports"
