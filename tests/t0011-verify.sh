#!/bin/sh
# t0011-verify: the journal is one hash chain; verify proves it whole or
# names the first event changed, deleted, inserted or moved, and --head
# proves that nothing was cut off.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# tamper SQL: a copy of the journal ($TMP/t.db), without its triggers, changed by SQL
tamper() {
	rm -f "$TMP"/t.db "$TMP"/t.db-wal "$TMP"/t.db-shm
	sqlite3 "$DB" ".backup $TMP/t.db"
	sqlite3 "$TMP"/t.db "DROP TRIGGER events_append_only_update;
		DROP TRIGGER events_append_only_delete; DROP TRIGGER events_hash_once; $1"
}

# verify_t [ARGS]: verify the tampered copy; its exit code in $rc, stderr in $TMP/err
verify_t() {
	rc=0
	"$XR" --db "$TMP"/t.db verify "$@" >"$TMP"/out 2>"$TMP"/err || rc=$?
}

json_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

whole() {
	make_stream v g 200
	crash_consumer v g dead
	xr run -s v --claim-idle 0 --json >"$TMP"/run.json 2>/dev/null
	head=$(json_field "$TMP"/run.json head)
	assert_eq 64 "${#head}" "run --json prints the head"
	xr verify >"$TMP"/out
	n=$(sql 'select count(*) from events')
	assert_grep "^journal whole: $n events, head $head \\(event $n\\)\$" "$TMP"/out
	# more kinds of events: a replay, its rollback, a dead letter
	xr -q replay --run 1 >/dev/null
	xr -q rollback 1 >/dev/null
	xr -q run -s v --claim-idle 0 --action dead-letter >/dev/null
	xr verify --json >"$TMP"/out
	assert_eq whole "$(json_field "$TMP"/out status)"
	assert_eq "$(sql 'select count(*) from events')" "$(json_field "$TMP"/out events)"
	assert_eq 0 "$(sql 'select count(*) from events where hash is null or length(hash) <> 32')"
	# the head run 1 printed is still in the chain, which has grown since
	xr verify --head "$head" >"$TMP"/out
	assert_grep "^head $head is event $n: nothing was cut off after it\$" "$TMP"/out
	echo "$head" >"$TMP"/head1
	# the chain is what docs/journal.md says, recomputed from that text alone
	python3 - "$DB" >"$TMP"/py <<'PY'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
cols = ("seq, ts, run, kind, stream, grp, entry_ms, entry_seq, consumer, idle_ms, deliveries,"
        " payload, detail, batch, ref_stream, ref_ms, ref_seq, incident")
prev, n, bad = bytes(32), 0, 0
for row in db.execute("SELECT " + cols + ", hash FROM events ORDER BY seq"):
    canon = bytearray(prev)
    for i, v in enumerate(row[:-1]):
        if v is None:
            if i < 17:
                canon += b"\0"
        elif isinstance(v, int):
            canon += b"\1" + struct.pack(">q", v)
        else:
            b = v.encode()
            canon += b"\2" + struct.pack(">Q", len(b)) + b
    h = hashlib.sha256(bytes(canon)).digest()
    bad += h != row[-1]
    prev, n = row[-1], n + 1
print("events=%d bad=%d head=%s" % (n, bad, prev.hex()))
PY
	xr verify --json >"$TMP"/v.json
	assert_eq "events=$(sql 'select count(*) from events') bad=0 head=$(json_field "$TMP"/v.json head)" "$(cat "$TMP"/py)"
}
test_case 'a journal of runs, replays, rollbacks and dead letters verifies; run --json prints the head' whole

