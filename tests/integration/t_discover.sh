#!/bin/sh
# The nightly run's configuration through abs-ctl and a real abs-ctld on
# its own socket and SQLite file: servers and subnets, entities with a
# server, partition and priority, type rules and commands, forbidden
# windows, and discovery over three "nights" (a listing script in the
# temp dir that adds and drops entities), then discovery commands that
# fail, hang (with a child holding its output), write garbage or too
# much: each changes nothing, says why, is an exception, and abs-ctld
# lives on. Last, crippled mode answers the new requests clearly.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_CTL_SOCKET="$T/ctld.sock"

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--exception-cmd "cat >>$T/exceptions.txt" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
w_end=$(deadline)
until "$CTL" whoami >/dev/null 2>&1; do
	before "$w_end" || { cat "$T/ctld.log" >&2; fail "abs-ctld did not start"; }
	sleep 0.1
done
alive() { kill -0 "$CPID" 2>/dev/null || { cat "$T/ctld.log" >&2; fail "abs-ctld died"; }; }
j() { "$CTL" --json "$@"; }

# Servers and subnets.
"$CTL" server-add afs1 --subnet net1 --max-dumps 2 >/dev/null
"$CTL" server-add afs2 --subnet net1 >/dev/null
"$CTL" server-add nfs9 >/dev/null
"$CTL" subnet-set net1 3 >/dev/null
"$CTL" server-set afs2 --max-dumps 1 >/dev/null
expect_fail "exists" "$CTL" server-add afs1
expect_fail "no server nosuch" "$CTL" server-set nosuch --max-dumps 1
expect_fail "nothing to change" "$CTL" server-set afs1
expect_fail "0 (no limit) or more" "$CTL" server-add x1 --max-dumps -2
expect_fail "no spaces" "$CTL" server-add "a b"
j servers >servers.json
grep -q '"name":"afs2","subnet":"net1","max_dumps":1,"subnet_max_dumps":3' servers.json ||
	fail "servers: $(cat servers.json)"
grep -q '"subnets":\[{"name":"net1","max_dumps":3,"servers":2' servers.json ||
	fail "subnets: $(cat servers.json)"
"$CTL" servers | grep -q '^  afs1 *net1 *2 *3 ' || fail "servers table: $("$CTL" servers)"
ok "servers and subnets"

# Type rules and commands; placeholders are checked.
"$CTL" type-add vol --full 7 --incr 1 >/dev/null
"$CTL" type-set vol --priority 5 --max-level 3 --estimate 2G \
	--snapshot 'vos backup {entity}' --dump 'vos dump {entity}.backup' \
	--incr 'vos  dump {entity}.backup -time {since}' >/dev/null
expect_fail "unknown placeholder {volume}" "$CTL" type-set vol --dump 'vos dump {volume}'
expect_fail "max-level" "$CTL" type-set vol --max-level 10
expect_fail "estimate" "$CTL" type-set vol --estimate lots
expect_fail "nothing to change" "$CTL" type-set vol
expect_fail "no entity type nosuch" "$CTL" type-set nosuch --priority 1
j types >types.json
grep -q '"name":"vol","full_every_days":7,"incr_every_days":1,"priority":5,"max_level":3,"estimate_bytes":2147483648' types.json ||
	fail "types: $(cat types.json)"
grep -q '"incr":\["vos","dump","{entity}.backup","-time","{since}"\]' types.json ||
	fail "types: the incremental command is not its words: $(cat types.json)"
"$CTL" type-set vol --snapshot '' >/dev/null
j types | grep -q '"name":"vol",[^}]*"snapshot":null' || fail "--snapshot '' did not clear"
ok "type rules and commands, word by word; bad ones refused"

# Forbidden windows.
"$CTL" window-add Mon-Fri 07:00-19:00 --type vol >/dev/null
"$CTL" window-add Sat,Sun 22:00-06:00 --type vol >/dev/null
expect_fail "bad days" "$CTL" window-add Mon-Fry 07:00-19:00 --type vol
expect_fail "bad hours" "$CTL" window-add Mon 7-19 --type vol
expect_fail "empty window" "$CTL" window-add Mon 07:00-07:00 --type vol
expect_fail "exactly one" "$CTL" window-add Mon 07:00-08:00
expect_fail "exactly one" "$CTL" window-add Mon 07:00-08:00 --type vol --entity x
expect_fail "no entity type nosuch" "$CTL" window-add Mon 07:00-08:00 --type nosuch
j windows --type vol >windows.json
grep -q '"days":"Sat-Sun","hours":"22:00-06:00","past_midnight":true' windows.json ||
	fail "windows: $(cat windows.json)"
