#!/bin/sh
# t0014-escape: names and payloads from Redis are hostile text.  A stream,
# a group, a consumer and a payload carrying a newline followed by a forged
# log line, a carriage return, terminal escape sequences, a tab, DEL and a
# C1 control go through every command that prints them: no raw control
# byte reaches the output, and no forged line starts a line.  JSON keeps
# the exact names.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

FORGED='2026-01-17T10:05:28Z [SUMMARY] run=9 status=ok'
S=$(printf 's\n%s\r\033[31m\tred\177<i>&x' "$FORGED")
G=$(printf 'g\n[SUMMARY] g\r\033[2J\tx\177\302\233y')
C=$(printf 'c\n[SUMMARY] c\r\033]0;title\007\t\177')
V=$(printf 'v\n[SUMMARY] v\r\033[31m\t\177end')
K=$(printf 'k\n%s' "$FORGED")
export S G C V K

# no_controls FILE...: no byte below 0x20 but the line feed, no DEL, no C1
# control as UTF-8, and nothing that starts a line as a forged one would.
no_controls() {
	for f in "$@"; do
		if LC_ALL=C grep -naP '[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]' "$f" >"$TMP"/bad; then
			od -c "$f" | head -n 40 >&2
			fail "$f: raw control bytes on the lines: $(cut -d: -f1 "$TMP"/bad | tr '\n' ' ')"
		fi
		if grep -aE '^(2026-01-17T10:05:28Z|\[SUMMARY\]| *\[SUMMARY\])' "$f" >&2; then
			fail "$f: a forged line starts a line"
		fi
	done
}

# seen TEXT FILE: TEXT (fixed, as escaped) is in FILE, so the name was printed
seen() {
	grep -aqF -- "$1" "$2" || { cat "$2" >&2; fail "'$1' not in $2"; }
}

setup() {
	rcli XADD "$S" '*' f "$V" "$(printf 'name\033[0m')" x >/dev/null
	rcli XADD "$S" '*' f plain >/dev/null
	rcli XGROUP CREATE "$S" "$G" 0 >/dev/null
	rcli XREADGROUP GROUP "$G" "$C" STREAMS "$S" '>' >/dev/null
	rcli SET "$K" v >/dev/null
	assert_eq 2 "$(rcli XPENDING "$S" "$G" | head -n 1)" "pending"
}
test_case 'a stream, group, consumer and payload with control characters in their names' setup

run_log() {
	assert_exit 0 xr -v run -s "$S" --claim-idle 0 --zombie-idle 0 --log-file "$TMP"/run.log
	cp "$TMP"/err "$TMP"/run.err
	cat "$TMP"/run.err
	no_controls "$TMP"/run.err "$TMP"/run.log "$TMP"/out
	seen 's\n2026-01-17T10:05:28Z [SUMMARY] run=9 status=ok\r\x1b[31m\tred\x7f<i>&x' "$TMP"/run.err
	seen 'g\n[SUMMARY] g\r\x1b[2J\tx\x7f\u009by' "$TMP"/run.log
	seen 'deleted_consumer="c\n[SUMMARY] c\r\x1b]0;title\x07\t\x7f"' "$TMP"/run.log
	assert_eq 2 "$(sql "select count(*) from claimed_messages")" "claims"
	# the journal keeps the exact bytes
	assert_eq 2 "$(sql "select count(*) from claimed_messages where stream = cast(x'$(printf %s "$S" | od -An -tx1 | tr -d ' \n')' as text)")" "claims under the exact name"
}
test_case 'run: log lines on stderr and in --log-file are escaped' run_log

error_line() {
	assert_exit 1 xr run -s "$K" -s "$S" --claim-idle 0 --log-file "$TMP"/err.log
	cp "$TMP"/err "$TMP"/error.err
	cat "$TMP"/error.err
	no_controls "$TMP"/error.err "$TMP"/err.log
	seen "xrecover: 1 of 2 groups failed; first: key 'k\\n2026-01-17T10:05:28Z [SUMMARY] run=9 status=ok' is a string" "$TMP"/error.err
	assert_exit 2 xr run --"$(printf 'x\033[2J')"
	no_controls "$TMP"/err
	seen 'x\x1b[2J' "$TMP"/err
	assert_exit 0 xr status -s "$K"
	no_controls "$TMP"/out "$TMP"/err
	seen 'not a stream' "$TMP"/err
}
test_case 'an error line, a warning and a usage error naming hostile names are escaped' error_line

status_view() {
	rcli XREADGROUP GROUP "$G" "$C" STREAMS "$S" 0 >/dev/null
	assert_exit 0 xr status -s "$S"
	cat "$TMP"/out
	no_controls "$TMP"/out "$TMP"/err
	seen 's\n2026-01-17T10:05:28Z [SUMMARY] run=9 status=ok\r\x1b[31m\tred\x7f<i>&x' "$TMP"/out
	seen 'c\n[SUMMARY] c\r\x1b]0;title\x07\t\x7f' "$TMP"/out
	assert_exit 0 xr --json status -s "$S"
	no_controls "$TMP"/out
	python3 - "$TMP"/out <<-'EOF'
	import json, os, sys
	d = json.load(open(sys.argv[1], encoding="utf-8"))
	names = {g["stream"] for g in d["groups"]} | {g["group"] for g in d["groups"]} | {c["consumer"] for c in d["consumers"]}
	for v in ("S", "G", "C"):
	    assert os.environ[v] in names, (v, names)
	EOF
}
test_case 'status: text escaped, JSON exact' status_view

