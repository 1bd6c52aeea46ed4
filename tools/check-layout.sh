#!/bin/sh
# make check-layout: the rooms' arrows of docs/ARCHITECTURE.md, checked
#  1. over every #include of every .c/.h (project headers and the libraries
#     that belong to one room: SQLite, jansson, liburing, libiscsi, ...),
#  2. over the built archives (which room's objects call which room's and
#     which library's symbols), and
#  3. over the programs' link lines and symbols: only abs-ctld links SQLite
#     (abs-engine has no -lsqlite3 on its link line, no sqlite3_ symbol, no
#     libsqlite3 in its NEEDED entries).
# Each forbidden arrow prints "FILE:LINE: forbidden arrow FROM -> TO" and
# fails the check, unless it is in KNOWN below (printed as "known:").
# Usage: sh tools/check-layout.sh [BUILD]   (BUILD holds the built tree)
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1

# The arrows allowed, one scope a line: a room (or one file), then the rooms
# and libraries (lib:NAME) it may use. A room may always use itself; tests/
# may use everything. Rooms: a folder, except catalog/dumplog.[ch] and
# catalog/fileindex.[ch] (room "dumplog": the dump-log and file-index
# formats) and sg/vtape.h (room "sg-vtape", the vtape library's
# administration). A header X/*_int.h is private to X/ (and tests/).
RULES='
common			lib:crypto lib:cap
ring			common lib:liburing
sg			sg-vtape ring common lib:iscsi lib:sgutils2
proto			common lib:jansson lib:crypto lib:gssapi
dumplog			common lib:zstd
planner			common
queue			common lib:jansson
catalog			dumplog common lib:sqlite3
engine			sg ring proto dumplog queue common lib:zstd lib:archive lib:jansson
control			catalog dumplog proto planner common lib:jansson lib:crypto lib:gssapi
tools			proto queue dumplog common lib:jansson lib:ncursesw
tools/abs-vtape.c	sg-vtape common
bench			engine sg sg-vtape ring planner queue common lib:liburing lib:iscsi
tests			*
'

# Violations being removed by work in progress, each with its reason:
# FILE (or archive) <tab> what it uses <tab> why it is still there.
# Remove a line when its violation is gone (the check says so).
KNOWN='
'

