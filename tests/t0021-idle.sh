#!/bin/sh
# t0021-idle: adaptive claim thresholds (--claim-idle auto) and claiming only
# from silent consumers (--only-silent-consumers).  Live consumers are real
# readers (xrtest slow: reads an entry, works on it for 3 s, acknowledges);
# dead ones read entries and are gone.  The floor, ceiling and fallback
# thresholds are scaled down so that the script runs in seconds.
# Case bodies are single-quoted and expanded by test_case.
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# claims ST CONSUMER: entries the journal says were claimed from CONSUMER in ST
claims() {
	sql "select count(*) from events where kind = 'claim' and stream = '$1' and consumer = '$2'"
}

# last_group FIELD ST [GROUP]: FIELD of ST/GROUP in the newest run_end
last_group() {
	sql "select json_extract(g.value, '\$.$1') from events e, json_each(e.detail, '\$.pending') g
	     where e.kind = 'run_end' and json_extract(g.value, '\$.stream') = '$2'
	     and json_extract(g.value, '\$.group') = '${3:-g}' order by e.seq desc limit 1"
}

# slow ST CONSUMER HOLD_MS EVERY_MS SECONDS: a live, slow consumer in the background
slow() {
	"$XRTEST" slow "$REDIS_URL" "$1" g "$2" "$3" "$4" "$5" >"$TMP/slow-$2" 2>&1 &
	echo $! >"$TMP/slow-$2.pid"
}

# slow_done CONSUMER: stops it; its summary line is then in $TMP/slow-CONSUMER
slow_done() {
	kill -TERM "$(cat "$TMP/slow-$1.pid")" 2>/dev/null || true
	wait "$(cat "$TMP/slow-$1.pid")" 2>/dev/null || true
	cat "$TMP/slow-$1"
}

cat >"$TMP/auto.json" <<EOF
{"claim_idle": "auto", "claim_idle_floor": "1s", "claim_idle_ceiling": "30s",
 "claim_idle_busy": "2s", "claim_idle_quiet": "20s"}
EOF

auto_live_and_dead() {
	make_stream la g 300
	slow la w1 3000 3000 40
	slow la w2 3000 3000 40
	# History: each run watches what the workers hold; the next finds it acknowledged.
	i=0
	while [ $i -lt 40 ]; do
		xr -c "$TMP/auto.json" run -s la 2>>"$TMP/runs.log"
		case $(last_group claim_idle_why la) in "auto: 4 x p99 hold"*) break ;; esac
		sleep 0.4
		i=$((i + 1))
	done
	assert_eq 0 "$(claims la w1)" "claimed from w1 while learning"
	assert_eq 0 "$(claims la w2)" "claimed from w2 while learning"
	last_group claim_idle_why la >"$TMP/why"
	assert_grep "^auto: 4 x p99 hold [0-9.]+m?s \([5-9] holds in [0-9]+ runs\) = " "$TMP/why"
	# Now a consumer dies holding entries: claimed once idle for the threshold.
	crash_consumer la g dead 3
	i=0
	while [ "$(claims la dead)" = 0 ] && [ $i -lt 60 ]; do
		sleep 0.4
		xr -c "$TMP/auto.json" run -s la 2>>"$TMP/runs.log"
		i=$((i + 1))
	done
	assert_eq 3 "$(claims la dead)" "entries claimed from the dead consumer"
	t=$(last_group claim_idle_ms la)
	idle=$(sql "select min(idle_ms) from events where kind = 'claim' and consumer = 'dead'")
	echo "threshold ${t}ms, claimed at ${idle}ms idle"
	[ "$idle" -ge "$t" ] || fail "claimed at ${idle}ms, below the threshold ${t}ms"
	[ "$idle" -lt $((t + 4000)) ] || fail "claimed at ${idle}ms, long after the threshold ${t}ms"
	# The threshold is 4 x the 99th percentile (here: the longest) of the holds seen,
	# clamped to [1s, 30s].
	want=$(sql "select min(max(4 * max(h.value), 1000), 30000)
	    from (select detail from events where kind = 'run_end' order by seq desc limit 50) e,
	    json_each(e.detail, '\$.pending') g, json_each(g.value, '\$.holds_ms') h")
	assert_eq "$want" "$t" "claim_idle_ms"
	[ "$t" -ge 4000 ] || fail "a threshold of ${t}ms for consumers that hold entries 3 s"
	assert_grep "\[THRESHOLD\] stream=la group=g claim_idle=[0-9.]+m?s why=\"auto: 4 x p99 hold" \
	    "$TMP/runs.log"
	# Nothing of the live workers was ever claimed.
	assert_eq 0 "$(claims la w1)" "claimed from w1"
	assert_eq 0 "$(claims la w2)" "claimed from w2"
	slow_done w1 >"$TMP/w1.out"
	slow_done w2 >"$TMP/w2.out"
	assert_grep "^read=[1-9][0-9]* acked=[1-9][0-9]* taken=0$" "$TMP/w1.out"
	assert_grep "^read=[1-9][0-9]* acked=[1-9][0-9]* taken=0$" "$TMP/w2.out"
	# status shows the threshold run would use, and why.
	assert_exit 0 xr -c "$TMP/auto.json" status -s la
	assert_grep "CLAIM-IDLE +WHY$" "$TMP/out"
	assert_grep "^la +g +.* [0-9.]+s +auto: 4 x p99 hold .*; only silent consumers, or idle for the ceiling$" \
	    "$TMP/out"
}
test_case 'auto: a slow live consumer keeps its entries, a dead one loses them at the threshold' \
	auto_live_and_dead

