#!/bin/sh
# t0020-rollback-lock: a long rollback lets the journal lock go between its
# steps, so a run started meanwhile does its work; one rollback at a time;
# the counts come out exact.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# Commands a failed case left in the background (perhaps stopped) go too:
# those still running on this script's journal.
: >"$TMP"/bg
kill_left() {
	while read -r pid; do
		if [ -r "/proc/$pid/cmdline" ] &&
			tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--db $DB "; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	done <"$TMP"/bg
	cleanup
}
trap kill_left EXIT

# held_setup STREAM N [fill options]: N entries claimed (held) in group g by run
held_setup() {
	# shellcheck disable=SC2086 # $3: the fill options, one word each
	"$XRTEST" fill "$REDIS_URL" "$1" "$2" ${3:-} >/dev/null
	rcli XGROUP CREATE "$1" g 0 >/dev/null
	crash_consumer "$1" g dead
	xr -q run -s "$1" --claim-idle 0 --no-clean
}

last_batch() {
	sql "select coalesce(max(batch), 0) from replays"
}

# stopped PID: waits (up to 60 s) until PID is stopped (SIGSTOP); fails if it ended
stopped() {
	i=0
	while :; do
		st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 1)
		[ "$st" = T ] && return 0
		if [ -z "$st" ] || [ "$st" = Z ]; then fail "process $1 ended before it stopped"; fi
		i=$((i + 1))
		[ $i -lt 1200 ] || fail "process $1 did not stop"
		sleep 0.05
	done
}

# dead_consumer STREAM N: N entries pending on a dead consumer of group g
dead_consumer() {
	"$XRTEST" fill "$REDIS_URL" "$1" "$2" --size 20 >/dev/null
	rcli XGROUP CREATE "$1" g 0 >/dev/null
	crash_consumer "$1" g gone
}

# interleaved BATCH RUN: the run's start lies between the batch's first and last copy_removed
interleaved() {
	sql "select (select min(seq) from events where kind = 'copy_removed' and batch = $1)
		< (select seq from events where kind = 'run_start' and run = $2)
		and (select seq from events where kind = 'run_start' and run = $2)
		< (select max(seq) from events where kind = 'copy_removed' and batch = $1)"
}

# removed_once BATCH: each copy of the batch journalled as removed, once
removed_once() {
	assert_eq 0 "$(sql "select count(*) from copy_events r where r.batch = $1 and not exists (select 1 from events x where x.kind = 'copy_removed' and x.batch = r.batch and x.ref_ms = r.copy_ms and x.ref_seq = r.copy_seq and x.ref_stream = r.to_stream)")" "copies not journalled as removed"
	assert_eq 0 "$(sql "select count(*) from (select ref_stream, ref_ms, ref_seq from events where kind = 'copy_removed' and batch = $1 group by 1, 2, 3 having count(*) > 1)")" "copies journalled as removed twice"
}

paused_rollback() {
	held_setup pr 20000 "--size 20"
	"$XRTEST" pel "$REDIS_URL" pr g >"$TMP"/pel.before
	xr -q replay -s pr --to pr.copy >/dev/null
	b=$(last_batch)
	assert_eq 20000 "$(rcli XLEN pr.copy)"
	dead_consumer po 300
	# the rollback stops (SIGSTOP) holding the journal lock, after its third request
	XRECOVER_FAILPOINT=rollback-unsent:3:stop "$XR" -r "$REDIS_URL" --db "$DB" \
		rollback "$b" >"$TMP"/rb.out 2>"$TMP"/rb.err &
	rb=$!
	echo $rb >>"$TMP"/bg
	stopped $rb
	left=$(rcli XLEN pr.copy)
	if [ "$left" -ge 20000 ] || [ "$left" -eq 0 ]; then fail "stopped with $left copies left"; fi
	# a timer's run starts meanwhile; the rollback goes on 1.2 s later, having
	# held the lock for more than the second it holds it at most
	"$XR" -r "$REDIS_URL" --db "$DB" --lock-timeout 2s run -s po --claim-idle 0 --no-clean \
		2>"$TMP"/run.log &
	rp=$!
	echo $rp >>"$TMP"/bg
	sleep 1.2
	kill -CONT $rb
	rrc=0
	wait $rp || rrc=$?
	cat "$TMP"/run.log
	assert_eq 0 "$rrc" "the run's exit status"
	run=$(sql "select max(run) from runs")
	assert_eq 300 "$(sql "select count(*) from claimed_messages where run = $run and stream = 'po'")"
	assert_eq 300 "$(rcli XPENDING po g - + 1000 xrecover | grep -c -E '^[0-9]+-[0-9]+$')"
	brc=0
	wait $rb || brc=$?
	cat "$TMP"/rb.err
	assert_eq 0 "$brc" "the rollback's exit status"
	# it let the run in between its steps, and still took back every copy, each once
	assert_eq 1 "$(interleaved "$b" "$run")" "the run started while the rollback went on"
	assert_grep "^rolled back batch $b: removed 20000 unread copies\$" "$TMP"/rb.out
	assert_eq 0 "$(rcli XLEN pr.copy)"
	assert_eq "20000|0|0" "$(sql "select removed, already_read, already_settled from rollbacks where batch = $b")"
	assert_eq "rolled back|20000|20000" "$(sql "select status, copied, removed from replays where batch = $b")"
	removed_once "$b"
	"$XRTEST" pel "$REDIS_URL" pr g >"$TMP"/pel.after
	cmp "$TMP"/pel.before "$TMP"/pel.after || fail "the pending list changed"
	xr verify >/dev/null || fail "verify: exit $?"
}
test_case 'a run started while a rollback holds the lock gets it between two steps, exits 0, and the rollback still counts exactly' paused_rollback

