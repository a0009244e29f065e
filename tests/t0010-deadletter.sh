#!/bin/sh
# t0010-deadletter: entries go to the dead-letter stream with where they
# came from, once, never both there and pending; poison entries stop
# coming back; dead letters can be replayed and rolled back.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

action_dead_letter() {
	"$XRTEST" fill "$REDIS_URL" dl 50 --mixed --size 10 >/dev/null
	rcli XGROUP CREATE dl g 0 >/dev/null
	crash_consumer dl g dead
	xr run -s dl --claim-idle 0 --no-clean --action dead-letter 2>"$TMP"/log
	assert_grep 'dead_lettered=50' "$TMP"/log
	assert_grep '\[DEAD-LETTER\] entry=[0-9]+-[0-9]+ stream=dl group=g deliveries=1 dead_letter_stream=dl:dlq' "$TMP"/log
	assert_eq 0 "$(rcli XPENDING dl g | head -n 1)"
	assert_eq 50 "$(rcli XLEN dl:dlq)"
	"$XRTEST" places "$REDIS_URL" "$DB" dl g dl:dlq >"$TMP"/p
	assert_grep '^entries=50 pending=0 dead_lettered=50 both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
	# a dead letter: the entry's fields first, byte for byte, then where it came from
	id=$(sql "select entry_id from dead_letters where stream = 'dl' limit 1")
	dlid=$(sql "select dead_letter_id from dead_letters where entry_id = '$id'")
	rcli --raw XRANGE dl:dlq "$dlid" "$dlid" >"$TMP"/e
	assert_grep "^xrecover-origin-stream$" "$TMP"/e
	assert_grep "^$id$" "$TMP"/e
	assert_grep "^xrecover-origin-consumer$" "$TMP"/e
	assert_grep "^--action dead-letter$" "$TMP"/e
	assert_eq 50 "$(sql "select count(*) from dead_letters where stream = 'dl' and reason = '--action dead-letter' and from_consumer = 'dead'")"
}
test_case '--action dead-letter: moved with their origin, acknowledged, journalled' action_dead_letter

poison() {
	rcli XADD jobs '*' job poison n 1 >/dev/null
	rcli XGROUP CREATE jobs g 0 >/dev/null
	i=0
	while [ $i -lt 6 ]; do
		# the worker reads and dies on it, again and again
		rcli XREADGROUP GROUP g worker COUNT 10 STREAMS jobs '>' >/dev/null
		xr -q run -s jobs --claim-idle 0 --no-clean --action redeliver --max-deliveries 3
		i=$((i + 1))
	done
	assert_eq 1 "$(rcli XLEN jobs:dlq)"
	assert_eq 1 "$(sql "select count(*) from dead_letters where stream = 'jobs'")"
	assert_eq "4|delivered 4 times, more than --max-deliveries 3" "$(sql "select deliveries, reason from dead_letters where stream = 'jobs'")"
	# it stops coming back: nothing pending, no new copies after it went
	assert_eq 0 "$(rcli XPENDING jobs g | head -n 1)"
	assert_eq 4 "$(rcli XLEN jobs)"
	assert_eq 3 "$(sql "select count(*) from replayed_messages where stream = 'jobs'")"
}
test_case '--max-deliveries: an entry a consumer keeps failing on ends in the dead-letter stream once' poison

max_hold() {
	make_stream mh g 6
	crash_consumer mh g first 6
	# three entries have been delivered 5 times before
	ids=$(rcli --raw XRANGE mh - + COUNT 3 | grep -E '^[0-9]+-[0-9]+$' | tr '\n' ' ')
	# shellcheck disable=SC2086 # $ids: one argument per ID
	rcli XCLAIM mh g first 0 $ids RETRYCOUNT 5 JUSTID >/dev/null
	xr run -s mh --claim-idle 0 --no-clean --max-deliveries 4 2>"$TMP"/log
	assert_eq 3 "$(rcli XLEN mh:dlq)"
	assert_eq 3 "$(rcli XPENDING mh g - + 10 xrecover | grep -c '^xrecover$')"
	"$XRTEST" places "$REDIS_URL" "$DB" mh g mh:dlq >"$TMP"/p
	assert_grep '^entries=6 pending=3 dead_lettered=3 both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
}
test_case '--max-deliveries with --action hold: only the over-delivered go' max_hold

