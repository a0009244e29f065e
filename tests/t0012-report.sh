#!/bin/sh
# t0012-report: incidents (stable IDs, one per consumer that stopped, with
# each entry's fate), replay --incident, and the reports: --incidents,
# --incident, --run, --daily in every format.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
GEN=$XR_BUILD/bench-base

jq_() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"
}

incidents() {
	make_stream o g 10
	# two consumers read five entries each and die
	rcli XREADGROUP GROUP g w1 COUNT 5 STREAMS o '>' >/dev/null
	rcli XREADGROUP GROUP g w2 COUNT 5 STREAMS o '>' >/dev/null
	xr -q run -s o --claim-idle 0 --no-clean
	assert_eq "2" "$(sql "select count(*) from incidents")"
	i1=$(sql "select incident from incidents where consumer = 'w1'")
	i2=$(sql "select incident from incidents where consumer = 'w2'")
	assert_eq "incident_opened" "$(sql "select kind from events where seq = $i1")"
	assert_eq "5|5" "$(sql "select claimed, (select count(*) from events where incident = $i1 and kind = 'claim') from incidents where incident = $i1")"
	# w1 comes back, reads more, dies again before it was deleted: the same incident
	rcli XADD o '*' n 11 >/dev/null
	rcli XREADGROUP GROUP g w1 COUNT 1 STREAMS o '>' >/dev/null
	xr -q run -s o --claim-idle 0 --no-clean
	assert_eq "2" "$(sql "select count(*) from incidents")"
	assert_eq "6" "$(sql "select claimed from incidents where incident = $i1")"
	assert_eq "2" "$(sql "select runs from incidents where incident = $i1")"
	# deleted: the incident ends with its deletion; a new death of that name is a new incident
	xr -q run -s o --claim-idle 1h --zombie-idle 0
	assert_eq "1" "$(sql "select count(*) from events where incident = $i1 and kind = 'consumer_deleted'")"
	[ -n "$(sql "select deleted_at from incidents where incident = $i1")" ] || fail "no deleted_at"
	rcli XADD o '*' n 12 >/dev/null
	rcli XREADGROUP GROUP g w1 COUNT 1 STREAMS o '>' >/dev/null
	xr -q run -s o --claim-idle 0 --no-clean
	assert_eq "3" "$(sql "select count(*) from incidents")"
	assert_eq "1" "$(sql "select claimed from incidents where consumer = 'w1' and incident <> $i1")"
	echo "$i1 $i2" >"$TMP"/ids
	xr verify >/dev/null
}
test_case 'a consumer that stops opens one incident, with a stable ID, until it is deleted' incidents

incident_report() {
	read -r i1 i2 <"$TMP"/ids
	# the fates: w2's entries replayed, the copies read and acknowledged, then settled
	xr -q replay --incident "$i2" >/dev/null
	assert_eq 5 "$(sql "select count(*) from replayed_messages")"
	"$XRTEST" worker "$REDIS_URL" o g w3 1 >/dev/null
	xr -q run -s o --claim-idle 1h --no-clean
	xr report --incident "$i2" >"$TMP"/out
	assert_grep "^xrecover incident $i2: consumer w2 of o/g\$" "$TMP"/out
	assert_grep '^Entries claimed +5$' "$TMP"/out
	assert_grep '^Entries settled +5$' "$TMP"/out
	# the timeline, earliest first
	xr report --incident "$i2" --format json >"$TMP"/j
	assert_eq "consumer last active|incident opened|claimed|consumer deleted|replayed|settled" \
		"$(jq_ "$TMP"/j '"|".join(e["event"] for e in d["timeline"])')"
	assert_eq "5 run 1, deliveries 1-1" "$(jq_ "$TMP"/j '" ".join(str(e[k]) for e in d["timeline"] if e["event"] == "claimed" for k in ("count", "detail"))')"
	assert_eq "1" "$(jq_ "$TMP"/j 'len(set(e["at"] for e in d["timeline"] if e["event"] in ("replayed", "settled")) - set()) >= 1 and sorted(e["at"] for e in d["timeline"]) == [e["at"] for e in d["timeline"]]' | sed 's/True/1/')"
	assert_grep ' claimed +5 +run 1, deliveries 1-1$' "$TMP"/out
	# times are times, in the timeline and for each entry
	iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
	jq_ "$TMP"/j '"\n".join([e["at"] for e in d["timeline"]] + [e["claimed_at"] for e in d["entries"]])' >"$TMP"/times
	assert_lines 11 "$TMP"/times
	assert_eq 11 "$(grep -cE "$iso" "$TMP"/times)" "times in the timeline and the entries"
	# each entry: its fate and its payload
	assert_eq 5 "$(grep -c 'replayed and read  {"i":"[0-9]*"}$' "$TMP"/out)"
	xr report --incident "$i2" --format json >"$TMP"/j
	assert_eq "5 5 replayed and read" "$(jq_ "$TMP"/j 'd["claimed"], len(d["entries"]), d["entries"][0]["fate"]' | tr '\n' ' ' | sed 's/ $//; s/(//; s/)//; s/,//g' | sed "s/'//g")"
	xr report --incident "$i2" --format csv >"$TMP"/csv
	assert_eq "entry_id,claimed_at,run,deliveries,fate,payload" "$(head -n 1 "$TMP"/csv | tr -d '\r')"
	assert_lines 6 "$TMP"/csv
	assert_exit 6 "$XR" --db "$DB" report --incident 999999
	assert_grep '^xrecover: there is no incident 999999' "$TMP"/err
	# the listing, and its time bounds
	xr report --incidents --format json >"$TMP"/j
	assert_eq 3 "$(jq_ "$TMP"/j 'len(d["incidents"])')"
	xr report --incidents --since 1h --until 2099-01-01 >"$TMP"/out
	assert_grep '^Incidents +3$' "$TMP"/out
	xr report --incidents --since 2099-01-01 >"$TMP"/out
	assert_grep '^Incidents +0$' "$TMP"/out
}
test_case 'report --incident: the timeline earliest first, each entry with its fate and payload' incident_report

