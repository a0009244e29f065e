#!/bin/sh
# bench/run.sh: the benchmarks, each a ratio against a baseline measured in
# the same invocation on the same data (machines are noisy: no bare times).
#
# claim: drain N stale entries of about 230 bytes from one group.
#   baseline  a plain hiredis loop of XAUTOCLAIM ... COUNT $BATCH that
#             journals nothing: the ceiling Redis sets
#   xrecover  `xrecover run`: claims, journals every entry with its payload,
#             commits durably
#   Reported: both rates, their ratio (median of $ROUNDS pairs), and
#   xrecover's peak RSS.  Must hold: ratio >= 0.7 at each size, peak RSS
#   < 64 MiB and not growing with the pending list.
#
# replay: copy 100,000 journalled entries of about 230 bytes to a stream.
#   baseline  a plain hiredis pipeline of XADD * with the same payloads, read
#             from the same journal beforehand (untimed): the ceiling
#   xrecover  `xrecover replay --to`: selects from the journal, copies with
#             explicit IDs, journals every copy, commits durably
#   Must hold: ratio >= 0.5.
#
# rollback: take back the 100,000 copies of a replay batch.
#   baseline  the replay that made them (`xrecover replay --to`, as above),
#             timed in the same round
#   xrecover  `xrecover rollback BATCH`: checks and removes each copy, journals
#             each copy removed and the rollback, commits durably
#   Reported: both rates, their ratio (rollback rate / replay rate, median of
#   $ROUNDS rounds).  Must hold: ratio >= 0.5.
#
# verify: walk the hash chain of a journal of 30 days with 10,000,000 claims.
#   baseline  reading every column of every event once in one thread,
#             hashing nothing (bench-base scan): the floor
#   xrecover  `xrecover verify`
#   Must hold: at least 500,000 events per second.
#
# daily: the daily report of one day, on the same 30-day journal and on a
#   journal holding only that day's events (the baseline).
#   Must hold: the 30-day journal takes at most 1.5 times as long.
#
# adopt: the recovery consumer holds N entries of about 230 bytes that the
#   journal does not know (another journal claimed them).
#   baseline  `xrecover run` claiming the same N entries from a dead
#             consumer into a new journal (the claim drain)
#   xrecover  `xrecover run` with a new journal: adopts the N entries
#             (XPENDING, XRANGE, journals each with its payload)
#   Also: the next run on that journal, which knows that nothing is new
#   (one XINFO CONSUMERS for the group), against the adopting run.
#   Must hold: adopting at least half as fast as claiming, and the next
#   run under a fifth of the adopting run.
#
# BENCH=claim, BENCH=replay, BENCH=rollback, BENCH=verify, BENCH=daily or
# BENCH=adopt runs one of them.
set -eu
cd "$(dirname "$0")/.."
B=${XR_BUILD:-build/rel}
ROUNDS=${ROUNDS:-3}
BATCH=${BATCH:-200}
SIZES=${SIZES:-"100000 1000000"}
REPLAY_N=${REPLAY_N:-100000}
ADOPT_N=${ADOPT_N:-100000}
BENCH=${BENCH:-"claim replay rollback verify daily adopt"}
VERIFY_CLAIMS=${VERIFY_CLAIMS:-10000000}
TOOL=$B/bench-base
XRTEST=$B/xrtest

tmp=$(mktemp -d /tmp/xr-bench.XXXXXX)
port=$($XRTEST port)
redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no \
	--daemonize no --logfile "$tmp/redis.log" >/dev/null 2>&1 &
rpid=$!
trap 'kill -9 $rpid 2>/dev/null; rm -rf "$tmp"' EXIT
url=redis://127.0.0.1:$port
i=0
until redis-cli -p "$port" ping >/dev/null 2>&1; do
	sleep 0.05
	i=$((i + 1))
	[ $i -lt 200 ] || { echo "bench: redis-server did not start" >&2; exit 1; }
done

median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# rounds_begin: empties the per-round records
rounds_begin() {
	: >"$tmp/ratios"
	: >"$tmp/brates"
	: >"$tmp/xrates"
	: >"$tmp/rss"
}

