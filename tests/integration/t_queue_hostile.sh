# The archive queue against a hostile producer (docs/QUEUE.md "Who may
# archive what"): whoever may write the queue directory must not make the
# archiver (often root) read, or scrub delete, what the queue's owner
# could not. Entries written by hand: a symbolic link, a path with ".."
# or through a linked directory, a FIFO, a file the queue's owner may
# not read; an entry that says "archived" without being on tape; done
# entries forged for files never archived, or naming another file with
# a real dump's location; damaged JSON of every kind. Each is refused
# with its reason, nothing hangs or crashes, no file is lost.
. "$(dirname "$0")/lib.sh"
Q="$ABS_BIN/abs-queue"
export ABS_RUN_DIR="$T"
NOBODY=65534

"$VTAPE" new-library lib --slots 2 --drives 1 --capacity 24M --early-warning 2M \
	--barcode-prefix A >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
"$ENGINE" label --device vtape:lib/drive0 --label A00001 >/dev/null
mkdir data q done
# An entry as a producer that writes the queue directory could make it.
entry() {	# entry NAME PATH [EXTRA JSON KEYS]
	printf '{"abs_queue":1,"name":"%s","path":"%s","state":"closed"%s}\n' \
		"$1" "$2" "${3:-}" >"q/$1.json"
}
archive() {
	rc=0
	timeout 300 "$ENGINE" archive --device vtape:lib/drive0 --queue q \
		--done done --once "$@" >arch.out 2>&1 || rc=$?
	[ $rc = 124 ] && { cat arch.out; fail "the archiver hung"; }
	return $rc
}
refused() {	# refused NAME TEXT: its report in done/refused says TEXT
	jq -e --arg t "$2" '.state == "refused" and (.reason | contains($t))' \
		"done/refused/$1.json" >/dev/null ||
		{ cat arch.out; cat "done/refused/$1.json" 2>&1; fail "$1 not refused for: $2"; }
}

