# Served restores aim only where the requester may write (H-27, H-27b): a
# real abs-ctld and a root media server on a vtape library. A uid with only
# the retrieval role is refused a root-owned 0700 directory, an `--as` with
# a path, a target through a symlink it planted, and its own existing
# directory keeps its owner and mode (the dump's root entry goes only onto
# a directory the restore made). Its own directory, the default target
# (the engine's own 0700 root, ABS_RESTORE_ROOT) and root's named target
# work. Run as root (setpriv for the other uid).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (a root media server, setpriv)"
command -v setpriv >/dev/null || skip "no setpriv"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
export ABS_RESTORE_ROOT="$T/eng/restore"
chmod 755 "$T"
N=65534
as() { setpriv --reuid="$N" --regid="$N" --clear-groups "$@"; }
mode() { stat -c '%u %a' "$1"; }

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>"$T/ctld.log" &
PIDS="$PIDS $!"
w_end=$(deadline); until [ -S "$T/ctld.sock" ]; do before "$w_end" || fail "no socket"; sleep 0.1; done
chmod 666 "$T/ctld.sock"
job_state() { "$CTL" --json jobs | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
wait_job() {
	w_end=$(deadline)
	until case $(job_state "$1") in done|failed|aborted) true;; *) false;; esac; do
		before "$w_end" || fail "job $1 did not end"; sleep 0.1
	done
}
job_of() { sed -n 's/.*"job":\([0-9]*\).*/\1/p'; }

"$CTL" tape-add default A00001 A00002 >/dev/null
mkdir -p home/cron.d && echo '* * * * * root touch /tmp/owned' >home/cron.d/evil
chown -R "$N:$N" home && chmod 700 home
"$CTL" entity-add home.nobody "dir:$T/home" >/dev/null
"$VTAPE" new-library lib --slots 2 --drives 1 --capacity 8M --barcode-prefix A >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal.log" 2>"$T/engine.log" &
PIDS="$PIDS $!"
w_end=$(deadline); until "$CTL" --json status | grep -q '"state":"idle"'; do
	before "$w_end" || fail "media server not idle"; sleep 0.1; done
