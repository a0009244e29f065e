#!/bin/sh
# t0009-replay: replay re-injects journalled entries byte for byte, run
# settles them once read, rollback takes back what no group has read.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# held_setup STREAM N [fill options]: N entries claimed (held) in group g by run
held_setup() {
	# shellcheck disable=SC2086 # $3: the fill options, one word each
	"$XRTEST" fill "$REDIS_URL" "$1" "$2" ${3:-} >/dev/null
	rcli XGROUP CREATE "$1" g 0 >/dev/null
	crash_consumer "$1" g dead
	xr -q run -s "$1" --claim-idle 0 --no-clean
}

last_batch() {
	sql "select coalesce(max(batch), 0) from replays"
}

round_trip() {
	held_setup rt 300 "--mixed --big 150 --size 20"
	run=$(sql "select max(run) from runs")
	xr replay --run "$run" --json >"$TMP"/out 2>"$TMP"/err
	b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch"])' "$TMP"/out)
	assert_eq 600 "$(rcli XLEN rt)"
	"$XRTEST" copies "$REDIS_URL" "$DB" "$b" >"$TMP"/v
	assert_grep '^checked=300 different=0 missing=0$' "$TMP"/v
	# a consumer reading with '>' gets the copies, byte for byte: its "i" fields are all there
	"$XRTEST" worker "$REDIS_URL" rt g reader 1 | sort -n >"$TMP"/read
	assert_lines 300 "$TMP"/read
	assert_eq "0 299" "$(head -n 1 "$TMP"/read) $(tail -n 1 "$TMP"/read)"
}
test_case 'round trip: claim, replay, read back each copy byte for byte (NUL, invalid UTF-8, 1 MB)' round_trip

settle_after_read() {
	# the copies of the last case were read and acknowledged: a run settles them
	b=$(last_batch)
	assert_eq 300 "$(rcli XPENDING rt g | head -n 1)"
	xr run -s rt --claim-idle 1h --no-clean 2>"$TMP"/log
	assert_grep '\[SETTLE\] settled=300 in_flight=0 batches_closed=1' "$TMP"/log
	assert_eq 0 "$(rcli XPENDING rt g | head -n 1)"
	assert_eq "settled|300|300" "$(sql "select status, copied, settled from replays where batch = $b")"
}
test_case 'a later run settles copies once read and acknowledged: the originals are acknowledged' settle_after_read

settle_taken() {
	held_setup sk 10
	xr -q replay -s sk
	b=$(last_batch)
	# a live consumer reads and acknowledges every copy
	"$XRTEST" worker "$REDIS_URL" sk g reader 1 2>"$TMP"/acks >/dev/null
	assert_grep '^read=10 acked=10$' "$TMP"/acks
	# before the next run, an operator claims two originals from the recovery consumer
	a=$("$XRTEST" pel "$REDIS_URL" sk g | sed -n 3p | cut -d ' ' -f 1)
	c=$("$XRTEST" pel "$REDIS_URL" sk g | sed -n 8p | cut -d ' ' -f 1)
	rcli XCLAIM sk g live 0 "$a" "$c" >/dev/null
	# and someone acknowledges a third: not pending any more, it settles as before
	e=$("$XRTEST" pel "$REDIS_URL" sk g | sed -n 5p | cut -d ' ' -f 1)
	assert_eq 1 "$(rcli XACK sk g "$e")"
	"$XRTEST" pel "$REDIS_URL" sk g | grep ' live ' >"$TMP"/live
	assert_lines 2 "$TMP"/live
	assert_eq "$a live 2" "$(head -n 1 "$TMP"/live)"
	xr run -s sk --claim-idle 1h --no-clean 2>"$TMP"/log
	cat "$TMP"/log
	# the two stay pending on live, delivery counts unchanged; the other seven are acknowledged
	"$XRTEST" pel "$REDIS_URL" sk g >"$TMP"/pel
	cmp "$TMP"/live "$TMP"/pel || fail "the pending list is not the two entries live holds: $(cat "$TMP"/pel)"
	assert_grep '\[SETTLE\] settled=10 taken=2 in_flight=0 batches_closed=1' "$TMP"/log
	assert_grep "\\[SETTLE\\] skipped entry=$a stream=sk group=g consumer=live " "$TMP"/log
	assert_grep "\\[SETTLE\\] skipped entry=$c stream=sk group=g consumer=live " "$TMP"/log
	# journalled as taken by live, once each; every copy settled, the batch too
	sql "select entry_ms || '-' || entry_seq, consumer from events where kind = 'taken' and stream = 'sk' order by seq" >"$TMP"/taken
	assert_eq "$a|live
$c|live" "$(cat "$TMP"/taken)"
	assert_eq "settled|10|10" "$(sql "select status, copied, settled from replays where batch = $b")"
	assert_eq "taken by a live consumer|2" "$(sql "select fate, count(*) from entry_fates where stream = 'sk' and fate <> 'replayed and read' group by fate")"
	# a further run changes nothing
	n=$(sql "select count(*) from events where kind in ('settled', 'taken', 'claim', 'batch_closed')")
	xr run -s sk --claim-idle 1h --no-clean 2>"$TMP"/log2
	assert_no_grep '\[SETTLE\]' "$TMP"/log2
	"$XRTEST" pel "$REDIS_URL" sk g >"$TMP"/pel2
	cmp "$TMP"/live "$TMP"/pel2 || fail "a further run changed the pending list"
	assert_eq "$n" "$(sql "select count(*) from events where kind in ('settled', 'taken', 'claim', 'batch_closed')")"
}
test_case 'settling leaves an original a live consumer claimed while its copy was in flight to it, journalled as taken once' settle_taken