# Paths that are not the file's own.
echo secret >data/secret.txt
ln -s /etc/hostname data/link.txt
mkdir data/real && echo x >data/real/f.txt && ln -s real data/lnkdir
mkfifo data/fifo
entry link.0000000000000001 "$T/data/link.txt"
entry dotdot.0000000000000002 "$T/data/real/../secret.txt"
entry lnkdir.0000000000000003 "$T/data/lnkdir/f.txt"
entry fifo.0000000000000004 "$T/data/fifo"
entry rel.0000000000000005 "data/secret.txt"
# Names the archiver writes in the queue, taken first by the producer.
mkfifo q/.archive-status.json.tmp
archive || { cat arch.out; fail "archive"; }
jq -e .state q/.archive-status.json >/dev/null || fail "no status written"
refused link.0000000000000001 "symbolic link"
refused dotdot.0000000000000002 "not the file's own path"
refused lnkdir.0000000000000003 "not the file's own path"
refused fifo.0000000000000004 "not a regular file"
[ -e done/refused/rel.0000000000000005.json.damaged ] || fail "a relative path is damaged"
ls done/*.json >/dev/null 2>&1 && fail "something was archived"
ok "links, .., a linked directory, a FIFO, a FIFO for the status: refused, none hangs the archiver"

# Who may archive what: the queue's owner's read permission.
# (abs-engine archive keeps only CAP_DAC_READ_SEARCH: it reads any file
# but writes a queue only as its mode allows.)
chown "$NOBODY" q data && chmod 777 q
echo mine >data/nobody.txt && chown "$NOBODY" data/nobody.txt && chmod 600 data/nobody.txt
echo root >data/rootonly.txt && chmod 600 data/rootonly.txt
echo all >data/public.txt && chmod 644 data/public.txt
expect_fail "may not read it" "$Q" add q data/rootonly.txt
"$Q" add q data/nobody.txt data/public.txt || fail "add what nobody may read"
name=$(basename "$("$Q" list q --json | jq -r 'select(.path | endswith("public.txt")) | .name')")
entry rootonly.0000000000000006 "$T/data/rootonly.txt"
archive || { cat arch.out; fail "archive"; }
refused rootonly.0000000000000006 "may not read it"
grep -q "^archive: 2 archived" arch.out || { cat arch.out; fail "the two readable files"; }
[ "$(cat data/rootonly.txt)" = root ] || fail "rootonly.txt touched"
ok "a file the queue's owner may not read is refused, its own and public ones archived"

# A forged "archived" entry in the queue: not moved to done as on tape.
real=$(ls done/public.txt.*.json)
sum=$(xxh128sum data/secret.txt | cut -d' ' -f1)
forged() {	# forged DIR NAME PATH DUMP_ID DIGEST BYTES PARTS
	printf '{"abs_queue":1,"name":"%s","path":"%s","state":"archived","dump_id":"%s","digest":"xxh128:%s","bytes":%s,"parts":%s}\n' \
		"$2" "$3" "$4" "$5" "$6" "$7" >"$1/$2.json"
}
fparts='[{"label":"A00001","tape_id":"0123456789abcdef0123456789abcdef","file":1,"offset":0,"bytes":7}]'
forged q secret.0000000000000007 "$T/data/secret.txt" 00112233445566778899aabbccddeeff "$sum" 7 "$fparts"
archive || { cat arch.out; fail "archive"; }
refused secret.0000000000000007 "dump log does not prove"
ls done/secret* >/dev/null 2>&1 && fail "a forged archived entry reached done"
ok "an entry marked archived that the dump log does not hold is refused"

# Forged done entries: scrub deletes nothing they claim.
sname=$("$Q" add q data/secret.txt && basename "$(ls q/secret.txt.*.json)" .json)
rm "q/$sname.json"
forged done "$sname" "$T/data/secret.txt" 00112233445566778899aabbccddeeff "$sum" 7 "$fparts"
expect_fail "has no dump" "$Q" scrub q --done done
[ -e data/secret.txt ] || fail "scrub deleted a file a forged done entry named"
# A real dump's ID and parts, another file's path and digest.
rdump=$(jq -r .dump_id "$real")
rparts=$(jq -c .parts "$real")
rbytes=$(jq -r .bytes "$real")
forged done "$sname" "$T/data/secret.txt" "$rdump" "$sum" "$rbytes" "$rparts"
expect_fail "the dump log" "$Q" scrub q --done done
[ -e data/secret.txt ] || fail "scrub deleted a file another dump's location was claimed for"
# A done entry that is not the one the archiver makes for its path.
forged done other.0000000000000008 "$T/data/secret.txt" "$rdump" "$sum" "$rbytes" "$rparts"
expect_fail "not the one the archiver makes" "$Q" scrub q --done done
[ -e data/secret.txt ] || fail "scrub deleted secret.txt"
rm done/other.0000000000000008.json "done/$sname.json"
# The real ones still go; through a linked directory they would not.
"$Q" scrub q --done done >scrub.out 2>&1 || { cat scrub.out; fail "scrub of real entries"; }
[ ! -e data/public.txt ] && [ ! -e data/nobody.txt ] || fail "real entries not scrubbed"
[ -e data/secret.txt ] && [ -e data/rootonly.txt ] || fail "scrub deleted too much"
ok "forged done entries delete nothing; real ones scrub"

# Damaged JSON of every kind: refused as damaged, the archiver goes on.
d() { printf '%s\n' "$2" >"q/$1.json"; }
d neg.00000000000000a1 '{"abs_queue":1,"name":"neg.00000000000000a1","path":"/x","state":"open","expires":-1}'
d num.00000000000000a2 '{"abs_queue":1,"name":"num.00000000000000a2","path":"/x","state":"open","expires":"soon"}'
d dup.00000000000000a3 '{"abs_queue":1,"name":"dup.00000000000000a3","path":"/x","path":"/etc/shadow","state":"closed"}'
d size.00000000000000a4 '{"abs_queue":1,"name":"size.00000000000000a4","path":"/x","state":"closed","size":-5}'
d ver.00000000000000a5 '{"abs_queue":99,"name":"ver.00000000000000a5","path":"/x","state":"closed"}'
d nul.00000000000000a6 '{"abs_queue":1,"name":"nul.00000000000000a6","path":"/x\u0000/etc/shadow","state":"closed"}'
d who.00000000000000a7 '{"abs_queue":1,"name":"../../etc/x","path":"/x","state":"closed"}'
python3 -c 'print("[" * 30000 + "]" * 30000)' >q/deep.00000000000000a8.json
python3 -c 'print("{\"abs_queue\":1,\"pad\":\"" + "x" * 70000 + "\"}")' >q/huge.00000000000000a9.json
python3 -c 'print("{\"abs_queue\":1,\"name\":\"long.00000000000000b0\",\"path\":\"" + "y" * 1500 + "\",\"state\":\"closed\"}")' \
	>q/long.00000000000000b0.json
d far.00000000000000b1 "{\"abs_queue\":1,\"name\":\"far.00000000000000b1\",\"path\":\"$T/data/secret.txt\",\"state\":\"open\",\"expires\":\"9999-12-31T23:59:59Z\"}"
ln -s /etc/passwd q/sym.00000000000000b2.json
archive || { cat arch.out; fail "archive"; }
for n in neg.00000000000000a1 num.00000000000000a2 dup.00000000000000a3 \
	size.00000000000000a4 ver.00000000000000a5 nul.00000000000000a6 \
	who.00000000000000a7 deep.00000000000000a8 huge.00000000000000a9 \
	long.00000000000000b0 sym.00000000000000b2; do
	[ -e "done/refused/$n.json.damaged" ] || { cat arch.out; ls q done/refused; fail "$n not refused as damaged"; }
done
[ -e q/far.00000000000000b1.json ] || fail "an open entry expiring in 9999 was taken"
[ "$(cat /etc/passwd | wc -l)" -gt 0 ] || fail "/etc/passwd"
ok "damaged entries (negative, non-numeric, duplicate keys, NUL, nested, huge, long, a link) refused, the open one waits"

# Entry files whose names are too long for an entry (a stem of 64 and a
# hash make none past 81): refused with the reason said, not passed over.
l130=$(printf 'l%.0s' $(seq 130))
l248=$(printf 'm%.0s' $(seq 248))
d "$l130" "{\"abs_queue\":1,\"name\":\"$l130\",\"path\":\"$T/data/secret.txt\",\"state\":\"closed\"}"
d "$l248" '{"abs_queue":1}'
archive || { cat arch.out; fail "archive"; }
[ -e "done/refused/$l130.json.damaged" ] || { cat arch.out; ls done/refused; fail "a 130-character name not refused"; }
ls done/refused/ | grep -q "^$(printf 'm%.0s' $(seq 200))~[0-9a-f]\{16\}\.json\.damaged\$" ||
	{ cat arch.out; ls done/refused; fail "a 248-character name not refused"; }
[ "$(grep -c "entry name of 130 characters\|entry name of 248 characters" arch.out)" = 2 ] ||
	{ cat arch.out; fail "long names not said"; }
ls q/ | grep -q "^[lm]\{130\}" && fail "long names left in the queue"
ok "entry names of 130 and 248 characters: refused with the reason said"

# A queue the archiver cannot write: it stops and says so, the entries
# stay queued (before, --once took the same entries again and again).
mkdir q2 done2 && echo z >data/z.txt && chmod 644 data/z.txt
chown "$NOBODY" q2 && chmod 777 q2
mkdir q3 && chown "$NOBODY" q3 && chmod 755 q3
rc=0
"$ENGINE" archive --device vtape:lib/drive0 --queue q3 --done done2 --once \
	>arch.out 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "archiver.lock: Permission denied" arch.out ||
	{ cat arch.out; fail "a queue without its lock: not said why"; }
# Its locks made while it was writable, then shut.
"$ENGINE" archive --device vtape:lib/drive0 --queue q2 --done done2 --once \
	>/dev/null 2>&1 || true
"$Q" add q2 data/z.txt || fail "add z"
chmod 755 q2
rc=0
timeout 300 "$ENGINE" archive --device vtape:lib/drive0 --queue q2 --done done2 \
	--once >arch.out 2>&1 || rc=$?
[ $rc = 124 ] && { tail arch.out; fail "the archiver went on and on"; }
[ $rc = 1 ] || { cat arch.out; fail "exit $rc, not 1"; }
grep -q "cannot record" arch.out || { cat arch.out; fail "no reason said"; }
[ "$(ls q2/*.json | wc -l)" = 1 ] || fail "the entry left the queue"
ok "a queue the archiver cannot write: it stops at once with the reason, the entry stays"

# A full file system under the queue and done: a clear stop, the entry
# queued; once space is back, archived once.
mkdir fs
mount -t tmpfs -o size=512k tmpfs fs 2>/dev/null || skip "cannot mount a tmpfs (full-disk case)"
MOUNTS="$MOUNTS $T/fs"
mkdir -p fs/q fs/done/refused fs/done/superseded
head -c 100000 /dev/urandom >data/full.dat
"$Q" add fs/q data/full.dat || fail "add full.dat"
dd if=/dev/zero of=fs/filler bs=4k 2>/dev/null || true
rc=0
timeout 300 "$ENGINE" archive --device vtape:lib/drive0 --queue fs/q \
	--done fs/done --once >arch.out 2>&1 || rc=$?
[ $rc = 124 ] && fail "the archiver went on and on on a full disk"
[ $rc = 1 ] && grep -q "No space left" arch.out || { cat arch.out; fail "a full disk not said ($rc)"; }
[ "$(ls fs/q/*.json | wc -l)" = 1 ] || fail "the entry left the queue"
rm fs/filler
timeout 300 "$ENGINE" archive --device vtape:lib/drive0 --queue fs/q \
	--done fs/done --once >arch.out 2>&1 || { cat arch.out; fail "archive after space came back"; }
[ "$(ls fs/done/full.dat.*.json | wc -l)" = 1 ] && ! ls fs/q/*.json >/dev/null 2>&1 ||
	fail "not archived once after space came back"
ok "a full file system: the archiver stops with ENOSPC said, archives once space is back"