# round_record N BASELINE_SECONDS XRECOVER_SECONDS RSS_KIB: one round's rates and ratio
round_record() {
	echo "$4" >>"$tmp/rss"
	awk -v n="$1" -v b="$2" -v x="$3" 'BEGIN {
		printf "%.0f\n", n / b >> "'"$tmp/brates"'"
		printf "%.0f\n", n / x >> "'"$tmp/xrates"'"
		printf "%.3f\n", b / x >> "'"$tmp/ratios"'" }'
}

# rounds_end N: prints the medians' line; sets $ratio and $rss (the peak)
rounds_end() {
	ratio=$(median <"$tmp/ratios")
	rss=$(sort -g "$tmp/rss" | tail -n 1)
	printf '%10s %14s %14s %7s %7.1f MiB\n' "$1" "$(median <"$tmp/brates")" \
		"$(median <"$tmp/xrates")" "$ratio" "$(echo "$rss" | awk '{ print $1 / 1024 }')"
}

fail=0

claim_bench() {
echo "claim benchmark: batch $BATCH, $ROUNDS rounds, median of per-round ratios"
	printf '%10s %14s %14s %7s %10s\n' entries "baseline/s" "xrecover/s" ratio "peak RSS"
	for n in $SIZES; do
		redis-cli -p "$port" FLUSHALL >/dev/null
		# 230 bytes of fields: "i" and its number, "body" and 210 bytes
		$XRTEST fill "$url" bench "$n" --size 210 >/dev/null
		redis-cli -p "$port" XGROUP CREATE bench g 0 >/dev/null
		$XRTEST read "$url" bench g crashed "$n" >/dev/null
		rounds_begin
		r=0
		while [ $r -lt "$ROUNDS" ]; do
			# baseline: takes every entry (from whoever holds it) to "baseline"
			# shellcheck disable=SC2046 # the tool prints one word per figure
			set -- $($TOOL xautoclaim "$url" bench g baseline "$BATCH")
			[ "$1" = "$n" ] || { echo "bench: baseline claimed $1 of $n" >&2; exit 1; }
			bsec=$2
			# xrecover: takes them all back from "baseline", journalled, in a new journal
			rm -f "$tmp"/j.db*
			# shellcheck disable=SC2046 # the tool prints one word per figure
			set -- $($TOOL rss "$B/xrecover" -q -r "$url" --db "$tmp/j.db" run -s bench \
				--claim-idle 0 --no-clean --batch "$BATCH")
			[ "$1" = 0 ] || { echo "bench: xrecover exited $1" >&2; exit 1; }
			xsec=$2
			xrss=$3
			got=$(sqlite3 "$tmp/j.db" "select count(*) from claimed_messages")
			[ "$got" = "$n" ] || { echo "bench: xrecover journalled $got of $n" >&2; exit 1; }
			round_record "$n" "$bsec" "$xsec" "$xrss"
			r=$((r + 1))
		done
		rounds_end "$n"
		echo "$n $ratio $rss" >>"$tmp/summary"
	done

	# The thresholds.
	big=$(tail -n 1 "$tmp/summary")
	small=$(head -n 1 "$tmp/summary")
	rss_big=$(echo "$big" | cut -d' ' -f3)
	rss_small=$(echo "$small" | cut -d' ' -f3)
	bad=0
	# the ratio must hold at every size measured
	while read -r size r rss; do
		if awk -v r="$r" 'BEGIN { exit !(r < 0.7) }'; then
			echo "FAIL: claim ratio $r < 0.7 at $size entries"
			bad=1
		fi
	done <"$tmp/summary"
	for v in $rss_big $rss_small; do
		if [ "$v" -ge 65536 ]; then
			echo "FAIL: peak RSS $v KiB >= 64 MiB"
			bad=1
		fi
	done
	if [ "$rss_big" -gt $((rss_small * 3 / 2 + 4096)) ]; then
		echo "FAIL: peak RSS grows with the pending list ($rss_small -> $rss_big KiB)"
		bad=1
	fi
	if [ $bad -eq 0 ]; then
		echo "claim: ok (ratio >= 0.7, peak RSS < 64 MiB and flat)"
	else
		fail=1
	fi
}

