#!/bin/sh
# t0028-archive: archive moves the older events to an archive file with the
# chain intact; the live journal goes on from the archive's last hash;
# verify checks them as one chain; a kill at any instant loses nothing; a
# run during an archive still succeeds; run applies the retention setting;
# --db creates every missing directory level, mode 0700.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

FUTURE=2099-01-01

mode_of() {
	stat -c %a "$1"
}

json_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# dump DB: every event as seq|hash, in order
dump() {
	sql "select seq || '|' || hex(hash) from events order by seq" "$1"
}

# union LIVE MAX: the events of the live journal and of every archive it
# names (and every other archive file beside it), up to seq MAX, each once
union() {
	dir=$(dirname "$1")
	{
		dump "$1"
		for f in $(sql "select file from archives" "$1") "$dir"/*-archive-*.db; do
			case $f in /*) ;; *) f=$dir/$f ;; esac
			[ -f "$f" ] && dump "$f"
		done
	} | sort -u | awk -F'|' -v max="$2" '$1 <= max' | sort -t'|' -k1,1n
}

# ----------------------------------------------------------------- --db

db_mkdir() {
	d=$TMP/mk/a/b/c
	make_stream mk g 3
	"$XR" -r "$REDIS_URL" --db "$d"/j.db -q run -s mk 2>/dev/null
	assert_eq "700 700 700 700 600" "$(mode_of "$TMP"/mk) $(mode_of "$TMP"/mk/a) \
$(mode_of "$TMP"/mk/a/b) $(mode_of "$d") $(mode_of "$d"/j.db)" "modes of mk, a, b, c, j.db"
	assert_eq 1 "$(sql "select count(*) from runs" "$d"/j.db)"
	# a level that cannot be made: exit 4, named
	assert_exit 4 "$XR" -r "$REDIS_URL" --db /dev/null/x/j.db run -s mk
	assert_grep "cannot create journal '/dev/null/x/j.db'" "$TMP"/err
}
test_case '--db creates every missing directory level, mode 0700' db_mkdir

# ------------------------------------------------------- the main journal

# A journal with runs, claims, a replay batch read and settled, dead letters,
# and last a run whose entries are still held.
build() {
	make_stream a g 200
	crash_consumer a g dead
	xr -q run -s a --claim-idle 0 2>/dev/null
	xr -q replay --run 1 >/dev/null
	"$XRTEST" worker "$REDIS_URL" a g reader 1 >/dev/null
	xr run -s a --claim-idle 1h --no-clean 2>"$TMP"/log
	assert_grep 'batches_closed=1' "$TMP"/log
	make_stream b g 100
	crash_consumer b g dead
	xr -q run -s b --claim-idle 0 --action dead-letter 2>/dev/null
	make_stream c g 50
	crash_consumer c g dead
	xr -q run -s c --claim-idle 0 2>/dev/null
	assert_eq "1 2 3 4" "$(sql "select run from runs order by run" | tr '\n' ' ' | sed 's/ $//')"
	assert_eq "settled" "$(sql "select status from replays")"
}

archive_main() {
	build
	head=$(sql "select max(seq) from events")
	stop=$(sql "select seq from events where kind = 'run_start' and run = 4")
	dump "$DB" >"$TMP"/before
	sql "select kind, count(*) from events where seq < $stop group by kind order by kind" \
		>"$TMP"/kinds
	xr archive --before "$FUTURE" >"$TMP"/out
	a=$TMP/journal-archive-1-$((stop - 1)).db
	assert_grep "^archived events 1 to $((stop - 1)) \\($((stop - 1)) events\\) to $a; stopped before event $stop: an entry claimed at event [0-9]+ is still held\$" "$TMP"/out
	# both sides: the archive holds the older events, whole; the journal the rest
	assert_eq "$((stop - 1))|1|$((stop - 1))" "$(sql "select count(*), min(seq), max(seq) from events" "$a")"
	assert_eq "$(cat "$TMP"/kinds)" "$(sql "select kind, count(*) from events group by kind order by kind" "$a")"
	assert_eq "$((head - stop + 2))|$stop|$((head + 1))" "$(sql "select count(*), min(seq), max(seq) from events")"
	assert_eq "archived" "$(sql "select kind from events where seq = $((head + 1))")"
	assert_eq "1|$((stop - 1))|journal-archive-1-$((stop - 1)).db|3|1" \
		"$(sql "select first_seq, last_seq, file, last_run, last_batch from archives")"
	assert_eq "$(sql "select hex(hash) from events where seq = $((stop - 1))" "$a")" \
		"$(sql "select hex(last_hash) from archives")"
	assert_eq 600 "$(mode_of "$a")"
	# nothing lost or changed: the union is the journal before, byte for byte
	union "$DB" "$head" >"$TMP"/after
	cmp "$TMP"/before "$TMP"/after || fail "the union of archive and journal is not the journal before"
	# verify: one chain across both
	xr verify >"$TMP"/out
	assert_grep "^journal whole: $((head - stop + 2)) events, head [0-9a-f]{64} \\(event $((head + 1))\\), and its 1 archives: $((stop - 1)) events\$" "$TMP"/out
	xr verify --json >"$TMP"/out
	assert_eq 1 "$(json_field "$TMP"/out archives)"
	# the archive alone, and read commands on it (--db ARCHIVE)
	"$XR" --db "$a" verify >"$TMP"/out
	assert_grep "^journal whole: $((stop - 1)) events" "$TMP"/out
	assert_eq "1 2 3" "$(sql "select run from runs order by run" "$a" | tr '\n' ' ' | sed 's/ $//')"
	"$XR" --db "$a" report --run 3 >"$TMP"/out
	assert_grep 'dead' "$TMP"/out
	id=$(sql "select entry_id from claimed_messages where stream = 'a' limit 1" "$a")
	"$XR" --db "$a" trace "a/$id" >"$TMP"/out
	assert_grep 'replayed and read' "$TMP"/out
	# commands that write refuse it (exit 2): its chain ends where the journal's goes on
	dump "$a" >"$TMP"/archive.before
	assert_exit 2 "$XR" -r "$REDIS_URL" --db "$a" run -s c --claim-idle 0
	assert_grep "^xrecover: journal '$a' is an archive: it is read, never written; commands that write take the live journal \(--db\)\$" "$TMP"/err
	assert_lines 1 "$TMP"/err
	assert_exit 2 "$XR" -r "$REDIS_URL" --db "$a" replay --run 1
	assert_grep "is an archive: it is read, never written" "$TMP"/err
	sqlite3 "$a" "insert into events (kind, ts) values ('run_start', 0)" 2>"$TMP"/err &&
		fail "an event was added to the archive"
	assert_grep "this journal is an archive: it is read, never written" "$TMP"/err
	dump "$a" | cmp - "$TMP"/archive.before || fail "the archive changed"
	"$XR" --db "$a" verify >/dev/null || fail "the archive does not verify"
	# numbers go on: the next run is 5, the next batch 2; the held entries still replay
	xr -q run -s c --claim-idle 1h --no-clean 2>/dev/null
	assert_eq 5 "$(sql "select max(run) from runs")"
	xr replay --run 4 --json >"$TMP"/out
	assert_eq 2 "$(json_field "$TMP"/out batch)"
	xr verify >/dev/null
	# archiving again: the held entries and the open batch keep it back
	assert_exit 6 "$XR" --db "$DB" archive --before "$FUTURE"
	assert_grep "^nothing to archive before $FUTURE; stopped before event $stop" "$TMP"/out
	cp "$DB" "$TMP"/main.db
}
test_case 'archive: the older events move, counts on both sides, one chain, numbers go on' archive_main

# tampered ARCHIVE CHANGE: the journal verified with the archive changed; exit in $rc
tamper_case() {
	cp "$1" "$TMP"/saved.db
	sh -c "$2"
	rc=0
	xr verify >"$TMP"/out 2>"$TMP"/err || rc=$?
	rm -f "$1" "$1"-wal "$1"-shm
	cp "$TMP"/saved.db "$1"
}

tamper() {
	a=$TMP/$(sql "select file from archives")
	xr verify >/dev/null
	tamper_case "$a" "sqlite3 '$a' \"DROP TRIGGER events_append_only_update;
		UPDATE events SET detail = '{}' WHERE seq = 7\""
	assert_eq 7 "$rc"
	assert_grep "archive '$a': journal broken at event 7 .*changed after it was written" "$TMP"/err
	tamper_case "$a" "rm '$a'"
	assert_eq 7 "$rc"
	assert_grep "its archive '$a' is missing \\(events 1 to " "$TMP"/err
	# events cut off the archive's end
	tamper_case "$a" "sqlite3 '$a' \"DROP TRIGGER events_append_only_delete;
		DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)\""
	assert_eq 7 "$rc"
	assert_grep "does not end with the event the journal goes on from" "$TMP"/err
	# the anchor in the live journal changed: its first event no longer follows
	cp "$DB" "$TMP"/live.db
	sqlite3 "$DB" "DROP TRIGGER archives_append_only_update;
		UPDATE archives SET last_hash = zeroblob(32)"
	rc=0
	xr verify >"$TMP"/out 2>"$TMP"/err || rc=$?
	cp "$TMP"/live.db "$DB"
	rm -f "$DB"-wal "$DB"-shm
	assert_eq 7 "$rc"
	xr verify >"$TMP"/out
	assert_grep '^journal whole: .* and its 1 archives' "$TMP"/out
}
test_case 'verify: an archive changed, missing or cut short, or the anchor changed, exits 7' tamper

# rows_case SQL: verify with the live journal's archives and archive_totals
# rows tampered with by SQL (their triggers dropped), then restored; exit in $rc
rows_case() {
	cp "$DB" "$TMP"/live.db
	sqlite3 "$DB" "DROP TRIGGER archives_append_only_update;
		DROP TRIGGER archives_append_only_delete;
		DROP TRIGGER archive_totals_append_only_update;
		DROP TRIGGER archive_totals_append_only_delete; $1"
	rc=0
	xr verify >"$TMP"/out 2>"$TMP"/err || rc=$?
	cp "$TMP"/live.db "$DB"
	rm -f "$DB"-wal "$DB"-shm
}

tamper_rows() {
	l=$(sql "select last_seq from archives")
	s=$(sql "select seq from events where kind = 'archived'")
	f=$(sql "select file from archives")
	claimed=$(sql "select n from archive_totals where family = 'xrecover_claimed_total' and stream = 'a'")
	[ "$claimed" -gt 0 ] || fail "no claimed total archived"
	# the archived event records the row and its totals
	assert_eq "$f|1|$l|$claimed" "$(sql "select json_extract(detail, '\$.file'),
		json_extract(detail, '\$.first_seq'), json_extract(detail, '\$.last_seq'),
		(select json_extract(t.value, '\$.n') from json_each(detail, '\$.totals') t
		 where json_extract(t.value, '\$.family') = 'xrecover_claimed_total'
		 and json_extract(t.value, '\$.stream') = 'a') from events where seq = $s")"
	totals="its archive_totals rows of the archive of events 1 to $l are not the totals its archived event $s recorded"
	# a total lowered (what metrics and the daily report add), added, deleted
	rows_case "UPDATE archive_totals SET n = n - 1 WHERE family = 'xrecover_claimed_total'
		AND stream = 'a'"
	assert_eq 7 "$rc" "total lowered"
	assert_grep "^xrecover: journal broken: $totals \\(a total was changed" "$TMP"/err
	rows_case "INSERT INTO archive_totals VALUES ($l, 'xrecover_lost_total', 'a', 'g', 5)"
	assert_eq 7 "$rc" "total added"
	assert_grep "$totals" "$TMP"/err
	rows_case "DELETE FROM archive_totals WHERE family = 'xrecover_claimed_total'"
	assert_eq 7 "$rc" "total deleted"
	assert_grep "$totals" "$TMP"/err
	rows_case "INSERT INTO archive_totals VALUES (5, 'xrecover_lost_total', 'a', 'g', 5)"
	assert_eq 7 "$rc" "totals of no archive"
	assert_grep "archive_totals rows of an archive ending at event 5 that table archives has no row of \\(added\\)" "$TMP"/err
	# the row pointed at another file, even a whole copy of the archive
	cp "$TMP/$f" "$TMP"/other.db
	rows_case "UPDATE archives SET file = 'other.db'"
	assert_eq 7 "$rc" "file changed"
	assert_grep "its archives row of events 1 to $l says file \"other.db\" where its archived event $s recorded \"$f\"" "$TMP"/err
	rm -f "$TMP"/other.db
	# the numbers that runs and batches go on from
	rows_case "UPDATE archives SET last_run = 99"
	assert_eq 7 "$rc" "last_run changed"
	assert_grep "says last_run 99 where its archived event $s recorded 3\$" "$TMP"/err
	rows_case "UPDATE archives SET events = events + 1"
	assert_eq 7 "$rc" "events changed"
	assert_grep "says events $((l + 1)) where its archived event $s recorded $l\$" "$TMP"/err
	# the row deleted: its event says so (not only that the chain lost its start)
	rows_case "DELETE FROM archives"
	assert_eq 7 "$rc" "row deleted"
	assert_grep "^xrecover: journal broken: its archived event $s records an archive of events 1 to $l that table archives has no row of \\(deleted\\)\$" "$TMP"/err
	# a row added for events already archived
	rows_case "INSERT INTO archives SELECT 5, 1, last_hash, file, 5, first_ts, last_ts,
		last_run, last_batch, archived_at FROM archives"
	assert_eq 7 "$rc" "row added"
	assert_grep "its archives row of events 1 to 5 was recorded by no archived event \\(added\\)" "$TMP"/err
	# untouched: whole
	xr verify >"$TMP"/out
	assert_grep '^journal whole: .* and its 1 archives' "$TMP"/out
}
test_case 'verify: the archives and archive_totals rows changed, added or deleted, exits 7 and says which' tamper_rows

# ------------------------------------------------------------------ trace

# story FILE: the EVENT/GROUP of each line of the story trace printed to FILE
story() {
	awk '/^AT /{on=1; next} on && NF == 0 {exit} on {print $2 "/" $4}' "$1" | tr '\n' ' ' |
		sed 's/ $//'
}

# xt ARGS: xrecover on the trace journal
xt() {
	"$XR" -r "$REDIS_URL" --db "$TMP"/tr/j.db "$@"
}

trace_span() {
	mkdir -p "$TMP"/tr
	# in group g: claimed and dead-lettered, then archived
	make_stream tr g 3
	rcli XGROUP CREATE tr g2 0 >/dev/null
	crash_consumer tr g dead
	xt -q run -s tr -g g --claim-idle 0 --action dead-letter 2>/dev/null
	xt -q archive --before "$FUTURE"
	l=$(sql "select last_seq from archives" "$TMP"/tr/j.db)
	a=$TMP/tr/$(sql "select file from archives" "$TMP"/tr/j.db)
	id=$(sql "select entry_id from claimed_messages limit 1" "$a")
	dl=$(sql "select dead_letter_stream || '/' || dead_letter_id from dead_letters where entry_id = '$id'" "$a")
	assert_eq 0 "$(sql "select count(*) from events where kind in ('claim', 'dead_lettered')" "$TMP"/tr/j.db)"
	# then, in the live journal: claimed in group g2
	crash_consumer tr g2 dead2
	xt -q run -s tr -g g2 --claim-idle 0 2>/dev/null
	# its whole story, the archived events in order with the live ones, from
	# the original or from its dead letter (found in the archive)
	for e in "tr/$id" "$dl"; do
		xt trace "$e" >"$TMP"/out
		assert_eq "claimed/g dead-lettered/g claimed/g2" "$(story "$TMP"/out)"
		assert_grep "^g +dead-lettered +1 +tr/$id\$" "$TMP"/out
		assert_grep "^g2 +held +1 +tr/$id\$" "$TMP"/out
		assert_no_grep "not read" "$TMP"/out
	done
	xt trace --json "tr/$id" >"$TMP"/out
	python3 - "$TMP"/out "$l" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["messages"][0]
seqs = [e["seq"] for e in m["events"]]
last = int(sys.argv[2])
assert seqs == sorted(seqs), seqs
assert seqs[0] <= last < seqs[-1], (seqs, last)
assert m["archives_unread"] == [], m["archives_unread"]
PY
	# the payload field search reads the archive too
	f=$(sql "select j.key || '=' || j.value from claimed_messages, json_each(payload) j
		where entry_id = '$id' limit 1" "$a")
	xt trace --field "$f" >"$TMP"/out
	assert_grep '^1 message with ' "$TMP"/out
	assert_grep " dead-lettered +tr/$id " "$TMP"/out
	# the archive gone: one line says so, the live part is still shown
	mv "$a" "$TMP"/tr/away.db
	xt trace "tr/$id" >"$TMP"/out
	assert_eq "archive '$a' is missing: its events 1 to $l are not read" "$(head -n 1 "$TMP"/out)"
	assert_eq 1 "$(grep -c 'not read' "$TMP"/out)"
	assert_eq "claimed/g2" "$(story "$TMP"/out)"
	xt trace --json "tr/$id" >"$TMP"/out
	python3 - "$TMP"/out "$a" "$l" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["messages"][0]
assert m["archives_unread"] == ["archive '%s' is missing: its events 1 to %s are not read"
                                % (sys.argv[2], sys.argv[3])], m["archives_unread"]
assert [(e["event"], e["group"]) for e in m["events"]] == [("claim", "g2")], m["events"]
PY
	# what only the archive knows: not found, and why
	assert_exit 6 "$XR" -r "$REDIS_URL" --db "$TMP"/tr/j.db trace "$dl"
	assert_grep "knows nothing of $dl \\(archive '$a' is missing" "$TMP"/err
	# not a journal: said the same way
	echo junk >"$a"
	xt trace "tr/$id" >"$TMP"/out
	assert_grep "^archive '$a' cannot be read \\(.*\\): its events 1 to $l are not read\$" "$TMP"/out
	mv "$TMP"/tr/away.db "$a"
	xt verify >/dev/null
}
test_case 'trace reads the archives with the live journal: a story across both in order; an archive missing is one line' trace_span

# More archives than SQLite reads at once: the newest are read, the older
# ones said in one line, and --db the newest of those reads them.
trace_many() {
	max=$(sqlite3 :memory: 'PRAGMA compile_options' | sed -n 's/^MAX_ATTACHED=//p')
	max=${max:-10}
	[ "$max" -le 20 ] || { echo "SQLite reads $max archives at once"; exit 77; }
	d=$TMP/many/j.db
	mkdir -p "$TMP"/many
	make_stream mn g 2
	rcli XGROUP CREATE mn g2 0 >/dev/null
	crash_consumer mn g dead
	"$XR" -r "$REDIS_URL" --db "$d" -q run -s mn -g g --claim-idle 0 --action dead-letter 2>/dev/null
	i=0
	while [ $i -le "$max" ]; do
		[ $i -eq 0 ] || "$XR" -r "$REDIS_URL" --db "$d" -q run -s mn -g g 2>/dev/null
		"$XR" --db "$d" -q archive --before "$FUTURE"
		i=$((i + 1))
	done
	assert_eq $((max + 1)) "$(sql "select count(*) from archives" "$d")"
	first=$(dirname "$d")/$(sql "select file from archives order by last_seq limit 1" "$d")
	l=$(sql "select min(last_seq) from archives" "$d")
	id=$(sql "select entry_id from claimed_messages limit 1" "$first")
	crash_consumer mn g2 dead2
	"$XR" -r "$REDIS_URL" --db "$d" -q run -s mn -g g2 --claim-idle 0 2>/dev/null
	"$XR" -r "$REDIS_URL" --db "$d" trace "mn/$id" >"$TMP"/out
	assert_eq "the archives of events 1 to $l are not read: at most $max are read at once (with --db '$first', trace reads the older ones)" \
		"$(head -n 1 "$TMP"/out)"
	assert_eq 1 "$(grep -c 'not read' "$TMP"/out)"
	assert_grep " claimed +mn/$id +g2 " "$TMP"/out
	assert_no_grep " dead-lettered " "$TMP"/out
	"$XR" -r "$REDIS_URL" --db "$first" trace "mn/$id" >"$TMP"/out
	assert_grep " dead-lettered +mn/$id +g " "$TMP"/out
	assert_no_grep "not read" "$TMP"/out
	"$XR" --db "$d" verify >"$TMP"/out
	assert_grep "and its $((max + 1)) archives" "$TMP"/out
}
test_case 'trace with more archives than are read at once: the newest read, one line for the older ones' trace_many

# ------------------------------------------------------- stop before a run

unfinished() {
	d=$TMP/uf.db
	make_stream uf g 20
	crash_consumer uf g dead
	"$XR" -r "$REDIS_URL" --db "$d" -q run -s uf --claim-idle 0 --action dead-letter 2>/dev/null
	set +e
	XRECOVER_FAILPOINT=before-run-end "$XR" -r "$REDIS_URL" --db "$d" -q run -s uf 2>/dev/null
	rc=$?
	set -e
	assert_eq 137 "$rc" "killed run"
	s=$(sql "select seq from events where kind = 'run_start' and run = 2" "$d")
	"$XR" --db "$d" archive --before "$FUTURE" >"$TMP"/out
	assert_grep "^archived events 1 to $((s - 1)) .*; stopped before event $s: run 2 has not ended\$" "$TMP"/out
	assert_eq 0 "$(sql "select count(*) from events where run = 1" "$d")"
	# the next run finds run 2 unfinished in the live journal, as it should
	"$XR" -r "$REDIS_URL" --db "$d" -q run -s uf 2>/dev/null
	assert_eq "2|crashed 3|ok" "$(sql "select run || '|' || status from runs order by run" "$d" | tr '\n' ' ' | sed 's/ $//')"
	"$XR" --db "$d" verify >/dev/null
	# a record of the intent file (a killed command's) names run 1: it stays
	d=$TMP/uf2.db
	"$XR" -r "$REDIS_URL" --db "$d" -q run -s uf 2>/dev/null
	printf '{"run":1,"kind":"claim"}\n' >"$d".intent
	assert_exit 6 "$XR" --db "$d" archive --before "$FUTURE"
	assert_grep "^nothing to archive before $FUTURE; stopped before event 1: the intent file names the run or batch of event 1" "$TMP"/out
	: >"$d".intent
	"$XR" --db "$d" -q archive --before "$FUTURE"
	assert_eq 1 "$(sql "select count(*) from archives" "$d")"
}
test_case 'archive stops before a run that has not ended, or that the intent file names' unfinished

# An alert still to be delivered stays: a later run reads its event to retry it.
pending_alert() {
	d=$TMP/pa.db
	make_stream pa g 3
	# shellcheck disable=SC2046 # pid and port
	set -- $(start_receiver "$TMP"/rx)
	# raised, not yet sent (the run that raised it was killed before it could)
	printf '{"webhooks": [{"name": "ops", "format": "json", "url": "http://127.0.0.1:%s/hook"}]}' \
		"$(free_port)" >"$TMP"/down.json
	printf '{"webhooks": [{"name": "ops", "format": "json", "url": "http://127.0.0.1:%s/hook"}]}' \
		"$2" >"$TMP"/up.json
	"$XR" -r "$REDIS_URL" --db "$d" -q run -s pa 2>/dev/null
	a=$("$XRTEST" raise "$TMP"/down.json "$d" pa g claimed warning)
	assert_eq pending "$(sql "select status from alerts where alert = $a" "$d")"
	"$XR" --db "$d" archive --before "$FUTURE" >"$TMP"/out
	assert_grep "^archived events 1 to $((a - 1)) .*; stopped before event $a: alert $a is still to be delivered\$" "$TMP"/out
	assert_eq 1 "$(sql "select count(*) from events where seq = $a and kind = 'alert'" "$d")"
	# delivered by the next run, whose alert is then the only one left to move
	"$XR" -r "$REDIS_URL" --db "$d" -c "$TMP"/up.json -q run -s pa 2>/dev/null
	assert_eq sent "$(sql "select status from alerts where alert = $a" "$d")"
	"$XR" --db "$d" archive --before "$FUTURE" >"$TMP"/out
	assert_eq 0 "$(sql "select count(*) from events where kind = 'alert'" "$d")"
	"$XR" --db "$d" verify >/dev/null
}
test_case 'archive stops before an alert still to be delivered, and moves it once sent' pending_alert

# ---------------------------------------------------------------- kills

# A journal of 40,000 events, all finished with: the kill test's start.
kill_base() {
	make_stream k g 20000
	crash_consumer k g dead
	"$XR" -r "$REDIS_URL" --db "$TMP"/base.db -q run -s k --claim-idle 0 --action dead-letter \
		--batch 1000 2>/dev/null
	sqlite3 "$TMP"/base.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	dump "$TMP"/base.db >"$TMP"/base.dump
}

# fresh: the kill directory holds the base journal only
fresh() {
	rm -rf "$TMP"/k
	mkdir "$TMP"/k
	cp "$TMP"/base.db "$TMP"/k/j.db
}

# after_kill: the journal (and its archives) verify, nothing is lost, and a
# rerun completes
after_kill() {
	kh=$(sql "select max(seq) from events" "$TMP"/base.db)
	"$XR" --db "$TMP"/k/j.db verify >"$TMP"/v || { cat "$TMP"/v; fail "verify after a kill"; }
	union "$TMP"/k/j.db "$kh" >"$TMP"/u
	cmp "$TMP"/base.dump "$TMP"/u || fail "events lost or changed by a kill"
	rc=0
	"$XR" --db "$TMP"/k/j.db -q archive --before "$FUTURE" >/dev/null || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 6 ] || fail "rerun of archive: exit $rc"
	"$XR" --db "$TMP"/k/j.db verify >"$TMP"/v || { cat "$TMP"/v; fail "verify after the rerun"; }
	assert_grep "and its 1 archives: $kh events" "$TMP"/v
	union "$TMP"/k/j.db "$kh" >"$TMP"/u
	cmp "$TMP"/base.dump "$TMP"/u || fail "events lost or changed after the rerun"
	[ -z "$(find "$TMP"/k -name '*.new' -o -name '*.tmp')" ] || fail "temporary files left"
	assert_eq "$(sql "select file from archives" "$TMP"/k/j.db)" \
		"$(cd "$TMP"/k && echo j-archive-*.db)" "the archive files after the rerun"
}

kills() {
	kill_base
	# how long an archive takes here and its start (opening, deciding the
	# cut), each the shorter of two: the load of the machine varies
	start=0
	us=0
	for i in 1 2; do
		fresh
		t0=$(date +%s%N)
		"$XR" --db "$TMP"/k/j.db -q archive --before 1970-01-02 >/dev/null || true
		t1=$(date +%s%N)
		"$XR" --db "$TMP"/k/j.db -q archive --before "$FUTURE"
		t2=$(date +%s%N)
		if [ $start -eq 0 ] || [ $(((t1 - t0) / 1000)) -lt $start ]; then
			start=$(((t1 - t0) / 1000))
		fi
		if [ $us -eq 0 ] || [ $(((t2 - t1) / 1000)) -lt $us ]; then
			us=$(((t2 - t1) / 1000))
		fi
	done
	[ $us -gt $((start + 1000)) ] || start=0
	# at exact spots: each leaves the journal whole
	for fp in archive-written archive-copied archive-locked archive-renamed archive-replaced; do
		fresh
		rc=0
		XRECOVER_FAILPOINT=$fp "$XR" --db "$TMP"/k/j.db -q archive --before "$FUTURE" \
			2>/dev/null || rc=$?
		assert_eq 137 "$rc" "killed at $fp"
		after_kill
	done
	# killed between its renames, then a run: the next archive cuts elsewhere,
	# and the archive the journal never named goes
	fresh
	rc=0
	XRECOVER_FAILPOINT=archive-renamed "$XR" --db "$TMP"/k/j.db -q archive --before "$FUTURE" \
		2>/dev/null || rc=$?
	assert_eq 137 "$rc" "killed at archive-renamed"
	left=$(cd "$TMP"/k && echo j-archive-*.db)
	"$XR" -r "$REDIS_URL" --db "$TMP"/k/j.db -q run -s k 2>/dev/null
	"$XR" --db "$TMP"/k/j.db -q archive --before "$FUTURE"
	named=$(sql "select file from archives" "$TMP"/k/j.db)
	[ "$named" != "$left" ] || fail "the cut did not move"
	assert_eq "$named" "$(cd "$TMP"/k && echo j-archive-*.db)" "archive files"
	"$XR" --db "$TMP"/k/j.db verify >/dev/null
	# at random instants: at least 10, and until 8 of them landed mid-work
	n=0
	mid=0
	while [ $n -lt 10 ] || { [ $mid -lt 8 ] && [ $n -lt 24 ]; }; do
		fresh
		"$XR" --db "$TMP"/k/j.db -q archive --before "$FUTURE" >/dev/null 2>&1 &
		pid=$!
		d=$((start + $(random_below $((us - start)))))
		sleep "$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))"
		if ! kill -9 $pid 2>/dev/null && [ "$d" -gt $((start + 1000)) ]; then
			us=$d       # it was over by then: aim earlier (the load changes)
		fi
		wait $pid 2>/dev/null || true
		# mid-work: what an archive builds beside the journal was there
		if [ -n "$(find "$TMP"/k -name '*.new' -o -name '*.tmp')" ]; then
			mid=$((mid + 1))
		fi
		after_kill
		n=$((n + 1))
	done
	echo "archive of $(wc -l <"$TMP"/base.dump) events: ${us}us (start ${start}us); kills: $n, mid-work: $mid" |
		tee "$TMP"/kills
	[ "$mid" -ge 8 ] || fail "only $mid of $n kills landed in the middle of the archive"
}
test_case 'SIGKILL at 5 spots and at random instants (8 mid-work at least): nothing lost, the chain whole, a rerun completes' kills
if [ -s "$TMP"/kills ]; then echo "# $(cat "$TMP"/kills)"; fi

# ------------------------------------------------------- with a run at once

# wait_stopped PID: until the process is stopped (SIGSTOP at a failpoint)
wait_stopped() {
	i=0
	while [ "$(awk '{ print $3 }' /proc/"$1"/stat 2>/dev/null)" != T ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || fail "process $1 never stopped"
		sleep 0.05
	done
}

run_during() {
	fresh
	make_stream rd g 10
	crash_consumer rd g dead
	XRECOVER_FAILPOINT=archive-copied:stop "$XR" --db "$TMP"/k/j.db -q archive \
		--before "$FUTURE" >"$TMP"/aout 2>&1 &
	pid=$!
	wait_stopped $pid
	# the archive has copied, without the lock: a run goes through
	"$XR" -r "$REDIS_URL" --db "$TMP"/k/j.db --lock-timeout 2s -q run -s rd --claim-idle 0 \
		2>"$TMP"/err || fail "a run during the archive failed: $(cat "$TMP"/err)"
	r=$(sql "select max(run) from runs" "$TMP"/k/j.db)
	kill -CONT $pid
	wait $pid || fail "archive: $(cat "$TMP"/aout)"
	# the run's events were taken along into the new journal
	assert_eq "$r|ok" "$(sql "select run || '|' || status from runs" "$TMP"/k/j.db)"
	assert_eq 10 "$(sql "select count(*) from claimed_messages" "$TMP"/k/j.db)"
	"$XR" --db "$TMP"/k/j.db verify >/dev/null

	# a run that opened the journal and waits for the lock the archive's last step holds
	fresh
	make_stream rw g 10
	crash_consumer rw g dead
	XRECOVER_FAILPOINT=archive-locked:stop "$XR" --db "$TMP"/k/j.db -q archive \
		--before "$FUTURE" >"$TMP"/aout 2>&1 &
	pid=$!
	wait_stopped $pid
	"$XR" -r "$REDIS_URL" --db "$TMP"/k/j.db -q run -s rw --claim-idle 0 2>"$TMP"/err &
	rpid=$!
	sleep 0.5
	kill -CONT $pid
	wait $pid || fail "archive: $(cat "$TMP"/aout)"
	wait $rpid || fail "the run waiting for the lock failed: $(cat "$TMP"/err)"
	# it wrote into the new journal, not the old file the archive replaced
	assert_eq "ok" "$(sql "select status from runs" "$TMP"/k/j.db)"
	assert_eq 10 "$(sql "select count(*) from claimed_messages where stream = 'rw'" "$TMP"/k/j.db)"
	"$XR" --db "$TMP"/k/j.db verify >/dev/null
}
test_case 'a run during an archive succeeds; a run waiting for its lock writes to the new journal' run_during

# ------------------------------------------------------------ retention

retention() {
	d=$TMP/ret/j.db
	mkdir -p "$TMP"/ret
	make_stream rt g 20
	crash_consumer rt g dead
	printf '{"archive_after": "1s"}\n' >"$TMP"/ret.json
	"$XR" -c "$TMP"/ret.json -r "$REDIS_URL" --db "$d" -q run -s rt --claim-idle 0 \
		--action dead-letter 2>/dev/null
	# nothing was older than a second then; the attempt counts for the day
	assert_eq 0 "$(sql "select count(*) from archives" "$d")"
	touch -d '25 hours ago' "$d".archive.lock
	sleep 1.1
	"$XR" -c "$TMP"/ret.json -r "$REDIS_URL" --db "$d" -q run -s rt 2>/dev/null
	assert_eq 1 "$(sql "select count(*) from archives" "$d")" "archives after the second run"
	assert_eq 0 "$(sql "select count(*) from events where run = 1" "$d")"
	# once a day: the next runs do not archive, though run 2 is older than a second now
	sleep 1.1
	"$XR" -c "$TMP"/ret.json -r "$REDIS_URL" --db "$d" -q run -s rt 2>/dev/null
	assert_eq 1 "$(sql "select count(*) from archives" "$d")" "archives after the third run"
	# a day later it is due again
	touch -d '25 hours ago' "$d".archive.lock
	"$XR" -c "$TMP"/ret.json -r "$REDIS_URL" --db "$d" -q run -s rt 2>/dev/null
	assert_eq 2 "$(sql "select count(*) from archives" "$d")" "archives a day later"
	"$XR" --db "$d" verify >"$TMP"/out
	assert_grep 'and its 2 archives' "$TMP"/out
	# the flag, without the config: a day has not passed
	"$XR" -r "$REDIS_URL" --db "$d" -q run -s rt --archive-after 1s 2>/dev/null
	assert_eq 2 "$(sql "select count(*) from archives" "$d")"
}
test_case 'retention: run archives events older than archive_after, at most once a day' retention

# ------------------------------------------------------------- counters

# counters OLD NEW same|more: every counter series of NEW equals OLD's
# (same), or none is smaller and OLD's are all there (more)
counters() {
	python3 - "$@" "$TMP" <<'PY'
import sys
sys.path.insert(0, sys.argv[4])
from promtext import parse, die
old, new = parse(sys.argv[1]), parse(sys.argv[2])
def series(f):
    return {(n, k): v for n, x in f.items() if x.get('type') == 'counter' for k, v in x['samples']}
a, b = series(old), series(new)
for k in set(a) | set(b):
    if sys.argv[3] == 'same' and a.get(k) != b.get(k):
        die('%r: %s before, %s after' % (k, a.get(k), b.get(k)))
    if sys.argv[3] == 'more' and (k not in b or a.get(k, 0) > b[k]):
        die('%r went from %s to %s' % (k, a.get(k), b.get(k)))
print(len(a))
PY
}

# pget FILE NAME [STREAM GROUP]: one value of the metrics file
pget() {
	python3 "$TMP"/promtext.py get "$@"
}

# quiet FILE: a run that changes no counter writes the metrics file
quiet() {
	"$XR" -r "$REDIS_URL" --db "$TMP"/ct/j.db -q run -s cb --claim-idle 1h --no-clean \
		--metrics-file "$1" 2>/dev/null
}

archive_counters() {
	prom_parser
	d=$TMP/ct/j.db
	mkdir -p "$TMP"/ct
	# shellcheck disable=SC2046 # "PID PORT", two words
	set -- $(start_receiver "$TMP"/ct/r)
	REDIS_PIDS="$REDIS_PIDS $1"
	printf '200\n404\n' >"$TMP"/ct/r/answers
	printf '{"webhooks": [{"name": "a", "format": "json", "url": "http://127.0.0.1:%s/a"},
		{"name": "b", "format": "json", "url": "http://127.0.0.1:%s/b"}]}\n' "$2" "$2" \
		>"$TMP"/ct/c.json
	# claims redelivered and settled (dead, then the reader, deleted), an alert sent and one failed
	make_stream ca g 12
	crash_consumer ca g dead
	"$XR" -c "$TMP"/ct/c.json -r "$REDIS_URL" --db "$d" -q run -s ca --claim-idle 0 \
		--zombie-idle 0 --action redeliver 2>/dev/null
	"$XRTEST" worker "$REDIS_URL" ca g reader 1 >/dev/null
	# dead letters, a lost entry
	make_stream cb g 6
	crash_consumer cb g dead
	rcli XDEL cb "$(rcli --raw XRANGE cb - + COUNT 1 | head -n 1)" >/dev/null
	"$XR" -r "$REDIS_URL" --db "$d" -q run -s ca -s cb --claim-idle 0 --zombie-idle 0 \
		--action dead-letter 2>/dev/null
	assert_eq "settled" "$(sql "select status from replays" "$d")"
	quiet "$TMP"/ct/m1
	for f in claimed_total:ca:12 redelivered_total:ca:12 deleted_consumers_total:ca:2 \
		dead_lettered_total:cb:5 lost_total:cb:1; do
		assert_eq "${f##*:}" "$(pget "$TMP"/ct/m1 "xrecover_${f%%:*}" \
			"$(echo "$f" | cut -d: -f2)" g)" "$f"
	done
	assert_eq 1 "$(pget "$TMP"/ct/m1 xrecover_alerts_sent_total)"
	assert_eq 1 "$(pget "$TMP"/ct/m1 xrecover_alerts_failed_total)"
	# every event moves out: the live journal counts nothing
	"$XR" --db "$d" -q archive --before "$FUTURE" >/dev/null
	assert_eq 0 "$(sql "select count(*) from events where kind in ('claim', 'lost',
		'dead_lettered', 'consumer_deleted', 'replay_copies', 'replay_copy', 'alert')" "$d")"
	quiet "$TMP"/ct/m2
	n=$(counters "$TMP"/ct/m1 "$TMP"/ct/m2 same) || fail "the counters changed with the archive"
	echo "after the archive: $n counter series as before"
	# a run after it only adds
	make_stream cd g 11
	crash_consumer cd g dead
	"$XR" -c "$TMP"/ct/c.json -r "$REDIS_URL" --db "$d" -q run -s cd --claim-idle 0 \
		--zombie-idle 0 --action dead-letter --metrics-file "$TMP"/ct/m3 2>/dev/null
	counters "$TMP"/ct/m2 "$TMP"/ct/m3 more >/dev/null
	assert_eq 11 "$(pget "$TMP"/ct/m3 xrecover_claimed_total cd g)"
	assert_eq 12 "$(pget "$TMP"/ct/m3 xrecover_claimed_total ca g)"
	[ "$(pget "$TMP"/ct/m3 xrecover_alerts_failed_total)" -gt 1 ] ||
		fail "the second run's alert did not fail"
	# a second archive holds the first one's totals with its own: nothing goes back
	"$XR" --db "$d" -q archive --before "$FUTURE" >/dev/null
	assert_eq 2 "$(sql "select count(*) from archives" "$d")"
	quiet "$TMP"/ct/m4
	n=$(counters "$TMP"/ct/m3 "$TMP"/ct/m4 same) || fail "the counters changed with the second archive"
	echo "after the second archive: $n counter series as before"
	# the archive file holds the first archive's totals, the live journal both
	a=$(dirname "$d")/$(sql "select file from archives order by last_seq desc limit 1" "$d")
	assert_eq 1 "$(sql "select count(distinct last_seq) from archive_totals" "$a")"
	assert_eq 2 "$(sql "select count(distinct last_seq) from archive_totals" "$d")"
}
test_case 'counters never go back across archives: the archived totals are added' archive_counters

# ------------------------------------------------------------------ report

# xp ARGS: xrecover on the report journal
xp() {
	"$XR" -r "$REDIS_URL" --db "$TMP"/rp/j.db "$@"
}

# report_same BEFORE AFTER HEAD_SEQ: the two daily report JSONs are equal
# but for the chain of the day, which after the archive goes on to the
# archived event appended today: its last event HEAD_SEQ, and as many more
# events checked, its head (in the verdict too)
report_same() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
b, a = (json.load(open(f)) for f in sys.argv[1:3])
assert a["last_event"] == int(sys.argv[3]), (a["last_event"], sys.argv[3])
assert a["events"] - b["events"] == a["last_event"] - b["last_event"] > 0, (a, b)
old = "%d events checked; head %s" % (b["events"], b["head"])
new = "%d events checked; head %s" % (a["events"], a["head"])
for line in b["verdict"]["lines"]:
    line["text"] = line["text"].replace(old, new)
for k in ("events", "last_event", "head"):
    b[k] = a[k]
assert a == b, [(k, b.get(k), a.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)]
assert a["archives_unread"] == [] and a["verify"] == "whole" and a["runs"] == 3, a
PY
}

report_span() {
	mkdir -p "$TMP"/rp
	# runs, claims, an incident, a replay read and settled, dead letters
	make_stream rp g 30
	crash_consumer rp g dead
	xp -q run -s rp --claim-idle 0 2>/dev/null
	xp -q replay --run 1 >/dev/null
	"$XRTEST" worker "$REDIS_URL" rp g reader 1 >/dev/null
	xp -q run -s rp --claim-idle 1h 2>/dev/null
	make_stream rq g 10
	crash_consumer rq g dead
	xp -q run -s rq --claim-idle 0 --action dead-letter 2>/dev/null
	assert_eq "settled" "$(sql "select status from replays" "$TMP"/rp/j.db)"
	inc=$(sql "select min(incident) from incidents" "$TMP"/rp/j.db)
	[ -n "$inc" ] || fail "no incident"
	day=$(sql "select date(min(ts) / 1000, 'unixepoch') from events" "$TMP"/rp/j.db)
	assert_eq "$day" "$(sql "select date(max(ts) / 1000, 'unixepoch') from events" "$TMP"/rp/j.db)"
	for r in "--daily --date $day" "--run 1" "--run 3" "--incident $inc" "--incidents"; do
		# shellcheck disable=SC2086 # the options, split
		xp report $r --json >"$TMP"/rp/"$(echo "$r" | tr -d ' -')".before
	done
	xp -q archive --before "$FUTURE"
	l=$(sql "select last_seq from archives" "$TMP"/rp/j.db)
	a=$TMP/rp/$(sql "select file from archives" "$TMP"/rp/j.db)
	assert_eq 0 "$(sql "select count(*) from events where kind in ('run_start', 'claim')" "$TMP"/rp/j.db)"
	head=$(sql "select max(seq) from events" "$TMP"/rp/j.db)
	# the same reports from the archive and the live journal
	for r in "--daily --date $day" "--run 1" "--run 3" "--incident $inc" "--incidents"; do
		f=$TMP/rp/$(echo "$r" | tr -d ' -')
		# shellcheck disable=SC2086 # the options, split
		xp report $r --json >"$f".after 2>"$TMP"/err
		assert_eq "" "$(cat "$TMP"/err)" "report $r: stderr"
		case $r in
		--daily*) report_same "$f".before "$f".after "$head" ;;
		*) python3 - "$f".before "$f".after <<'PY'
import json, sys
b, a = (json.load(open(f)) for f in sys.argv[1:3])
assert a.pop("archives_unread") == [], a
b.pop("archives_unread")
assert a == b, (a, b)
PY
		;;
		esac
	done
	# text: the runs of the day as before
	xp report --daily --date "$day" >"$TMP"/out
	assert_grep "^Runs that did not end well: none" "$TMP"/out
	assert_grep "^ *Verdict: " "$TMP"/out
	# the chain of the day checked in both files: its head the live journal's
	assert_eq "$(sql "select lower(hex(hash)) from events where seq = $head" "$TMP"/rp/j.db)" \
		"$(grep -o '"head":"[0-9a-f]*"' "$TMP"/rp/daily*.after | cut -d'"' -f4)"
	# the archive gone: one line says so, the rest is shown; a run only it held is not found
	mv "$a" "$TMP"/rp/away.db
	line="archive '$a' is missing: its events 1 to $l are not read"
	xp report --daily --date "$day" >"$TMP"/out 2>"$TMP"/err
	assert_eq "$line" "$(cat "$TMP"/err)"
	assert_grep "^Runs +0$" "$TMP"/out
	xp report --daily --date "$day" --json >"$TMP"/out 2>"$TMP"/err
	assert_eq "" "$(cat "$TMP"/err)"
	python3 - "$TMP"/out "$line" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["archives_unread"] == [sys.argv[2]], r["archives_unread"]
assert r["runs"] == 0 and r["verify"] == "whole", r
PY
	assert_exit 6 xp report --run 1
	assert_eq "xrecover: there is no run 1 in the journal ($line)" "$(cat "$TMP"/err)"
	# not a journal: said the same way
	echo junk >"$a"
	xp report --daily --date "$day" >/dev/null 2>"$TMP"/err
	assert_grep "^archive '$a' cannot be read \\(.*\\): its events 1 to $l are not read\$" "$TMP"/err
	mv "$TMP"/rp/away.db "$a"
	xp verify >/dev/null
	# a newer archive missing between the older one and the journal: the day's
	# chain checked in the files read, and said whole
	crash_consumer rq g dead2
	xp -q run -s rq --claim-idle 0 --action dead-letter 2>/dev/null
	xp -q archive --before "$FUTURE"
	a2=$TMP/rp/$(sql "select file from archives order by last_seq desc limit 1" "$TMP"/rp/j.db)
	l2=$(sql "select max(last_seq) from archives" "$TMP"/rp/j.db)
	mv "$a2" "$TMP"/rp/away.db
	xp report --daily --date "$day" --json >"$TMP"/out
	python3 - "$TMP"/out "archive '$a2' is missing: its events $((l + 1)) to $l2 are not read" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["archives_unread"] == [sys.argv[2]], r["archives_unread"]
assert r["runs"] == 3 and r["verify"] == "whole", r
PY
	mv "$TMP"/rp/away.db "$a2"
	# more archives than are read at once (trace_many's journal): the newest read,
	# one line names the newest of the older ones, which --db reads
	d=$TMP/many/j.db
	if [ -f "$d" ]; then
		first=$(dirname "$d")/$(sql "select file from archives order by last_seq limit 1" "$d")
		l=$(sql "select min(last_seq) from archives" "$d")
		max=$(($(sql "select count(*) from archives" "$d") - 1))
		assert_exit 6 "$XR" --db "$d" report --run 1
		assert_eq "xrecover: there is no run 1 in the journal (the archives of events 1 to $l are not read: at most $max are read at once (with --db '$first', report reads the older ones))" \
			"$(cat "$TMP"/err)"
		"$XR" --db "$first" report --run 1 >"$TMP"/out
		assert_grep "^xrecover run 1" "$TMP"/out
		# run 2: read from the archive that holds it on, the older one not needed
		"$XR" --db "$d" report --run 2 --json >"$TMP"/out
		python3 - "$TMP"/out <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["title"] == "xrecover run 2" and r["status"] == "ok", r
assert r["archives_unread"] == [], r["archives_unread"]
PY
		# the day: every archive needed, the newest read, the older one said
		"$XR" --db "$d" report --daily --date "$(date -u +%Y-%m-%d)" >/dev/null 2>"$TMP"/err
		assert_eq "the archives of events 1 to $l are not read: at most $max are read at once (with --db '$first', report reads the older ones)" \
			"$(cat "$TMP"/err)"
	else
		echo "no journal of trace_many: the limit not checked"
	fi
}
test_case 'report reads the archives with the live journal: a day, a run, an incident archived report as before; an archive missing is one line' report_span

# replay reads the live journal only: a selection whose claims were archived
# says so, and how many, exit 6 as when nothing matches
replay_archived() {
	d=$TMP/ra/j.db
	mkdir -p "$TMP"/ra
	make_stream ra g 8
	crash_consumer ra g dead
	"$XR" -r "$REDIS_URL" --db "$d" -q run -s ra --claim-idle 0 --action dead-letter 2>/dev/null
	"$XR" --db "$d" -q archive --before "$FUTURE"
	l=$(sql "select last_seq from archives" "$d")
	a=$(dirname "$d")/$(sql "select file from archives" "$d")
	first=$(sql "select min(seq) from events where kind = 'claim'" "$a")
	last=$(sql "select max(seq) from events where kind = 'claim'" "$a")
	assert_eq 8 "$(sql "select count(*) from events where kind = 'claim' and run = 1" "$a")"
	[ "$last" -le "$l" ] || fail "claims after the archive's last event"
	for sel in "--run 1" "--dead-lettered" "--dead-lettered --run 1 --dry-run" "--stream ra"; do
		# shellcheck disable=SC2086 # the options, split
		assert_exit 6 "$XR" -r "$REDIS_URL" --db "$d" replay $sel
		assert_eq "xrecover: 8 matching events are in archives (events $first to $last): replay reads the live journal only" \
			"$(cat "$TMP"/err)" "replay $sel"
	done
	# one message of them
	id=$(sql "select entry_ms || '-' || entry_seq from events where seq = $first" "$a")
	assert_exit 6 "$XR" -r "$REDIS_URL" --db "$d" replay --message "ra/$id"
	assert_eq "xrecover: 1 matching event is in archives (events $first to $first): replay reads the live journal only" \
		"$(cat "$TMP"/err)"
	# what the archives do not hold either: as before
	assert_exit 6 "$XR" -r "$REDIS_URL" --db "$d" replay --run 2
	assert_eq "xrecover: no journalled entry matches the selection; nothing replayed" "$(cat "$TMP"/err)"
	# nothing was journalled by them
	assert_eq 0 "$(sql "select count(*) from events where kind like 'replay%'" "$d")"
}
test_case 'replay of archived claims: nothing replayed, and says they are in archives' replay_archived

test_done
