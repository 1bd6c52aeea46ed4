# abs-ctl's global options (--json, --socket, --timeout) before or after
# the command, against a real abs-ctld; a command's own option of the same
# name (discover-add --timeout) stays the command's; each usage error names
# the right form; abs-ctl --version and abs-engine --version print the
# project's version (common/version.h), the tape format version
# (engine/format.h) and the protocol version (proto/proto.h);
# --list-commands is the request table's commands.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
TOP=${ABS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
unset ABS_CTL_SOCKET

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
w_end=$(deadline)
until [ -S "$T/ctld.sock" ]; do
	before "$w_end" || fail "abs-ctld did not start"; sleep 0.1
done

# --json and --socket before, after, mixed; the same answer each time.
"$CTL" --socket "$T/ctld.sock" --json status >a.json || fail "globals before"
for form in "status --json --socket $T/ctld.sock" \
    "--json status --socket $T/ctld.sock" \
    "--socket $T/ctld.sock status --json" \
    "status --socket=$T/ctld.sock --timeout 5 --json" \
    "status --timeout=5 --json --socket $T/ctld.sock"; do
	# shellcheck disable=SC2086
	"$CTL" $form >b.json 2>err.txt || { cat err.txt >&2; fail "abs-ctl $form"; }
	cmp -s a.json b.json || fail "abs-ctl $form: another answer"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' b.json ||
		fail "abs-ctl $form: not JSON"
done
ok "abs-ctl status --json --socket PATH: globals before or after the command"

# After a command's arguments, between them, and with its options.
"$CTL" pool-add night --socket "$T/ctld.sock" >/dev/null || fail "pool-add with --socket after"
"$CTL" --socket "$T/ctld.sock" tape-add night N1 --json N2 >t.json || fail "--json between list words"
grep -q '"N2"' t.json || { cat t.json >&2; fail "tape-add's list lost a word to --json"; }
"$CTL" tapes --pool night --socket "$T/ctld.sock" --json >p.json
grep -q '"label": *"N1"' p.json && grep -q '"label": *"N2"' p.json ||
	{ cat p.json >&2; fail "tapes --pool night --json"; }
# A batch line's global options after its command.
printf 'status --json\npools --json\n' | "$CTL" --socket "$T/ctld.sock" batch - >batch.txt ||
	fail "batch with --json after the commands"
[ "$(python3 -c 'import json,sys
n = 0
for l in open(sys.argv[1]):
    json.loads(l); n += 1
print(n)' batch.txt)" = 2 ] || { cat batch.txt >&2; fail "batch: not two JSON answers"; }
# A value of abs-ctl's own option that looks like a global one is the
# option's (report --subject --json: a subject, not JSON output).
"$CTL" report --html - --subject --json --socket "$T/ctld.sock" | head -n 1 >h.txt
grep -q '^<!DOCTYPE html>' h.txt || { cat h.txt >&2; fail "report --subject --json took --json"; }
ok "global options among a command's words and options"

# ABS_CTL_SOCKET, and --socket over it.
ABS_CTL_SOCKET="$T/ctld.sock" "$CTL" status --json >c.json || fail "ABS_CTL_SOCKET"
cmp -s a.json c.json || fail "ABS_CTL_SOCKET: another answer"
ABS_CTL_SOCKET="$T/none.sock" "$CTL" status --socket "$T/ctld.sock" >/dev/null ||
	fail "--socket after the command does not override ABS_CTL_SOCKET"
ok "ABS_CTL_SOCKET, overridden by --socket after the command"

# discover-add's own --timeout is the command's, not abs-ctl's.
"$CTL" --socket "$T/ctld.sock" server-add srv1 >/dev/null
"$CTL" --socket "$T/ctld.sock" type-add home --full 7 --incr 1 >/dev/null
"$CTL" discover-add srv1 --type home --cmd 'echo x' --timeout 17 --socket "$T/ctld.sock" >/dev/null ||
	fail "discover-add --timeout 17"
"$CTL" --socket "$T/ctld.sock" --json discoveries >d.json
grep -q "\"timeout_s\":17" d.json || { cat d.json >&2; fail "discover-add's --timeout was not the command's"; }
ok "discover-add --timeout SEC stays the command's"

# A daemon that is not there: --socket after the command is used.
expect_fail "cannot reach abs-ctld at $T/none.sock" "$CTL" status --socket "$T/none.sock"
rc=0; "$CTL" status --socket "$T/none.sock" 2>/dev/null || rc=$?
[ $rc = 3 ] || fail "no daemon: exit $rc, not 3"

# Usage errors: exit 2, the problem, the right form.
usage_err() {	# PATTERN FORM CMD...
	pat=$1 form=$2
	shift 2
	"$@" >u.txt 2>&1 && { cat u.txt >&2; fail "should have failed: $*"; }
	rc=$?
	[ $rc = 2 ] || { cat u.txt >&2; fail "$*: exit $rc, not 2"; }
	grep -q -- "$pat" u.txt || { cat u.txt >&2; fail "$*: no '$pat'"; }
	grep -qF -- "$form" u.txt || { cat u.txt >&2; fail "$*: no right form '$form'"; }
	ok "usage: $(head -n1 u.txt)"
}
S="--socket $T/ctld.sock"
# shellcheck disable=SC2086
{
usage_err "restore needs ENTITY" "usage: abs-ctl restore ENTITY [--date D]" "$CTL" $S restore
usage_err "restore: --date needs a value" "usage: abs-ctl restore ENTITY" "$CTL" restore e1 $S --date
usage_err "jobs: --count takes a number, not 'x'" "usage: abs-ctl jobs [--count N]" "$CTL" jobs --count x $S
# A job id that is empty or past 64 bits is not a number (it was job 0, or
# the largest id, and abs-ctld said "no job").
usage_err "job-wait: '' is not a number" "usage: abs-ctl job-wait JOB" "$CTL" job-wait "" $S
usage_err "job-wait: '99999999999999999999' is not a number" "usage: abs-ctl job-wait JOB" "$CTL" job-wait 99999999999999999999 $S
usage_err "abort: '-99999999999999999999' is not a number" "usage: abs-ctl abort" "$CTL" abort -99999999999999999999 $S
usage_err "status takes no --bogus" "usage: abs-ctl status" "$CTL" status --bogus $S
usage_err "status: unexpected 'extra'" "usage: abs-ctl status" "$CTL" status extra $S
usage_err "--socket needs a path" "--socket PATH, before or after the command" "$CTL" status --socket
usage_err "--timeout needs seconds" "--timeout SEC, before or after the command" "$CTL" status --timeout soon $S
usage_err "--timeout needs seconds" "--timeout SEC" "$CTL" --timeout -1 status
usage_err "unknown option --frob" "usage: abs-ctl [--socket PATH | --host H[:PORT]] [--json] [--timeout SEC]" "$CTL" --frob status
usage_err "no command" "usage: abs-ctl [--socket PATH | --host H[:PORT]]" "$CTL" --json
usage_err "unknown command 'frob'" "abs-ctl --help" "$CTL" frob --json $S
usage_err "" "usage: abs-ctl batch FILE|-" "$CTL" batch $S
usage_err "" "usage: abs-ctl watch [--count N]" "$CTL" watch --count many $S
usage_err "no dump log named" "usage: abs-ctl merge [--pool P]" "$CTL" merge $S --json
usage_err "" "usage: abs-ctl rebuild --drive DRIVE" "$CTL" rebuild $S
}
"$CTL" watch --count 1 --socket "$T/ctld.sock" >/dev/null || fail "watch --count 1 --socket after"

# --version: the three versions, from where they are defined.
want_v=$(sed -n 's/^#define ABS_VERSION "\(.*\)"/\1/p' "$TOP/common/version.h")
want_f=$(sed -n 's/^#define FMT_VERSION \([0-9]*\).*/\1/p' "$TOP/engine/format.h")
want_p=$(sed -n 's/^#define PROTO_VERSION \([0-9]*\).*/\1/p' "$TOP/proto/proto.h")
[ -n "$want_v" ] && [ -n "$want_f" ] && [ -n "$want_p" ] || fail "versions not found in the sources"
for prog in abs-ctl abs-engine; do
	"$ABS_BIN/$prog" --version >v.txt || fail "$prog --version: exit $?"
	printf '%s %s\ntape format version %s\nprotocol version %s\n' "$prog" \
		"$want_v" "$want_f" "$want_p" | cmp -s - v.txt ||
		{ cat v.txt >&2; fail "$prog --version"; }
done
ok "abs-ctl --version, abs-engine --version: $want_v, tape format $want_f, protocol $want_p"

# --list-commands: the table's commands (abs-ctl --requests less the
# internal rows) and abs-ctl's own (batch, raw, watch, tui).
"$CTL" --requests | awk '$NF != "internal" { print $1 }' | sort >want.txt
printf 'batch\nraw\nwatch\ntui\n' >>want.txt
"$CTL" --list-commands | sort >got.txt
sort want.txt | cmp -s - got.txt || { diff want.txt got.txt >&2; fail "--list-commands"; }
"$CTL" --list-options restore | grep -qx -- '--date word' || fail "--list-options restore"
"$CTL" --list-options discover-add | grep -qx -- '--timeout number' || fail "--list-options discover-add"
ok "--list-commands is the request table's; --list-options"
