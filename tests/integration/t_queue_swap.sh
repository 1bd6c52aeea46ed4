# The archiver dumps the file it checked (docs/QUEUE.md "Who may archive
# what"): absq_open_data checks a queued file's path and permissions on
# an open descriptor, and the dump reads that descriptor. A producer that
# swaps the file after the check (for a symbolic link to a file the
# queue's owner may not read, or for another file) changes nothing on
# tape. The archiver is held between check and dump (ABS_CRASH_AT=
# archive-checked:N:stop), the swap is made, and it goes on.
. "$(dirname "$0")/lib.sh"
Q="$ABS_BIN/abs-queue"
export ABS_RUN_DIR="$T"
NOBODY=65534

"$VTAPE" new-library lib --slots 2 --drives 1 --capacity 24M --early-warning 2M \
	--barcode-prefix A >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
"$ENGINE" label --device vtape:lib/drive0 --label A00001 >/dev/null
mkdir data q done
chown "$NOBODY" q data && chmod 777 q
# All of one size: the archiver's check of the size at close does not
# tell them apart.
echo "the producer's own file" >data/mine.txt
echo "another file it meant.." >data/other.txt
chown "$NOBODY" data/mine.txt data/other.txt && chmod 600 data/mine.txt data/other.txt
echo "root's secret, 24 bytes" >data/rootonly.txt && chmod 600 data/rootonly.txt
sum_mine=$(xxh128sum data/mine.txt | cut -d' ' -f1)

# swap N HOW: archive the queue, held after the Nth check; HOW swaps.
swap() {
	ABS_CRASH_AT="archive-checked:$1:stop" "$ENGINE" archive \
		--device vtape:lib/drive0 --queue q --done done --once \
		>arch.out 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	poll_until "[ \"\$(awk '{print \$3}' /proc/$pid/stat 2>/dev/null)\" = T ] ||
		! kill -0 $pid 2>/dev/null" ||
		{ cat arch.out; fail "the archiver never reached its check"; }
	grep -q "crash point archive-checked reached" arch.out ||
		{ cat arch.out; fail "the archiver ended before its check"; }
	eval "$2"
	kill -CONT "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ $rc = 0 ] || { cat arch.out; fail "archive exit $rc"; }
}
# Root's bytes anywhere on the cartridge?
on_tape() { grep -rqa "root's secret" lib/carts; }
# restored NAME: the bytes on tape of done entry NAME.
restored() {
	file=$(jq -r .file "done/$1.json")
	"$ENGINE" restore --device vtape:lib/drive0 --entity archive --file "$file" \
		--stdout 2>/dev/null
}

# A symbolic link to root's file in its place.
"$Q" add q data/mine.txt || fail "add mine.txt"
n1=$(basename "$(ls q/mine.txt.*.json)" .json)
swap 1 "mv data/mine.txt data/mine.kept && ln -s $T/data/rootonly.txt data/mine.txt"
on_tape && fail "root's file reached tape through a link swapped in"
[ -e "done/$n1.json" ] || { cat arch.out done/refused/*; fail "mine.txt not archived"; }
[ "$(restored "$n1")" = "the producer's own file" ] || fail "the checked bytes are not on tape"
jq -e --arg s "xxh128:$sum_mine" '.digest == $s' "done/$n1.json" >/dev/null ||
	{ cat "done/$n1.json"; fail "done entry's digest is not the checked file's"; }
ok "a link to root's file swapped in after the check: the checked file is on tape"

# Another file renamed over it: what was checked is what is dumped.
rm data/mine.txt && mv data/mine.kept data/mine.txt
"$Q" add q data/other.txt || fail "add other.txt"
n2=$(basename "$(ls q/other.txt.*.json)" .json)
sum_other=$(xxh128sum data/other.txt | cut -d' ' -f1)
swap 1 "cp data/rootonly.txt data/new.txt && mv data/new.txt data/other.txt"
on_tape && fail "root's file renamed over the checked one reached tape"
[ -e "done/$n2.json" ] || { cat arch.out done/refused/*; fail "other.txt not archived"; }
[ "$(restored "$n2")" = "another file it meant.." ] ||
	fail "a file renamed over the checked one reached tape"
jq -e --arg s "xxh128:$sum_other" '.digest == $s' "done/$n2.json" >/dev/null ||
	{ cat "done/$n2.json"; fail "done entry's digest is not the checked file's"; }
ok "a file renamed over the checked one after the check: the checked one is on tape"
