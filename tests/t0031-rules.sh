#!/bin/sh
# t0031-rules: which alerts a run raises.  Each rule fires in a real
# scenario against a real Redis, with the documented defaults (read back
# from the alert's lines) or tiny thresholds; a flapping group alerts once
# and is resolved once; a cooldown lets a condition that keeps holding
# alert again; a run killed right after its run_end has its alerts
# journalled, and the next run sends them once; threshold "auto" judges a
# spike against weeks of the group's own history; mistakes in
# "alert_rules" stop the command; hostile names stay escaped in the alert
# and quoted in its command.
# Case bodies are single-quoted and expanded by test_case.
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# count RULE STATE: the alerts of RULE in STATE in $DB
count() {
	sql "SELECT count(*) FROM events WHERE kind = 'alert'
	     AND json_extract(detail, '\$.rule') = '$1' AND json_extract(detail, '\$.state') = '$2'"
}

# line RULE TEXT: the count of the newest RULE alert's line TEXT
line() {
	sql "SELECT json_extract(l.value, '\$[1]') FROM events e, json_each(e.detail, '\$.lines') l
	     WHERE e.seq = (SELECT max(seq) FROM events WHERE kind = 'alert'
	                    AND json_extract(detail, '\$.rule') = '$1')
	     AND json_extract(l.value, '\$[0]') = '$2'"
}

# field RULE MEMBER: a member of the newest RULE alert's detail
field() {
	sql "SELECT json_extract(detail, '\$.$2') FROM events WHERE seq = (SELECT max(seq)
	     FROM events WHERE kind = 'alert' AND json_extract(detail, '\$.rule') = '$1')"
}

# ack_all STREAM GROUP: acknowledges everything pending in the group
ack_all() {
	"$XRTEST" pel "$REDIS_URL" "$1" "$2" | while read -r id _; do
		rcli XACK "$1" "$2" "$id" >/dev/null
	done
}

test_case 'mistakes in alert_rules stop the command with one line naming the rule and key' '
	printf "{\"alert_rules\": {\"claimd\": {}}}" >"$TMP/bad1.json"
	assert_exit 2 "$XR" -c "$TMP/bad1.json" -r "$REDIS_URL" --db "$TMP/bad.db" run -s s
	assert_grep "alert_rules.*unknown rule .claimd." "$TMP/err"
	assert_lines 1 "$TMP/err"
	printf "{\"alert_rules\": {\"pending\": {\"treshold\": 5}}}" >"$TMP/bad2.json"
	assert_exit 2 "$XR" -c "$TMP/bad2.json" -r "$REDIS_URL" --db "$TMP/bad.db" run -s s
	assert_grep "rule .pending.: unknown key .treshold." "$TMP/err"
	assert_lines 1 "$TMP/err"
	printf "{\"alert_rules\": {\"pending\": {\"threshold\": \"auto\"}}}" >"$TMP/bad3.json"
	assert_exit 2 "$XR" -c "$TMP/bad3.json" -r "$REDIS_URL" --db "$TMP/bad.db" run -s s
	assert_grep "rule .pending.: .threshold. must be a whole number" "$TMP/err"
	printf "{\"alert_rules\": {\"claimed\": {\"window\": \"soon\"}}}" >"$TMP/bad4.json"
	assert_exit 2 "$XR" -c "$TMP/bad4.json" -r "$REDIS_URL" --db "$TMP/bad.db" run -s s
	assert_grep "rule .claimed.: .window. must be a duration" "$TMP/err"
	printf "{\"alert_rules\": {\"failed\": {\"severity\": \"loud\"}}}" >"$TMP/bad5.json"
	assert_exit 2 "$XR" -c "$TMP/bad5.json" -r "$REDIS_URL" --db "$TMP/bad.db" status
	assert_grep "rule .failed.: .severity. must be info, warning or critical" "$TMP/err"
	[ ! -e "$TMP/bad.db" ] || fail "a run with a bad config wrote a journal"
'

