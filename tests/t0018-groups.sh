#!/bin/sh
# t0018-groups: no group receives an entry again because of xrecover except
# the group it was pending in (guarantee 9), unless --all-groups asks for it.
# Streams of two and three groups (billing, shipping, audit); after each way
# of giving billing's held entries back, every group is read with '>' and
# must see exactly what it should.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# orders STREAM N GROUP...: N entries (of mixed bytes: NUL, invalid UTF-8)
# and the groups; every group but billing reads and acknowledges them all,
# billing's consumer "dead" reads them all and never acknowledges.  The
# stream's entries, "id hex" per line, go to $TMP/STREAM.orig.
orders() {
	s=$1
	n=$2
	shift 2
	"$XRTEST" fill "$REDIS_URL" "$s" "$n" --mixed --size 30 >/dev/null
	for g in "$@"; do
		rcli XGROUP CREATE "$s" "$g" 0 >/dev/null
		[ "$g" = billing ] && continue
		"$XRTEST" take "$REDIS_URL" "$s" "$g" "$g-1" ack >"$TMP/$s.$g.first"
		assert_lines "$n" "$TMP/$s.$g.first"
	done
	crash_consumer "$s" billing dead
	"$XRTEST" range "$REDIS_URL" "$s" >"$TMP/$s.orig"
	assert_lines "$n" "$TMP/$s.orig"
}

# nothing_new STREAM GROUP...: each group reads nothing new with '>'
nothing_new() {
	s=$1
	shift
	for g in "$@"; do
		"$XRTEST" take "$REDIS_URL" "$s" "$g" "$g-check" >"$TMP/new"
		assert_lines 0 "$TMP/new"
	done
}

# same_bytes A B: the entries of "id hex" files A and B have the same
# fields and values, byte for byte and in order (the IDs may differ)
same_bytes() {
	cut -d' ' -f2 "$1" >"$TMP/a.hex"
	cut -d' ' -f2 "$2" >"$TMP/b.hex"
	cmp -s "$TMP/a.hex" "$TMP/b.hex" || { diff "$TMP/a.hex" "$TMP/b.hex" | head >&2; fail "$1 and $2 differ"; }
}

# held_ids STREAM: what the recovery consumer holds in billing, "id deliveries"
held_ids() {
	"$XRTEST" pel "$REDIS_URL" "$1" billing | awk '$2 == "xrecover" { print $1, $3 }'
}

refused_two() {
	orders r2 10 billing shipping
	assert_exit 9 xr --json run -s r2 --claim-idle 0 --no-clean --action redeliver
	# nothing was copied: no group, billing included, gets anything new
	assert_eq 10 "$(rcli XLEN r2)"
	nothing_new r2 billing shipping
	# the entries stay held, delivery counts unchanged
	held_ids r2 >"$TMP"/held
	assert_lines 10 "$TMP"/held
	assert_eq 10 "$(awk '$2 == 1' "$TMP"/held | wc -l | tr -d ' ')"
	# the run says so: log line, --json per group, exit 9, status warning
	assert_grep '\[REDELIVER\] kept back kept_back=10 stream=r2 group=billing to=r2 other_groups=shipping' "$TMP"/err
	assert_grep '\[SUMMARY\] .*kept_back=10 status=warning' "$TMP"/err
	assert_grep "^xrecover: 10 entries kept back in 1 group, still held: stream 'r2' group 'billing': a copy in stream 'r2' would reach group shipping too" "$TMP"/err
	python3 - "$TMP"/out <<-'EOF'
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["status"] == "warning" and d["exit_code"] == 9 and d["kept_back"] == 10, d
	g = [g for g in d["groups"] if g["group"] == "billing"][0]
	assert g["kept_back"] == 10 and g["redelivered"] == 0, g
	assert "shipping" in g["kept_back_reason"] and "--redeliver-to" in g["kept_back_reason"], g
	s = [g for g in d["groups"] if g["group"] == "shipping"][0]
	assert s["kept_back"] == 0, s
	EOF
	# the journal says why, and no copy was made
	assert_eq '10|["shipping"]|r2' "$(sql "select json_extract(detail, '\$.kept_back'), json_extract(detail, '\$.other_groups'), json_extract(detail, '\$.to') from events where kind = 'redeliver_refused' and stream = 'r2' and grp = 'billing'")"
	assert_eq 'warning|1' "$(sql "select status, error like '10 entries kept back%shipping%' from runs where run = (select max(run) from runs)")"
	assert_eq 0 "$(sql "select count(*) from events where kind = 'replay_start'")"
	assert_eq "held|10" "$(sql "select fate, count(*) from entry_fates where stream = 'r2' group by 1")"
}
test_case 'two groups: redeliver without a safe way copies nothing, keeps the entries held, says why, exits 9' refused_two

