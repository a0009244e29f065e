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

# kills: how many runs were killed, and how many of them in the middle of
# moving dead letters (the journal says the run crashed, and it moved some:
# journalled by the run itself, or found by the next run's reconciliation)
kill_dead_letter() {
	kills=20
	i=0
	while [ $i -lt $kills ]; do
		s=dk$i
		"$XRTEST" fill "$REDIS_URL" $s 1000 --size 20 >/dev/null
		rcli XGROUP CREATE $s g 0 >/dev/null
		crash_consumer $s g dead
		# killed without warning once 1 to 750 of its 1,000 dead letters are
		# in the dead-letter stream (4 moves of 250), and up to 2 ms later
		at=$((1 + $(random_below 750)))
		us=$(random_below 2000)
		"$XR" -r "$REDIS_URL" --db "$DB" -q run -s $s --claim-idle 0 --no-clean \
			--action dead-letter --batch 50 >/dev/null 2>&1 &
		pid=$!
		"$XRTEST" kill-at "$REDIS_URL" $pid "$us" xlen $s:dlq "$at" || true
		wait $pid 2>/dev/null || true
		# the next run reconciles what the killed one did, and goes on
		xr -q run -s $s --claim-idle 0 --no-clean --action dead-letter 2>"$TMP"/next ||
			{ tail -n 5 "$TMP"/next; fail "round $i: run failed"; }
		"$XRTEST" places "$REDIS_URL" "$DB" $s g $s:dlq >"$TMP"/p || true
		assert_grep '^entries=1000 pending=[0-9]+ dead_lettered=[0-9]+ both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
		i=$((i + 1))
	done
	# the killed commands left the hash chain whole
	xr verify >/dev/null || fail "verify after the kills: exit $?"
	# the run after a killed one is the one that reconciled it
	mid=$(sql "select count(*) from runs k where k.status = 'crashed' and exists (
		select 1 from dead_letters d where d.stream like 'dk%' and (d.run = k.run or
			(d.reconciled = 1 and d.run = (select min(n.run) from runs n where n.run > k.run))))")
	rec=$(sql "select count(*) from dead_letters where stream like 'dk%' and reconciled = 1")
	echo "$(sql "select count(*) from dead_letters where stream like 'dk%'") dead letters"
	echo "kills: $kills, mid-work: $mid, dead letters reconciled: $rec" | tee "$TMP"/dead-letter.kills
	[ "$mid" -ge 15 ] || fail "only $mid of $kills kills landed while dead letters were moved"
	[ "$rec" -ge 1000 ] || fail "only $rec dead letters reconciled: the kills did not catch a move in flight"
}
test_case 'SIGKILL at random instants during a dead-letter run, 20 times: each entry in one place' kill_dead_letter
if [ -s "$TMP"/dead-letter.kills ]; then echo "# $(cat "$TMP"/dead-letter.kills)"; fi

# dl_failpoint NAME[:N] STREAM: 600 held entries, a dead-letter run killed
# at that point (exit 137), then the next run with the same action; every
# entry is then pending or dead-lettered, never both, never twice, and the
# journal has one claim for each and a dead letter exactly for those moved
dl_failpoint() {
	"$XRTEST" fill "$REDIS_URL" "$2" 600 --size 20 >/dev/null
	rcli XGROUP CREATE "$2" g 0 >/dev/null
	crash_consumer "$2" g dead
	assert_exit 137 env XRECOVER_FAILPOINT="$1" "$XR" -r "$REDIS_URL" --db "$DB" -q run -s "$2" \
		--claim-idle 0 --no-clean --action dead-letter
	killed=$(sql "select max(run) from runs")
	moved=$(rcli XLEN "$2:dlq")
	xr run -s "$2" --claim-idle 0 --no-clean --action dead-letter 2>"$TMP"/log
	grep RECONCILE "$TMP"/log || true
	assert_eq crashed "$(sql "select status from runs where run = $killed")"
	"$XRTEST" places "$REDIS_URL" "$DB" "$2" g "$2:dlq" >"$TMP"/p || true
	assert_grep '^entries=600 pending=[0-9]+ dead_lettered=[0-9]+ both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
	"$XRTEST" verify "$REDIS_URL" "$DB" "$2" g >"$TMP"/v || true
	assert_grep '^checked=600 mismatched=0 gone=0 duplicated=0 held=[0-9]+ unjournalled=0$' "$TMP"/v
	assert_eq 0 "$(sql "select count(*) from (select entry_id from dead_letters where stream = '$2' group by 1 having count(*) > 1)")" "entries dead-lettered twice"
	# the dead letters the killed run moved: journalled by it, or found after it
	assert_eq "$moved" "$(sql "select count(*) from dead_letters where stream = '$2' and (run = $killed or reconciled = 1)")" "dead letters of the killed run"
}

fp_dead_letter_planned() {
	# 600 entries move 250 at a time: killed after planning the second move,
	# before sending it
	dl_failpoint dead-letter-planned:2 dlp
	assert_eq 250 "$moved"
	assert_eq "250|0" "$(sql "select count(*), coalesce(sum(reconciled), 0) from dead_letters where stream = 'dlp' and run = $killed")"
	assert_eq 0 "$(sql "select count(*) from dead_letters where stream = 'dlp' and reconciled = 1")"
}
test_case 'killed after planning a dead-letter move, before sending it: nothing of it is journalled as moved' fp_dead_letter_planned

fp_dead_letter_moved() {
	# killed after the second move, before journalling it
	dl_failpoint dead-letter-moved:2 dlm
	assert_eq 500 "$moved"
	assert_eq 250 "$(sql "select count(*) from dead_letters where stream = 'dlm' and run = $killed")"
	assert_eq 250 "$(sql "select count(*) from dead_letters where stream = 'dlm' and reconciled = 1")"
}
test_case 'killed after a dead-letter move, before journalling it: the next run journals each of its dead letters once' fp_dead_letter_moved

test_done
