#!/bin/sh
# t0007-status: one view of groups, consumers and pending entries, as text
# and as JSON from the same rows.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

empty() {
	assert_exit 0 xr status
	assert_grep '^no consumer groups found' "$TMP"/out
	[ ! -e "$DB" ] || fail "status created a journal"
}
test_case 'an empty Redis: says so, touches no journal' empty

text_view() {
	make_stream orders billing 10
	crash_consumer orders billing host-1 6
	rcli XGROUP CREATECONSUMER orders billing idle-one >/dev/null
	# (3 s thresholds: fresh stays below them here and in the run of the next case
	# on a loaded machine too)
	sleep 3.1
	rcli XGROUP CREATECONSUMER orders billing fresh >/dev/null
	assert_exit 0 xr status --claim-idle 3s --zombie-idle 3s
	cat "$TMP"/out
	assert_grep '^STREAM +GROUP +CONSUMERS +PENDING +STALE +HELD +LAG +OLDEST +OLDEST-ID +LAST-DELIVERED +CLAIM-IDLE +WHY$' "$TMP"/out
	assert_grep '^orders +billing +3 +6 +6 +0 +4 +[34]\.[0-9]s +[0-9]+-[0-9]+ +[0-9]+-[0-9]+ +3\.0s +fixed$' "$TMP"/out
	assert_grep '^STREAM +GROUP +CONSUMER +STATE +PENDING +IDLE +INACTIVE$' "$TMP"/out
	assert_grep '^orders +billing +host-1 +stale +6 +' "$TMP"/out
	assert_grep '^orders +billing +idle-one +zombie +0 +' "$TMP"/out
	assert_grep '^orders +billing +fresh +active +0 +' "$TMP"/out
}
test_case 'text: a group with a crashed, an idle and a fresh consumer' text_view

after_run() {
	xr run -s orders --claim-idle 0 --zombie-idle 3s 2>/dev/null
	assert_exit 0 xr status -s orders
	assert_grep '^orders +billing +2 +6 +0 +6 +4 ' "$TMP"/out
	assert_grep '^orders +billing +xrecover +recovery +6 +' "$TMP"/out
	assert_no_grep 'idle-one' "$TMP"/out
}
test_case 'after a run: what the recovery consumer holds' after_run

json_view() {
	make_stream other g 3
	assert_exit 0 xr status --json
	python3 - "$TMP"/out <<-'EOF'
	import json, sys
	s = json.load(open(sys.argv[1]))
	g = {(x["stream"], x["group"]): x for x in s["groups"]}
	o = g[("orders", "billing")]
	assert o["pending"] == 6 and o["held"] == 6 and o["lag"] == 4 and o["consumers"] == 2, o
	assert isinstance(o["oldest_pending_age_ms"], int) and "-" in o["oldest_pending_id"], o
	assert o["claim_idle_ms"] == 60000 and o["claim_idle_why"] == "fixed", o
	assert g[("other", "g")]["pending"] == 0 and g[("other", "g")]["oldest_pending_age_ms"] is None
	c = {(x["stream"], x["consumer"]): x for x in s["consumers"]}
	x = c[("orders", "xrecover")]
	assert x["state"] == "recovery" and x["pending"] == 6 and isinstance(x["idle_ms"], int), x
	EOF
}
test_case 'JSON: the same rows, typed' json_view

selection() {
	assert_exit 0 xr status -s other
	assert_no_grep '^orders' "$TMP"/out
	assert_grep '^other +g ' "$TMP"/out
	assert_exit 0 xr status --match 'ord*' -g billing
	assert_grep '^orders +billing ' "$TMP"/out
	assert_no_grep '^other' "$TMP"/out
	# a typo is no idle stream: the rest is shown, and exit 8
	assert_exit 8 xr status -s missing
	assert_grep 'stream=missing warning="no such stream"' "$TMP"/err
	assert_grep "^xrecover: no such stream: 'missing' \(the other streams are shown\)$" "$TMP"/err
	assert_exit 8 xr status -s other -s missing -s gone
	assert_grep '^other +g ' "$TMP"/out
	assert_grep "no such streams: 'missing', 'gone'" "$TMP"/err
	assert_exit 8 xr --json status -s other -s missing
	python3 - "$TMP"/out <<-'EOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	assert r["missing"] == ["missing"] and [g["stream"] for g in r["groups"]] == ["other"], r
	EOF
}
test_case 'status takes the same selection as run; a named stream that does not exist: exit 8' selection

