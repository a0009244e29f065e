#!/bin/sh
# t0013-html: the HTML daily report renders in a real browser (headless
# Chromium), with its charts drawn: the verdict first, the page no wider
# than a 1280 px window, one colour per stream in every chart, a run of
# its own drawn as a point.  `make test-html` installs Chromium and runs
# this; without Chromium, `make test` skips it.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

GEN=$XR_BUILD/bench-base
# a day of one run needs a Redis to run against; the reports read the journal only
if [ -n "$CHROMIUM" ]; then
	start_redis
else
	REDIS_URL=redis://127.0.0.1:1
fi

# probe PAGE: the page as a 1280 px wide browser lays it out, measured by
# a script added to a copy of it (the report itself has none), as JSON:
# the document's width, what the body starts with, each drawn mark of a
# chart with its stream and colour, the size of each point and bar
probe() {
	sed 's|</body></html>$||' "$1" >"$TMP"/probe.html
	cat >>"$TMP"/probe.html <<-'EOF'
	<script>
	(function () {
		var d = document, r = {}, first = d.body.firstElementChild;
		r.width = d.documentElement.scrollWidth;
		r.first = first.tagName.toLowerCase() + "#" + first.id;
		r.first_top = first.getBoundingClientRect().top;
		r.marks = [];
		d.querySelectorAll("figure.chart [data-stream]").forEach(function (e) {
			var cs = getComputedStyle(e), color, box = e.getBoundingClientRect(), kind;
			if (e.tagName.toLowerCase() === "span") {
				var sw = e.querySelector("i, line");
				color = sw.tagName.toLowerCase() === "i" ? getComputedStyle(sw).backgroundColor :
				    getComputedStyle(sw).stroke;
				kind = "legend";
			} else {
				kind = e.getAttribute("class");
				color = kind === "line" ? cs.stroke : cs.fill;
			}
			r.marks.push({chart: e.closest("figure").id, kind: kind,
			    stream: e.getAttribute("data-stream"), color: color,
			    w: box.width, h: box.height});
		});
		var p = d.createElement("pre");
		p.id = "probe";
		p.textContent = JSON.stringify(r);
		d.body.appendChild(p);
	})();
	</script></body></html>
	EOF
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size=1280,900 --dump-dom "file://$TMP/probe.html" 2>/dev/null |
		sed -n 's|.*<pre id="probe">\(.*\)</pre>.*|\1|p' >"$TMP"/probe.json
	[ -s "$TMP"/probe.json ] || fail "the probe did not report"
}

# page_checks: what every daily page must be, from probe.json: the
# verdict first, no wider than the window, one colour per stream
page_checks() {
	python3 - "$TMP"/probe.json <<-'EOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	print("width", r["width"], "first", r["first"], "marks", len(r["marks"]))
	assert r["first"] == "header#verdict", "the body starts with %s, not the verdict" % r["first"]
	assert r["first_top"] < 100, r["first_top"]
	assert r["width"] <= 1280, "the page is %d px wide in a 1280 px window" % r["width"]
	colors = {}
	for m in r["marks"]:
	    colors.setdefault(m["stream"], set()).add(m["color"])
	for s, c in colors.items():
	    assert len(c) == 1, "stream %r is drawn in %d colours: %s" % (s, len(c), sorted(c))
	charts = {}
	for m in r["marks"]:
	    if m["kind"] != "legend":
	        charts.setdefault(m["stream"], set()).add(m["chart"])
	both = [s for s, c in charts.items() if c == {"claims_per_hour", "pending"}]
	assert both, "no stream is drawn in both charts"
	assert len(set(next(iter(c)) for c in colors.values())) == len(colors), \
	    "two streams share a colour: %s" % colors
	EOF
}

