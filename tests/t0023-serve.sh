#!/bin/sh
# t0023-serve: `xrecover serve` answers over HTTP from the journal (real
# runs against a real Redis): /health ok after a good run, degraded (503)
# after a failed one, when the last run is older than three intervals and
# without a journal; /metrics in the text format; the daily report, an
# incident and a trace as the CLI renders them; 404, 405, 400, 413, 414,
# 431; connections held open: limited (16 from one address, 32 in all, one
# more closed at once) and closed 15 s after they opened, whatever they send;
# beyond loopback only with a token, and with one every request needs it;
# a run works while it serves; names from Redis escaped everywhere.
# Case bodies are single-quoted and expanded by test_case.
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
prom_parser
GEN=$XR_BUILD/bench-base
SERVES=$TMP/serve.pids
: >"$SERVES"
export GEN SERVES

# conns.py limits|timeouts PORT [WAIT]: raw connections to serve on PORT
# (see limits and timeouts below); prints NAME=WHAT lines.
cat >"$TMP"/conns.py <<'CONNS'
"""How serve treats connections that hold on: each line NAME=WHAT, WHAT being
'answered STATUS', 'closed SECONDS' (the server's FIN, nothing sent), 'reset
SECONDS', 'open SECONDS' (still open when we stopped waiting) or 'refused'.

limits: 16 connections from 127.0.0.1 held (every other one half a request),
then /health from 127.0.0.1 (same_ip) and from 127.0.0.2 (other_ip); 16 more
held from 127.0.0.2 and .3 (32 in all), then /health from .4 (total) and how
many of the 32 are still open (held_open); all closed, /health from .1 and .4
(after_ADDR, tried again for up to 10 s).
timeouts: a connection that sends nothing (idle), one that sends half a
request (half), one that sends a header line every second and never ends its
headers (trickle), watched for up to WAIT s from their opening; /health
after 1 s (health_while).
"""
import select, socket, sys, threading, time

PORT = int(sys.argv[2])
REQ = b'GET /health HTTP/1.1\r\nHost: x\r\n'


def conn(src='127.0.0.1', send=b''):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(('127.0.0.1', PORT))
    if send:
        s.sendall(send)
    return s


def end(s, t0, until):
    """How s ends: 'closed' (the server's FIN, nothing sent), 'reset',
    'answered STATUS' (it sent something), or 'open' still at until."""
    s.settimeout(max(until - time.monotonic(), 0.01))
    try:
        d = s.recv(4096)
    except socket.timeout:
        return 'open %.2f' % (time.monotonic() - t0)
    except ConnectionResetError:
        return 'reset %.2f' % (time.monotonic() - t0)
    if not d:
        return 'closed %.2f' % (time.monotonic() - t0)
    return 'answered ' + d.split(b' ')[1].decode()


def probe(src):
    """A whole GET /health from src: its answer, or how it was refused."""
    t0 = time.monotonic()
    try:
        s = conn(src, REQ + b'Connection: close\r\n\r\n')
    except OSError as e:
        return 'refused ' + e.__class__.__name__
    r = end(s, t0, t0 + 10)
    # read to the end: the server has let go of it once it closed
    while r.startswith('answered') and s.recv(4096):
        pass
    s.close()
    return r


def limits():
    held = [conn(send=REQ if i % 2 else b'') for i in range(16)]
    print('same_ip=' + probe('127.0.0.1'))
    print('other_ip=' + probe('127.0.0.2'))
    held += [conn('127.0.0.2') for i in range(15)] + [conn('127.0.0.3', REQ)]
    print('total=' + probe('127.0.0.4'))
    for s in held:
        s.setblocking(False)
    print('held_open=%d' % sum(1 for s in held if not select.select([s], [], [], 0)[0]))
    for s in held:
        s.close()
    t0 = time.monotonic()
    for src in ('127.0.0.1', '127.0.0.4'):
        while True:
            r = probe(src)
            if r.startswith('answered') or time.monotonic() - t0 > 10:
                break
            time.sleep(0.1)
        print('after_%s=%s' % (src, r))


