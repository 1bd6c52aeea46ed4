# The man pages (man/): each renders with no warning (man --warnings),
# lexgrog finds its NAME section, its footer names the version of
# common/version.h, and it cannot drift from its program: every --flag the
# program's --help prints is in the page, abs-ctl's every command and each
# command's every option, the dump log's every key (catalog/dumplog.c's
# format). make install puts them under PREFIX/share/man/manN.
. "$(dirname "$0")/lib.sh"
TOP=${ABS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v man >/dev/null && command -v lexgrog >/dev/null || skip "man-db is needed (make deps)"
M="$TOP/man"
version=$(sed -n 's/^#define ABS_VERSION "\(.*\)"/\1/p' "$TOP/common/version.h")
pages="abs-engine.8 abs-ctld.8 abs-ctl.1 abs-cron.8 abs-vtape.1 abs-bench.1 abs-dumplog.5 abs-queue.1"

# render PAGE: the page as plain ASCII text (hyphens as '-').
render() { MANWIDTH=200 MAN_KEEP_FORMATTING= man -E ascii -l "$M/$1" 2>/dev/null | col -b; }

for p in $pages; do
	[ -f "$M/$p" ] || fail "no man/$p"
	w=$(MANWIDTH=80 man --warnings -E ascii -l "$M/$p" 2>&1 >/dev/null) || fail "$p: man failed"
	[ -z "$w" ] || { printf '%s\n' "$w" >&2; fail "$p: man --warnings says something"; }
	name=${p%.*}
	lexgrog "$M/$p" >lex.txt 2>&1 || { cat lex.txt >&2; fail "$p: lexgrog finds no NAME"; }
	grep -q ": \"$name - " lex.txt || { cat lex.txt >&2; fail "$p: NAME is not '$name - ...'"; }
	sect=${p##*.}
	head -n 5 "$M/$p" | grep -q "^\.TH $(echo "$name" | tr a-z A-Z) $sect .* \"ABS $version\"" ||
		fail "$p: .TH is not 'NAME $sect DATE \"ABS $version\"'"
done
ok "8 pages: no warning, a NAME each, version $version"

# flags_in PAGE: every --flag of stdin must be in the rendered PAGE.
flags_in() {
	render "$1" >page.txt
	[ -s page.txt ] || fail "$1 rendered empty"
	missing=""
	for f in $(grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qF -- "$f" page.txt || missing="$missing $f"
	done
	[ -z "$missing" ] || fail "$1 lacks$missing (in --help, not in the page)"
}
for prog in abs-engine abs-ctld abs-cron abs-vtape abs-bench abs-ctl abs-queue; do
	case $prog in
	abs-ctl) page=abs-ctl.1 ;;
	abs-vtape | abs-bench | abs-queue) page=$prog.1 ;;
	*) page=$prog.8 ;;
	esac
	{ "$ABS_BIN/$prog" --help 2>&1 || true
	  [ $prog != abs-engine ] || "$ABS_BIN/$prog" changer --help 2>&1 || true
	} | flags_in $page
	ok "$page: every flag of $prog --help"
done

# abs-ctl: every command of the request table, with each of its options.
render abs-ctl.1 >page.txt
missing=""
for c in $("$ABS_BIN/abs-ctl" --list-commands); do
	grep -Eq "^ +$c( |$)|abs-ctl $c( |$)| $c [[(A-Z-]" page.txt || missing="$missing $c"
	for o in $("$ABS_BIN/abs-ctl" --list-options "$c" | sed -n 's/^\(--[a-z0-9-]*\).*/\1/p'); do
		grep -qF -- "$o" page.txt || missing="$missing $c:$o"
	done
done
[ -z "$missing" ] || fail "abs-ctl.1 lacks$missing (python3 man/ctl-commands.py prints its COMMANDS section from the table)"
ok "abs-ctl.1: every command of the request table and its options"

# abs-dumplog.5: every key the dump log writes.
render abs-dumplog.5 >page.txt
keys=$(grep -o '[a-z_]*=%' "$TOP/catalog/dumplog.c" | tr -d '=%' | sort -u)
[ -n "$keys" ] || fail "no key found in catalog/dumplog.c"
missing=""
for k in $keys; do grep -qw -- "$k" page.txt || missing="$missing $k"; done
[ -z "$missing" ] || fail "abs-dumplog.5 lacks the keys$missing"
ok "abs-dumplog.5: every key of catalog/dumplog.c ($(echo $keys | wc -w))"

# make install: the pages under PREFIX/share/man/man{1,5,8} (what make
# would run, not run: no build here).
make -n -s -C "$TOP" install PREFIX=/usr/x DESTDIR="$T/root" BUILD="$ABS_BUILD" >install.txt 2>&1 ||
	{ cat install.txt >&2; fail "make -n install"; }
for p in $pages; do
	s=${p##*.}
	grep -q "man/$p.*$T/root/usr/x/share/man/man$s/" install.txt ||
		grep -q "install -m 0644 .*man/$p.* $T/root/usr/x/share/man/man$s/" install.txt ||
		{ cat install.txt >&2; fail "make install does not put $p in share/man/man$s"; }
done
ok "make install puts them under PREFIX/share/man/man1, man5, man8"