test_case 'claimed: 10 in an hour is quiet, 11 alerts (default threshold 10), routed to no webhook' '
	DB=$TMP/claimed.db
	make_stream cl g 21
	crash_consumer cl g dead 10
	xr -q run -s cl --claim-idle 0
	assert_eq 0 "$(count claimed firing)" "claimed alerts after 10"
	crash_consumer cl g dead 1
	xr -q run -s cl --claim-idle 0 --json >"$TMP/run.json"
	assert_eq 1 "$(count claimed firing)" "claimed alerts after 11"
	# run --json shows the head after the alerts it raised
	xr verify --json >"$TMP/verify.json"
	assert_eq "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"head\"])" "$TMP/verify.json")" \
		"$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"head\"])" "$TMP/run.json")" "head"
	assert_eq alert "$(sql "SELECT kind FROM events ORDER BY seq DESC LIMIT 1")"
	assert_eq 11 "$(line claimed "claimed in the last 1h")" "claimed count"
	assert_eq 10 "$(line claimed threshold)" "default threshold"
	assert_eq warning "$(field claimed severity)"
	assert_eq TEST "$(field claimed mode)"
	assert_eq "$(hostname)" "$(field claimed host)"
	field claimed command >"$TMP/c"
	assert_grep "^xrecover report --incident [0-9]+$" "$TMP/c"
	inc=$(sed "s/.* //" "$TMP/c")
	assert_exit 0 xr report --incident "$inc"
	assert_eq "none|cl|g" "$(sql "SELECT status, stream, grp FROM alerts WHERE rule = '"'"'claimed'"'"'")"
'

test_case 'pending: 100 is quiet, 101 alerts (default threshold 100)' '
	DB=$TMP/pending.db
	make_stream pe g 101
	crash_consumer pe g slow 100
	xr -q run -s pe --claim-idle 1h
	assert_eq 0 "$(count pending firing)"
	crash_consumer pe g slow 1
	xr -q run -s pe --claim-idle 1h
	assert_eq 1 "$(count pending firing)"
	assert_eq 101 "$(line pending pending)"
	assert_eq 100 "$(line pending threshold)"
	assert_eq "xrecover status -s '"'"'pe'"'"' -g '"'"'g'"'"'" "$(field pending command)"
'

test_case 'deleted: one zombie is quiet, two in an hour alert (default threshold 1)' '
	DB=$TMP/deleted.db
	make_stream de g 1
	rcli XGROUP CREATECONSUMER de g z1 >/dev/null
	xr -q run -s de --zombie-idle 0
	assert_eq 0 "$(count deleted firing)"
	rcli XGROUP CREATECONSUMER de g z2 >/dev/null
	xr -q run -s de --zombie-idle 0
	assert_eq 1 "$(count deleted firing)"
	assert_eq 2 "$(line deleted "consumers deleted in the last 1h")"
	assert_eq 1 "$(line deleted threshold)"
'

test_case 'lost and dead letters: any one alerts, lost as critical' '
	DB=$TMP/lost.db
	make_stream lo g 3
	crash_consumer lo g dead 3
	"$XRTEST" xdel "$REDIS_URL" lo 0 1
	xr -q run -s lo --claim-idle 0 --action dead-letter
	assert_eq 1 "$(count lost firing)"
	assert_eq 1 "$(line lost lost)"
	assert_eq 0 "$(line lost threshold)"
	assert_eq critical "$(field lost severity)"
	assert_eq 1 "$(count dead_letter firing)"
	assert_eq 2 "$(line dead_letter dead-lettered)"
	assert_eq warning "$(field dead_letter severity)"
'

test_case 'failed: a run that cannot reach Redis raises a critical alert pointing at the run' '
	DB=$TMP/failed.db
	port=$(free_port)
	assert_exit 3 "$XR" -q -r "redis://127.0.0.1:$port" --db "$DB" run -s x --connect-timeout 1s
	assert_eq 1 "$(count failed firing)"
	assert_eq critical "$(field failed severity)"
	field failed title >"$TMP/title"
	assert_grep "^run 1 failed: .*127\.0\.0\.1:$port" "$TMP/title"
	assert_eq 0 "$(sql "SELECT json_array_length(detail, '"'"'\$.lines'"'"') FROM events WHERE kind = '"'"'alert'"'"'")"
	assert_eq "xrecover report --run 1" "$(field failed command)"
	assert_exit 0 xr report --run 1
'

