#!/bin/sh
# t0030-outbox: alerts out of the outbox to real receivers (tests/receiver.py
# on free loopback ports).  Alerts are raised by `report --daily --notify`
# and `xrtest raise` (an alert about a stream and group, as a rule would
# raise it), delivered by that command and by `run`: a 500 is retried by a
# later run with the same message id and body; a 429's Retry-After is waited
# for within the budget; a receiver that never answers cannot hold a run
# past its budget nor hold the journal's lock meanwhile; what a run killed
# there was sending goes again, with its id; of two deliverers at once
# (a run and report --notify) one sends and the other leaves its alert to
# it, and the report waits for it within its budget: each alert is
# received once; a 404 fails at once and is
# never retried; the last attempt allowed fails; a webhook gone from the
# config fails; TLS is verified (ca_file).  The daily report and the metrics file count the
# outbox; verify --head checks the journal against the head a chat message
# carries; no URL token, secret or password reaches any output.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# The secrets every output is searched for at the end.
URL_TOKEN=U7RLtokenQAZ741
WHSEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
REDIS_PASS=Red1sPassWSX963
export URL_TOKEN WHSEC REDIS_PASS

REDIS_CLI_AUTH=$REDIS_PASS
start_redis --requirepass "$REDIS_PASS"
REDIS_URL=redis://:$REDIS_PASS@127.0.0.1:$REDIS_PORT
export REDIS_CLI_AUTH REDIS_URL
make_stream s g 3

start_receivers
OUTPUTS=$TMP/outputs
mkdir -p "$OUTPUTS"
DAY=$(date -u +%Y-%m-%d)
export OUTPUTS DAY

# The webhooks (the quotes are JSON's): json signed, the token in the URL's path
OPS=$(printf '{"name":"ops","format":"json","url":"http://127.0.0.1:%s/hook/%s","secret":"%s"}' \
	"$R1" "$URL_TOKEN" "$WHSEC")
export OPS

# conf FILE BUDGET BACKOFF MAX_ATTEMPTS WEBHOOK-JSON...: a config with these alert settings
conf() {
	f=$1
	{
		printf '{"alert_budget": "%s", "alert_backoff": "%s", "alert_max_attempts": %s,\n' \
			"$2" "$3" "$4"
		printf ' "streams": ["s"], "claim_idle": "1h", "webhooks": ['
		shift 4
		sep=""
		for w in "$@"; do
			printf '%s\n  %s' "$sep" "$w"
			sep=","
		done
		printf '\n]}\n'
	} >"$f"
}

# keep NAME: this command's stdout and stderr, for the search for secrets
keep() {
	cp "$TMP"/out "$OUTPUTS/$1.out"
	cp "$TMP"/err "$OUTPUTS/$1.err"
}

# answers LINE...: what the receiver answers next (the bodies so far kept)
answers() {
	for b in "$R1DIR"/req.*.body; do
		[ -e "$b" ] && cp "$b" "$OUTPUTS/body.$(date +%s%N).$(basename "$b")"
	done
	rm -f "$R1DIR"/req.*
	printf '%s\n' "$@" >"$R1DIR"/answers
}

# requests [DIR]: how many requests the receiver has recorded since answers()
requests() {
	find "${1:-$R1DIR}" -name 'req.*.body' | wc -l | tr -d ' '
}

# fresh NAME: a journal of its own for the case ($DB), with one run in it
fresh() {
	DB=$TMP/$1.db
	xr -c "$TMP"/none.json run >/dev/null 2>&1
	[ "$(sql "select count(*) from runs")" = 1 ] || fail "no first run in $DB"
}
conf "$TMP"/none.json 10s 1s 5

# pair QUERY-WHERE: "status|attempts" of the alerts view's rows, oldest first
pair() {
	sql "select status || '|' || attempts from alerts where $1 order by alert, webhook"
}

# first_request PID: waits (up to 60 s) until the receiver has the first
# request of the run PID, which goes on meanwhile
first_request() {
	i=0
	while [ ! -e "$R1DIR"/req.1.body ]; do
		[ $i -lt 600 ] || fail "the run sent nothing in 60s"
		kill -0 "$1" || fail "the run ended before it sent anything"
		sleep 0.1
		i=$((i + 1))
	done
}

