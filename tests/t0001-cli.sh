#!/bin/sh
# t0001-cli: the command line and the configuration: help, usage errors,
# durations, counts, Redis URLs, the config file, the environment, and which
# of them wins.  Bad input must exit 2 and change nothing anywhere.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

Q="'"
BADPORT=redis://127.0.0.1:1    # nothing listens there

# xrd DB ARGS...: xrecover against the test server with journal DB
xrd() {
	_xrd_db=$1
	shift
	"$XR" -r "$REDIS_URL" --db "$_xrd_db" "$@"
}

# fixture STREAM: group g with 5 entries read by "dead" (never acked) and an
# idle consumer "zombie" with nothing pending.  `run --claim-idle 0
# --zombie-idle 0` would claim the 5 entries and delete both consumers.
fixture() {
	make_stream "$1" g 5
	crash_consumer "$1" g dead
	rcli XGROUP CREATECONSUMER "$1" g zombie >/dev/null
}

# snap STREAM: what Redis says about group g: the XPENDING summary and the
# consumer names
snap() {
	rcli XPENDING "$1" g
	echo --
	rcli XINFO CONSUMERS "$1" g | awk 'prev == "name" { print } { prev = $0 }'
}

runs_in() {
	sql "select count(*) from runs" "$1"
}

# claim_idle_in DB: claim_idle_ms of the last run, as journalled
claim_idle_in() {
	sql "select json_extract(options, '\$.claim_idle_ms') from runs order by run desc limit 1" "$1"
}

# assert_no_file PATH...
assert_no_file() {
	for f in "$@"; do
		[ ! -e "$f" ] || fail "$f exists"
	done
}

# assert_nowhere STRING FILE...: STRING occurs in none of the files
assert_nowhere() {
	s=$1
	shift
	for f in "$@"; do
		if grep -qF -- "$s" "$f"; then
			cat "$f" >&2
			fail "'$s' found in $f"
		fi
	done
}

# json_status_has STREAM FILE: FILE is JSON from `status --json` with a
# group row for STREAM/g whose pending count is 5
json_status_has() {
	python3 - "$1" "$2" <<'PY'
import json, sys
stream, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
rows = [g for g in d["groups"] if g["stream"] == stream and g["group"] == "g"]
if len(rows) != 1 or rows[0]["pending"] != 5:
    sys.exit("no group row for %s with 5 pending in %r" % (stream, d))
names = sorted(c["consumer"] for c in d["consumers"] if c["stream"] == stream)
if names != ["dead", "zombie"]:
    sys.exit("consumers of %s: %r" % (stream, names))
PY
}

# ----------------------------------------------------------------- help

test_case '--help: usage, commands, exit code table, exit 0' '
	assert_exit 0 "$XR" --help
	assert_grep "^usage: xrecover \[GLOBAL OPTIONS\] COMMAND" $TMP/out
	assert_grep "^  run +[a-z]" $TMP/out
	assert_grep "^  status +[a-z]" $TMP/out
	assert_grep "^  help +[a-z]" $TMP/out
	assert_grep "^Exit codes:" $TMP/out
	for code in 0 1 2 3 4 5; do
		assert_grep "^  $code  [A-Za-z]" $TMP/out
	done
	assert_grep "^  2  bad command line" $TMP/out
	assert_grep "^  5  another xrecover holds the journal lock" $TMP/out
	assert_lines 0 $TMP/err
'

test_case 'help and -h print the same general help as --help' '
	assert_exit 0 "$XR" --help
	cp $TMP/out $TMP/help-long
	assert_exit 0 "$XR" help
	cmp $TMP/help-long $TMP/out
	assert_lines 0 $TMP/err
	assert_exit 0 "$XR" -h
	cmp $TMP/help-long $TMP/out
'

test_case 'help run: usage of run, its options, global options, exit codes' '
	assert_exit 0 "$XR" help run
	assert_grep "^usage: xrecover run " $TMP/out
	assert_grep "^Options:" $TMP/out
	assert_grep "--claim-idle DURATION" $TMP/out
	assert_grep "--zombie-idle DURATION" $TMP/out
	assert_grep "--batch N" $TMP/out
	assert_grep "--dry-run" $TMP/out
	assert_grep "^Global options:" $TMP/out
	assert_grep "--redis URL" $TMP/out
	assert_grep "^Exit codes:" $TMP/out
	for code in 0 1 2 3 4 5; do
		assert_grep "^  $code  [A-Za-z]" $TMP/out
	done
	assert_no_grep "^usage: xrecover \[GLOBAL" $TMP/out
	assert_lines 0 $TMP/err
'

test_case 'run --help, run -h and --help run print exactly help run' '
	assert_exit 0 "$XR" help run
	cp $TMP/out $TMP/help-run
	assert_exit 0 "$XR" run --help
	cmp $TMP/help-run $TMP/out
	assert_exit 0 "$XR" run -h
	cmp $TMP/help-run $TMP/out
	assert_exit 0 "$XR" --help run
	cmp $TMP/help-run $TMP/out
	assert_exit 0 "$XR" help status
	assert_grep "^usage: xrecover status " $TMP/out
	if cmp -s $TMP/help-run $TMP/out; then fail "help status = help run"; fi