test_case 'missing: a named stream that does not exist; held: an entry held past the threshold' '
	DB=$TMP/held.db
	make_stream he g 2
	crash_consumer he g dead 2
	printf "{\"alert_rules\": {\"held\": {\"threshold\": \"1s\"}}}" >"$TMP/held.json"
	xr -q -c "$TMP/held.json" run -s he -s no-such --claim-idle 0 || true
	assert_eq 1 "$(count missing firing)"
	assert_eq "named stream does not exist" "$(field missing title)"
	assert_eq "xrecover status -s '"'"'no-such'"'"'" "$(field missing command)"
	assert_eq 0 "$(count held firing)" "held alerts at once"
	sleep 1.2
	xr -q -c "$TMP/held.json" run -s he --claim-idle 0
	assert_eq 1 "$(count held firing)" "held alerts after 1.2s"
	assert_eq 2 "$(line held "entries held")"
	assert_eq 1 "$(line held "threshold in seconds")"
	# The default is an hour: the same wait alerts nothing.
	DB=$TMP/held2.db
	make_stream he2 g 2
	crash_consumer he2 g dead 2
	xr -q run -s he2 --claim-idle 0
	sleep 1.2
	xr -q run -s he2 --claim-idle 0
	assert_eq 0 "$(count held firing)" "held alerts with the default threshold"
'

test_case 'crashed: the run after a killed one alerts that it found its work' '
	DB=$TMP/crashed.db
	make_stream cr g 5
	crash_consumer cr g dead 5
	XRECOVER_FAILPOINT=claim-sent "$XR" -r "$REDIS_URL" --db "$DB" -q run -s cr --claim-idle 0 \
		--batch 2 2>/dev/null && fail "the failpoint did not kill the run"
	assert_eq 0 "$(count crashed firing)"
	xr -q run -s cr --claim-idle 0
	assert_eq 1 "$(count crashed firing)"
	assert_eq 1 "$(line crashed "unfinished runs closed as crashed")"
	assert_eq "xrecover report --run 2" "$(field crashed command)"
'

test_case 'silent: a gap of more than three intervals between runs alerts on the next run' '
	DB=$TMP/silent.db
	make_stream si g 1
	# (an interval of 1 s: two runs back to back stay within three on a loaded machine too)
	printf "{\"interval\": \"1s\"}" >"$TMP/si.json"
	xr -q -c "$TMP/si.json" run -s si
	xr -q -c "$TMP/si.json" run -s si
	assert_eq 0 "$(count silent firing)" "runs back to back"
	sleep 3.2
	xr -q -c "$TMP/si.json" run -s si
	assert_eq 1 "$(count silent firing)"
	assert_eq 3 "$(line silent "intervals allowed")"
	[ "$(line silent "seconds since the run before")" -ge 3 ]
'

test_case 'mode and severity: a LIVE run says LIVE; a rule set critical or off is obeyed' '
	DB=$TMP/mode.db
	make_stream mo g 3
	crash_consumer mo g slow 3
	printf "{\"alert_rules\": {\"pending\": {\"threshold\": 2, \"severity\": \"critical\"}, \"missing\": {\"enabled\": false}}}" >"$TMP/mo.json"
	XRECOVER_MODE=LIVE "$XR" -r "$REDIS_URL" --db "$DB" -q -c "$TMP/mo.json" run -s mo -s nothing-here --claim-idle 1h || true
	assert_eq LIVE "$(field pending mode)"
	assert_eq critical "$(field pending severity)"
	assert_eq 0 "$(count missing firing)"
'

# sent RULE STATE [DIR]: the messages of RULE in STATE the receiver in DIR
# ($TMP/rx) got
sent() {
	python3 - "${3:-$TMP/rx}" "$1" "$2" <<-PY
	import glob, json, sys
	n = 0
	for f in glob.glob(sys.argv[1] + "/req.*.body"):
	    b = json.load(open(f))
	    n += b.get("rule") == sys.argv[2] and b.get("state") == sys.argv[3]
	print(n)
	PY
}

