# Chains (issue 13), direct mode: a tree changed through 10 dumps (a full,
# then incrementals at levels 1 and 2 mixed), each step adding, deleting
# and renaming files and directories, changing modes and owners, turning a
# file into a directory and back, adding hard links, symlinks, sparse and
# empty files and names that are not ASCII. A `cp -a` snapshot is kept of
# each step; a restore at each dump's date must give back that snapshot
# (treecmp.sh: types, modes, owners, mtimes, targets, bytes, link groups).
# The same chain compressed and on small cartridges (so that it spans
# them); a chain whose base is missing is refused naming it; single paths
# at random dates, with the blocks read checked against the index.
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

# The libraries: one large cartridge for the plain chain; small ones
# (about 4 MiB of data each) shared by a plain and a compressed chain, so
# that their dumps cross cartridges. Blocks of 64 KiB: a single path reads
# a few of a dump's blocks, not one block that holds everything.
new_lib lib 1G
"$ENGINE" label --device vtape:lib/drive0 --label C00001 >/dev/null
"$VTAPE" new-library small --slots 40 --drives 1 --capacity 5M \
	--early-warning 1M >/dev/null
"$VTAPE" load small --slot 1 --drive 0
"$ENGINE" label --device vtape:small/drive0 --label S00001 >/dev/null
CHAINS="plain zspan pspan"
dev_of() { case $1 in plain) echo vtape:lib/drive0 ;; *) echo vtape:small/drive0 ;; esac; }
opts_of() {
	case $1 in
	plain) echo "--block-size 64K" ;;
	zspan) echo "--block-size 64K --compress zstd --autolabel S%05d" ;;
	pspan) echo "--block-size 64K --autolabel S%05d" ;;
	esac
}
# field KEY LINE: the value of key=value in a dump-log line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# val NAME: the value of the variable named NAME.
val() { eval "printf '%s' \"\${$1}\""; }

mkdir "$S" snap
k=0
last=0
for lvl in $LEVELS; do
	k=$((k + 1))
	step $k
	cp -a "$S" "snap/$k"
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
		"$ENGINE" dump --device "$(dev_of $c)" --entity "$c" --source "dir:$S" \
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
	last=$(date +%s)
done
ok "10 dumps of 3 chains, each incremental based on the right dump"
for c in $CHAINS; do
	echo "$c: $(grep -c "^part entity=$c " $c.log) parts on $(grep "^part entity=$c " $c.log | sed 's/.* label=\([^ ]*\) .*/\1/' | sort -u | wc -l) cartridges"
done
[ "$(grep '^part entity=pspan ' pspan.log | sed 's/.* label=\([^ ]*\) .*/\1/' | sort -u | wc -l)" -ge 3 ] ||
	fail "the plain chain on small cartridges does not span them"

# A restore at each dump's date gives that step's snapshot back.
for c in $CHAINS; do
	k=1
	while [ $k -le 10 ]; do
		"$ENGINE" restore --device "$(dev_of $c)" --entity "$c" --log "$c.log" \
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
"$ENGINE" restore --device vtape:lib/drive0 --entity plain --log plain.log \
	--to out-newest >rs.out 2>&1 || { cat rs.out; fail "restore of plain without a date"; }
tree_cmp snap/10 out-newest "plain, no date" || fail "restore without a date is not the newest tree"
rm -rf out-newest

# A chain with a dump missing from the log is refused, naming the dump.
id1=$(val ID_plain_1) id5=$(val ID_plain_5)
grep -v " dump=$id1\( \|\$\)" plain.log >nofull.log
grep -q "$id1" nofull.log && fail "the full's lines are still in nofull.log"
expect_fail "$id1" "$ENGINE" restore --device vtape:lib/drive0 --entity plain \
	--log nofull.log --date "$(val DATE_plain_3)" --to out-nofull
[ ! -e out-nofull ] || [ -z "$(ls -A out-nofull)" ] ||
	fail "a refused chain restore left files in its target"