# wait_retry: sleeps until every retry_at journalled has passed
wait_retry() {
	at=$(sql "select coalesce(max(json_extract(detail, '\$.retry_at')), 0) from events where kind = 'alert_attempt'")
	python3 -c "import time; time.sleep(max(0.0, $at / 1000.0 - time.time()) + 0.3)"
}

# ------------------------------------------------------- report --notify

test_case 'report --daily --notify: the day in one signed message, with the head verify --head accepts' '
	fresh notify
	conf $TMP/c.json 10s 1s 5 "$OPS"
	answers 200
	assert_exit 0 xr -c $TMP/c.json report --daily --date $DAY --notify -o $OUTPUTS/notify.txt
	keep notify
	cat $TMP/out
	assert_grep "^ +[0-9]+ +ops +1 +delivered +200 .*http://127.0.0.1:$R1/hook/\*\*\*" $TMP/out
	assert_eq 1 "$(requests)" "requests"
	assert_eq "sent|1" "$(pair "webhook = \"ops\"")"
	verify_sig $R1DIR/req.1.body $R1DIR/req.1.headers "$WHSEC"
	# the message id the receiver saw is the one the outbox keeps
	id=$(sed -n "s/^webhook-id: //p" $R1DIR/req.1.headers)
	assert_eq "$id" "$(sql "select message_id from alerts where webhook = \"ops\"")" "message id"
	pycheck $R1DIR/req.1.body "
