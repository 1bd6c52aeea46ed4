# Chains (issue 13), direct mode: a tree changed through 10 dumps (a full,
# then incrementals at levels 1 and 2 mixed), each step adding, deleting
# and renaming files and directories, changing modes and owners, turning a
# file into a directory and back, adding hard links, symlinks, sparse and
# empty files and names that are not ASCII. A `cp -a` snapshot is kept of
# each step; a restore at each dump's date must give back that snapshot
# (treecmp.sh: types, modes, owners, mtimes, targets, bytes, link groups).
# The same chain compressed, both on small cartridges (so that they span
# them), and through abs-ctld; a chain whose base is missing is refused
# naming it; single paths at random dates, with the blocks read checked
# against the index.
# ABS_CHAIN_SEED=N repeats a run (the seed is printed first).
. "$(dirname "$0")/lib.sh"
. "$ABS_TOP/tests/integration/treecmp.sh"

tree_self_test
ok "tree_cmp sees every kind of difference"

# Until both halves of chains are in (the writer: --base; chain restore:
# --level-only), there is nothing to test.
usage=$("$ENGINE" --help 2>&1)
case $usage in *--level-only*) ;; *) skip "abs-engine has no chain restore (--level-only)" ;; esac
case $usage in *--base*) ;; *) skip "abs-engine dump has no --base" ;; esac

SEED=${ABS_CHAIN_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED (ABS_CHAIN_SEED=$SEED repeats this run)"

# gen FILE BYTES: bytes that do not compress, the same for a seed.
GEN=0
gen() {
	GEN=$((GEN + 1))
	perl -e 'srand($ARGV[0]); my $n = $ARGV[1];
		while ($n > 0) { my $k = $n < 65536 ? $n : 65536;
			print substr(pack("L*", map { int(rand(4294967296)) }
			    1 .. ($k + 3) / 4), 0, $k); $n -= $k }' \
	    $((SEED * 1000 + GEN)) "$2" >"$1"
}
# text FILE LINES: text that does.
text() { seq -f "line %g of $1" "$2" >"$1"; }

S=$T/src
# The changes of each step, before its dump. A step may touch anything
# earlier steps made; every step changes some directory's mtime.
step() {
	cd "$S"
	case $1 in
	1)
		mkdir -p docs/notes bin deep/x/y/z small mvdir ro emptydir
		text docs/a.txt 3000
		text docs/b.txt 2000
		for i in 1 2 3 4 5; do echo "note $i" >docs/notes/n$i; done
		gen bin/blob1 1500000
		gen bin/blob2 800000
		chmod 0600 bin/blob2
		truncate -s 8M sparse.img
		gen .t 70000 && dd if=.t of=sparse.img conv=notrunc status=none
		dd if=.t of=sparse.img bs=1M seek=5 conv=notrunc status=none
		rm .t
		: >empty
		ln docs/a.txt a-link
		ln -s docs/a.txt to-a
		ln -s nowhere dangling
		echo utf8 >"ünïcødé-名前.txt"
		echo latin1 >"$(printf 'caf\351')"
		echo morph >morph
		chown 1234:5678 docs/notes/n1
		chown 2000:2000 docs/notes
		echo x >setuid && chmod 4755 setuid
		echo x >locked && chmod 0000 locked
		echo ro >ro/inside && chmod 0555 ro
		echo deep >deep/x/y/z/file
		echo old >old && touch -d '2001-02-03 04:05:06' old
		awk 'BEGIN { for (i = 0; i < 120; i++) { f = "small/f" i
			for (j = 0; j <= i % 7; j++) print "line " j " of " f >f
			close(f) } }'
		for i in 1 2 3 4 5; do gen mvdir/c$i 20000; done
		;;
	2)
		text docs/c.txt 500
		rm docs/b.txt
		mv bin/blob1 bin/blob1.renamed
		chmod 0640 docs/a.txt
		chown 3000 small/f5
		rm morph && mkdir morph && echo inner >morph/inner
		ln bin/blob2 deep/x/blob2-link
		ln -sfn docs/c.txt to-a
		: >empty2
		truncate -s 3M sparse2 && echo tail >>sparse2
		mkdir 日本 && echo файл >日本/файл
		;;
	3)
		mv mvdir moved
		mv small/f1 small/.swap && mv small/f2 small/f1 && mv small/.swap small/f2
		rm -r deep/x/y
		gen .t 300000 && dd if=.t of=bin/blob2 conv=notrunc status=none && rm .t
		echo changed >>docs/c.txt && touch -d '2001-01-01 00:00:00' docs/c.txt
		chmod u+w ro && echo more >ro/second && chmod 0555 ro
		;;
	4)
		rm -r morph && echo "morph again" >morph
		rm to-a && echo "was a link" >to-a
		mv "ünïcødé-名前.txt" "ü2.txt"
		chown -h 4444:4444 dangling
		rm a-link
		gen bin/new4 200000
		;;
	5)
		rmdir emptydir && echo "now a file" >emptydir
		rm empty && mkdir empty
		truncate -s 4M sparse3 && printf 'mid' |
			dd of=sparse3 bs=1M seek=2 conv=notrunc status=none
		i=60
		while [ $i -lt 110 ]; do rm small/f$i; i=$((i + 1)); done
		chmod 0700 docs
		mv moved/c1 c1
		chmod 0750 .
		;;
	6)
		gen big6 1000000
		mv bin bin2
		ln small/f10 hl10
		echo "six" >>small/f11
		;;
	7)
		rm bin2/blob1.renamed
		text docs/b.txt 100
		mkdir -p own/sub && echo o >own/sub/f
		chown -R 5000:5000 own
		mv c1 moved/c1
		;;
	8)
		echo appended >>docs/a.txt
		mkfifo fifo
		printf 'grown' | dd of=sparse2 bs=1M seek=5 conv=notrunc status=none
		rm -r 日本
		;;
	9)
		mkdir dA dB && echo a >dA/f && echo b >dB/f
		mv big6 dA/big6
		touch -d '2037-06-01 12:00:00' small/f3
		mkdir -p "espace dir" && echo s >"espace dir/é"
		;;
	10)
		mv dA dT && mv dB dA && mv dT dB
		chmod 0444 small/f0 moved/c2
		: >small/f12
		rm small/f10
		ln -s moved new-dirlink
		chmod 0755 .
		;;
	esac
	cd "$T"
}
# ABS_CHAIN_LEVELS: other levels, e.g. all fulls to try the tree alone.
LEVELS=${ABS_CHAIN_LEVELS:-0 1 2 2 1 2 1 1 2 2}