template() {
	make_stream tp g 4
	crash_consumer tp g d
	xr -q run -s tp --claim-idle 0 --no-clean --action dead-letter --dead-letter-stream 'dead.{group}.{stream}'
	assert_eq 4 "$(rcli XLEN dead.g.tp)"
	make_stream tp2 g 4
	crash_consumer tp2 g d
	rcli SET tp2:dlq x >/dev/null
	assert_exit 1 xr run -s tp2 --claim-idle 0 --no-clean --action dead-letter
	assert_grep "dead-letter stream 'tp2:dlq' is a string, not a stream" "$TMP"/err
	# nothing lost: still held, journalled as claimed
	assert_eq 4 "$(rcli XPENDING tp2 g - + 10 xrecover | grep -c '^xrecover$')"
	assert_eq 4 "$(sql "select count(*) from claimed_messages where stream = 'tp2'")"
}
test_case '--dead-letter-stream template; a dead-letter key that is no stream fails safe' template

replay_dead_letters() {
	n=$(rcli XLEN dl:dlq)
	xr replay -s dl --dead-lettered >"$TMP"/out 2>&1
	b=$(sql "select max(batch) from replays")
	assert_grep "^replay batch $b: copied 50 of 50 entries$" "$TMP"/out
	assert_eq dead_letter "$(sql "select distinct source from replayed_messages where batch = $b")"
	"$XRTEST" copies "$REDIS_URL" "$DB" "$b" >"$TMP"/v
	assert_grep '^checked=50 different=0 missing=0$' "$TMP"/v
	# until the copies are read, the dead letters stay; a rollback leaves them there
	xr -q rollback "$b"
	assert_eq "$n" "$(rcli XLEN dl:dlq)"
	assert_eq 50 "$(rcli XLEN dl)"
	# replay again; this time the copies are read and acknowledged
	xr -q replay -s dl --dead-lettered
	"$XRTEST" worker "$REDIS_URL" dl g w 1 >"$TMP"/read
	assert_lines 50 "$TMP"/read
	xr run -s dl --claim-idle 1h --no-clean 2>"$TMP"/log
	assert_grep 'settled=50' "$TMP"/log
	assert_eq 0 "$(rcli XLEN dl:dlq)"
	assert_eq 0 "$(sql "select count(*) from (select 1 from events where kind = 'settled' and stream = 'dl' group by entry_ms, entry_seq having count(*) <> 1)")"
}
test_case 'dead letters replayed: they stay until the copies are read, then leave; rollback keeps them' replay_dead_letters

kill_dead_letter() {
	i=0
	while [ $i -lt 20 ]; do
		s=dk$i
		"$XRTEST" fill "$REDIS_URL" $s 600 --size 20 >/dev/null
		rcli XGROUP CREATE $s g 0 >/dev/null
		crash_consumer $s g dead
		"$XR" -r "$REDIS_URL" --db "$DB" -q run -s $s --claim-idle 0 --no-clean \
			--action dead-letter --batch 50 >/dev/null 2>&1 &
		pid=$!
		sleep "0.0$(printf '%02d' "$(random_below 60)")"
		kill -9 $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		# the next run reconciles what the killed one did, and goes on
		xr -q run -s $s --claim-idle 0 --no-clean --action dead-letter || fail "round $i: run failed"
		"$XRTEST" places "$REDIS_URL" "$DB" $s g $s:dlq >"$TMP"/p
		assert_grep '^entries=600 pending=[0-9]+ dead_lettered=[0-9]+ both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
		i=$((i + 1))
	done
	# the killed commands left the hash chain whole
	xr verify >/dev/null || fail "verify after the kills: exit $?"
	echo "$(sql "select count(*) from dead_letters where stream like 'dk%'") dead letters, $(sql "select count(*) from dead_letters where stream like 'dk%' and reconciled = 1") journalled by reconciliation"
}
test_case 'SIGKILL at random instants during a dead-letter run, 20 times: each entry in one place' kill_dead_letter