refused_three() {
	orders r3 6 billing shipping audit
	assert_exit 9 xr run -s r3 --claim-idle 0 --no-clean --action redeliver
	assert_eq 6 "$(rcli XLEN r3)"
	nothing_new r3 billing shipping audit
	held_ids r3 >"$TMP"/held
	assert_lines 6 "$TMP"/held
	assert_grep 'other_groups="audit, shipping"' "$TMP"/err
	assert_eq '["audit","shipping"]' "$(sql "select json_extract(detail, '\$.other_groups') from events where kind = 'redeliver_refused' and stream = 'r3'")"
	# a stream of one group is safe: the same run options redeliver there
	"$XRTEST" fill "$REDIS_URL" r1 4 >/dev/null
	rcli XGROUP CREATE r1 billing 0 >/dev/null
	crash_consumer r1 billing dead
	xr -q run -s r1 --claim-idle 0 --no-clean --action redeliver
	assert_eq 8 "$(rcli XLEN r1)"
}
test_case 'three groups: redeliver refused, naming both other groups; one group: redelivered' refused_three

hostile_names() {
	# a group name that would forge a log line: escaped in the line and the error
	evil=$(printf 'ship\n[SUMMARY] status=ok\033[2J')
	"$XRTEST" fill "$REDIS_URL" ev 2 >/dev/null
	rcli XGROUP CREATE ev billing 0 >/dev/null
	rcli XGROUP CREATE ev "$evil" '$' >/dev/null
	crash_consumer ev billing dead
	assert_exit 9 xr --json run -s ev --claim-idle 0 --no-clean --action redeliver
	assert_grep 'other_groups="ship\\n\[SUMMARY\] status=ok\\x1b\[2J"' "$TMP"/err
	assert_grep "would reach group ship\\\\n\\[SUMMARY\\] status=ok\\\\x1b\\[2J too" "$TMP"/err
	assert_eq 1 "$(grep -cE '^[0-9-]+T[0-9:]+Z \[SUMMARY\]' "$TMP"/err)"
	assert_eq 0 "$(grep -c '^\[SUMMARY\]' "$TMP"/err)"
	assert_no_grep "$(printf '\033')" "$TMP"/err
	python3 -c 'import json,sys; g = json.load(open(sys.argv[1]))["groups"][0]; assert "ship\n[SUMMARY] status=ok\x1b[2J" in g["kept_back_reason"], g' "$TMP"/out
	assert_exit 9 xr replay -s ev
	assert_eq 1 "$(wc -l <"$TMP"/err | tr -d ' ')"
	assert_no_grep "$(printf '\033')" "$TMP"/err
}
test_case 'a group name with a newline and an escape sequence is escaped in the refusal line, the error and --json' hostile_names