big_pages() {
	# 300 entries of 64 KiB: the selection is read in pages of about 8 MiB
	held_setup bp 300 "--size 65536"
	xr replay -s bp --to bpcopy --json >"$TMP"/out 2>"$TMP"/err
	b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch"])' "$TMP"/out)
	assert_eq 300 "$(rcli XLEN bpcopy)"
	assert_eq 300 "$(sql "select count(distinct entry_id) from replayed_messages where batch = $b")"
	"$XRTEST" copies "$REDIS_URL" "$DB" "$b" >"$TMP"/v
	assert_grep '^checked=300 different=0 missing=0$' "$TMP"/v
}
test_case 'a replay of large entries, read a page of about 8 MiB at a time: each copied once, byte for byte' big_pages

redeliver() {
	make_stream rd g 500
	crash_consumer rd g crashed
	xr run -s rd --claim-idle 0 --no-clean --action redeliver 2>"$TMP"/log
	assert_grep '\[REDELIVER\] batch=[0-9]+ copied=500 stream=rd group=g' "$TMP"/log
	assert_grep 'redelivered=500' "$TMP"/log
	# a live consumer processes everything it is given, and acknowledges each copy
	"$XRTEST" worker "$REDIS_URL" rd g live 1 2>"$TMP"/acks | sort -n | uniq >"$TMP"/done
	assert_lines 500 "$TMP"/done
	assert_grep '^read=500 acked=500$' "$TMP"/acks
	xr run -s rd --claim-idle 0 --no-clean --action redeliver 2>"$TMP"/log2
	assert_grep 'settled=500' "$TMP"/log2
	assert_eq 0 "$(rcli XPENDING rd g | head -n 1)"
	assert_eq 1000 "$(rcli XLEN rd)"
	assert_eq settled "$(sql "select status from replays where batch = (select max(batch) from replays)")"
}
test_case 'redeliver: a live consumer processes every entry once, nothing lost, originals settled' redeliver

# info_field FIELD KEY...: a field of XINFO STREAM KEY or of XINFO GROUPS KEY
# (the first group), as redis-cli prints it
info_field() {
	f=$1
	shift
	rcli XINFO "$@" | awk -v f="$f" 'prev == f { print; exit } { prev = $0 }'
}