def timeouts():
    out = {}

    def idle(name, s, t0, wait):
        out[name] = end(s, t0, t0 + wait)

    def trickle(name, s, t0, wait):
        # a header line every second, never the end of the headers
        n = 0
        while time.monotonic() < t0 + wait:
            if select.select([s], [], [], 1)[0]:
                out[name] = end(s, t0, t0 + wait)
                return
            n += 1
            try:
                s.sendall(b'X-Pad-%d: x\r\n' % n)
            except OSError:
                out[name] = 'reset %.2f' % (time.monotonic() - t0)
                return
        out[name] = 'open %.2f' % (time.monotonic() - t0)

    wait = float(sys.argv[3])
    ths = []
    for name, fn, send in (('idle', idle, b''), ('half', idle, REQ), ('trickle', trickle, REQ)):
        s = conn(send=send)
        ths.append(threading.Thread(target=fn, args=(name, s, time.monotonic(), wait)))
    for t in ths:
        t.start()
    time.sleep(1)
    print('health_while=' + probe('127.0.0.1'), flush=True)
    for t in ths:
        t.join()
    for k in sorted(out):
        print('%s=%s' % (k, out[k]))


{'limits': limits, 'timeouts': timeouts}[sys.argv[1]]()
CONNS

# Servers a failed case left behind are stopped with the script.
stop_all() {
	while read -r pid; do
		kill -9 "$pid" 2>/dev/null || true
	done <"$SERVES"
	cleanup
}
trap stop_all EXIT

# serve_bg NAME [SERVE ARGS...]: `xrecover --db $DB serve` on a free
# loopback port (ARGS may name another --listen), in the background; once
# it listens, SPID is its pid and URL what it listens on.  Its output is in
# $TMP/NAME.out and $TMP/NAME.err.
serve_bg() {
	name=$1
	shift
	"$XR" --db "$DB" serve --listen "127.0.0.1:$(free_port)" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	SPID=$!
	echo "$SPID" >>"$SERVES"
	i=0
	until grep -qs '^serving ' "$TMP/$name.out"; do
		if ! kill -0 "$SPID" 2>/dev/null; then
			cat "$TMP/$name.err" >&2
			fail "serve $* did not start"
		fi
		i=$((i + 1))
		[ $i -lt 400 ] || fail "serve $* did not say it listens"
		sleep 0.05
	done
	URL=$(sed -n 's/^serving \([^ ]*\) .*/\1/p' "$TMP/$name.out")
}

# serve_end: SIGTERM; it must exit 0
serve_end() {
	kill -TERM "$SPID"
	set +e
	wait "$SPID"
	rc=$?
	set -e
	assert_eq 0 "$rc" "serve's exit code after SIGTERM"
}

# http PATH [CURL ARGS...]: the status code; the body in $TMP/body, the headers in $TMP/head
http() {
	p=$1
	shift
	curl -s --max-time 60 -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' "$@" "$URL$p"
}

# jget KEY [FILE]: a member of the JSON object in FILE ($TMP/body): strings bare, others as JSON
jget() {
	python3 -c 'import json, sys
v = json.load(open(sys.argv[2]))[sys.argv[1]]
print(v if isinstance(v, str) else json.dumps(v))' "$1" "${2:-$TMP/body}"
}

no_journal() {
	DB=$TMP/none.db
	serve_bg none
	assert_eq 503 "$(http /health)"
	assert_grep '^Content-Type: application/json' "$TMP"/head
	assert_eq degraded "$(jget status)"
	assert_eq null "$(jget last_run)"
	assert_grep 'cannot open journal' "$TMP"/body
	# serving did not make a journal
	[ ! -e "$DB" ] || fail "serve created the journal"
	serve_end
}
test_case 'no journal: /health is degraded (503) and says why; serve creates nothing' no_journal

good_run() {
	DB=$TMP/good.db
	make_stream good g 10
	crash_consumer good g w1
	xr -q run -s good --claim-idle 0 --zombie-idle 0
	serve_bg good
	assert_eq 200 "$(http /health)"
	cat "$TMP"/body
	assert_eq ok "$(jget status)"
	assert_eq 10 "$(jget claimed_count)"
	# w1 had nothing left pending: deleted
	assert_eq "$(sql 'select count(*) from deleted_consumers')" "$(jget deleted_count)"
	assert_eq 1 "$(jget deleted_count)"
	assert_eq "$(rcli XPENDING good g | head -n 1)" "$(jget pending_messages)"
	assert_eq 10 "$(jget pending_messages)"
	# w1 deleted, the recovery consumer not counted: none left
	assert_eq 0 "$(jget active_consumers)"
	assert_eq "$(sql "select strftime('%Y-%m-%dT%H:%M:%SZ', ts / 1000, 'unixepoch') from events
		where kind = 'run_end'")" "$(jget last_run)"
	# HEAD: the same answer, headers only (curl -I writes what it got to -o)
	code=$(curl -s --max-time 60 -o "$TMP"/hbody -I -w '%{http_code}' "$URL/health")
	assert_eq 200 "$code"
	assert_grep '^Content-Length: [1-9]' "$TMP"/hbody
	assert_no_grep 'claimed_count' "$TMP"/hbody
	serve_end
}
test_case 'after a good run: /health ok, with its time, claimed, deleted and pending counts' good_run