# One library of small cartridges (about 4 MiB of data each) for a plain
# chain and a compressed one, so that their dumps cross cartridges. Blocks
# of 64 KiB: a single path reads a few of a dump's blocks, not one block
# that holds everything.
DEV=vtape:small/drive0
"$VTAPE" new-library small --slots 30 --drives 1 --capacity 5M \
	--early-warning 1M >/dev/null
"$VTAPE" load small --slot 1 --drive 0
"$ENGINE" label --device $DEV --label S00001 >/dev/null
CHAINS="plain zstd"
opts_of() {
	case $1 in
	plain) echo "--block-size 64K --autolabel S%05d" ;;
	zstd) echo "--block-size 64K --autolabel S%05d --compress zstd" ;;
	esac
}
# abs-ctld on its own library, a media server on its drive lib0, and
# entity "served" (the tree), dumped by jobs.
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
ctld_start() {
	"$VTAPE" new-library clib --slots 4 --drives 1 --capacity 256M \
		--barcode-prefix K >/dev/null
	"$ABS_BIN/abs-ctld" --socket "$T/ctld.sock" --db "$T/catalog.db" \
		--foreground 2>>"$T/ctld.log" &
	PIDS="$PIDS $!"
	poll '[ -S "$T/ctld.sock" ]'
	"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/clib/drive0" \
		--log "$T/served.log" --block-size 64K 2>>"$T/engine.log" &
	PIDS="$PIDS $!"
	poll '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
	"$CTL" tape-add default K00001 K00002 K00003 K00004 >/dev/null
	"$CTL" entity-add served "dir:$S" >/dev/null
}
# poll CONDITION: wait (up to WAIT_SECS, 300 s) until the shell condition holds.
poll() {
	_w_end=$(deadline)
	until eval "$1"; do
		before "$_w_end" || fail "timed out: $1"
		sleep 0.1
	done
}
job_state() { "$CTL" --json jobs --count 200 | jq -r ".[] | select(.id == $1) | .state"; }
# ctl_job ID WHAT: wait for a job to end; it must be done.
ctl_job() {
	poll "case \$(job_state $1) in done|failed|aborted) true;; *) false;; esac"
	[ "$(job_state "$1")" = done ] ||
		{ tail -n 20 "$T/engine.log" >&2; fail "job $1 ($2): $(job_state "$1")"; }
}
# ctld_dump K LEVEL: dump K of "served" through abs-ctld; its ID and date
# from the media server's journal (a dump log).
ctld_dump() {
	_j=$("$CTL" --json dump lib0 served --level "$2" | jq -r '.jobs[0]')
	ctl_job "$_j" "dump $1 of served"
	_l=$(grep "^dump entity=served " served.log | tail -n 1)
	eval "ID_served_$1=$(field dump "$_l") DATE_served_$1=$(field date "$_l")"
	[ "$2" = 0 ] || [ "$(field base "$_l")" = "$(val ID_served_$(val BASE_$1))" ] ||
		fail "dump $1 of served: base $(field base "$_l"), not dump $(val BASE_$1)"
	[ "$2" = 0 ] || [ "$(field since "$_l")" = "$(val DATE_served_$(val BASE_$1))" ] ||
		fail "dump $1 of served: since $(field since "$_l"), not its base's date"
}
# ctl_restore DIR ARGS...: restore "served" into DIR through abs-ctl.
ctl_restore() {
	_d=$1
	shift
	_j=$("$CTL" --json restore served --to "$_d" --drive lib0 "$@" | jq -r '.job')
	[ -n "$_j" ] && [ "$_j" != null ] || fail "abs-ctl restore $*: no job"
	ctl_job "$_j" "restore $*"
}

