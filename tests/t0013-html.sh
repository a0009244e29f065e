#!/bin/sh
# t0013-html: the HTML daily report renders in a real browser (headless
# Chromium), with its charts drawn.  `make test-html` installs Chromium
# and runs this; without Chromium, `make test` skips it.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

GEN=$XR_BUILD/bench-base
REDIS_URL=redis://127.0.0.1:1     # the report reads the journal only
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

# png_colors FILE RGB...: how many pixels of FILE have each colour (exactly)
png_colors() {
	python3 - "$@" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG form"
        bpp = 4 if ctype == 6 else 3
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw, stride = zlib.decompress(idat), w * bpp
prev, rows, i = bytearray(stride), [], 0
for _ in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
counts = {}
for line in rows:
    for x in range(0, stride, bpp):
        k = bytes(line[x:x + 3])
        counts[k] = counts.get(k, 0) + 1
print(" ".join(str(counts.get(bytes.fromhex(c), 0)) for c in sys.argv[2:]))
PY
}

renders() {
	if [ -z "$CHROMIUM" ]; then
		[ -z "${XR_NEED_CHROMIUM:-}" ] || fail "no chromium, though make test-html installs it"
		skip "no chromium (make test-html installs it)"
	fi
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
	assert_eq 2 "$(grep -c '<svg ' "$TMP"/dom.html)"
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
}
test_case 'the HTML daily report renders in headless Chromium with its charts' renders

test_done
