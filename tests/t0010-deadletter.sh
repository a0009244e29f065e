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

dead_letter_bytes() {
	# NUL bytes, invalid UTF-8, repeated and empty fields (--mixed), a 1 MB
	# value (entry 5) and 1000 fields (entry 9, with "i" and "body": 2004 items)
	"$XRTEST" fill "$REDIS_URL" db 40 --mixed --size 3 --big 5 --many 9 >/dev/null
	rcli XGROUP CREATE db g 0 >/dev/null
	crash_consumer db g 'dead one'
	t0=$(date +%s%3N)
	xr -q run -s db --claim-idle 0 --no-clean --action dead-letter 2>"$TMP"/log
	t1=$(date +%s%3N)
	assert_eq 40 "$(rcli XLEN db:dlq)"
	"$XRTEST" dlq "$REDIS_URL" db g db:dlq --consumer 'dead one' --deliveries 1 \
		--reason '--action dead-letter' --between "$t0" "$t1" >"$TMP"/d || true
	cat "$TMP"/d
	assert_grep '^dead_letters=40 same=40 different=0 missing=0 pending=0 twice=0 copies=0 origin_wrong=0 consumer_wrong=0 deliveries_wrong=0 time_wrong=0 reason_wrong=0 bad_layout=0 other=0$' "$TMP"/d
	# the 1000 fields and the 1 MB value were among them
	assert_grep '^most_items=2004 longest_value=1048576$' "$TMP"/d
	# --max-deliveries: the count and the reason say how often it was delivered
	"$XRTEST" fill "$REDIS_URL" dm 6 --mixed >/dev/null
	rcli XGROUP CREATE dm g 0 >/dev/null
	crash_consumer dm g first
	"$XRTEST" pel "$REDIS_URL" dm g | head -n 3 | cut -d ' ' -f 1 >"$TMP"/ids
	# shellcheck disable=SC2046 # one argument per ID
	rcli XCLAIM dm g first 0 $(cat "$TMP"/ids) RETRYCOUNT 4 JUSTID >/dev/null
	t0=$(date +%s%3N)
	xr -q run -s dm --claim-idle 0 --no-clean --max-deliveries 3 2>"$TMP"/log
	t1=$(date +%s%3N)
	"$XRTEST" dlq "$REDIS_URL" dm g dm:dlq --consumer first --deliveries 4 \
		--reason 'delivered 4 times, more than --max-deliveries 3' --between "$t0" "$t1" >"$TMP"/d || true
	cat "$TMP"/d
	assert_grep '^dead_letters=3 same=3 different=0 missing=0 pending=0 twice=0 copies=0 origin_wrong=0 consumer_wrong=0 deliveries_wrong=0 time_wrong=0 reason_wrong=0 bad_layout=0 other=0$' "$TMP"/d
	# the three dead letters are those three entries
	"$XRTEST" pel "$REDIS_URL" dm g | cut -d ' ' -f 1 >"$TMP"/left
	assert_lines 3 "$TMP"/left
	assert_eq "" "$(grep -Fx -f "$TMP"/ids "$TMP"/left || true)"
}
test_case 'dead letters: every field and value byte for byte and in order (NUL, invalid UTF-8, 1 MB, 1000 fields), origin fields exact' dead_letter_bytes

