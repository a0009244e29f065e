#!/bin/sh
# t0003-claim: `run` claims stale pending entries into the recovery consumer
# and journals each one with its payload, byte for byte.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

claimed() {     # claimed STREAM [EXTRA SQL CONDITION]: rows in claimed_messages
	sql "select count(*) from claimed_messages where stream = '$1' ${2:+and $2}"
}

drain_10000() {
	"$XRTEST" fill "$REDIS_URL" big 10000 --mixed --big 4321 --size 30 >/dev/null
	rcli XGROUP CREATE big g 0 >/dev/null
	crash_consumer big g dead
	xr run -s big --claim-idle 0 --batch 97 2>"$TMP"/log
	"$XRTEST" verify "$REDIS_URL" "$DB" big g >"$TMP"/v
	assert_grep "^checked=10000 mismatched=0 gone=0 duplicated=0 held=10000 unjournalled=0$" "$TMP"/v
	assert_eq 10000 "$(claimed big "from_consumer = 'dead' and deliveries = 1")"
	assert_grep "\[RECOVER\] XCLAIM claimed=10000 stream=big group=g consumer=xrecover idle_threshold=0ms" "$TMP"/log
	# the 1 MB value is kept whole (as base64: it is not UTF-8)
	n=$(sql "select length(payload) from claimed_messages where stream = 'big' and json_extract(payload, '\$.i') = '4321'")
	[ "$n" -gt 1398000 ] || fail "the 1 MB payload is stored in $n bytes"
}
test_case '10,000 entries drained; every payload byte-exact (NUL, invalid UTF-8, 1 MB)' drain_10000

json_view() {
	# NUL bytes are \u0000 escapes in readable JSON
	assert_eq 'nul\u00001\u0000end' "$(sql "select substr(payload, instr(payload, 'nul'), 19) from claimed_messages where stream = 'big' and json_extract(payload, '\$.i') = '1'")"
	# a value that is not UTF-8 is {"base64": ...}
	assert_eq "//79MoA=" "$(sql "select json_extract(payload, '\$.v.base64') from claimed_messages where stream = 'big' and json_extract(payload, '\$.i') = '2'")"
	# a field name that is not UTF-8 turns the payload into a JSON list
	assert_eq array "$(sql "select json_type(payload) from claimed_messages where stream = 'big' and payload like '[%' limit 1")"
	# a repeated field keeps both values, in order
	sql "select payload from claimed_messages where stream = 'big' and json_extract(payload, '\$.i') = '4'" >"$TMP"/p
	assert_grep '"a":"1","a":"2"' "$TMP"/p
	# unicode stays readable
	sql "select payload from claimed_messages where stream = 'big' and json_extract(payload, '\$.i') = '5'" >"$TMP"/p
	assert_grep 'é中😀 5' "$TMP"/p
}
test_case 'payloads read as JSON in the sqlite3 shell' json_view

delivery_counts() {
	make_stream dc g 6
	crash_consumer dc g first 6
	# three entries get a history: delivered 5 times, now on "second"
	ids=$(rcli --raw XRANGE dc - + COUNT 3 | grep -E '^[0-9]+-[0-9]+$' | tr '\n' ' ')
	# shellcheck disable=SC2086 # $ids: one argument per ID
	rcli XCLAIM dc g second 0 $ids RETRYCOUNT 5 JUSTID >/dev/null
	sleep 0.2
	xr run -s dc --claim-idle 100ms --no-clean 2>/dev/null
	"$XRTEST" pel "$REDIS_URL" dc g >"$TMP"/pel
	assert_eq 6 "$(grep -c ' xrecover ' "$TMP"/pel)"
	assert_eq 3 "$(grep -c ' 5$' "$TMP"/pel)"
	assert_eq 3 "$(grep -c ' 1$' "$TMP"/pel)"
	assert_eq "first|1|3 second|5|3" "$(sql "select from_consumer, deliveries, count(*) from claimed_messages where stream = 'dc' group by 1, 2" | tr '\n' ' ' | sed 's/ $//')"
	assert_eq 0 "$(claimed dc "(idle_ms < 100 or claimed_at is null or entry_time is null)")"
}
test_case 'a claim keeps the delivery count; the journal has count, owner and idle from before' delivery_counts

