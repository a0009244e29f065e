#!/bin/sh
# t0002-journal: the journal file itself: created private, WAL, migrated by
# version, append-only, and proven writable before Redis is touched.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# The newest schema version: the number of the last schema/NNN_*.sql.
LATEST=$(printf '%s\n' "$TOP"/schema/[0-9][0-9][0-9]_*.sql | sed 's|.*/0*\([0-9]*\)_.*|\1|' | sort -n | tail -n 1)

mode_of() {
	stat -c %a "$1"
}

files_private() {
	make_stream f g 3
	crash_consumer f g d
	xr run -s f --claim-idle 0 2>/dev/null
	for f in "$DB" "$DB-wal" "$DB-shm" "$DB.intent" "$DB.lock"; do
		[ -e "$f" ] || continue
		assert_eq 600 "$(mode_of "$f")" "mode of $f"
	done
	assert_eq wal "$(sql 'PRAGMA journal_mode')"
	assert_eq "$LATEST" "$(sql 'PRAGMA user_version')"
	# a journal in a directory that does not exist yet: the directory is made, private
	"$XR" -r "$REDIS_URL" --db "$TMP"/new/dir/j.db run -s f 2>/dev/null
	assert_eq "700 700" "$(mode_of "$TMP"/new) $(mode_of "$TMP"/new/dir)"
	"$XR" -r "$REDIS_URL" --db "$TMP"/newdir/j.db run -s f 2>/dev/null
	assert_eq 700 "$(mode_of "$TMP"/newdir)"
	assert_eq 600 "$(mode_of "$TMP"/newdir/j.db)"
}
test_case 'journal files are created mode 0600, in WAL mode, at the schema version' files_private

append_only() {
	assert_exit 19 sqlite3 "$DB" "UPDATE events SET kind = 'x' WHERE seq = 1"
	assert_grep 'append-only' "$TMP"/err
	assert_exit 19 sqlite3 "$DB" "DELETE FROM events"
	assert_grep 'append-only' "$TMP"/err
	# nor can an event's hash be replaced
	assert_exit 19 sqlite3 "$DB" "UPDATE events SET hash = zeroblob(32) WHERE seq = 1"
	assert_grep 'append-only' "$TMP"/err
	[ "$(sql 'select count(*) from events')" -gt 0 ] || fail "events vanished"
}
test_case 'events cannot be updated or deleted, nor their hashes replaced' append_only

views() {
	sql "select run, started_at, ended_at, mode, status, claimed, deleted, lost, host, user, pid, version from runs order by run desc limit 1" >"$TMP"/run
	assert_grep '^[0-9]+\|20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z\|20[0-9-]{8}T[0-9:.]{12}Z\|TEST\|ok\|3\|0\|0\|.+\|.+\|[0-9]+\|[0-9.]+$' "$TMP"/run
	sql "select run, claimed_at, stream, grp, entry_id, entry_time, from_consumer, idle_ms, deliveries, payload, reconciled from claimed_messages where stream = 'f' limit 1" >"$TMP"/c
	assert_grep '^1\|20[0-9-]{8}T[0-9:.]{12}Z\|f\|g\|[0-9]+-[0-9]+\|20[0-9-]{8}T[0-9:.]{12}Z\|d\|[0-9]+\|1\|\{"i":"0"\}\|0$' "$TMP"/c
	# columns of the other views exist (they are documented)
	sql "select run, deleted_at, stream, grp, consumer, idle_ms, last_seen_at, inactive_ms, pending, reconciled from deleted_consumers limit 0"
	sql "select run, detected_at, stream, grp, entry_id, entry_time, last_consumer, idle_ms, deliveries, reason from lost_messages limit 0"
}
test_case 'the documented views and their columns' views

newer_refused() {
	cp "$DB" "$TMP"/newer.db
	sqlite3 "$TMP"/newer.db 'PRAGMA user_version = 99'
	make_stream nw g 2
	crash_consumer nw g d
	"$XRTEST" pel "$REDIS_URL" nw g >"$TMP"/before
	assert_exit 4 "$XR" -r "$REDIS_URL" --db "$TMP"/newer.db run -s nw --claim-idle 0
	assert_grep 'schema version 99, newer than this xrecover knows \('"$LATEST"'\)' "$TMP"/err
	assert_lines 1 "$TMP"/err
	"$XRTEST" pel "$REDIS_URL" nw g >"$TMP"/after
	cmp "$TMP"/before "$TMP"/after || fail "Redis was touched"
}
test_case 'a journal newer than the binary is refused, and Redis left alone' newer_refused

