#!/bin/sh
# t0005-crash: a run killed at any instant is reconciled by the next one:
# every claimed entry is journalled exactly once (guarantee 3), and two
# runs never work on one journal at once (guarantee 8).
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# held STREAM: entries pending on the recovery consumer (from the XPENDING summary)
held() {
	n=$(rcli XPENDING "$1" g | awk 'prev == "xrecover" { print; exit } { prev = $0 }')
	echo "${n:-0}"
}

# kills: how many runs were killed, and how many of them in the middle of the
# work (the journal says the run crashed, and it had claimed entries: itself,
# or found by the next run's reconciliation)
kill_mid_drain() {
	"$XRTEST" fill "$REDIS_URL" k 100000 --size 60 >/dev/null
	rcli XGROUP CREATE k g 0 >/dev/null
	crash_consumer k g dead
	kills=10
	i=0
	while [ $i -lt $kills ]; do
		# one-entry pages make the drain long enough (seconds) to be caught in the
		# middle: killed without warning once it holds 500 to 4,500 entries more
		# than before, and up to 2 ms later
		at=$(($(held k) + 500 + $(random_below 4000)))
		us=$(random_below 2000)
		"$XR" -r "$REDIS_URL" --db "$DB" -q run -s k --claim-idle 0 --no-clean --batch 1 \
			2>/dev/null &
		pid=$!
		"$XRTEST" kill-at "$REDIS_URL" $pid "$us" held k g xrecover "$at" || true
		wait $pid 2>/dev/null || true
		echo "kill $i: $(held k) held, $(sql "select count(*) from claimed_messages") journalled"
		i=$((i + 1))
	done
	[ -s "$DB.intent" ] || fail "the killed run left no intents"
	[ "$(held k)" -lt 100000 ] || fail "the drain finished before it was killed"
	xr run -s k --claim-idle 0 --no-clean 2>"$TMP"/log
	cat "$TMP"/log
	"$XRTEST" verify "$REDIS_URL" "$DB" k g >"$TMP"/v || true
	cat "$TMP"/v
	assert_grep '^checked=100000 mismatched=0 gone=0 duplicated=0 held=100000 unjournalled=0$' "$TMP"/v
	assert_eq 100000 "$(sql "select count(*) from events where kind in ('claim', 'claim_reconciled')")"
	assert_eq "$kills crashed, then ok" "$(sql "select count(*) || ' crashed, then ' || (select status from runs where run = $kills + 1) from runs where status = 'crashed' and run <= $kills")"
	[ ! -s "$DB.intent" ] || fail "intents left after a clean run"
	assert_grep '\[RECONCILE\] crashed_runs=1' "$TMP"/log
	# the killed runs left the hash chain whole
	xr verify >/dev/null || fail "verify after the kills: exit $?"
	mid=$(sql "select count(*) from runs r where status = 'crashed' and (
		exists (select 1 from events e where e.run = r.run and e.kind = 'claim') or
		exists (select 1 from events e where e.kind = 'claim_reconciled'
			and json_extract(e.detail, '$.claimed_by_run') = r.run))")
	rec=$(sql "select count(*) from claimed_messages where reconciled = 1")
	echo "kills: $kills, mid-work: $mid, entries reconciled: $rec" | tee "$TMP"/drain.kills
	[ "$mid" -ge 9 ] || fail "only $mid of $kills kills landed in the middle of the drain"
	[ "$rec" -ge 1000 ] || fail "only $rec entries reconciled: the kills did not catch claims in flight"
}
test_case 'SIGKILL during a 100,000-entry drain, 10 times; the next run journals each entry once' kill_mid_drain
if [ -s "$TMP"/drain.kills ]; then echo "# $(cat "$TMP"/drain.kills)"; fi

# failpoint NAME[:N] STREAM: a fresh journal, a run killed at that point, then a clean run
at_failpoint() {
	fp=$1
	s=$2
	rm -f "$TMP"/fp.db "$TMP"/fp.db-wal "$TMP"/fp.db-shm "$TMP"/fp.db.intent
	make_stream "$s" g 1000
	crash_consumer "$s" g dead
	rcli XGROUP CREATECONSUMER "$s" g idle-a >/dev/null
	rcli XGROUP CREATECONSUMER "$s" g idle-b >/dev/null
	set +e
	XRECOVER_FAILPOINT=$fp "$XR" -r "$REDIS_URL" --db "$TMP"/fp.db -q run -s "$s" --claim-idle 0 \
		--zombie-idle 0 --batch 100 2>/dev/null
	rc=$?
	set -e
	[ $rc -eq 137 ] || fail "failpoint $fp: exit $rc, not killed"
	"$XR" -r "$REDIS_URL" --db "$TMP"/fp.db run -s "$s" --claim-idle 0 --zombie-idle 0 2>"$TMP"/log
	"$XRTEST" verify "$REDIS_URL" "$TMP"/fp.db "$s" g >"$TMP"/v
	assert_grep '^checked=1000 mismatched=0 gone=0 duplicated=0 held=1000 unjournalled=0$' "$TMP"/v
	# both idle consumers and the dead one: deleted once each, journalled once each
	assert_eq "dead idle-a idle-b" "$(sql "select consumer from deleted_consumers where stream = '$s' order by 1" "$TMP"/fp.db | tr '\n' ' ' | sed 's/ $//')"
	assert_eq xrecover "$(rcli XINFO CONSUMERS "$s" g | awk 'prev == "name" { print } { prev = $0 }')"
	assert_eq "crashed ok" "$(sql "select status from runs order by run" "$TMP"/fp.db | tr '\n' ' ' | sed 's/ $//')"
}