three_runs() {
	make_stream rep g 500
	crash_consumer rep g dead
	xr run -s rep --claim-idle 0 2>/dev/null
	"$XRTEST" pel "$REDIS_URL" rep g >"$TMP"/pel1
	n1=$(sql "select count(*) from events where stream = 'rep'")
	xr run -s rep --claim-idle 0 2>/dev/null
	xr run -s rep --claim-idle 0 2>"$TMP"/log3
	"$XRTEST" pel "$REDIS_URL" rep g >"$TMP"/pel3
	cmp "$TMP"/pel1 "$TMP"/pel3 || fail "pending entries changed"
	assert_eq "$n1" "$(sql "select count(*) from events where stream = 'rep'")"
	assert_eq 500 "$(claimed rep)"
	assert_grep 'claimed=0 deleted=0' "$TMP"/log3
}
test_case 'three runs in a row: delivery counts and the journal stay as after the first' three_runs

claim_idle() {
	make_stream idle g 20
	crash_consumer idle g old 10
	# old's entries read a minute ago: far from the threshold either way
	age_pending idle g old 60000
	crash_consumer idle g fresh 10
	xr run -s idle --claim-idle 30s --no-clean 2>/dev/null
	assert_eq "old|10" "$(sql "select from_consumer, count(*) from claimed_messages where stream = 'idle' group by 1")"
	assert_eq 10 "$(rcli XPENDING idle g - + 100 fresh | grep -c fresh)"
}
test_case 'only entries idle at least --claim-idle are claimed' claim_idle

exclude() {
	make_stream ex g 30
	crash_consumer ex g svc-1 10
	crash_consumer ex g dead-2 10
	rcli XGROUP CREATECONSUMER ex g svc-idle >/dev/null
	xr run -s ex --claim-idle 0 --zombie-idle 0 --exclude-consumer 'svc-*' 2>/dev/null
	assert_eq "dead-2|10" "$(sql "select from_consumer, count(*) from claimed_messages where stream = 'ex' group by 1")"
	assert_eq 10 "$(rcli XPENDING ex g - + 100 svc-1 | grep -c svc-1)"
	rcli XINFO CONSUMERS ex g >"$TMP"/c
	assert_grep '^svc-idle$' "$TMP"/c
	assert_grep '^svc-1$' "$TMP"/c
	assert_no_grep '^dead-2$' "$TMP"/c
}
test_case '--exclude-consumer: never claimed from, never deleted' exclude

deleted_entries() {
	make_stream del g 1000
	crash_consumer del g dead
	"$XRTEST" xdel "$REDIS_URL" del 100 800 >/dev/null
	xr run -s del --claim-idle 0 --batch 50 2>"$TMP"/log
	assert_eq 200 "$(claimed del)"
	assert_eq 800 "$(sql "select count(*) from lost_messages where stream = 'del' and last_consumer = 'dead' and deliveries = 1 and reason like 'deleted from the stream%'")"
	# every entry that was pending is accounted for, once
	assert_eq 1000 "$(sql "select count(distinct entry_id) from (select entry_id from claimed_messages where stream = 'del' union all select entry_id from lost_messages where stream = 'del')")"
	assert_eq 1000 "$(sql "select count(*) from events where stream = 'del' and kind in ('claim', 'lost')")"
	# nothing deleted is left dangling in the pending list
	assert_eq 200 "$(rcli XPENDING del g | head -n 1)"
	assert_grep '\[LOST\] entry=[0-9]+-[0-9]+ stream=del group=g consumer=dead' "$TMP"/log
	assert_grep '\[SUMMARY\] run=[0-9]+ mode=TEST claimed=200 deleted=[0-9]+ lost=800' "$TMP"/log
}
test_case 'entries deleted from the stream are journalled as lost, whole pages of them too' deleted_entries

