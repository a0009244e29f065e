#!/bin/sh
# t0016-trace: `xrecover trace`, one message's whole story.  An order goes
# claim -> copy -> the copy read by a consumer that dies, claimed again ->
# dead-lettered -> the dead letter replayed -> its copy read and settled:
# every hop appears in order with its IDs and streams, from any of its IDs;
# its fate; what Redis says of each entry now; --field; an unknown entry;
# Redis unreachable.  (Hostile names through trace: t0014-escape.)
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# a time as trace prints it
T='[0-9T:.-]+Z'

jq_() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"
}

# The IDs a consumer read, one per line, from XREADGROUP's raw reply.
read_ids() {
	rcli --raw XREADGROUP GROUP "$1" "$2" COUNT 100 STREAMS "$3" '>' | grep -E '^[0-9]+-[0-9]+$'
}

# story FILE: the --json events as "event entry>to", one line each
story() {
	python3 - "$1" <<-'EOF'
	import json, sys
	d = json.load(open(sys.argv[1]))
	def name(e):
	    return e["stream"] + "/" + e["id"] if e else ""
	for e in d["messages"][0]["events"]:
	    print(e["event"], name(e["entry"]) + (">" + name(e["to"]) if e["to"] else ""), e["group"])
	EOF
}

chain() {
	rcli XADD o '*' order_id 1066 item pen >/dev/null
	E=$(rcli XADD o '*' order_id 1067 item book)
	rcli XGROUP CREATE o billing 0 >/dev/null
	rcli XGROUP CREATE o shipping '$' >/dev/null
	rcli XREADGROUP GROUP billing w0 COUNT 1 STREAMS o '>' >/dev/null
	rcli XACK o billing "$(rcli XRANGE o - + COUNT 1 | head -n 1)" >/dev/null
	assert_eq "$E" "$(read_ids billing w1 o)"
	# w1 died: the order is claimed and redelivered, a copy at the end of o (shipping,
	# which started after it, is to see the copies too: --all-groups)
	xr -q run -s o -g billing --claim-idle 0 --no-clean --action redeliver --all-groups
	# w2 reads the copy and dies too: claimed again, held
	C1=$(read_ids billing w2 o)
	if [ -z "$C1" ] || [ "$C1" = "$E" ]; then fail "w2 read '$C1'"; fi
	xr -q run -s o -g billing --claim-idle 0 --no-clean
	# in Redis now: the copy pending on the recovery consumer, delivered once (the claim keeps
	# the count); the fate counts the original's delivery too
	assert_exit 0 xr trace "o/$E"
	cat "$TMP"/out
	assert_grep "^o/$C1 +copy of o/$E, batch 1 +yes +billing on xrecover, deliveries 1, idle " "$TMP"/out
	assert_grep "^billing +held +2 +o/$C1\$" "$TMP"/out
	# dead-lettered
	xr -q run -s o -g billing --claim-idle 1h --no-clean --action dead-letter 2>/dev/null
	D=$(rcli XRANGE o:dlq - + | head -n 1)
	[ -n "$D" ] || fail "no dead letter"
	assert_exit 0 xr trace "o/$E"
	assert_grep "^o:dlq/$D +dead letter of o/$C1 +yes +-?\$" "$TMP"/out
	assert_grep "^billing +dead-lettered +2 +o/$C1\$" "$TMP"/out
	# the dead letter replayed; w3 reads that copy and acknowledges it; the next run settles
	xr -q replay --dead-lettered --all-groups >/dev/null
	C2=$(read_ids billing w3 o)
	if [ -z "$C2" ] || [ "$C2" = "$C1" ]; then fail "w3 read '$C2'"; fi
	rcli XACK o billing "$C2" >/dev/null
	xr -q run -s o -g billing --claim-idle 1h --no-clean
	assert_eq 0 "$(rcli XLEN o:dlq)"
	printf '%s %s %s %s\n' "$E" "$C1" "$D" "$C2" >"$TMP"/ids

	assert_exit 0 xr trace "o/$E"
	cat "$TMP"/out
	cp "$TMP"/out "$TMP"/text
	# each hop, in order
	grep -E "^$T +" "$TMP"/text | sed -E 's/ +/ /g' | cut -d' ' -f2- >"$TMP"/lines
	cat >"$TMP"/want <<-EOF
	claimed o/$E billing from w1, deliveries 1, run 1, incident 2
	copied o/$E billing to o/$C1, batch 1
	claimed o/$C1 billing from w2, deliveries 1, run 2, incident $(sql "select incident from events where kind = 'claim' and consumer = 'w2'")
	dead-lettered o/$C1 billing to o:dlq/$D, deliveries 2: --action dead-letter
	settled o/$E billing its copy o/$C1 was consumed (read, pending nowhere), batch 1
	copied o/$C1 billing to o/$C2, batch 2, from its dead letter
	settled o/$C1 billing its copy o/$C2 was consumed (read, pending nowhere), batch 2
	EOF
	diff "$TMP"/want "$TMP"/lines || fail "the story differs"
	assert_grep '^message o/'"$E"'$' "$TMP"/text
	assert_grep '^payload \{"order_id":"1067","item":"book"\}$' "$TMP"/text
	# its fate: the last copy claimed was read and acknowledged, two deliveries in all
	assert_grep "^billing +replayed and read +2 +o/$C1\$" "$TMP"/text
	# Redis now: nothing pending anywhere, the dead letter deleted
	assert_grep "^o/$E +the original +yes +nowhere\$" "$TMP"/text
	assert_grep "^o/$C1 +copy of o/$E, batch 1 +yes +nowhere\$" "$TMP"/text
	assert_grep "^o:dlq/$D +dead letter of o/$C1 +no +-\$" "$TMP"/text
	assert_grep "^o/$C2 +copy of o/$C1, batch 2 +yes +nowhere\$" "$TMP"/text
	# the same story from the copies and from the dead letter
	for id in "o/$C1" "o/$C2" "o:dlq/$D"; do
		assert_exit 0 xr trace "$id"
		cmp "$TMP"/text "$TMP"/out || fail "trace $id is not the story of o/$E"
	done
	# --json parses, with the same hops
	assert_exit 0 xr --json trace "o/$E"
	story "$TMP"/out >"$TMP"/jlines
	cat >"$TMP"/want <<-EOF
	claim o/$E billing
	copy o/$E>o/$C1 billing
	claim o/$C1 billing
	dead_lettered o/$C1>o:dlq/$D billing
	settled o/$E>o/$C1 billing
	copy o/$C1>o/$C2 billing
	settled o/$C1>o/$C2 billing
	EOF
	diff "$TMP"/want "$TMP"/jlines || fail "the JSON story differs"
	assert_eq "billing replayed and read 2 $C1" "$(jq_ "$TMP"/out '" ".join(str(x) for f in d["messages"][0]["fates"] for x in (f["group"], f["fate"], f["deliveries"], f["last_claimed"]["id"]))')"
	assert_eq "True 0 None" "$(jq_ "$TMP"/out '(d["messages"][0]["redis_asked"], d["exit_code"], d["error"])' | tr -d '(),')"
	assert_eq "original:True copy:True dead_letter:False copy:True" "$(jq_ "$TMP"/out '" ".join(e["is"] + ":" + str(e["in_stream"]) for e in d["messages"][0]["entries"])')"
	assert_eq '{"order_id": "1067", "item": "book"}' "$(jq_ "$TMP"/out 'json.dumps(d["messages"][0]["payload"])')"
	# the incident report gives each entry the same fate, and so does entry_fates
	for c in w1 w2; do
		inc=$(sql "select incident from events where kind = 'claim' and consumer = '$c'")
		xr report --incident "$inc" --format json >"$TMP"/inc
		assert_eq "replayed and read:2" "$(jq_ "$TMP"/inc '" ".join(e["fate"] + ":" + str(e["deliveries"]) for e in d["entries"])')"
		assert_eq "replayed and read|2" "$(sql "select fate || '|' || deliveries from entry_fates where incident = $inc")"
	done
	# the other group never had it: the story is billing's alone
	assert_no_grep shipping "$TMP"/text
	xr verify >/dev/null
}
test_case 'claim, copy, claimed again, dead letter, replayed, settled: every hop in order, from any of its IDs, with its fate and Redis now' chain

