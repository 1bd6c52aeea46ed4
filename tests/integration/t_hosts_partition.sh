# A network partition between hosts (issue 17): abs-ctld on host A, a
# media server on host B with a vtape library, over TLS 1.3 in network
# namespaces (tests/integration/netns.sh, hosts_lib.sh). B's cable is cut
# at the switch (neither end is told: a half-open connection on both
# sides) for longer than the half-open bound (proto/tls.h: keepalives
# idle 10 s, a probe every 5 s, and a 30 s TCP user timeout, on abs-ctld's
# accepted connection and on the media server's alike).
#
# Idle: both ends notice within the bound, abs-ctld says so in its log
# and the media server tries again with backoff; the cable back, it
# registers again. During a dump (its source a FIFO the test feeds: no
# race on sizes or progress figures, and one cartridge holds it all: a
# next tape is the catalog's to choose, which waits for a master): abs-
# ctld notices and keeps the job for its media server (--grace); the
# media server keeps reading its source and writing its cartridge while
# nobody hears it; the cable back, it registers and reports the job in
# progress; the dump completes, the catalog holds it once, its parts as
# the journal has them, and its restore equals the bytes fed. SIGTERM
# with B cut off (its connection and a half-done handshake): abs-ctld
# exits all the same.
[ -w /dev/shm ] && TMPDIR=/dev/shm
. "$(dirname "$0")/lib.sh"
. "$ABS_TOP/tests/integration/netns.sh"
. "$ABS_TOP/tests/integration/hosts_lib.sh"
export TZ=UTC ABS_RUN_DIR="$T"
# The half-open bound (proto/tls.h PROTO_TLS_DEAD_S).
BOUND=30
netns_up
pki_site
# A grace far above any partition here: the job must never be given up.
ctld_start A --grace 3600
admin server-allow b0 "$(subject "$PKI/tapehost-b.pem")" >/dev/null || fail "server-allow b0"
ok "abs-ctld on host A listening on $(host_ip A):$PORT"

# Host B: cartridges of 64 MiB (the dump's 12 MiB fit on one).
"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 64M --barcode-prefix P >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
admin tape-add default P00001 P00002 P00003 P00004 P00005 P00006 >/dev/null
ms_start B b0 "vtape:$T/lib/drive0" tapehost-b
EPID=$MSPID
until_ok '[ "$(drive_state b0)" = idle ]'
ok "host B's media server registered drive b0 over TLS"

now_ms() { date +%s%3N; }
# said LOG PATTERN: lines of LOG past its mark that match.
said() { tail -n +$(($(eval echo "\$MARK_$(echo "$1" | tr -c 'a-z0-9\n' _)") + 1)) "$T/$1" 2>/dev/null | grep -i -- "$2"; }
mark() { for f in "$@"; do eval "MARK_$(echo "$f" | tr -c 'a-z0-9\n' _)=$(wc -l <"$T/$f")"; done; }
# cut: B's cable down now; CUT holds when (ms).
cut() { CUT=$(now_ms); link_down B; }
# noticed LOG PATTERN: waits (300 s at most) for LOG to say it after the
# cut; prints the seconds since the cut.
noticed() {
	_w_end=$(deadline 300)
	until said "$1" "$2" >/dev/null; do
		before "$_w_end" || { tail -n 20 "$T/$1" >&2; fail "$1 never said '$2' after the cut"; }
		sleep 0.1
	done
	echo "$(( ($(now_ms) - CUT) / 1000 ))"
}
# cut_long: the cable stays down past the bound (both ends noticed by
# then; this makes the cut longer than the bound whatever they say).
cut_long() { while [ $(( $(now_ms) - CUT )) -le $(( (BOUND + 5) * 1000 )) ]; do sleep 1; done; }