run_report() {
	xr report --run 1 --format json >"$TMP"/j
	assert_eq "ok 10 2" "$(jq_ "$TMP"/j 'd["status"], d["claimed"], len(d["groups"]) and d["groups"][0]["incidents"]' | tr -d "(),'" )"
	xr report --run 1 --format md >"$TMP"/md
	assert_grep '^\*\*xrecover run 1\*\*$' "$TMP"/md
	assert_grep '^\| o \| g \| 10 \|' "$TMP"/md
	# the run's duration reads as one, its start as a time
	xr report --run 1 >"$TMP"/out
	assert_grep '^Duration +[0-9]+ms$' "$TMP"/out
	assert_grep '^Started +[0-9-]+T[0-9:.]+Z$' "$TMP"/out
	assert_exit 6 "$XR" --db "$DB" report --run 999
}
test_case 'report --run: one run, as JSON and Markdown' run_report

daily_today() {
	day=$(date -u +%Y-%m-%d)
	xr report --daily --date "$day" --format json >"$TMP"/j
	n=$(sql "select count(*) from claimed_messages where claimed_at >= '$day'")
	assert_eq "$n" "$(jq_ "$TMP"/j 'd["claimed"]')"
	assert_eq "$(sql "select count(*) from runs where started_at >= '$day'")" "$(jq_ "$TMP"/j 'd["runs"]')"
	assert_eq whole "$(jq_ "$TMP"/j 'd["verify"]')"
	# the head at the end of the day is the last event's hash, and verify --head accepts it
	assert_eq "$(sql "select lower(hex(hash)) from events order by seq desc limit 1")" "$(jq_ "$TMP"/j 'd["head"]')"
	xr verify --head "$(jq_ "$TMP"/j 'd["head"]')" >/dev/null
	assert_eq "o g" "$(jq_ "$TMP"/j 'd["groups"][0]["stream"] + " " + d["groups"][0]["group"]')"
	# alert counts from the outbox: none here (no webhooks)
	assert_eq "[0, 0, 0, 0, 0, 0]" "$(jq_ "$TMP"/j '[d[k] for k in ("alerts_sent", "alerts_failed", "alerts_pending")] + [d["groups"][0][k] for k in ("alerts_sent", "alerts_failed", "alerts_pending")]')"
	xr report --daily --date "$day" --format csv -o "$TMP"/day.csv
	assert_eq "date,stream,group,claimed,reconciled,lost,deleted,dead_lettered,replayed,settled,rolled_back,incidents,alerts_sent,alerts_failed,alerts_pending" "$(head -n 1 "$TMP"/day.csv | tr -d '\r')"
	assert_grep "^$day,o,g,$n," "$TMP"/day.csv
	xr report --daily --date "$day" --format html -o "$TMP"/day.html
	assert_grep '<svg ' "$TMP"/day.html
	assert_grep 'class="bar"' "$TMP"/day.html
	# self-contained: nothing is fetched from anywhere
	assert_no_grep '(src|href)=' "$TMP"/day.html
	assert_no_grep 'https?://' "$(grep -v 'xmlns="http://www.w3.org/2000/svg"' "$TMP"/day.html >"$TMP"/nosvg; echo "$TMP"/nosvg)"
	xr report --daily --date "$day" --format md >"$TMP"/md
	assert_grep '^- Hash chain: whole$' "$TMP"/md
	[ "$(wc -c <"$TMP"/md)" -lt 4000 ] || fail "the Markdown report does not fit in a chat message"
}
test_case 'report --daily for today: counts, verify, head; csv, html, md' daily_today