# field KEY LINE: the value of key=value in a dump-log line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# val NAME: the value of the variable named NAME.
val() { eval "printf '%s' \"\${$1}\""; }

# The same chain through abs-ctld and a media server (t_chain_ctl shows
# the commands on a chain of two; here: every date of the ten, compared
# in full, and single paths), once abs-ctl has find.
CTLD_ON=
case $("$ABS_BIN/abs-ctl" --help 2>&1) in *"find ENTITY"*) CTLD_ON=1 ;; esac
if [ -n "$CTLD_ON" ]; then
	ctld_start
fi

mkdir "$S" snap
k=0
last=0
for lvl in $LEVELS; do
	k=$((k + 1))
	step $k
	cp -a "$S" "snap/$k"
	tree_cache "snap/$k"
	eval "LEVEL_$k=$lvl"
	j=$((k - 1))
	while [ $j -ge 1 ] && [ "$lvl" -gt 0 ] && [ "$(val LEVEL_$j)" -ge "$lvl" ]; do
		j=$((j - 1))
	done
	eval "BASE_$k=$j"
	# Each dump of an entity at its own second: a date names one dump.
	while [ "$(date +%s)" -le "$last" ]; do sleep 0.1; done
	for c in $CHAINS; do
		lv=""
		[ "$lvl" = 0 ] || lv="--level $lvl"
		# shellcheck disable=SC2046
		"$ENGINE" dump --device "$DEV" --entity "$c" --source "dir:$S" \
			--log "$c.log" $(opts_of $c) $lv >"dump.out" 2>&1 ||
			{ cat dump.out; fail "dump $k of $c"; }
		line=$(grep "^dump entity=$c " "$c.log" | tail -n 1)
		eval "ID_${c}_$k=$(field dump "$line") DATE_${c}_$k=$(field date "$line")"
		[ "$(field level "$line")" = "$lvl" ] || fail "dump $k of $c: level"
		# Its index beside the log, for find and single paths.
		fx=$c.log.fidx/$(field dump "$line")
		[ "$(stat -c %a "$fx" 2>/dev/null)" = 600 ] ||
			fail "dump $k of $c: no index file $fx (mode 600)"
		# The base: the newest earlier dump at a lower level; since is
		# exactly its date.
		if [ "$lvl" -gt 0 ]; then
			[ "$(field base "$line")" = "$(val ID_${c}_$j)" ] ||
				fail "dump $k of $c: base $(field base "$line"), not dump $j $(val ID_${c}_$j)"
			[ "$(field since "$line")" = "$(val DATE_${c}_$j)" ] ||
				fail "dump $k of $c: since $(field since "$line"), not dump $j's date $(val DATE_${c}_$j)"
		fi
	done
	[ -z "$CTLD_ON" ] || ctld_dump "$k" "$lvl"
	last=$(date +%s)