cursor_moves() {
	make_stream mix g 300
	crash_consumer mix g a 100
	xr run -s mix --claim-idle 0 --no-clean 2>/dev/null
	crash_consumer mix g b 100
	age_pending mix g b 60000
	crash_consumer mix g c 100
	xr -v run -s mix --claim-idle 30s --batch 10 --no-clean 2>"$TMP"/log
	assert_eq "a|100 b|100" "$(sql "select from_consumer, count(*) from claimed_messages where stream = 'mix' group by 1" | tr '\n' ' ' | sed 's/ $//')"
	assert_grep '\[CLAIM\] stream=mix group=g listed=300 planned=100 held=100 excluded=0 young=100' "$TMP"/log
}
test_case 'pages of held or too young entries do not stop the drain' cursor_moves

dry_run() {
	make_stream dry g 40
	crash_consumer dry g dead
	rcli XGROUP CREATECONSUMER dry g idle-one >/dev/null
	"$XRTEST" pel "$REDIS_URL" dry g >"$TMP"/before
	rcli XINFO CONSUMERS dry g | grep -v -E '^[0-9]+$' >"$TMP"/cbefore
	"$XR" -r "$REDIS_URL" --db "$TMP"/dry.db run -s dry --claim-idle 0 --zombie-idle 0 --dry-run 2>"$TMP"/log
	[ ! -e "$TMP"/dry.db ] || fail "a dry run created the journal"
	"$XRTEST" pel "$REDIS_URL" dry g >"$TMP"/after
	cmp "$TMP"/before "$TMP"/after || fail "the pending list changed"
	rcli XINFO CONSUMERS dry g | grep -v -E '^[0-9]+$' >"$TMP"/cafter
	cmp "$TMP"/cbefore "$TMP"/cafter || fail "consumers changed"
	assert_grep '\[RECOVER\] DRY-RUN would_claim=40 stream=dry group=g' "$TMP"/log
	assert_grep '\[CLEAN\] DRY-RUN would_delete_consumer=idle-one' "$TMP"/log
	assert_grep '\[SUMMARY\] DRY-RUN mode=TEST would_claim=40 would_delete=1' "$TMP"/log
}
test_case '--dry-run changes nothing anywhere and says what it would do' dry_run

no_claim_no_clean() {
	make_stream nc g 10
	crash_consumer nc g dead
	rcli XGROUP CREATECONSUMER nc g gone >/dev/null
	xr run -s nc --claim-idle 0 --zombie-idle 0 --no-clean 2>/dev/null
	assert_eq 10 "$(claimed nc)"
	assert_eq 0 "$(sql "select count(*) from deleted_consumers where stream = 'nc'")"
	make_stream nc2 g 10
	crash_consumer nc2 g dead
	rcli XGROUP CREATECONSUMER nc2 g gone >/dev/null
	xr run -s nc2 --claim-idle 0 --zombie-idle 0 --no-claim 2>/dev/null
	assert_eq 0 "$(claimed nc2)"
	assert_eq gone "$(sql "select consumer from deleted_consumers where stream = 'nc2'")"
	assert_eq 10 "$(rcli XPENDING nc2 g - + 100 dead | grep -c dead)"
}
test_case '--no-claim only cleans, --no-clean only claims' no_claim_no_clean

match_glob() {
	make_stream orders:1 g 5
	make_stream orders:2 g 5
	rcli XGROUP CREATE orders:2 other 0 >/dev/null
	make_stream invoices g 5
	rcli SET orders:str x >/dev/null
	crash_consumer orders:1 g d
	crash_consumer orders:2 g d
	crash_consumer orders:2 other d
	crash_consumer invoices g d
	xr run --match 'orders:*' -g g --claim-idle 0 2>"$TMP"/log
	assert_eq "orders:1|g|5 orders:2|g|5" "$(sql "select stream, grp, count(*) from claimed_messages where stream like 'orders:%' or stream = 'invoices' group by 1, 2" | tr '\n' ' ' | sed 's/ $//')"
	assert_eq 5 "$(rcli XPENDING orders:2 other - + 10 d | grep -c '^d$')"
	assert_no_grep 'orders:str' "$TMP"/log
}
test_case '--match selects streams by glob (streams only), --group narrows' match_glob