active_consumers() {
	DB=$TMP/active.db
	# dead read first and went quiet; r1 and r2 read just before the run and hold entries
	make_stream act g 10
	# (5 s thresholds: r1 and r2 stay below them on a loaded machine too)
	crash_consumer act g dead 2
	sleep 6
	crash_consumer act g r1 2
	crash_consumer act g r2 2
	xr -q run -s act --claim-idle 5s --zombie-idle 5s
	assert_eq dead "$(sql 'select consumer from deleted_consumers')"
	serve_bg active
	assert_eq 200 "$(http /health)"
	cat "$TMP"/body
	# XINFO CONSUMERS lists r1, r2 and the recovery consumer: 2 consumers reading
	assert_eq 3 "$(rcli XINFO CONSUMERS act g | grep -c '^name$')"
	assert_eq 2 "$(jget active_consumers)"
	# a run that did not clean read no consumers: null, not a guess
	xr -q run -s act --claim-idle 1h --no-clean
	assert_eq 200 "$(http /health)"
	assert_eq null "$(jget active_consumers)"
	serve_end
}
test_case 'active_consumers: the consumers of the last run, the recovery consumer and the deleted left out' active_consumers

failed_run() {
	DB=$TMP/failed.db
	# a Redis of its own, stopped below
	start_redis
	echo "$REDIS_PID" >>"$SERVES"
	make_stream failed g 3
	crash_consumer failed g w1
	xr -q run -s failed --claim-idle 0
	serve_bg failed
	assert_eq 200 "$(http /health)"
	# Redis goes away: the next run fails, and is journalled as failed
	stop_redis
	assert_exit 3 xr -q run -s failed
	assert_eq 503 "$(http /health)"
	cat "$TMP"/body
	assert_eq degraded "$(jget status)"
	assert_eq failed "$(jget last_run_status)"
	assert_eq 2 "$(jget run)"
	assert_grep '"reason":"the last run \(2\) ended failed: .*cannot connect' "$TMP"/body
	serve_end
}
test_case 'after a failed run (Redis stopped): /health degraded, 503, with the reason' failed_run

stale_run() {
	DB=$TMP/stale.db
	printf '{"interval": 2}\n' >"$TMP"/stale.json
	make_stream stale g 3
	xr -q run -s stale
	serve_bg stale -c "$TMP"/stale.json
	assert_eq 200 "$(http /health)"
	assert_eq ok "$(jget status)"
	# three intervals of 2 s pass without a run
	sleep 7
	assert_eq 503 "$(http /health)"
	cat "$TMP"/body
	assert_eq degraded "$(jget status)"
	assert_eq ok "$(jget last_run_status)"
	assert_grep 'more than three intervals \(interval 2(\.0)?s\)' "$TMP"/body
	serve_end
	# without the config, the default interval (2m) still finds it fresh
	serve_bg stale2
	assert_eq 200 "$(http /health)"
	serve_end
}
test_case 'a last run older than three intervals (config "interval"): /health degraded' stale_run