rollback_unread() {
	held_setup rb 200
	# a second group that has read everything: it must not notice the rollback
	rcli XGROUP CREATE rb other '$' >/dev/null
	"$XRTEST" pel "$REDIS_URL" rb g >"$TMP"/pel.before
	rcli XRANGE rb - + >"$TMP"/range.before
	len=$(rcli XLEN rb)
	added=$(info_field entries-added STREAM rb)
	for f in consumers pending last-delivered-id entries-read; do
		echo "$f $(info_field $f GROUPS rb)"
	done >"$TMP"/group.before
	assert_eq 0 "$(info_field lag GROUPS rb)"
	# copies to both groups, asked for: the rollback must restore both
	xr replay -s rb --to rb --all-groups >/dev/null 2>&1
	b=$(last_batch)
	assert_eq $((len + 200)) "$(rcli XLEN rb)"
	top=$(rcli XREVRANGE rb + - COUNT 1 | head -n 1)
	xr rollback "$b" >"$TMP"/out 2>"$TMP"/err
	assert_grep "^rolled back batch $b: removed 200 unread copies$" "$TMP"/out
	# what the output says is restored ...
	assert_grep "^restored: the stream's entries and every group's pending entries, as before the replay$" "$TMP"/out
	"$XRTEST" pel "$REDIS_URL" rb g >"$TMP"/pel.after
	cmp "$TMP"/pel.before "$TMP"/pel.after || fail "the pending list changed"
	rcli XRANGE rb - + >"$TMP"/range.after
	cmp "$TMP"/range.before "$TMP"/range.after || fail "the entries changed"
	assert_eq "$len" "$(rcli XLEN rb)"
	for f in consumers pending last-delivered-id entries-read; do
		echo "$f $(info_field $f GROUPS rb)"
	done >"$TMP"/group.after
	cmp "$TMP"/group.before "$TMP"/group.after || fail "the group changed"
	assert_eq 0 "$(rcli XPENDING rb other | head -n 1)"
	# ... and, exactly, what it says is not
	assert_grep "^not restored: the stream's last-generated-id, entries-added and max-deleted-entry-id; a group's lag reads nil until it has read past the removed copies$" "$TMP"/out
	assert_eq "$top" "$(info_field last-generated-id STREAM rb)"
	assert_eq "$top" "$(info_field max-deleted-entry-id STREAM rb)"
	assert_eq $((added + 200)) "$(info_field entries-added STREAM rb)"
	# nil: the field is there, its value an empty line
	assert_eq "lag " "$(rcli XINFO GROUPS rb | awk 'prev == "lag" { print prev, $0; exit } { prev = $0 }')"
	assert_eq "rolled back|200|200" "$(sql "select status, copied, removed from replays where batch = $b")"
	assert_eq "200|0" "$(sql "select removed, already_read from rollbacks where batch = $b")"
	assert_exit 6 xr rollback "$b"
	assert_grep "batch $b was already rolled back; nothing changed" "$TMP"/err
	assert_eq "$len" "$(rcli XLEN rb)"
}
test_case 'rollback before anything is read restores the exact prior state; twice changes nothing' rollback_unread

rollback_half() {
	xr replay -s rb --all-groups >/dev/null 2>&1
	b=$(last_batch)
	# a consumer reads (and acknowledges) the first half of the copies
	rcli XREADGROUP GROUP g half COUNT 100 STREAMS rb '>' | grep -E '^[0-9]+-[0-9]+$' >"$TMP"/read
	assert_lines 100 "$TMP"/read
	xr rollback "$b" --dry-run >"$TMP"/dry
	assert_grep "^would roll back batch $b: would remove 100 unread copies$" "$TMP"/dry
	assert_eq 400 "$(rcli XLEN rb)"
	xr rollback "$b" >"$TMP"/out 2>&1
	assert_grep "^rolled back batch $b: removed 100 unread copies$" "$TMP"/out
	assert_grep '^100 copies were already read and stay' "$TMP"/out
	for id in $(head -n 3 "$TMP"/read); do
		assert_grep "^  rb $id$" "$TMP"/out
	done
	assert_eq 300 "$(rcli XLEN rb)"
	assert_eq "100|100" "$(sql "select removed, already_read from rollbacks where batch = $b")"
	sql "select read_ids from rollbacks where batch = $b" >"$TMP"/ids
	while read -r id; do
		grep -q "$id" "$TMP"/ids || fail "$id not listed as read"
	done <"$TMP"/read
}
test_case 'rollback after half of the copies were read removes the other half and lists the read ones' rollback_half

rollback_gone() {
	held_setup rg 50
	xr replay -s rg >/dev/null 2>&1
	b=$(last_batch)
	assert_eq 100 "$(rcli XLEN rg)"
	# someone deletes ten of the copies (the newest entries) before the rollback
	rcli XREVRANGE rg + - COUNT 10 | grep -E '^[0-9]+-[0-9]+$' >"$TMP"/deleted
	assert_lines 10 "$TMP"/deleted
	# shellcheck disable=SC2046 # one ID a word
	rcli XDEL rg $(cat "$TMP"/deleted) >/dev/null
	xr rollback "$b" >"$TMP"/out 2>&1
	assert_grep "^rolled back batch $b: removed 40 unread copies \(10 more were already gone\)$" "$TMP"/out
	assert_eq 50 "$(rcli XLEN rg)"
	assert_eq "50|0" "$(sql "select removed, already_read from rollbacks where batch = $b")"
	assert_eq "10|50" "$(sql "select count(json_extract(detail, '\$.gone')), count(*) from events where kind = 'copy_removed' and batch = $b")"
}
test_case 'rollback of copies someone deleted meanwhile journals them as gone and counts them' rollback_gone