done
ok "10 dumps of each chain, each incremental based on the right dump"
for c in $CHAINS; do
	echo "$c: $(grep -c "^part entity=$c " $c.log) parts on $(grep "^part entity=$c " $c.log |
		sed 's/.* label=\([^ ]*\) .*/\1/' | sort -u | wc -l) cartridges"
	grep -q "^dump entity=$c .* part=[2-9]" $c.log ||
		fail "no dump of the $c chain crosses cartridges"
done

# A restore at each dump's date gives that step's snapshot back.
for c in $CHAINS; do
	k=1
	while [ $k -le 10 ]; do
		"$ENGINE" restore --device "$DEV" --entity "$c" --log "$c.log" \
			--date "$(val DATE_${c}_$k)" --to "out-$c-$k" >rs.out 2>&1 ||
			{ cat rs.out; fail "restore of $c at dump $k"; }
		tree_cmp "snap/$k" "out-$c-$k" "$c at dump $k" ||
			fail "$c restored at dump $k (level $(val LEVEL_$k)) is not the tree of then"
		rm -rf "out-$c-$k"
		k=$((k + 1))
	done
	ok "$c: the tree at each of the 10 dates"
done
# No date: the newest chain.
"$ENGINE" restore --device $DEV --entity plain --log plain.log \
	--to out-newest >rs.out 2>&1 || { cat rs.out; fail "restore of plain without a date"; }
tree_cmp snap/10 out-newest "plain, no date" || fail "restore without a date is not the newest tree"
rm -rf out-newest

if [ -n "$CTLD_ON" ]; then
	k=1
	while [ $k -le 10 ]; do
		ctl_restore "$T/out-served-$k" --date "$(val DATE_served_$k)"
		tree_cmp "snap/$k" "out-served-$k" "served at dump $k" ||
			fail "abs-ctl restore --date of dump $k (level $(val LEVEL_$k)) is not the tree of then"
		rm -rf "out-served-$k"
		k=$((k + 1))
	done
	ok "abs-ctl restore: the tree at each of the 10 dates"
	# Single paths through abs-ctld: as the snapshot, and abs-ctl find
	# lists the version the restore gave (its dump, size and mtime).
	perl -e 'srand($ARGV[0] + 1); print 1 + int(rand(10)), " ", int(rand(1000000)), "\n" for 1 .. 6' \
	    "$SEED" >ctl-picks
	# A path that is not UTF-8 goes as its bytes (abs-ctl sends it in
	# base64, find gives it back in path_b64: chain13.md F3).
	echo "10 latin1" >>ctl-picks	# and the Latin-1 name, always
	while read -r k r <&3; do
		if [ "$r" = latin1 ]; then
			p=$(printf 'caf\351')
			[ -e "snap/$k/$p" ] || continue
		else
			p=$(cd "snap/$k" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
				awk -v r="$r" '{ l[NR] = $0 } END { print l[r % NR + 1] }')
		fi
		rm -rf out-sf
		ctl_restore "$T/out-sf" --date "$(val DATE_served_$k)" --path "$p"
		tree_cmp "snap/$k" out-sf "served: $p at dump $k" "$p" ||
			fail "abs-ctl restore --path $p at dump $k differs"
		"$CTL" --json find served "$p" --date "$(val DATE_served_$k)" >cfind.json ||
			fail "abs-ctl find served $p"
		jq -e --arg id "$(val ID_served_$k)" --arg b "$(printf './%s' "$p" | base64 -w0)" \
			--argjson m "$(stat -c %Y "snap/$k/$p")" \
			'[.matches[] | select(.dump == $id and (.path_b64 // (.path | @base64)) == $b and
			.mtime == $m)] | length == 1' \
			cfind.json >/dev/null ||
			fail "abs-ctl find served $p --date: dump $k's version not listed: $(cat cfind.json)"
		echo "served at dump $k: $p"
	done 3<ctl-picks
	ok "abs-ctl restore --path: 6 single paths at random dates and a Latin-1 name; abs-ctl find lists them"
fi

# A chain with a dump missing from the log is refused, naming the dump.
id1=$(val ID_plain_1) id5=$(val ID_plain_5)
grep -v " dump=$id1\( \|\$\)" plain.log >nofull.log
grep -q " dump=$id1" nofull.log && fail "the full's lines are still in nofull.log"
expect_fail "$id1" "$ENGINE" restore --device $DEV --entity plain \
	--log nofull.log --date "$(val DATE_plain_3)" --to out-nofull