metrics() {
	DB=$TMP/metrics.db
	make_stream mx g 6
	crash_consumer mx g w1 4
	xr -q run -s mx --claim-idle 0
	serve_bg metrics
	assert_eq 200 "$(http /metrics)"
	assert_grep '^Content-Type: text/plain; version=0.0.4' "$TMP"/head
	echo "samples: $(python3 "$TMP"/promtext.py check "$TMP"/body)"
	assert_eq 4 "$(python3 "$TMP"/promtext.py get "$TMP"/body xrecover_claimed_total mx g)"
	assert_eq "$(sql "select count(*) from claimed_messages where stream = 'mx'")" \
		"$(python3 "$TMP"/promtext.py get "$TMP"/body xrecover_claimed_total mx g)"
	assert_eq 1 "$(python3 "$TMP"/promtext.py get "$TMP"/body xrecover_last_run_success)"
	# without a run in hand, no group gauges (metrics_build with no run)
	assert_eq none "$(python3 "$TMP"/promtext.py get "$TMP"/body xrecover_pending mx g)"
	serve_end
}
test_case '/metrics: the text format, parsed, with the journal'"'"'s claimed total' metrics

pages() {
	# a generated day (yesterday): the served page is the CLI's, byte for byte
	DB=$TMP/gen.db
	"$GEN" journal "$DB" 2000 1 >/dev/null
	day=$(date -u -d yesterday +%Y-%m-%d)
	xr report --daily --date "$day" --format html -o "$TMP"/cli.html
	serve_bg pages
	assert_eq 200 "$(http "/report/daily/$day")"
	assert_grep '^Content-Type: text/html; charset=utf-8' "$TMP"/head
	cmp "$TMP"/cli.html "$TMP"/body || fail "the served page is not the CLI's"
	assert_grep '<header id="verdict"' "$TMP"/body
	assert_eq 2 "$(grep -o '<svg [^>]*role="img"' "$TMP"/body | wc -l)"
	# today's (the default): a page with its verdict
	assert_eq 200 "$(http /report/daily)"
	assert_grep '<header id="verdict"' "$TMP"/body
	assert_grep "$(date -u +%Y-%m-%d) \(UTC\)" "$TMP"/body
	# bad dates
	for d in 2026-13-45 yesterday 2026-1-1 2026-01-01T00:00Z ''; do
		assert_eq 400 "$(http "/report/daily/$d")"
		assert_grep 'is not a date' "$TMP"/body
	done
	serve_end
}
test_case '/report/daily and /report/daily/DATE: the CLI'"'"'s HTML page, with its verdict; bad dates 400' pages

incident_trace() {
	DB=$TMP/it.db
	make_stream 'it/a' g 3
	crash_consumer 'it/a' g w1
	xr -q run -s 'it/a' --claim-idle 0
	serve_bg it
	n=$(sql 'select max(incident) from incidents')
	[ -n "$n" ] || fail "no incident"
	xr report --incident "$n" --format html -o "$TMP"/inc.html
	assert_eq 200 "$(http "/incident/$n")"
	assert_grep '^Content-Type: text/html' "$TMP"/head
	cmp "$TMP"/inc.html "$TMP"/body || fail "the served incident is not the CLI's"
	assert_eq 404 "$(http /incident/999999)"
	for bad in 0 -1 abc 1x; do
		assert_eq 400 "$(http "/incident/$bad")"
	done
	# a trace: the stream's name holds a '/', given plain or encoded
	id=$(sql "select entry_id from claimed_messages order by seq limit 1")
	assert_eq 200 "$(http "/trace/it/a/$id")"
	assert_grep '^Content-Type: text/plain' "$TMP"/head
	assert_grep "^message it/a/$id\$" "$TMP"/body
	assert_grep 'claimed' "$TMP"/body
	assert_grep 'serve reads the journal only' "$TMP"/body
	cp "$TMP"/body "$TMP"/trace1
	assert_eq 200 "$(http "/trace/it%2Fa/$id")"
	cmp "$TMP"/trace1 "$TMP"/body
	# the story is trace's: the same events as the CLI prints
	xr trace "it/a/$id" >"$TMP"/cli.trace
	sed -n '/^AT/,/^$/p' "$TMP"/cli.trace >"$TMP"/cli.steps
	sed -n '/^AT/,/^$/p' "$TMP"/trace1 >"$TMP"/srv.steps
	[ -s "$TMP"/cli.steps ] || fail "no steps"
	cmp "$TMP"/cli.steps "$TMP"/srv.steps
	assert_eq 404 "$(http "/trace/it/a/1-1")"
	assert_eq 404 "$(http "/trace/nosuch/$id")"
	assert_eq 400 "$(http /trace/it)"
	assert_eq 400 "$(http /trace/it/a/notanid)"
	serve_end
}
test_case '/incident/N as the CLI renders it; /trace/STREAM/ID (a / in the name); 404 and 400' incident_trace

