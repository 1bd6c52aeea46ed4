# The archive queue's producer side (abs-queue add, close, list): entries
# written whole, open until closed, refusals said and the queue unharmed.
. "$(dirname "$0")/lib.sh"
Q="$ABS_BIN/abs-queue"

mkdir data
for i in 1 2 3; do head -c $((i * 1000)) /dev/urandom >data/f$i.dat; done
"$Q" add q data/f1.dat data/f2.dat || fail "add"
"$Q" add q data/f3.dat --open --expires 3600 || fail "add --open"
[ "$(ls q/*.json | wc -l)" = 3 ] || fail "three entry files"
"$Q" list q >list.txt
grep -q "^closed .* 1000 .*$T/data/f1.dat\$" list.txt || { cat list.txt; fail "f1 closed"; }
grep -q "^open .* 3000 .*$T/data/f3.dat\$" list.txt || { cat list.txt; fail "f3 open"; }
"$Q" list q --json | jq -e 'select(.state == "open") | .expires' >/dev/null ||
	fail "--json: the open entry has its expiry"
ok "add, add --open, list"

# Closing: the size now, the producer's checksum kept.
head -c 5000 /dev/urandom >>data/f3.dat
sum=$(xxh128sum data/f3.dat | cut -d' ' -f1)
"$Q" close q data/f3.dat --checksum "xxh128:$sum" || fail "close"
"$Q" list q --json | jq -e --arg s "xxh128:$sum" \
	'select(.path | endswith("f3.dat")) | select(.state == "closed" and .size == 8000 and .checksum == $s)' \
	>/dev/null || fail "closed with its size and checksum"
"$Q" close q data/f3.dat || fail "closing twice changes nothing"
ok "close: size and checksum"

# Refusals, each said, the queue as it was.
cp -r q q.before
expect_fail "No such file" "$Q" add q data/none.dat
expect_fail "not a regular file" "$Q" add q data
expect_fail "queued already" "$Q" add q data/f1.dat
expect_fail "not in queue" "$Q" close q data/none.dat
expect_fail "neither xxh128 nor sha256" "$Q" add q data/f2.dat --checksum md5:00
expect_fail "one FILE" "$Q" add q data/f1.dat data/f2.dat --checksum "xxh128:$sum"
expect_fail "neither seconds nor a UTC date" "$Q" add q data/f1.dat --expires soon
diff -r q q.before || fail "a refusal changed the queue"
ok "refusals leave the queue as it was"

# A damaged entry is listed as such; the others still are.
echo '{"abs_queue":1,' >q/broken.0000000000000000.json
expect_fail "damaged entry" "$Q" list q
[ "$("$Q" list q 2>/dev/null | grep -c '^closed')" = 3 ] || fail "the rest listed"
ok "a damaged entry is named, the rest listed"