only_silent() {
	make_stream ls g 300
	# Reads an entry every 0.5 s, each done 3 s later: several in hand, none older than 3 s.
	slow ls w3 3000 500 30
	sleep 0.3
	crash_consumer ls g dead2 3
	sleep 1.5
	i=0
	while [ $i -lt 6 ]; do
		xr run -s ls --claim-idle 1s --only-silent-consumers 2>>"$TMP/runs.log"
		sleep 0.4
		i=$((i + 1))
	done
	assert_eq 3 "$(claims ls dead2)" "claimed from the silent consumer"
	assert_eq 0 "$(claims ls w3)" "claimed from the live consumer"
	assert_eq "fixed; only silent consumers" "$(last_group claim_idle_why ls)"
	assert_eq 1000 "$(last_group claim_idle_ms ls)"
	assert_exit 0 xr status -s ls --claim-idle 1s --only-silent-consumers
	assert_grep "^ls +g +3 +[0-9]+ +0 +3 .* 1\.0s +fixed; only silent consumers$" "$TMP/out"
	assert_grep "^ls +g +w3 +active +[1-9]" "$TMP/out"
	# Without it the same threshold takes the live consumer's entries.
	i=0
	while [ "$(claims ls w3)" = 0 ] && [ $i -lt 10 ]; do
		xr run -s ls --claim-idle 1s 2>>"$TMP/runs.log"
		sleep 0.3
		i=$((i + 1))
	done
	[ "$(claims ls w3)" -gt 0 ] || fail "a fixed 1s threshold never took the live consumer's entries"
	assert_eq fixed "$(last_group claim_idle_why ls)"
	slow_done w3 >/dev/null
}
test_case 'only silent consumers: a live consumer keeps entries older than the threshold' only_silent

silent_status_dry() {
	make_stream sd g 20
	crash_consumer sd g gone 3
	crash_consumer sd g busy 3
	# (3 s thresholds: what busy reads below stays younger on a loaded machine too)
	sleep 3.5
	# busy reads again before each look: its old entries stay idle, but it is not silent.
	crash_consumer sd g busy 1
	xr --json status -s sd --claim-idle 3s --only-silent-consumers >"$TMP/st.json"
	# Without it, busy's three old entries count too.
	assert_exit 0 xr --json status -s sd --claim-idle 3s
	assert_grep '"stale":6' "$TMP/out"
	crash_consumer sd g busy 1
	xr --json run --dry-run -s sd --claim-idle 3s --only-silent-consumers >"$TMP/dry.json" \
		2>"$TMP/dry.log"
	python3 - "$TMP/st.json" "$TMP/dry.json" <<-'EOF'
	import json, sys
	st = json.load(open(sys.argv[1]))
	dry = json.load(open(sys.argv[2]))
	g = st["groups"][0]
	assert g["stale"] == 3 and g["claim_idle_ms"] == 3000, g
	assert g["claim_idle_why"] == "fixed; only silent consumers", g
	assert dry["groups"][0]["claimed"] == 3, dry
	assert dry["groups"][0]["claim_idle_ms"] == 3000, dry
	assert dry["groups"][0]["claim_idle_why"] == "fixed; only silent consumers", dry
	c = {x["consumer"]: x["state"] for x in st["consumers"]}
	assert c == {"gone": "stale", "busy": "active"}, c
	EOF
	crash_consumer sd g busy 1
	assert_exit 0 xr run -s sd --claim-idle 3s --only-silent-consumers
	assert_eq 3 "$(claims sd gone)" "claimed from gone"
	assert_eq 0 "$(claims sd busy)" "claimed from busy"
}
test_case 'status and run --dry-run count only what silent consumers hold, as run claims' \
	silent_status_dry