routing() {
	DB=$TMP/routing.db
	xr -q run -s nothing-here 2>/dev/null || true
	serve_bg routing
	for p in / /healthz /health/ /report /report/dailyx /metrics/x /incident /trace /index.html; do
		assert_eq 404 "$(http "$p")" "GET $p"
	done
	for m in POST PUT DELETE PATCH OPTIONS; do
		assert_eq 405 "$(http /health -X "$m")" "$m /health"
		assert_grep '^Allow: GET, HEAD' "$TMP"/head
	done
	# a body is refused, a path longer than 2048 bytes too
	assert_eq 413 "$(http /health -X GET --data-binary xyz)"
	long=$(printf 'a%.0s' $(seq 1 3000))
	assert_eq 414 "$(http "/trace/$long/1-1")"
	# headers past the 32 KB a request's line and headers may use: 431
	big=$(head -c 40000 /dev/zero | tr '\0' a)
	assert_eq 431 "$(http /health -H "X-Big: $big")"
	assert_eq 200 "$(http /health)"
	serve_end
}
test_case 'routing: 404 elsewhere, 405 for other methods, 413 for a body, 414 for a long path, 431 for 40 KB of headers' routing

# said NAME WHAT: conns.py's line NAME= (in $TMP/conns.out) begins with WHAT (an ERE)
said() {
	grep -Eq "^$1=$2" "$TMP"/conns.out || fail "$1: $(sed -n "s/^$1=//p" "$TMP"/conns.out), not $2"
}

limits() {
	DB=$TMP/limits.db
	serve_bg limits
	python3 "$TMP"/conns.py limits "${URL##*:}" >"$TMP"/conns.out
	cat "$TMP"/conns.out
	# 16 held from one address: a 17th from it is closed at once, unanswered
	said same_ip '(closed|reset) '
	# while they are held, another address is answered (503: no journal)
	said other_ip 'answered 503$'
	# 32 held in all: one more is closed at once (not left waiting), and
	# none of the 32 was let go for it
	said total '(closed|reset) '
	said held_open '32$'
	# once they are closed, both addresses are answered again
	said after_127.0.0.1 'answered 503$'
	said after_127.0.0.4 'answered 503$'
	serve_end
}
test_case 'connection limits: 16 from one address, 32 in all; one more is closed at once, others answered; all again once closed' limits

# ended NAME: conns.py's line NAME= says the server ended it (FIN or reset)
# between 14.5 and 25 s after it opened (serve's timeout is 15 s)
ended() {
	said "$1" '(closed|reset) '
	sed -n "s/^$1=[a-z]* //p" "$TMP"/conns.out | awk '{ exit !($1 >= 14.5 && $1 <= 25) }' ||
		fail "$1 ended $(sed -n "s/^$1=//p" "$TMP"/conns.out) s after it opened, not 15 s"
}

timeouts() {
	DB=$TMP/timeouts.db
	serve_bg timeouts
	python3 "$TMP"/conns.py timeouts "${URL##*:}" 30 >"$TMP"/conns.out
	cat "$TMP"/conns.out
	# three stalled connections do not keep others waiting
	said health_while 'answered 503$'
	ended idle
	ended half
	# a byte now and then does not hold a connection longer (slowloris)
	ended trickle
	assert_eq 503 "$(http /health)"
	serve_end
}
test_case 'timeouts: a connection idle, with half a request, or sending a header line every second is closed 15 s after it opened' timeouts