'

test_case '--version prints one line with the version, exit 0' '
	assert_exit 0 "$XR" --version
	assert_lines 1 $TMP/out
	assert_grep "^xrecover [0-9]+\.[0-9]+\.[0-9]+$" $TMP/out
	assert_lines 0 $TMP/err
'

# ---------------------------------------------------------- usage errors

test_case 'no command: exit 2, usage on stderr, nothing on stdout' '
	assert_exit 2 "$XR"
	assert_grep "^usage: xrecover" $TMP/err
	assert_lines 0 $TMP/out
'

test_case 'unknown command: exit 2, one line naming it' '
	assert_exit 2 "$XR" frobnicate
	assert_lines 1 $TMP/err
	assert_grep "unknown command ${Q}frobnicate${Q}" $TMP/err
	assert_lines 0 $TMP/out
	assert_exit 2 "$XR" help frobnicate
	assert_lines 1 $TMP/err
	assert_grep "${Q}frobnicate${Q}" $TMP/err
'

test_case 'unknown option: exit 2, one line naming it' '
	cd $TMP && mkdir -p unknown-opt && cd unknown-opt
	assert_exit 2 "$XR" run --bogus
	assert_lines 1 $TMP/err
	assert_grep "unknown option ${Q}--bogus${Q}" $TMP/err
	assert_exit 2 "$XR" --bogus run
	assert_grep "unknown option ${Q}--bogus${Q}" $TMP/err
	assert_exit 2 "$XR" run -Z
	assert_grep "unknown option ${Q}-Z${Q}" $TMP/err
	assert_exit 2 "$XR" status --batch 5
	assert_grep "${Q}--batch${Q}" $TMP/err
	assert_no_file xrecover.db
'

test_case 'option without its value: exit 2 naming the option' '
	cd $TMP && mkdir -p no-value && cd no-value
	assert_exit 2 "$XR" run --batch
	assert_lines 1 $TMP/err
	assert_grep "${Q}--batch${Q} needs a value" $TMP/err
	assert_exit 2 "$XR" run -s
	assert_grep "${Q}-s${Q} needs a value" $TMP/err
	assert_exit 2 "$XR" -r
	assert_grep "${Q}-r${Q} needs a value" $TMP/err
	assert_no_file xrecover.db
'

test_case 'unexpected positional argument: exit 2 naming it' '
	cd $TMP && mkdir -p positional && cd positional
	assert_exit 2 "$XR" run extra
	assert_lines 1 $TMP/err
	assert_grep "unexpected argument ${Q}extra${Q}" $TMP/err
	assert_exit 2 "$XR" status -s x extra2
	assert_grep "unexpected argument ${Q}extra2${Q}" $TMP/err
	assert_no_file xrecover.db
'

# ------------------------------------------------------------- durations

test_case 'bad durations: exit 2, the error names the flag and the value' '
	make_stream dur-bad g 1
	D=$TMP/dur-bad.db
	for v in abc -5s 5x 1.5s 5s5x " 5s"; do
		assert_exit 2 xrd $D run -s dur-bad --claim-idle "$v"
		assert_lines 1 $TMP/err
		assert_grep "--claim-idle: bad duration ${Q}$v${Q}" $TMP/err
	done
	assert_exit 2 xrd $D run -s dur-bad --zombie-idle ""
	assert_grep "--zombie-idle: bad duration ${Q}${Q}" $TMP/err
	assert_exit 2 xrd $D run -s dur-bad --connect-timeout 10q
	assert_grep "--connect-timeout: bad duration ${Q}10q${Q}" $TMP/err
	assert_exit 2 xrd $D status --claim-idle abc
	assert_grep "--claim-idle: bad duration ${Q}abc${Q}" $TMP/err
	assert_no_file $D
'