migrate_v1() {
	# a journal as the first schema made it, with a run in it
	{ cat "$TOP/schema/001_init.sql"; echo "
		PRAGMA user_version = 1;
		INSERT INTO events (ts, run, kind, detail) VALUES (1768644328000, 1, 'run_start', '{\"mode\":\"TEST\"}');
		INSERT INTO events (ts, run, kind, stream, grp, entry_ms, entry_seq, consumer, idle_ms, deliveries, payload)
		  VALUES (1768644328001, 1, 'claim', 'old', 'g', 1768644000000, 0, 'dead', 5000, 1, '{\"k\":\"v\"}');
		INSERT INTO events (ts, run, kind, detail) VALUES (1768644328002, 1, 'run_end', '{\"status\":\"ok\",\"claimed\":1}');"
	} | sqlite3 "$TMP"/v1.db
	make_stream mig g 2
	crash_consumer mig g d
	"$XR" -r "$REDIS_URL" --db "$TMP"/v1.db run -s mig --claim-idle 0 2>/dev/null
	assert_eq "$LATEST" "$(sql 'PRAGMA user_version' "$TMP"/v1.db)"
	# the old events were chained by the migration, the new ones after them
	"$XR" --db "$TMP"/v1.db verify >"$TMP"/verify || fail "verify after migration: exit $?"
	assert_grep '^journal whole: [0-9]* events' "$TMP"/verify
	assert_eq 0 "$(sql 'select count(*) from events where hash is null' "$TMP"/v1.db)"
	assert_eq "old|1768644000000-0|{\"k\":\"v\"} mig|2" "$(sql "select stream, entry_id, payload from claimed_messages where stream = 'old'; select stream, count(*) from claimed_messages where stream = 'mig'" "$TMP"/v1.db | tr '\n' ' ' | sed 's/ $//')"
	assert_eq "1|ok 2|ok" "$(sql "select run, status from runs" "$TMP"/v1.db | tr '\n' ' ' | sed 's/ $//')"
	sql "select batch, ref_stream, ref_ms from events limit 1" "$TMP"/v1.db >/dev/null
	sql "select * from replays, dead_letters, rollbacks limit 0" "$TMP"/v1.db
}
test_case 'a journal of schema version 1 is migrated in place, its events kept' migrate_v1

not_a_journal() {
	echo "this is not a database" >"$TMP"/junk.db
	assert_exit 4 "$XR" -r "$REDIS_URL" --db "$TMP"/junk.db run -s nw --claim-idle 0
	assert_grep "journal '.*junk.db'" "$TMP"/err
}
test_case 'a file that is not a journal is refused' not_a_journal

# unwritable_run DIR ARGS...: runs xrecover where DIR cannot be written:
# as nobody in a directory root owns (root writes anywhere), else in a
# read-only directory.  Leaves the exit code in $rc and removes DIR.
unwritable_run() {
	dir=$1
	shift
	chmod 755 "$dir"
	as=""
	if [ "$(id -u)" = 0 ]; then
		as="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	else
		chmod 555 "$dir"
	fi
	set +e
	$as "$XR" "$@" >"$TMP"/out 2>"$TMP"/err
	rc=$?
	set -e
	rm -rf "$dir"
}

readonly_dir() {
	make_stream ro g 20
	crash_consumer ro g dead
	rcli XGROUP CREATECONSUMER ro g idle >/dev/null
	"$XRTEST" pel "$REDIS_URL" ro g >"$TMP"/before
	rcli XINFO CONSUMERS ro g | grep -v -E '^[0-9]+$' >"$TMP"/cbefore
	dir=$(mktemp -d /tmp/xr-ro.XXXXXX)
	unwritable_run "$dir" -r "$REDIS_URL" --db "$dir"/journal.db run -s ro --claim-idle 0 --zombie-idle 0
	assert_eq 4 $rc "exit code"
	assert_grep "cannot create journal '.*journal.db': Permission denied" "$TMP"/err
	"$XRTEST" pel "$REDIS_URL" ro g >"$TMP"/after
	cmp "$TMP"/before "$TMP"/after || fail "the pending list changed"
	rcli XINFO CONSUMERS ro g | grep -v -E '^[0-9]+$' >"$TMP"/cafter
	cmp "$TMP"/cbefore "$TMP"/cafter || fail "consumers changed"
}
test_case 'a journal that cannot be written: exit 4, Redis untouched' readonly_dir

readonly_existing() {
	# an existing journal in a directory where the WAL cannot be created
	make_stream ro2 g 5
	crash_consumer ro2 g dead
	dir=$(mktemp -d /tmp/xr-ro.XXXXXX)
	# (a run of a stream that does not exist: it makes the journal, and exits 8)
	assert_exit 8 "$XR" -r "$REDIS_URL" --db "$dir"/journal.db run -s nosuch
	rm -f "$dir"/journal.db-wal "$dir"/journal.db-shm
	chmod 644 "$dir"/journal.db
	"$XRTEST" pel "$REDIS_URL" ro2 g >"$TMP"/before
	unwritable_run "$dir" -r "$REDIS_URL" --db "$dir"/journal.db run -s ro2 --claim-idle 0
	assert_eq 4 $rc "exit code"
	"$XRTEST" pel "$REDIS_URL" ro2 g >"$TMP"/after
	cmp "$TMP"/before "$TMP"/after || fail "the pending list changed"
}
test_case 'an existing journal that is read-only: exit 4, Redis untouched' readonly_existing

test_done
