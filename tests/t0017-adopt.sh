#!/bin/sh
# t0017-adopt: entries the recovery consumer holds that the journal at hand
# does not know (another journal claimed them, or the journal was lost) are
# adopted by the next run: journalled byte for byte, delivery counts as
# Redis has them, and then held entries like any other.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# pel STREAM: "id owner deliveries" of every pending entry of group g
pel() {
	"$XRTEST" pel "$REDIS_URL" "$1" g
}

# held_by_a STREAM N: N entries (NUL, invalid UTF-8, a 1 MB value, 1000 fields)
# read by a consumer that dies, some twice, then claimed by a run with journal A;
# and 5 more entries read by a live consumer that no run claims.
held_by_a() {
	"$XRTEST" fill "$REDIS_URL" "$1" "$2" --mixed --big 3 --many 4 --size 40 >/dev/null
	rcli XGROUP CREATE "$1" g 0 >/dev/null
	crash_consumer "$1" g dead "$2"
	# a third of them delivered again (XCLAIM counts a delivery)
	for id in $(pel "$1" | awk 'NR % 3 == 0 { print $1 }'); do
		rcli XCLAIM "$1" g dead2 0 "$id" >/dev/null
	done
	"$XRTEST" fill "$REDIS_URL" "$1" 5 --start "$2" >/dev/null
	crash_consumer "$1" g alive
	"$XR" -r "$REDIS_URL" --db "$TMP"/a.db -q run -s "$1" --claim-idle 0 --no-clean \
		--exclude-consumer alive
	assert_eq "$2" "$(rcli XINFO CONSUMERS "$1" g | grep -A3 '^xrecover$' | sed -n 3p)" \
		"entries held after run A"
}

# adopted_checks STREAM N DB: DB journalled exactly the N entries the recovery
# consumer holds, byte for byte, with Redis's delivery counts, marked adopted
adopted_checks() {
	assert_eq "$2" "$(sql "select count(*) from claimed_messages where stream = '$1' and adopted = 1" "$3")"
	"$XRTEST" verify "$REDIS_URL" "$3" "$1" g >"$TMP"/v
	assert_grep "^checked=$2 mismatched=0 gone=0 duplicated=0 held=$2 unjournalled=0\$" "$TMP"/v
	# delivery counts: as XPENDING says, entry by entry
	pel "$1" | awk '$2 == "xrecover" { print $1, $3 }' | sort >"$TMP"/redis-deliveries
	sql "select entry_id || ' ' || deliveries from claimed_messages where stream = '$1'" "$3" |
		sort >"$TMP"/journal-deliveries
	cmp "$TMP"/redis-deliveries "$TMP"/journal-deliveries ||
		fail "journalled delivery counts differ from XPENDING's"
	assert_lines "$2" "$TMP"/journal-deliveries
	# where they came from, as far as Redis tells: the previous owner is unknown
	assert_eq "$2|0|$2|xrecover|unknown" "$(sql "select count(*), count(c.from_consumer),
		count(c.idle_ms), min(json_extract(e.detail, '\$.held_by')),
		max(json_extract(e.detail, '\$.previous_owner'))
		from claimed_messages c join events e using (seq) where c.stream = '$1'" "$3")"
}