renders() {
	need_chromium
	DB=$TMP/gen.db
	"$GEN" journal "$DB" 20000 2 -1 5-7
	xr report --daily --format html -o "$TMP"/day.html
	# a screenshot of the page as a browser draws it
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size=1000,1600 --screenshot="$TMP"/day.png "file://$TMP/day.html" \
		>"$TMP"/chromium.log 2>&1 || { cat "$TMP"/chromium.log; fail "chromium failed"; }
	[ -s "$TMP"/day.png ] || fail "no screenshot"
	# the DOM after rendering has both charts, with their bars and lines
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --dump-dom \
		"file://$TMP/day.html" >"$TMP"/dom.html 2>/dev/null
	assert_eq 2 "$(grep -o '<svg [^>]*role="img"' "$TMP"/dom.html | wc -l)"
	bars=$(grep -o 'class="bar"' "$TMP"/dom.html | wc -l)
	lines=$(grep -o 'class="line"' "$TMP"/dom.html | wc -l)
	# 22 hours with runs, 4 streams; 8 groups
	assert_eq "88 8" "$bars $lines"
	# and the pixels: the first series' colour fills bars (22 of them, ~20 px by ~45 px
	# each), the second's a line; the page is not blank
	# shellcheck disable=SC2046 # one word per colour count
	set -- $(png_colors "$TMP"/day.png 4e79a7 f28e2b ffffff)
	echo "pixels: first series $1, second $2, white $3"
	[ "$1" -gt 10000 ] || fail "the bars were not drawn ($1 pixels of their colour)"
	[ "$2" -gt 2000 ] || fail "the second series was not drawn ($2 pixels)"
	[ "$3" -lt 1500000 ] || fail "the page is nearly blank"
	# as a 1280 px window lays it out: the verdict first, no sideways scrolling, and each
	# of the 4 streams in one colour of its own, in the bars, the lines and the legends
	probe "$TMP"/day.html
	page_checks
}
test_case 'the HTML daily report renders in headless Chromium with its charts' renders

one_run() {
	need_chromium
	DB=$TMP/one.db
	day=$(date -u +%Y-%m-%d)
	# one run that claims 5 entries and holds them; a stream whose name is one long word
	long=orders-$(printf 'x%.0s' $(seq 1 150))
	make_stream orders billing 5
	crash_consumer orders billing w1
	make_stream "$long" billing 3
	crash_consumer "$long" billing w1
	xr -q run -s orders -s "$long" --claim-idle 0 --no-clean
	assert_eq "5" "$(sql "select count(*) from claimed_messages where stream = 'orders'")"
	xr report --daily --date "$day" --format html -o "$TMP"/one.html
	probe "$TMP"/one.html
	page_checks
	# the pending chart shows the one run: a point per group, each one drawn with a size
	python3 - "$TMP"/probe.json "$long" <<-'EOF'
	import json, sys
	r, long = json.load(open(sys.argv[1])), sys.argv[2]
	dots = [m for m in r["marks"] if m["chart"] == "pending" and m["kind"] == "dot"]
	bars = [m for m in r["marks"] if m["chart"] == "claims_per_hour" and m["kind"] == "bar"]
	print("dots", dots, "bars", len(bars))
	assert sorted(m["stream"] for m in dots) == sorted(["orders", long]), dots
	assert all(m["w"] >= 4 and m["h"] >= 4 for m in dots), "a point too small to see: %s" % dots
	# the claims of the day: one hour, one bar per stream, each with a height
	assert len(bars) == 2 and all(m["w"] >= 4 and m["h"] >= 4 for m in bars), bars
	EOF
	# and the screenshot: the pending chart's points are there in their colour
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size=1280,1600 --screenshot="$TMP"/one.png "file://$TMP/one.html" \
		>"$TMP"/chromium.log 2>&1 || { cat "$TMP"/chromium.log; fail "chromium failed"; }
	[ -s "$TMP"/one.png ] || fail "no screenshot"
}
test_case 'a day of one run: its point drawn, one colour per stream, a long name that fits' one_run

test_done