# replay_source N: N entries of about 230 bytes held by the recovery consumer,
# each claimed once in the journal $tmp/src.db
replay_source() {
	redis-cli -p "$port" FLUSHALL >/dev/null
	$XRTEST fill "$url" bench "$1" --size 210 >/dev/null
	redis-cli -p "$port" XGROUP CREATE bench g 0 >/dev/null
	$XRTEST read "$url" bench g crashed "$1" >/dev/null
	rm -f "$tmp"/src.db*
	"$B"/xrecover -q -r "$url" --db "$tmp/src.db" run -s bench --claim-idle 0 --no-clean \
		>/dev/null
}

# fresh_journal: $tmp/j.db, a copy of $tmp/src.db, on disk before a clock starts
fresh_journal() {
	rm -f "$tmp"/j.db*
	cp "$tmp/src.db" "$tmp/j.db"
	# the copy's writeback is not the command's
	sync "$tmp/j.db"
}

replay_bench() {
	n=$REPLAY_N
	replay_source "$n"
	rounds_begin
	echo
	echo "replay benchmark: $ROUNDS rounds, median of per-round ratios"
	printf '%10s %14s %14s %7s %10s\n' entries "baseline/s" "xrecover/s" ratio "peak RSS"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		redis-cli -p "$port" DEL base copy >/dev/null
		# shellcheck disable=SC2046 # the tool prints one word per figure
		set -- $($TOOL xadd "$url" base "$tmp/src.db")
		[ "$1" = "$n" ] || { echo "bench: baseline added $1 of $n" >&2; exit 1; }
		bsec=$2
		# Each round replays from a fresh copy of the journal.
		fresh_journal
		# shellcheck disable=SC2046 # the tool prints one word per figure
		set -- $($TOOL rss "$B/xrecover" -q -r "$url" --db "$tmp/j.db" replay -s bench \
			--to copy)
		[ "$1" = 0 ] || { echo "bench: xrecover replay exited $1" >&2; exit 1; }
		xsec=$2
		xrss=$3
		got=$(redis-cli -p "$port" XLEN copy)
		[ "$got" = "$n" ] || { echo "bench: replay made $got copies of $n" >&2; exit 1; }
		got=$(sqlite3 "$tmp/j.db" "select count(*) from replayed_messages")
		[ "$got" = "$n" ] || { echo "bench: replay journalled $got of $n" >&2; exit 1; }
		round_record "$n" "$bsec" "$xsec" "$xrss"
		r=$((r + 1))
	done
	rounds_end "$n"
	if awk -v r="$ratio" 'BEGIN { exit !(r < 0.5) }'; then
		echo "FAIL: replay ratio $ratio < 0.5"
		fail=1
	else
		echo "replay: ok (ratio >= 0.5)"
	fi
}

rollback_bench() {
	n=$REPLAY_N
	replay_source "$n"
	rounds_begin
	echo
	echo "rollback benchmark: $ROUNDS rounds, median of per-round ratios to the replay"
	printf '%10s %14s %14s %7s %10s\n' copies "replay/s" "rollback/s" ratio "peak RSS"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		redis-cli -p "$port" DEL copy >/dev/null
		fresh_journal
		# shellcheck disable=SC2046 # the tool prints one word per figure
		set -- $($TOOL rss "$B/xrecover" -q -r "$url" --db "$tmp/j.db" replay -s bench \
			--to copy)
		[ "$1" = 0 ] || { echo "bench: xrecover replay exited $1" >&2; exit 1; }
		psec=$2
		got=$(redis-cli -p "$port" XLEN copy)
		[ "$got" = "$n" ] || { echo "bench: replay made $got copies of $n" >&2; exit 1; }
		batch=$(sqlite3 "$tmp/j.db" "select max(batch) from events where kind = 'replay_start'")
		sync "$tmp/j.db"
		# shellcheck disable=SC2046 # the tool prints one word per figure
		set -- $($TOOL rss "$B/xrecover" -q -r "$url" --db "$tmp/j.db" rollback "$batch")
		[ "$1" = 0 ] || { echo "bench: xrecover rollback exited $1" >&2; exit 1; }
		xsec=$2
		xrss=$3
		got=$(redis-cli -p "$port" XLEN copy)
		[ "$got" = 0 ] || { echo "bench: rollback left $got of $n copies" >&2; exit 1; }
		got=$(sqlite3 "$tmp/j.db" "select removed from rollbacks where batch = $batch")
		[ "$got" = "$n" ] || { echo "bench: rollback counted $got of $n" >&2; exit 1; }
		got=$(sqlite3 "$tmp/j.db" "select count(*) from events where kind = 'copy_removed'")
		[ "$got" = "$n" ] || { echo "bench: rollback journalled $got of $n" >&2; exit 1; }
		round_record "$n" "$psec" "$xsec" "$xrss"
		r=$((r + 1))
	done
	rounds_end "$n"
	if awk -v r="$ratio" 'BEGIN { exit !(r < 0.5) }'; then
		echo "FAIL: rollback ratio $ratio < 0.5"
		fail=1
	else
		echo "rollback: ok (ratio >= 0.5)"
	fi
}