# wait_stopped PID: until the process stops at a ":stop" failpoint (10 s at most)
wait_stopped() {
	n=0
	while [ $n -lt 200 ]; do
		[ "$(cut -d ' ' -f 3 "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.05
		n=$((n + 1))
	done
	return 1
}

owner_script() {
	make_stream os g 4
	crash_consumer os g dead
	"$XRTEST" pel "$REDIS_URL" os g | cut -d ' ' -f 1 >"$TMP"/ids
	e1=$(sed -n 1p "$TMP"/ids)
	e2=$(sed -n 2p "$TMP"/ids)
	e3=$(sed -n 3p "$TMP"/ids)
	e4=$(sed -n 4p "$TMP"/ids)
	# e1 and e2 held by the recovery consumer, then a live consumer claims e2;
	# e3 was acknowledged; e4 is still on the consumer that read it
	rcli XCLAIM os g xrecover 0 "$e1" "$e2" JUSTID >/dev/null
	rcli XCLAIM os g live 0 "$e2" JUSTID >/dev/null
	rcli XACK os g "$e3" >/dev/null
	"$XRTEST" dlmove "$REDIS_URL" os g xrecover os:dlq "$e1" "$e2" "$e3" "$e4" >"$TMP"/out
	cat "$TMP"/out
	assert_grep "^$e1 moved [0-9]+-[0-9]+\$" "$TMP"/out
	assert_grep "^$e2 left: pending on live\$" "$TMP"/out
	assert_grep "^$e3 left: not pending\$" "$TMP"/out
	assert_grep "^$e4 left: pending on dead\$" "$TMP"/out
	assert_grep '^moved=1 not_pending=1 other_owner=2$' "$TMP"/out
	assert_eq 1 "$(rcli XLEN os:dlq)"
	"$XRTEST" pel "$REDIS_URL" os g >"$TMP"/pel
	assert_eq "$e2 live 1
$e4 dead 1" "$(cat "$TMP"/pel)"
}
test_case 'the dead-letter script moves an entry only from the recovery consumer: one a live consumer holds is left to it' owner_script

owner_race() {
	make_stream or g 5
	crash_consumer or g dead
	# the run stops after planning the move; a live consumer claims an entry then
	XRECOVER_FAILPOINT=dead-letter-planned:stop "$XR" -r "$REDIS_URL" --db "$DB" run -s or \
		--claim-idle 0 --no-clean --action dead-letter >"$TMP"/out 2>"$TMP"/log &
	pid=$!
	wait_stopped $pid || { kill -9 $pid; fail "the run did not stop at dead-letter-planned"; }
	id=$("$XRTEST" pel "$REDIS_URL" or g | sed -n 3p | cut -d ' ' -f 1)
	rcli XCLAIM or g live 0 "$id" JUSTID >/dev/null
	kill -CONT $pid
	wait $pid || fail "the run failed: exit $?"
	cat "$TMP"/log
	# it stays pending on the live consumer, and is not a dead letter
	assert_eq "$id live" "$("$XRTEST" pel "$REDIS_URL" or g | cut -d ' ' -f 1,2)"
	assert_eq 4 "$(rcli XLEN or:dlq)"
	"$XRTEST" dlq "$REDIS_URL" or g or:dlq >"$TMP"/d || true
	assert_grep '^dead_letters=4 same=4 different=0 missing=0 pending=0 twice=0 ' "$TMP"/d
	assert_eq 0 "$(sql "select count(*) from dead_letters where entry_id = '$id'")"
	assert_eq 4 "$(sql "select count(*) from dead_letters where stream = 'or'")"
	# journalled once as taken, and said so
	assert_eq "live|0" "$(sql "select consumer, coalesce(json_extract(detail, '\$.reconciled'), 0) from events where kind = 'taken' and stream = 'or' and entry_ms || '-' || entry_seq = '$id'")"
	assert_grep "\\[DEAD-LETTER\\] skipped entry=$id stream=or group=g consumer=live " "$TMP"/log
	"$XRTEST" places "$REDIS_URL" "$DB" or g or:dlq >"$TMP"/p || true
	assert_grep '^entries=5 pending=1 dead_lettered=4 both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
	# later runs leave it alone too
	xr -q run -s or --claim-idle 1h --no-clean --action dead-letter 2>/dev/null
	assert_eq "$id live" "$("$XRTEST" pel "$REDIS_URL" or g | cut -d ' ' -f 1,2)"
	assert_eq 1 "$(sql "select count(*) from events where kind = 'taken' and stream = 'or'")"
}
test_case 'a live consumer claims an entry between the plan and the move: not dead-lettered, not acknowledged, still its own' owner_race

owner_reconcile() {
	make_stream ok g 5
	crash_consumer ok g dead
	# killed after planning the move; a live consumer claims an entry; the next run reconciles
	set +e
	XRECOVER_FAILPOINT=dead-letter-planned "$XR" -r "$REDIS_URL" --db "$DB" -q run -s ok \
		--claim-idle 0 --no-clean --action dead-letter >/dev/null 2>&1
	rc=$?
	set -e
	assert_eq 137 "$rc" "exit of the killed run"
	id=$("$XRTEST" pel "$REDIS_URL" ok g | sed -n 2p | cut -d ' ' -f 1)
	rcli XCLAIM ok g live 0 "$id" JUSTID >/dev/null
	xr run -s ok --claim-idle 1h --no-clean --action dead-letter 2>"$TMP"/log
	cat "$TMP"/log
	assert_eq "$id live" "$("$XRTEST" pel "$REDIS_URL" ok g | grep -F "$id" | cut -d ' ' -f 1,2)"
	assert_eq 0 "$(sql "select count(*) from dead_letters where entry_id = '$id'")"
	assert_eq "live|1" "$(sql "select consumer, json_extract(detail, '\$.reconciled') from events where kind = 'taken' and stream = 'ok' and entry_ms || '-' || entry_seq = '$id'")"
	assert_grep "\\[DEAD-LETTER\\] skipped entry=$id stream=ok group=g consumer=live " "$TMP"/log
	"$XRTEST" places "$REDIS_URL" "$DB" ok g ok:dlq >"$TMP"/p || true
	assert_grep '^entries=5 pending=1 dead_lettered=4 both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
	# a run after that leaves it alone and journals nothing more about it
	xr -q run -s ok --claim-idle 1h --no-clean --action dead-letter 2>/dev/null
	assert_eq "$id live" "$("$XRTEST" pel "$REDIS_URL" ok g | grep -F "$id" | cut -d ' ' -f 1,2)"
	assert_eq 1 "$(sql "select count(*) from events where kind = 'taken' and stream = 'ok'")"
}
test_case 'killed after planning a move, a live consumer claims an entry: the next run leaves it to that consumer and journals it as taken' owner_reconcile

copy_reconcile() {
	make_stream cr g 4
	crash_consumer cr g w1
	xr -q run -s cr --claim-idle 0 --no-clean --action redeliver
	# the copies fail too; the run that dead-letters them is killed right after the move
	crash_consumer cr g w2
	set +e
	XRECOVER_FAILPOINT=dead-letter-moved "$XR" -r "$REDIS_URL" --db "$DB" -q run -s cr \
		--claim-idle 0 --no-clean --max-deliveries 1 >/dev/null 2>&1
	rc=$?
	set -e
	assert_eq 137 "$rc" "exit of the killed run"
	assert_eq 0 "$(sql "select count(*) from dead_letters where stream = 'cr'")"
	# the next run finds each move by the copy fields of its dead letter
	xr -q run -s cr --claim-idle 1h --no-clean 2>/dev/null
	sql "select entry_id from claimed_messages where stream = 'cr' and from_consumer = 'w2' order by 1" >"$TMP"/copies
	assert_eq "$(cat "$TMP"/copies)" "$(sql "select entry_id from dead_letters where stream = 'cr' and reconciled = 1 order by 1")"
	assert_eq 4 "$(sql "select count(*) from dead_letters where stream = 'cr'")"
	"$XRTEST" dlq "$REDIS_URL" cr g cr:dlq --consumer w2 --deliveries 2 >"$TMP"/d || true
	assert_grep '^dead_letters=4 same=4 different=0 missing=0 pending=0 twice=0 copies=4 origin_wrong=0 ' "$TMP"/d
}
test_case 'a killed run that dead-lettered copies: the next run finds each dead letter by the copy it names' copy_reconcile

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
		assert_grep '^entries=1000 pending=0 dead_lettered=1000 both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
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
	# a run that only reconciles: how often it reads a stream's entries (XRANGE)
	rcli CONFIG RESETSTAT >/dev/null
	xr run -s "$2" --claim-idle 1h --no-clean 2>"$TMP"/log
	grep RECONCILE "$TMP"/log || true
	xranges=$(rcli INFO commandstats | sed -n 's/^cmdstat_xrange:calls=\([0-9]*\),.*/\1/p')
	echo "XRANGE calls while reconciling: ${xranges:=0}"
	xr run -s "$2" --claim-idle 0 --no-clean --action dead-letter 2>"$TMP"/log
	assert_eq crashed "$(sql "select status from runs where run = $killed")"
	"$XRTEST" places "$REDIS_URL" "$DB" "$2" g "$2:dlq" >"$TMP"/p || true
	assert_grep '^entries=600 pending=0 dead_lettered=600 both=0 neither=0 twice=0 journal_disagrees=0$' "$TMP"/p
	"$XRTEST" verify "$REDIS_URL" "$DB" "$2" g >"$TMP"/v || true
	assert_grep '^checked=600 mismatched=0 gone=0 duplicated=0 held=0 unjournalled=0$' "$TMP"/v
	assert_eq 0 "$(sql "select count(*) from (select entry_id from dead_letters where stream = '$2' group by 1 having count(*) > 1)")" "entries dead-lettered twice"
	# the dead letters the killed run moved: journalled by it, or found after it
	assert_eq "$moved" "$(sql "select count(*) from dead_letters where stream = '$2' and (run = $killed or reconciled = 1)")" "dead letters of the killed run"
}