# ---- idle ----
mark ctld-A.log engine-b0.log
cut
a=$(noticed ctld-A.log "connection to .* lost\|b0: media server disconnected")
b=$(noticed engine-b0.log "abs-ctld closed the connection\|lost abs-ctld")
said ctld-A.log "connection to .* lost" >/dev/null ||
	{ tail -n 20 "$T/ctld-A.log" >&2; fail "abs-ctld did not log the lost connection (and why)"; }
cut_long
[ "$(drive_state b0)" = offline ] || fail "b0 is $(drive_state b0) while B is cut off"
noticed engine-b0.log "next attempt in" >/dev/null
ok "idle: B cut off; abs-ctld noticed in ${a} s ($(grep "connection to .* lost" "$T/ctld-A.log" | tail -n 1 | sed 's/.*: connection/connection/')), the media server in ${b} s; it tries again with backoff"
IDLE_A=$a IDLE_B=$b
mark engine-b0.log
link_up B
until_ok 'said engine-b0.log "serving drive b0" >/dev/null'
until_ok '[ "$(drive_state b0)" = idle ]'
kill -0 "$EPID" || fail "b0's media server is gone"
ctld_up
ok "idle: the cable back, b0 registered again (the last try before: $(grep 'next attempt in' "$T/engine-b0.log" | tail -n 1 | sed 's/.*next attempt/next attempt/'))"

# ---- during a dump ----
# The source: a FIFO held open here (fd 4); feed N appends N random bytes
# to it and to big.stream (what a restore must give back), in the
# background (it blocks until the dump reads them).
mkfifo "$T/src.fifo"
exec 4<>"$T/src.fifo"
: >"$T/big.stream"
feed() {
	head -c "$1" /dev/urandom >"$T/chunk.$2"
	cat "$T/chunk.$2" >>"$T/big.stream"
	cat "$T/chunk.$2" >&4 &
	FEED=$!
}
admin entity-add big "cmd:cat $T/src.fifo" >/dev/null || fail "entity-add big"
j=$(admin --json dump b0 big | jq -r '.jobs[0]')
[ -n "$j" ] && [ "$j" != null ] || fail "dump b0 big: no job"
feed 2097152 1
# Writing: the job holds a loaded cartridge and has read what it was fed
# (the feeder ends only once the dump read it all).
until_ok '! kill -0 $FEED 2>/dev/null'
until_ok '[ "$(admin --json status | jq -r ".drives[] | select(.drive == \"b0\") | .state")" = writing ]'
[ "$(job_of big)" = "$j running" ] || fail "job $j: $(job_of big)"
ok "job $j dumps big from a FIFO on B's drive (2 MiB read)"

