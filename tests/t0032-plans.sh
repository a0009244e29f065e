#!/bin/sh
# t0032-plans: the journal's hot queries keep their plans.  On a journal of
# two weeks of claims and real runs, `xrtest plans` runs the alert rules of
# the last run, and today's daily report (the statements the code itself
# runs, taken from SQLite as they run), and prints each one's EXPLAIN QUERY
# PLAN and full-scan steps: the time range of a span is found by a search
# at each end of the table, not a scan (journal_time_range); the rules and
# the report read the run_end and incident_opened events of their span by
# migration 011's indexes, not every claim between them; no statement of
# either steps through the events in a full scan.
# Case bodies are single-quoted and expanded by test_case.
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# block TEXT [FILE]: the lines of each statement of FILE ($TMP/plans) whose SQL holds TEXT
block() {
	awk -v t="$1" '/^sql: /{ p = index($0, t) > 0 } p' "${2:-$TMP/plans}"
}

# no_full_scan FILE: every statement of FILE says its full-scan steps,
# and they are 0
no_full_scan() {
	assert_grep "^fullscan: 0$" "$1"
	assert_eq "$(grep -c "^sql: " "$1")" "$(grep -c "^fullscan: " "$1")"
	awk '/^sql: /{ s = $0 } /^fullscan: [1-9]/ { print s; print }' "$1" >"$TMP/full"
	assert_lines 0 "$TMP/full"
}

DB=$TMP/j.db
printf '{"alert_rules": {"claimed": {"threshold": "auto"}}}' >"$TMP/auto.json"
"$XRTEST" history "$DB" s g 336 30 >"$TMP/history"
make_stream s g 50
crash_consumer s g gone
xr -q -c "$TMP/auto.json" run -s s --claim-idle 0
xr -q -c "$TMP/auto.json" run -s s --claim-idle 0
"$XRTEST" plans rules "$TMP/auto.json" "$DB" "$(sql "SELECT max(run) FROM events")" >"$TMP/plans"
"$XRTEST" plans daily "$TMP/auto.json" "$DB" >"$TMP/daily"

test_case 'the journal has two weeks of claims, runs, an incident, and the rules ran their statements' '
	assert_eq 1 "$(sql "SELECT count(*) >= 10000 FROM events WHERE kind = '\''claim'\''")"
	assert_eq 2 "$(sql "SELECT count(*) FROM events WHERE kind = '\''run_end'\''")"
	assert_eq 1 "$(sql "SELECT count(*) >= 1 FROM events WHERE kind = '\''incident_opened'\''")"
	test "$(grep -c "^sql: " "$TMP/plans")" -ge 8 || fail "too few statements: $(cat "$TMP/plans")"
	test "$(grep -c "^sql: " "$TMP/daily")" -ge 8 || fail "too few statements: $(cat "$TMP/daily")"
'

test_case 'a span'\''s positions: the first and last seq by a search at each end, never a scan' '
	block "min(seq)" >"$TMP/range"
	assert_grep "max\(seq\)" "$TMP/range"
	assert_eq 2 "$(grep -c "^plan: SEARCH events$" "$TMP/range")" "searches at the ends"
	assert_no_grep "^plan: SCAN events" "$TMP/range"
	assert_grep "^fullscan: 0$" "$TMP/range"
	block "WHERE seq >= ?1 ORDER BY seq LIMIT 1" >"$TMP/first"
	assert_grep "^plan: SEARCH events USING INTEGER PRIMARY KEY \(rowid>\?\)$" "$TMP/first"
'

test_case 'the rules read run_end and incident_opened events by their position indexes' '
	block "kind = '\''run_end'\''" >"$TMP/run_end"
	assert_grep "^sql: " "$TMP/run_end"
	assert_grep "^plan: SEARCH e USING INDEX events_run_end_seq \(seq>\? AND seq<\?\)$" "$TMP/run_end"
	assert_no_grep "^plan: .*(INTEGER PRIMARY KEY|SCAN e$|SCAN events$)" "$TMP/run_end"
	block "kind = '\''incident_opened'\''" >"$TMP/opened"
	assert_grep "^sql: " "$TMP/opened"
	assert_grep "^plan: SEARCH events USING INDEX events_incident_opened_seq \(seq>\? AND seq<\?\)$" \
	    "$TMP/opened"
	assert_no_grep "^plan: .*(INTEGER PRIMARY KEY|SCAN events$)" "$TMP/opened"
'

test_case 'the daily report reads its day'\''s run_end events and opened incidents by the same indexes' '
	block "e.kind = '\''run_end'\'' ORDER BY e.seq" "$TMP/daily" >"$TMP/pending"
	assert_grep "^sql: .*[.]pending" "$TMP/pending"
	assert_grep "^plan: SEARCH e USING INDEX events_run_end_seq \(seq>\? AND seq<\?\)$" "$TMP/pending"
	block "FROM incidents WHERE incident BETWEEN" "$TMP/daily" >"$TMP/incidents"
	assert_grep "^plan: SEARCH o USING INDEX events_incident_opened_seq \(seq>\? AND seq<\?\)$" \
	    "$TMP/incidents"
	block "min(seq)" "$TMP/daily" >"$TMP/range"
	assert_eq 2 "$(grep -c "^plan: SEARCH events$" "$TMP/range")" "searches at the ends"
'

test_case 'no statement of the rules or of the daily report steps through the events in a full scan' '
	no_full_scan "$TMP/plans"
	no_full_scan "$TMP/daily"
'

test_done