rate() {
	held_setup rate 500
	start=$(date +%s%N)
	xr replay -s rate --rate 250 >/dev/null 2>&1
	ms=$((($(date +%s%N) - start) / 1000000))
	# from its start to its end in the journal: the copying, without the
	# process starting and ending, which a loaded machine slows
	span=$(sql "select max(ts) - min(ts) from events where kind in ('replay_start', 'replay_end')
		and batch = (select max(batch) from replays)")
	echo "500 copies at --rate 250 took ${ms}ms, ${span}ms from start to end"
	[ $ms -ge 1800 ] || fail "took ${ms}ms, not about 2s"
	if [ "$span" -lt 1800 ] || [ "$span" -gt 3500 ]; then fail "copied in ${span}ms, not about 2s"; fi
	assert_eq 1000 "$(rcli XLEN rate)"
}
test_case '--rate holds: 500 copies at --rate 250 take about 2 seconds' rate

bad_input() {
	"$XRTEST" pel "$REDIS_URL" rb g >"$TMP"/before
	len=$(rcli XLEN rb)
	n=$(sql "select count(*) from events")
	assert_exit 6 xr rollback 999
	assert_grep '^xrecover: there is no replay batch 999 in the journal$' "$TMP"/err
	assert_exit 2 xr rollback abc
	assert_exit 6 xr replay -s nosuchstream
	assert_grep 'no journalled entry matches the selection' "$TMP"/err
	assert_exit 6 xr replay --message rb/1-1
	rcli SET notastream x >/dev/null
	assert_exit 2 xr replay -s rt --to notastream
	assert_grep "cannot replay into 'notastream': it is a string, not a stream" "$TMP"/err
	assert_exit 2 xr replay
	assert_grep 'say what to replay' "$TMP"/err
	assert_exit 2 xr replay --message nonsense
	assert_exit 2 xr replay --since yesterday -s rb
	assert_exit 2 xr replay -s rb --rate 0
	# nothing changed anywhere
	"$XRTEST" pel "$REDIS_URL" rb g >"$TMP"/after
	cmp "$TMP"/before "$TMP"/after || fail "the pending list changed"
	assert_eq "$len" "$(rcli XLEN rb)"
	assert_eq "$n" "$(sql "select count(*) from events")"
}
test_case 'bad input: unknown batch, rolled-back batch, empty selection, a target that is no stream' bad_input

dry_run() {
	held_setup dr 20
	len=$(rcli XLEN dr)
	n=$(sql "select count(*) from events")
	xr replay -s dr --dry-run >"$TMP"/out 2>&1
	assert_grep '^would copy 20 entries$' "$TMP"/out
	assert_grep '^dr +g +[0-9]+-[0-9]+ +held +dr$' "$TMP"/out
	assert_eq "$len" "$(rcli XLEN dr)"
	assert_eq "$n" "$(sql "select count(*) from events")"
}
test_case 'replay --dry-run prints what would be re-injected and changes nothing' dry_run

selection() {
	make_stream sel g 30
	crash_consumer sel g d1 10
	xr -q run -s sel --claim-idle 0 --no-clean
	r1=$(sql "select max(run) from runs")
	crash_consumer sel g d2 20
	xr -q run -s sel --claim-idle 0 --no-clean
	id=$(sql "select entry_id from claimed_messages where stream = 'sel' and from_consumer = 'd2' limit 1")
	xr replay --run "$r1" --dry-run --json >"$TMP"/j1
	xr replay --message sel/"$id" -m sel/"$id" --dry-run --json >"$TMP"/j2
	xr replay -s sel -g g --dry-run --json >"$TMP"/j3
	xr replay -s sel -g other --dry-run --json >"$TMP"/j4 2>/dev/null || true
	python3 - "$TMP"/j1 "$TMP"/j2 "$TMP"/j3 <<-'EOF'
	import json, sys
	n = [len(json.load(open(f))["entries"]) for f in sys.argv[1:]]
	assert n == [10, 1, 30], n
	EOF
	assert_exit 6 xr replay -s sel -g other --dry-run
	# --to another stream
	xr replay --run "$r1" --to sel-copy >/dev/null 2>&1
	assert_eq 10 "$(rcli XLEN sel-copy)"
}
test_case 'selection by run, message, stream and group; --to another stream' selection

# ------------------------------------------------------------------- kills

# kills: how many replays were killed, and how many of them in the middle of
# the work (the journal says the batch crashed, and it has copies: journalled
# by the replay itself, or found by the next command's reconciliation)
kill_replay() {
	held_setup kr 10000 "--size 40"
	"$XRTEST" pel "$REDIS_URL" kr g >"$TMP"/pel.before
	len=$(rcli XLEN kr)
	kills=20
	i=0
	while [ $i -lt $kills ]; do
		# killed without warning after its first 1 to 1,500 copies, and up to 1 ms later
		at=$((len + 1 + $(random_below 1500)))
		us=$(random_below 1000)
		"$XR" -r "$REDIS_URL" --db "$DB" -q replay -s kr >/dev/null 2>&1 &
		pid=$!
		"$XRTEST" kill-at "$REDIS_URL" $pid "$us" xlen kr "$at" || true
		wait $pid 2>/dev/null || true
		# the next command reconciles the killed one, then the rollback takes all back
		b=$(last_batch)
		if [ "$b" != 0 ] && [ "$(sql "select status from replays where batch = $b")" != "rolled back" ]; then
			xr -q rollback "$b" >/dev/null 2>&1 || fail "rollback $b failed"
		fi
		# exactly one place for every entry: pending as before, no copy left
		assert_eq "$len" "$(rcli XLEN kr)" "stream length after round $i"
		"$XRTEST" pel "$REDIS_URL" kr g >"$TMP"/pel.after
		cmp "$TMP"/pel.before "$TMP"/pel.after || fail "round $i: the pending list changed"
		# the journal accounts for every copy made: removed, each once
		assert_eq 0 "$(sql "select count(*) from copy_events r where r.stream = 'kr' and not exists (select 1 from events x where x.kind = 'copy_removed' and x.batch = r.batch and x.ref_ms = r.copy_ms and x.ref_seq = r.copy_seq and x.ref_stream = r.to_stream)")" "copies not taken back after round $i"
		assert_eq 0 "$(sql "select count(*) from (select batch, copy_ms, copy_seq from copy_events where stream = 'kr' group by 1, 2, 3 having count(*) > 1)")" "copies journalled twice"
		i=$((i + 1))
	done
	# the killed commands left the hash chain whole
	xr verify >/dev/null || fail "verify after the kills: exit $?"
	mid=$(sql "select count(*) from replays where end_status = 'crashed' and copied > 0 and batch in (select batch from replayed_messages where stream = 'kr')")
	rec=$(sql "select count(*) from replayed_messages where stream = 'kr' and reconciled = 1")
	echo "$(sql "select count(*) from replayed_messages where stream = 'kr'") copies made and taken back"
	echo "kills: $kills, mid-work: $mid, copies reconciled: $rec" | tee "$TMP"/replay.kills
	[ "$mid" -ge 15 ] || fail "only $mid of $kills kills landed in the middle of the replay"
	[ "$rec" -ge 2000 ] || fail "only $rec copies reconciled: the kills did not catch copies in flight"
}
test_case 'SIGKILL at random instants during a 10,000-entry replay, 20 times: each entry in one place' kill_replay
if [ -s "$TMP"/replay.kills ]; then echo "# $(cat "$TMP"/replay.kills)"; fi

# copy_places BATCH TARGET: every copy of the batch is in TARGET once and
# journalled once; TARGET holds nothing else; each original has one copy
copy_places() {
	made=$(rcli XLEN "$2")
	assert_eq "$made" "$(sql "select count(*) from replayed_messages where batch = $1")" "copies journalled"
	assert_eq 0 "$(sql "select count(*) from (select copy_id from replayed_messages where batch = $1 group by copy_id having count(*) > 1)")" "copies journalled twice"
	assert_eq 0 "$(sql "select count(*) from (select stream, entry_id from replayed_messages where batch = $1 group by 1, 2 having count(*) > 1)")" "originals copied twice"
	"$XRTEST" copies "$REDIS_URL" "$DB" "$1" >"$TMP"/v
	assert_grep "^checked=$made different=0 missing=0\$" "$TMP"/v
}

fp_copy_planned() {
	# 1,000 held entries, copied 250 a request, two requests in flight: the
	# replay is killed when it has planned its third request, after sending
	# the first two and before sending the third
	held_setup cp 1000
	"$XRTEST" pel "$REDIS_URL" cp g >"$TMP"/pel.before
	assert_exit 137 env XRECOVER_FAILPOINT=copy-planned:3 "$XR" -r "$REDIS_URL" --db "$DB" -q \
		replay -s cp --to cp.copy
	b=$(last_batch)
	assert_eq 500 "$(rcli XLEN cp.copy)"
	# the next command journals the copies the killed one made, and no other
	xr run -s cp --claim-idle 1h --no-clean 2>"$TMP"/log
	cat "$TMP"/log
	assert_grep '\[RECONCILE\] crashed_runs=0 crashed_replays=1 .* copies=(2[5-9][0-9]|[3-4][0-9][0-9]|500) ' "$TMP"/log
	assert_eq "crashed|500" "$(sql "select end_status, copied from replays where batch = $b")"
	copy_places "$b" cp.copy
	"$XRTEST" pel "$REDIS_URL" cp g >"$TMP"/pel.after
	cmp "$TMP"/pel.before "$TMP"/pel.after || fail "the pending list changed"
	# and a rollback takes back exactly those, each once
	xr rollback "$b" >"$TMP"/out 2>"$TMP"/err
	assert_grep "^rolled back batch $b: removed 500 unread copies\$" "$TMP"/out
	assert_eq 0 "$(rcli XLEN cp.copy)"
	assert_eq 0 "$(sql "select count(*) from replayed_messages r where batch = $b and (select count(*) from events x where x.kind = 'copy_removed' and x.batch = r.batch and x.ref_stream = r.to_stream and x.ref_ms || '-' || x.ref_seq = r.copy_id) <> 1")" "copies not removed exactly once"
}
test_case 'killed after planning a request of copies, before sending it: the copies made are journalled once, the planned ones never' fp_copy_planned

fp_rollback_unsent() {
	held_setup ru 600
	"$XRTEST" pel "$REDIS_URL" ru g >"$TMP"/pel.before
	xr -q replay -s ru --to ru.copy >/dev/null
	b=$(last_batch)
	assert_eq 600 "$(rcli XLEN ru.copy)"
	# the rollback removes the copies from Redis and is killed before it journals it
	assert_exit 137 env XRECOVER_FAILPOINT=rollback-unsent "$XR" -r "$REDIS_URL" --db "$DB" -q \
		rollback "$b"
	assert_eq 0 "$(rcli XLEN ru.copy)"
	assert_eq 0 "$(sql "select removed from replays where batch = $b")"
	# the next command journals each removal once
	xr run -s ru --claim-idle 1h --no-clean 2>"$TMP"/log
	cat "$TMP"/log
	assert_grep '\[RECONCILE\] .* removed=600$' "$TMP"/log
	removed_once() {
		assert_eq 0 "$(sql "select count(*) from replayed_messages r where batch = $b and (select count(*) from events x where x.kind = 'copy_removed' and x.batch = r.batch and x.ref_stream = r.to_stream and x.ref_ms || '-' || x.ref_seq = r.copy_id) <> 1")" "copies not removed exactly once"
	}
	removed_once
	assert_eq "600|600" "$(sql "select copied, removed from replays where batch = $b")"
	"$XRTEST" pel "$REDIS_URL" ru g >"$TMP"/pel.after
	cmp "$TMP"/pel.before "$TMP"/pel.after || fail "the pending list changed"
	# nothing is in flight any more: the originals can be replayed again
	xr replay -s ru --to ru.copy --dry-run >"$TMP"/out
	assert_grep '^would copy 600 entries$' "$TMP"/out
	# the rollback, run again, finishes the batch and removes nothing twice
	xr rollback "$b" >"$TMP"/out 2>"$TMP"/err
	assert_eq "rolled back|600" "$(sql "select status, removed from replays where batch = $b")"
	removed_once
}
test_case 'killed after removing copies, before journalling it: the next command journals each removal once' fp_rollback_unsent

wal_bounded() {
	# A journal of its own: 400,000 held entries, a replay killed after
	# 300,000 copies (1,200 requests of 250).  The same replay again, from a
	# copy of the journal, while another reader holds a read transaction
	# open: what the WAL grows to when nothing can be merged.
	w=$TMP/wal.db
	"$XRTEST" fill "$REDIS_URL" wb 400000 --size 40 >/dev/null
	rcli XGROUP CREATE wb g 0 >/dev/null
	crash_consumer wb g dead
	"$XR" -r "$REDIS_URL" --db "$w" -q run -s wb --claim-idle 0 --no-clean
	cp "$w" "$TMP"/pinned.db
	XRECOVER_FAILPOINT=copy-sent:1200 "$XR" -r "$REDIS_URL" --db "$w" -q replay -s wb \
		--to wbcopy >/dev/null 2>&1 && fail "the failpoint did not stop the replay"
	made=$(rcli XLEN wbcopy)
	[ "$made" -ge 290000 ] || fail "only $made copies before the kill"
	wal=$(stat -c %s "$w"-wal)
	python3 -c 'import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN")
db.execute("SELECT count(*) FROM events").fetchall()
print("reading", flush=True)
time.sleep(600)' "$TMP"/pinned.db >"$TMP"/reader </dev/null 2>&1 &
	reader=$!
	i=0
	until grep -q reading "$TMP"/reader; do
		sleep 0.05
		i=$((i + 1))
		[ $i -lt 200 ] || fail "the reader did not start"
	done
	XRECOVER_FAILPOINT=copy-sent:1200 "$XR" -r "$REDIS_URL" --db "$TMP"/pinned.db -q replay \
		-s wb --to wbpinned >/dev/null 2>&1 || true
	pinned=$(stat -c %s "$TMP"/pinned.db-wal)
	kill $reader 2>/dev/null || true
	wait $reader 2>/dev/null || true
	echo "$made copies made before the kill; WAL $((wal / 1024)) KiB, $((pinned / 1024)) KiB when pinned"
	# The WAL is merged as the replay goes: far less than all its writes
	# typically a quarter to a third; a WAL that is never merged is as large as the pinned one
	[ "$wal" -lt $((pinned * 2 / 3)) ] || fail "WAL of $wal bytes, $pinned when pinned"
	# the next run journals the copies the killed replay made, and the chain is whole
	"$XR" -r "$REDIS_URL" --db "$w" -q run -s wb --claim-idle 1h --no-clean
	assert_eq "$made" "$(sql "select count(*) from replayed_messages" "$w")"
	"$XR" -r "$REDIS_URL" --db "$w" -q verify >/dev/null || fail "verify: exit $?"
}
test_case 'a replay merges its WAL as it goes: killed after 300,000 copies, its WAL is under two thirds of what it is when a reader pins it' wal_bounded

legacy_copies() {
	# a journal from before replay_copies (schema 4), with one copy journalled
	# as a replay_copy event: entry 1-1 of lg held, its copy 2-1 not read yet
	DB=$TMP/legacy.db
	rcli XADD lg 1-1 f v >/dev/null
	rcli XGROUP CREATE lg g 0 >/dev/null
	rcli XREADGROUP GROUP g xrecover COUNT 1 STREAMS lg '>' >/dev/null
	rcli XADD lg 2-1 f v >/dev/null
	{ cat "$TOP/schema/001_init.sql" "$TOP/schema/002_moves.sql"; echo "
		PRAGMA user_version = 2;
		INSERT INTO events (ts, run, kind, detail) VALUES (1768644328000, 1, 'run_start', '{}');
		INSERT INTO events (ts, run, kind, stream, grp, entry_ms, entry_seq, consumer, idle_ms,
		  deliveries, payload) VALUES (1768644328001, 1, 'claim', 'lg', 'g', 1, 1, 'dead', 5000,
		  2, '{\"f\":\"v\"}');
		INSERT INTO events (ts, run, kind, detail) VALUES (1768644328002, 1, 'run_end', '{\"status\":\"ok\"}');
		INSERT INTO events (ts, kind, batch, detail) VALUES (1768644329000, 'replay_start', 1,
		  '{\"automatic\":false,\"to\":null}');
		INSERT INTO events (ts, kind, batch, stream, grp, entry_ms, entry_seq, consumer,
		  deliveries, ref_stream, ref_ms, ref_seq, detail) VALUES (1768644329001, 'replay_copy',
		  1, 'lg', 'g', 1, 1, 'dead', 2, 'lg', 2, 1, '{\"source\":\"held\"}');
		INSERT INTO events (ts, kind, batch, detail) VALUES (1768644329002, 'replay_end', 1,
		  '{\"status\":\"ok\",\"copied\":1}');"
	} | sqlite3 "$DB"
	# migrated by the next run; the copy is not read: nothing settles
	xr -q run -s lg --claim-idle 1h --no-clean
	assert_eq "1-1|2-1|held" "$(sql "select entry_id, copy_id, source from replayed_messages")"
	assert_eq "1|open" "$(sql "select copied, status from replays where batch = 1")"
	assert_eq "1|1" "$(sql "select count(*), sum(pos = -1) from copied")"
	# its original is not replayed again while the copy is in flight
	assert_exit 6 xr replay --message lg/1-1
	assert_grep 'already have a copy in flight' "$TMP"/err
	# a consumer reads the copy and dies: the rollback lists it as read
	crash_consumer lg g dead2
	xr rollback 1 >"$TMP"/out 2>&1
	assert_grep '^  lg 2-1$' "$TMP"/out
	# claimed from it, the copy counts its original's 2 deliveries too: 3 > 2
	xr run -s lg --claim-idle 0 --no-clean --max-deliveries 2 2>"$TMP"/log
	assert_eq "lg|2-1|3" "$(sql "select stream, entry_id, deliveries from dead_letters")"
	xr verify >/dev/null
}
test_case 'a journal from before replay_copies: its copies are in the views, in flight, rolled back, counted' legacy_copies

# ---------------------------------- --action redeliver on entries held earlier

# one_copy STREAM N DB: N originals, each with exactly one copy, each read once
one_copy() {
	assert_eq "$2|$2" "$(sql "select count(*), count(distinct entry_id) from replayed_messages where stream = '$1'" "$3")" "copies of $1"
	assert_eq $(($2 * 2)) "$(rcli XLEN "$1")" "XLEN $1"
	"$XRTEST" worker "$REDIS_URL" "$1" g live 1 >"$TMP"/read
	assert_lines "$2" "$TMP"/read
	sort -n "$TMP"/read | uniq >"$TMP"/once
	assert_lines "$2" "$TMP"/once
}

redeliver_held() {
	D=$TMP/rh.db
	# entries held by a run with --action hold
	make_stream rh g 40
	crash_consumer rh g dead
	"$XR" -r "$REDIS_URL" --db "$D" -q run -s rh --claim-idle 0 --no-clean
	# a redeliver run killed after its claims were journalled, before any copy
	make_stream rk g 1000
	crash_consumer rk g dead
	set +e
	XRECOVER_FAILPOINT=batch-committed:1 "$XR" -r "$REDIS_URL" --db "$D" -q run -s rk \
		--claim-idle 0 --no-clean --action redeliver --batch 100 2>/dev/null
	rc=$?
	set -e
	[ $rc -eq 137 ] || fail "rk: not killed: exit $rc"
	j=$(sql "select count(*) from claimed_messages where stream = 'rk'" "$D")
	[ "$j" -gt 0 ] || fail "no claim journalled before the kill"
	assert_eq 1000 "$(rcli XLEN rk)"
	# a redeliver run killed after its first request of copies (250) was sent
	make_stream rc g 1000
	crash_consumer rc g dead
	set +e
	XRECOVER_FAILPOINT=copy-sent:1 "$XR" -r "$REDIS_URL" --db "$D" -q run -s rc \
		--claim-idle 0 --no-clean --action redeliver 2>/dev/null
	rc=$?
	set -e
	[ $rc -eq 137 ] || fail "rc: not killed: exit $rc"
	made=$(($(rcli XLEN rc) - 1000))
	echo "killed with $j claims journalled (rk), $made copies made (rc)"
	if [ "$made" -le 0 ] || [ "$made" -ge 1000 ]; then fail "rc: killed with $made copies made"; fi
	# the next redeliver run copies every held entry that has no copy yet: each once
	"$XR" -r "$REDIS_URL" --db "$D" run -s rk -s rc -s rh --claim-idle 0 --no-clean \
		--action redeliver 2>"$TMP"/log
	cat "$TMP"/log
	assert_grep '\[RECONCILE\] .* copies='"$made"' ' "$TMP"/log
	"$XR" -r "$REDIS_URL" --db "$D" -q run -s rk -s rc -s rh --claim-idle 0 --no-clean --action redeliver
	one_copy rk 1000 "$D"
	one_copy rc 1000 "$D"
	one_copy rh 40 "$D"
	# once read and acknowledged, every original is settled, once
	"$XR" -r "$REDIS_URL" --db "$D" run -s rk -s rc -s rh --claim-idle 0 --no-clean \
		--action redeliver 2>"$TMP"/log
	assert_grep 'settled=2040' "$TMP"/log
	for s in rk rc rh; do
		assert_eq 0 "$(rcli XPENDING $s g | head -n 1)" "$s pending"
	done
}
test_case '--action redeliver copies the entries a killed run or a hold run left held: one copy each' redeliver_held

test_done