index_changed() {
	# the journal of the case before has a replay of 200 copies
	assert_eq 200 "$(sql 'select count(*) from copied')"
	tamper "DROP TRIGGER copied_append_only_delete;
		DELETE FROM copied WHERE pos = 3"
	verify_t
	assert_eq 7 "$rc" "verify exit code"
	assert_grep 'its index of copies \(table copied\) was changed: 1 copies missing from it, 0 rows' "$TMP"/err
	tamper "INSERT INTO copied VALUES (1, 1, 'v', 'g', 1, 0, 1)"
	verify_t --json
	assert_eq 7 "$rc" "verify exit code"
	assert_eq index "$(json_field "$TMP"/out status)"
	assert_grep '0 copies missing from it, 1 rows in it that no event made' "$TMP"/err
}
test_case 'verify checks the index of copies against the events: a row taken out or put in is caught' index_changed

changed() {
	seq=$(sql "select min(seq) from events where kind = 'claim'")
	# one byte of one payload: a digit of field "i"
	tamper "UPDATE events SET payload = replace(payload, '\"i\":\"0\"', '\"i\":\"9\"') WHERE seq = $seq"
	assert_eq 1 "$(sqlite3 "$TMP"/t.db "select count(*) from events where seq = $seq and payload like '%\"i\":\"9\"%'")"
	verify_t
	assert_eq 7 "$rc" "exit code"
	assert_grep "journal broken at event $seq \\(claim v/g [0-9]+-0\\): it was changed after it was written" "$TMP"/err
	assert_lines 1 "$TMP"/err
	# another column: the consumer it was claimed from
	tamper "UPDATE events SET consumer = 'someone' WHERE seq = $((seq + 5))"
	verify_t
	assert_eq 7 "$rc"
	assert_grep "journal broken at event $((seq + 5)) .*changed" "$TMP"/err
}
test_case 'a changed payload byte, or a changed field, is caught and named' changed

deleted() {
	tamper "DELETE FROM events WHERE seq = 10"
	verify_t
	assert_eq 7 "$rc"
	assert_grep 'journal broken at event 11 \(.*\): event 10 before it was deleted$' "$TMP"/err
	tamper "DELETE FROM events WHERE seq BETWEEN 20 AND 24"
	verify_t
	assert_grep 'journal broken at event 25 \(.*\): events 20 to 24 before it were deleted$' "$TMP"/err
	# and the later ones renumbered to hide the gap
	tamper "DELETE FROM events WHERE seq = 30; UPDATE events SET seq = seq - 1 WHERE seq > 30"
	verify_t
	assert_eq 7 "$rc"
	assert_grep 'journal broken at event 30 \(.*\): the event before it was deleted and the later ones renumbered$' "$TMP"/err
	# the first event
	tamper "DELETE FROM events WHERE seq = 1"
	verify_t
	assert_grep 'journal broken at event 2 \(.*\): event 1 before it was deleted$' "$TMP"/err
}
test_case 'a deleted event is caught and named' deleted

inserted() {
	n=$(sql 'select max(seq) from events')
	# at the end, with a made-up hash, or none
	tamper "INSERT INTO events (ts, kind, stream, grp, hash) VALUES (1, 'claim', 'v', 'g', randomblob(32))"
	verify_t
	assert_eq 7 "$rc"
	assert_grep "journal broken at event $((n + 1)) \\(claim v/g\\): it was inserted" "$TMP"/err
	tamper "INSERT INTO events (ts, kind, stream) VALUES (1, 'claim', 'v')"
	verify_t
	assert_grep "journal broken at event $((n + 1)) \\(claim v\\): it has no hash" "$TMP"/err
	# in the middle, the later ones renumbered to make room
	tamper "UPDATE events SET seq = seq + 1000000 WHERE seq > 40;
		UPDATE events SET seq = seq - 999999 WHERE seq > 1000000;
		INSERT INTO events (seq, ts, kind, stream, grp, hash) VALUES (41, 1, 'lost', 'v', 'g', randomblob(32))"
	verify_t
	assert_eq 7 "$rc"
	assert_grep 'journal broken at event 41 \(lost v/g\): it was inserted' "$TMP"/err
}
test_case 'an inserted event is caught and named' inserted

