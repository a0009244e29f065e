#!/bin/sh
# t0019-notify: webhooks and `test-alert`.  A real HTTP receiver
# (tests/receiver.py) on a free loopback port records every request and
# answers as told; the bodies of each format are checked, the Standard
# Webhooks signature is verified here on its own, answers are classified
# (2xx delivered; 429, 5xx, no answer retryable; other 4xx not), a receiver
# that never answers cannot hold test-alert past its timeout, TLS is
# verified (a self-signed receiver is refused unless ca_file names its
# certificate), no URL token or secret reaches any output, and names from
# Redis are escaped in chat text.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_receivers

# The secrets every output is searched for.
SLACK_TOKEN=B0SLACKTOKENxyz123
DISCORD_TOKEN=D1SCORDtokenABC987
TEAMS_SIG=T3AMSsigQWE456
JSON_TOKEN=J5ONtokenRTY321
WHSEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
RAW_SECRET=raw-secret-UIO654
FILE_TOKEN=F1LEtokenPAS852
export SLACK_TOKEN DISCORD_TOKEN TEAMS_SIG JSON_TOKEN WHSEC RAW_SECRET FILE_TOKEN

# config FILE WEBHOOK-JSON...: a config whose "webhooks" are the arguments
config() {
	f=$1
	shift
	{
		printf '{"webhooks": ['
		sep=""
		for w in "$@"; do
			printf '%s\n  %s' "$sep" "$w"
			sep=","
		done
		printf '\n]}\n'
	} >"$f"
}

# The webhooks, as JSON (the quotes are JSON's, not the shell's)
SLACK=$(printf '{"name":"slack","format":"slack","url":"http://127.0.0.1:%s/services/T000/%s"}' \
	"$R1" "$SLACK_TOKEN")
DISCORD=$(printf '{"name":"discord","format":"discord","url":"http://127.0.0.1:%s/api/webhooks/42/%s"}' \
	"$R1" "$DISCORD_TOKEN")
TEAMS=$(printf '{"name":"teams","format":"teams","url":"http://127.0.0.1:%s/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=%s"}' \
	"$R1" "$TEAMS_SIG")
JSONW=$(printf '{"name":"json","format":"json","url":"http://127.0.0.1:%s/%s","secret":"%s"}' \
	"$R1" "$JSON_TOKEN" "$WHSEC")
export SLACK DISCORD TEAMS JSONW

# answers LINE...: what the receiver answers next, one line per request
answers() {
	rm -f "$R1DIR"/req.*
	printf '%s\n' "$@" >"$R1DIR"/answers
}

# requests: how many requests the receiver has recorded since answers()
requests() {
	find "$R1DIR" -name 'req.*.body' | wc -l | tr -d ' '
}

# body_of PATH-PREFIX: the recorded body whose path starts with PATH-PREFIX
body_of() {
	for p in "$R1DIR"/req.*.path; do
		case $(cat "$p") in "$1"*) echo "${p%.path}.body"; return 0 ;; esac
	done
	fail "no request to $1"
}

# no_secrets FILE...: none of the tokens and secrets is in any of them
no_secrets() {
	for f in "$@"; do
		for s in "$SLACK_TOKEN" "$DISCORD_TOKEN" "$TEAMS_SIG" "$JSON_TOKEN" \
			"$WHSEC" "${WHSEC#whsec_}" "$RAW_SECRET" "$FILE_TOKEN"; do
			if grep -aqF -- "$s" "$f"; then
				cat "$f" >&2
				fail "$f shows the secret '$s'"
			fi
		done
	done
}

# every_output: every stdout, stderr and log file of this case so far
OUTPUTS=$TMP/outputs
mkdir -p "$OUTPUTS"
keep() {
	cp "$TMP"/out "$OUTPUTS/$1.out"
	cp "$TMP"/err "$OUTPUTS/$1.err"
}

# ------------------------------------------------------------- formats