listen_refused() {
	DB=$TMP/refused.db
	port=$(free_port)
	# (a server that started would not end: timeout ends it, and the code is not 2)
	assert_exit 2 timeout 10 "$XR" --db "$DB" serve --listen "0.0.0.0:$port"
	assert_grep 'needs a token' "$TMP"/err
	assert_lines 1 "$TMP"/err
	for bad in nonsense 127.0.0.1 127.0.0.1:70000 localhost:8099 '[::1' '1.2.3:80'; do
		assert_exit 2 timeout 10 "$XR" --db "$DB" serve --listen "$bad"
		assert_grep 'expected ADDR:PORT' "$TMP"/err
		assert_lines 1 "$TMP"/err
	done
	# a port in use
	serve_bg holder
	assert_exit 2 timeout 10 "$XR" --db "$DB" serve --listen "${URL#http://}"
	assert_grep 'cannot listen on 127.0.0.1:[0-9]+: Address already in use' "$TMP"/err
	serve_end
	# a token file every user may read is refused
	printf 'sekrit\n' >"$TMP"/open.tok
	chmod 644 "$TMP"/open.tok
	assert_exit 2 timeout 10 "$XR" --db "$DB" serve --listen "0.0.0.0:$port" \
		--token-file "$TMP"/open.tok
	assert_grep 'can be read by every user' "$TMP"/err
	# the config's serve object and interval are checked
	printf '{"serve": {"tokenfile": "x"}}\n' >"$TMP"/bad1.json
	assert_exit 2 timeout 10 "$XR" -c "$TMP"/bad1.json --db "$DB" serve
	assert_grep "unknown key 'serve.tokenfile'" "$TMP"/err
	printf '{"serve": {"listen": 8099}}\n' >"$TMP"/bad2.json
	assert_exit 2 timeout 10 "$XR" -c "$TMP"/bad2.json --db "$DB" serve
	assert_grep "'serve.listen' must be a non-empty string" "$TMP"/err
	printf '{"interval": "often"}\n' >"$TMP"/bad3.json
	assert_exit 2 timeout 10 "$XR" -c "$TMP"/bad3.json --db "$DB" serve
	assert_grep "'interval': bad duration 'often'" "$TMP"/err
	printf '{"serve": {"listen": "0.0.0.0:%s"}}\n' "$port" >"$TMP"/bad4.json
	assert_exit 2 timeout 10 "$XR" -c "$TMP"/bad4.json --db "$DB" serve
	assert_grep 'needs a token' "$TMP"/err
}
test_case 'beyond loopback without a token: refused (exit 2); bad and busy addresses and config exit 2' listen_refused

token() {
	DB=$TMP/token.db
	make_stream tk g 2
	xr -q run -s tk
	tok=tok-$(random_below 1000000000)-x
	printf '%s\n' "$tok" >"$TMP"/t.tok
	chmod 600 "$TMP"/t.tok
	port=$(free_port)
	serve_bg token --listen "0.0.0.0:$port" --token-file "$TMP"/t.tok
	URL=http://127.0.0.1:$port
	for p in /health /metrics /report/daily /nowhere; do
		assert_eq 401 "$(http "$p")" "$p without a token"
		assert_grep '^WWW-Authenticate: Bearer' "$TMP"/head
		assert_eq 401 "$(http "$p" -H "Authorization: Bearer ${tok}y")" "$p, a longer token"
		assert_eq 401 "$(http "$p" -H "Authorization: Bearer ${tok%?}")" "$p, a shorter one"
		assert_eq 401 "$(http "$p" -H "Authorization: Bearer ${tok%?}y")" "$p, one byte off"
		assert_eq 401 "$(http "$p" -H "Authorization: Basic $tok")" "$p, not bearer"
	done
	assert_eq 200 "$(http /health -H "Authorization: Bearer $tok")"
	assert_eq 200 "$(http /metrics -H "Authorization: Bearer $tok")"
	assert_eq 404 "$(http /nowhere -H "Authorization: Bearer $tok")"
	serve_end
	# the token never shows
	! grep -q "$tok" "$TMP"/token.out "$TMP"/token.err || fail "the token was printed"
	# from the config, relative to it; it applies on loopback too
	mkdir -p "$TMP"/conf
	cp "$TMP"/t.tok "$TMP"/conf/t.tok
	printf '{"serve": {"token_file": "t.tok"}}\n' >"$TMP"/conf/c.json
	serve_bg token2 -c "$TMP"/conf/c.json
	assert_eq 401 "$(http /health)"
	assert_eq 200 "$(http /health -H "Authorization: bearer $tok")"
	serve_end
}
test_case 'with a token: 401 without it or with a wrong one, 200 with it; from --token-file or the config' token