fp_planned() { at_failpoint claim-planned:3 fpa; }
test_case 'killed after writing a page intent, before sending it' fp_planned

fp_sent() { at_failpoint claim-sent:4 fpb; }
test_case 'killed right after sending claims, before any answer' fp_sent

fp_batch() { at_failpoint batch-committed:1 fpc; }
test_case 'killed right after a batch of journal rows was committed' fp_batch

fp_deleted() {
	at_failpoint consumers-deleted fpd
	assert_eq 3 "$(sql "select count(*) from deleted_consumers where reconciled = 1" "$TMP"/fp.db)"
}
test_case 'killed between deleting consumers and journalling it' fp_deleted

fp_end() { at_failpoint before-run-end fpe; }
test_case 'killed just before the run_end record' fp_end

lost_in_crash() {
	rm -f "$TMP"/lc.db*
	make_stream lc g 100
	crash_consumer lc g dead
	set +e
	XRECOVER_FAILPOINT=claim-planned "$XR" -r "$REDIS_URL" --db "$TMP"/lc.db -q run -s lc --claim-idle 0 \
		--no-clean 2>/dev/null
	set -e
	# the planned entries are deleted before anyone claims them
	"$XRTEST" xdel "$REDIS_URL" lc 0 10 >/dev/null
	"$XR" -r "$REDIS_URL" --db "$TMP"/lc.db run -s lc --claim-idle 0 --no-clean 2>/dev/null
	assert_eq 10 "$(sql "select count(*) from lost_messages where stream = 'lc'" "$TMP"/lc.db)"
	assert_eq 90 "$(sql "select count(*) from claimed_messages where stream = 'lc'" "$TMP"/lc.db)"
	assert_eq 100 "$(sql "select count(distinct entry_id) from (select entry_id from lost_messages union all select entry_id from claimed_messages)" "$TMP"/lc.db)"
}
test_case 'entries deleted while a killed run had them planned are journalled lost, once' lost_in_crash

intents_lost() {
	rm -f "$TMP"/il.db*
	make_stream il g 500
	crash_consumer il g dead
	set +e
	XRECOVER_FAILPOINT=claim-sent:2 "$XR" -r "$REDIS_URL" --db "$TMP"/il.db -q run -s il \
		--claim-idle 0 --batch 100 2>/dev/null
	set -e
	# as after a power cut that took the intent file's last writes
	: >"$TMP"/il.db.intent
	"$XR" -r "$REDIS_URL" --db "$TMP"/il.db run -s il --claim-idle 0 2>"$TMP"/log
	assert_grep '\[RECONCILE\] stream=il group=g found_held=[1-9]' "$TMP"/log
	"$XRTEST" verify "$REDIS_URL" "$TMP"/il.db il g >"$TMP"/v
	assert_grep '^checked=500 mismatched=0 gone=0 duplicated=0 held=500 unjournalled=0$' "$TMP"/v
}
test_case 'a crashed run whose intents were lost: what is held is journalled once anyway' intents_lost

lock_busy() {
	make_stream lk g 10
	crash_consumer lk g dead
	"$XRTEST" pel "$REDIS_URL" lk g >"$TMP"/before
	: >"$DB.lock"
	flock "$DB.lock" sleep 3 &
	holder=$!
	sleep 0.2
	start=$(date +%s%N)
	assert_exit 5 xr run -s lk --claim-idle 0 --lock-timeout 500ms
	took=$((($(date +%s%N) - start) / 1000000))
	wait $holder
	assert_grep "journal '.*' is locked by another xrecover; gave up after 500ms" "$TMP"/err
	assert_lines 1 "$TMP"/err
	if [ $took -lt 450 ] || [ $took -ge 2500 ]; then fail "waited ${took}ms"; fi
	"$XRTEST" pel "$REDIS_URL" lk g >"$TMP"/after
	cmp "$TMP"/before "$TMP"/after || fail "Redis was touched"
}
test_case 'a run that cannot get the lock waits briefly, exits 5, and touches nothing' lock_busy

two_runs() {
	"$XRTEST" fill "$REDIS_URL" two 60000 --size 40 >/dev/null
	rcli XGROUP CREATE two g 0 >/dev/null
	crash_consumer two g dead
	"$XR" -r "$REDIS_URL" --db "$TMP"/two.db -q run -s two --claim-idle 0 2>"$TMP"/a.err &
	a=$!
	sleep 0.05
	"$XR" -r "$REDIS_URL" --db "$TMP"/two.db -q run -s two --claim-idle 0 --lock-timeout 60s 2>"$TMP"/b.err &
	b=$!
	wait $a || fail "first run failed: $(cat "$TMP"/a.err)"
	wait $b || fail "second run failed: $(cat "$TMP"/b.err)"
	# one after the other, never interleaved
	assert_eq 1 "$(sql "select (select ts from events where kind = 'run_start' and run = 2) > (select ts from events where kind = 'run_end' and run = 1)" "$TMP"/two.db)"
	assert_eq "ok|60000 ok|0" "$(sql "select status, claimed from runs order by run" "$TMP"/two.db | tr '\n' ' ' | sed 's/ $//')"
	"$XRTEST" verify "$REDIS_URL" "$TMP"/two.db two g >"$TMP"/v
	assert_grep 'duplicated=0 held=60000 unjournalled=0' "$TMP"/v
}
test_case 'two concurrent runs on one journal: the second waits for the first' two_runs

test_done
