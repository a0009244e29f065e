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
#   xrecover's peak RSS.  Must hold: ratio >= 0.7 at 1,000,000 entries, peak
#   RSS < 64 MiB and not growing with the pending list.
set -eu
cd "$(dirname "$0")/.."
B=${XR_BUILD:-build/rel}
ROUNDS=${ROUNDS:-3}
BATCH=${BATCH:-200}
SIZES=${SIZES:-"100000 1000000"}
TOOL=$B/bench-claim
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

fail=0
echo "claim benchmark: batch $BATCH, $ROUNDS rounds, median of per-round ratios"
printf '%10s %14s %14s %7s %10s\n' entries "baseline/s" "xrecover/s" ratio "peak RSS"
for n in $SIZES; do
	redis-cli -p "$port" FLUSHALL >/dev/null
	# 230 bytes of fields: "i" and its number, "body" and 210 bytes
	$XRTEST fill "$url" bench "$n" --size 210 >/dev/null
	redis-cli -p "$port" XGROUP CREATE bench g 0 >/dev/null
	$XRTEST read "$url" bench g crashed "$n" >/dev/null
	: >"$tmp/ratios"
	: >"$tmp/brates"
	: >"$tmp/xrates"
	: >"$tmp/rss"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		# baseline: takes every entry (from whoever holds it) to "baseline"
		set -- $($TOOL xautoclaim "$url" bench g baseline "$BATCH")
		[ "$1" = "$n" ] || { echo "bench: baseline claimed $1 of $n" >&2; exit 1; }
		bsec=$2
		# xrecover: takes them all back from "baseline", journalled, in a new journal
		rm -f "$tmp"/j.db*
		set -- $($TOOL rss "$B/xrecover" -q -r "$url" --db "$tmp/j.db" run -s bench \
			--claim-idle 0 --no-clean --batch "$BATCH")
		[ "$1" = 0 ] || { echo "bench: xrecover exited $1" >&2; exit 1; }
		xsec=$2
		echo "$3" >>"$tmp/rss"
		got=$(sqlite3 "$tmp/j.db" "select count(*) from claimed_messages")
		[ "$got" = "$n" ] || { echo "bench: xrecover journalled $got of $n" >&2; exit 1; }
		awk -v n="$n" -v b="$bsec" -v x="$xsec" 'BEGIN {
			printf "%.0f\n", n / b >> "'"$tmp/brates"'"
			printf "%.0f\n", n / x >> "'"$tmp/xrates"'"
			printf "%.3f\n", b / x >> "'"$tmp/ratios"'" }'
		r=$((r + 1))
	done
	ratio=$(median <"$tmp/ratios")
	rss=$(sort -g "$tmp/rss" | tail -n 1)
	printf '%10s %14s %14s %7s %7.1f MiB\n' "$n" "$(median <"$tmp/brates")" \
		"$(median <"$tmp/xrates")" "$ratio" "$(echo "$rss" | awk '{ print $1 / 1024 }')"
	echo "$n $ratio $rss" >>"$tmp/summary"
done

# The thresholds.
big=$(tail -n 1 "$tmp/summary")
small=$(head -n 1 "$tmp/summary")
ratio=$(echo "$big" | cut -d' ' -f2)
rss_big=$(echo "$big" | cut -d' ' -f3)
rss_small=$(echo "$small" | cut -d' ' -f3)
if awk -v r="$ratio" 'BEGIN { exit !(r < 0.7) }'; then
	echo "FAIL: ratio $ratio < 0.7"
	fail=1
fi
for v in $rss_big $rss_small; do
	if [ "$v" -ge 65536 ]; then
		echo "FAIL: peak RSS $v KiB >= 64 MiB"
		fail=1
	fi
done
if [ "$rss_big" -gt $((rss_small * 3 / 2 + 4096)) ]; then
	echo "FAIL: peak RSS grows with the pending list ($rss_small -> $rss_big KiB)"
	fail=1
fi
[ $fail -eq 0 ] && echo "claim: ok (ratio >= 0.7, peak RSS < 64 MiB and flat)"
exit $fail