# The 30-day journal of $VERIFY_CLAIMS claims, made once for verify and daily.
journal30() {
	[ -s "$tmp/v30.db" ] && return
	$TOOL journal "$tmp/v30.db" "$VERIFY_CLAIMS" 30
}

verify_bench() {
	echo
	echo "verify benchmark: a 30-day journal of $VERIFY_CLAIMS claims, $ROUNDS rounds, medians"
	journal30
	: >"$tmp/vrates"
	: >"$tmp/vratios"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		# shellcheck disable=SC2046 # the tool prints one word per figure
		set -- $($TOOL scan "$tmp/v30.db")
		n=$1
		ssec=$2
		t0=$(date +%s.%N)
		"$B"/xrecover --db "$tmp/v30.db" verify >"$tmp/vout" || { echo "bench: verify failed" >&2; exit 1; }
		t1=$(date +%s.%N)
		grep -q "^journal whole: $n events" "$tmp/vout" || { cat "$tmp/vout"; exit 1; }
		awk -v n="$n" -v s="$ssec" -v a="$t0" -v b="$t1" 'BEGIN {
			printf "%.0f\n", n / (b - a) >> "'"$tmp/vrates"'"
			printf "%.3f\n", s / (b - a) >> "'"$tmp/vratios"'" }'
		r=$((r + 1))
	done
	rate=$(median <"$tmp/vrates")
	printf '%10s %14s %16s\n' events "verify/s" "ratio to a scan"
	printf '%10s %14s %16s\n' "$n" "$rate" "$(median <"$tmp/vratios")"
	if [ "$rate" -lt 500000 ]; then
		echo "FAIL: verify $rate events/s < 500,000"
		fail=1
	else
		echo "verify: ok (>= 500,000 events/s)"
	fi
}