import re, os
assert b[\"rule\"] == \"report\" and b[\"severity\"] == \"info\" and \"state\" not in b, b
m = re.fullmatch(r\"daily report ([0-9-]+): nothing lost; journal head ([0-9]+) ([0-9a-f]{64})\", b[\"title\"])
assert m and m.group(1) == os.environ[\"DAY\"], b[\"title\"]
lines = {l[\"text\"]: l[\"count\"] for l in b[\"lines\"]}
assert lines[\"runs\"] == 1 and lines[\"entries lost\"] == 0, lines
assert lines[\"journal head at event\"] == int(m.group(2)), lines
assert b[\"command\"] == \"xrecover report --daily --date \" + os.environ[\"DAY\"]
open(os.environ[\"TMP\"] + \"/head\", \"w\").write(m.group(2) + \" \" + m.group(3) + \"\\n\")
"
	read -r seq hash <$TMP/head
	# the head taken from the chat message: the journal still holds it, at that seq
	assert_eq "$hash" "$(sql "select lower(hex(hash)) from events where seq = $seq")"
	assert_exit 0 xr verify --head $hash
	assert_grep "head $hash is event $seq: nothing was cut off after it" $TMP/out
	# a head the journal never had
	bad=$(echo $hash | sed "s/^./$(echo $hash | cut -c1 | tr 0-9a-f 1-9a-f0)/")
	assert_exit 7 xr verify --head $bad
	keep notify-verify
'

# ------------------------------------------------------------- retries

test_case '500 then 200: delivered once, by a later run; same message id, same body' '
	fresh retry
	conf $TMP/c.json 2s 3s 5 "$OPS"
	answers 500 200
	assert_exit 1 xr -c $TMP/c.json report --daily --date $DAY --notify
	keep retry-notify
	assert_grep " ops +1 +retry +500 " $TMP/out
	assert_grep "1 of 1 webhooks did not take the daily report" $TMP/err
	assert_eq "pending|1" "$(pair "webhook = \"ops\"")"
	# before retry_at: a run leaves it alone
	assert_exit 0 xr -c $TMP/c.json run --json
	keep retry-run1
	assert_eq 1 "$(requests)" "requests before retry_at"
	pycheck $TMP/out "assert b[\"alerts\"] == {\"sent\": 0, \"failed\": 0, \"pending\": 1}, b[\"alerts\"]"
	wait_retry
	assert_exit 0 xr -c $TMP/c.json run --json --log-file $OUTPUTS/retry.log
	keep retry-run2
	pycheck $TMP/out "assert b[\"alerts\"] == {\"sent\": 1, \"failed\": 0, \"pending\": 0}, b[\"alerts\"]"
	assert_eq 2 "$(requests)" "requests"
	assert_eq "sent|2" "$(pair "webhook = \"ops\"")"
	cmp $R1DIR/req.1.body $R1DIR/req.2.body || fail "the retry sent another body"
	assert_eq "$(sed -n "s/^webhook-id: //p" $R1DIR/req.1.headers)" \
		"$(sed -n "s/^webhook-id: //p" $R1DIR/req.2.headers)" "webhook-id"
	verify_sig $R1DIR/req.2.body $R1DIR/req.2.headers "$WHSEC"
	# the second attempt is the run'"'"'s, and the log says so
	run=$(sql "select max(run) from runs")
	assert_eq "$run delivered" "$(sql "select run, json_extract(detail, \"\$.outcome\") from events where kind = \"alert_attempt\" order by seq desc limit 1" | tr "|" " ")"
	assert_grep "\[ALERT\] DELIVERED alert=[0-9]+ webhook=ops attempt=2 http_status=200 " $OUTPUTS/retry.log
	# delivered once: later runs send nothing
	wait_retry
	assert_exit 0 xr -c $TMP/c.json run
	keep retry-run3
	assert_eq 2 "$(requests)" "requests after delivery"
'

test_case '429 with Retry-After: 2: the retry waits 2s, in the same call when the budget allows' '
	fresh ra
	conf $TMP/c.json 10s 1s 5 "$OPS"
	answers "429|Retry-After: 2" 200
	assert_exit 0 xr -c $TMP/c.json report --daily --date $DAY --notify
	keep ra
	cat $TMP/out
	assert_grep " ops +1 +retry +429 +2.0s " $TMP/out
	assert_grep " ops +2 +delivered +200 " $TMP/out
	assert_eq 2 "$(requests)" "requests"
	python3 -c "
t1 = float(open(\"$R1DIR/req.1.time\").read()); t2 = float(open(\"$R1DIR/req.2.time\").read())
print(\"waited %.3fs\" % (t2 - t1))
assert t2 - t1 >= 2.0, t2 - t1
"
	assert_eq "sent|2" "$(pair "webhook = \"ops\"")"
	assert_eq 2000 "$(sql "select json_extract(detail, \"\$.retry_after_ms\") from events where kind = \"alert_attempt\" order by seq limit 1")"
'

test_case 'a receiver that never answers: run ends within its budget, the alert stays pending; a later run delivers it' '
	fresh hang
	HUNG=$(printf "{\"name\":\"ops\",\"format\":\"json\",\"url\":\"http://127.0.0.1:%s/hook/%s\",\"secret\":\"%s\",\"timeout\":\"30s\"}" \
		"$HANG" "$URL_TOKEN" "$WHSEC")
	conf $TMP/c.json 3s 1s 5 "$HUNG"
	alert=$($XRTEST raise $TMP/c.json $DB s g claimed warning)
	t0=$(date +%s%N)
	assert_exit 0 xr -c $TMP/c.json run --json
	t1=$(date +%s%N)
	keep hang-run
	ms=$(( (t1 - t0) / 1000000 ))
	echo "run took ${ms}ms with a 3s budget"
	[ $ms -ge 2500 ] || fail "the run did not wait for the receiver (${ms}ms)"
	[ $ms -le 6000 ] || fail "the run took ${ms}ms with a 3s budget"
	pycheck $TMP/out "assert b[\"alerts\"] == {\"sent\": 0, \"failed\": 0, \"pending\": 1}, b[\"alerts\"]"
	assert_eq "pending|1" "$(pair "alert = $alert")"
	assert_eq 0 "$(sql "select last_status from alerts where alert = $alert")" "last status"
	sql "select last_error from alerts where alert = $alert" >$TMP/last
	assert_grep "^no answer within" $TMP/last
	# the webhook answers again (its URL moved): the next run delivers
	conf $TMP/c.json 3s 1s 5 "$OPS"
	answers 200
	wait_retry
	assert_exit 0 xr -c $TMP/c.json run
	keep hang-run2
	assert_eq "sent|2" "$(pair "alert = $alert")"
	assert_eq 1 "$(requests)" "requests"
	pycheck $R1DIR/req.1.body "assert b[\"alert\"] == $alert and b[\"stream\"] == \"s\" and b[\"group\"] == \"g\", b"
'

test_case 'guarantee 8: the journal is not locked while a run waits on a webhook' '
	fresh lock
	HUNG=$(printf "{\"name\":\"ops\",\"format\":\"json\",\"url\":\"http://127.0.0.1:%s/hook/%s\",\"timeout\":\"30s\"}" \
		"$HANG" "$URL_TOKEN")
	conf $TMP/c.json 4s 1s 5 "$HUNG"
	alert=$($XRTEST raise $TMP/c.json $DB s g claimed warning)
	n=$(hang_conns)
	xr -c $TMP/c.json run >$OUTPUTS/lock-bg.out 2>&1 &
	bg=$!
	hang_wait $((n + 1))
	# another run (no webhooks of its own) gets the journal while the first one waits
	t0=$(date +%s%N)
	assert_exit 0 xr -c $TMP/none.json --lock-timeout 1s run
	t1=$(date +%s%N)
	keep lock-second
	kill -0 $bg || fail "the first run ended before the second one ran"
	wait $bg || fail "the first run failed"
	echo "the second run took $(( (t1 - t0) / 1000000 ))ms"
	assert_eq "pending|1" "$(pair "alert = $alert")"
	assert_eq 3 "$(sql "select count(*) from runs where status = \"ok\"")" "runs"
'

test_case 'a run that cannot reach Redis is journalled failed, then delivers what is pending' '
	fresh noredis
	conf $TMP/c.json 10s 1s 5 "$OPS"
	alert=$($XRTEST raise $TMP/c.json $DB s g claimed warning)
	answers 200
	assert_exit 3 "$XR" -r redis://127.0.0.1:$(free_port) --db $DB -c $TMP/c.json run --json
	keep noredis
	# the pending alert and the failed run'"'"'s own (rule failed) both went out
	pycheck $TMP/out "assert b[\"status\"] == \"failed\" and b[\"alerts\"][\"sent\"] == 2, b"
	assert_eq "sent|1" "$(pair "alert = $alert")"
	assert_eq "failed|critical|sent" "$(sql "select rule, severity, status from alerts where alert > $alert")"
	assert_eq "failed" "$(sql "select status from runs order by run desc limit 1")"
	# the head --json gives is the journal'"'"'s after the delivery
	assert_eq "$(sql "select lower(hex(hash)) from events order by seq desc limit 1")" \
		"$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"head\"])" $TMP/out)"
'

test_case 'killed while a POST is in flight: the run is whole, the POST unjournalled and sent again with its id' '
	fresh kill
	HUNG=$(printf "{\"name\":\"ops\",\"format\":\"json\",\"url\":\"http://127.0.0.1:%s/hook/%s\",\"secret\":\"%s\"}" \
		"$HANG" "$URL_TOKEN" "$WHSEC")
	conf $TMP/c.json 10s 1s 5 "$HUNG"
	alert=$($XRTEST raise $TMP/c.json $DB s g claimed warning)
	# xrecover itself, not a shell running it, is what is killed
	n=$(hang_conns)
	"$XR" -r "$REDIS_URL" --db "$DB" -c $TMP/c.json run >$OUTPUTS/kill-bg.out 2>&1 &
	bg=$!
	hang_wait $((n + 1))
	kill -9 $bg
	wait $bg || true
	# its run_end came before the delivery: the run is ok, the attempt never journalled
	assert_eq "ok" "$(sql "select status from runs order by run desc limit 1")"
	assert_eq "pending|0" "$(pair "alert = $alert")"
	assert_exit 0 xr verify
	conf $TMP/c.json 10s 1s 5 "$OPS"
	answers 200
	assert_exit 0 xr -c $TMP/c.json run
	keep kill-run
	assert_eq "sent|1" "$(pair "alert = $alert")"
	assert_eq "$(sql "select message_id from alerts where alert = $alert")" \
		"$(sed -n "s/^webhook-id: //p" $R1DIR/req.1.headers)" "webhook-id"
	verify_sig $R1DIR/req.1.body $R1DIR/req.1.headers "$WHSEC"
'

test_case 'two deliverers at once, a receiver slow to answer: each alert POSTed once; the one that finds the other delivering leaves its alert to it, and says so' '
	fresh two
	conf $TMP/c.json 60s 1s 5 "$OPS"
	a1=$($XRTEST raise $TMP/c.json $DB s g claimed warning)
	a2=$($XRTEST raise $TMP/c.json $DB s g pending warning)
	# the first answer takes 6 s: the report comes while the run waits on it
	answers "200|delay=6" 200
	"$XR" -r "$REDIS_URL" --db "$DB" -c $TMP/c.json run --json --log-file $OUTPUTS/two-run.log \
		>$TMP/two-run.out 2>$OUTPUTS/two-run.err &
	bg=$!
	first_request $bg
	code=0
	xr -c $TMP/c.json report --daily --date $DAY --notify >$OUTPUTS/two-report.out \
		2>$OUTPUTS/two-report.err || code=$?
	wait $bg || { cat $OUTPUTS/two-run.err; fail "the run failed"; }
	cp $TMP/two-run.out $OUTPUTS/two-run.out
	a3=$(sql "select max(alert) from alerts")
	# what the receiver got: each alert once
	assert_eq "$a1 $a2 $a3" "$(python3 -c "
import glob, json, sys
print(\" \".join(sorted((str(json.load(open(f))[\"alert\"]) for f in glob.glob(sys.argv[1] + \"/req.*.body\")), key=int)))
" $R1DIR)" "alerts received"
	assert_eq "sent|1 sent|1 sent|1" "$(pair "alert in ($a1, $a2, $a3)" | tr "\n" " " | sed "s/ $//")"
	# the report sent nothing, left its alert to the run, said so, and
	# waited for the run to send it: exit 0
	assert_eq 0 "$code" "exit code of the report"
	assert_eq 1 "$(wc -l <$OUTPUTS/two-report.out | tr -d " ")" "lines the report printed"
	assert_grep "\[ALERT\] LEFT pending=[23] why=\"journal .* has a delivery running in another xrecover \(pid $bg\), which sends what is pending\"" $OUTPUTS/two-report.err
	# the run sent the report'"'"'s alert too, raised while it was delivering
	pycheck $TMP/two-run.out "assert b[\"alerts\"] == {\"sent\": 3, \"failed\": 0, \"pending\": 0}, b[\"alerts\"]"
	assert_grep "\[ALERT\] DELIVERED alert=$a3 webhook=ops attempt=1 " $OUTPUTS/two-run.log
'

test_case 'the report waits for the other deliverer only while its own budget lasts: then its alert is pending (exit 1), and the other sends it' '
	fresh twoshort
	conf $TMP/c.json 60s 1s 5 "$OPS"
	conf $TMP/short.json 2s 1s 5 "$OPS"
	a1=$($XRTEST raise $TMP/c.json $DB s g claimed warning)
	answers "200|delay=8" 200
	"$XR" -r "$REDIS_URL" --db "$DB" -c $TMP/c.json run --json >$TMP/short-run.out \
		2>$OUTPUTS/short-run.err &
	bg=$!
	first_request $bg
	start=$(date +%s%N)
	code=0
	xr -c $TMP/short.json report --daily --date $DAY --notify >$OUTPUTS/short-report.out \
		2>$OUTPUTS/short-report.err || code=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	kill -0 $bg || fail "the run had ended when the report gave up (${ms}ms)"
	wait $bg || { cat $OUTPUTS/short-run.err; fail "the run failed"; }
	a2=$(sql "select max(alert) from alerts")
	assert_eq 1 "$code" "exit code of the report"
	[ $ms -ge 1900 ] || fail "the report gave up after ${ms}ms, before its 2s budget"
	assert_grep "the daily report \(alert $a2\) is pending: journal .* has a delivery running in another xrecover \(pid $bg\)" $OUTPUTS/short-report.err
	# the run sent both, each once
	assert_eq 2 "$(requests)" "requests"
	assert_eq "sent|1 sent|1" "$(pair "alert in ($a1, $a2)" | tr "\n" " " | sed "s/ $//")"
'

test_case '404: failed at once, never retried' '
	fresh nf
	conf $TMP/c.json 10s 1s 5 "$OPS"
	answers 404
	assert_exit 1 xr -c $TMP/c.json report --daily --date $DAY --notify
	keep nf
	assert_grep " ops +1 +failed +404 " $TMP/out
	assert_eq 1 "$(requests)" "requests"
	assert_eq "failed|1" "$(pair "webhook = \"ops\"")"
	assert_eq "404|answered HTTP 404" "$(sql "select last_status || \"|\" || last_error from alerts")"
	sleep 1.2
	assert_exit 0 xr -c $TMP/c.json run
	keep nf-run
	assert_eq 1 "$(requests)" "requests after a later run"
	assert_eq "failed|1" "$(pair "webhook = \"ops\"")"
'

test_case 'alert_max_attempts reached: the last attempt fails for good' '
	fresh max
	conf $TMP/c.json 10s 1s 2 "$OPS"
	answers 500
	assert_exit 1 xr -c $TMP/c.json report --daily --date $DAY --notify
	keep max
	cat $TMP/out
	assert_grep " ops +1 +retry +500 " $TMP/out
	assert_grep " ops +2 +failed +500 .*attempt 2 of 2: no more" $TMP/out
	assert_eq 2 "$(requests)" "requests"
	assert_eq "failed|2" "$(pair "webhook = \"ops\"")"
	assert_exit 0 xr -c $TMP/c.json run
	keep max-run
	assert_eq 2 "$(requests)" "requests after a later run"
'

test_case 'a webhook no longer in the config: its alerts fail, with that said; the others go' '
	fresh gone
	GONE=$(printf "{\"name\":\"gone\",\"format\":\"slack\",\"url\":\"http://127.0.0.1:%s/services/T/%s\"}" "$R1" "$URL_TOKEN")
	conf $TMP/c.json 10s 1s 5 "$OPS" "$GONE"
	alert=$($XRTEST raise $TMP/c.json $DB s g claimed warning)
	assert_eq "pending|0
pending|0" "$(pair "alert = $alert")"
	conf $TMP/c.json 10s 1s 5 "$OPS"
	answers 200
	assert_exit 0 xr -c $TMP/c.json run --json
	keep gone
	pycheck $TMP/out "assert b[\"alerts\"] == {\"sent\": 1, \"failed\": 1, \"pending\": 0}, b[\"alerts\"]"
	assert_eq "failed|webhook no longer configured" "$(sql "select status || \"|\" || last_error from alerts where webhook = \"gone\"")"
	assert_eq "sent" "$(sql "select status from alerts where webhook = \"ops\"")"
	assert_eq 1 "$(requests)" "requests"
'

test_case 'HTTPS with a self-signed certificate: failed at once without ca_file, delivered with it' '
	fresh tls
	url="https://127.0.0.1:$TLS/services/T/$URL_TOKEN"
	conf $TMP/c.json 10s 1s 5 "{\"name\":\"tls\",\"format\":\"slack\",\"url\":\"$url\"}"
	assert_exit 1 xr -c $TMP/c.json report --daily --date $DAY --notify
	keep tls-refused
	cat $TMP/out
	assert_grep " tls +1 +failed +- .*(certificate|SSL)" $TMP/out
	assert_eq 0 "$(requests $TMP/tls)" "requests that got through"
	assert_eq "failed|1" "$(pair "webhook = \"tls\"")"
	conf $TMP/c.json 10s 1s 5 "{\"name\":\"tls\",\"format\":\"slack\",\"url\":\"$url\",\"ca_file\":\"$TMP/cert.pem\"}"
	assert_exit 0 xr -c $TMP/c.json report --daily --date $DAY --notify
	keep tls-ok
	assert_grep " tls +1 +delivered +200 " $TMP/out
	assert_eq 1 "$(requests $TMP/tls)" "requests"
	assert_eq "failed|1
sent|1" "$(pair "webhook = \"tls\"")"
	cp $TMP/tls/req.1.body $OUTPUTS/tls.body
'

# -------------------------------------------------------------- counts

test_case 'the daily report and the metrics file count the outbox: sent, failed, pending' '
	fresh counts
	conf $TMP/c.json 10s 1h 5 "$OPS"
	a1=$($XRTEST raise $TMP/c.json $DB s g claimed warning)
	a2=$($XRTEST raise $TMP/c.json $DB s g lost critical)
	a3=$($XRTEST raise $TMP/c.json $DB s g pending warning)
	answers 200 404 500
	assert_exit 0 xr -c $TMP/c.json run --json --metrics-file $TMP/m.prom
	keep counts-run
	pycheck $TMP/out "assert b[\"alerts\"] == {\"sent\": 1, \"failed\": 1, \"pending\": 1}, b[\"alerts\"]"
	assert_eq "sent|1 failed|1 pending|1" "$(pair "alert in ($a1, $a2, $a3)" | tr "\n" " " | sed "s/ $//")"
	# the metrics: the alerts view'"'"'s numbers
	for f in "xrecover_alerts_sent_total 1" "xrecover_alerts_failed_total 1" "xrecover_alerts_pending 1"; do
		assert_grep "^$f\$" $TMP/m.prom
	done
	assert_grep "^# TYPE xrecover_alerts_sent_total counter\$" $TMP/m.prom
	assert_grep "^# TYPE xrecover_alerts_pending gauge\$" $TMP/m.prom
	cp $TMP/m.prom $OUTPUTS/m.prom
	# the daily report
	xr report --daily --date $DAY --format json >$TMP/day.json
	pycheck $TMP/day.json "
assert (b[\"alerts_sent\"], b[\"alerts_failed\"], b[\"alerts_pending\"]) == (1, 1, 1), b
g = [x for x in b[\"groups\"] if x[\"stream\"] == \"s\" and x[\"group\"] == \"g\"][0]
assert (g[\"alerts_sent\"], g[\"alerts_failed\"], g[\"alerts_pending\"]) == (1, 1, 1), g
assert {\"level\": \"warning\", \"text\": \"Alerts: 1 sent, 1 failed, 1 pending.\"} in b[\"verdict\"][\"lines\"], b[\"verdict\"]
"
	xr report --daily --date $DAY >$OUTPUTS/day.txt
	assert_grep "Alerts: 1 sent, 1 failed, 1 pending\." $OUTPUTS/day.txt
	assert_grep "^Alerts that failed +1\$" $OUTPUTS/day.txt
	xr report --daily --date $DAY --format csv -o $OUTPUTS/day.csv
	assert_grep "alerts_sent,alerts_failed,alerts_pending" $OUTPUTS/day.csv
	assert_grep "^$DAY,s,g,.*,1,1,1" $OUTPUTS/day.csv
	xr report --daily --date $DAY --format html -o $OUTPUTS/day.html
	assert_grep "Alerts: 1 sent, 1 failed, 1 pending\." $OUTPUTS/day.html
'

# ------------------------------------------------------------- secrets

test_case 'secrets: no URL token, secret or Redis password in any output, log, report, journal or body' '
	answers 200
	n=0
	for db in $TMP/*.db; do
		sqlite3 $db .dump >$OUTPUTS/$(basename $db).dump
		n=$((n + 1))
	done
	echo "$n journals, $(ls $OUTPUTS | wc -l) files searched"
	[ $n -ge 8 ] || fail "only $n journals"
	ls $OUTPUTS/body.* >/dev/null || fail "no alert bodies kept"
	for f in $OUTPUTS/*; do
		for s in "$URL_TOKEN" "$WHSEC" "${WHSEC#whsec_}" "$REDIS_PASS"; do
			if grep -aqF -- "$s" "$f"; then
				fail "$f shows the secret $s"
			fi
		done
	done
	# the search finds what is there
	grep -aqF "$URL_TOKEN" $TMP/c.json
'

test_done