two_journals() {
	held_by_a tj 40
	pel tj >"$TMP"/pel-before
	# journal A knows the 40 entries; journal B knows nothing and adopts exactly those
	sql "select entry_id from claimed_messages" "$TMP"/a.db | sort >"$TMP"/a-ids
	"$XR" -r "$REDIS_URL" --db "$TMP"/b.db --json run -s tj --claim-idle 0 --no-clean \
		--exclude-consumer alive >"$TMP"/out 2>"$TMP"/log
	assert_grep '\[ADOPT\] stream=tj group=g adopted=40 held=40' "$TMP"/log
	assert_grep '\[SUMMARY\] .* adopted=40 ' "$TMP"/log
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); g=d["groups"][0]
print(d["adopted"], g["adopted"], g["claimed"], g["held"])' "$TMP"/out >"$TMP"/counts
	assert_eq "40 40 0 40" "$(cat "$TMP"/counts)"
	sql "select entry_id from claimed_messages" "$TMP"/b.db | sort >"$TMP"/b-ids
	cmp "$TMP"/a-ids "$TMP"/b-ids || fail "journal B adopted other entries than A claimed"
	adopted_checks tj 40 "$TMP"/b.db
	assert_eq 40 "$(sql 'select adopted from runs' "$TMP"/b.db)"
	# Redis is as it was: same entries pending, same owners, same delivery counts
	pel tj >"$TMP"/pel-after
	cmp "$TMP"/pel-before "$TMP"/pel-after || fail "the pending entries changed"
	# status counts them as held; entry_fates calls them held
	"$XR" -r "$REDIS_URL" --db "$TMP"/b.db --json status -s tj >"$TMP"/st
	assert_eq 40 "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["groups"][0]["held"])' "$TMP"/st)"
	assert_eq "held|40" "$(sql "select fate, count(*) from entry_fates group by fate" "$TMP"/b.db)"
	# a second run adopts nothing new, and needs no look at each entry
	"$XR" -r "$REDIS_URL" --db "$TMP"/b.db -v run -s tj --claim-idle 0 --no-clean \
		--exclude-consumer alive 2>"$TMP"/log2
	assert_grep '\[ADOPT\] stream=tj group=g adopted=0 held=40 checked=unchanged' "$TMP"/log2
	assert_no_grep 'adopted=[1-9]' "$TMP"/log2
	assert_eq 40 "$(sql "select count(*) from events where kind = 'claim_reconciled'" "$TMP"/b.db)"
	pel tj >"$TMP"/pel-after2
	cmp "$TMP"/pel-before "$TMP"/pel-after2 || fail "the pending entries changed"
	# replay from journal B: each copy has the original's bytes, and a consumer reads them
	"$XR" -r "$REDIS_URL" --db "$TMP"/b.db --json replay -s tj >"$TMP"/rp
	b=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["batch"], d["copied"])' "$TMP"/rp)
	assert_eq "1 40" "$b"
	"$XRTEST" copies "$REDIS_URL" "$TMP"/b.db 1 >"$TMP"/c
	assert_grep '^checked=40 different=0 missing=0$' "$TMP"/c
	# shellcheck disable=SC2046 # one argument per ID
	"$XRTEST" hashes "$REDIS_URL" tj ids $(cat "$TMP"/a-ids) | sort >"$TMP"/h-orig
	"$XRTEST" hashes "$REDIS_URL" tj read g reader | sort >"$TMP"/h-read
	assert_lines 40 "$TMP"/h-read
	cmp "$TMP"/h-orig "$TMP"/h-read || fail "the consumer read other bytes than the originals"
}
test_case 'two journals: B adopts exactly what A claimed, byte for byte, delivery counts kept; replay from B' two_journals