daily_failed_run() {
	DB=$TMP/failed.db
	rcli SET notastream x >/dev/null
	assert_exit 1 xr run -s notastream
	day=$(date -u +%Y-%m-%d)
	xr report --daily --date "$day" --format json >"$TMP"/j
	assert_eq 1 "$(jq_ "$TMP"/j 'd["runs_failed"]')" "runs_failed"
	assert_eq "1 failed" "$(jq_ "$TMP"/j 'str(d["failures"][0]["run"]) + " " + d["failures"][0]["status"]')" "the failed run"
	xr report --daily --date "$day" >"$TMP"/out
	assert_grep '^ +1 +[0-9T:Z-]+ +failed +key .notastream. is a string, not a stream$' "$TMP"/out
	assert_eq "Verdict: needs action" "$(sed -n 3p "$TMP"/out)"
	assert_grep '^  \[bad\] Every run accounted for: 1 run, 0 ok, 1 failed, 0 crashed; no gap in the schedule\.$' "$TMP"/out
}
test_case 'report --daily lists a run that failed' daily_failed_run

report_file() {
	day=$(date -u +%Y-%m-%d)
	xr report --run 1 --format json >"$TMP"/want
	# reports carry payloads: only their owner reads them, whatever the umask
	(umask 022; xr report --run 1 --format json -o "$TMP"/r1.json)
	assert_eq 600 "$(stat -c %a "$TMP"/r1.json)" "mode of a new report"
	cmp "$TMP"/want "$TMP"/r1.json || fail "-o wrote something else than stdout"
	echo old >"$TMP"/r2.json
	chmod 644 "$TMP"/r2.json
	(umask 022; xr report --daily --date "$day" -o "$TMP"/r2.json)
	assert_eq 600 "$(stat -c %a "$TMP"/r2.json)" "mode of a replaced report"
	assert_grep '^xrecover daily report' "$TMP"/r2.json
	# a symlink planted at the temporary name that older versions used
	# (FILE.tmp<pid>: the pid is the one exec keeps) is not written through
	echo victim >"$TMP"/victim
	sh -c 'ln -s "$1" "$2.tmp$$" && exec "$XR" --db "$DB" report --daily --date "$3" -o "$2"' \
		sh "$TMP"/victim "$TMP"/r3.txt "$day"
	assert_eq victim "$(cat "$TMP"/victim)" "the symlink's target"
	[ ! -L "$TMP"/r3.txt ] || fail "r3.txt is a symlink"
	[ -f "$TMP"/r3.txt ] || fail "r3.txt is not a file"
	assert_eq 600 "$(stat -c %a "$TMP"/r3.txt)" "mode"
	# a symlink at FILE itself is replaced by the report, its target untouched
	ln -s "$TMP"/victim "$TMP"/r4.txt
	xr report --daily --date "$day" -o "$TMP"/r4.txt
	assert_eq victim "$(cat "$TMP"/victim)" "the symlink's target"
	[ ! -L "$TMP"/r4.txt ] || fail "r4.txt is still a symlink"
	assert_grep '^xrecover daily report' "$TMP"/r4.txt
	# nothing is left behind but the planted symlink
	assert_eq 1 "$(find "$TMP" -maxdepth 1 -name 'r[0-9].*.*' | wc -l)" "temporary files"
}
test_case 'report -o: mode 0600 whatever the umask, created exclusively, never through a symlink' report_file