test_case 'durations out of range or not numbers: exit 2, one line, nothing done' '
	make_stream dur-range g 1
	D=$TMP/dur-range.db
	for v in 1e300 -1 nan inf 1e30s 1.5e3; do
		for flag in --claim-idle --zombie-idle --lock-timeout --connect-timeout --command-timeout; do
			assert_exit 2 xrd $D run -s dur-range $flag "$v"
			assert_lines 1 $TMP/err
			assert_grep "^xrecover: $flag: bad duration ${Q}$v${Q}" $TMP/err
		done
	done
	# numbers too large for any clock: they used to overflow the deadline arithmetic
	for v in 36501d 36500d1ms 99999999999999999999s 106751991167d25975807ms 9223372036854775807ms; do
		for flag in --claim-idle --lock-timeout --command-timeout; do
			assert_exit 2 xrd $D run -s dur-range $flag "$v"
			assert_lines 1 $TMP/err
			assert_grep "^xrecover: $flag: duration ${Q}$v${Q} is out of range \(at most 36500d\)$" $TMP/err
		done
	done
	assert_exit 2 xrd $D report --incidents --since 106751991167d
	assert_no_file $D
	# the longest there is works (and under SANITIZE=1 nothing overflows)
	assert_exit 0 xrd $D run -s dur-range --claim-idle 36500d --zombie-idle 36500d \
		--lock-timeout 36500d --connect-timeout 36500d --command-timeout 36500d
	assert_eq 3153600000000 "$(claim_idle_in $D)" "claim_idle_ms"
	# the config file: a number of seconds out of range (JSON has no nan or inf)
	for v in 1e300 -1 3153600001 1e999; do
		printf "{\"lock_timeout\": %s}\n" "$v" >$TMP/dur-range.json
		assert_exit 2 xrd $D -c $TMP/dur-range.json status
		assert_lines 1 $TMP/err
		assert_grep "${Q}lock_timeout${Q} must be a duration from 0 to 36500d \(3153600000 seconds\)" $TMP/err
	done
	# --rate: a number of copies per second, finite and not absurdly small
	for v in nan inf -inf 1e300 1e-300 0 -1 0x 1e; do
		assert_exit 2 xrd $D replay --run 1 --rate "$v"
		assert_lines 1 $TMP/err
		assert_grep "^xrecover: --rate: ${Q}$v${Q} is not a number of copies per second from 0\.001 to 1000000000$" $TMP/err
	done
'

