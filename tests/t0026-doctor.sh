#!/bin/sh
# t0026-doctor: doctor passes on a good setup without changing or sending
# anything, and each broken piece (Redis down, a bad config, a locked
# journal, a broken chain, a webhook receiver down) is a failing line that
# names it, with exit 1.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# shellcheck disable=SC2046 # "PID PORT"
set -- $(start_receiver "$TMP"/r)
RPID=$1 RPORT=$2
TOKEN=T0k3nS3cr3tPath
DOWN=$(free_port)
export RPID RPORT TOKEN DOWN

# config FILE URL: a config with one webhook at URL
config() {
	printf '{"webhooks": [{"name": "ops", "format": "json", "url": "%s"}]}\n' "$2" >"$1"
	chmod 600 "$1"
}

# line NAME STATUS FILE: doctor's line for check NAME has STATUS
line() {
	assert_grep "^$2 +$1: " "$3"
}

good() {
	make_stream s g 3
	crash_consumer s g dead
	xr -q run -s s --claim-idle 0
	config "$TMP"/c.json "http://127.0.0.1:$RPORT/hooks/$TOKEN/x"
	cp "$DB" "$TMP"/before.db
	assert_exit 0 xr -c "$TMP"/c.json doctor -s s
	cat "$TMP"/out
	line config ok "$TMP"/out
	line redis ok "$TMP"/out
	assert_grep "^(ok|warning) +redis version: [0-9]+\\.[0-9]+\\.[0-9]+: " "$TMP"/out
	assert_grep "^ok +redis permissions: user 'default' may run every command xrecover sends \\(19, checked by ACL DRYRUN on 's'\\)" "$TMP"/out
	line "journal schema" ok "$TMP"/out
	assert_grep "^ok +journal chain: journal whole: [0-9]+ events" "$TMP"/out
	assert_grep "^ok +journal size: [0-9]+ bytes; [1-9][0-9]* events in the last day, [1-9][0-9]* in the last week\$" "$TMP"/out
	line lock ok "$TMP"/out
	assert_grep "^ok +webhook ops: http://127.0.0.1:$RPORT/hooks/\\*\\*\\* answers \\(connected in [0-9]+ms; nothing sent\\)" "$TMP"/out
	assert_grep "^(ok|skipped) +timer: " "$TMP"/out
	assert_no_grep "$TOKEN" "$TMP"/out
	assert_no_grep "^FAIL" "$TMP"/out
	# nothing was sent to the receiver, nothing written to the journal
	[ ! -e "$TMP"/r/req.1.method ] || fail "a request reached the receiver"
	assert_eq "$(sql "select count(*), max(seq) from events" "$TMP"/before.db)" "$(sql "select count(*), max(seq) from events")" "journal"
	# --json: the same checks as a list
	assert_exit 0 xr -c "$TMP"/c.json doctor -s s --json
	assert_grep '^\{"status":"ok","checks":\[\{"name":"config","status":"ok",' "$TMP"/out
	assert_grep '"name":"lock","status":"ok","what":"free","fix":null' "$TMP"/out
}
test_case 'a good setup: every check ok (or skipped/warning), nothing sent, nothing written' good

redis_down() {
	assert_exit 1 "$XR" -r "redis://127.0.0.1:$DOWN" --db "$DB" doctor
	cat "$TMP"/out
	assert_grep "^FAIL +redis: cannot connect to redis at 127.0.0.1:$DOWN.*refused -- start Redis" "$TMP"/out
	line "redis permissions" skipped "$TMP"/out
	line lock ok "$TMP"/out
}
test_case 'Redis down: a failing redis line, exit 1' redis_down

bad_config() {
	printf '{"streams": ["s"],\n "batch": "many"}\n' >"$TMP"/bad.json
	assert_exit 1 xr -c "$TMP"/bad.json doctor
	cat "$TMP"/out
	assert_grep "^FAIL +config: .*bad.json.*batch.* -- correct the file" "$TMP"/out
	assert_lines 1 "$TMP"/out
	assert_exit 1 xr -c "$TMP"/bad.json doctor --json
	assert_grep '^\{"status":"failed","checks":\[\{"name":"config","status":"FAIL",.*"exit_code":1\}$' "$TMP"/out
}
test_case 'a bad config: a failing config line naming the problem, exit 1' bad_config

locked() {
	hold_lock "$DB.lock" 3
	assert_exit 1 xr doctor
	wait "$HOLDER"
	cat "$TMP"/out
	assert_grep "^FAIL +lock: journal '.*' is locked by another xrecover( \\(pid [0-9]+\\))?; gave up after 0ms -- wait for it to end" "$TMP"/out
	line "journal chain" ok "$TMP"/out
	# once it is free, the lock is ok again, and doctor did not keep it
	assert_exit 0 xr doctor
	line lock ok "$TMP"/out
	assert_exit 0 xr -q run -s s --lock-timeout 0
}
test_case 'a locked journal: a failing lock line, exit 1' locked

broken() {
	cp "$DB" "$TMP"/t.db
	sqlite3 "$TMP"/t.db "DROP TRIGGER events_append_only_update; DROP TRIGGER events_hash_once;
		UPDATE events SET consumer = 'someone' WHERE seq = 2"
	assert_exit 1 "$XR" -r "$REDIS_URL" --db "$TMP"/t.db doctor
	cat "$TMP"/out
	assert_grep "^FAIL +journal chain: .*event 2.* -- see 'xrecover verify'" "$TMP"/out
}
test_case 'a broken chain: a failing journal chain line, exit 1' broken

hook_down() {
	config "$TMP"/d.json "http://127.0.0.1:$DOWN/hooks/$TOKEN/x"
	assert_exit 1 xr -c "$TMP"/d.json doctor
	cat "$TMP"/out
	assert_grep "^FAIL +webhook ops: http://127.0.0.1:$DOWN/hooks/\\*\\*\\*: .* -- start the receiver" "$TMP"/out
	assert_no_grep "$TOKEN" "$TMP"/out
	kill "$RPID"
}
test_case 'a webhook receiver down: a failing webhook line (URL redacted), exit 1' hook_down

test_done