fp_dead_letter_planned() {
	# 600 entries move 250 at a time: killed after planning the second move,
	# before sending it
	dl_failpoint dead-letter-planned:2 dlp
	assert_eq 250 "$moved"
	# still pending, so not looked for in the dead-letter stream
	assert_eq 0 "$xranges" "XRANGE calls"
	assert_eq "250|0" "$(sql "select count(*), coalesce(sum(reconciled), 0) from dead_letters where stream = 'dlp' and run = $killed")"
	assert_eq 0 "$(sql "select count(*) from dead_letters where stream = 'dlp' and reconciled = 1")"
}
test_case 'killed after planning a dead-letter move, before sending it: nothing of it is journalled as moved' fp_dead_letter_planned

fp_dead_letter_moved() {
	# killed after the second move, before journalling it
	dl_failpoint dead-letter-moved:2 dlm
	assert_eq 500 "$moved"
	# its 250 dead letters found by one read of the dead-letter stream
	assert_eq 1 "$xranges" "XRANGE calls"
	assert_eq 250 "$(sql "select count(*) from dead_letters where stream = 'dlm' and run = $killed")"
	assert_eq 250 "$(sql "select count(*) from dead_letters where stream = 'dlm' and reconciled = 1")"
}
test_case 'killed after a dead-letter move, before journalling it: the next run journals each of its dead letters once' fp_dead_letter_moved