grep -v " dump=$id5\( \|\$\)" plain.log >nomid.log
expect_fail "$id5" "$ENGINE" restore --device vtape:lib/drive0 --entity plain \
	--log nomid.log --date "$(val DATE_plain_6)" --to out-nomid
# Dump 6 alone (--level-only) needs no base: only what changed since dump 5.
"$ENGINE" restore --device vtape:lib/drive0 --entity plain --log nomid.log \
	--date "$(val DATE_plain_6)" --level-only --to out-lo >rs.out 2>&1 ||
	{ cat rs.out; fail "--level-only restore of dump 6"; }
[ -f out-lo/big6 ] && [ ! -e out-lo/docs/a.txt ] ||
	fail "--level-only is not dump 6 alone: $(cd out-lo && find . | head)"
# The dumps the chain does not need may go: dump 6 needs 5 and 1, not 2-4.
grep -v " dump=$(val ID_plain_3)\( \|\$\)" plain.log >no3.log
"$ENGINE" restore --device vtape:lib/drive0 --entity plain --log no3.log \
	--date "$(val DATE_plain_6)" --to out-no3 >rs.out 2>&1 ||
	{ cat rs.out; fail "restore of dump 6 without dump 3 (not in its chain)"; }
tree_cmp snap/6 out-no3 "plain at dump 6 without dump 3" || fail "dump 6 without dump 3"
ok "a chain with a missing dump is refused naming it; --level-only; other chains' dumps are not needed"