redeliver_to() {
	orders t3 8 billing shipping audit
	xr run -s t3 --claim-idle 0 --no-clean --action redeliver \
		--redeliver-to '{stream}:retry:{group}' 2>"$TMP"/log
	# the main stream got nothing: no group reads anything new there
	assert_eq 8 "$(rcli XLEN t3)"
	nothing_new t3 billing shipping audit
	# the retry stream has billing (created, from its end) and nothing else
	assert_eq billing "$(rcli XINFO GROUPS t3:retry:billing | sed -n 2p)"
	assert_grep '\[REDELIVER\] created_group=billing stream=t3:retry:billing' "$TMP"/log
	assert_eq '1|t3:retry:billing|billing' "$(sql "select count(*), stream, grp from events where kind = 'group_created'")"
	# billing reads exactly the copies there, byte for byte, in order
	"$XRTEST" take "$REDIS_URL" t3:retry:billing billing worker ack >"$TMP"/got
	assert_lines 8 "$TMP"/got
	same_bytes "$TMP"/t3.orig "$TMP"/got
	cut -d' ' -f1 "$TMP"/got >"$TMP"/got.ids
	sql "select copy_id from replayed_messages where stream = 't3' order by copy_id" >"$TMP"/copy.ids
	cmp "$TMP"/got.ids "$TMP"/copy.ids
	assert_eq 't3:retry:billing|{stream}:retry:{group}' "$(sql "select json_extract(detail, '\$.to'), json_extract(detail, '\$.selection.redeliver_to') from events where kind = 'replay_start' and json_extract(detail, '\$.selection.stream') = 't3'")"
	# a group added to the retry stream later (reading from its start) has
	# not read them: settling waits for billing only
	rcli XGROUP CREATE t3:retry:billing late 0 >/dev/null
	xr run -s t3 --claim-idle 0 --no-clean 2>"$TMP"/log
	assert_grep '\[SETTLE\] settled=8 in_flight=0 batches_closed=1' "$TMP"/log
	assert_eq 0 "$(held_ids t3 | wc -l | tr -d ' ')"
	assert_eq "replayed and read|8" "$(sql "select fate, count(*) from entry_fates where stream = 't3' group by 1")"
	nothing_new t3 billing shipping audit
}
test_case '--redeliver-to: copies go to the group retry stream only, billing reads them byte for byte, the next run settles them' redeliver_to

redeliver_again() {
	# a consumer that dies on the copies in the retry stream: with --match
	# over both streams, the copies claimed there go back into it
	orders u2 3 billing shipping
	xr -q run -s u2 --claim-idle 0 --no-clean --action redeliver --redeliver-to '{stream}:retry:{group}'
	crash_consumer u2:retry:billing billing dead2
	xr run --match 'u2*' --claim-idle 0 --no-clean --action redeliver \
		--redeliver-to '{stream}:retry:{group}' 2>"$TMP"/log
	assert_grep '\[REDELIVER\] batch=[0-9]+ copied=3 stream=u2:retry:billing group=billing$' "$TMP"/log
	assert_eq 0 "$(rcli EXISTS u2:retry:billing:retry:billing)"
	assert_eq 3 "$(rcli XLEN u2)"
	assert_eq 6 "$(rcli XLEN u2:retry:billing)"
	nothing_new u2 billing shipping
	"$XRTEST" take "$REDIS_URL" u2:retry:billing billing worker ack >"$TMP"/got
	assert_lines 3 "$TMP"/got
	same_bytes "$TMP"/u2.orig "$TMP"/got
	# and once they are read, the chain settles down to the originals
	xr -q run --match 'u2*' --claim-idle 0 --no-clean
	assert_eq "replayed and read|3" "$(sql "select fate, count(*) from entry_fates where stream = 'u2' group by 1")"
	assert_eq 0 "$("$XRTEST" pel "$REDIS_URL" u2 billing | wc -l | tr -d ' ')"
}
test_case '--redeliver-to: copies claimed in the retry stream go back into it, not into a retry stream of it' redeliver_again

redeliver_to_taken() {
	# a retry stream that another group reads too is no safe place either
	orders t4 3 billing shipping
	rcli XGROUP CREATE t4:retry t4-mirror 0 MKSTREAM >/dev/null
	assert_exit 9 xr run -s t4 --claim-idle 0 --no-clean --action redeliver --redeliver-to '{stream}:retry'
	assert_grep "a copy in stream 't4:retry' would reach group t4-mirror too" "$TMP"/err
	assert_eq 0 "$(rcli XLEN t4:retry)"
	# and nothing was created there
	assert_eq 1 "$(rcli XINFO GROUPS t4:retry | grep -c '^name$')"
}
test_case '--redeliver-to a stream that another group reads: refused, nothing created or copied' redeliver_to_taken