dead_letter_group_destroyed() {
	D=$TMP/dlg.db
	"$XRTEST" fill "$REDIS_URL" dlg 300 --size 20 >/dev/null
	rcli XGROUP CREATE dlg g 0 >/dev/null
	crash_consumer dlg g dead
	assert_exit 137 env XRECOVER_FAILPOINT=dead-letter-moved:1 "$XR" -r "$REDIS_URL" --db "$D" -q \
		run -s dlg --claim-idle 0 --no-clean --action dead-letter
	assert_eq 250 "$(rcli XLEN dlg:dlq)"
	# the group is destroyed: the dead letters say which moves were made
	rcli XGROUP DESTROY dlg g >/dev/null
	"$XRTEST" fill "$REDIS_URL" dlgok 1 >/dev/null
	rcli XGROUP CREATE dlgok g 0 >/dev/null
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$D" run -s dlgok --claim-idle 0 --no-clean
	assert_grep '\[RECONCILE\] crashed_runs=1 .* dead_lettered=250 ' "$TMP"/err
	[ ! -s "$D.intent" ] || fail "intents left after they were reconciled"
	assert_eq "250|250|1" "$(sql "select count(*), count(distinct dead_letter_id), min(reconciled) from dead_letters where stream = 'dlg'" "$D")"
}
test_case 'killed after a dead-letter move, its group then destroyed: the next run journals each dead letter' dead_letter_group_destroyed

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