test_case 'good durations 1500ms 90s 5m 1h 90 are accepted and mean what they say' '
	make_stream dur-good g 1
	for pair in 1500ms:1500 90s:90000 5m:300000 1h:3600000 90:90000 0:0; do
		v=${pair%%:*}
		ms=${pair#*:}
		D=$TMP/dur-good-$v.db
		assert_exit 0 xrd $D run -s dur-good --dry-run --claim-idle $v
		assert_grep "\[SUMMARY\] DRY-RUN" $TMP/err
		assert_no_file $D
		assert_exit 0 xrd $D run -s dur-good --claim-idle $v
		assert_eq "$ms" "$(claim_idle_in $D)" "claim_idle_ms for $v"
	done
'

test_case 'bad --batch values: exit 2 naming --batch and the value' '
	make_stream batch-bad g 1
	D=$TMP/batch-bad.db
	for v in 0 -1 abc 100001 1.5 ""; do
		assert_exit 2 xrd $D run -s batch-bad --batch "$v"
		assert_lines 1 $TMP/err
		assert_grep "--batch: ${Q}$v${Q} is not a whole number from 1 to 100000" $TMP/err
	done
	assert_no_file $D
	assert_exit 0 xrd $D run -s batch-bad --dry-run --batch 1
	assert_exit 0 xrd $D run -s batch-bad --dry-run --batch 100000
'

# ------------------------------------------------------------ Redis URLs

test_case 'bad Redis URLs: exit 2, the error names the bad part' '
	cd $TMP && mkdir -p bad-url && cd bad-url
	D=$TMP/bad-url.db
	check() {
		url=$1 pat=$2
		assert_exit 2 "$XR" --db $D -r "$url" run -s s
		assert_lines 1 $TMP/err
		assert_grep "bad redis URL" $TMP/err
		assert_grep "$pat" $TMP/err
		assert_exit 2 "$XR" -r "$url" status
		assert_grep "$pat" $TMP/err
		XRECOVER_REDIS_URL=$url assert_exit 2 "$XR" status
		assert_grep "$pat" $TMP/err
	}
	check http://x "scheme ${Q}http${Q}"
	check redis://host:99999 "port ${Q}99999${Q}"
	check redis://host:abc "port ${Q}abc${Q}"
	check redis://host:0 "port ${Q}0${Q}"
	check redis://host/notanumber "${Q}notanumber${Q}"
	check unix://relative.sock "absolute"
	check rediss://host "TLS"
	check redis://user@host "user name is given without a password"
	check "redis://host?db=1" "query"
	check "redis://" "missing host"
	assert_exit 2 "$XR" -r "" status
	assert_grep "--redis: must not be empty" $TMP/err
	assert_no_file $D xrecover.db
'

test_case 'a malformed URL with a password never prints the password' '
	cd $TMP && mkdir -p pw-bad && cd pw-bad
	u="redis://u:topsecret@h:99999"
	assert_exit 2 "$XR" --db $TMP/pw-bad.db -r "$u" run -s s -v
	assert_grep "99999" $TMP/err
	assert_nowhere topsecret $TMP/out $TMP/err
	assert_exit 2 "$XR" -r "$u" status --json
	assert_nowhere topsecret $TMP/out $TMP/err
	XRECOVER_REDIS_URL=$u assert_exit 2 "$XR" --db $TMP/pw-bad.db run -s s
	assert_nowhere topsecret $TMP/out $TMP/err
	for u in "redis://u:topsecret@h/abc" "redis://u:topsecret@" "redis://u:topsecret@h!x" \
	    "redis://u:topsecret@[h" "redis://u:topsecret@h?db=1" "http://u:topsecret@h" \
	    "unix://u:topsecret@/tmp/x?foo=1"; do
		assert_exit 2 "$XR" -r "$u" status
		assert_nowhere topsecret $TMP/out $TMP/err
	done
	assert_no_file $TMP/pw-bad.db
'

test_case 'a password with an unescaped slash or @ is read whole and never printed' '
	for u in "redis://u:pwhalf/secret@127.0.0.1:1" "redis://u:pwhalf@secret@127.0.0.1:1/2" \
	    "unix://u:pwhalf/secret@$TMP/no.sock"; do
		assert_exit 3 "$XR" -r "$u" status
		assert_grep "cannot connect to redis at (127.0.0.1:1|.*no.sock) db" $TMP/err
		assert_nowhere pwhalf $TMP/out $TMP/err
		assert_nowhere secret $TMP/out $TMP/err
	done
'

test_case 'a refused password is not printed, nor journalled' '
	make_stream pw-live g 1
	D=$TMP/pw-live.db
	assert_exit 3 "$XR" --db $D -r "redis://u:topsecret@127.0.0.1:$REDIS_PORT" run -s pw-live -v
	assert_grep "refused the login" $TMP/err
	assert_nowhere topsecret $TMP/out $TMP/err
	assert_eq 1 "$(runs_in $D)" "runs journalled"
	assert_eq failed "$(sql "select status from runs" $D)"
	sqlite3 $D .dump >$TMP/pw-live.dump
	assert_nowhere topsecret $TMP/pw-live.dump
	assert_exit 3 "$XR" -r "redis://:topsecret@127.0.0.1:$REDIS_PORT" status
	assert_nowhere topsecret $TMP/out $TMP/err
'

# ------------------------------------------------------------ config file

test_case 'malformed config JSON: exit 2 with the path, line and column' '
	f=$TMP/malformed.json
	printf "{\n  \"batch\": 10,\n  \"x\" \n}\n" >$f
	assert_exit 2 xrd $TMP/malformed.db -c $f run -s s
	assert_lines 1 $TMP/err
	assert_grep "config ${Q}$f${Q}" $TMP/err
	assert_grep "malformed JSON at line 4, column 1" $TMP/err
	printf "{\"batch\": 10,}" >$f
	assert_exit 2 xrd $TMP/malformed.db -c $f run -s s
	assert_grep "config ${Q}$f${Q}: malformed JSON at line 1, column [0-9]+" $TMP/err
	assert_no_file $TMP/malformed.db
'

test_case 'config unknown key: exit 2 naming the key and the file' '
	f=$TMP/unknown-key.json
	cat >$f <<EOF
{"batch": 10, "bogus_key": 1}
EOF
	assert_exit 2 xrd $TMP/unknown-key.db -c $f run -s s
	assert_lines 1 $TMP/err
	assert_grep "config ${Q}$f${Q}" $TMP/err
	assert_grep "unknown key ${Q}bogus_key${Q}" $TMP/err
	cat >$f <<EOF
{"json": true}
EOF
	assert_exit 2 xrd $TMP/unknown-key.db -c $f run -s s
	assert_grep "unknown key ${Q}json${Q}" $TMP/err
	assert_no_file $TMP/unknown-key.db
'

test_case 'config value of the wrong type: exit 2 naming the key' '
	f=$TMP/wrong-type.json
	for doc in "{\"batch\":\"ten\"}:batch" "{\"streams\":\"orders\"}:streams" \
	    "{\"claim_idle\":true}:claim_idle" "{\"batch\":0}:batch" "{\"batch\":2.5}:batch" \
	    "{\"claim_idle\":-1}:claim_idle" "{\"claim_idle\":\"5x\"}:claim_idle" \
	    "{\"streams\":[\"a\",\"\"]}:streams" "{\"redis\":7}:redis" "{\"mode\":[]}:mode"; do
		printf "%s\n" "${doc%:*}" >$f
		key=${doc##*:}
		assert_exit 2 xrd $TMP/wrong-type.db -c $f run -s s
		assert_lines 1 $TMP/err
		assert_grep "config ${Q}$f${Q}: ${Q}$key${Q}" $TMP/err
	done
	assert_no_file $TMP/wrong-type.db
'

test_case 'config duplicate key: exit 2 naming it' '
	f=$TMP/dup.json
	cat >$f <<EOF
{"batch": 1, "consumer": "x", "batch": 2}
EOF
	assert_exit 2 xrd $TMP/dup.db -c $f run -s s
	assert_lines 1 $TMP/err
	assert_grep "config ${Q}$f${Q}" $TMP/err
	assert_grep "${Q}batch${Q} is given twice" $TMP/err
	assert_no_file $TMP/dup.db
'

test_case 'config file missing: exit 2 naming it (-c and XRECOVER_CONFIG)' '
	f=$TMP/no-such-config.json
	assert_exit 2 xrd $TMP/missing-cfg.db -c $f run -s s
	assert_lines 1 $TMP/err
	assert_grep "${Q}$f${Q}" $TMP/err
	assert_grep "No such file" $TMP/err
	XRECOVER_CONFIG=$f assert_exit 2 xrd $TMP/missing-cfg.db run -s s
	assert_grep "${Q}$f${Q}" $TMP/err
	assert_no_file $TMP/missing-cfg.db
'

test_case 'config that is a JSON array (or a string): exit 2, must be an object' '
	f=$TMP/array.json
	echo "[{\"batch\": 10}]" >$f
	assert_exit 2 xrd $TMP/array.db -c $f run -s s
	assert_lines 1 $TMP/err
	assert_grep "config ${Q}$f${Q}: must be a JSON object" $TMP/err
	echo "\"redis://x\"" >$f
	assert_exit 2 xrd $TMP/array.db -c $f run -s s
	assert_grep "must be a JSON object" $TMP/err
	assert_no_file $TMP/array.db
'

test_case 'XRECOVER_CONFIG names the file read without -c; -c beats it (by their errors)' '
	cat >$TMP/envcfg-a.json <<EOF
{"only_in_a": 1}
EOF
	cat >$TMP/envcfg-b.json <<EOF
{"only_in_b": 1}
EOF
	export XRECOVER_CONFIG=$TMP/envcfg-a.json
	assert_exit 2 xrd $TMP/envcfg.db run -s s
	assert_grep "config ${Q}$TMP/envcfg-a.json${Q}" $TMP/err
	assert_exit 2 xrd $TMP/envcfg.db -c $TMP/envcfg-b.json run -s s
	assert_grep "config ${Q}$TMP/envcfg-b.json${Q}" $TMP/err
	assert_no_grep "envcfg-a" $TMP/err
	assert_exit 2 xrd $TMP/envcfg.db run -s s -c $TMP/envcfg-b.json
	assert_grep "config ${Q}$TMP/envcfg-b.json${Q}" $TMP/err
	assert_no_grep "envcfg-a" $TMP/err
	assert_no_file $TMP/envcfg.db
'

test_case 'XRECOVER_CONFIG settings are applied without -c; -c replaces that file' '
	make_stream envcfg-ok g 1
	cat >$TMP/envcfg-7.json <<EOF
{"claim_idle": "7s"}
EOF
	cat >$TMP/envcfg-9.json <<EOF
{"claim_idle": "9s"}
EOF
	export XRECOVER_CONFIG=$TMP/envcfg-7.json
	assert_exit 0 xrd $TMP/envcfg-7.db run -s envcfg-ok
	assert_eq 7000 "$(claim_idle_in $TMP/envcfg-7.db)" "claim_idle_ms from XRECOVER_CONFIG"
	assert_exit 0 xrd $TMP/envcfg-9.db -c $TMP/envcfg-9.json run -s envcfg-ok
	assert_eq 9000 "$(claim_idle_in $TMP/envcfg-9.db)" "claim_idle_ms from -c"
'

test_case 'config durations: a number of seconds and a string both work' '
	make_stream cfg-dur g 1
	i=0
	for doc in "{\"claim_idle\": 90}:90000" "{\"claim_idle\": \"90s\"}:90000" \
	    "{\"claim_idle\": 1.5}:1500" "{\"claim_idle\": \"1500ms\"}:1500" \
	    "{\"claim_idle\": 0}:0"; do
		i=$((${i:-0} + 1))
		printf "%s\n" "${doc%:*}" >$TMP/cfg-dur-$i.json
		assert_exit 0 xrd $TMP/cfg-dur-$i.db -c $TMP/cfg-dur-$i.json run -s cfg-dur
		assert_eq "${doc##*:}" "$(claim_idle_in $TMP/cfg-dur-$i.db)" "claim_idle_ms for ${doc%:*}"
	done
'

test_case 'a full valid config is accepted; the flag beats the file' '
	make_stream cfg-full g 1
	cat >$TMP/cfg-full.json <<EOF
{
  "streams": ["cfg-full"],
  "groups": ["g"],
  "claim_idle": "2m",
  "zombie_idle": 7200,
  "batch": 50,
  "consumer": "rescuer",
  "exclude_consumers": ["keep-*"],
  "connect_timeout": "3s",
  "command_timeout": "20s",
  "lock_timeout": "4s"
}
EOF
	assert_exit 0 xrd $TMP/cfg-full.db -c $TMP/cfg-full.json run
	assert_eq 120000 "$(claim_idle_in $TMP/cfg-full.db)"
	o=$(sql "select options from runs" $TMP/cfg-full.db)
	echo "$o" | grep -q "\"batch\":50" || fail "options: $o"
	echo "$o" | grep -q "\"consumer\":\"rescuer\"" || fail "options: $o"
	echo "$o" | grep -q "\"zombie_idle_ms\":7200000" || fail "options: $o"
	assert_exit 0 xrd $TMP/cfg-full.db -c $TMP/cfg-full.json run --claim-idle 3s --batch 9
	assert_eq 3000 "$(claim_idle_in $TMP/cfg-full.db)"
	o=$(sql "select options from runs order by run desc limit 1" $TMP/cfg-full.db)
	echo "$o" | grep -q "\"batch\":9" || fail "options: $o"
'

# ------------------------------------------------------------ precedence

test_case 'Redis URL: XRECOVER_REDIS_URL beats the config file' '
	fixture prec-env-file
	good=$REDIS_URL
	unset REDIS_URL
	cat >$TMP/prec-env-file.json <<EOF
{"redis": "$BADPORT"}
EOF
	assert_exit 3 "$XR" -c $TMP/prec-env-file.json status -s prec-env-file
	assert_grep "127\.0\.0\.1:1 " $TMP/err
	XRECOVER_REDIS_URL=$good assert_exit 0 "$XR" -c $TMP/prec-env-file.json status -s prec-env-file
	assert_grep "^prec-env-file +g " $TMP/out
	REDIS_URL=$good assert_exit 0 "$XR" -c $TMP/prec-env-file.json status -s prec-env-file
	assert_grep "^prec-env-file +g " $TMP/out
'

test_case 'Redis URL: -r beats XRECOVER_REDIS_URL and REDIS_URL' '
	fixture prec-flag-env
	good=$REDIS_URL
	export XRECOVER_REDIS_URL=$BADPORT REDIS_URL=$BADPORT
	assert_exit 3 "$XR" status -s prec-flag-env
	assert_exit 0 "$XR" -r "$good" status -s prec-flag-env
	assert_grep "^prec-flag-env +g " $TMP/out
	assert_exit 0 "$XR" status -s prec-flag-env -r "$good"
	assert_grep "^prec-flag-env +g " $TMP/out
	assert_exit 3 "$XR" -r "$good" status -s prec-flag-env -r $BADPORT
'

test_case 'Redis URL: -r beats the environment and the config file together' '
	fixture prec-all
	good=$REDIS_URL
	cat >$TMP/prec-all.json <<EOF
{"redis": "$BADPORT"}
EOF
	export XRECOVER_REDIS_URL=$BADPORT REDIS_URL=$BADPORT
	assert_exit 0 "$XR" -c $TMP/prec-all.json -r "$good" status -s prec-all
	assert_grep "^prec-all +g " $TMP/out
'

test_case 'Redis URL: REDIS_URL is used when XRECOVER_REDIS_URL is unset' '
	fixture prec-redis-url
	good=$REDIS_URL
	unset XRECOVER_REDIS_URL
	export REDIS_URL=$good
	assert_exit 0 "$XR" status -s prec-redis-url
	assert_grep "^prec-redis-url +g " $TMP/out
	export REDIS_URL=$BADPORT
	assert_exit 3 "$XR" status -s prec-redis-url
	assert_grep "127\.0\.0\.1:1 " $TMP/err
	export XRECOVER_REDIS_URL=""
	assert_exit 3 "$XR" status -s prec-redis-url
'

test_case 'Redis URL: XRECOVER_REDIS_URL beats REDIS_URL' '
	fixture prec-xr-url
	good=$REDIS_URL
	XRECOVER_REDIS_URL=$good REDIS_URL=$BADPORT assert_exit 0 "$XR" status -s prec-xr-url
	assert_grep "^prec-xr-url +g " $TMP/out
	XRECOVER_REDIS_URL=$BADPORT REDIS_URL=$good assert_exit 3 "$XR" status -s prec-xr-url
	assert_grep "127\.0\.0\.1:1 " $TMP/err
'

test_case 'journal: --db beats XRECOVER_DB; XRECOVER_DB is used without --db' '
	make_stream prec-db g 1
	d=$TMP/prec-db
	mkdir -p $d && cd $d
	XRECOVER_DB=$d/env.db assert_exit 0 "$XR" -r "$REDIS_URL" run -s prec-db
	assert_eq 1 "$(runs_in $d/env.db)" "runs in env.db"
	XRECOVER_DB=$d/env.db assert_exit 0 "$XR" -r "$REDIS_URL" --db $d/flag.db run -s prec-db
	assert_eq 1 "$(runs_in $d/flag.db)" "runs in flag.db"
	assert_eq 1 "$(runs_in $d/env.db)" "runs in env.db after the --db run"
	XRECOVER_DB=$d/env.db assert_exit 0 "$XR" -r "$REDIS_URL" run -s prec-db --db $d/flag.db
	assert_eq 2 "$(runs_in $d/flag.db)" "runs in flag.db"
	assert_no_file $d/xrecover.db
'

test_case 'journal: the config "db" key is used; XRECOVER_DB and --db beat it' '
	make_stream prec-db-cfg g 1
	d=$TMP/prec-db-cfg
	mkdir -p $d && cd $d
	cat >$d/c.json <<EOF
{"db": "$d/file.db"}
EOF
	assert_exit 0 "$XR" -r "$REDIS_URL" -c $d/c.json run -s prec-db-cfg
	assert_eq 1 "$(runs_in $d/file.db)" "runs in file.db"
	XRECOVER_DB=$d/env.db assert_exit 0 "$XR" -r "$REDIS_URL" -c $d/c.json run -s prec-db-cfg
	assert_eq 1 "$(runs_in $d/env.db)" "runs in env.db"
	assert_eq 1 "$(runs_in $d/file.db)" "runs in file.db after the XRECOVER_DB run"
	XRECOVER_DB=$d/env.db assert_exit 0 "$XR" -r "$REDIS_URL" -c $d/c.json --db $d/flag.db run -s prec-db-cfg
	assert_eq 1 "$(runs_in $d/flag.db)" "runs in flag.db"
	assert_eq 1 "$(runs_in $d/env.db)" "runs in env.db after the --db run"
	assert_eq 1 "$(runs_in $d/file.db)" "runs in file.db after the --db run"
	assert_no_file $d/xrecover.db
'

# ------------------------------------------------ bad input changes nothing

test_case 'bad duration, URL, batch or config: no journal, Redis untouched' '
	fixture untouched
	D=$TMP/untouched.db
	snap untouched >$TMP/untouched.before
	grep -qx dead $TMP/untouched.before || fail "fixture has no consumer dead"
	grep -qx zombie $TMP/untouched.before || fail "fixture has no consumer zombie"
	echo "{\"batch\": 0}" >$TMP/untouched-bad.json
	assert_exit 2 xrd $D run -s untouched --claim-idle 0 --zombie-idle 5x
	assert_exit 2 xrd $D run -s untouched --claim-idle abc --zombie-idle 0
	assert_exit 2 xrd $D run -s untouched --claim-idle 0 --zombie-idle 0 --batch 0
	assert_exit 2 xrd $D run -s untouched --claim-idle 0 --zombie-idle 0 --lock-timeout -1s
	assert_exit 2 xrd $D -c $TMP/untouched-bad.json run -s untouched --claim-idle 0 --zombie-idle 0
	assert_exit 2 xrd $D -c $TMP/no-such.json run -s untouched --claim-idle 0 --zombie-idle 0
	assert_exit 2 xrd $D -r "redis://127.0.0.1:$REDIS_PORT/x" run -s untouched --claim-idle 0 --zombie-idle 0
	assert_exit 2 xrd $D -r "redis://127.0.0.1:$REDIS_PORT:1" run -s untouched --claim-idle 0 --zombie-idle 0
	XRECOVER_MODE=bogus assert_exit 2 xrd $D run -s untouched --claim-idle 0 --zombie-idle 0
	assert_no_file $D $D.lock $D.intent
	snap untouched >$TMP/untouched.after
	cmp $TMP/untouched.before $TMP/untouched.after || fail "Redis changed"
	# The same run without the bad part does change both.
	assert_exit 0 xrd $D run -s untouched --claim-idle 0 --zombie-idle 0
	snap untouched >$TMP/untouched.after
	if cmp -s $TMP/untouched.before $TMP/untouched.after; then fail "the good run changed nothing"; fi
	assert_eq 1 "$(runs_in $D)"
'

test_case 'run with no streams selected: exit 2 naming --stream, no journal' '
	fixture no-streams
	D=$TMP/no-streams.db
	snap no-streams >$TMP/no-streams.before
	assert_exit 2 xrd $D run --claim-idle 0 --zombie-idle 0
	assert_lines 1 $TMP/err
	assert_grep "no streams selected" $TMP/err
	assert_grep "--stream" $TMP/err
	assert_no_file $D $D.lock $D.intent
	assert_exit 2 xrd $D run -g g --claim-idle 0
	assert_grep "--stream" $TMP/err
	assert_no_file $D
	snap no-streams >$TMP/no-streams.after
	cmp $TMP/no-streams.before $TMP/no-streams.after || fail "Redis changed"
'

# --------------------------------------------------- option order, JSON out

test_case 'global options after the command; status --json is valid JSON' '
	fixture order-json
	assert_exit 0 "$XR" status --json -r "$REDIS_URL" -s order-json
	json_status_has order-json $TMP/out
	assert_exit 0 "$XR" --json -r "$REDIS_URL" status -s order-json
	json_status_has order-json $TMP/out
	assert_exit 0 "$XR" status -s order-json -r "$REDIS_URL" --json
	json_status_has order-json $TMP/out
	assert_exit 0 "$XR" status -r "$REDIS_URL" -s order-json
	assert_grep "^order-json +g " $TMP/out
	if python3 -c "import json,sys; json.load(sys.stdin)" <$TMP/out 2>/dev/null; then
		fail "plain status output parsed as JSON"
	fi
'

test_case 'global options after run; run --json is valid JSON' '
	make_stream order-run g 2
	D=$TMP/order-run.db
	assert_exit 0 "$XR" run -s order-run --json -r "$REDIS_URL" --db $D -q
	python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"status\"] == \"ok\" and d[\"mode\"] in (\"TEST\", \"LIVE\"), d" <$TMP/out
	assert_eq 1 "$(runs_in $D)"
'

# ------------------------------------------------------- failures as JSON

# json_fails CODE STATUS WHAT COMMAND...: COMMAND exits CODE and prints on stdout
# one JSON object, nothing else, whose status is STATUS, whose error says WHAT,
# and whose exit_code is CODE
json_fails() {
	_code=$1 _status=$2 _what=$3
	shift 3
	assert_exit "$_code" "$@"
	python3 - "$TMP"/out "$_code" "$_status" "$_what" <<-'EOF' || fail "stdout of '$*' is not its failure as one JSON object"
	import json, sys
	path, code, status, what = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
	d = json.loads(open(path).read())
	assert isinstance(d, dict), d
	assert d.get("exit_code") == code, ("exit_code", d)
	assert d.get("status") == status, ("status", d)
	assert isinstance(d.get("error"), str) and what in d["error"], ("error", d)
	EOF
}

test_case 'every --json failure is one JSON object on stdout: status, error, exit_code' '
	cd $TMP && mkdir -p json-fail && cd json-fail
	D=$TMP/json-fail.db
	# usage errors, before any command runs
	json_fails 2 failed "no command" "$XR" --json
	json_fails 2 failed "unknown command ${Q}frobnicate${Q}" "$XR" --json frobnicate
	json_fails 2 failed "unknown option ${Q}--bogus${Q}" "$XR" run --bogus --json
	json_fails 2 failed "${Q}--batch${Q} needs a value" "$XR" --json run --batch
	json_fails 2 failed "unexpected argument ${Q}extra${Q}" "$XR" --json run extra
	json_fails 2 failed "bad duration" "$XR" --json run -s x --claim-idle 5parsecs
	printf "{\"batch\": }\n" >$TMP/json-fail-cfg.json
	json_fails 2 failed "json-fail-cfg.json" "$XR" -c $TMP/json-fail-cfg.json --json status
	# run: before it starts, and after (the summary, with the reason)
	json_fails 2 failed "no streams selected" xrd $D --json run
	json_fails 4 failed "/dev/null/" "$XR" -r "$REDIS_URL" --db /dev/null/dir/j.db --json run -s x
	json_fails 3 failed "127.0.0.1:1" "$XR" -r $BADPORT --db $D --json run -s x
	rcli SET json-fail-str 1 >/dev/null
	json_fails 1 failed "is a string, not a stream" xrd $D --json run -s json-fail-str
	python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"run\"] == 2 and d[\"groups\"][0][\"error\"], d" <$TMP/out
	json_fails 8 warning "no such stream: ${Q}json-fail-none${Q}" xrd $D --json run -s json-fail-none
	# status
	json_fails 3 failed "127.0.0.1:1" "$XR" -r $BADPORT --json status
	# replay and rollback
	json_fails 2 failed "say what to replay" xrd $D --json replay
	json_fails 6 failed "no journalled entry matches" xrd $D --json replay --run 99
	json_fails 6 failed "no replay batch 99" xrd $D --json rollback 99
	json_fails 2 failed "not a replay batch number" xrd $D --json rollback abc
	# a replay whose connection to Redis is cut after its first copy: the batch, and why
	fixture json-rp
	xrd $D -q run -s json-rp --claim-idle 0 --no-clean
	"$XRTEST" cut "$REDIS_URL" XADD 30 >$TMP/json-cut.out &
	cutter=$!
	i=0
	while ! grep -q ready $TMP/json-cut.out 2>/dev/null && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done
	json_fails 3 failed "redis at 127.0.0.1:" xrd $D --json replay -s json-rp --rate 5
	wait $cutter
	python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"batch\"] >= 1 and d[\"copied\"] < 5, d" <$TMP/out
	# report
	json_fails 2 failed "say which" xrd $D --json report
	json_fails 6 failed "no incident 99" xrd $D --json report --incident 99
	json_fails 4 failed "none.db" "$XR" --db $TMP/none.db --json report --daily
	# verify: a journal that cannot be read, and one that was changed
	json_fails 4 failed "none.db" "$XR" --db $TMP/none.db --json verify
	cp $D $TMP/json-fail-t.db
	sqlite3 $TMP/json-fail-t.db "DROP TRIGGER events_append_only_update; DROP TRIGGER events_hash_once;
		UPDATE events SET ts = ts + 1 WHERE seq = 2"
	json_fails 7 changed "journal broken at event 2" "$XR" --db $TMP/json-fail-t.db --json verify
	# without --json, stdout stays empty
	assert_exit 6 xrd $D rollback 99
	assert_lines 0 $TMP/out
'

test_done