bad_streams() {
	make_stream ok1 g 3
	crash_consumer ok1 g d
	rcli SET notastream 1 >/dev/null
	assert_exit 8 xr run -s nosuch -s ok1 --claim-idle 0
	assert_grep '\[WARN\] stream=nosuch warning="no such stream; skipped"' "$TMP"/err
	make_stream ok2 g 3
	crash_consumer ok2 g d
	assert_exit 1 xr run -s notastream -s ok2 --claim-idle 0
	assert_grep "\[ERROR\] stream=notastream error=\"key 'notastream' is a string, not a stream\"" "$TMP"/err
	assert_eq 3 "$(claimed ok2)"
	assert_eq "failed|1" "$(sql "select status, (select count(*) from events e where e.kind = 'error' and e.run = runs.run) from runs order by run desc limit 1")"
}
test_case 'a missing stream ends the run in a warning; a key that is no stream fails it; the rest is still done' bad_streams

log_lines() {
	make_stream "my stream" g 2
	crash_consumer "my stream" g "host 1"
	xr -q run -s "my stream" --claim-idle 0 --zombie-idle 0 --log-file "$TMP"/run.log 2>"$TMP"/err
	[ ! -s "$TMP"/err ] || fail "-q printed: $(cat "$TMP"/err)"
	assert_grep '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z \[RECOVER\] XCLAIM claimed=2 stream="my stream" group=g consumer=xrecover idle_threshold=0ms$' "$TMP"/run.log
	assert_grep '\[CLEAN\] deleted_consumer="host 1" stream="my stream" group=g idle_ms=[0-9]+ pending=0$' "$TMP"/run.log
	assert_grep '\[SUMMARY\] run=[0-9]+ mode=TEST claimed=2 deleted=1 lost=0 dead_lettered=0 redelivered=0 status=ok' "$TMP"/run.log
}
test_case 'log lines: logfmt quoting, --log-file gets them all, -q keeps stderr quiet' log_lines

batch_sizes() {
	make_stream b1 g 57
	crash_consumer b1 g d
	"$XR" -r "$REDIS_URL" --db "$TMP"/b1.db run -s b1 --claim-idle 0 --batch 1 2>/dev/null
	rcli XGROUP DESTROY b1 g >/dev/null
	rcli XGROUP CREATE b1 g 0 >/dev/null
	crash_consumer b1 g d
	"$XR" -r "$REDIS_URL" --db "$TMP"/b2.db run -s b1 --claim-idle 0 --batch 10000 2>/dev/null
	sql "select entry_id, from_consumer, payload from claimed_messages order by 1" "$TMP"/b1.db >"$TMP"/j1
	sql "select entry_id, from_consumer, payload from claimed_messages order by 1" "$TMP"/b2.db >"$TMP"/j2
	assert_lines 57 "$TMP"/j1
	cmp "$TMP"/j1 "$TMP"/j2 || fail "the journals differ"
}
test_case '--batch 1 and a big batch journal the same' batch_sizes

json_out() {
	make_stream js g 4
	crash_consumer js g d
	xr run -s js --claim-idle 0 --json >"$TMP"/out 2>/dev/null
	python3 - "$TMP"/out <<-'EOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	assert r["status"] == "ok" and r["claimed"] == 4 and r["mode"] == "TEST", r
	g = r["groups"][0]
	assert g["stream"] == "js" and g["group"] == "g" and g["claimed"] == 4 and g["held"] == 4, g
	EOF
}
test_case 'run --json reports the run and each group' json_out

