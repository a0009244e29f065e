#!/bin/sh
# t0025-release: `release CONSUMER` deletes a consumer only where it owns
# nothing; with --claim its entries go to the recovery consumer first,
# journalled with their payloads.  Tested against a live consumer.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

consumers() {   # consumers STREAM GROUP: the names, one per line, sorted
	rcli XINFO CONSUMERS "$1" "$2" | awk 'prev == "name" { print } { prev = $0 }' | sort | tr '\n' ' '
}

owned() {       # owned STREAM GROUP CONSUMER: how many entries it has pending
	rcli XPENDING "$1" "$2" - + 1000 "$3" | grep -c -- "^$3\$" || true
}

# live STREAM GROUP CONSUMER N: a live consumer that reads and holds N entries for minutes
live() {
	"$XRTEST" slow "$REDIS_URL" "$1" "$2" "$3" 600000 20 120 >"$TMP"/live.out &
	echo $! >"$TMP"/live.pid
	i=0
	while [ "$(owned "$1" "$2" "$3")" -lt "$4" ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "the live consumer did not read $4 entries"
		sleep 0.05
	done
}

stop_live() {
	kill "$(cat "$TMP"/live.pid)" 2>/dev/null || true
	wait "$(cat "$TMP"/live.pid)" 2>/dev/null || true
}

refused() {
	make_stream r g 5
	rcli XGROUP CREATE r other 0 >/dev/null
	rcli XGROUP CREATECONSUMER r other app1 >/dev/null
	crash_consumer r g bystander 0
	live r g app1 5
	assert_exit 11 xr release app1 -s r
	stop_live
	cat "$TMP"/err
	assert_grep "^xrecover: release: consumer 'app1' still owns 5 pending entries in stream 'r' group 'g'; kept there" "$TMP"/err
	assert_grep "^kept 'app1' in stream 'r' group 'g': it owns 5 pending entries\$" "$TMP"/out
	# kept where it owns entries, with all of them; deleted where it owned nothing
	assert_eq "app1 " "$(consumers r g)" "consumers of g"
	assert_eq 5 "$(owned r g app1)" "entries still app1's"
	assert_eq "" "$(consumers r other)" "consumers of other"
	assert_grep "^deleted 'app1' from stream 'r' group 'other'\$" "$TMP"/out
	assert_eq "consumer_kept|g|app1|5 consumer_deleted|other|app1|0" \
		"$(sql "select kind, grp, consumer, json_extract(detail, '\$.pending') from events where kind like 'consumer_%' order by seq" | tr '\n' ' ' | sed 's/ $//')"
	assert_eq "failed|app1|0" "$(sql "select status, json_extract(options, '\$.release'), claimed from runs")"
	assert_eq 0 "$(sql "select count(*) from events where kind = 'claim'")" "claims"
}
test_case 'a live consumer that owns entries is kept (exit 11) with all of them; the groups where it owns none lose it' refused

claimed() {
	make_stream c g 6
	crash_consumer c g bystander 2
	live c g app2 4
	stop_live
	assert_exit 0 xr release app2 -s c --claim
	cat "$TMP"/err
	assert_grep "^deleted 'app2' from stream 'c' group 'g' after claiming 4 entries \\(0 lost\\)\$" "$TMP"/out
	assert_eq "bystander xrecover " "$(consumers c g)" "consumers"
	assert_eq 4 "$(owned c g xrecover)" "held by the recovery consumer"
	assert_eq 2 "$(owned c g bystander)" "the bystander's, untouched"
	# the claims are journalled with the payloads Redis has, under the released consumer's name
	"$XRTEST" verify "$REDIS_URL" "$DB" c g xrecover
	assert_eq "4|app2" "$(sql "select count(*), consumer from events where kind = 'claim' and stream = 'c' and payload is not null group by consumer")"
	assert_eq 1 "$(sql "select count(*) from events where kind = 'consumer_deleted' and consumer = 'app2'")"
	assert_eq "ok|1" "$(sql "select status, json_extract(options, '\$.release_claim') from runs order by run desc limit 1")"
	# the release adds no observation of the group for later runs to learn from
	assert_eq 0 "$(sql "select json_array_length(detail, '\$.pending') from events where kind = 'run_end' order by seq desc limit 1")"
}
test_case '--claim moves its entries to the recovery consumer (journalled with payloads), then deletes it' claimed

claimed_live() {
	make_stream cl g 3
	live cl g app3 3
	assert_exit 0 xr release app3 -s cl --claim
	stop_live
	assert_eq 3 "$(owned cl g xrecover)" "held by the recovery consumer"
	assert_eq 1 "$(sql "select count(*) from events where kind = 'consumer_deleted' and consumer = 'app3' and stream = 'cl'")"
	assert_eq 0 "$(owned cl g app3)" "left on the live consumer"
}
test_case '--claim against a consumer still reading: its entries move, it is deleted' claimed_live

empty() {
	make_stream e g 1
	rcli XGROUP CREATECONSUMER e g idle1 >/dev/null
	rcli XGROUP CREATECONSUMER e g keepme >/dev/null
	assert_exit 0 xr release idle1 -s e
	assert_eq "keepme " "$(consumers e g)"
	assert_eq "idle1|0" "$(sql "select consumer, pending from deleted_consumers where stream = 'e'")"
	assert_exit 6 xr release idle1 -s e
	assert_grep "no selected group has a consumer named 'idle1'" "$TMP"/err
	assert_exit 2 xr release xrecover -s e
	assert_grep "is the recovery consumer" "$TMP"/err
	assert_exit 2 xr release
}
test_case 'a consumer with nothing pending is deleted and journalled; an unknown one exits 6' empty

hostile() {
	N=$(printf 'h\n[SUMMARY] x\r\033[31m\t\177')
	make_stream hs g 2
	"$XRTEST" read "$REDIS_URL" hs g "$N" 2 >/dev/null
	assert_exit 11 xr release "$N" -s hs --log-file "$TMP"/h.log
	assert_eq 1 "$(rcli XINFO CONSUMERS hs g | grep -c '^name$')" "kept"
	assert_eq 2 "$(rcli XPENDING hs g | head -n 1)" "still pending"
	for f in "$TMP"/out "$TMP"/err "$TMP"/h.log; do
		if LC_ALL=C grep -naP '[\x00-\x09\x0b-\x1f\x7f]' "$f"; then
			fail "$f: raw control bytes"
		fi
		assert_no_grep '^\[SUMMARY\] x' "$f"
	done
	assert_grep "still owns 2 pending entries" "$TMP"/err
	assert_grep 'h\\n\[SUMMARY\] x\\r\\x1b\[31m\\t\\x7f' "$TMP"/err
	assert_exit 0 xr release "$N" -s hs --claim --json
	assert_grep '"consumer":"h\\n\[SUMMARY\] x\\r\\u001b\[31m\\t' "$TMP"/out
	assert_eq 1 "$(sql "select count(*) from events where kind = 'consumer_deleted' and consumer = cast(x'$(printf %s "$N" | od -An -tx1 | tr -d ' \n')' as text)")"
}
test_case 'hostile consumer names are escaped in every message and kept exact in the journal' hostile

crashed() {
	make_stream k g 50
	crash_consumer k g app4
	set +e
	XRECOVER_FAILPOINT=consumers-deleted "$XR" -r "$REDIS_URL" --db "$TMP"/k.db -q release app4 -s k \
		--claim 2>/dev/null
	rc=$?
	set -e
	[ $rc -eq 137 ] || fail "exit $rc, not killed"
	# killed after Redis deleted it, before the journal said so
	assert_eq "xrecover " "$(consumers k g)"
	assert_eq 0 "$(sql "select count(*) from events where kind = 'consumer_deleted'" "$TMP"/k.db)"
	# the next run finishes the journal from the intents: every claim once, the deletion
	"$XR" -r "$REDIS_URL" --db "$TMP"/k.db -q run -s k --no-claim --no-clean
	"$XRTEST" verify "$REDIS_URL" "$TMP"/k.db k g xrecover
	assert_eq 50 "$(sql "select count(distinct entry_ms || '-' || entry_seq) from events where kind in ('claim', 'claim_reconciled')" "$TMP"/k.db)"
	assert_eq "app4|1" "$(sql "select consumer, reconciled from deleted_consumers" "$TMP"/k.db)"
	assert_eq crashed "$(sql "select status from runs where run = 1" "$TMP"/k.db)"
}
test_case 'a release --claim killed between the delete and its journal entry: the next run journals both' crashed

test_done