"$CTL" types | grep -q 'vol: not during Mon-Fri 07:00-19:00; Sat-Sun 22:00-06:00' ||
	fail "types table: $("$CTL" types)"
ok "forbidden windows: parsed, listed, garbage refused"

# Entities with a server, a partition and a priority.
"$CTL" entity-add v1 "dir:$T" --type vol --server afs1 --partition vicepa >/dev/null
expect_fail "server-add it first" "$CTL" entity-add v2 "dir:$T" --server nosuch
expect_fail "priority" "$CTL" entity-add v2 "dir:$T" --priority 5000
"$CTL" entity-add v2 "dir:$T" --priority 7 >/dev/null
"$CTL" entity-set v2 --server afs2 --partition vicepb >/dev/null
expect_fail "nothing to change" "$CTL" entity-set v2
expect_fail "no server nosuch" "$CTL" entity-set v2 --server nosuch
j entity v1 | grep -q '"server":"afs1","partition":"vicepa","priority":5,"own_priority":null' ||
	fail "entity v1: $(j entity v1)"
j entity v2 | grep -q '"server":"afs2","partition":"vicepb","priority":7' ||
	fail "entity v2: $(j entity v2)"
# An entity's own window replaces its type's.
"$CTL" window-add daily 00:00-02:00 --entity v1 >/dev/null
[ "$(j windows --entity v1 | grep -o '"id"' | wc -l)" -eq 1 ] ||
	fail "v1's windows: $(j windows --entity v1)"
[ "$(j windows --entity v2 | grep -o '"id"' | wc -l)" -eq 0 ] ||
	fail "v2 (default type) has windows: $(j windows --entity v2)"