ceiling() {
	make_stream ce g 20
	crash_consumer ce g stuck 2
	sleep 3.2
	# stuck reads on, but never finishes its first two: a poison entry, or a
	# consumer restarted under the same name that reads only new entries.
	crash_consumer ce g stuck 1
	printf '{"claim_idle": "auto", "claim_idle_floor": "1s", "claim_idle_ceiling": "3s"}' \
		>"$TMP/ceiling.json"
	xr -c "$TMP/ceiling.json" run -s ce --only-silent-consumers 2>/dev/null
	assert_eq 3000 "$(last_group claim_idle_ms ce)"
	assert_eq 0 "$(claims ce stuck)" "with --only-silent-consumers"
	xr -c "$TMP/ceiling.json" run -s ce 2>/dev/null
	assert_eq 2 "$(claims ce stuck)" "under auto, idle for the ceiling"
	last_group claim_idle_why ce >"$TMP/why"
	assert_grep "clamped to ceiling 3\.0s; only silent consumers, or idle for the ceiling$" "$TMP/why"
}
test_case 'auto: a live consumer keeps an entry until it is idle for the ceiling' ceiling

hostile() {
	g=$(printf 'g\033[31m')
	c=$(printf 'c\033]0;x\007\nz')
	make_stream hs "$g" 5
	"$XRTEST" read "$REDIS_URL" hs "$g" "$c" 2 >/dev/null
	xr -c "$TMP/auto.json" run -s hs 2>"$TMP/h.log"
	xr -c "$TMP/auto.json" run -s hs 2>>"$TMP/h.log"
	assert_no_grep "$(printf '\033')" "$TMP/h.log"
	assert_grep 'THRESHOLD\] stream=hs group="g\\x1b\[31m" claim_idle=20s' "$TMP/h.log"
	assert_eq 1 "$(sql "select json_valid(detail) from events where kind = 'run_end' order by seq desc limit 1")"
	assert_eq "$c" "$(sql "select json_extract(g.value, '\$.watch[0][0]') from events e,
	    json_each(e.detail, '\$.pending') g where e.kind = 'run_end' order by e.seq desc limit 1")"
	assert_exit 0 xr -c "$TMP/auto.json" status -s hs
	assert_no_grep "$(printf '\033')" "$TMP/out"
}
test_case 'hostile names: escaped in the log and status, exact in the journal' hostile

fallback() {
	for s in fq fb; do
		make_stream $s g 5
		crash_consumer $s g dead 5
	done
	xr -c "$TMP/auto.json" run -s fq -s fb 2>"$TMP/run1.log"
	for s in fq fb; do
		assert_eq "auto: too little history (0 holds, 5 needed); arrival rate not known yet: quiet stream: 20.0s; only silent consumers, or idle for the ceiling" \
		    "$(last_group claim_idle_why $s)"
		assert_eq 20000 "$(last_group claim_idle_ms $s)"
		assert_eq 5 "$(last_group entries_added $s)"
	done
	# fb gets busy: 100 entries in about 2 s.
	"$XRTEST" fill "$REDIS_URL" fb 100 >/dev/null
	sleep 2.1
	xr -c "$TMP/auto.json" run -s fq -s fb 2>"$TMP/run2.log"
	last_group claim_idle_why fb >"$TMP/why-fb"
	assert_grep "^auto: too little history \(0 holds, 5 needed\); busy stream \([0-9]+\.[0-9]{2} entries/s\): 2\.0s;" \
	    "$TMP/why-fb"
	assert_eq 2000 "$(last_group claim_idle_ms fb)"
	assert_eq 5 "$(claims fb dead)" "claimed in the busy stream"
	assert_eq "auto: too little history (0 holds, 5 needed); quiet stream (0.00 entries/s): 20.0s; only silent consumers, or idle for the ceiling" \
	    "$(last_group claim_idle_why fq)"
	assert_eq 0 "$(claims fq dead)" "claimed in the quiet stream"
	assert_grep "\[THRESHOLD\] stream=fb group=g claim_idle=2s why=\"auto: too little history" \
	    "$TMP/run2.log"
	# A fallback below the floor is clamped to it.
	assert_exit 0 xr -c "$TMP/auto.json" status -s fb --claim-idle-floor 3s
	assert_grep "^fb .* 3\.0s +auto: too little history .*: 2\.0s, clamped to floor 3\.0s;" "$TMP/out"
}
test_case 'too little history: a busy stream 2s, a quiet one 20s (scaled down)' fallback