[ ! -e out-nofull ] || [ -z "$(ls -A out-nofull)" ] ||
	fail "a refused chain restore left files in its target"
grep -v " dump=$id5\( \|\$\)" plain.log >nomid.log
expect_fail "$id5" "$ENGINE" restore --device $DEV --entity plain \
	--log nomid.log --date "$(val DATE_plain_6)" --to out-nomid
# Dump 6 alone (--level-only) needs no base: only what changed since dump 5.
"$ENGINE" restore --device $DEV --entity plain --log nomid.log \
	--date "$(val DATE_plain_6)" --level-only --to out-lo >rs.out 2>&1 ||
	{ cat rs.out; fail "--level-only restore of dump 6"; }
[ -f out-lo/big6 ] && [ ! -e out-lo/docs/a.txt ] ||
	fail "--level-only is not dump 6 alone: $(cd out-lo && find . | head)"
# The dumps the chain does not need may go: dump 6 needs 5 and 1, not 2-4.
grep -v " dump=$(val ID_plain_3)\( \|\$\)" plain.log >no3.log
"$ENGINE" restore --device $DEV --entity plain --log no3.log \
	--date "$(val DATE_plain_6)" --to out-no3 >rs.out 2>&1 ||
	{ cat rs.out; fail "restore of dump 6 without dump 3 (not in its chain)"; }
tree_cmp snap/6 out-no3 "plain at dump 6 without dump 3" || fail "dump 6 without dump 3"
ok "a chain with a missing dump is refused naming it; --level-only; other chains' dumps are not needed"

# Single paths at random dates: each must equal its snapshot, and the
# restore must read just the blocks the index says hold it: the path's
# entry as of its dump, followed back by inode through the chain to the
# dump whose stream holds it (of a hard link: the entry that carries the
# data, which the restore gives the wanted name); a directory: at most
# its subtree's entries (by inode) in every dump of the chain.
cat >span.jq <<'EOF'
# (A path that is not UTF-8 is matched by its bytes, path_b64.)
def isp: .path == $p or .path_b64 == $pb;
. as $all
| [$all[] | select(.dump == $chain[0] and isp)][0] as $me
| if $me == null then "missing"
  elif $me.type == "dir" then
    [$all[] | select(.dump == $chain[0] and (isp or (.path | startswith($p + "/"))))
     | .ino] as $s
    | "dir", ($chain[] as $id | $all[]
      | select(.dump == $id and .in_stream and (.ino as $i | $s | index([$i])))
      | "\(.dump) \(.stored_start) \(.stored_end)")
  else
    "\($me.type) \($me.size)",
    first($chain[] as $id
      | [$all[] | select(.dump == $id and .ino == $me.ino and .in_stream)] as $e
      | select(($e | length) > 0)
      | ([$e[] | select(.has_data)] + [$e[] | select(isp)] + $e)[0]
      | "\(.dump) \(.stored_start) \(.stored_end)")
  end
EOF
# Every dump of the test has blocks of 64 KiB (the span's blocks below).
grep -h "^dump " plain.log zstd.log | grep -qv ' block_size=65536 ' &&
	fail "a dump without 64 KiB blocks"