wid=$(j windows --entity v1 | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
"$CTL" window-remove "$wid" >/dev/null
expect_fail "no window" "$CTL" window-remove "$wid"
[ "$(j windows --entity v1 | grep -o '"id"' | wc -l)" -eq 2 ] ||
	fail "v1 did not fall back to its type's windows"
ok "entities: server, partition, priority; an entity's windows replace its type's"

# Discovery over three nights: added, vanished (kept), back.
cat >lister.sh <<'EOF'
#!/bin/sh
cat "$(dirname "$0")/vols.txt"
EOF
chmod 755 lister.sh
printf 'home.a vicepa 1M\nhome.b vicepa\n# a comment\n\nhome.c vicepb 2G\n' >vols.txt
"$CTL" discover-add nfs1 --type vol --cmd "$T/lister.sh" --source-template "dir:$T/export/{name}" >/dev/null
expect_fail "needs --type T and --cmd" "$CTL" discover-add nfs1 --cmd "$T/lister.sh"
expect_fail "has this discovery command already" "$CTL" discover-add nfs1 --type vol --cmd "$T/lister.sh"
expect_fail "source-template" "$CTL" discover-add nfs1 --type vol --cmd ls --source-template 'tape:{name}'
j discover >night1.json || fail "discover: $(cat night1.json)"
for e in home.a home.b home.c; do
	grep -q "\"entity\":\"$e\",\"server\":\"nfs1\"" night1.json || fail "night 1: $e not new: $(cat night1.json)"
done
j entity home.c | grep -q "\"source\":\"dir:$T/export/home.c\"" || fail "home.c's source: $(j entity home.c)"
j entity home.c | grep -q '"server":"nfs1","partition":"vicepb","priority":5' || fail "home.c: $(j entity home.c)"
printf 'home.a vicepa\nhome.c vicepb\n' >vols.txt
j discover >night2.json
grep -q '"vanished":\[{"entity":"home.b","server":"nfs1","partition":"vicepa","since":"[0-9T:Z-]*","newly":true' night2.json ||
	fail "night 2: home.b not vanished: $(cat night2.json)"
j entity home.b | grep -q '"active":1,.*"vanished":"20' || fail "home.b: $(j entity home.b)"
"$CTL" discover | grep -q 'home.b .*since' || fail "home.b not reported again"
printf 'home.a vicepa\nhome.b vicepc\nhome.c vicepb\nhome.d\n' >vols.txt
j discover >night3.json
grep -q '"back":\[{"entity":"home.b","server":"nfs1","partition":"vicepc"' night3.json ||
	fail "night 3: home.b not back: $(cat night3.json)"
grep -q '"new":\[{"entity":"home.d"' night3.json || fail "night 3: home.d not new"
j entity home.b | grep -q '"vanished":null' || fail "home.b still vanished"
ok "discovery: new entities added, a missing one vanished (kept, reported), then back"

# What the catalog holds now: no failed listing may change it.
j entities >before.json
exc_before=$(grep -c 'exception (discovery)' exceptions.txt 2>/dev/null || true)
# A listing that fails.
cat >fails.sh <<'EOF'
#!/bin/sh
echo "home.a"
echo "cannot reach the file server" >&2
exit 3
EOF
# One that hangs, with a child of its own holding the output.
cat >hangs.sh <<'EOF'
#!/bin/sh
echo home.a
sleep 300 &
echo $! >"$(dirname "$0")/hang.pid"
wait
EOF
# One printing garbage, one too much.
cat >garbage.sh <<'EOF'
#!/bin/sh
echo home.a
printf 'vol.x\001\002 part\n'
EOF
cat >flood.sh <<'EOF'
#!/bin/sh
yes home.z
EOF
cat >badsize.sh <<'EOF'
#!/bin/sh
echo "home.a vicepa 12Q"
EOF
chmod 755 fails.sh hangs.sh garbage.sh flood.sh badsize.sh
"$CTL" discover-add bad1 --type vol --cmd "$T/fails.sh" >/dev/null
"$CTL" discover-add bad2 --type vol --cmd "$T/hangs.sh" --timeout 2 >/dev/null
"$CTL" discover-add bad3 --type vol --cmd "$T/garbage.sh" >/dev/null
"$CTL" discover-add bad4 --type vol --cmd "$T/flood.sh" --timeout 20 >/dev/null
"$CTL" discover-add bad5 --type vol --cmd "$T/badsize.sh" >/dev/null
"$CTL" discover-add bad6 --type vol --cmd "$T/no-such-lister" >/dev/null
expect_fail "timeout is 1..300" "$CTL" discover-add bad7 --type vol --cmd ls --timeout 0
for s in bad1 bad2 bad3 bad4 bad5 bad6; do
	if j discover --server "$s" >"$s.json"; then
		fail "discover --server $s did not fail: $(cat "$s.json")"
	fi
	alive
done
grep -q '"error":"failed (exit 3): cannot reach the file server"' bad1.json || fail "bad1: $(cat bad1.json)"
grep -q '"error":"ran longer than 2 s"' bad2.json || fail "bad2: $(cat bad2.json)"
grep -q '"error":"line 2 is not NAME' bad3.json || fail "bad3: $(cat bad3.json)"
grep -q '"error":"wrote more than' bad4.json || fail "bad4: $(cat bad4.json)"
grep -q '"error":"line 1 is not NAME.*bad size' bad5.json || fail "bad5: $(cat bad5.json)"
grep -q '"error":"failed (exit 127): cannot run' bad6.json || fail "bad6: $(cat bad6.json)"
# The hanging one's child was killed with it.
hp=$(cat hang.pid)
w_end=$(deadline)
while kill -0 "$hp" 2>/dev/null; do
	before "$w_end" || fail "the hanging discovery's child $hp lives on"
	sleep 0.1
done
j entities >after.json
cmp -s before.json after.json || fail "a failed listing changed the entities: $(diff before.json after.json)"
for e in home.z vol.x; do
	! grep -q "\"name\":\"$e\"" after.json || fail "a failed listing added $e"
done
j discoveries | grep -q '"server":"bad2",.*"last_error":"ran longer than 2 s","timeout_s":2}' ||
	fail "last_error: $(j discoveries)"
exc_after=$(grep -c 'exception (discovery)' exceptions.txt 2>/dev/null || true)
[ "$exc_after" -ge $((exc_before + 6)) ] || fail "$((exc_after - exc_before)) discovery exceptions, not 6"
# All at once: the good one applies, the bad ones fail, exit 1.
"$CTL" discover >all.txt 2>&1 && fail "discover with failures exited 0"
grep -q '^FAILED bad1' all.txt && grep -q '^7 discovery command' all.txt || fail "discover: $(cat all.txt)"
alive
ok "discovery that fails, hangs, prints garbage or too much, or cannot run: nothing changed, said, an exception"

# An empty listing of a discovery that had entities is an outage.
: >vols.txt
j discover --server nfs1 >empty.json && fail "an empty listing was believed"
grep -q 'listed no entity (it had 4)' empty.json || fail "empty: $(cat empty.json)"
j entity home.a | grep -q '"vanished":null' || fail "an empty listing flagged home.a"
# discover-remove keeps the entities.
did=$(j discoveries | tr '{' '\n' | grep '"server":"bad1"' | sed -n 's/^"id":\([0-9]*\),.*/\1/p')
"$CTL" discover-remove "$did" >/dev/null
expect_fail "no discovery command" "$CTL" discover-remove "$did"
expect_fail "has no discovery command" "$CTL" discover --server bad1
ok "an empty listing changes nothing; discover-remove"

# A listing whose first line is good and a later one is not (a name that
# climbs out of its template, a name listed twice: found while applying)
# reports its failure only: no "new" entity of the good line, here or in
# the exception.
printf '#!/bin/sh\necho okfirst\necho "a/../.."\n' >climbs.sh
printf '#!/bin/sh\necho okdup\necho okdup\n' >twice.sh
chmod 755 climbs.sh twice.sh
"$CTL" discover-add bad8 --type vol --cmd "$T/climbs.sh" >/dev/null
"$CTL" discover-add bad9 --type vol --cmd "$T/twice.sh" >/dev/null
for s in bad8 bad9; do
	j discover --server "$s" >"$s.json" && fail "discover --server $s did not fail: $(cat "$s.json")"
	grep -q '"new":\[\],"back":\[\],"moved":\[\],"vanished":\[\]' "$s.json" ||
		fail "$s: a failed listing reported changes: $(cat "$s.json")"
	grep -q '"failed":\[{"id":[0-9]*,"server":"'"$s"'"' "$s.json" || fail "$s: no failure: $(cat "$s.json")"
	"$CTL" discover --server "$s" >"$s.txt" 2>&1 && fail "discover --server $s exited 0"
	! grep -q '^ *\(new\|back\|moved\|vanished\)' "$s.txt" || fail "$s: a failed listing's changes in the reply: $(cat "$s.txt")"
	grep -q "^FAILED $s" "$s.txt" || fail "$s: $(cat "$s.txt")"
done
grep -q '"error":".*\. or \.\. path component' bad8.json || fail "bad8: $(cat bad8.json)"
grep -q '"error":"okdup is listed twice' bad9.json || fail "bad9: $(cat bad9.json)"
! grep -q 'okfirst' exceptions.txt || fail "an exception names a failed listing's entity: $(cat exceptions.txt)"
for e in okfirst okdup; do
	! j entity "$e" >/dev/null 2>&1 || fail "a failed listing added $e"
done
alive
ok "a listing that fails on a later line reports its failure, no new entity"

# Crippled mode: the new requests say they need the catalog.
kill "$CPID"
wait "$CPID" 2>/dev/null || true
mkdir -p crip/journal
"$CTLD" --socket "$T/crip.sock" --db "$T/crip/catalog.db" --journal "$T/crip/journal" \
	--crippled --foreground 2>"$T/crip.log" &
CPID=$!
PIDS="$PIDS $CPID"
export ABS_CTL_SOCKET="$T/crip.sock"
w_end=$(deadline)
until "$CTL" whoami >/dev/null 2>&1; do
	before "$w_end" || { cat "$T/crip.log" >&2; fail "crippled abs-ctld did not start"; }
	sleep 0.1
done
for r in servers types windows discoveries discover "server-add s" "window-add daily 01:00-02:00 --type vol" \
	"entity-set v1 --priority 1" "type-set vol --priority 1" "discover-add s --type vol --cmd ls"; do
	# shellcheck disable=SC2086
	expect_fail "not available in crippled mode" "$CTL" $r
done
alive
ok "crippled mode: the new requests refused clearly; abs-ctld lives"
