# lib.sh: sourced by every tests/tNNNN-*.sh.
#
# A test script is a list of cases:
#
#   test_case 'what it shows' '
#       commands; each failing assertion ends the case
#   '
#
# The body runs in a subshell with `set -e`.  Assertions (below) print what
# went wrong and exit the subshell.  Every script ends with `test_done`.
#
# Real components only: start_redis runs a real redis-server on a free
# loopback port in the script's own directory; journals are real files.

set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
XR_BUILD=${XR_BUILD:-build/rel}
case $XR_BUILD in /*) ;; *) XR_BUILD=$TOP/$XR_BUILD ;; esac
XR=$TOP/xrecover
XRTEST=$XR_BUILD/xrtest
SCRIPT=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/xr-$SCRIPT.XXXXXX")
DB=$TMP/journal.db
export XR XRTEST TMP DB

# Nothing from the caller's environment may steer xrecover.
unset XRECOVER_CONFIG XRECOVER_REDIS_URL REDIS_URL XRECOVER_DB XRECOVER_MODE REDISCLI_AUTH \
	CREDENTIALS_DIRECTORY

# Sanitizer reports go to files the harness checks after each case.
if [ -n "${XR_SANITIZE:-}" ]; then
	export ASAN_OPTIONS="log_path=$TMP/sanitizer:exitcode=86:detect_leaks=1"
	export UBSAN_OPTIONS="log_path=$TMP/sanitizer:halt_on_error=1:exitcode=86:print_stacktrace=1"
fi

n_pass=0
n_fail=0
n_skip=0
n_case=0
REDIS_PIDS=""

cleanup() {
	for pid in $REDIS_PIDS; do
		kill -9 "$pid" 2>/dev/null || true
	done
	if [ $n_fail -eq 0 ] && [ -z "${XR_KEEP:-}" ]; then
		rm -rf "$TMP"
	else
		echo "# kept $TMP"
	fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- cases

test_case() {
	title=$1
	body=$2
	n_case=$((n_case + 1))
	log=$TMP/case-$n_case.log
	rm -f "$TMP"/sanitizer.*
	( set -e; eval "$body" ) >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && ls "$TMP"/sanitizer.* >/dev/null 2>&1; then
		echo "sanitizer report:" >>"$log"
		cat "$TMP"/sanitizer.* >>"$log"
		rc=1
	fi
	if [ $rc -eq 0 ]; then
		n_pass=$((n_pass + 1))
		echo "ok $n_case - $title"
	elif [ $rc -eq 77 ]; then
		n_skip=$((n_skip + 1))
		echo "ok $n_case - $title # SKIP $(tail -n 1 "$log")"
	else
		n_fail=$((n_fail + 1))
		echo "not ok $n_case - $title"
		sed 's/^/#   /' "$log" | tail -n 40
	fi
}

# Inside a case: skip it with a reason.
skip() {
	echo "$*"
	exit 77
}

test_done() {
	echo "# $SCRIPT: $n_pass passed, $n_fail failed, $n_skip skipped"
	[ $n_fail -eq 0 ]
}

# ----------------------------------------------------------- assertions

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

# assert_exit CODE COMMAND...: runs it, keeps stdout/stderr in $TMP/out, $TMP/err
assert_exit() {
	want=$1
	shift
	set +e
	"$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		echo "--- stdout" >&2
		cat "$TMP/out" >&2
		echo "--- stderr" >&2
		cat "$TMP/err" >&2
		fail "exit code of '$*': expected $want, got $got"
	fi
}

# assert_grep PATTERN FILE: an extended regexp must match a line of FILE
assert_grep() {
	grep -Eq -- "$1" "$2" || { cat "$2" >&2; fail "'$1' not found in $2"; }
}

assert_no_grep() {
	if grep -Eq -- "$1" "$2"; then
		cat "$2" >&2
		fail "'$1' found in $2"
	fi
}

# assert_lines N FILE: FILE has exactly N lines
assert_lines() {
	got=$(wc -l <"$2" | tr -d ' ')
	[ "$got" = "$1" ] || { cat "$2" >&2; fail "$2: expected $1 lines, got $got"; }
}

# random_below N: a random whole number from 0 to N-1 (dash has no $RANDOM)
random_below() {
	echo $(($(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % $1))
}

# sql QUERY [DB]: one sqlite3 query, plain output
sql() {
	sqlite3 -batch "${2:-$DB}" "$1"
}

# pycheck FILE PYTHON: runs PYTHON with b = the JSON in FILE, raw = its text
pycheck() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
b = json.loads(raw)
exec(sys.argv[2])
EOF
}

# verify_sig BODY-FILE HEADERS-FILE SECRET: the Standard Webhooks check, done here
verify_sig() {
	python3 - "$@" <<'EOF'
import base64, hashlib, hmac, sys, time
body = open(sys.argv[1], "rb").read()
hdr = {}
for line in open(sys.argv[2]):
    k, _, v = line.rstrip("\n").partition(": ")
    hdr[k.lower()] = v
secret = sys.argv[3]
key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
mid, ts, sig = hdr["webhook-id"], hdr["webhook-timestamp"], hdr["webhook-signature"]
assert abs(int(ts) - time.time()) < 60, ts
want = base64.b64encode(hmac.new(key, mid.encode() + b"." + ts.encode() + b"." + body,
                                 hashlib.sha256).digest()).decode()
assert sig == "v1," + want, (sig, want)
import json
assert json.loads(body)["id"] == mid
print("signature ok", mid)
EOF
}

# ---------------------------------------------------------------- Redis

free_port() {
	"$XRTEST" port
}

# start_redis [redis-server options...]: sets REDIS_PORT, REDIS_URL, REDIS_PID
start_redis() {
	tries=0
	while :; do
		REDIS_PORT=$(free_port)
		dir=$TMP/redis-$REDIS_PORT
		mkdir -p "$dir"
		redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" \
			--save '' --appendonly no --daemonize no --logfile "$dir/log" \
			"$@" >/dev/null 2>&1 &
		REDIS_PID=$!
		REDIS_PIDS="$REDIS_PIDS $REDIS_PID"
		i=0
		while [ $i -lt 100 ]; do
			if redis-cli -p "$REDIS_PORT" --no-auth-warning ${REDIS_CLI_AUTH:+-a "$REDIS_CLI_AUTH"} ping 2>/dev/null | grep -q PONG; then
				REDIS_URL=redis://127.0.0.1:$REDIS_PORT
				export REDIS_PORT REDIS_URL REDIS_PID
				return 0
			fi
			if ! kill -0 "$REDIS_PID" 2>/dev/null; then
				break
			fi
			sleep 0.05
			i=$((i + 1))
		done
		kill -9 "$REDIS_PID" 2>/dev/null || true
		tries=$((tries + 1))
		[ $tries -lt 5 ] || { echo "cannot start redis-server" >&2; return 1; }
	done
}

stop_redis() {
	kill -9 "${1:-$REDIS_PID}" 2>/dev/null || true
	wait "${1:-$REDIS_PID}" 2>/dev/null || true
}

# rcli ARGS...: redis-cli against the test server
rcli() {
	redis-cli -p "$REDIS_PORT" --no-auth-warning ${REDIS_CLI_AUTH:+-a "$REDIS_CLI_AUTH"} "$@"
}

# xr ARGS...: xrecover against the test server and journal
xr() {
	"$XR" -r "$REDIS_URL" --db "$DB" "$@"
}

# ------------------------------------------------------------ webhooks

RECEIVER=$TOP/tests/receiver.py

# start_receiver DIR [receiver.py options]: prints "PID PORT" once DIR/ready is there
start_receiver() {
	d=$1
	shift
	mkdir -p "$d"
	tries=0
	while :; do
		port=$(free_port)
		rm -f "$d"/ready
		python3 "$RECEIVER" "$d" "$port" "$@" >"$d"/log 2>&1 &
		pid=$!
		i=0
		while [ $i -lt 100 ] && [ ! -e "$d"/ready ] && kill -0 $pid 2>/dev/null; do
			sleep 0.05
			i=$((i + 1))
		done
		if [ -e "$d"/ready ]; then
			echo "$pid $port"
			return 0
		fi
		kill -9 $pid 2>/dev/null || true
		tries=$((tries + 1))
		[ $tries -lt 5 ] || { echo "cannot start the receiver" >&2; return 1; }
	done
}

# make_stream STREAM GROUP N: N plain entries and a group that starts at 0
make_stream() {
	"$XRTEST" fill "$REDIS_URL" "$1" "$3" >/dev/null
	rcli XGROUP CREATE "$1" "$2" 0 >/dev/null
}

# crash_consumer STREAM GROUP CONSUMER [COUNT]: it reads and never acknowledges
crash_consumer() {
	"$XRTEST" read "$REDIS_URL" "$1" "$2" "$3" "${4:-1000000000}" >/dev/null
}