# A rollback made to last several turns of the lock on any machine: each
# page's answer comes PAUSE ms late, as over a slow network.
LONG=100000
PAUSE=30

long_rollback() {
	held_setup lr $LONG "--size 20"
	xr -q replay -s lr --to lr.copy >/dev/null
	b=$(last_batch)
	assert_eq $LONG "$(rcli XLEN lr.copy)"
	dead_consumer lo 500
	start=$(date +%s%N)
	XRECOVER_FAILPOINT=rollback-unsent:1:pause=$PAUSE "$XR" -r "$REDIS_URL" --db "$DB" \
		rollback "$b" >"$TMP"/rb.out 2>"$TMP"/rb.err &
	rb=$!
	echo $rb >>"$TMP"/bg
	# once it has taken back its first copies, a run with a 2 s lock timeout
	i=0
	while [ "$(rcli XLEN lr.copy)" -ge $LONG ]; do
		i=$((i + 1))
		[ $i -lt 1200 ] || fail "the rollback took nothing back"
		sleep 0.05
	done
	rstart=$(date +%s%N)
	"$XR" -r "$REDIS_URL" --db "$DB" --lock-timeout 2s run -s lo --claim-idle 0 --no-clean \
		2>"$TMP"/run.log &
	rp=$!
	echo $rp >>"$TMP"/bg
	brc=0
	wait $rb || brc=$?
	# when the rollback ended, counted from when the run began to wait
	after=$((($(date +%s%N) - rstart) / 1000000))
	ms=$((($(date +%s%N) - start) / 1000000))
	rrc=0
	wait $rp || rrc=$?
	cat "$TMP"/run.log
	assert_eq 0 "$rrc" "the run's exit status"
	run=$(sql "select max(run) from runs")
	assert_eq 500 "$(sql "select count(*) from claimed_messages where run = $run and stream = 'lo'")"
	echo "rollback of $LONG copies with a run in between: ${ms}ms"
	cat "$TMP"/rb.err
	assert_eq 0 "$brc" "the rollback's exit status"
	# it went on for longer than the run would wait (2 s), and let the run in
	# between two of its steps
	[ "$after" -gt 2000 ] || fail "the rollback ended ${after}ms after the run began to wait"
	assert_eq 1 "$(interleaved "$b" "$run")" "the run started while the rollback went on"
	assert_grep "^rolled back batch $b: removed $LONG unread copies\$" "$TMP"/rb.out
	assert_eq 0 "$(rcli XLEN lr.copy)"
	assert_eq "$LONG|0|0" "$(sql "select removed, already_read, already_settled from rollbacks where batch = $b")"
	removed_once "$b"
}
test_case "a run started during a long rollback ($LONG copies, each page answered ${PAUSE}ms late) does its work with --lock-timeout 2s; the counts are exact" long_rollback

one_at_a_time() {
	held_setup ot 5000 "--size 20"
	xr -q replay -s ot --to ot.copy >/dev/null
	b=$(last_batch)
	XRECOVER_FAILPOINT=rollback-unsent:2:stop "$XR" -r "$REDIS_URL" --db "$DB" \
		rollback "$b" >"$TMP"/rb.out 2>"$TMP"/rb.err &
	rb=$!
	echo $rb >>"$TMP"/bg
	stopped $rb
	# a second rollback of the same batch, or of another, waits and gives up: exit 5
	assert_exit 5 xr --lock-timeout 1s rollback "$b"
	assert_grep "has a rollback running in another xrecover \(pid $rb\); gave up after 1000ms" "$TMP"/err
	kill -CONT $rb
	brc=0
	wait $rb || brc=$?
	assert_eq 0 "$brc" "the first rollback's exit status"
	assert_grep "^rolled back batch $b: removed 5000 unread copies\$" "$TMP"/rb.out
	# then the batch is rolled back: nothing to do
	assert_exit 6 xr rollback "$b"
	assert_grep "batch $b was already rolled back; nothing changed" "$TMP"/err
	assert_eq 1 "$(sql "select count(*) from rollbacks where batch = $b")"
	assert_eq 5000 "$(sql "select count(*) from events where kind = 'copy_removed' and batch = $b")"
}
test_case 'one rollback at a time: a second one gives up (exit 5); the batch is rolled back once' one_at_a_time