missing_streams() {
	D=$TMP/ms.db
	make_stream here g 3
	crash_consumer here g d
	xm() { "$XR" -r "$REDIS_URL" --db "$D" "$@"; }
	# a typo: the run does the rest, and says so where an operator looks
	assert_exit 8 xm run -s here -s hree --claim-idle 0
	cat "$TMP"/err
	assert_grep '\[WARN\] stream=hree warning="no such stream; skipped"' "$TMP"/err
	assert_grep '\[SUMMARY\] run=1 mode=TEST claimed=3 .* missing=1 status=warning duration_ms=' "$TMP"/err
	assert_grep "^xrecover: no such stream: 'hree' \(skipped; the rest was done\)$" "$TMP"/err
	assert_eq 3 "$(sql "select count(*) from claimed_messages where stream = 'here'" "$D")"
	assert_eq "warning|no such stream: 'hree'" "$(sql "select status, error from runs where run = 1" "$D")"
	assert_eq '["hree"]' "$(sql "select json_extract(detail, '$.missing') from events where kind = 'run_end' and run = 1" "$D")"
	# the same from the config's streams, and in the JSON summary
	printf '{"streams": ["here", "gone1", "gone2"]}\n' >"$TMP"/ms.json
	assert_exit 8 xm -c "$TMP"/ms.json --json run --claim-idle 0
	python3 - "$TMP"/out <<-'EOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	assert r["status"] == "warning" and r["missing"] == ["gone1", "gone2"], r
	EOF
	assert_grep "no such streams: 'gone1', 'gone2'" "$TMP"/err
	# --dry-run says it too
	assert_exit 8 xm run --dry-run -s hree --claim-idle 0
	assert_grep 'missing=1 status=warning' "$TMP"/err
	# no typo: ok again
	assert_exit 0 xm run -s here --claim-idle 0
	assert_eq "warning warning ok" "$(sql "select status from runs order by run" "$D" | tr '\n' ' ' | sed 's/ $//')"
	# the daily report counts the runs with a warning and names what was missing
	day=$(date -u +%Y-%m-%d)
	xm report --daily --date "$day" --format json >"$TMP"/day.json
	python3 - "$TMP"/day.json <<-'EOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	assert r["runs"] == 3 and r["runs_ok"] == 1 and r["runs_warning"] == 2 and r["runs_failed"] == 0, r
	rows = [(x["run"], x["status"], x["error"]) for x in r["failures"]]
	assert rows == [(1, "warning", "no such stream: 'hree'"),
	    (2, "warning", "no such streams: 'gone1', 'gone2'")], rows
	EOF
	xm report --daily --date "$day" >"$TMP"/day.txt
	cat "$TMP"/day.txt
	assert_grep "warning +no such stream: 'hree'" "$TMP"/day.txt
	assert_grep "Runs with a warning +2" "$TMP"/day.txt
}
test_case 'a stream that does not exist: exit 8, status=warning in the summary, the journal and the daily report' missing_streams

missing_groups() {
	D=$TMP/mg.db
	make_stream gs billing 3
	crash_consumer gs billing d
	"$XRTEST" fill "$REDIS_URL" gs2 1 >/dev/null
	rcli XGROUP CREATE gs2 shipping 0 >/dev/null
	xg() { "$XR" -r "$REDIS_URL" --db "$D" "$@"; }
	# a typo in a group name: exit 8, and the group that exists is still done
	assert_exit 8 xg run -s gs -g billing -g biling --claim-idle 0
	assert_grep '\[WARN\] group=biling warning="no such group on any selected stream; nothing done for it"' "$TMP"/err
	assert_grep '\[SUMMARY\] run=1 .* missing_groups=1 status=warning' "$TMP"/err
	assert_grep "^xrecover: no such group on any selected stream: 'biling' \(skipped; the rest was done\)$" "$TMP"/err
	assert_eq 3 "$(sql "select count(*) from claimed_messages where stream = 'gs'" "$D")"
	assert_eq '["biling"]' "$(sql "select json_extract(detail, '$.missing_groups') from events where kind = 'run_end' and run = 1" "$D")"
	# a group that one selected stream has is no typo, whichever stream lacks it
	assert_exit 0 xg run -s gs -s gs2 -g shipping --claim-idle 0
	assert_exit 0 xg run --match 'gs*' -g billing --claim-idle 0
	# --match and --json, a missing stream and a missing group at once
	assert_exit 8 xg --json run -s gs -s nosuch --match 'gs*' -g nobody --claim-idle 0
	python3 - "$TMP"/out <<-'EOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	assert r["status"] == "warning" and r["missing"] == ["nosuch"] and r["missing_groups"] == ["nobody"], r
	assert r["exit_code"] == 8, r
	EOF
	assert_grep "no such stream: 'nosuch'; no such group on any selected stream: 'nobody'" "$TMP"/err
	xg verify >/dev/null || fail "verify: exit $?"
}
test_case 'a group that no selected stream has: exit 8, status=warning, the rest done' missing_groups

test_done