j=$("$CTL" --json dump lib0 home.nobody | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
wait_job "$j"
[ "$(job_state "$j")" = done ] || { cat engine.log >&2; fail "dump: $(job_state "$j")"; }
"$CTL" acl-set "$N" retrieval >/dev/null
ok "home.nobody (uid $N's, 0700) dumped; uid $N has the retrieval role"

# A root-owned 0700 directory: refused, untouched.
mkdir -m 700 rootonly
j=$(as "$CTL" --json restore home.nobody --to "$T/rootonly" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = failed ] || fail "retrieval restore into root's 0700 dir: $(job_state "$j")"
"$CTL" --json jobs | grep "\"id\":$j," | grep -q "uid $N may not write $T/rootonly (owner uid 0, mode 0700" ||
	{ "$CTL" --json jobs >&2; fail "no clear refusal for job $j"; }
[ "$(mode rootonly)" = "0 700" ] && [ -z "$(ls -A rootonly)" ] || fail "rootonly changed: $(mode rootonly)"
# A new directory under it, and / itself: refused the same way.
j=$(as "$CTL" --json restore home.nobody --to "$T/rootonly/new" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = failed ] && [ -z "$(ls -A rootonly)" ] || fail "restore under rootonly: $(job_state "$j")"
j=$(as "$CTL" --json restore home.nobody --to / | job_of)
wait_job "$j"
[ "$(job_state "$j")" = failed ] && [ ! -e /cron.d/evil ] || fail "restore to /: $(job_state "$j")"
j=$(as "$CTL" --json restore home.nobody --to "$T/mine/../rootonly" | job_of)
wait_job "$j"
"$CTL" --json jobs | grep "\"id\":$j," | grep -q "has a '..' component" || fail "'..' in --to not refused"
ok "uid $N refused a root 0700 directory, a new one in it, / and a '..' path; rootonly untouched"

# --as is a name: refused by abs-ctld.
for bad in ../x ../../../etc a/b ..; do
	expect_fail "takes a name without spaces, '/' or '..'" as "$CTL" restore home.nobody --as "$bad"
done
ok "--as with a path refused"

# A planted symlink as the target (its own, pointing at rootonly): refused.
mkdir mine && chown "$N:$N" mine && chmod 755 mine
as ln -s "$T/rootonly" mine/tree
j=$(as "$CTL" --json restore home.nobody --to "$T/mine/tree" | job_of)
wait_job "$j"
"$CTL" --json jobs | grep "\"id\":$j," | grep -q "is a symbolic link" ||
	{ "$CTL" --json jobs >&2; fail "restore through a planted link not refused"; }
[ "$(mode rootonly)" = "0 700" ] && [ -z "$(ls -A rootonly)" ] || fail "rootonly changed through a link"
# ... and a link to rootonly in the middle of the path, made by another uid.
mkdir -m 1777 vt && setpriv --reuid=65533 --regid=65533 --clear-groups ln -s "$T/rootonly" vt/abs-restore
j=$(as "$CTL" --json restore home.nobody --to "$T/vt/abs-restore/home.nobody" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = failed ] && [ -z "$(ls -A rootonly)" ] || fail "restore through another's link: $(job_state "$j")"
ok "targets through planted symlinks refused"

# A fifo of its own as the target: refused, the drive not held.
as mkfifo mine/fifo
j=$(as "$CTL" --json restore home.nobody --to "$T/mine/fifo" | job_of)
wait_job "$j"
"$CTL" --json jobs | grep "\"id\":$j," | grep -q "is neither a directory nor a regular file" ||
	fail "a fifo target not refused"
ok "a fifo target refused"

# Its own existing directory: restored, owner and mode kept (and the
# job's parts log is made anew, not written through a link at its name).
mkdir mine/existing && chown "$N:$N" mine/existing && chmod 755 mine/existing
echo keep >victim
ln -s "$T/victim" "$T/abs-restore-job-$((j + 1)).log"
j=$(as "$CTL" --json restore home.nobody --to "$T/mine/existing" | job_of)
wait_job "$j"
[ "$(cat victim)" = keep ] || fail "the parts log was written through a link"
[ "$(job_state "$j")" = done ] || { "$CTL" --json jobs >&2; fail "restore into its own dir: $(job_state "$j")"; }
[ -f mine/existing/cron.d/evil ] || fail "nothing restored into mine/existing"
[ "$(mode mine/existing)" = "$N 755" ] || fail "mine/existing took the dump's root: $(mode mine/existing)"
# A new directory in its own: made, and given the dump's root (0700).
j=$(as "$CTL" --json restore home.nobody --to "$T/mine/new" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = done ] && [ "$(mode mine/new)" = "$N 700" ] ||
	fail "restore into a new dir: $(job_state "$j"), $(mode mine/new 2>&1)"
ok "uid $N restores into its own directories; an existing one keeps its owner and mode"

# Missing directories above the target, in its own: made, and its own.
j=$(as "$CTL" --json restore home.nobody --to "$T/mine/deep/er/new" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = done ] && [ -f mine/deep/er/new/cron.d/evil ] &&
	[ "$(mode mine/deep)" = "$N 755" ] && [ "$(mode mine/deep/er)" = "$N 755" ] ||
	{ "$CTL" --json jobs >&2; fail "nested new target: $(job_state "$j"), $(mode mine/deep 2>&1)"; }
# A target that holds files: refused, untouched, unless --force.
j=$(as "$CTL" --json restore home.nobody --to "$T/mine/existing" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = failed ] && [ ! -e mine/existing/.abs-restore-INCOMPLETE ] ||
	fail "restore into a non-empty target: $(job_state "$j")"
"$CTL" --json jobs | grep "\"id\":$j," | grep -q "is not empty.*--force" ||
	{ "$CTL" --json jobs >&2; fail "no clear refusal of a non-empty target"; }
j=$(as "$CTL" --json restore home.nobody --to "$T/mine/existing" --force | job_of)
wait_job "$j"
[ "$(job_state "$j")" = done ] || { "$CTL" --json jobs >&2; fail "--force restore: $(job_state "$j")"; }
ok "missing directories made (uid $N's); a non-empty target only with --force"

# The default target: the engine's own 0700 root, AS a name under it.
j=$(as "$CTL" --json restore home.nobody --as nobody.copy | job_of)
wait_job "$j"
[ "$(job_state "$j")" = done ] || { "$CTL" --json jobs >&2; fail "default restore: $(job_state "$j")"; }
[ "$(mode eng/restore)" = "0 700" ] && [ -f eng/restore/nobody.copy/cron.d/evil ] ||
	fail "default root: $(mode eng/restore)"
ok "the default target is under the engine's own 0700 root"

# Root names any directory; root's restore into an existing one applies the
# dump's root entry (root asked for it).
mkdir -m 755 adminto
j=$("$CTL" --json restore home.nobody --to "$T/adminto" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = done ] && [ -f adminto/cron.d/evil ] || fail "root's restore: $(job_state "$j")"
[ "$(mode adminto)" = "$N 700" ] || fail "root's restore did not apply the root entry: $(mode adminto)"
# Even root's target is not a symlink.
ln -s "$T/rootonly" rootlink
j=$("$CTL" --json restore home.nobody --to "$T/rootlink" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = failed ] && [ -z "$(ls -A rootonly)" ] || fail "root restore through a link: $(job_state "$j")"
"$CTL" --json jobs | grep "\"id\":$j," | grep -q "rootlink is a symbolic link: restore does not follow it" ||
	{ "$CTL" --json jobs >&2; fail "no clear refusal of root's link target"; }
j=$("$CTL" --json restore home.nobody --to "$T/rootlink/" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = failed ] && [ -z "$(ls -A rootonly)" ] || fail "root restore through 'link/': $(job_state "$j")"
j=$(as "$CTL" --json restore home.nobody --to "$T/mine/tree/" | job_of)
wait_job "$j"
[ "$(job_state "$j")" = failed ] && [ -z "$(ls -A rootonly)" ] || fail "restore through 'link/': $(job_state "$j")"
ok "root restores where it names; never through a symlink target"