# ------------------------------------ --action on entries held by earlier runs

dispose_held() {
	D=$TMP/dh.db
	make_stream dkj g 1000
	crash_consumer dkj g dead
	# a dead-letter run killed after its claims were journalled, before it moved them
	set +e
	XRECOVER_FAILPOINT=batch-committed:1 "$XR" -r "$REDIS_URL" --db "$D" -q run -s dkj \
		--claim-idle 0 --no-clean --action dead-letter --batch 100 2>/dev/null
	rc=$?
	set -e
	[ $rc -eq 137 ] || fail "not killed: exit $rc"
	j=$(sql "select count(*) from claimed_messages where stream = 'dkj'" "$D")
	echo "killed with $j claims journalled"
	[ "$j" -gt 0 ] || fail "no claim journalled before the kill"
	assert_eq 0 "$(rcli XLEN dkj:dlq)"
	# entries held by a run with --action hold
	make_stream dkh g 30
	crash_consumer dkh g dead
	"$XR" -r "$REDIS_URL" --db "$D" -q run -s dkh --claim-idle 0 --no-clean
	assert_eq 30 "$(rcli XPENDING dkh g - + 100 xrecover | grep -c '^xrecover$')"
	# the next dead-letter run moves every held entry, once
	"$XR" -r "$REDIS_URL" --db "$D" run -s dkj -s dkh --claim-idle 0 --no-clean \
		--action dead-letter 2>"$TMP"/log
	cat "$TMP"/log
	for s in dkj dkh; do
		"$XRTEST" places "$REDIS_URL" "$D" $s g $s:dlq >"$TMP"/p || true
		cat "$TMP"/p
		n=1000
		[ $s = dkh ] && n=30
		assert_grep "^entries=$n pending=0 dead_lettered=$n both=0 neither=0 twice=0 journal_disagrees=0\$" "$TMP"/p
		assert_eq $n "$(rcli XLEN $s:dlq)" "$s:dlq"
		assert_eq 0 "$(rcli XPENDING $s g | head -n 1)" "$s pending"
	done
	# a further run finds nothing left to move
	"$XR" -r "$REDIS_URL" --db "$D" -q run -s dkj -s dkh --claim-idle 0 --no-clean --action dead-letter
	assert_eq 1000 "$(rcli XLEN dkj:dlq)"
	assert_eq 1030 "$(sql "select count(*) from dead_letters" "$D")"
	# held by a run without --max-deliveries: the next run with it moves the over-delivered
	make_stream dkm g 8
	crash_consumer dkm g first 8
	ids=$(rcli --raw XRANGE dkm - + COUNT 3 | grep -E '^[0-9]+-[0-9]+$' | tr '\n' ' ')
	# shellcheck disable=SC2086 # $ids: one argument per ID
	rcli XCLAIM dkm g first 0 $ids RETRYCOUNT 5 JUSTID >/dev/null
	"$XR" -r "$REDIS_URL" --db "$D" -q run -s dkm --claim-idle 0 --no-clean
	assert_eq 0 "$(rcli XLEN dkm:dlq)"
	"$XR" -r "$REDIS_URL" --db "$D" -q run -s dkm --claim-idle 0 --no-clean --max-deliveries 4
	assert_eq 3 "$(rcli XLEN dkm:dlq)"
	assert_eq 5 "$(rcli XPENDING dkm g - + 10 xrecover | grep -c '^xrecover$')"
	"$XRTEST" places "$REDIS_URL" "$D" dkm g dkm:dlq >"$TMP"/p
	assert_grep '^entries=8 pending=5 dead_lettered=3 both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
}
test_case '--action dead-letter and --max-deliveries move the entries a killed run or a hold run left held, once' dispose_held

test_done