by_field() {
	read -r E C1 D C2 <"$TMP"/ids
	# the copies carry the same payload: one message, not three
	assert_exit 0 xr trace --field order_id=1067
	assert_grep '^1 message with order_id=1067$' "$TMP"/out
	assert_eq 1 "$(grep -c '^message ' "$TMP"/out)"
	assert_grep "^message o/$E\$" "$TMP"/out
	assert_grep "^billing +replayed and read +2 +o/$C1\$" "$TMP"/out
	# two messages: each one's story, first claimed first
	P=$(rcli XADD p '*' order_id 1067 note "$(printf 'a"b\\c')")
	rcli XADD p '*' order_id 10670 >/dev/null
	rcli XGROUP CREATE p g 0 >/dev/null
	crash_consumer p g w9
	xr -q run -s p --claim-idle 0 --no-clean
	assert_exit 0 xr --json trace --field order_id=1067
	assert_eq "2 o/$E p/$P" "$(jq_ "$TMP"/out 'str(d["matched"]) + " " + " ".join(m["message"]["stream"] + "/" + m["message"]["id"] for m in d["messages"])')"
	assert_eq "held" "$(jq_ "$TMP"/out 'd["messages"][1]["fates"][0]["fate"]')"
	# a value with a quote and a backslash, as the payload stores it
	assert_exit 0 xr trace --field "$(printf 'note=a"b\\c')"
	assert_grep "^message p/$P\$" "$TMP"/out
	# no match, and a malformed --field
	assert_exit 6 xr trace --field order_id=1
	assert_eq 'xrecover: no claimed entry has a field order_id equal to 1' "$(cat "$TMP"/err)"
	assert_exit 6 xr trace --field note=a
	assert_exit 2 xr trace --field nothing
	assert_exit 2 xr trace --field order_id=1067 "o/$E"
}
test_case 'trace --field: each message whose payload has the field, each once' by_field

unknown() {
	read -r E C1 D C2 <"$TMP"/ids
	assert_exit 6 xr trace o/1-0
	assert_eq 'xrecover: the journal knows nothing of o/1-0' "$(cat "$TMP"/err)"
	[ ! -s "$TMP"/out ] || fail "printed a story"
	assert_exit 6 xr --json trace nosuch/1-0
	assert_eq "failed 6" "$(jq_ "$TMP"/out 'd["status"] + " " + str(d["exit_code"])')"
	assert_exit 2 xr trace o
	assert_grep "expected STREAM/ID" "$TMP"/err
	assert_exit 2 xr trace
	assert_exit 4 "$XR" -r "$REDIS_URL" --db "$TMP"/none.db trace "o/$E"
}
test_case 'an unknown entry: one line, exit 6; bad arguments exit 2' unknown

no_redis() {
	read -r E C1 D C2 <"$TMP"/ids
	port=$(free_port)
	# the journal's story, then that Redis could not be asked: exit 3
	assert_exit 3 "$XR" -r "redis://127.0.0.1:$port" --db "$DB" trace "o:dlq/$D"
	cat "$TMP"/out "$TMP"/err
	assert_grep "^message o/$E\$" "$TMP"/out
	assert_grep "settled +o/$C1 +billing +its copy o/$C2 was consumed" "$TMP"/out
	assert_grep "^billing +replayed and read +2 +o/$C1\$" "$TMP"/out
	assert_grep "^Redis could not be asked: .*127.0.0.1:$port" "$TMP"/out
	assert_grep "^o/$C2 +copy of o/$C1, batch 2 +- +-\$" "$TMP"/out
	assert_grep "^xrecover: redis could not be asked, the journal's story only: " "$TMP"/err
	assert_exit 3 "$XR" -r "redis://127.0.0.1:$port" --db "$DB" --json trace "o/$E"
	assert_eq "7 False 3 None" "$(jq_ "$TMP"/out '(len(d["messages"][0]["events"]), d["messages"][0]["redis_asked"], d["exit_code"], d["messages"][0]["entries"][0]["in_stream"])' | tr -d '(),')"
}
test_case 'Redis unreachable: the journal'"'"'s story, and exit 3' no_redis

rolled_back_taken() {
	R=$(rcli XADD q '*' order_id 2001)
	rcli XGROUP CREATE q g 0 >/dev/null
	crash_consumer q g w1
	xr -q run -s q --claim-idle 0 --no-clean
	run=$(sql "select run from events where kind = 'claim' and stream = 'q'")
	# replayed, and rolled back before anyone read the copy
	xr -q replay --run "$run" >/dev/null
	b1=$(sql "select max(batch) from replays")
	K1=$(sql "select copy_id from replayed_messages where batch = $b1")
	xr -q rollback "$b1" >/dev/null
	assert_exit 0 xr trace "q/$R"
	cat "$TMP"/out
	assert_grep "^$T +copy removed +q/$R +g +q/$K1, batch $b1\$" "$TMP"/out
	assert_grep "^$T +rolled back +q/$K1 +- +batch $b1, by " "$TMP"/out
	assert_grep "^g +held \\(replay rolled back\\) +1 +q/$R\$" "$TMP"/out
	assert_grep "^q/$K1 +copy of q/$R, batch $b1 +no +nowhere\$" "$TMP"/out
	# replayed again; a live consumer claims the original while the copy is read
	xr -q replay --run "$run" >/dev/null
	b2=$(sql "select max(batch) from replays")
	K2=$(sql "select copy_id from replayed_messages where batch = $b2")
	rcli XCLAIM q g w5 0 "$R" >/dev/null
	assert_eq "$K2" "$(read_ids g w6 q)"
	rcli XACK q g "$K2" >/dev/null
	xr -q run -s q --claim-idle 1h --no-clean
	assert_exit 0 xr trace "q/$K2"
	cat "$TMP"/out
	grep -E "^$T +" "$TMP"/out | sed -E 's/ +/ /g' | cut -d' ' -f2-3 >"$TMP"/lines
	printf '%s\n' claimed copied copy rolled copied settled taken >"$TMP"/want
	cut -d' ' -f1 "$TMP"/lines | diff "$TMP"/want - || fail "the story differs"
	assert_grep "^$T +taken +q/$R +g +by w5, a live consumer: left to it\$" "$TMP"/out
	assert_grep "^g +taken by a live consumer +1 +q/$R\$" "$TMP"/out
	assert_grep "^q/$R +the original +yes +g on w5, deliveries 2, idle " "$TMP"/out
}
test_case 'rolled back, replayed again, taken by a live consumer: each step, the fate, and where Redis has it' rolled_back_taken

test_done