hand_off() {
	orders h2 7 billing shipping
	held_before=$(mktemp "$TMP"/hb.XXXXXX)
	xr -q run -s h2 --claim-idle 0 --no-clean
	held_ids h2 >"$held_before"
	assert_lines 7 "$held_before"
	# no live consumer: the entries stay held, and the run says so
	# (3 s thresholds: live stays below them across two runs on a loaded machine too)
	sleep 3.1
	xr run -s h2 --claim-idle 3s --no-clean --action hand-off 2>"$TMP"/log
	assert_grep '\[HAND-OFF\] waiting=7 stream=h2 group=billing' "$TMP"/log
	assert_eq 1 "$(sql "select count(*) from events where kind = 'hand_off_waiting' and stream = 'h2'")"
	held_ids h2 | cmp - "$held_before"
	# a live consumer (just seen), an excluded one seen later still
	rcli XGROUP CREATECONSUMER h2 billing older >/dev/null
	sleep 0.1
	rcli XGROUP CREATECONSUMER h2 billing live >/dev/null
	sleep 0.1
	rcli XGROUP CREATECONSUMER h2 billing billing-main >/dev/null
	xr run -s h2 --claim-idle 3s --no-clean --action hand-off --exclude-consumer billing-main 2>"$TMP"/log
	assert_grep '\[HAND-OFF\] handed_off=7 stream=h2 group=billing consumer=live' "$TMP"/log
	# a further run at once changes nothing
	n=$(sql "select count(*) from events where kind in ('handed_off', 'taken', 'claim')")
	xr -q run -s h2 --claim-idle 3s --no-clean --action hand-off --exclude-consumer billing-main
	assert_eq "$n" "$(sql "select count(*) from events where kind in ('handed_off', 'taken', 'claim')")"
	# its pending list has exactly those entries: same IDs, same delivery counts
	"$XRTEST" pel "$REDIS_URL" h2 billing | awk '{ print $1, $3, $2 }' >"$TMP"/pel
	sed 's/$/ live/' "$held_before" | cmp - "$TMP"/pel
	# read from its own pending list (ID 0) it gets them, bytes unchanged
	rcli XREADGROUP GROUP billing live COUNT 100 STREAMS h2 0 | grep -c '^[0-9]*-[0-9]*$' >"$TMP"/n
	assert_eq 7 "$(cat "$TMP"/n)"
	# no copy: nothing new for anyone
	assert_eq 7 "$(rcli XLEN h2)"
	nothing_new h2 billing shipping
	# journalled once each, with the consumer; its fate
	assert_eq "7|live" "$(sql "select count(*), consumer from events where kind = 'handed_off' and stream = 'h2' group by consumer")"
	assert_eq "handed off to a live consumer|7" "$(sql "select fate, count(*) from entry_fates where stream = 'h2' group by 1")"
	# trace tells the same: the step, and the fate the incident report shows
	xr trace "h2/$(head -n 1 "$held_before" | cut -d' ' -f1)" >"$TMP"/trace
	assert_grep 'handed off +h2/[0-9]+-0 +billing +to live, a live consumer of its group' "$TMP"/trace
	assert_grep '^billing +handed off to a live consumer' "$TMP"/trace
}
test_case 'hand-off: the most recently seen live consumer of the group gets the held entries, IDs and delivery counts unchanged; none live: they stay held' hand_off

hand_off_auto() {
	orders h3 4 billing shipping
	xr -q run -s h3 --claim-idle 0 --no-clean
	rcli XGROUP CREATECONSUMER h3 billing live >/dev/null
	# under auto the group's threshold (here the quiet stream's fallback) says who is live
	xr run -s h3 --claim-idle auto --no-clean --action hand-off 2>"$TMP"/log
	assert_grep '\[HAND-OFF\] handed_off=4 stream=h3 group=billing consumer=live' "$TMP"/log
	assert_eq "4|live" "$(sql "select count(*), consumer from events where kind = 'handed_off' and stream = 'h3' group by consumer")"
}
test_case 'hand-off under --claim-idle auto: a consumer seen within the group threshold is live' hand_off_auto