daily_generated() {
	DB=$TMP/gen.db
	# two days of runs every two minutes, none from 05:00 to 07:00 each day
	"$GEN" journal "$DB" 20000 2 -1 5-7
	yday=$(date -u -d yesterday +%Y-%m-%d)
	xr report --daily --date "$yday" >"$TMP"/out
	head -n 30 "$TMP"/out
	assert_grep '^Runs +660$' "$TMP"/out
	assert_grep '^Usual interval between runs +2m0s$' "$TMP"/out
	assert_grep '^Gaps in the schedule +1$' "$TMP"/out
	assert_grep "^${yday}T04:58:00Z +${yday}T07:00:00Z +2h2m\$" "$TMP"/out
	assert_grep "^Entries claimed +$(sql "select count(*) from claimed_messages where claimed_at >= '$yday' and claimed_at < date('$yday', '+1 day')")\$" "$TMP"/out
	assert_grep '^Hash chain +whole$' "$TMP"/out
	# the verdict comes first: nothing lost, every run with the gap, the chain and its head
	assert_eq "Verdict: worth a look" "$(sed -n 3p "$TMP"/out)"
	assert_eq "  [ok] Nothing lost." "$(sed -n 4p "$TMP"/out)"
	assert_eq "  [warning] Every run accounted for: 660 runs, 660 ok, 0 failed, 0 crashed; 1 gap in the schedule: 04:58 to 07:00 UTC (2h2m)." "$(sed -n 5p "$TMP"/out)"
	xr report --daily --date "$yday" --format json >"$TMP"/j
	head=$(jq_ "$TMP"/j 'd["head"]')
	assert_grep "^  \[ok\] Chain whole: $(jq_ "$TMP"/j 'd["events"]') events checked; head $head\.\$" "$TMP"/out
	assert_eq "warning: ok warning ok" "$(jq_ "$TMP"/j 'd["verdict"]["level"] + ": " + " ".join(l["level"] for l in d["verdict"]["lines"])')"
	# JSON keys are an interface: the same as ever, the verdict and archives_unread added
	assert_eq "report title verdict date runs runs_ok runs_failed runs_warning mode interval schedule_gaps claimed reconciled lost deleted dead_lettered replayed settled rolled_back incidents_opened alerts_sent alerts_failed alerts_pending replay_batches rollback_batches verify events first_event last_event head failures gaps groups incidents replays rollbacks claims_per_hour pending archives_unread" \
		"$(jq_ "$TMP"/j '" ".join(d)')"
	assert_eq "stream group claimed reconciled lost deleted dead_lettered replayed settled rolled_back incidents alerts_sent alerts_failed alerts_pending|from to length_ms" \
		"$(jq_ "$TMP"/j '" ".join(d["groups"][0]) + "|" + " ".join(d["gaps"][0])')"
	# people read labels, in text, Markdown and HTML alike
	assert_no_grep '^(runs_ok|rollback_batches|schedule_gaps|head) ' "$TMP"/out
	assert_grep '^Runs that ended well +660$' "$TMP"/out
	assert_grep "^Head hash at the end of the day +$head\$" "$TMP"/out
	xr report --daily --date "$yday" --format md >"$TMP"/md
	assert_eq "**Verdict: worth a look**" "$(sed -n 3p "$TMP"/md)"
	assert_grep '^- \[ok\] Nothing lost\.$' "$TMP"/md
	assert_grep '^- Rollbacks: 0$' "$TMP"/md
	assert_no_grep '^- [a-z_]+: ' "$TMP"/md
	xr report --daily --date "$yday" --format html -o "$TMP"/day.html
	assert_grep '<dt>Runs that ended well</dt><dd>660</dd>' "$TMP"/day.html
	assert_no_grep '<dt>[a-z_]+</dt>' "$TMP"/day.html
	# the default day is yesterday
	xr report --daily >"$TMP"/out2
	cmp "$TMP"/out "$TMP"/out2 || fail "--daily without --date is not yesterday"
	# a day with no runs at all is one long gap
	xr report --daily --date 2001-01-01 --format json >"$TMP"/j
	assert_eq "0 1 86400000" "$(jq_ "$TMP"/j 'd["runs"], d["schedule_gaps"], d["gaps"][0]["length_ms"]' | tr -d '(),')"
}
test_case 'report --daily over a generated journal: runs, the interval, gaps, totals' daily_generated