# kill_rollback: SIGKILL at random instants of one long rollback, run again
# after each kill: every copy Redis no longer has is journalled as removed,
# once, after the next command; the last rollback finishes the batch
kill_rollback() {
	n=100000
	if [ -n "${XR_SANITIZE:-}" ]; then n=40000; fi
	held_setup kl $n "--size 20"
	"$XRTEST" pel "$REDIS_URL" kl g >"$TMP"/pel.before
	xr -q replay -s kl --to kl.copy >/dev/null
	b=$(last_batch)
	kills=8
	# each kill lands after 1 to $step more copies are gone, and the two requests of
	# 1,000 in flight may go too: eight of them leave copies for the last rollback
	step=$((n / 24))
	i=0
	mid=0
	while [ $i -lt $kills ]; do
		len=$(rcli XLEN kl.copy)
		# killed after taking back 1 to $step more copies, and up to 2 ms later
		at=$((len - 1 - $(random_below "$step")))
		us=$(random_below 2000)
		"$XR" -r "$REDIS_URL" --db "$DB" -q rollback "$b" >/dev/null 2>&1 &
		pid=$!
		echo $pid >>"$TMP"/bg
		if "$XRTEST" kill-at "$REDIS_URL" $pid "$us" xlen-below kl.copy "$at" >/dev/null; then
			mid=$((mid + 1))
		fi
		wait $pid 2>/dev/null || true
		# the next command reconciles what the killed one left
		xr -q run -s kl --claim-idle 1h --no-clean 2>/dev/null
		left=$(rcli XLEN kl.copy)
		assert_eq $((n - left)) "$(sql "select count(*) from events where kind = 'copy_removed' and batch = $b")" "copies journalled as removed after kill $i"
		assert_eq 0 "$(sql "select count(*) from (select ref_stream, ref_ms, ref_seq from events where kind = 'copy_removed' and batch = $b group by 1, 2, 3 having count(*) > 1)")" "copies journalled as removed twice after kill $i"
		i=$((i + 1))
	done
	rec=$(sql "select count(*) from events where kind = 'copy_removed' and batch = $b and json_extract(detail, '\$.reconciled')")
	echo "kills: $kills, mid-work: $mid, removals reconciled: $rec, copies left: $left of $n" |
		tee "$TMP"/rollback.kills
	[ "$mid" -ge 6 ] || fail "only $mid of $kills kills landed in the middle of the rollback"
	[ "$rec" -ge 1000 ] || fail "only $rec removals reconciled: the kills did not catch removals in flight"
	[ "$left" -gt 0 ] || fail "nothing left for the last rollback"
	xr rollback "$b" >"$TMP"/out 2>&1
	assert_grep "^rolled back batch $b: removed $left unread copies\$" "$TMP"/out
	assert_eq 0 "$(rcli XLEN kl.copy)"
	assert_eq 1 "$(sql "select count(*) from rollbacks where batch = $b")"
	assert_eq "rolled back|$n|$n" "$(sql "select status, copied, removed from replays where batch = $b")"
	removed_once "$b"
	"$XRTEST" pel "$REDIS_URL" kl g >"$TMP"/pel.after
	cmp "$TMP"/pel.before "$TMP"/pel.after || fail "the pending list changed"
	xr verify >/dev/null || fail "verify after the kills: exit $?"
}
test_case 'SIGKILL at 8 random instants of one long rollback, each run again: every copy taken back is journalled once' kill_rollback
if [ -s "$TMP"/rollback.kills ]; then echo "# $(cat "$TMP"/rollback.kills)"; fi

trimmed() {
	held_setup tr 50
	xr -q replay -s tr --to tr.copy >/dev/null
	b=$(last_batch)
	# the oldest ten copies are trimmed away (deleted ones: t0009)
	rcli XTRIM tr.copy MAXLEN 40 >/dev/null
	assert_eq 40 "$(rcli XLEN tr.copy)"
	xr rollback "$b" >"$TMP"/out 2>&1
	assert_grep "^rolled back batch $b: removed 40 unread copies \(10 more were already gone\)\$" "$TMP"/out
	assert_eq 0 "$(rcli XLEN tr.copy)"
	assert_eq "10|50" "$(sql "select count(json_extract(detail, '\$.gone')), count(*) from events where kind = 'copy_removed' and batch = $b")"
}
test_case 'copies trimmed away before a rollback are counted and journalled as gone' trimmed

test_done