# What the cartridges hold (their files' bytes).
on_tape() { cat "$T"/lib/carts/*/file[0-9]* 2>/dev/null | wc -c; }
mark ctld-A.log engine-b0.log
cut
# Cut off, the dump goes on: 8 MiB more read and written on its
# cartridge (blocks of 1 MiB: at least 6 of them out of the buffers).
before=$(on_tape)
feed 8388608 2
a=$(noticed ctld-A.log "connection to .* lost")
noticed ctld-A.log "job $j: its media server is gone" >/dev/null
until_ok '! kill -0 $FEED 2>/dev/null'
until_ok '[ "$(on_tape)" -ge $((before + 6 * 1048576)) ]'
grew=$(( ($(on_tape) - before) / 1024 ))
b=$(noticed engine-b0.log "abs-ctld closed the connection\|lost abs-ctld\|did not answer")
cut_long
kill -0 "$EPID" || fail "b0's media server died cut off"
[ "$(job_of big)" = "$j running" ] || fail "job $j while B is cut off: $(job_of big)"
ok "during the dump: abs-ctld noticed in ${a} s and keeps job $j; the media server noticed in ${b} s, read 8 MiB more and wrote $grew KiB on its cartridge meanwhile"
DUMP_A=$a DUMP_B=$b
mark ctld-A.log engine-b0.log
link_up B
until_ok 'said engine-b0.log "serving drive b0 .*job in progress reported" >/dev/null'
until_ok 'said ctld-A.log "job $j: dump big resumed" >/dev/null'
ok "the cable back: b0 registered again and reported job $j in progress ($(grep "job $j: dump big resumed" "$T/ctld-A.log" | tail -n 1 | sed 's/.*: job/job/'))"
feed 2097152 3
until_ok '! kill -0 $FEED 2>/dev/null'
exec 4>&-	# the source's end
until_ok '[ "$(job_of big)" != "$j running" ]'
[ "$(job_of big)" = "$j done" ] || { tail -n 30 "$T/engine-b0.log" "$T/ctld-A.log" >&2; fail "job $j: $(job_of big)"; }
[ "$(q "SELECT count(*) FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = 'big'")" = 1 ] ||
	fail "the catalog holds big's dump other than once: $(q "SELECT id, dump_uid, state, job_id FROM dumps")"
[ "$(q "SELECT d.state || ' ' || d.job_id FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = 'big'")" = "complete $j" ] ||
	fail "big's dump: $(q "SELECT state, job_id FROM dumps")"
uid=$(q "SELECT d.dump_uid FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = 'big'")
jparts=$(grep -c "^part .*dump=$uid" "$T/journal-b0.log" || true)
cparts=$(q "SELECT count(*) FROM dump_parts p JOIN dumps d ON d.id = p.dump_id WHERE d.dump_uid = '$uid'")
[ "$jparts" -ge 1 ] && [ "$cparts" = "$jparts" ] ||
	fail "dump $uid: $jparts parts in the journal, $cparts in the catalog"
[ "$(grep -c "^dump .*dump=$uid" "$T/journal-b0.log")" = 1 ] || fail "the journal's dump lines of $uid"
ok "job $j done: dump $uid complete in the catalog once, its $cparts parts as in the journal"

r=$(admin --json restore big --to "$T/big.out" | jq -r '.job')
until_ok '[ "$(q "SELECT state FROM jobs WHERE id = '"$r"'")" != running ] && [ "$(q "SELECT state FROM jobs WHERE id = '"$r"'")" != queued ]'
[ "$(q "SELECT state FROM jobs WHERE id = $r")" = done ] || { admin jobs >&2; fail "restore job $r"; }
cmp "$T/big.stream" "$T/big.out" || fail "the restore of big differs from what was fed"
ok "big's restore equals the $(wc -c <"$T/big.stream") bytes fed"
ctld_up
kill -0 "$EPID" || fail "b0's media server is gone"
echo "measured: idle partition noticed by abs-ctld in $IDLE_A s, by the media server in $IDLE_B s; during a dump in $DUMP_A s and $DUMP_B s (bound $BOUND s)"

# SIGTERM while B is cut off: b0's TLS connection and a handshake left
# half done (the first bytes of a ClientHello, then nothing) have a peer
# that is gone; abs-ctld exits all the same, its connection threads out
# of OpenSSL before its cleanup (waited for generously: 120 s).
bg_on B bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "\026\003" >&3 && exec sleep 600' half "$(host_ip A)" "$PORT"
estab() { on A ss -Htn state established "( sport = :$PORT )" | grep -c "$(host_ip B)"; }
until_ok '[ "$(estab)" -ge 2 ]'
cut
kill "$CPID"
gone() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* (.*) [ZX] ' "/proc/$1/stat" 2>/dev/null; }
poll_until 'gone "$CPID"' 120 ||
	{ tail -n 20 "$T/ctld-A.log" >&2; cat "/proc/$CPID/task"/*/stack >&2 2>/dev/null; fail "abs-ctld did not exit on SIGTERM with B cut off"; }
wait "$CPID" 2>/dev/null || true
link_up B
ok "SIGTERM with B cut off (b0's connection and a half-done handshake to a peer gone): abs-ctld exited"
if grep -l "Sanitizer\|runtime error" "$T"/ctld-A.log "$T"/engine-b0.log; then
	cat "$T"/ctld-A.log "$T"/engine-b0.log >&2
	fail "sanitizer reports"
fi
ok "no sanitizer reports"