all_groups() {
	orders a3 5 billing shipping audit
	xr run -s a3 --claim-idle 0 --no-clean --action redeliver --all-groups 2>"$TMP"/log
	assert_grep '\[REDELIVER\] batch=[0-9]+ copied=5 stream=a3 group=billing all_groups="audit, shipping"' "$TMP"/log
	assert_eq 10 "$(rcli XLEN a3)"
	# each group gets the copies, byte for byte, because it was asked for
	for g in billing shipping audit; do
		"$XRTEST" take "$REDIS_URL" a3 "$g" "$g-2" >"$TMP/a3.$g"
		assert_lines 5 "$TMP/a3.$g"
		same_bytes "$TMP"/a3.orig "$TMP/a3.$g"
	done
	assert_eq '1|["audit","shipping"]' "$(sql "select json_extract(detail, '\$.all_groups'), json_extract(detail, '\$.other_groups') from events where kind = 'replay_start' and json_extract(detail, '\$.selection.stream') = 'a3'")"
	assert_eq 1 "$(sql "select json_extract(detail, '\$.options.all_groups') from events where kind = 'run_start' order by seq desc limit 1")"
}
test_case '--all-groups: every group gets the copies, and the journal records that it was asked' all_groups

replay_groups() {
	orders p2 4 billing shipping
	xr -q run -s p2 --claim-idle 0 --no-clean
	# into the entries' own stream: refused before anything is copied
	assert_exit 9 xr replay -s p2
	assert_grep "^xrecover: replay into stream 'p2' would reach group shipping too, not only 'billing'.*--to STREAM.*--all-groups" "$TMP"/err
	assert_exit 9 xr replay -s p2 --dry-run
	assert_exit 9 xr --json replay -s p2
	assert_eq 9 "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["exit_code"])' "$TMP"/out)"
	assert_eq 4 "$(rcli XLEN p2)"
	assert_eq 0 "$(sql "select count(*) from events where kind = 'replay_start' and json_extract(detail, '\$.selection.streams[0]') = 'p2'")"
	nothing_new p2 billing shipping
	# into a stream that another group reads: refused too, naming it
	rcli XGROUP CREATE p2:other billing 0 MKSTREAM >/dev/null
	rcli XGROUP CREATE p2:other reports 0 >/dev/null
	assert_exit 9 xr replay -s p2 --to p2:other
	assert_grep "replay into stream 'p2:other' would reach group reports too" "$TMP"/err
	assert_eq 0 "$(rcli XLEN p2:other)"
	# with a --to template: billing's retry stream, its group created
	xr replay -s p2 --to '{stream}:retry:{group}' 2>"$TMP"/log
	assert_grep '\[REPLAY\] created_group=billing stream=p2:retry:billing' "$TMP"/log
	assert_eq 4 "$(rcli XLEN p2)"
	nothing_new p2 billing shipping
	"$XRTEST" take "$REDIS_URL" p2:retry:billing billing w ack >"$TMP"/got
	assert_lines 4 "$TMP"/got
	same_bytes "$TMP"/p2.orig "$TMP"/got
	xr -q run -s p2 --claim-idle 0 --no-clean
	assert_eq "replayed and read|4" "$(sql "select fate, count(*) from entry_fates where stream = 'p2' group by 1")"
	# --all-groups: every group gets them, and the batch says it was asked
	orders q2 3 billing shipping
	xr -q run -s q2 --claim-idle 0 --no-clean
	xr replay -s q2 --all-groups >/dev/null
	for g in billing shipping; do
		"$XRTEST" take "$REDIS_URL" q2 "$g" "$g-2" >"$TMP/q2.$g"
		assert_lines 3 "$TMP/q2.$g"
		same_bytes "$TMP"/q2.orig "$TMP/q2.$g"
	done
	assert_eq '1|["shipping"]' "$(sql "select json_extract(detail, '\$.all_groups'), json_extract(detail, '\$.other_groups') from events where kind = 'replay_start' order by seq desc limit 1")"
}
test_case 'replay: into its own stream of two groups refused (exit 9, nothing copied); --to TEMPLATE and --all-groups allowed' replay_groups

# ho_setup STREAM N: N entries held in billing, a live consumer "live" and
# shipping, which has read them all
ho_setup() {
	"$XRTEST" fill "$REDIS_URL" "$1" "$2" --size 20 >/dev/null
	rcli XGROUP CREATE "$1" billing 0 >/dev/null
	rcli XGROUP CREATE "$1" shipping '$' >/dev/null
	crash_consumer "$1" billing dead
	xr -q run -s "$1" --claim-idle 0 --no-clean
	rcli XGROUP CREATECONSUMER "$1" billing live >/dev/null
}