per_group() {
	for s in p1 p2; do
		make_stream $s g 1
		rcli XGROUP CREATE $s h 0 >/dev/null
	done
	cat >"$TMP/groups.json" <<EOF
{"claim_idle": "90s", "claim_idle_groups": {"p1/g": "5s", "g": "auto", "h": 7}}
EOF
	assert_exit 0 xr -c "$TMP/groups.json" status --match "p*"
	assert_grep "^p1 +g .* 5\.0s +fixed$" "$TMP/out"
	assert_grep "^p1 +h .* 7\.0s +fixed$" "$TMP/out"
	assert_grep "^p2 +g .* 2m0s +auto: too little history" "$TMP/out"
	assert_grep "^p2 +h .* 7\.0s +fixed$" "$TMP/out"
	assert_exit 0 xr -c "$TMP/groups.json" run --match "p*"
	assert_eq 5000 "$(last_group claim_idle_ms p1 g)"
	assert_eq 7000 "$(last_group claim_idle_ms p1 h)"
	assert_eq 120000 "$(last_group claim_idle_ms p2 g)"
	assert_eq 7000 "$(last_group claim_idle_ms p2 h)"
	assert_eq 0 "$(last_group only_silent p1 g)"
	assert_eq 1 "$(last_group only_silent p2 g)"
	# --claim-idle applies to every group.
	assert_exit 0 xr -c "$TMP/groups.json" run --match "p*" --claim-idle 3s
	for gr in "p1 g" "p1 h" "p2 g" "p2 h"; do
		# shellcheck disable=SC2086 # stream and group
		assert_eq 3000 "$(last_group claim_idle_ms $gr)" "$gr"
	done
	assert_exit 0 xr -c "$TMP/groups.json" status --match "p*" --claim-idle auto --json
	assert_grep "\"claim_idle_ms\":120000,\"claim_idle_why\":\"auto: too little history" "$TMP/out"
}
test_case 'claim_idle_groups: STREAM/GROUP, then GROUP, then claim_idle; the flag for all' per_group

config_errors() {
	printf '{"claim_idle_groups": ["g"]}' >"$TMP/bad1.json"
	assert_exit 2 xr -c "$TMP/bad1.json" status
	assert_grep "'claim_idle_groups' must be an object, not a list" "$TMP/err"
	printf '{"claim_idle_groups": {"g": "soon"}}' >"$TMP/bad2.json"
	assert_exit 2 xr -c "$TMP/bad2.json" status
	assert_grep "'claim_idle_groups.g': bad duration 'soon' \(.*, or auto\)" "$TMP/err"
	printf '{"claim_idle_floor": "2m", "claim_idle_ceiling": "1m"}' >"$TMP/bad3.json"
	assert_exit 2 xr -c "$TMP/bad3.json" status
	assert_grep "claim_idle_floor \(120000 ms\) is above claim_idle_ceiling \(60000 ms\)" "$TMP/err"
	printf '{"only_silent_consumers": "yes"}' >"$TMP/bad4.json"
	assert_exit 2 xr -c "$TMP/bad4.json" status
	assert_grep "'only_silent_consumers' must be true or false, not a string" "$TMP/err"
	assert_exit 2 xr status --claim-idle automatic
	assert_grep "bad duration 'automatic'" "$TMP/err"
	printf '{"only_silent_consumers": true, "claim_idle": "auto"}' >"$TMP/good.json"
	make_stream cfg g 1
	assert_exit 0 xr -c "$TMP/good.json" run -s cfg
	assert_eq auto "$(sql "select json_extract(options, '\$.claim_idle') from runs order by run desc limit 1")"
	assert_eq 1 "$(sql "select json_extract(options, '\$.only_silent_consumers') from runs order by run desc limit 1")"
	last_group claim_idle_why cfg >"$TMP/why"
	assert_grep "; only silent consumers$" "$TMP/why"
}
test_case 'config: claim_idle_groups, the floor and ceiling, only_silent_consumers checked' config_errors

test_done