# chain_of K: the dumps of the chain that ends at dump K, newest first.
chain_of() {
	_k=$1
	while :; do
		printf '%s ' "$_k"
		[ "$(val LEVEL_$_k)" = 0 ] && break
		_k=$(val BASE_$_k)
	done
}
# Each pick: a chain, a dump, a number that picks a path of that step.
picks=$(perl -e 'srand($ARGV[0]); print qw(plain zstd)[$_ % 2], " ",
	1 + int(rand(10)), " ", int(rand(1000000)), "\n" for 1 .. 20' "$SEED")
sf_read=0 sf_chain=0
while read -r c k r <&3; do
	# A path of that step's tree, picked by r.
	p=$(awk -F'|' -v r="$r" '$1 != "." && $1 != "links" { l[++n] = substr($1, 3) }
		END { print l[r % n + 1] }' "snap/$k.tclist")
	d=$(val DATE_${c}_$k)
	rm -rf out-sf
	"$ENGINE" restore --device "$DEV" --entity "$c" --log "$c.log" \
		--date "$d" --path "$p" --to out-sf >rs.out 2>&1 ||
		{ cat rs.out; fail "$c: restore of $p at dump $k"; }
	tree_cmp "snap/$k" out-sf "$c: $p at dump $k" "$p" ||
		fail "$c: $p restored at dump $k differs"
	got=$(sed -n 's/.*blocks read \([0-9]*\).*/\1/p' rs.out | tail -n 1)
	[ -n "$got" ] || { cat rs.out; fail "$c: no 'blocks read N' in the summary"; }
	ids=$(for j in $(chain_of "$k"); do printf '"%s",' "$(val ID_${c}_$j)"; done)
	"$ENGINE" find --entity "$c" '*' --date "$d" --log "$c.log" --json >find.json ||
		fail "$c: find '*' at dump $k"
	jq -rs --arg p "./$p" --arg pb "$(printf ./%s "$p" | base64 -w0)" --argjson chain "[${ids%,}]" -f span.jq find.json >span ||
		fail "$c: jq on find's output"
	set -- $(head -n 1 span)
	typ=$1 size=${2:-0}
	[ "$typ" != missing ] || fail "$c: find does not list ./$p in dump $k"
	# Distinct 64 KiB blocks the spans touch (per dump); the chain's
	# blocks from the part lines.
	need=$(sed 1d span | awk '$3 > $2 { for (b = int($2 / 65536); b <= int(($3 - 1) / 65536); b++)
		n[$1 " " b] = 1 } END { c = 0; for (x in n) c++; print c }')
	all=$(awk -v ids="${ids%,}" 'BEGIN { gsub(/"/, "", ids); split(ids, a, ","); for (i in a) in_chain[a[i]] = 1 }
		$1 == "part" { for (i = 2; i <= NF; i++) if ($i ~ /^dump=/ && in_chain[substr($i, 6)])
			for (j = 2; j <= NF; j++) if ($j ~ /^blocks=/) s += substr($j, 8) }
		END { print s + 0 }' "$c.log")
	# A directory, an empty file or a fifo can be made from the index alone.
	lo=1
	case $typ in dir | fifo | chardev | blockdev | socket) lo=0 ;; file) [ "$size" != 0 ] || lo=0 ;; esac
	if [ "$typ" = dir ] || [ "$c" = zstd ] || [ $lo = 0 ]; then
		# A directory: what its subtree holds, at most. Compressed: from
		# the start of the frame that holds the entry until its end is
		# decompressed, so at most up to the next frame.
		[ "$got" -ge $lo ] && [ "$got" -le "$need" ] ||
			fail "$c: $p ($typ) at dump $k: $got blocks read, the index says $lo..$need"
		need="<= $need"
	else
		[ "$got" = "$need" ] ||
			fail "$c: $p ($typ) at dump $k: $got blocks read, the index says $need"
	fi
	sf_read=$((sf_read + got)) sf_chain=$((sf_chain + all))
	echo "$c at dump $k: $p ($typ): $got blocks read ($need by the index), the chain has $all"
done 3<<EOF
$picks
EOF
ok "20 single paths at random dates: $sf_read blocks read, $sf_chain in their chains"

# The index files beside the log are a copy: damaged or gone, the tape's
# is read. The chain at dump 10 is dumps 1, 8 and 10.
[ "$(stat -c %a plain.log.fidx)" = 700 ] || fail "plain.log.fidx is not mode 700"
flip "plain.log.fidx/$(val ID_plain_1)" 40
rm "plain.log.fidx/$(val ID_plain_8)"
"$ENGINE" restore --device $DEV --entity plain --log plain.log \
	--date "$(val DATE_plain_10)" --to out-fx >rs.out 2>&1 ||
	{ cat rs.out; fail "restore with index files damaged and gone"; }
tree_cmp snap/10 out-fx "plain at dump 10, index files damaged" ||
	fail "restore with index files damaged and gone differs"
rm -rf out-sf
"$ENGINE" restore --device $DEV --entity plain --log plain.log \
	--date "$(val DATE_plain_10)" --path moved --to out-sf >rs.out 2>&1 ||
	{ cat rs.out; fail "single path with index files damaged and gone"; }
tree_cmp snap/10 out-sf "plain: moved at dump 10, index files damaged" moved ||
	fail "single path with index files damaged and gone differs"
ok "index files beside the log damaged or gone: the tape's copies are read"
