#!/bin/sh
# t0023-serve-html: the daily report as `serve` sends it, loaded over
# HTTP in headless Chromium (its Content-Security-Policy in force): a
# screenshot with the charts drawn in their colours, and the DOM with
# both charts, a bar and a point per stream, the verdict first.
# `make test-html` installs Chromium and runs this; without Chromium,
# `make test` skips it.
# Case bodies are single-quoted and expanded by test_case.
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

if [ -n "$CHROMIUM" ]; then
	start_redis
else
	export REDIS_URL=redis://127.0.0.1:1
fi

served_page() {
	need_chromium
	# today: one run claims in two streams
	make_stream orders billing 5
	crash_consumer orders billing w1
	make_stream invoices audit 3
	crash_consumer invoices audit w1
	xr -q run -s orders -s invoices --claim-idle 0 --no-clean
	port=$("$XRTEST" port)
	"$XR" --db "$DB" serve --listen "127.0.0.1:$port" >"$TMP"/serve.out 2>"$TMP"/serve.err &
	spid=$!
	i=0
	until grep -qs '^serving ' "$TMP"/serve.out; do
		kill -0 "$spid" 2>/dev/null || { cat "$TMP"/serve.err; fail "serve did not start"; }
		i=$((i + 1))
		[ $i -lt 400 ] || { kill "$spid"; fail "serve did not say it listens"; }
		sleep 0.05
	done
	url=http://127.0.0.1:$port/report/daily
	set +e
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size=1280,1600 --screenshot="$TMP"/served.png "$url" >"$TMP"/chromium.log 2>&1
	shot=$?
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --dump-dom "$url" \
		>"$TMP"/dom.html 2>/dev/null
	dom=$?
	kill -TERM "$spid"
	wait "$spid"
	rc=$?
	set -e
	assert_eq 0 "$rc" "serve's exit code"
	[ "$shot" -eq 0 ] || { cat "$TMP"/chromium.log; fail "chromium's screenshot failed"; }
	[ "$dom" -eq 0 ] || fail "chromium's dump-dom failed"
	[ -s "$TMP"/served.png ] || fail "no screenshot"
	# the DOM: the verdict first, both charts, a bar of claims and a point of
	# pending for each stream
	python3 - "$TMP"/dom.html <<-'EOF'
	import re, sys
	d = open(sys.argv[1]).read()
	body = d[d.index("<body>") + 6:].lstrip()
	assert body.startswith('<header id="verdict"'), body[:80]
	svgs = re.findall(r'<svg [^>]*role="img"', d)
	assert len(svgs) == 2, "%d charts" % len(svgs)
	bars = sorted(re.findall(r'<rect class="bar" data-stream="([^"]*)"', d))
	dots = sorted(re.findall(r'<circle class="dot" data-stream="([^"]*)"', d))
	print("bars", bars, "dots", dots)
	assert bars == ["invoices", "orders"], bars
	assert dots == ["invoices", "orders"], dots
	EOF
	# the pixels: each stream's colour is drawn (the first two of the palette,
	# in the order of the names), and the page is not blank
	# shellcheck disable=SC2046 # one word per colour count
	set -- $(png_colors "$TMP"/served.png 4e79a7 f28e2b ffffff)
	echo "pixels: invoices $1, orders $2, white $3"
	[ "$1" -gt 200 ] || fail "the first stream was not drawn ($1 pixels of its colour)"
	[ "$2" -gt 200 ] || fail "the second stream was not drawn ($2 pixels)"
	[ "$3" -lt 1900000 ] || fail "the page is nearly blank"
}
test_case 'the daily page from a running serve, in headless Chromium: screenshot and charts' served_page

test_done