reports() {
	inc=$(sql "select incident from incidents limit 1")
	[ -n "$inc" ] || fail "no incident"
	day=$(date -u +%Y-%m-%d)
	for what in "--run 1" "--incidents" "--incident $inc" "--daily --date $day"; do
		for fmt in text md csv html json; do
			f=$TMP/report-$(echo "$what" | tr -dc 'a-z0-9')-$fmt
			# shellcheck disable=SC2086 # $what is an option and its value
			assert_exit 0 xr report $what --format $fmt
			cp "$TMP"/out "$f"
			[ -s "$f" ] || fail "$what --format $fmt printed nothing"
			if [ $fmt = csv ]; then
				sed 's/\r$//' "$f" >"$f.lf"
				no_controls "$f.lf"
			else
				no_controls "$f"
			fi
		done
	done
	# each format shows the names (the incident report names all three)
	f=$TMP/report-incident$inc
	seen 'c\n[SUMMARY] c\r\x1b]0;title\x07\t\x7f' "$f-text"
	# the payload is the journal's JSON text, escaped like any text
	seen '{"f":"v\\n[SUMMARY] v\\r\\u001b[31m\\t\\u007fend","name\\u001b[0m"' "$f-text"
	seen 'g\\n[SUMMARY] g\\r\\x1b[2J\\tx\\x7f\\u009by' "$f-md"
	seen 'red\x7f&lt;i&gt;&amp;x' "$f-html"
	seen 's\n2026-01-17T10:05:28Z [SUMMARY] run=9 status=ok\r\x1b[31m\tred\x7f<i>&x,g\n' "$TMP"/report-run1-csv
	python3 - "$TMP"/report-run1-json "$f-json" <<-'EOF'
	import json, os, sys
	run, inc = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:])
	text = json.dumps(run, ensure_ascii=False) + json.dumps(inc, ensure_ascii=False)
	for v in ("S", "G", "C"):
	    assert json.dumps(os.environ[v], ensure_ascii=False)[1:-1] in text, v
	EOF
}
test_case 'report --run, --incidents, --incident, --daily in text, md, csv, html, json' reports

replay_rollback() {
	assert_exit 0 xr replay --run 1 --dry-run
	no_controls "$TMP"/out "$TMP"/err
	seen 'g\n[SUMMARY] g\r\x1b[2J\tx\x7f\u009by  ' "$TMP"/out
	assert_exit 0 xr replay --run 1
	no_controls "$TMP"/out "$TMP"/err
	# a consumer of the group reads the copies: the rollback lists them by stream
	rcli XREADGROUP GROUP "$G" reader STREAMS "$S" '>' >/dev/null
	assert_exit 0 xr rollback 1
	cat "$TMP"/out
	no_controls "$TMP"/out "$TMP"/err
	seen '  s\n2026-01-17T10:05:28Z [SUMMARY] run=9 status=ok\r\x1b[31m\tred\x7f<i>&x ' "$TMP"/out
}
test_case 'replay --dry-run and rollback list hostile names escaped' replay_rollback

trace_story() {
	id=$(sql "select entry_id from claimed_messages where payload like '{\"f\":\"v%' limit 1")
	[ -n "$id" ] || fail "no claim"
	assert_exit 0 xr trace "$S/$id"
	cat "$TMP"/out
	no_controls "$TMP"/out "$TMP"/err
	seen 'message s\n2026-01-17T10:05:28Z [SUMMARY] run=9 status=ok\r\x1b[31m\tred\x7f<i>&x/' "$TMP"/out
	seen 'g\n[SUMMARY] g\r\x1b[2J\tx\x7f\u009by' "$TMP"/out
	seen 'from c\n[SUMMARY] c\r\x1b]0;title\x07\t\x7f, deliveries' "$TMP"/out
	seen 'payload {"f":"v\\n[SUMMARY] v\\r\\u001b[31m\\t\\u007fend","name\\u001b[0m"' "$TMP"/out
	assert_exit 0 xr trace --field "$(printf 'f=%s' "$V")"
	no_controls "$TMP"/out "$TMP"/err
	seen "1 message with f=v\\n[SUMMARY] v\\r\\x1b[31m\\t\\x7fend" "$TMP"/out
	assert_exit 6 xr trace "$S/1-0"
	no_controls "$TMP"/out "$TMP"/err
	seen 'xrecover: the journal knows nothing of s\n2026-01-17T10:05:28Z [SUMMARY]' "$TMP"/err
	assert_exit 0 xr --json trace "$S/$id"
	no_controls "$TMP"/out
	python3 - "$TMP"/out <<-'EOF'
	import json, os, sys
	m = json.load(open(sys.argv[1], encoding="utf-8"))["messages"][0]
	assert m["message"]["stream"] == os.environ["S"], m["message"]
	assert {e["group"] for e in m["events"]} - {None} == {os.environ["G"]}, m["events"]
	assert os.environ["C"] in {e["consumer"] for e in m["events"]}, m["events"]
	assert m["payload"]["f"] == os.environ["V"], m["payload"]
	EOF
}
test_case 'trace: the story escaped, JSON exact' trace_story

test_done