swapped() {
	swap="UPDATE events SET seq = 1000000 WHERE seq = @A; UPDATE events SET seq = @A WHERE seq = @B;
		UPDATE events SET seq = @B WHERE seq = 1000000"
	tamper "$(echo "$swap" | sed 's/@A/50/g; s/@B/90/g')"
	verify_t
	assert_eq 7 "$rc"
	assert_grep 'journal broken at event 50 \(.*\): it was moved \(it was written as event 90\)$' "$TMP"/err
	tamper "$(echo "$swap" | sed 's/@A/60/g; s/@B/61/g')"
	verify_t
	assert_grep 'journal broken at event 60 \(.*\): it was moved \(it was written as event 61\)$' "$TMP"/err
}
test_case 'two events swapped are caught and named' swapped

truncated() {
	head=$(cat "$TMP"/head1)
	n=$(sql 'select max(seq) from events')
	# the newest events cut off: the chain alone is whole, the head kept elsewhere is not in it
	tamper "DELETE FROM events WHERE seq > $((n - 30))"
	verify_t
	assert_eq 0 "$rc" "a cut chain is still a chain"
	now=$(sql "select max(seq) from events" "$TMP"/t.db)
	verify_t --head "$(xr verify --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])')"
	assert_eq 7 "$rc"
	assert_grep "the head given is not in the journal: events after it were cut off.*event $now\\)\$" "$TMP"/err
	# an earlier head that is still there proves everything up to it
	verify_t --head "$head"
	assert_eq 0 "$rc"
	verify_t --head 1234
	assert_eq 2 "$rc"
	assert_grep "^xrecover: --head: '1234' is not a journal head \\(64 hex digits\\)\$" "$TMP"/err
}
test_case 'a journal cut short is caught with --head; a bad --head is a usage error' truncated

big() {
	DB=$TMP/big.db
	"$XRTEST" fill "$REDIS_URL" big 100000 --size 100 >/dev/null
	rcli XGROUP CREATE big g 0 >/dev/null
	crash_consumer big g dead
	xr -q run -s big --claim-idle 0 --no-clean
	n=$(sql 'select count(*) from events')
	[ "$n" -ge 100000 ] || fail "only $n events"
	xr verify >"$TMP"/out
	assert_grep "^journal whole: $n events" "$TMP"/out
	# and the 50,000th of them changed is found, whichever half of the walk it is in
	tamper "UPDATE events SET idle_ms = idle_ms + 1 WHERE seq = 50000"
	verify_t
	assert_eq 7 "$rc"
	assert_grep 'journal broken at event 50000 ' "$TMP"/err
	tamper "UPDATE events SET idle_ms = idle_ms + 1 WHERE seq = 99000"
	verify_t
	assert_grep 'journal broken at event 99000 ' "$TMP"/err
}
test_case 'an untouched journal of 100,000 events verifies; a change anywhere in it is found' big

migrated() {
	# a journal made before the chain: the migration chains it, verify then passes
	DB=$TMP/old.db
	{ cat "$TOP/schema/001_init.sql" "$TOP/schema/002_moves.sql"; echo "
		PRAGMA user_version = 2;
		INSERT INTO events (ts, run, kind, detail) VALUES (1768644328000, 1, 'run_start', '{}');
		INSERT INTO events (ts, run, kind, detail) VALUES (1768644328002, 1, 'run_end', '{\"status\":\"ok\"}');"
	} | sqlite3 "$DB"
	assert_exit 4 "$XR" --db "$DB" verify
	assert_grep 'needs migrating' "$TMP"/err
	make_stream m g 3
	crash_consumer m g dead
	xr -q run -s m --claim-idle 0
	xr verify >"$TMP"/out
	# 2 events from before, run_start, incident_opened, 3 claims, run_end, and
	# the alert that no run came for months (rule silent)
	assert_grep '^journal whole: 9 events' "$TMP"/out
}
test_case 'a journal from before the chain is chained by its migration' migrated

test_done