test_case 'flapping for longer than the cooldown: one alert, and once clear for the cooldown, one resolved; so sent' '
	DB=$TMP/flap.db
	rcli XGROUP CREATE fl g "\$" MKSTREAM >/dev/null
	# shellcheck disable=SC2046 # pid and port
	set -- $(start_receiver "$TMP/rx")
	printf "{\"alert_rules\": {\"pending\": {\"threshold\": 2, \"cooldown\": \"3s\"}}, \"webhooks\": [{\"name\": \"ops\", \"format\": \"json\", \"url\": \"http://127.0.0.1:%s/hook\"}]}" "$2" >"$TMP/fl.json"
	t0=$(date +%s)
	i=0
	while [ $i -lt 10 ]; do
		if [ $((i % 2)) -eq 0 ]; then
			"$XRTEST" fill "$REDIS_URL" fl 3 >/dev/null
			crash_consumer fl g live 3
		else
			ack_all fl g
		fi
		xr -q -c "$TMP/fl.json" run -s fl --claim-idle 1h
		[ $i -eq 9 ] || sleep 0.5
		i=$((i + 1))
	done
	t1=$(date +%s)
	[ $((t1 - t0)) -ge 4 ] || fail "ten runs took $((t1 - t0))s, not longer than the cooldown"
	assert_eq 5 "$(sql "SELECT count(*) FROM events WHERE kind = '"'"'run_end'"'"'
	    AND detail LIKE '"'"'%\"alerting\":[[\"pending\"%'"'"'")" "runs that saw it hold"
	assert_eq 1 "$(count pending firing)" "firing alerts"
	assert_eq 0 "$(count pending resolved)" "resolved alerts while it flaps"
	sleep 3.5
	xr -q -c "$TMP/fl.json" run -s fl --claim-idle 1h
	assert_eq 1 "$(count pending resolved)" "resolved alerts after 3.5s clear"
	assert_eq warning "$(field pending severity)"
	assert_eq resolved "$(field pending state)"
	xr -q -c "$TMP/fl.json" run -s fl --claim-idle 1h
	assert_eq 1 "$(count pending firing)" "firing alerts in all"
	assert_eq 1 "$(count pending resolved)" "resolved alerts in all"
	# and what went out to the webhook: one message each
	assert_eq 1 "$(sent pending firing)" "firing messages received"
	assert_eq 1 "$(sent pending resolved)" "resolved messages received"
	assert_eq 2 "$(sql "SELECT count(*) FROM alerts WHERE rule = '"'"'pending'"'"' AND status = '"'"'sent'"'"'")"
'

test_case 'killed right after its run_end: its alerts are in the outbox, and the next run sends each once' '
	DB=$TMP/after-end.db
	make_stream ae g 3
	crash_consumer ae g dead 3
	"$XRTEST" xdel "$REDIS_URL" ae 0 1
	# shellcheck disable=SC2046 # pid and port
	set -- $(start_receiver "$TMP/rae")
	printf "{\"webhooks\": [{\"name\": \"ops\", \"format\": \"json\", \"url\": \"http://127.0.0.1:%s/hook\"}]}" "$2" >"$TMP/ae.json"
	XRECOVER_FAILPOINT=after-run-end "$XR" -r "$REDIS_URL" --db "$DB" -q -c "$TMP/ae.json" \
		run -s ae --claim-idle 0 2>/dev/null && fail "the failpoint did not kill the run"
	# the run ended in the journal, with its one-shot alert: nothing sent yet
	assert_eq "1|1" "$(sql "SELECT run, lost FROM runs WHERE status <> '"'"'crashed'"'"'")" "run 1 ended"
	assert_eq 1 "$(count lost firing)" "lost alerts of the killed run"
	assert_eq 1 "$(sql "SELECT count(*) FROM events WHERE kind = '"'"'alert'"'"'")" "alerts"
	assert_eq 0 "$(find "$TMP/rae" -name "req.*.body" | wc -l | tr -d " ")" "requests before the next run"
	# the next run raises nothing again and sends what the killed one raised
	xr -q -c "$TMP/ae.json" run -s ae --claim-idle 0
	assert_eq 1 "$(count lost firing)" "lost alerts after the next run"
	assert_eq 0 "$(count crashed firing)" "crashed alerts"
	assert_eq "1|sent|2" "$(sql "SELECT run, status, (SELECT run FROM events WHERE kind = '"'"'alert_attempt'"'"') FROM alerts")"
	assert_eq 1 "$(sent lost firing "$TMP/rae")" "lost messages received"
	xr -q -c "$TMP/ae.json" run -s ae --claim-idle 0
	assert_eq 1 "$(find "$TMP/rae" -name "req.*.body" | wc -l | tr -d " ")" "requests in all"
	assert_eq 1 "$(count lost firing)" "lost alerts in all"