daily_lost() {
	DB=$TMP/lost.db
	day=$(date -u +%Y-%m-%d)
	make_stream orders billing 10
	crash_consumer orders billing w1
	"$XRTEST" xdel "$REDIS_URL" orders 2 3 >/dev/null
	xr -q run -s orders --claim-idle 0 --no-clean 2>/dev/null || true
	assert_eq 3 "$(sql "select count(*) from lost_messages")"
	xr report --daily --date "$day" >"$TMP"/out
	cat "$TMP"/out
	assert_eq "Verdict: needs action" "$(sed -n 3p "$TMP"/out)"
	assert_eq "  [bad] 3 entries lost in orders/billing." "$(sed -n 4p "$TMP"/out)"
	assert_no_grep 'Nothing lost' "$TMP"/out
	assert_grep '^Entries lost +3$' "$TMP"/out
	# lost in two groups, one with a hostile name: each named, escaped in every format
	pay=$(printf 'pay\033<i>')
	make_stream "$pay" audit 10
	crash_consumer "$pay" audit w2
	"$XRTEST" xdel "$REDIS_URL" "$pay" 0 2 >/dev/null
	xr -q run -s "$pay" --claim-idle 0 --no-clean 2>/dev/null || true
	xr report --daily --date "$day" >"$TMP"/out
	assert_eq '  [bad] 5 entries lost: 3 in orders/billing, 2 in pay\x1b<i>/audit.' "$(sed -n 4p "$TMP"/out)"
	xr report --daily --date "$day" --format json >"$TMP"/j
	assert_eq "bad 5" "$(jq_ "$TMP"/j 'd["verdict"]["level"] + " " + str(d["lost"])')"
	assert_eq "5 entries lost: 3 in orders/billing, 2 in pay\x1b<i>/audit." "$(jq_ "$TMP"/j 'd["verdict"]["lines"][0]["text"].replace(chr(27), "\\x1b")')"
	xr report --daily --date "$day" --format html -o "$TMP"/day.html
	assert_grep '<header id="verdict" class="verdict bad">' "$TMP"/day.html
	assert_grep '<li class="bad">5 entries lost: 3 in orders/billing, 2 in pay\\x1b&lt;i&gt;/audit\.</li>' "$TMP"/day.html
	assert_no_grep '<i>/audit' "$TMP"/day.html
}
test_case 'report --daily: the verdict names what was lost, and where' daily_lost

daily_crashed() {
	DB=$TMP/crashed.db
	day=$(date -u +%Y-%m-%d)
	make_stream cr g 3
	crash_consumer cr g w1
	# killed before it could journal its end: a run with no end, until the next run sees it
	XRECOVER_FAILPOINT=before-run-end "$XR" -q -r "$REDIS_URL" --db "$DB" run -s cr \
		--claim-idle 0 --no-clean 2>/dev/null && fail "the run was not killed"
	xr report --daily --date "$day" >"$TMP"/out
	assert_eq "Verdict: worth a look" "$(sed -n 3p "$TMP"/out)"
	assert_grep '^  \[warning\] Not every run accounted for: 1 run, 0 ok, 0 failed, 0 crashed, 1 with no end in the journal ' "$TMP"/out
	xr -q run -s cr --claim-idle 0 --no-clean
	xr report --daily --date "$day" >"$TMP"/out
	assert_eq "Verdict: needs action" "$(sed -n 3p "$TMP"/out)"
	assert_grep '^  \[bad\] Every run accounted for: 2 runs, 1 ok, 0 failed, 1 crashed; no gap in the schedule\.$' "$TMP"/out
	# runs_failed counts the crashed run too, as it always has
	xr report --daily --date "$day" --format json >"$TMP"/j
	assert_eq "1 1 crashed" "$(jq_ "$TMP"/j 'str(d["runs_ok"]) + " " + str(d["runs_failed"]) + " " + d["failures"][0]["status"]')"
}
test_case 'report --daily: a run that crashed, before and after the next run finds it' daily_crashed