# ho_check STREAM N: every entry is pending on live once, journalled
# handed off once, and nobody else has any
ho_check() {
	"$XRTEST" pel "$REDIS_URL" "$1" billing >"$TMP"/pel
	assert_eq "$2" "$(awk '$2 == "live" && $3 == 1' "$TMP"/pel | wc -l | tr -d ' ')" "entries pending on live"
	assert_lines "$2" "$TMP"/pel
	assert_eq "$2|$2" "$(sql "select count(*), count(distinct entry_ms || '-' || entry_seq) from events where kind = 'handed_off' and stream = '$1'")"
	assert_eq "handed off to a live consumer|$2" "$(sql "select fate, count(*) from entry_fates where stream = '$1' group by 1")"
	assert_eq "$2" "$(rcli XLEN "$1")"
}

fp_hand_off_sent() {
	# 600 entries go 250 at a time: killed after the second request, before
	# journalling it
	ho_setup hs 600
	assert_exit 137 env XRECOVER_FAILPOINT=hand-off-sent:2 "$XR" -r "$REDIS_URL" --db "$DB" -q \
		run -s hs --claim-idle 1h --no-clean --action hand-off
	killed=$(sql "select max(run) from runs")
	assert_eq 500 "$("$XRTEST" pel "$REDIS_URL" hs billing | awk '$2 == "live"' | wc -l | tr -d ' ')"
	assert_eq 250 "$(sql "select count(*) from events where kind = 'handed_off' and run = $killed")"
	xr run -s hs --claim-idle 1h --no-clean --action hand-off 2>"$TMP"/log
	assert_grep '\[RECONCILE\] .*handed_off=250' "$TMP"/log
	assert_eq crashed "$(sql "select status from runs where run = $killed")"
	assert_eq 250 "$(sql "select count(*) from events where kind = 'handed_off' and json_extract(detail, '\$.reconciled') = 1")"
	ho_check hs 600
}
test_case 'killed after a hand-off request, before journalling it: the next run journals it, once' fp_hand_off_sent

kill_hand_off() {
	kills=0
	i=0
	while [ $i -lt 10 ]; do
		s=hk$i
		ho_setup $s 3000
		at=$((1 + $(random_below 2900)))
		us=$(random_below 2000)
		"$XR" -r "$REDIS_URL" --db "$DB" -q run -s $s --claim-idle 1h --no-clean \
			--action hand-off >/dev/null 2>&1 &
		pid=$!
		"$XRTEST" kill-at "$REDIS_URL" $pid "$us" held $s billing live "$at" || true
		wait $pid 2>/dev/null || true
		kills=$((kills + 1))
		xr -q run -s $s --claim-idle 1h --no-clean --action hand-off 2>"$TMP"/next ||
			{ tail -n 5 "$TMP"/next; fail "round $i: run failed"; }
		ho_check $s 3000
		i=$((i + 1))
	done
	xr verify >/dev/null || fail "verify after the kills: exit $?"
	# kills that landed mid-work: a crashed run that had handed entries off
	mid=$(sql "select count(*) from runs k where k.status = 'crashed' and exists (
		select 1 from events h where h.kind = 'handed_off' and h.stream like 'hk%' and (h.run = k.run or
			(json_extract(h.detail, '\$.reconciled') = 1 and h.run = (select min(n.run) from runs n where n.run > k.run))))")
	rec=$(sql "select count(*) from events where kind = 'handed_off' and stream like 'hk%' and json_extract(detail, '\$.reconciled') = 1")
	echo "kills: $kills, mid-work: $mid, hand-offs reconciled: $rec" | tee "$TMP"/hand-off.kills
	[ "$mid" -ge 7 ] || fail "only $mid of $kills kills landed while entries were handed off"
	[ "$rec" -ge 1 ] || fail "no hand-off reconciled: the kills did not catch one in flight"
}
test_case 'SIGKILL at random instants during hand-off runs, 10 times: each entry handed off once, journalled once' kill_hand_off
if [ -s "$TMP"/hand-off.kills ]; then echo "# $(cat "$TMP"/hand-off.kills)"; fi

test_done