others_claim_later() {
	# B claims more itself (enough that a look would cost more than waiting for
	# a sighting that shows later claims): its next run knows without a look
	# that nothing is new
	"$XRTEST" fill "$REDIS_URL" tj 5000 --start 1000 >/dev/null
	crash_consumer tj g dead4
	"$XR" -r "$REDIS_URL" --db "$TMP"/b.db -v run -s tj --claim-idle 0 --no-clean \
		--exclude-consumer alive --exclude-consumer reader 2>"$TMP"/log
	assert_grep '\[RECOVER\] XCLAIM claimed=5000 ' "$TMP"/log
	"$XR" -r "$REDIS_URL" --db "$TMP"/b.db -v run -s tj --claim-idle 0 --no-clean \
		--exclude-consumer alive --exclude-consumer reader 2>"$TMP"/log
	assert_grep '\[ADOPT\] stream=tj group=g adopted=0 held=5040 checked=unchanged' "$TMP"/log
	# B has checked everything; now a third journal claims more
	# entries into the recovery consumer, and an operator acknowledges as many
	# held ones: the count is the same, yet B's next run adopts the new ones
	"$XRTEST" fill "$REDIS_URL" tj 6 --start 100 --mixed >/dev/null
	crash_consumer tj g dead3
	sleep 0.05
	"$XR" -r "$REDIS_URL" --db "$TMP"/c.db -q run -s tj --claim-idle 0 --no-clean \
		--exclude-consumer alive --exclude-consumer reader
	for id in $(pel tj | awk '$2 == "xrecover" { print $1 }' | head -n 6); do
		rcli XACK tj g "$id" >/dev/null
	done
	assert_eq 5040 "$(rcli XINFO CONSUMERS tj g | grep -A3 '^xrecover$' | sed -n 3p)"
	"$XR" -r "$REDIS_URL" --db "$TMP"/b.db -v run -s tj --claim-idle 0 --no-clean \
		--exclude-consumer alive --exclude-consumer reader 2>"$TMP"/log
	assert_grep '\[ADOPT\] stream=tj group=g adopted=6 held=5040 checked=each' "$TMP"/log
	sql "select entry_id from claimed_messages where adopted = 0" "$TMP"/c.db | sort >"$TMP"/c-ids
	sql "select entry_id from claimed_messages where run = (select max(run) from runs)" "$TMP"/b.db |
		sort >"$TMP"/b-new
	cmp "$TMP"/c-ids "$TMP"/b-new || fail "B adopted other entries than C claimed"
	"$XRTEST" verify "$REDIS_URL" "$TMP"/b.db tj g >"$TMP"/v
	assert_grep 'mismatched=0 gone=0 duplicated=0 held=5040 unjournalled=0$' "$TMP"/v
}
test_case 'entries another journal claims later, behind an unchanged count, are adopted by the next run' others_claim_later