run_while_serving() {
	DB=$TMP/busy.db
	make_stream busy g 200
	crash_consumer busy g w1
	xr -q run -s busy --claim-idle 1h
	serve_bg busy
	# requests all the time a run goes on: the run neither waits nor fails
	( while [ ! -e "$TMP"/busy.done ]; do
		for p in /health /metrics /report/daily; do
			curl -s --max-time 60 -o /dev/null -w '%{http_code}\n' "$URL$p" >>"$TMP"/codes
		done
	done ) &
	loop=$!
	sleep 0.3
	xr -q run -s busy --claim-idle 0 --lock-timeout 2s
	touch "$TMP"/busy.done
	wait "$loop"
	assert_eq 200 "$(sql "select count(*) from claimed_messages where run = 2")"
	echo "requests during the run: $(wc -l <"$TMP"/codes), not 200: $(grep -vc '^200$' "$TMP"/codes || true)"
	[ "$(grep -c '^200$' "$TMP"/codes)" -ge 3 ] || fail "too few answers"
	! grep -v '^200$' "$TMP"/codes || fail "a request failed during the run"
	assert_eq 200 "$(http /health)"
	assert_eq 2 "$(jget run)"
	serve_end
}
test_case 'a run succeeds while serve serves, pages answered all along' run_while_serving

hostile() {
	DB=$TMP/hostile.db
	# a name with markup, an escape sequence, a newline and a quote
	h=$(printf '<script>alert(1)</script>\033[31m\n"x')
	make_stream "$h" g 3
	crash_consumer "$h" g w1
	xr -q run -s "$h" --claim-idle 0
	serve_bg hostile
	esc=$(printf '\033')
	assert_eq 200 "$(http /report/daily)"
	assert_grep '&lt;script&gt;alert\(1\)&lt;/script&gt;' "$TMP"/body
	assert_no_grep '<script' "$TMP"/body
	assert_no_grep "$esc" "$TMP"/body
	n=$(sql 'select max(incident) from incidents')
	assert_eq 200 "$(http "/incident/$n")"
	assert_grep '&lt;script&gt;' "$TMP"/body
	assert_no_grep '<script' "$TMP"/body
	assert_no_grep "$esc" "$TMP"/body
	# the trace: plain text, its escape sequence written out
	id=$(sql "select entry_id from claimed_messages limit 1")
	enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$h")
	assert_eq 200 "$(http "/trace/$enc/$id")"
	assert_grep '^X-Content-Type-Options: nosniff' "$TMP"/head
	assert_grep '^Content-Type: text/plain' "$TMP"/head
	assert_no_grep "$esc" "$TMP"/body
	assert_grep 'message <script>alert\(1\)</script>\\(x1b|033|e)' "$TMP"/body
	# an error that names it: escaped too
	assert_eq 404 "$(http "/trace/$enc/1-1")"
	assert_no_grep "$esc" "$TMP"/body
	# /metrics: the label value escaped as the format says, and it parses back
	assert_eq 200 "$(http /metrics)"
	assert_eq 3 "$(python3 "$TMP"/promtext.py get "$TMP"/body xrecover_claimed_total "$h" g)"
	# /health: JSON
	assert_eq 200 "$(http /health)"
	assert_eq ok "$(jget status)"
	serve_end
}
test_case 'hostile names (<script>, control characters) escaped in every page and error' hostile

ipv6() {
	DB=$TMP/v6.db
	port=$(free_port)
	"$XR" --db "$DB" serve --listen "[::1]:$port" >"$TMP"/v6.out 2>"$TMP"/v6.err &
	SPID=$!
	echo "$SPID" >>"$SERVES"
	# it listens, or it ends
	i=0
	while ! grep -qs '^serving ' "$TMP"/v6.out && kill -0 "$SPID" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 400 ] || fail "serve neither listens nor ends"
		sleep 0.05
	done
	if ! grep -qs '^serving ' "$TMP"/v6.out; then
		grep -q 'cannot listen' "$TMP"/v6.err || { cat "$TMP"/v6.err; fail "serve failed"; }
		skip "no IPv6 loopback here: $(cat "$TMP"/v6.err)"
	fi
	assert_grep "^serving http://\[::1\]:$port " "$TMP"/v6.out
	URL="http://[::1]:$port"
	assert_eq 503 "$(http /health -g)"
	assert_eq degraded "$(jget status)"
	serve_end
	# SIGINT ends it too, with 0
	serve_bg sigint
	kill -INT "$SPID"
	set +e
	wait "$SPID"
	rc=$?
	set -e
	assert_eq 0 "$rc" "exit code after SIGINT"
}
test_case 'IPv6 loopback ([::1]:PORT) works; SIGINT ends serve with 0' ipv6

test_done
