#!/bin/sh
# t0004-zombies: consumers are deleted only when that loses nothing.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

consumers() {   # consumers STREAM GROUP: the names, one per line, sorted
	rcli XINFO CONSUMERS "$1" "$2" | awk 'prev == "name" { print } { prev = $0 }' | sort
}

pending_never_deleted() {
	make_stream p g 5
	crash_consumer p g busy
	rcli XGROUP CREATECONSUMER p g empty >/dev/null
	xr run -s p --no-claim --zombie-idle 0 2>"$TMP"/log
	assert_eq busy "$(consumers p g)"
	assert_eq 5 "$(rcli XPENDING p g - + 10 busy | grep -c '^busy$')"
	assert_eq empty "$(sql "select consumer from deleted_consumers where stream = 'p'")"
}
test_case 'a consumer that owns pending entries is never deleted' pending_never_deleted

idle_threshold() {
	make_stream z g 1
	rcli XGROUP CREATECONSUMER z g old >/dev/null
	# (2 s: new stays below it, and old's idle reads 2.x s, on a loaded machine too)
	sleep 2.1
	rcli XGROUP CREATECONSUMER z g new >/dev/null
	xr run -s z --zombie-idle 2s 2>"$TMP"/log
	assert_eq new "$(consumers z g)"
	assert_grep '\[CLEAN\] deleted_consumer=old stream=z group=g idle_ms=[23][0-9]{3} pending=0' "$TMP"/log
	row=$(sql "select consumer, pending, idle_ms >= 2000, (julianday(deleted_at) - julianday(last_seen_at)) * 86400000 between idle_ms - 2 and idle_ms + 2 from deleted_consumers where stream = 'z'")
	assert_eq "old|0|1|1" "$row"
	xr run -s z --zombie-idle 1h 2>/dev/null
	assert_eq new "$(consumers z g)"
}
test_case 'only consumers quiet at least --zombie-idle are deleted; the journal says when they were last seen' idle_threshold

recovery_kept() {
	make_stream r g 3
	crash_consumer r g dead
	xr run -s r --claim-idle 0 --zombie-idle 0 2>/dev/null
	# empty the recovery consumer: it stays all the same
	ids=$(rcli --raw XRANGE r - + | grep -E '^[0-9]+-[0-9]+$' | tr '\n' ' ')
	# shellcheck disable=SC2086 # $ids: one argument per ID
	rcli XACK r g $ids >/dev/null
	xr run -s r --claim-idle 0 --zombie-idle 0 2>/dev/null
	assert_eq xrecover "$(consumers r g)"
}
test_case 'the recovery consumer is never deleted, even empty' recovery_kept

race() {
	make_stream race g 1
	rcli XGROUP CREATECONSUMER race g racer >/dev/null
	"$XRTEST" race-reader "$REDIS_URL" race g racer 30 >"$TMP"/reader &
	reader=$!
	i=0
	while [ $i -lt 300 ]; do
		"$XR" -r "$REDIS_URL" --db "$TMP"/race.db -q run -s race --no-claim --zombie-idle 0 \
			2>>"$TMP"/runs || fail "run $i failed"
		i=$((i + 1))
	done
	kill $reader 2>/dev/null || true
	wait $reader || true
	cat "$TMP"/reader
	reads=$(sed -n 's/^reads=\([0-9]*\) acked=.*/\1/p' "$TMP"/reader)
	[ -n "$reads" ] || {
		# the reader ran out its time before the runs finished: it printed at exit
		fail "the reader did not report"
	}
	# every entry it read was still its own to acknowledge: XACK said 1 each time
	assert_grep "^reads=$reads acked=$reads lost=0\$" "$TMP"/reader
	[ "$reads" -gt 300 ] || fail "only $reads reads: the race was not exercised"
	deleted=$(sql "select count(*) from deleted_consumers" "$TMP"/race.db)
	kept=$(sql "select count(*) from events where kind = 'consumer_kept'" "$TMP"/race.db)
	echo "deleted $deleted times, kept $kept times at the last instant"
	[ "$deleted" -gt 5 ] || fail "only $deleted deletions: the race was not exercised"
	assert_eq 300 "$(sql "select count(*) from runs where status = 'ok'" "$TMP"/race.db)"
}
test_case 'race: a consumer reading in a tight loop while 300 runs delete zombies loses nothing' race

test_done