# Single paths at random dates: each must equal its snapshot, and the
# restore must read just the blocks the index says hold it.
# blocks_of DUMPID < "start end" lines: how many distinct blocks of that
# dump's stored stream the byte ranges touch.
blocks_of() {
	bs=$(grep "^dump .* dump=$1\( \|\$\)" "$log" | sed -n 's/.* block_size=\([0-9]*\).*/\1/p')
	[ -n "$bs" ] || fail "no block size for dump $1"
	awk -v bs="$bs" '$2 > $1 { for (b = int($1 / bs); b <= int(($2 - 1) / bs); b++) n[b] = 1 }
		END { c = 0; for (b in n) c++; print c }'
}
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
picks=$(perl -e 'srand($ARGV[0]); print qw(plain zspan pspan)[$_ % 3], " ",
	1 + int(rand(10)), " ", int(rand(1000000)), "\n" for 1 .. 20' "$SEED")
sf_read=0 sf_chain=0
while read -r c k r <&3; do
	log=$c.log
	# A path of that step's tree, picked by r.
	p=$(cd "snap/$k" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		awk -v r="$r" '{ l[NR] = $0 } END { print l[r % NR + 1] }')
	d=$(val DATE_${c}_$k)
	rm -rf out-sf
	"$ENGINE" restore --device "$(dev_of $c)" --entity "$c" --log "$log" \
		--date "$d" --path "$p" --to out-sf >rs.out 2>&1 ||
		{ cat rs.out; fail "$c: restore of $p at dump $k"; }
	tree_cmp "snap/$k" out-sf "$c: $p at dump $k" "$p" ||
		fail "$c: $p restored at dump $k differs"
	got=$(sed -n 's/.*blocks read \([0-9]*\).*/\1/p' rs.out | tail -n 1)
	[ -n "$got" ] || { cat rs.out; fail "$c: no 'blocks read N' in the summary"; }
	# What the index says: the entry as of dump K, followed back by inode
	# through the chain to the dump that holds it (and its data, for a
	# hard link whose data another name carries).
	"$ENGINE" find --entity "$c" '*' --date "$d" --log "$log" --json >find.json ||
		fail "$c: find '*' at dump $k"
	id=$(val ID_${c}_$k)
	jq -r --arg id "$id" --arg p "./$p" \
		'select(.dump == $id and (.path == $p or (.path | startswith($p + "/"))))
		 | "\(.path == $p) \(.ino) \(.type)"' find.json >mine
	set -- $(awk '$1 == "true" { print $2, $3 }' mine)
	[ $# = 2 ] || fail "$c: find does not list ./$p in dump $k"
	ino=$1 typ=$2
	case $typ in
	d*) # A directory: at most the blocks of its subtree's entries (by
		# inode) in every dump of the chain.
		inos=$(awk '{ print $2 }' mine | paste -sd, -)
		max=0
		for j in $(chain_of "$k"); do
			jid=$(val ID_${c}_$j)
			m=$(jq -r --arg id "$jid" --argjson s "[$inos]" \
				'select(.dump == $id and .in_stream and (.ino as $i | $s | index([$i])))
				 | "\(.stored_start) \(.stored_end)"' find.json | blocks_of "$jid")
			max=$((max + m))
		done
		[ "$got" -ge 1 ] && [ "$got" -le "$max" ] ||
			fail "$c: directory $p at dump $k: $got blocks read, the index says 1..$max"
		need="<= $max"
		;;
	*)	need=""
		for j in $(chain_of "$k"); do
			jid=$(val ID_${c}_$j)
			# (Of a hard-link set: the entry with the data and its own.)
			jq -rs --arg id "$jid" --argjson ino "$ino" --arg p "./$p" '
				[.[] | select(.dump == $id and .ino == $ino and .in_stream)] as $e
				| ($e | map(select(.has_data or .path == $p))) as $w
				| (if ($w | length) > 0 then $w else $e[:1] end) | .[]
				| "\(.stored_start) \(.stored_end)"' find.json >ranges
			[ -s ranges ] || continue
			need=$(blocks_of "$jid" <ranges)
			break
		done
		[ -n "$need" ] || fail "$c: no dump of the chain holds ./$p (ino $ino)"
		[ "$got" = "$need" ] ||
			fail "$c: $p at dump $k: $got blocks read, the index says $need"
		;;
	esac
	# Against reading the whole chain.
	all=0
	for j in $(chain_of "$k"); do
		b=$(grep "^part entity=$c .* dump=$(val ID_${c}_$j)\( \|\$\)" "$log" |
			sed 's/.* blocks=\([0-9]*\) .*/\1/' | awk '{ s += $1 } END { print s + 0 }')
		all=$((all + b))
	done
	sf_read=$((sf_read + got)) sf_chain=$((sf_chain + all))
	echo "$c at dump $k: $p ($typ): $got blocks read ($need by the index), the chain has $all"
done 3<<EOF
$picks
EOF
ok "20 single paths at random dates: $sf_read blocks read, $sf_chain in their chains"

# The index files beside the log are a copy: damaged or gone, the tape's
# is read. The chain at dump 10 is dumps 1, 8 and 10.
[ "$(stat -c %a pspan.log.fidx)" = 700 ] || fail "pspan.log.fidx is not mode 700"
flip "pspan.log.fidx/$(val ID_pspan_1)" 40
rm "pspan.log.fidx/$(val ID_pspan_8)"
"$ENGINE" restore --device vtape:small/drive0 --entity pspan --log pspan.log \
	--date "$(val DATE_pspan_10)" --to out-fx >rs.out 2>&1 ||
	{ cat rs.out; fail "restore with index files damaged and gone"; }
tree_cmp snap/10 out-fx "pspan at dump 10, index files damaged" ||
	fail "restore with index files damaged and gone differs"
rm -rf out-sf
"$ENGINE" restore --device vtape:small/drive0 --entity pspan --log pspan.log \
	--date "$(val DATE_pspan_10)" --path moved --to out-sf >rs.out 2>&1 ||
	{ cat rs.out; fail "single path with index files damaged and gone"; }
tree_cmp snap/10 out-sf "pspan: moved at dump 10, index files damaged" moved ||
	fail "single path with index files damaged and gone differs"
ok "index files beside the log damaged or gone: the tape's copies are read"