tmp=$(mktemp -d "${TMPDIR:-/tmp}/abs-layout.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "$RULES" | awk 'NF' >"$tmp/rules"
printf '%s\n' "$KNOWN" | awk 'NF' >"$tmp/known"
: >"$tmp/found"

# 1. Includes: "FILE:LINE:TEXT" lines in, one finding a line out.
find . -name '*.[ch]' -type f ! -path './.git/*' ! -path './build*' |
	sed 's|^\./||' | sort >"$tmp/files"
xargs grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' \
	<"$tmp/files" >"$tmp/includes" || true
awk -v rules="$tmp/rules" '
function room_of_file(f,    d) {
	if (f ~ /^catalog\/(dumplog|fileindex)\.[ch]$/) return "dumplog"
	d = f; sub(/\/.*/, "", d); return d
}
# The room (or lib:NAME) an include names; "" when no rule covers it.
function target_of(inc, dir,    t) {
	if (inc ~ /^</) {
		if (inc ~ /^<sqlite3\.h>/) return "lib:sqlite3"
		if (inc ~ /^<jansson\.h>/) return "lib:jansson"
		if (inc ~ /^<liburing/) return "lib:liburing"
		if (inc ~ /^<iscsi\//) return "lib:iscsi"
		if (inc ~ /^<scsi\/sg_(lib|cmds|pt|unaligned|io_linux)/) return "lib:sgutils2"
		if (inc ~ /^<zstd\.h>/) return "lib:zstd"
		if (inc ~ /^<archive(_entry)?\.h>/) return "lib:archive"
		if (inc ~ /^<(openssl\/|xxhash\.h)/) return "lib:crypto"
		if (inc ~ /^<sys\/capability\.h>/) return "lib:cap"
		if (inc ~ /^<(gssapi\/|gssapi\.h|krb5)/) return "lib:gssapi"
		if (inc ~ /^<(n?curses\.h|ncursesw\/)/) return "lib:ncursesw"
		return ""
	}
	t = inc; gsub(/"/, "", t)
	if (t !~ /\//) return "."
	if (t == "catalog/dumplog.h" || t == "catalog/fileindex.h") return "dumplog"
	if (t == "sg/vtape.h") return "sg-vtape"
	if (t ~ /_int\.h$/) { sub(/\/.*/, "", t); return "private:" t }
	sub(/\/.*/, "", t); return t
}
BEGIN {
	while ((getline line < rules) > 0) {
		n = split(line, w, /[ \t]+/)
		allow[w[1]] = " "
		for (i = 2; i <= n; i++) allow[w[1]] = allow[w[1]] w[i] " "
	}
}
{
	split($0, p, ":"); file = p[1]; lineno = p[2]
	text = $0; sub(/^[^:]*:[^:]*:[[:space:]]*#[[:space:]]*include[[:space:]]*/, "", text)
	if (!match(text, /^("[^"]*"|<[^>]*>)/)) next
	inc = substr(text, 1, RLENGTH)
	from = room_of_file(file)
	dir = file; sub(/\/[^\/]*$/, "", dir)
	to = target_of(inc, dir)
	if (to == "" || to == "." || to == from) next
	if (to ~ /^private:/) {
		if (from == "tests" || "private:" from == to) next
		shown = inc; gsub(/[<>"]/, "", shown)
		printf "%s:%s: forbidden arrow %s/ -> %s (a private header of %s/)\n", \
		    file, lineno, from, shown, substr(to, 9)
		next
	}
	scope = (file in allow) ? file : from
	if (!(scope in allow)) {
		printf "%s:%s: %s is in no room of docs/ARCHITECTURE.md\n", file, lineno, file
		next
	}
	if (allow[scope] ~ / \* / || index(allow[scope], " " to " ")) next
	shown = inc; gsub(/"/, "", shown)
	printf "%s:%s: forbidden arrow %s -> %s (%s may use:%s)\n", file, lineno, \
	    (scope == from ? from "/" : scope), shown, \
	    (scope == from ? from "/" : scope), allow[scope]
}' "$tmp/includes" >>"$tmp/found"

# 2. Archives: which room's objects call which room's (or library's) symbols.
missing=
for r in common ring sg proto dumplog catalog engine control planner queue; do
	a="$BUILD/libabs-$r.a"
	[ -f "$a" ] || continue
	nm -g --defined-only "$a" 2>/dev/null |
		awk -v r="$r" 'NF == 3 { print "D", r, $3 }'
	nm -u "$a" 2>/dev/null | awk -v a="libabs-$r.a" -v r="$r" '
		/:$/ { obj = $1; sub(/:$/, "", obj); next }
		$1 == "U" { print "U", r, $2, a "(" obj ")" }'
done >"$tmp/syms"
[ -f "$BUILD/libabs-engine.a" ] || missing="$missing libabs-engine.a"
awk -v rules="$tmp/rules" '
function lib_of(s) {
	if (s ~ /^sqlite3_/) return "lib:sqlite3"
	if (s ~ /^json_/) return "lib:jansson"
	if (s ~ /^_*io_uring_/) return "lib:liburing"
	if (s ~ /^(iscsi_|scsi_)/) return "lib:iscsi"
	if (s ~ /^sg_/) return "lib:sgutils2"
	if (s ~ /^ZSTD_/) return "lib:zstd"
	if (s ~ /^archive_/) return "lib:archive"
	if (s ~ /^(EVP_|XXH|SSL_|X509_|ERR_|BIO_|OPENSSL_|TLS_)/) return "lib:crypto"
	if (s ~ /^cap_/) return "lib:cap"
	if (s ~ /^(gss_|GSS_C_|krb5_)/) return "lib:gssapi"
	return ""
}
BEGIN {
	while ((getline line < rules) > 0) {
		n = split(line, w, /[ \t]+/)
		allow[w[1]] = " "
		for (i = 2; i <= n; i++) allow[w[1]] = allow[w[1]] w[i] " "
	}
}
$1 == "D" { def[$3] = $2; next }
$1 == "U" { n++; ur[n] = $2; us[n] = $3; uo[n] = $4 }
END {
	for (i = 1; i <= n; i++) {
		r = ur[i]; s = us[i]
		to = (s in def) ? def[s] : lib_of(s)
		if (to == "" || to == r) continue
		if (index(allow[r], " " to " ")) continue
		if (to == "sg" && index(allow[r], " sg-vtape ")) continue
		key = uo[i]; sub(/\(.*/, "", key)
		if (seen[key, to]++) continue
		printf "%s: forbidden arrow %s/ -> %s (calls %s; %s/ may use:%s)\n", \
		    uo[i], r, (to ~ /^lib:/ ? to : to "/"), s, r, allow[r]
	}
}' "$tmp/syms" >>"$tmp/found"

# 3. Programs: only abs-ctld links SQLite; abs-engine never the catalog.
for l in "$BUILD"/link/abs-*; do
	[ -f "$l" ] || continue
	b=$(basename "$l")
	bin="$BUILD/bin/$b"
	[ "$b" = abs-ctld ] && continue
	if grep -q -- '-lsqlite3\|libabs-catalog\.a\|libabs-control\.a' "$l"; then
		echo "$BUILD/link/$b: forbidden arrow $b -> SQLite (its link line names -lsqlite3 or the catalog): $(grep -o -- '-lsqlite3\|libabs-catalog\.a\|libabs-control\.a' "$l" | tr '\n' ' ')"
	fi
	[ -f "$bin" ] || continue
	s=$(nm "$bin" 2>/dev/null; nm -D "$bin" 2>/dev/null)
	if printf '%s\n' "$s" | grep -q ' sqlite3_'; then
		echo "$bin: forbidden arrow $b -> SQLite (symbol $(printf '%s\n' "$s" | grep -m1 -o 'sqlite3_[A-Za-z0-9_]*'))"
	fi
	if readelf -d "$bin" 2>/dev/null | grep -q 'NEEDED.*libsqlite3'; then
		echo "$bin: forbidden arrow $b -> SQLite (NEEDED libsqlite3)"
	fi
done >>"$tmp/found"
[ -f "$BUILD/link/abs-engine" ] && [ -f "$BUILD/bin/abs-engine" ] ||
	missing="$missing link/abs-engine bin/abs-engine"

# Split the findings into known and forbidden.
awk -F '\t' -v found="$tmp/found" -v known_out="$tmp/known.out" '
{ kf[NR] = $1; kt[NR] = $2; kw[NR] = $3; nk = NR }
END {
	bad = 0
	while ((getline line < found) > 0) {
		k = 0
		for (i = 1; i <= nk; i++) {
			f = kf[i]; gsub(/\./, "\\.", f)
			if (line ~ ("(^|/)" f "[:(]") && index(line, " -> " kt[i] " ")) {
				k = i; break
			}
		}
		if (k) { hit[k]++; print "known: " line; print "       because " kw[k] }
		else { print line; bad++ }
	}
	for (i = 1; i <= nk; i++)
		if (!hit[i])
			printf "note: the known violation %s -> %s is gone: remove it from KNOWN in tools/check-layout.sh\n", kf[i], kt[i]
	print bad > known_out
}' "$tmp/known"
bad=$(cat "$tmp/known.out")
nf=$(wc -l <"$tmp/files")
ni=$(wc -l <"$tmp/includes")
if [ -n "$missing" ]; then
	echo "check-layout: no$missing under $BUILD: build first (make check-layout does)"
	exit 1
fi
if [ "$bad" -ne 0 ]; then
	echo "check-layout: $bad forbidden arrows (docs/ARCHITECTURE.md has the rules)"
	exit 1
fi
echo "check-layout: $nf files, $ni includes, the archives and the link lines follow docs/ARCHITECTURE.md"