# wait_stopped PID: until the process is stopped (SIGSTOP at a failpoint)
wait_stopped() {
	n=0
	while [ $n -lt 200 ]; do
		[ "$(cut -d ' ' -f 3 "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.05
		n=$((n + 1))
	done
	return 1
}

claimed_meanwhile() {
	# B checks what is held, then, while B works on the group, journal C claims
	# three entries; B claims five of its own: its next run looks at each entry
	"$XRTEST" fill "$REDIS_URL" tj 5 --start 300 >/dev/null
	crash_consumer tj g dead5
	"$XRTEST" fill "$REDIS_URL" tj 3 --start 400 >/dev/null
	crash_consumer tj g dead6
	held=$(rcli XINFO CONSUMERS tj g | grep -A3 '^xrecover$' | sed -n 3p)
	XRECOVER_FAILPOINT=adopt-checked:stop "$XR" -r "$REDIS_URL" --db "$TMP"/b.db -v run -s tj \
		--claim-idle 0 --no-clean --exclude-consumer alive --exclude-consumer reader \
		--exclude-consumer dead6 2>"$TMP"/log &
	pid=$!
	wait_stopped $pid || { kill -9 $pid; fail "the run did not stop at adopt-checked"; }
	"$XR" -r "$REDIS_URL" --db "$TMP"/c.db -q run -s tj --claim-idle 0 --no-clean \
		--exclude-consumer alive --exclude-consumer reader --exclude-consumer dead5
	kill -CONT $pid
	wait $pid || fail "the run failed: exit $?"
	assert_grep "\\[ADOPT\\] stream=tj group=g adopted=0 held=$held checked=unchanged" "$TMP"/log
	assert_grep '\[RECOVER\] XCLAIM claimed=5 ' "$TMP"/log
	"$XR" -r "$REDIS_URL" --db "$TMP"/b.db -v run -s tj --claim-idle 0 --no-clean \
		--exclude-consumer alive --exclude-consumer reader 2>"$TMP"/log
	assert_grep "\\[ADOPT\\] stream=tj group=g adopted=3 held=$((held + 8)) checked=each" "$TMP"/log
	"$XRTEST" verify "$REDIS_URL" "$TMP"/b.db tj g >"$TMP"/v
	assert_grep "mismatched=0 gone=0 duplicated=0 held=$((held + 8)) unjournalled=0\$" "$TMP"/v
}
test_case 'entries another journal claims while a run works on the group are adopted by the next run' claimed_meanwhile

journal_deleted() {
	held_by_a jd 30
	pel jd >"$TMP"/pel-before
	rm -f "$TMP"/a.db "$TMP"/a.db-wal "$TMP"/a.db-shm "$TMP"/a.db.intent
	"$XR" -r "$REDIS_URL" --db "$TMP"/a.db --json run -s jd --claim-idle 0 --no-clean \
		--exclude-consumer alive >"$TMP"/out 2>"$TMP"/log
	assert_grep '\[ADOPT\] stream=jd group=g adopted=30 held=30' "$TMP"/log
	adopted_checks jd 30 "$TMP"/a.db
	pel jd >"$TMP"/pel-after
	cmp "$TMP"/pel-before "$TMP"/pel-after || fail "the pending entries changed"
	"$XR" -r "$REDIS_URL" --db "$TMP"/a.db -v run -s jd --claim-idle 0 --no-clean \
		--exclude-consumer alive 2>"$TMP"/log2
	assert_grep '\[ADOPT\] stream=jd group=g adopted=0 held=30 checked=unchanged' "$TMP"/log2
	# the actions take them as held entries: --max-deliveries 1 dead-letters those
	# delivered twice, --action dead-letter the rest
	twice=$(pel jd | awk '$2 == "xrecover" && $3 > 1' | wc -l | tr -d ' ')
	[ "$twice" -gt 0 ] || fail "no entry was delivered twice"
	"$XR" -r "$REDIS_URL" --db "$TMP"/a.db -q run -s jd --claim-idle 1h --no-clean \
		--max-deliveries 1
	assert_eq "$twice" "$(sql "select count(*) from dead_letters where stream = 'jd'" "$TMP"/a.db)"
	"$XR" -r "$REDIS_URL" --db "$TMP"/a.db -q run -s jd --claim-idle 1h --no-clean \
		--action dead-letter
	assert_eq 30 "$(sql "select count(*) from dead_letters where stream = 'jd'" "$TMP"/a.db)"
	assert_eq 30 "$(rcli XLEN jd:dlq)"
	"$XRTEST" dlq "$REDIS_URL" jd g jd:dlq >"$TMP"/d
	assert_grep '^dead_letters=30 same=30 different=0 missing=0 pending=0 twice=0 ' "$TMP"/d
	assert_eq "dead-lettered|30" "$(sql "select fate, count(*) from entry_fates group by fate" "$TMP"/a.db)"
}
test_case 'a journal deleted between runs: the next run adopts what it held, the actions move them' journal_deleted

deleted_meanwhile() {
	held_by_a dm 10
	ids=$(pel dm | awk '$2 == "xrecover" { print $1 }' | sed -n '2p;5p;9p')
	for id in $ids; do
		rcli XDEL dm "$id" >/dev/null
	done
	"$XR" -r "$REDIS_URL" --db "$TMP"/dm.db run -s dm --claim-idle 0 --no-clean \
		--exclude-consumer alive 2>"$TMP"/log
	assert_grep '\[ADOPT\] stream=dm group=g adopted=7 lost=3 held=10' "$TMP"/log
	assert_eq 3 "$(grep -c '\[LOST\]' "$TMP"/log)"
	assert_eq 7 "$(sql "select count(*) from claimed_messages where adopted = 1" "$TMP"/dm.db)"
	sql "select entry_id from lost_messages" "$TMP"/dm.db | sort >"$TMP"/lost
	echo "$ids" | sort >"$TMP"/deleted
	cmp "$TMP"/deleted "$TMP"/lost || fail "other entries journalled as lost"
	assert_eq "3|deleted from the stream while the recovery consumer held it, before this journal knew it" \
		"$(sql "select count(*), min(reason) from lost_messages" "$TMP"/dm.db)"
	# once, not at each run
	"$XR" -r "$REDIS_URL" --db "$TMP"/dm.db -q run -s dm --claim-idle 0 --no-clean \
		--exclude-consumer alive
	assert_eq 3 "$(sql "select count(*) from lost_messages" "$TMP"/dm.db)"
	assert_eq 7 "$(sql "select count(*) from claimed_messages" "$TMP"/dm.db)"
}
test_case 'an entry deleted from the stream before it was adopted is journalled lost, with the reason, once' deleted_meanwhile

test_done
