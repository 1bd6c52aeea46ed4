# The nightly report as a web page: four nights of a small site (abs-ctld,
# one media server on a vtape library drive, the clock injected, entities
# that change, one that always fails, one whose name needs escaping), then
# abs-ctl report --html: one page, no script, nothing fetched, every
# catalog string escaped, the numbers of the JSON report (each night's
# bytes, full and incremental; the night's dumps, failures, tapes, pools),
# rendered by headless Chromium into a screenshot that is not blank. The
# mail abs-ctld sends at the end of each run through contrib/abs-report-mail
# is a multipart/alternative of the report's text and the page.
[ -w /dev/shm ] && TMPDIR=/dev/shm
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
TOP=${ABS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export TZ=UTC ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock" ABS_CLOCK="$T/clock"
chmod 755 "$T"
command -v jq >/dev/null || skip "jq is needed (make deps)"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "chromium is needed (make deps)"

# In the future of the real clock: no file's ctime counts as a change.
D0=2027-03-01
day() { date -u -d "$D0 + $(($1 - 1)) days" +%Y-%m-%d; }
set_clock() { printf '%s\n' "$1" >"$T/clock"; }
set_clock "$(day 1)T08:00:00Z"
until_ok() { poll_until "$1" || fail "timed out: $1"; }

# The mail: abs-ctld's exception command, its sendmail a file per mail.
mkdir mail
cat >sendmail.sh <<EOF
#!/bin/sh
cat >"$T/mail/\$(date +%s%N).eml"
EOF
chmod +x sendmail.sh
"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--exception-cmd "ABS_SENDMAIL='sh $T/sendmail.sh' sh $TOP/contrib/abs-report-mail --socket $T/ctld.sock --abs-ctl $CTL ops@example.org" \
	2>"$T/ctld.log" &
PIDS="$PIDS $!"
until_ok '[ -S "$T/ctld.sock" ]'
"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 64M --barcode-prefix N >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive d0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal-d0.log" --block-size 64K 2>"$T/engine-d0.log" &
PIDS="$PIDS $!"
until_ok '[ "$("$CTL" --json status | jq "[.drives[] | select(.state == \"idle\")] | length")" = 1 ]'
"$CTL" library-add lib --changer "vtape:$T/lib" >/dev/null || fail "library-add"
"$CTL" library-drive lib d0 --element 0 >/dev/null || fail "library-drive"
until_ok '[ "$("$CTL" --json libraries | jq -r ".[0].last_inventory")" != null ]'
"$CTL" tape-add default N00001 N00002 N00003 N00004 N00005 N00006 >/dev/null
# A minimum above its 6 tapes: each cartridge taken is a pool-low error
# of the drive.
"$CTL" pool-set default --min 7 --max 10 >/dev/null
"$CTL" pool-add vault >/dev/null
"$CTL" pool-set vault --min 3 --max 6 >/dev/null	# below its minimum: said
"$CTL" type-add home --full 3 --incr 1 >/dev/null
"$CTL" type-set home --estimate 200K >/dev/null
mkdir src
# A name the catalog takes and a page must escape.
ODD="x<i>&\"'y"
for e in alpha beta gamma delta "$ODD"; do
	mkdir -p "src/$e"
	head -c $((100000 + ${#e} * 37000)) /dev/urandom >"src/$e/data"
	touch -d "$(day -9) 12:00:00 UTC" "src/$e/data" "src/$e"
	"$CTL" entity-add "$e" "dir:$T/src/$e" --type home >/dev/null || fail "entity-add $e"
done
"$CTL" entity-add broken "cmd:sh -c 'echo part; exit 3'" --type home >/dev/null
# A dump that lasts (the catalog times dumps in seconds): under the floor.
"$CTL" entity-add slow "cmd:sh -c 'head -c 300000 /dev/urandom; sleep 2'" --type home >/dev/null
ok "abs-ctld, a library drive, 7 entities (one failing, one slow, one named $ODD)"

NIGHTS=4
n=1
while [ $n -le $NIGHTS ]; do
	if [ $n -gt 1 ]; then	# the day's changes, for the incrementals
		for e in alpha gamma; do
			head -c $((20000 * n)) /dev/urandom >"src/$e/new$n"
			touch -d "$(day $n) 12:00:00 UTC" "src/$e/new$n" "src/$e"
		done
	fi
	set_clock "$(day $n)T20:00:00Z"
	# A cartridge nobody finds: an error of the tape.
	[ $n != 2 ] || "$CTL" unavailable N00006 >/dev/null
	rc=0
	"$CTL" run d0 >"run-$n.out" 2>&1 || rc=$?
	[ $rc = 0 ] || [ $rc = 7 ] || { cat "run-$n.out" >&2; fail "night $n: run exited $rc"; }
	"$CTL" --json report --night "$(day $n)" >"report-$n.json" || fail "night $n: report"
	n=$((n + 1))
done
[ "$(jq '[.dumped[] | select(.level > 0)] | length' "report-$NIGHTS.json")" -gt 0 ] ||
	[ "$(jq '[.dumped[] | select(.level > 0)] | length' "report-3.json")" -gt 0 ] ||
	fail "no incremental in the last nights"
ok "$NIGHTS nights run"

# The page, with a floor for d0 that the timed dumps (slow's, 0.1 MB/s)
# keep it under, and a default for other drives.
"$CTL" report --html page.html --floor d0=1 --floor 100 --nights $NIGHTS ||
	fail "report --html"
"$CTL" --json report >last.json
"$CTL" --json pools >pools.json
"$CTL" --json errors --since "$(day 1)" >errors.json
# The usage errors say the form.
expect_fail "usage: abs-ctl report (--html FILE | --mime" "$CTL" report --nights 3
expect_fail "--floor takes MB/s or DRIVE=MB/s" "$CTL" report --html x.html --floor d0=fast
expect_fail "--nights takes 1 to 62" "$CTL" report --html x.html --nights 0
expect_fail "--night takes YYYY-MM-DD" "$CTL" report --html x.html --night yesterday
[ ! -e x.html ] || fail "a refused page was written"
"$CTL" report --html - --nights 2 | grep -q '^<!DOCTYPE html>' || fail "report --html -"

# What the page is made of: no script, nothing from outside, escaped names.
grep -qi '<script' page.html && fail "the page has a script"
grep -Eqi ' (src|href)=|url\(|@import' page.html && fail "the page refers to something outside it"
grep -q '<i>&' page.html && fail "an entity name unescaped"
grep -qF 'x&lt;i&gt;&amp;&quot;&#39;y' page.html || fail "the odd name is not in the page, escaped"
[ "$(grep -c '<svg' page.html)" -ge 5 ] || fail "fewer than 5 charts"
ok "one page: $(wc -c <page.html) bytes, $(grep -c '<svg' page.html) SVG charts, no script, nothing outside, names escaped"

# The numbers: the page's tables against the JSON reports.
cat >check.py <<'EOF'
import html.parser, json, sys

class Tables(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.cur, self.row, self.cell = {}, None, None, None
        self.night = None
        self.in_night = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'table' and 'id' in a:
            self.cur = self.tables.setdefault(a['id'], [])
        elif tag == 'tr' and self.cur is not None:
            self.row = []
        elif tag in ('td', 'th') and self.row is not None:
            self.cell = ''
        elif tag == 'span' and a.get('id') == 'night':
            self.in_night = True
            self.night = ''
    def handle_endtag(self, tag):
        if tag == 'table':
            self.cur = None
        elif tag == 'tr' and self.row is not None:
            self.cur.append(self.row)
            self.row = None
        elif tag in ('td', 'th') and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == 'span':
            self.in_night = False
    def handle_data(self, d):
        if self.cell is not None:
            self.cell += d
        if self.in_night:
            self.night += d

def load_page(text):
    p = Tables()
    p.feed(text)
    return p

def rows(p, tid):
    t = p.tables.get(tid, [])
    return [dict(zip(t[0], r)) for r in t[1:]] if t else []

def check_night(p, rep, where):
    assert p.night == rep['night'], (where, p.night, rep['night'])
    got = sorted((r['entity'], int(r['level']), int(r['bytes'])) for r in rows(p, 'dumped'))
    want = sorted((d['entity'], d['level'], d['bytes']) for d in rep['dumped'])
    assert got == want, (where, 'dumped', got, want)
    got = sorted((r['entity'], r['why']) for r in rows(p, 'failed'))
    want = sorted((d['entity'], d['why']) for d in rep['failed'])
    assert got == want, (where, 'failed', got, want)
    got = sorted((r['label'], int(r['bytes']), int(r['files'])) for r in rows(p, 'tapes'))
    want = sorted((t['label'], t['bytes'], t['files']) for t in rep['tapes'])
    assert got == want, (where, 'tapes', got, want)
    got = sorted((r['pool'], int(r['writable']), int(r['tapes']), int(r['minimum'])) for r in rows(p, 'report_pools'))
    want = sorted((x['pool'], x['writable'], x['tapes'], x['min_tapes']) for x in rep['pools'])
    assert got == want, (where, 'pools', got, want)

mode = sys.argv[1]
if mode == 'page':
    page, last, pools, errors = sys.argv[2:6]
    nights = [json.load(open(f)) for f in sys.argv[6:]]
    p = load_page(open(page, encoding='utf-8').read())
    check_night(p, json.load(open(last)), 'page')
    # each night's bytes: full (level 0) and incremental, from its report
    got = {r['night']: (int(r['full bytes']), int(r['incremental bytes']),
                        int(r['fulls']), int(r['incrementals'])) for r in rows(p, 'nights')}
    for rep in nights:
        full = sum(d['bytes'] for d in rep['dumped'] if d['level'] == 0)
        incr = sum(d['bytes'] for d in rep['dumped'] if d['level'] > 0)
        nf = sum(1 for d in rep['dumped'] if d['level'] == 0)
        ni = sum(1 for d in rep['dumped'] if d['level'] > 0)
        assert got.get(rep['night']) == (full, incr, nf, ni), (rep['night'], got.get(rep['night']), (full, incr, nf, ni))
    assert len(got) == len(nights), (sorted(got), [r['night'] for r in nights])
    got = sorted((r['pool'], int(r['tapes']), int(r['minimum']), int(r['maximum'])) for r in rows(p, 'pools'))
    want = sorted((x['name'], x['tapes'], x['min_tapes'], x['max_tapes']) for x in json.load(open(pools)))
    assert got == want, ('pools', got, want)
    errs = json.load(open(errors))
    got = sorted((r['drive'], r['day'], int(r['errors'])) for r in rows(p, 'errors_per_drive'))
    want = sorted((e['drive'], e['day'], e['errors']) for e in errs['per_drive'])
    assert got == want and got, ('errors per drive', got, want)
    got = sorted((r['tape'], r['day'], int(r['errors'])) for r in rows(p, 'errors_per_tape'))
    want = sorted((e['label'], e['day'], e['errors']) for e in errs['per_tape'])
    assert got == want and got, ('errors per tape', got, want)
    print('%d nights, %d dumps, %d failed, %d tapes, %d pools, %d error days' % (len(nights),
          len(rows(p, 'dumped')), len(rows(p, 'failed')), len(rows(p, 'tapes')), len(rows(p, 'pools')),
          len(got) + len(rows(p, 'errors_per_drive'))))
elif mode == 'mail':
    import email
    msg = email.message_from_binary_file(open(sys.argv[2], 'rb'))
    assert msg.get_content_type() == 'multipart/alternative', msg.get_content_type()
    assert msg['To'] == 'ops@example.org', msg['To']
    parts = {p.get_content_type(): p.get_payload(decode=True).decode('utf-8') for p in msg.get_payload()}
    assert set(parts) == {'text/plain', 'text/html'}, set(parts)
    rep = json.load(open(sys.argv[3]))
    assert parts['text/plain'] == rep['text'], 'the text part is not the report'
    assert msg['Subject'] == 'ABS nightly report for ' + rep['night'], msg['Subject']
    p = load_page(parts['text/html'])
    check_night(p, rep, 'mail')
    print(rep['night'])
elif mode == 'png':
    import struct, zlib
    def pixels(f):
        b = open(f, 'rb').read()
        assert b[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
        i, idat, w = 8, b'', 0
        while i < len(b):
            n, t = struct.unpack('>I4s', b[i:i + 8])
            if t == b'IHDR':
                w, h = struct.unpack('>II', b[i + 8:i + 16])
            if t == b'IDAT':
                idat += b[i + 8:i + 8 + n]
            i += 12 + n
        return w, h, zlib.decompress(idat)
    w, h, raw = pixels(sys.argv[2])
    bw, bh, blank = pixels(sys.argv[3])
    # The filtered scanlines of a blank page are a few byte values; a page
    # with text, tables and charts has most of them.
    distinct, bdistinct = len(set(raw)), len(set(blank))
    assert distinct > 64 and distinct > 4 * bdistinct, (distinct, bdistinct)
    assert len(zlib.compress(raw)) > 8 * len(zlib.compress(blank)), 'no more than a blank page'
    print('%dx%d, %d byte values (a blank page: %d)' % (w, h, distinct, bdistinct))
EOF
files=""
n=1
while [ $n -le $NIGHTS ]; do files="$files report-$n.json"; n=$((n + 1)); done
# shellcheck disable=SC2086
res=$(python3 check.py page page.html last.json pools.json errors.json $files) || fail "the page's numbers"
ok "the page holds the JSON report's numbers: $res"
grep -q 'class=.d0 slow' page.html || fail "d0 under its floor not marked"
grep -q 'd0 floor 1 MB/s' page.html || fail "d0's floor not drawn"
grep -q 'min 3' page.html || fail "vault's minimum not drawn"
grep -q "N00006 $(day 2): 1 errors" page.html || fail "N00006's errors not drawn"
ok "the drive under its floor and the pool minimum drawn"

# Each run's mail: the text and the page (the last one checked in full).
pages() { grep -l '^Content-Type: multipart/alternative' mail/*.eml 2>/dev/null | sort; }
until_ok '[ "$(pages | wc -l)" -ge $NIGHTS ]'
res=$(python3 check.py mail "$(pages | tail -n 1)" "report-$NIGHTS.json") || fail "the mail of night $NIGHTS"
ok "the run's mail: multipart/alternative, the report's text and page ($res)"

# Headless Chromium renders it: a screenshot that is more than a blank page.
mkdir chrome-profile
printf '<!DOCTYPE html><html><body></body></html>\n' >blank.html
shot() {	# PAGE PNG
	"$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$T/chrome-profile" --hide-scrollbars \
		--screenshot="$2" --window-size=1200,2000 "file://$1" \
		>"$T/chrome.log" 2>&1 &
	cpid=$!
	PIDS="$PIDS $cpid"
	w_end=$(deadline)
	while kill -0 $cpid 2>/dev/null; do
		before "$w_end" || { kill $cpid; cat "$T/chrome.log" >&2; fail "chromium did not finish"; }
		sleep 0.1
	done
	wait $cpid || true
	[ -s "$2" ] || { cat "$T/chrome.log" >&2; fail "chromium made no screenshot of $1"; }
}
shot "$T/page.html" page.png
shot "$T/blank.html" blank.png
# REPORT_HTML_KEEP=DIR: the page and its screenshot kept there for a look.
[ -z "${REPORT_HTML_KEEP:-}" ] || cp page.html page.png "$REPORT_HTML_KEEP/"
res=$(python3 check.py png page.png blank.png) || fail "the screenshot is blank"
ok "headless Chromium rendered the page: $res"
