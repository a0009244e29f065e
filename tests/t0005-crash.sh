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
	assert_grep '\[ADOPT\] stream=il group=g adopted=[1-9]' "$TMP"/log
	"$XRTEST" verify "$REDIS_URL" "$TMP"/il.db il g >"$TMP"/v
	assert_grep '^checked=500 mismatched=0 gone=0 duplicated=0 held=500 unjournalled=0$' "$TMP"/v
}
test_case 'a crashed run whose intents were lost: what is held is journalled once anyway' intents_lost

lock_busy() {
	make_stream lk g 10
	crash_consumer lk g dead
	"$XRTEST" pel "$REDIS_URL" lk g >"$TMP"/before
	: >"$DB.lock"
	hold_lock "$DB.lock" 3
	start=$(date +%s%N)
	assert_exit 5 xr run -s lk --claim-idle 0 --lock-timeout 500ms
	took=$((($(date +%s%N) - start) / 1000000))
	wait "$HOLDER"
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

# ------------------------------------------------ intents kept until reconciled

# from_counts DB STREAM: "reconciled-from-dead other" counts of claim rows of STREAM
from_counts() {
	sql "select sum(kind = 'claim_reconciled' and consumer = 'dead'), sum(not (kind = 'claim_reconciled' and consumer = 'dead'))
		from events where kind in ('claim', 'claim_reconciled') and hex(stream) = hex(cast('$2' as blob))" "$1"
}

intent_ff_name() {
	D=$TMP/ff.db
	# a stream name that is not UTF-8 (byte 0xff), and a group name with a quote
	s=$(printf 'ff\377s')
	make_stream "$s" g 500
	crash_consumer "$s" g dead
	make_stream ffother g 10
	set +e
	XRECOVER_FAILPOINT=claim-sent:2 "$XR" -r "$REDIS_URL" --db "$D" -q run -s "$s" --claim-idle 0 \
		--batch 100 --no-clean 2>/dev/null
	rc=$?
	set -e
	[ $rc -eq 137 ] || fail "not killed: exit $rc"
	[ -s "$D.intent" ] || fail "the killed run left no intents"
	# the next run reconciles the stream by its exact name; then a run of
	# another stream, then the stream again: every held entry journalled once
	set +e
	"$XR" -r "$REDIS_URL" --db "$D" run -s "$s" --claim-idle 0 --no-clean 2>"$TMP"/log
	rc=$?
	set -e
	cat "$TMP"/log
	"$XR" -r "$REDIS_URL" --db "$D" -q run -s ffother --claim-idle 0 --no-clean
	"$XR" -r "$REDIS_URL" --db "$D" -q run -s "$s" --claim-idle 0 --no-clean
	"$XRTEST" verify "$REDIS_URL" "$D" "$s" g >"$TMP"/v || true
	cat "$TMP"/v
	assert_grep '^checked=500 mismatched=0 gone=0 duplicated=0 held=500 unjournalled=0$' "$TMP"/v
	assert_eq 0 $rc "exit code of the run after the kill"
	assert_grep '\[RECONCILE\] crashed_runs=1 .* claimed=200 ' "$TMP"/log
	# the 200 claims the killed run sent are reconciled from the intents, with
	# their owner; the other 300 claimed by the next run
	assert_eq "200|300" "$(from_counts "$D" "$s")" "reconciled from dead | claimed"
	assert_eq "crashed ok ok ok" "$(sql "select status from runs order by run" "$D" | tr '\n' ' ' | sed 's/ $//')"
	[ ! -s "$D.intent" ] || fail "intents left after clean runs"
}
test_case 'a killed run on a stream whose name is not UTF-8: reconciled by its exact name' intent_ff_name

# planned STREAM DB: how many entries the claim intents in DB's intent file plan in STREAM
planned() {
	grep -F "\"kind\":\"claim\",\"stream\":\"$1\"," "$2.intent" | grep -oE '\["[0-9]+-[0-9]+",' | wc -l
}

# kill_mid_claim STREAM DB: 300 entries held by a dead consumer, a run on DB killed
# right after sending its second page of claims
kill_mid_claim() {
	make_stream "$1" g 300
	crash_consumer "$1" g dead
	set +e
	XRECOVER_FAILPOINT=claim-sent:2 "$XR" -r "$REDIS_URL" --db "$2" -q run -s "$1" --claim-idle 0 \
		--batch 100 --no-clean 2>/dev/null
	rc=$?
	set -e
	[ $rc -eq 137 ] || fail "not killed: exit $rc"
	[ -s "$2.intent" ] || fail "the killed run left no intents"
}

intent_stream_deleted() {
	D=$TMP/ngdel.db
	make_stream ngdel g 300
	crash_consumer ngdel g dead
	set +e
	XRECOVER_FAILPOINT=claim-sent:2 "$XR" -r "$REDIS_URL" --db "$D" -q run -s ngdel --claim-idle 0 \
		--batch 100 --no-clean 2>/dev/null
	set -e
	gone=$(held ngdel)
	[ "$gone" -gt 0 ] || fail "nothing held in ngdel"
	rcli DEL ngdel >/dev/null
	make_stream ngdok g 5
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$D" -q run -s ngdok --claim-idle 0 --no-clean
	[ ! -s "$D.intent" ] || fail "the deleted stream's intents were kept"
	assert_eq "$gone" "$(sql "select count(*) from lost_messages where stream = 'ngdel' and reason like 'the stream was deleted%'" "$D")"
}
test_case 'a stream deleted after its run was killed: what the run held is lost' intent_stream_deleted

intent_group_destroyed() {
	D=$TMP/ng.db
	kill_mid_claim ng "$D"
	planned=$(planned ng "$D")
	j=$(sql "select count(*) from claimed_messages where stream = 'ng'" "$D")
	lost=$((planned - j))
	echo "killed with $planned planned, $j journalled"
	[ "$lost" -gt 0 ] || fail "nothing planned and not journalled"
	# the group is destroyed, and its pending list with it: whatever the
	# killed run did with the entries it planned, no one holds them now
	rcli XGROUP DESTROY ng g >/dev/null
	make_stream ngok g 5
	crash_consumer ngok g dead
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$D" run -s ngok --claim-idle 0 --no-clean
	assert_grep "\\[RECONCILE\\] crashed_runs=1 crashed_replays=0 claimed=0 lost=$lost deleted=0 " "$TMP"/err
	assert_grep "\\[LOST\\] entry=[0-9]+-[0-9]+ stream=ng group=g consumer=dead .* reason=\"the group was destroyed; found gone while reconciling killed run 1\"" "$TMP"/err
	! grep -q unreconciled "$TMP"/err || fail "a record was not reconciled"
	[ ! -s "$D.intent" ] || fail "intents left after they were reconciled"
	assert_eq "$lost" "$(sql "select count(*) from lost_messages where stream = 'ng' and grp = 'g' and last_consumer = 'dead' and reason = 'the group was destroyed; found gone while reconciling killed run 1'" "$D")"
	# each with the payload the stream still has, byte for byte
	assert_eq "$lost" "$(sql "select count(*) from events where kind = 'lost' and stream = 'ng' and payload is not null" "$D")"
	"$XRTEST" verify "$REDIS_URL" "$D" ng g --lost >"$TMP"/v || true
	assert_grep "^checked=$lost mismatched=0 gone=0 duplicated=0 " "$TMP"/v
	# every planned entry once: claimed by the killed run, or lost
	assert_eq "$planned|$planned" "$(sql "select count(*), count(distinct entry_ms || '-' || entry_seq) from events where stream = 'ng' and kind in ('claim', 'claim_reconciled', 'lost')" "$D")"
	assert_eq "crashed ok" "$(sql "select status from runs order by run" "$D" | tr '\n' ' ' | sed 's/ $//')"
	assert_eq 5 "$(sql "select count(*) from claimed_messages where stream = 'ngok'" "$D")"
	# a replay starts
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$D" replay -s ngok
	assert_eq 1 "$(sql "select count(*) from replays" "$D")"
}
test_case 'a killed run whose group is destroyed: what it planned is lost, with its payload, and the run goes on' intent_group_destroyed

intent_group_destroyed_delete() {
	D=$TMP/ngc.db
	make_stream ngc g 20
	crash_consumer ngc g dead
	rcli XGROUP CREATECONSUMER ngc g idle-a >/dev/null
	assert_exit 137 env XRECOVER_FAILPOINT=consumers-deleted "$XR" -r "$REDIS_URL" --db "$D" -q \
		run -s ngc --claim-idle 0 --zombie-idle 0
	grep -q '"kind":"delete"' "$D.intent" || fail "no deletion planned"
	make_stream ngcok g 1
	# the consumers may not be listed (NOPERM), the group is there: the intents stay
	rcli ACL SETUSER noxc reset on ">p4ss" "~*" +@all "-xinfo|consumers" >/dev/null
	grep '"kind":"delete"' "$D.intent" >"$TMP"/ngc.delete.before
	assert_exit 1 "$XR" -r "redis://noxc:p4ss@127.0.0.1:$REDIS_PORT" --db "$D" run -s ngcok \
		--claim-idle 0 --no-clean
	assert_grep "intents of killed run 1 about stream 'ngc' group 'g' are kept for the next run: .*NOPERM" "$TMP"/err
	grep '"kind":"delete"' "$D.intent" >"$TMP"/ngc.delete.after
	cmp "$TMP"/ngc.delete.before "$TMP"/ngc.delete.after || fail "the deletions planned changed"
	assert_eq 0 "$(sql "select count(*) from deleted_consumers where stream = 'ngc'" "$D")"
	rcli XGROUP DESTROY ngc g >/dev/null
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$D" -q run -s ngcok --claim-idle 0 --no-clean
	[ ! -s "$D.intent" ] || fail "intents left after they were reconciled"
	assert_eq "dead|1 idle-a|1" "$(sql "select consumer, reconciled from deleted_consumers where stream = 'ngc' order by 1" "$D" | tr '\n' ' ' | sed 's/ $//')"
}
test_case 'a killed run whose group is destroyed after deleting consumers: the deletions are journalled' intent_group_destroyed_delete

intent_group_destroyed_hand_off() {
	D=$TMP/ngh.db
	make_stream ngh g 300
	crash_consumer ngh g dead
	"$XR" -r "$REDIS_URL" --db "$D" -q run -s ngh --claim-idle 0 --no-clean
	rcli XGROUP CREATECONSUMER ngh g live >/dev/null
	assert_exit 137 env XRECOVER_FAILPOINT=hand-off-sent:1 "$XR" -r "$REDIS_URL" --db "$D" -q \
		run -s ngh --claim-idle 1h --no-clean --action hand-off
	grep -q '"kind":"hand-off"' "$D.intent" || fail "no hand-off planned"
	# the group is destroyed: where its entries were pending is gone with it,
	# and nothing is journalled about the hand-off
	rcli XGROUP DESTROY ngh g >/dev/null
	make_stream nghok g 1
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$D" run -s nghok --claim-idle 0 --no-clean
	[ ! -s "$D.intent" ] || fail "intents left after they were reconciled"
	assert_grep '\[RECONCILE\] crashed_runs=1 .* removed=0$' "$TMP"/err
	assert_eq 0 "$(sql "select count(*) from events where stream = 'ngh' and kind in ('handed_off', 'taken', 'lost')" "$D")"
}
test_case 'a killed hand-off whose group is destroyed: reconciled, nothing journalled about it' intent_group_destroyed_hand_off

intent_noperm() {
	D=$TMP/np.db
	kill_mid_claim np "$D"
	planned=$(planned np "$D")
	cp "$D.intent" "$TMP"/np.intent.before
	# Redis refuses the look-up (NOPERM), the group is there: the intents stay
	rcli ACL SETUSER noxp reset on ">p4ss" "~*" +@all -xpending >/dev/null
	make_stream npok g 5
	crash_consumer npok g dead
	for i in 1 2; do
		assert_exit 1 "$XR" -r "redis://noxp:p4ss@127.0.0.1:$REDIS_PORT" --db "$D" run -s npok \
			--claim-idle 0 --no-clean
		assert_grep "intents of killed run 1 about stream 'np' group 'g' are kept for the next run: .*NOPERM" "$TMP"/err
		cmp "$TMP"/np.intent.before "$D.intent" || fail "run $i changed the intents it could not reconcile"
	done
	assert_eq 0 "$(sql "select count(*) from lost_messages where stream = 'np'" "$D")"
	# a replay does not start while what a killed run did is unknown
	assert_exit 1 "$XR" -r "redis://noxp:p4ss@127.0.0.1:$REDIS_PORT" --db "$D" replay -s npok
	assert_grep "intents of killed run 1 about stream 'np' group 'g' are kept for the next run" "$TMP"/err
	assert_eq 0 "$(sql "select count(*) from replays" "$D")"
	sql "select error from runs where run = 2" "$D" >"$TMP"/e
	assert_grep "NOPERM" "$TMP"/e
	# allowed again, a run reconciles them: what was sent is held and journalled
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$D" run -s np --claim-idle 0 --no-clean
	[ ! -s "$D.intent" ] || fail "intents left after they were reconciled"
	assert_eq 0 "$(sql "select count(*) from lost_messages where stream = 'np'" "$D")"
	"$XRTEST" verify "$REDIS_URL" "$D" np g >"$TMP"/v || true
	assert_grep '^checked=300 mismatched=0 gone=0 duplicated=0 held=300 unjournalled=0$' "$TMP"/v
	assert_eq "$planned" "$(sql "select count(*) from events where stream = 'np' and (run = 1 and kind = 'claim' or kind = 'claim_reconciled')" "$D")"
}
test_case 'a reconcile that Redis refuses (NOPERM) keeps the intents, exits 1, and a later run reconciles them' intent_noperm

intent_group_recreated() {
	D=$TMP/ngr.db
	kill_mid_claim ngr "$D"
	# destroyed and made again before the next run: a new group, its pending
	# list new; the killed run's plans are looked up in it and found nowhere
	# on the recovery consumer: nothing is journalled about them
	rcli XGROUP DESTROY ngr g >/dev/null
	rcli XGROUP CREATE ngr g 0 >/dev/null
	crash_consumer ngr g dead2
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$D" run -s ngr --claim-idle 0 --no-clean
	[ ! -s "$D.intent" ] || fail "intents left after they were reconciled"
	assert_grep '\[RECONCILE\] crashed_runs=1 crashed_replays=0 claimed=0 lost=0 ' "$TMP"/err
	assert_eq 0 "$(sql "select count(*) from events where stream = 'ngr' and kind in ('lost', 'claim_reconciled')" "$D")"
	# what the new group holds is claimed by the run, from the new group's consumer
	assert_eq "300|dead2" "$(sql "select count(*), group_concat(distinct from_consumer) from claimed_messages where stream = 'ngr' and run = 2" "$D")"
	"$XRTEST" verify "$REDIS_URL" "$D" ngr g >"$TMP"/v || true
	assert_grep '^checked=300 mismatched=0 gone=0 duplicated=0 held=300 unjournalled=0$' "$TMP"/v
}
test_case 'a group destroyed and made again before the next run: the killed run is reconciled against the new group' intent_group_recreated

intent_cut() {
	D=$TMP/cut.db
	make_stream cut g 5000
	crash_consumer cut g dead
	set +e
	XRECOVER_FAILPOINT=claim-sent:30 "$XR" -r "$REDIS_URL" --db "$D" -q run -s cut --claim-idle 0 \
		--batch 100 --no-clean 2>/dev/null
	set -e
	h=$(held cut)
	j=$(sql "select count(*) from claimed_messages" "$D")
	echo "killed with $h held, $j journalled"
	[ $((h - j)) -ge 300 ] || fail "too few held and not journalled: $h held, $j journalled"
	# Redis goes away (the connection is cut) in the middle of reconciling: at
	# the 250th entry looked up, in the third page's intent
	"$XRTEST" cut "$REDIS_URL" XRANGE 30 250 >"$TMP"/cut.out &
	cutter=$!
	i=0
	while ! grep -q ready "$TMP"/cut.out 2>/dev/null && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done
	assert_exit 3 "$XR" -r "$REDIS_URL" --db "$D" run -s cut --claim-idle 0 --no-clean
	wait $cutter || fail "the connection was not cut"
	cat "$TMP"/cut.out "$TMP"/err
	assert_grep "^cut .* at XRANGE: killed" "$TMP"/cut.out
	assert_grep "intents not reconciled yet are kept for the next run" "$TMP"/err
	[ -s "$D.intent" ] || fail "the intents were dropped"
	n=$(sql "select count(*) from events where kind = 'claim_reconciled'" "$D")
	echo "reconciled before the cut: $n"
	if [ "$n" -eq 0 ] || [ "$n" -ge $((h - j)) ]; then fail "the cut did not come in the middle"; fi
	# what is left is reconciled by the next run, each entry once, with its owner
	"$XR" -r "$REDIS_URL" --db "$D" run -s cut --claim-idle 0 --no-clean 2>"$TMP"/log
	cat "$TMP"/log
	[ ! -s "$D.intent" ] || fail "intents left after they were reconciled"
	"$XRTEST" verify "$REDIS_URL" "$D" cut g >"$TMP"/v || true
	assert_grep '^checked=5000 mismatched=0 gone=0 duplicated=0 held=5000 unjournalled=0$' "$TMP"/v
	assert_eq "$((h - j))" "$(sql "select count(*) from events where kind = 'claim_reconciled' and consumer = 'dead'" "$D")" "reconciled"
	assert_eq 0 "$(sql "select count(*) from events where kind = 'claim_reconciled' and consumer is not 'dead'" "$D")" "reconciled without their owner"
}
test_case 'Redis lost in the middle of reconciling: the intents stay, the next run reconciles the rest' intent_cut

test_done
