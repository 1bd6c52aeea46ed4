#!/bin/sh
# Control-plane crash campaign: abs-ctld and two media servers (abs-engine
# serve, each on its own vtape library) run dump and restore jobs; at a
# random instant of them one of the three is killed with SIGKILL, then
# restarted (a media server that left with abs-ctld is started again too).
# Half the media-server kills are armed at a crash point instead
# (ABS_CRASH_AT: a block write, filemark, spot-verification read or
# locate, load, changer move or journal line of the job, a dump job
# written and not committed, its commit point's filemark, its commit
# point in the journal and not yet told), falling back to
# the random instant if the point is not reached by then.
# When every job has settled the catalog must agree with the tapes:
#   - PRAGMA integrity_check is ok;
#   - a new dump on each drive works;
#   - no job stays queued or running, no tape stays reserved, once the
#     processes have had SETTLE seconds (no live job is left by then:
#     the campaign starts nothing else meanwhile);
#   - every dump the catalog calls complete restores (abs-ctl restore on a
#     media server) byte for byte like its source; at the end of each run
#     all of them are restored again;
#   - no job has two complete dumps, no tape file is a part of two
#     complete dumps.
#
# Usage: crash_ctl.sh BUILD KILLS [FIRST_SEED]
# One run is one catalog and two libraries, and up to 8 kills in a row;
# a failure ends its run and prints the seed (crash_ctl.sh BUILD 1 SEED
# replays the choices: which jobs, which process, the delay; the instant
# the delay lands on depends on the machine's speed). CRASH_SETTLE=SECS
# (default 120) is how long jobs may take to settle after a restart;
# CRASH_VICTIMS (default "ctld A B") names what may be killed (A and B are
# the media servers); CRASH_KEEP=1 keeps the temp dir. Prints one line "crash-ctl: ...";
# exits non-zero on any failure.
set -u
BUILD=$1
KILLS=${2:-200}
SEED0=${3:-$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2000000000 ))}
SETTLE=${CRASH_SETTLE:-120}
VICTIMS=${CRASH_VICTIMS:-ctld A B}
BIN=$(cd "$BUILD/bin" && pwd)
CTLD=$BIN/abs-ctld CTL=$BIN/abs-ctl ENGINE=$BIN/abs-engine VTAPE=$BIN/abs-vtape
# deadline, before: waits bounded by time.
. "$(dirname "$0")/wait.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/abs-crash-ctl.XXXXXX")
CPID= EA= EB=
stop_all() {
	for p in $CPID $EA $EB; do kill -9 "$p" 2>/dev/null; done
	for p in $CPID $EA $EB; do wait "$p" 2>/dev/null; done
	CPID= EA= EB=
}
cleanup() {
	stop_all
	[ -n "${CRASH_KEEP:-}" ] && { echo "kept $T"; return; }
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM HUP
trap 'exit 130' INT
cd "$T" || exit 1
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
head -c 16000000 /dev/urandom >pool.bin
# A slow source: 64 KiB at a time, so kills land inside jobs.
cat >slow.sh <<'EOF'
n=$(( ($(stat -c %s "$1") + 65535) / 65536 )) i=0
while [ $i -lt $n ]; do
	dd if="$1" bs=65536 skip=$i count=1 status=none
	sleep 0.02
	i=$((i + 1))
done
EOF
kills=0 ctldkills=0 pointkills=0 runs=0 verified=0 complete=0 lost=0 dup=0 stuck=0 errors=0
jobs_run=0
bad() {	# CLASS MESSAGE
	echo "FAIL $1 (seed $seed, kill $kn): $2"
	eval "$1=\$(( $1 + 1 ))"
	runbad=1
}

start_ctld() {
	# --commit-every 3: kills land between a dump written and committed too.
	"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
		--commit-every 3 2>>"$T/ctld.log" &
	CPID=$!
	w_end=$(deadline)
	until "$CTL" whoami >/dev/null 2>&1; do
		before "$w_end" || { bad errors "abs-ctld does not answer: $(tail -n2 ctld.log)"; return 1; }
		sleep 0.1
	done
}
# start_ms A|B [POINT:N]: the media server of library A or B, armed to
# kill itself at a crash point (common/crash.h) if one is given.
start_ms() {
	ABS_CRASH_AT=${2:-} "$ENGINE" serve --control "$T/ctld.sock" \
		--drive "lib$1" --device "vtape:$T/lib$1/drive0" \
		--log "$T/journal-$1.log" --block-size 65536 \
		2>>"$T/engine-$1.log" &
	eval "E$1=\$!"
}
# Media servers that left (with abs-ctld, or killed) are started again.
revive() {
	kill -0 "$CPID" 2>/dev/null || start_ctld || return 1
	for m in A B; do
		eval "p=\$E$m"
		if [ -n "$p" ]; then
			kill -0 "$p" 2>/dev/null && continue
			wait "$p" 2>/dev/null
		fi
		start_ms "$m"
	done
}
# Both drives registered (idle or busy) within SETTLE seconds; like a
# supervisor (systemd's Restart=), what leaves meanwhile is started again.
registered() {
	w_end=$(deadline "$SETTLE")
	while :; do
		revive || return 1
		"$CTL" --json status >st.txt 2>/dev/null
		grep -q '"drive":"libA"' st.txt && grep -q '"drive":"libB"' st.txt &&
			! grep -q '"state":"offline"' st.txt && return 0
		before "$w_end" || return 1
		sleep 0.1
	done
}
q() { sqlite3 -cmd ".timeout 5000" "$T/catalog.db" "$1"; }
# Every job done, failed or aborted, within SETTLE seconds.
settle() {
	w_end=$(deadline "$SETTLE")
	while [ "$(q "SELECT count(*) FROM jobs WHERE state IN ('queued','running')")" != 0 ]; do
		before "$w_end" || return 1
		sleep 0.2
	done
}
job_of() { sed -n 's/.*"jobs*":\[*\([0-9][0-9]*\).*/\1/p'; }
# restore_check ENTITY: restore its latest complete dump and compare.
restore_check() {
	rm -f "$T/out.bin"
	# The drive of the library that holds the tapes (A..., B...).
	lib=$(q "SELECT substr(t.label, 1, 1) FROM dumps d JOIN entities e ON e.id = d.entity_id JOIN dump_parts p ON p.dump_id = d.id JOIN tapes t ON t.id = p.tape_id WHERE e.name = '$1' AND d.state = 'complete' ORDER BY d.id DESC, p.part LIMIT 1")
	j=$("$CTL" --json restore "$1" --to "$T/out.bin" --drive "lib$lib" 2>&1 | job_of)
	[ -n "$j" ] || { bad lost "no restore job for complete dump of $1"; return; }
	w_end=$(deadline "$SETTLE")
	while :; do
		s=$(q "SELECT state FROM jobs WHERE id = $j")
		case $s in done|failed|aborted) break ;; esac
		before "$w_end" || { bad stuck "restore job $j of $1 never ends ($s)"; return; }
		sleep 0.2
	done
	if [ "$s" != done ]; then
		bad lost "complete dump of $1 does not restore: job $j $s: $(q "SELECT detail FROM jobs WHERE id = $j")"
	elif ! cmp -s "src.$1" out.bin; then
		bad lost "complete dump of $1 restores different bytes"
	else
		verified=$((verified + 1))
	fi
}
# The catalog against the tapes and itself.
check_catalog() {
	r=$(q "PRAGMA integrity_check")
	[ "$r" = ok ] || bad errors "integrity_check: $r"
	n=$(q "SELECT group_concat(id || ':' || state) FROM jobs WHERE state IN ('queued','running')")
	[ -z "$n" ] || bad stuck "jobs left without a live job: $n"
	n=$(q "SELECT group_concat(label) FROM tapes WHERE state = 'reserved'")
	[ -z "$n" ] || bad stuck "tapes left reserved: $n"
	n=$(q "SELECT group_concat(job_id) FROM (SELECT job_id FROM dumps WHERE state = 'complete' AND job_id IS NOT NULL GROUP BY job_id HAVING count(*) > 1)")
	[ -z "$n" ] || bad dup "jobs with two complete dumps: $n"
	n=$(q "SELECT group_concat(t.label || ':' || p.file) FROM dump_parts p JOIN dumps d ON d.id = p.dump_id JOIN tapes t ON t.id = p.tape_id WHERE d.state = 'complete' GROUP BY p.tape_id, p.file HAVING count(*) > 1")
	[ -z "$n" ] || bad dup "tape files in two complete dumps: $n"
	n=$(q "SELECT group_concat(e.name) FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE d.state = 'complete' AND (SELECT count(*) FROM dump_parts p WHERE p.dump_id = d.id) = 0")
	[ -z "$n" ] || bad lost "complete dumps without parts: $n"
}
# After a restart each drive must take a new dump (a small one).
probe() {
	pj=
	for m in A B; do
		e=$((e + 1))
		head -c 100000 pool.bin >"src.e$e"
		"$CTL" entity-add "e$e" "cmd:cat $T/src.e$e" >/dev/null ||
			bad errors "entity-add e$e failed"
		j=$("$CTL" --json dump "lib$m" "e$e" 2>&1 | job_of)
		[ -n "$j" ] || { bad stuck "no new dump on lib$m ($what)"; continue; }
		pj="$pj $m:$j"
		jobs_run=$((jobs_run + 1))
	done
	settle || { bad stuck "new dumps never end ($what)"; return; }
	for mj in $pj; do
		j=${mj#*:}
		[ "$(q "SELECT state FROM jobs WHERE id = $j")" = done ] ||
			bad stuck "after the restart a new dump on lib${mj%%:*} fails ($what): $(q "SELECT detail FROM jobs WHERE id = $j")"
	done
}
# Restore the complete dumps not yet checked (all of them with "all").
check_restores() {
	q "SELECT DISTINCT e.name FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE d.state = 'complete' ORDER BY e.name" >complete.txt
	while read -r ent; do
		[ "$1" = all ] || ! grep -qx "$ent" verified.txt || continue
		restore_check "$ent"
		[ "$runbad" = 0 ] || return
		echo "$ent" >>verified.txt
	done <complete.txt
}

while [ "$kills" -lt "$KILLS" ]; do
	seed=$((SEED0 + runs))
	runs=$((runs + 1))
	runbad=0 kn=0
	stop_all
	rm -rf libA libB catalog.db* crippled journal-* src.* verified.txt ./*.log
	: >verified.txt
	for m in A B; do
		"$VTAPE" new-library "lib$m" --slots 10 --drives 1 --capacity 5M \
			--barcode-prefix "$m" >/dev/null
	done
	start_ctld || break
	"$CTL" tape-add default A00001 A00002 A00003 A00004 A00005 A00006 \
		A00007 A00008 A00009 A00010 B00001 B00002 B00003 B00004 B00005 \
		B00006 B00007 B00008 B00009 B00010 >/dev/null
	start_ms A
	start_ms B
	registered || { bad stuck "media servers do not register"; continue; }
	nk=$(awk -v s="$seed" 'BEGIN { srand(s); print 3 + int(rand() * 6) }')
	e=0
	while [ "$kn" -lt "$nk" ] && [ "$runbad" = 0 ] && [ "$kills" -lt "$KILLS" ]; do
		kn=$((kn + 1))
		set -- $(awk -v s="$seed" -v k="$kn" -v victims="$VICTIMS" 'BEGIN {
			srand(s * 13 + k)
			n = 1 + int(rand() * 2)
			printf "%d", n
			for (i = 0; i < n; i++)
				printf " %s %d", rand() < 0.5 ? "A" : "B", \
				    65536 + int(rand() * 6000000)
			printf " %d", rand() < 0.4
			nv = split(victims, V, " ")
			printf " %s %.2f", V[1 + int(rand() * nv)], rand() * 3
			# Half the media-server kills are at a crash point of the
			# jobs (if it is reached before the delay ends).
			# written, commit, committed: a dump job written
			# behind an immediate filemark and its commit point
			# (docs/NIGHTLY.md "Commit points").
			split("scsi-write scsi-filemark scsi-read scsi-locate " \
			    "scsi-load changer-move dumplog written commit " \
			    "committed", P, " ")
			split("80 4 6 4 3 3 3 2 2 2", M, " ")
			i = 1 + int(rand() * 10)
			printf " %s\n", rand() < 0.5 ? P[i] ":" (1 + int(rand() * M[i])) : "-"
		}')
		n=$1
		shift
		eval "point=\${$((n * 2 + 4))}"
		victim=$(eval "echo \${$((n * 2 + 2))}")
		case $victim in
		A|B)	[ "$point" = - ] && point=
			# Media servers are idle here: restart the victim armed.
			if [ -n "$point" ]; then
				eval "p=\$E$victim"
				kill "$p" 2>/dev/null
				wait "$p" 2>/dev/null
				start_ms "$victim" "$point"
				registered || bad stuck "media server $victim does not register"
			fi ;;
		*)	point= ;;
		esac
		jobs=""
		while [ "$n" -gt 0 ]; do
			e=$((e + 1))
			drive=$1 len=$2
			shift 2
			n=$((n - 1))
			off=$(( ($(printf '%s %s' "$seed" "$e" | cksum | cut -d' ' -f1) % 2000) * 4096 ))
			tail -c +$((off + 1)) pool.bin | head -c "$len" >"src.e$e"
			"$CTL" entity-add "e$e" "cmd:sh $T/slow.sh $T/src.e$e" >/dev/null ||
				bad errors "entity-add e$e failed"
			"$CTL" --json dump "lib$drive" "e$e" >reply.txt 2>&1
			j=$(job_of <reply.txt)
			# An armed media server may reach its crash point before
			# the job (reading the drive as it registers).
			if [ -z "$j" ] && { [ "$drive" != "$victim" ] || [ -z "$point" ] ||
				eval "kill -0 \$E$drive" 2>/dev/null; }; then
				bad errors "dump of e$e on lib$drive not started: $(cat reply.txt)"
			fi
			jobs="$jobs $j"
			jobs_run=$((jobs_run + 1))
		done
		withrestore=$1 victim=$2 delay=$3
		if [ "$withrestore" = 1 ] && [ -s verified.txt ]; then
			r=$(awk -v s="$seed" -v k="$kn" -v n="$(wc -l <verified.txt)" \
				'BEGIN { srand(s * 17 + k); print 1 + int(rand() * n) }')
			r=$(sed -n "${r}p" verified.txt)
			lib=$(q "SELECT substr(t.label, 1, 1) FROM dumps d JOIN entities e ON e.id = d.entity_id JOIN dump_parts p ON p.dump_id = d.id JOIN tapes t ON t.id = p.tape_id WHERE e.name = '$r' AND d.state = 'complete' LIMIT 1")
			"$CTL" --json restore "$r" --to "$T/rest.bin" --drive "lib$lib" >/dev/null 2>&1
			jobs_run=$((jobs_run + 1))
		fi
		sleep "$delay"
		case $victim in
		ctld) p=$CPID ;;
		A) p=$EA ;;
		B) p=$EB ;;
		esac
		what="jobs$jobs, kill $victim after ${delay}s"
		if [ -n "$point" ] && ! kill -0 "$p" 2>/dev/null; then
			what="jobs$jobs, $victim killed at crash point $point"
			kills=$((kills + 1)) pointkills=$((pointkills + 1))
		elif kill -9 "$p" 2>/dev/null; then
			kills=$((kills + 1))
			[ "$victim" = ctld ] && ctldkills=$((ctldkills + 1))
		fi
		wait "$p" 2>/dev/null
		if [ -n "$point" ]; then	# not armed after a restart
			eval "E$victim="
			revive
		fi
		sleep 0.2
		revive || break
		registered || bad stuck "media servers do not register again ($what)"
		[ "$runbad" = 0 ] || break
		settle || bad stuck "jobs still queued or running ${SETTLE}s after the restart ($what): $(q "SELECT group_concat(id || ':' || state) FROM jobs WHERE state IN ('queued','running')")"
		check_catalog
		[ "$runbad" = 0 ] && probe
		[ "$runbad" = 0 ] && check_restores new
		# The processes that left during the checks come back.
		revive
	done
	if [ "$runbad" = 0 ]; then
		check_restores all
		check_catalog
	fi
	[ -f complete.txt ] && complete=$((complete + $(wc -l <complete.txt)))
	rm -f complete.txt
	[ "$runbad" = 0 ] || echo "  replay: sh tests/integration/crash_ctl.sh BUILD 1 $seed ($what)"
done
stop_all
echo "crash-ctl: $kills kills ($ctldkills of abs-ctld, $pointkills at crash points) in $runs runs from seed $SEED0, $jobs_run jobs," \
	"$complete complete dumps, $verified restores byte-exact, $lost lost," \
	"$dup duplicated, $stuck stuck, $errors other errors"
[ $((lost + dup + stuck + errors)) -eq 0 ]