# stale_vs_dry T: status --json's STALE per group, and what run --dry-run --json
# would claim per group, with the same thresholds, as "stream/group=N ..." lines
stale_vs_dry() {
	xr --json status -s st1 -s st2 --claim-idle "$1" --exclude-consumer 'keep-*' >"$TMP"/st.json
	xr --json run --dry-run -s st1 -s st2 --claim-idle "$1" --exclude-consumer 'keep-*' \
		--no-clean >"$TMP"/dry.json 2>/dev/null
	python3 - "$TMP"/st.json "$TMP"/dry.json <<-'EOF'
	import json, sys
	st = json.load(open(sys.argv[1]))
	dry = json.load(open(sys.argv[2]))
	a = {x["stream"] + "/" + x["group"]: x["stale"] for x in st["groups"]}
	b = {x["stream"] + "/" + x["group"]: x["claimed"] for x in dry["groups"]}
	assert dry["dry_run"] is True, dry
	assert a == b, ("status", a, "run --dry-run", b)
	print(" ".join("%s=%d" % (k, a[k]) for k in sorted(a)))
	EOF
}

stale_same() {
	"$XRTEST" fill "$REDIS_URL" st1 30 >/dev/null
	"$XRTEST" fill "$REDIS_URL" st2 10 >/dev/null
	rcli XGROUP CREATE st1 g1 0 >/dev/null
	rcli XGROUP CREATE st1 g2 0 >/dev/null
	rcli XGROUP CREATE st2 g1 0 >/dev/null
	crash_consumer st1 g1 old 5
	crash_consumer st1 g1 keep-1 3
	crash_consumer st1 g2 live 4
	crash_consumer st2 g1 dead 6
	# the recovery consumer holds some: never counted as stale
	xr -q run -s st2 --claim-idle 0 --no-clean
	crash_consumer st2 g1 other 4
	# (entry ages set with XCLAIM IDLE, far from the thresholds: a slow
	# machine does not move an entry across one)
	for c in "st1 g1 old" "st1 g1 keep-1" "st1 g2 live" "st2 g1 other" "st2 g1 xrecover"; do
		# shellcheck disable=SC2086 # stream, group, consumer
		age_pending $c 80000
	done
	crash_consumer st1 g1 mid 6
	crash_consumer st1 g2 live 1
	age_pending st1 g1 mid 40000
	age_pending st1 g2 live 40000
	# live reads again: it is active, but its first five entries are old
	crash_consumer st1 g2 live 1
	# now: old's, keep-1's, live's first four and other's entries idle 80s;
	# mid's and live's fifth 40s; live's sixth 0s; the recovery consumer's held 80s
	stale_vs_dry 60s >"$TMP"/60s
	stale_vs_dry 20s >"$TMP"/20s
	stale_vs_dry 0 >"$TMP"/0
	stale_vs_dry 1h >"$TMP"/1h
	cat "$TMP"/60s "$TMP"/20s "$TMP"/0 "$TMP"/1h
	assert_eq "st1/g1=5 st1/g2=4 st2/g1=4" "$(cat "$TMP"/60s)" "at 60s"
	assert_eq "st1/g1=11 st1/g2=5 st2/g1=4" "$(cat "$TMP"/20s)" "at 20s"
	assert_eq "st1/g1=11 st1/g2=6 st2/g1=4" "$(cat "$TMP"/0)" "at 0"
	assert_eq "st1/g1=0 st1/g2=0 st2/g1=0" "$(cat "$TMP"/1h)" "at 1h"
	# a consumer whose entries run would claim is stale, however recently it read
	assert_exit 0 xr status -s st1 --claim-idle 20s --exclude-consumer 'keep-*'
	cat "$TMP"/out
	assert_grep '^st1 +g2 +live +stale +6 ' "$TMP"/out
	assert_grep '^st1 +g1 +keep-1 +excluded +3 ' "$TMP"/out
}
test_case 'STALE is what run --dry-run would claim: same thresholds, same entries' stale_same

test_done