# seconds COMMAND...: how long it took
seconds() {
	t0=$(date +%s.%N)
	"$@" >/dev/null || { echo "bench: $* failed" >&2; exit 1; }
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

daily_bench() {
	echo
	echo "daily report benchmark: one day of a 30-day journal of $VERIFY_CLAIMS claims," \
		"against a journal of that day alone; $ROUNDS rounds, median of ratios"
	journal30
	# day 15 of the 30
	day=$(( ($(date -u +%s) / 86400 - 30 + 15) * 86400 ))
	date=$(date -u -d "@$day" +%Y-%m-%d)
	rm -f "$tmp"/d1.db*
	$TOOL journal "$tmp/d1.db" "$VERIFY_CLAIMS" 30 15
	: >"$tmp/dratios"
	: >"$tmp/d1s"
	: >"$tmp/d30s"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		a=$(seconds "$B"/xrecover --db "$tmp/d1.db" report --daily --date "$date" --format json)
		b=$(seconds "$B"/xrecover --db "$tmp/v30.db" report --daily --date "$date" --format json)
		echo "$a" >>"$tmp/d1s"
		echo "$b" >>"$tmp/d30s"
		echo "$b / $a" | bc -l >>"$tmp/dratios"
		r=$((r + 1))
	done
	# the two say the same about that day (but for incidents: in the 30-day
	# journal the day's consumers were already in incidents opened before)
	"$B"/xrecover --db "$tmp/d1.db" report --daily --date "$date" --format csv |
		cut -d, -f1-11,13- >"$tmp/c1"
	"$B"/xrecover --db "$tmp/v30.db" report --daily --date "$date" --format csv |
		cut -d, -f1-11,13- >"$tmp/c30"
	cmp -s "$tmp/c1" "$tmp/c30" || { echo "bench: the two reports differ" >&2; exit 1; }
	ratio=$(median <"$tmp/dratios")
	printf '%12s %14s %14s %7s\n' day "1-day journal" "30-day journal" ratio
	printf '%12s %13.3fs %13.3fs %7.2f\n' "$date" "$(median <"$tmp/d1s")" "$(median <"$tmp/d30s")" "$ratio"
	if awk -v r="$ratio" 'BEGIN { exit !(r > 1.5) }'; then
		printf "FAIL: daily report ratio %.2f > 1.5\n" "$ratio"
		fail=1
	else
		echo "daily: ok (30-day journal at most 1.5 times the 1-day one)"
	fi
}

adopt_bench() {
	n=$ADOPT_N
	redis-cli -p "$port" FLUSHALL >/dev/null
	$XRTEST fill "$url" bench "$n" --size 210 >/dev/null
	: >"$tmp/crates"
	: >"$tmp/arates"
	: >"$tmp/aratios"
	: >"$tmp/hms"
	: >"$tmp/hratios"
	echo
	echo "adopt benchmark: $ROUNDS rounds, medians"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		redis-cli -p "$port" XGROUP DESTROY bench g >/dev/null 2>&1 || true
		redis-cli -p "$port" XGROUP CREATE bench g 0 >/dev/null
		$XRTEST read "$url" bench g crashed "$n" >/dev/null
		rm -f "$tmp"/c.db* "$tmp"/a.db*
		c=$(seconds "$B"/xrecover -q -r "$url" --db "$tmp/c.db" run -s bench --claim-idle 0 \
			--no-clean)
		a=$(seconds "$B"/xrecover -q -r "$url" --db "$tmp/a.db" run -s bench --claim-idle 0 \
			--no-clean)
		got=$(sqlite3 "$tmp/a.db" "select count(*) from claimed_messages where adopted = 1")
		[ "$got" = "$n" ] || { echo "bench: adopted $got of $n" >&2; exit 1; }
		h=$(seconds "$B"/xrecover -q -r "$url" --db "$tmp/a.db" run -s bench --claim-idle 0 \
			--no-clean)
		got=$(sqlite3 "$tmp/a.db" "select count(*) from claimed_messages")
		[ "$got" = "$n" ] || { echo "bench: the next run journalled more: $got" >&2; exit 1; }
		awk -v n="$n" -v c="$c" -v a="$a" -v h="$h" 'BEGIN {
			printf "%.0f\n", n / c >> "'"$tmp/crates"'"
			printf "%.0f\n", n / a >> "'"$tmp/arates"'"
			printf "%.3f\n", c / a >> "'"$tmp/aratios"'"
			printf "%.0f\n", h * 1000 >> "'"$tmp/hms"'"
			printf "%.3f\n", h / a >> "'"$tmp/hratios"'" }'
		r=$((r + 1))
	done
	ratio=$(median <"$tmp/aratios")
	hratio=$(median <"$tmp/hratios")
	printf '%10s %14s %14s %7s %14s %7s\n' entries "claimed/s" "adopted/s" ratio "next run ms" ratio
	printf '%10s %14s %14s %7s %14s %7s\n' "$n" "$(median <"$tmp/crates")" \
		"$(median <"$tmp/arates")" "$ratio" "$(median <"$tmp/hms")" "$hratio"
	bad=0
	if awk -v r="$ratio" 'BEGIN { exit !(r < 0.5) }'; then
		echo "FAIL: adopting at $ratio of the claim rate, < 0.5"
		bad=1
	fi
	if awk -v r="$hratio" 'BEGIN { exit !(r > 0.2) }'; then
		echo "FAIL: the next run took $hratio of the adopting run, > 0.2"
		bad=1
	fi
	if [ $bad -eq 0 ]; then
		echo "adopt: ok (adopting >= 0.5 of the claim rate, the next run <= 0.2 of the adopting one)"
	else
		fail=1
	fi
}

for b in $BENCH; do
	case $b in
	claim) claim_bench ;;
	replay) replay_bench ;;
	rollback) rollback_bench ;;
	verify) verify_bench ;;
	daily) daily_bench ;;
	adopt) adopt_bench ;;
	*) echo "bench: unknown benchmark '$b'" >&2; exit 2 ;;
	esac
done
exit $fail