fate_chain() {
	DB=$TMP/chain.db
	make_stream pc g 3
	crash_consumer pc g w1
	# redelivered: the copies go back to the stream, w2 reads them and dies too
	xr -q run -s pc --claim-idle 0 --no-clean --action redeliver
	crash_consumer pc g w2
	# claimed again and replayed by hand: w3 reads those copies and dies as well
	xr -q run -s pc --claim-idle 0 --no-clean
	xr -q replay --run 2 >/dev/null
	crash_consumer pc g w3
	# delivered three times in all: the last copies go to the dead-letter stream
	xr -q run -s pc --claim-idle 0 --no-clean --max-deliveries 2 2>/dev/null
	assert_eq 3 "$(rcli XLEN pc:dlq)"
	assert_eq 0 "$(rcli XPENDING pc g | head -n 1)"
	assert_eq "3|delivered 3 times, more than --max-deliveries 2" "$(sql "select distinct deliveries || '|' || reason from dead_letters")"
	i1=$(sql "select incident from incidents where consumer = 'w1'")
	sql "select entry_id from claimed_messages where from_consumer = 'w1' order by entry_id" >"$TMP"/originals
	sql "select entry_id from claimed_messages where from_consumer = 'w3' order by entry_id" >"$TMP"/lastcopies
	# w1's entries: their fate is their last copy's, with all their deliveries
	xr report --incident "$i1" >"$TMP"/out
	cat "$TMP"/out
	while read -r e; do
		assert_grep "^$e +[0-9T:Z-]+ +1 +3 +dead-lettered +\\{\"i\":\"[0-9]\"\\}\$" "$TMP"/out
	done <"$TMP"/originals
	assert_grep '^Entries dead-lettered +3$' "$TMP"/out
	xr report --incident "$i1" --format json >"$TMP"/j
	assert_eq "dead-lettered:3 dead-lettered:3 dead-lettered:3" "$(jq_ "$TMP"/j '" ".join(e["fate"] + ":" + str(e["deliveries"]) for e in d["entries"])')"
	assert_eq "3" "$(jq_ "$TMP"/j 'd["dead_lettered"]')"
	assert_eq "claimed replayed copy claimed replayed copy claimed dead_lettered" "$(jq_ "$TMP"/j '" ".join(e["event"] for e in d["timeline"] if e["event"] in ("claimed", "replayed", "copy claimed", "dead_lettered"))')"
	# the copies' own incidents say the same
	i3=$(sql "select incident from incidents where consumer = 'w3'")
	xr report --incident "$i3" --format json >"$TMP"/j
	assert_eq "dead-lettered:3 dead-lettered:3 dead-lettered:3" "$(jq_ "$TMP"/j '" ".join(e["fate"] + ":" + str(e["deliveries"]) for e in d["entries"])')"
	# each dead letter names the original and the copy it came from
	"$XRTEST" dlq "$REDIS_URL" pc g pc:dlq --consumer w3 --deliveries 3 \
		--reason 'delivered 3 times, more than --max-deliveries 2' >"$TMP"/d || true
	assert_grep '^dead_letters=3 same=3 different=0 missing=0 pending=0 twice=0 copies=3 origin_wrong=0 consumer_wrong=0 deliveries_wrong=0 time_wrong=0 reason_wrong=0 bad_layout=0 other=0$' "$TMP"/d
	dl_field() {
		rcli --raw XRANGE pc:dlq - + | awk -v f="$1" 'p { print; p = 0 } $0 == f { p = 1 }' | sort
	}
	assert_eq "$(cat "$TMP"/originals)" "$(dl_field xrecover-origin-id)"
	assert_eq "$(cat "$TMP"/lastcopies)" "$(dl_field xrecover-copy-id)"
	assert_eq "pc pc pc" "$(dl_field xrecover-origin-stream | tr '\n' ' ' | sed 's/ $//')"
	assert_eq "g g g" "$(dl_field xrecover-copy-group | tr '\n' ' ' | sed 's/ $//')"
	xr verify >/dev/null
}
test_case 'an entry whose copies failed again: its fate is its last copy'"'"'s, dead-lettered, with every delivery; the dead letter names the original and the copy' fate_chain

bad_input() {
	assert_exit 2 "$XR" --db "$DB" report
	assert_grep 'say which' "$TMP"/err
	assert_exit 2 "$XR" --db "$DB" report --daily --incidents
	assert_exit 2 "$XR" --db "$DB" report --daily --date 2026-13-01
	assert_grep "^xrecover: --date: '2026-13-01' is not a date" "$TMP"/err
	assert_exit 2 "$XR" --db "$DB" report --daily --format pdf
	assert_grep "is not text, md, json, csv or html" "$TMP"/err
	assert_exit 2 "$XR" --db "$DB" report --incident x1
	assert_exit 2 "$XR" --db "$DB" report --daily --notify
	assert_grep "no webhooks configured" "$TMP"/err
	assert_exit 2 "$XR" --db "$DB" report --incidents --notify
	assert_grep "notify goes with --daily" "$TMP"/err
	assert_exit 2 "$XR" --db "$DB" report --daily -o /nonexistent/dir/r.txt
	assert_exit 4 "$XR" --db "$TMP"/none.db report --daily
	assert_lines 1 "$TMP"/err
}
test_case 'bad input: no report asked, two asked, a bad date, format or ID, --notify, -o' bad_input

test_done