test_case 'every format: one request each, its body as the format wants' '
	config $TMP/c.json "$SLACK" "$DISCORD" "$TEAMS" "$JSONW"
	answers 200
	assert_exit 0 $XR -c $TMP/c.json test-alert --log-file $TMP/formats.log
	keep formats
	cat $TMP/out
	assert_lines 5 $TMP/out
	for n in slack discord teams json; do
		assert_grep "^$n +$n +delivered +200 " $TMP/out
	done
	assert_eq 4 "$(requests)" "requests"
	for m in $R1DIR/req.*.method; do assert_eq POST "$(cat $m)" "method"; done
	grep -il "^content-type: application/json" $R1DIR/req.*.headers | wc -l | grep -qx 4
	host=$(hostname)
	export host

	pycheck "$(body_of /services/)" "
assert isinstance(b[\"text\"], str) and b[\"text\"].startswith(\"[TEST] xrecover on \")
assert \"more: xrecover test-alert\" in b[\"text\"], b
assert b[\"blocks\"][0][\"type\"] == \"section\" and b[\"blocks\"][0][\"text\"][\"type\"] == \"mrkdwn\"
assert \"[TEST]\" in b[\"blocks\"][0][\"text\"][\"text\"]
assert b[\"blocks\"][1][\"type\"] == \"context\"
import os; assert os.environ[\"host\"] in b[\"text\"]
assert \"webhooks configured: 4\" in b[\"text\"]
"
	pycheck "$(body_of /api/webhooks/)" "
assert set(b) == {\"content\", \"allowed_mentions\"}, b
assert b[\"allowed_mentions\"] == {\"parse\": []}
c = b[\"content\"]
assert c.startswith(\"[TEST] xrecover on \") and c.endswith(\"more: xrecover test-alert\"), c
assert len(c) <= 2000 and \"cut to fit\" not in c
"
	pycheck "$(body_of /workflows/)" "
assert b[\"type\"] == \"message\"
a = b[\"attachments\"]
assert len(a) == 1 and a[0][\"contentType\"] == \"application/vnd.microsoft.card.adaptive\"
card = a[0][\"content\"]
assert card[\"type\"] == \"AdaptiveCard\" and card[\"version\"] == \"1.4\"
assert card[\"\$schema\"] == \"http://adaptivecards.io/schemas/adaptive-card.json\"
blocks = card[\"body\"]
assert blocks[0][\"type\"] == \"TextBlock\" and blocks[0][\"text\"].startswith(\"[TEST]\")
facts = {f[\"title\"]: f[\"value\"] for f in blocks[1][\"facts\"]}
import os
assert facts[\"Mode\"] == \"TEST\" and facts[\"Host\"] == os.environ[\"host\"], facts
assert any(\"more: xrecover test-alert\" in x.get(\"text\", \"\") for x in blocks)
"
	pycheck "$(body_of /$JSON_TOKEN)" "
import os
assert b[\"type\"] == \"xrecover.alert\" and b[\"mode\"] == \"TEST\", b
assert b[\"host\"] == os.environ[\"host\"] and b[\"rule\"] == \"test\" and b[\"severity\"] == \"info\"
assert b[\"lines\"] == [{\"text\": \"webhooks configured\", \"count\": 4}], b
assert b[\"command\"] == \"xrecover test-alert\"
assert b[\"id\"].startswith(\"msg_\") and len(b[\"id\"]) == 36
assert b[\"stream\"] is None and b[\"group\"] is None
"
	no_secrets $TMP/out $TMP/err $TMP/formats.log
'

test_case 'discord: a message longer than 2,000 characters is cut with a marker, the command kept' '
	config $TMP/c.json "$DISCORD"
	answers 200
	long=$(python3 -c "print(\"é\" * 2500 + \"TAIL\")")
	assert_exit 0 $XR -c $TMP/c.json test-alert --stream "$long"
	keep discord-long
	pycheck "$(body_of /api/)" "
c = b[\"content\"]
assert len(c) == 2000, len(c)
assert \"[... cut to fit Discord\" in c and \"TAIL\" not in c, c[-200:]
assert c.endswith(\"more: xrecover test-alert\"), c[-100:]
assert c.startswith(\"[TEST] xrecover on \")
"
'

# ------------------------------------------------------------ signature

test_case 'json with a whsec_ secret: signed as Standard Webhooks, checked here with hmac' '
	config $TMP/c.json "$JSONW"
	answers 200
	assert_exit 0 $XR -c $TMP/c.json test-alert --webhook json
	keep sig
	verify_sig $R1DIR/req.1.body $R1DIR/req.1.headers "$WHSEC"
	# the key is the base64-decoded secret, not its text
	if verify_sig $R1DIR/req.1.body $R1DIR/req.1.headers "${WHSEC#whsec_}" 2>/dev/null; then
		fail "the signature verifies with the secret text as key"
	fi
'

test_case 'json with a raw secret: its bytes are the key; no secret: no signature headers' '
	config $TMP/c.json "{\"name\":\"raw\",\"format\":\"json\",\"url\":\"http://127.0.0.1:$R1/h\",\"secret\":\"$RAW_SECRET\"}" \
		"{\"name\":\"plain\",\"format\":\"json\",\"url\":\"http://127.0.0.1:$R1/p\"}"
	answers 200
	assert_exit 0 $XR -c $TMP/c.json test-alert
	keep rawsig
	verify_sig "$(body_of /h)" "$(body_of /h | sed "s/body$/headers/")" "$RAW_SECRET"
	if grep -qi "^webhook-" "$(body_of /p | sed "s/body$/headers/")"; then
		fail "an unsigned webhook sent signature headers"
	fi
	# a secret on a chat format is refused: only json requests are signed
	config $TMP/bad.json "{\"name\":\"s\",\"format\":\"slack\",\"url\":\"http://127.0.0.1:$R1/s\",\"secret\":\"$RAW_SECRET\"}"
	assert_exit 2 $XR -c $TMP/bad.json test-alert
	keep rawsig-bad
	assert_grep "a secret signs json requests only" $TMP/err
	# a whsec_ secret that is not base64
	config $TMP/bad.json "{\"name\":\"j\",\"format\":\"json\",\"url\":\"http://127.0.0.1:$R1/j\",\"secret\":\"whsec_$RAW_SECRET!\"}"
	assert_exit 2 $XR -c $TMP/bad.json test-alert
	keep rawsig-bad2
	assert_grep "webhook .j.: the secret starts with whsec_ but what follows is not base64" $TMP/err
'

# ------------------------------------------------------- classification

test_case 'answers classified: 4xx failed (sent once), 5xx and 429 retryable, Retry-After read' '
	config $TMP/c.json "$SLACK" "$DISCORD" "$TEAMS" "$JSONW" \
		"{\"name\":\"date\",\"format\":\"json\",\"url\":\"http://127.0.0.1:$R1/date\"}"
	when=$(python3 -c "import email.utils,time; print(email.utils.formatdate(time.time() + 30, usegmt=True))")
	answers 404 "503" "429|Retry-After: 2" "429|Content-Type: application/json|body={\"retry_after\": 1.5, \"global\": false}" \
		"429|Retry-After: $when"
	assert_exit 1 $XR -c $TMP/c.json test-alert --log-file $TMP/class.log
	keep class-text
	cat $TMP/out
	assert_grep "^slack +slack +failed +404 +- " $TMP/out
	assert_grep "^discord +discord +retryable +503 +- " $TMP/out
	assert_grep "^teams +teams +retryable +429 +2.0s " $TMP/out
	assert_grep "^json +json +retryable +429 +1.5s " $TMP/out
	assert_grep "answered HTTP 404" $TMP/out
	assert_eq 5 "$(requests)" "one request per webhook, none retried"
	assert_grep "5 of 5 webhooks did not take the test message" $TMP/err

	answers 404 "503" "429|Retry-After: 2" "429|Content-Type: application/json|body={\"retry_after\": 1.5, \"global\": false}" \
		"429|Retry-After: $when"
	assert_exit 1 $XR -c $TMP/c.json test-alert --json
	keep class-json
	pycheck $TMP/out "
w = {x[\"webhook\"]: x for x in b[\"webhooks\"]}
assert b[\"status\"] == \"failed\" and b[\"exit_code\"] == 1
assert w[\"slack\"][\"result\"] == \"failed\" and w[\"slack\"][\"http_status\"] == 404
assert w[\"slack\"][\"retry_after_ms\"] is None
assert w[\"discord\"][\"result\"] == \"retryable\" and w[\"discord\"][\"http_status\"] == 503
assert w[\"teams\"][\"retry_after_ms\"] == 2000, w[\"teams\"]
assert w[\"json\"][\"retry_after_ms\"] == 1500, w[\"json\"]
assert 20000 <= w[\"date\"][\"retry_after_ms\"] <= 31000, w[\"date\"]
for x in b[\"webhooks\"]:
    assert x[\"target\"].startswith(\"http://127.0.0.1:\") and x[\"target\"].endswith(\"***\"), x
"
	grep -q "^  *\"target\": *\"http://127.0.0.1:$R1/services/\*\*\*\"" $TMP/out ||
		python3 -c "import json,sys; t=[x[\"target\"] for x in json.load(open(sys.argv[1]))[\"webhooks\"]]; assert t[:3] == [\"http://127.0.0.1:$R1/services/***\", \"http://127.0.0.1:$R1/api/***\", \"http://127.0.0.1:$R1/workflows/***\"], t" $TMP/out
	no_secrets $TMP/out $TMP/err $TMP/class.log
'

test_case 'a receiver that never answers: test-alert ends within the timeout, retryable' '
	config $TMP/c.json "{\"name\":\"hang\",\"format\":\"slack\",\"url\":\"http://127.0.0.1:$HANG/services/x/$SLACK_TOKEN\",\"timeout\":\"1s\"}"
	t0=$(date +%s)
	assert_exit 1 $XR -c $TMP/c.json test-alert
	t1=$(date +%s)
	keep hang
	cat $TMP/out
	[ $((t1 - t0)) -le 4 ] || fail "test-alert took $((t1 - t0))s with a 1s timeout"
	assert_grep "^hang +slack +retryable +- +- " $TMP/out
	assert_grep "no answer within 1s" $TMP/out
'

test_case 'nothing listening: retryable, and the error shows the host only' '
	port=$(free_port)
	config $TMP/c.json "{\"name\":\"gone\",\"format\":\"discord\",\"url\":\"http://127.0.0.1:$port/api/webhooks/1/$DISCORD_TOKEN\"}"
	assert_exit 1 $XR -c $TMP/c.json test-alert --json
	keep refused
	pycheck $TMP/out "
x = b[\"webhooks\"][0]
assert x[\"result\"] == \"retryable\" and x[\"http_status\"] is None, x
assert x[\"error\"], x
"
	no_secrets $TMP/out $TMP/err
'

# ------------------------------------------------------------------ TLS

test_case 'HTTPS with a self-signed certificate: refused, unless ca_file names it' '
	url="https://127.0.0.1:$TLS/services/T/$SLACK_TOKEN"
	config $TMP/c.json "{\"name\":\"tls\",\"format\":\"slack\",\"url\":\"$url\"}"
	rm -f $TMP/tls/req.*
	assert_exit 1 $XR -c $TMP/c.json test-alert
	keep tls-refused
	cat $TMP/out
	assert_grep "^tls +slack +failed +- " $TMP/out
	assert_grep "(certificate|SSL)" $TMP/out
	assert_eq 0 "$(find $TMP/tls -name "req.*" | wc -l | tr -d " ")" "requests that got through"

	config $TMP/c.json "{\"name\":\"tls\",\"format\":\"slack\",\"url\":\"$url\",\"ca_file\":\"$TMP/cert.pem\"}"
	assert_exit 0 $XR -c $TMP/c.json test-alert
	keep tls-ok
	assert_grep "^tls +slack +delivered +200 " $TMP/out
	assert_eq 1 "$(find $TMP/tls -name "req.*.body" | wc -l | tr -d " ")" "requests"
	pycheck $TMP/tls/req.1.body "assert b[\"text\"].startswith(\"[TEST]\")"

	# a ca_file that is not there: said so, nothing sent
	config $TMP/c.json "{\"name\":\"tls\",\"format\":\"slack\",\"url\":\"$url\",\"ca_file\":\"$TMP/none.pem\"}"
	assert_exit 1 $XR -c $TMP/c.json test-alert
	assert_grep "ca_file .*none.pem" $TMP/out
	no_secrets $TMP/out $TMP/err
'

# -------------------------------------------------------------- secrets

test_case 'url_file and secret_file: read when private, refused when every user may read them' '
	printf "http://127.0.0.1:%s/%s\n" "$R1" "$FILE_TOKEN" >$TMP/url
	printf "%s\n" "$WHSEC" >$TMP/secret
	chmod 600 $TMP/url $TMP/secret
	printf "{\"webhooks\":[{\"name\":\"f\",\"format\":\"json\",\"url_file\":\"url\",\"secret_file\":\"secret\"}]}\n" >$TMP/cf.json
	answers 200
	assert_exit 0 $XR -c $TMP/cf.json test-alert
	keep files
	assert_eq "/$FILE_TOKEN" "$(cat $R1DIR/req.1.path)" "path posted to"
	verify_sig $R1DIR/req.1.body $R1DIR/req.1.headers "$WHSEC"
	assert_grep "^f +json +delivered +200 .*http://127.0.0.1:$R1/\*\*\*" $TMP/out

	chmod 644 $TMP/url
	assert_exit 2 $XR -c $TMP/cf.json test-alert
	keep files-url
	assert_grep "webhook .f. url_file .*can be read by every user" $TMP/err
	chmod 600 $TMP/url
	chmod 604 $TMP/secret
	assert_exit 2 $XR -c $TMP/cf.json test-alert
	keep files-secret
	assert_grep "webhook .f. secret_file .*can be read by every user" $TMP/err
	no_secrets $TMP/out $TMP/err
'

test_case 'no webhook configured, or none of that name: exit 2; Redis and the journal untouched' '
	echo "{}" >$TMP/none.json
	assert_exit 2 $XR -c $TMP/none.json test-alert
	assert_grep "no webhooks configured" $TMP/err
	assert_exit 2 $XR -c $TMP/none.json test-alert --json
	pycheck $TMP/out "assert b[\"exit_code\"] == 2 and b[\"status\"] == \"failed\""
	config $TMP/c.json "$SLACK"
	assert_exit 2 $XR -c $TMP/c.json test-alert --webhook nosuch
	assert_grep "no webhook named .nosuch." $TMP/err
	# nothing listens on the Redis port, and the journal is never made
	answers 200
	port=$(free_port)
	assert_exit 0 $XR -c $TMP/c.json -r redis://127.0.0.1:$port --db $TMP/nodb/j.db test-alert
	[ ! -e $TMP/nodb ] || fail "test-alert made a journal"
'

test_case 'config: bad webhooks refused with the key named, never the URL' '
	for w in "{\"format\":\"slack\",\"url\":\"http://x/$SLACK_TOKEN\"}" \
		"{\"name\":\"a\",\"format\":\"slack\"}" \
		"{\"name\":\"a\",\"format\":\"slack\",\"url\":\"http://x/$SLACK_TOKEN\",\"url_file\":\"u\"}" \
		"{\"name\":\"a\",\"format\":\"irc\",\"url\":\"http://x/$SLACK_TOKEN\"}" \
		"{\"name\":\"a\",\"format\":\"slack\",\"url\":\"http://x/$SLACK_TOKEN\",\"min_severity\":\"loud\"}" \
		"{\"name\":\"a\",\"format\":\"slack\",\"url\":\"http://x/$SLACK_TOKEN\",\"colour\":\"red\"}" \
		"{\"name\":\"a\",\"format\":\"slack\",\"url\":\"ftp://x/$SLACK_TOKEN\"}"; do
		config $TMP/c.json "$w"
		assert_exit 2 $XR -c $TMP/c.json test-alert
		cat $TMP/err
		assert_grep "webhook" $TMP/err
		no_secrets $TMP/err
	done
	config $TMP/c.json "$SLACK" "$SLACK"
	assert_exit 2 $XR -c $TMP/c.json test-alert
	assert_grep "the name .slack. is used twice" $TMP/err
'

# --------------------------------------------------------- hostile names

test_case 'names from Redis are escaped in chat text, their markup made plain; json keeps them exact' '
	S=$(printf "s\n[LIVE] xrecover on prod: forged\r\033[31m\tred\177\302\233<b>&x *bold* _it_ ~st~ \140c\140 [l](u)")
	G=$(printf "g\n[LIVE] forged group\033]0;t\007")
	export S G
	config $TMP/c.json "$SLACK" "$DISCORD" "$TEAMS" "$JSONW"
	answers 200
	assert_exit 0 $XR -c $TMP/c.json test-alert --stream "$S" --group "$G"
	keep hostile
	for p in /services/ /api/ /workflows/; do
		pycheck "$(body_of $p)" "
import re
slack = \"$p\" == \"/services/\"
def texts(x):
    if isinstance(x, str): yield x
    elif isinstance(x, dict):
        for v in x.values(): yield from texts(v)
    elif isinstance(x, list):
        for v in x: yield from texts(v)
def shown(t):
    # what the chat shows: Slack drops zero-width spaces, Markdown reads a backslash escape
    if slack:
        return t.replace(\"\\u200b\", \"\").replace(\"&lt;\", \"<\").replace(\"&gt;\", \">\").replace(\"&amp;\", \"&\")
    return re.sub(r\"\\\\(.)\", r\"\\1\", t)
seen = False
for t in texts(b):
    bad = re.search(r\"[\\x00-\\x09\\x0b-\\x1f\\x7f\\x80-\\x9f]\", t)
    assert not bad, (\"raw control character\", t)
    for line in t.split(\"\\n\"):
        assert not line.startswith(\"[LIVE]\"), (\"forged line\", t)
    if slack:
        # no markup of the name pairs up, and no backslash escapes (Slack shows them)
        assert \"*bold*\" not in t and \"_it_\" not in t and \"~st~\" not in t and \"\140c\140\" not in t, t
        assert \"\\\\*\" not in t and \"\\\\[l\" not in t, (\"Slack shows a backslash as it is\", t)
    elif \"*bold*\" in shown(t):
        assert \"\\\\*bold\\\\*\" in t and \"\\\\_it\\\\_\" in t and \"\\\\[l\\\\]\\\\(u\\\\)\" in t, t
    if \"s\\\\n[LIVE] xrecover on prod: forged\\\\r\\\\x1b[31m\\\\tred\\\\x7f\\\\u009b<b>&x *bold* _it_ ~st~ \140c\140 [l](u)\" in shown(t):
        seen = True
assert seen, b
"
	done
	# Slack reads <, > and & as markup: escaped its way
	pycheck "$(body_of /services/)" "assert \"&lt;b&gt;&amp;x\" in b[\"text\"], b[\"text\"]"
	pycheck "$(body_of /$JSON_TOKEN)" "
import os
assert b[\"stream\"] == os.environ[\"S\"] and b[\"group\"] == os.environ[\"G\"], b
"
	# and the terminal gets the escaped names only (the table has no names from Redis)
	no_secrets $TMP/out $TMP/err
'

test_case 'no output of any case shows a URL token or a secret' '
	ls $OUTPUTS | wc -l | grep -qv "^0$"
	no_secrets $OUTPUTS/*
'

test_done