'

test_case 'a condition that keeps holding alerts again once per cooldown' '
	DB=$TMP/again.db
	make_stream ag g 3
	crash_consumer ag g live 3
	# (a cooldown of 3 s: two runs back to back stay within it on a loaded machine too)
	printf "{\"alert_rules\": {\"pending\": {\"threshold\": 2}}, \"alert_cooldown\": \"3s\"}" >"$TMP/ag.json"
	xr -q -c "$TMP/ag.json" run -s ag --claim-idle 1h
	xr -q -c "$TMP/ag.json" run -s ag --claim-idle 1h
	assert_eq 1 "$(count pending firing)" "within the cooldown"
	sleep 3.2
	xr -q -c "$TMP/ag.json" run -s ag --claim-idle 1h
	assert_eq 2 "$(count pending firing)" "after the cooldown"
	assert_eq 0 "$(count pending resolved)"
'

test_case 'threshold auto: a normal hour is quiet, a spike alerts naming the baseline' '
	rcli XGROUP CREATE au g "\$" MKSTREAM >/dev/null
	printf "{\"alert_rules\": {\"claimed\": {\"threshold\": \"auto\"}}}" >"$TMP/au.json"
	# Two weeks of 20 to 40 claims an hour (median 30, MAD 5: limit 55).
	DB=$TMP/normal.db
	"$XRTEST" history "$DB" au g 336 35 >/dev/null
	xr -q -c "$TMP/au.json" run -s au
	assert_eq 0 "$(count claimed firing)" "auto, 35 in the last hour"
	xr -q run -s au
	assert_eq 1 "$(count claimed firing)" "fixed threshold, 35 in the last hour"
	DB=$TMP/spike.db
	"$XRTEST" history "$DB" au g 336 200 >/dev/null
	xr -q -c "$TMP/au.json" run -s au
	assert_eq 1 "$(count claimed firing)" "auto, 200 in the last hour"
	assert_eq 30 "$(line claimed "baseline: median per 1h over the last 168 x 1h")"
	assert_eq 5 "$(line claimed "median absolute deviation")"
	assert_eq 55 "$(line claimed threshold)"
	assert_eq "200 entries claimed in 1h, far above the usual 30 per 1h" "$(field claimed title)"
	# Ten hours of history are too few: the fixed threshold, 10.
	DB=$TMP/young.db
	"$XRTEST" history "$DB" au g 10 35 >/dev/null
	xr -q -c "$TMP/au.json" run -s au
	assert_eq 1 "$(count claimed firing)" "auto without history, 35 in the last hour"
	assert_eq 10 "$(line claimed threshold)"
'

test_case 'hostile stream and group names stay escaped in the alert and quoted in its command' '
	DB=$TMP/hostile.db
	s=$(printf "h\"o'"'"'st\nile\033[31m")
	g=$(printf "g\tx'"'"'")
	"$XRTEST" fill "$REDIS_URL" "$s" 3 >/dev/null
	rcli XGROUP CREATE "$s" "$g" 0 >/dev/null
	"$XRTEST" read "$REDIS_URL" "$s" "$g" dead 3 >/dev/null
	printf "{\"alert_rules\": {\"pending\": {\"threshold\": 2}}}" >"$TMP/ho.json"
	xr -q -c "$TMP/ho.json" run -s "$s" --claim-idle 1h
	assert_eq 1 "$(count pending firing)"
	sql "SELECT detail FROM events WHERE kind = '"'"'alert'"'"'" >"$TMP/detail"
	if LC_ALL=C grep -q "$(printf "[\001-\011\013-\037]")" "$TMP/detail"; then
		fail "a control character in the alert detail"
	fi
	python3 - "$DB" "$s" "$g" <<EOF
import json, shlex, sqlite3, sys
db, s, g = sys.argv[1:]
row = sqlite3.connect(db).execute("SELECT detail, stream, grp FROM events WHERE kind = ?",
                                  ("alert",)).fetchone()
d = json.loads(row[0])
assert row[1] == s and row[2] == g, row
assert shlex.split(d["command"]) == ["xrecover", "status", "-s", s, "-g", g], d["command"]
EOF
'

test_done
