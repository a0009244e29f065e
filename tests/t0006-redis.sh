#!/bin/sh
# t0006-redis: the Redis connection: an absent or vanished server, passwords
# and ACL users (and that a password is never written anywhere), unix
# sockets, database numbers, and the connect and command timeouts.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# A server shared by the cases that need no special server options.
start_redis
BASE_PORT=$REDIS_PORT
BASE_URL=$REDIS_URL

# case_redis [redis-server options...]: start_redis for one case body; the
# server dies with the case's subshell, whether the case passes or not.
case_redis() {
	start_redis "$@"
	CASE_PIDS="${CASE_PIDS:-} $REDIS_PID"
	case_cleanup_on_exit
}

# case_cleanup_on_exit: kill $CASE_PIDS when the case's subshell ends.  Every
# command in the trap must succeed: under set -e a failing one would fail
# the case.
case_cleanup_on_exit() {
	# shellcheck disable=SC2154 # p is the trap's own loop variable
	trap 'for p in $CASE_PIDS; do kill -CONT $p 2>/dev/null || :; kill -9 $p 2>/dev/null || :; done' EXIT
}

# base_redis: point the helpers back at the shared server.
base_redis() {
	REDIS_PORT=$BASE_PORT
	REDIS_URL=$BASE_URL
}

# pending STREAM GROUP [rcli options]: the group's XPENDING count
pending() {
	s=$1 g=$2
	shift 2
	rcli "$@" XPENDING "$s" "$g" | head -n 1
}

# held STREAM GROUP CONSUMER [rcli options]: what CONSUMER has pending
held() {
	s=$1 g=$2 c=$3
	shift 3
	rcli "$@" XINFO CONSUMERS "$s" "$g" | grep -A2 -x -- "$c" | sed -n 3p
}

# ms_since T0: milliseconds since T0 (from date +%s%N)
ms_since() {
	echo $(( ($(date +%s%N) - $1) / 1000000 ))
}

PW='s3cr3t:with@odd'
PW_URL='s3cr3t%3Awith%40odd'

# ------------------------------------------------------------ Redis down

test_case 'no Redis listening: run exits 3, one line naming host:port, run journalled failed' '
	DB=$TMP/down.db
	P=$(free_port)
	assert_exit 3 "$XR" -r redis://127.0.0.1:$P --db "$DB" run -s s --claim-idle 0
	assert_lines 1 $TMP/err
	assert_grep "^xrecover: .*127\.0\.0\.1:$P" $TMP/err
	assert_grep "(connect|refused)" $TMP/err
	assert_eq 1 "$(sql "select count(*) from runs")" "runs rows"
	assert_eq failed "$(sql "select status from runs")" "status"
	sql "select error from runs" >$TMP/e
	assert_grep "cannot connect to redis at 127\.0\.0\.1:$P.*(refused|connect)" $TMP/e
	assert_eq "127.0.0.1:$P db 0" "$(sql "select json_extract(options, \"\$.redis\") from runs")" "options.redis"
	assert_eq 0 "$(sql "select count(*) from claimed_messages")" "claims"
'

test_case 'no Redis listening: status exits 3 with one line naming host:port' '
	DB=$TMP/down.db
	P=$(free_port)
	assert_exit 3 "$XR" -r redis://127.0.0.1:$P --db "$DB" status
	assert_lines 1 $TMP/err
	assert_grep "127\.0\.0\.1:$P" $TMP/err
	assert_exit 3 "$XR" -r redis://127.0.0.1:$P --db "$DB" --json status
	assert_grep "127\.0\.0\.1:$P" $TMP/err
'

test_case 'Redis killed between two runs: the second exits 3 and is journalled failed' '
	DB=$TMP/killed.db
	case_redis
	make_stream s g 5
	crash_consumer s g dead
	assert_exit 0 xr run -s s --claim-idle 0
	assert_eq 5 "$(sql "select count(*) from claimed_messages")" "claims of run 1"
	stop_redis
	assert_exit 3 xr run -s s --claim-idle 0
	assert_lines 1 $TMP/err
	assert_grep "127\.0\.0\.1:$REDIS_PORT" $TMP/err
	assert_eq "1|ok
2|failed" "$(sql "select run, status from runs order by run")" "runs"
	sql "select error from runs where run = 2" >$TMP/e
	assert_grep "127\.0\.0\.1:$REDIS_PORT" $TMP/e
	assert_eq 5 "$(sql "select count(*) from claimed_messages")" "claims after run 2"
	assert_exit 3 xr status
'

# ------------------------------------------------------------- passwords

test_case 'requirepass: no password exits 3 (NOAUTH), run journalled failed' '
	DB=$TMP/nopass.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	make_stream s g 4
	crash_consumer s g dead
	assert_exit 3 "$XR" -r redis://127.0.0.1:$REDIS_PORT --db "$DB" run -s s --claim-idle 0
	assert_lines 1 $TMP/err
	assert_grep "127\.0\.0\.1:$REDIS_PORT.*(NOAUTH|[Aa]uthentication|login)" $TMP/err
	assert_eq failed "$(sql "select status from runs")" "status"
	assert_eq 4 "$(pending s g)" "still pending"
	assert_exit 3 "$XR" -r redis://127.0.0.1:$REDIS_PORT --db "$DB" status
	assert_grep "(NOAUTH|[Aa]uthentication|login)" $TMP/err
'

test_case 'requirepass: percent-encoded password in the URL, claims work' '
	DB=$TMP/pass.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	make_stream s g 6
	crash_consumer s g dead
	assert_exit 0 xr run -s s --claim-idle 0
	assert_eq 6 "$(sql "select count(*) from claimed_messages")" "claims"
	assert_eq ok "$(sql "select status from runs")" "status"
	assert_eq 6 "$(held s g xrecover)" "held by xrecover"
	assert_exit 0 xr status
	assert_grep "xrecover +recovery +6" $TMP/out
'

test_case 'requirepass: wrong password exits 3, login refused, nothing claimed' '
	DB=$TMP/wrongpass.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	make_stream s g 3
	crash_consumer s g dead
	assert_exit 3 "$XR" -r redis://:nottheone@127.0.0.1:$REDIS_PORT --db "$DB" run -s s --claim-idle 0
	assert_lines 1 $TMP/err
	assert_grep "refused the login" $TMP/err
	assert_grep "(WRONGPASS|invalid)" $TMP/err
	assert_eq failed "$(sql "select status from runs")" "status"
	assert_eq 0 "$(sql "select count(*) from claimed_messages")" "claims"
	assert_eq 3 "$(pending s g)" "still pending"
'

# ------------------------------------------- passwords beside the URL

# write_config FILE URL [PASSWORD_FILE]: a config naming the server and the password file
write_config() {
	if [ $# -ge 3 ]; then
		printf '{"redis": "%s", "password_file": "%s"}\n' "$2" "$3" >"$1"
	else
		printf '{"redis": "%s"}\n' "$2" >"$1"
	fi
}

# secret_file FILE TEXT [MODE]: TEXT and a newline, mode 0600 (or MODE)
secret_file() {
	printf '%s\n' "$2" >"$1"
	chmod "${3:-600}" "$1"
}

test_case 'REDISCLI_AUTH: a URL without a password logs in with it, and so does a user name alone' '
	DB=$TMP/envpw.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	make_stream s g 4
	crash_consumer s g dead
	assert_exit 0 env REDISCLI_AUTH="$PW" "$XR" -r redis://127.0.0.1:$REDIS_PORT --db "$DB" run -s s --claim-idle 0
	assert_eq 4 "$(sql "select count(*) from claimed_messages")" "claims"
	rcli ACL SETUSER envu on ">u-$PW" "~*" +@all >/dev/null
	assert_exit 0 env REDISCLI_AUTH="u-$PW" "$XR" -r redis://envu@127.0.0.1:$REDIS_PORT --db "$DB" status -s s
	assert_grep "xrecover +recovery +4" $TMP/out
	# a user name alone, with no password anywhere, is refused before anything happens
	assert_exit 2 "$XR" -r redis://envu@127.0.0.1:$REDIS_PORT --db "$DB" run -s s
	assert_lines 1 $TMP/err
	assert_grep "a user name is given without a password.*REDISCLI_AUTH" $TMP/err
	assert_eq 1 "$(sql "select count(*) from runs")" "runs"
'

test_case 'password_file: relative to the config or absolute; readable by every user is refused' '
	DB=$TMP/pwfile.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	make_stream s g 3
	crash_consumer s g dead
	mkdir -p $TMP/etc
	secret_file $TMP/etc/redis.pw "$PW"
	write_config $TMP/etc/config.json redis://127.0.0.1:$REDIS_PORT redis.pw
	assert_exit 0 env -u REDIS_URL "$XR" -c $TMP/etc/config.json --db "$DB" run -s s --claim-idle 0
	assert_eq 3 "$(sql "select count(*) from claimed_messages")" "claims"
	# every user may read it: refused (exit 2), before the journal or Redis is touched
	chmod 644 $TMP/etc/redis.pw
	assert_exit 2 env -u REDIS_URL "$XR" -c $TMP/etc/config.json --db "$DB" run -s s --claim-idle 0
	assert_lines 1 $TMP/err
	assert_grep "^xrecover: password_file .*/etc/redis\.pw. can be read by every user \(mode 0644\)" $TMP/err
	assert_eq 1 "$(sql "select count(*) from runs")" "runs"
	# a group may read it (the service user in the file owner group)
	chmod 640 $TMP/etc/redis.pw
	assert_exit 0 env -u REDIS_URL "$XR" -c $TMP/etc/config.json --db "$DB" status -s s
	# an absolute path, a file with no newline and a CRLF one
	printf "%s" "$PW" >$TMP/pw-abs
	chmod 600 $TMP/pw-abs
	write_config $TMP/abs.json redis://127.0.0.1:$REDIS_PORT $TMP/pw-abs
	assert_exit 0 env -u REDIS_URL "$XR" -c $TMP/abs.json --db "$DB" status -s s
	printf "%s\r\n" "$PW" >$TMP/pw-abs
	assert_exit 0 env -u REDIS_URL "$XR" -c $TMP/abs.json --db "$DB" status -s s
	# missing, empty, two lines
	write_config $TMP/missing.json redis://127.0.0.1:$REDIS_PORT $TMP/nosuch
	assert_exit 2 env -u REDIS_URL "$XR" -c $TMP/missing.json --db "$DB" status
	assert_grep "password_file .*nosuch.: cannot read it: No such file" $TMP/err
	: >$TMP/pw-abs
	assert_exit 2 env -u REDIS_URL "$XR" -c $TMP/abs.json --db "$DB" status
	assert_grep "is empty" $TMP/err
	printf "a\nb\n" >$TMP/pw-abs
	assert_exit 2 env -u REDIS_URL "$XR" -c $TMP/abs.json --db "$DB" status
	assert_grep "one line" $TMP/err
'

test_case 'systemd credential: $CREDENTIALS_DIRECTORY/redis-password' '
	DB=$TMP/cred.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	make_stream s g 2
	crash_consumer s g dead
	mkdir -p $TMP/creds
	secret_file $TMP/creds/redis-password "$PW" 400
	assert_exit 0 env CREDENTIALS_DIRECTORY=$TMP/creds "$XR" -r redis://127.0.0.1:$REDIS_PORT --db "$DB" run -s s --claim-idle 0
	assert_eq 2 "$(sql "select count(*) from claimed_messages")" "claims"
	# a credentials directory without this credential: no password from there
	assert_exit 3 env CREDENTIALS_DIRECTORY=$TMP "$XR" -r redis://127.0.0.1:$REDIS_PORT --db "$DB" status
	assert_grep "Redis wants a password" $TMP/err
'

test_case 'which password wins: flag URL, environment URL, REDISCLI_AUTH, config URL, password_file, credential' '
	DB=$TMP/prec.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	make_stream s g 2
	H=127.0.0.1:$REDIS_PORT
	mkdir -p $TMP/pc
	secret_file $TMP/pc/right "$PW"
	secret_file $TMP/pc/wrong nope
	mkdir -p $TMP/pc/cred-right $TMP/pc/cred-wrong
	secret_file $TMP/pc/cred-right/redis-password "$PW"
	secret_file $TMP/pc/cred-wrong/redis-password nope
	# st WANT SOURCE [VAR=VALUE...] XR [OPTIONS]: status exits WANT; on a
	# refusal, it names SOURCE as where the password came from
	st() {
		want=$1 from=$2
		shift 2
		assert_exit "$want" env -u REDIS_URL "$@" --db "$DB" status -s s
		[ "$want" = 0 ] || assert_grep "refused the login.*the password came from $from; a password goes in the URL" $TMP/err
	}
	write_config $TMP/pc/wrong.json "redis://:nope@$H" wrong
	write_config $TMP/pc/right.json "redis://:$PW_URL@$H" wrong
	write_config $TMP/pc/nopw-fwrong.json "redis://$H" wrong
	write_config $TMP/pc/nopw-fright.json "redis://$H" right
	# 1. the -r URL beats everything
	st 0 "" XRECOVER_REDIS_URL=redis://:nope@$H REDISCLI_AUTH=nope CREDENTIALS_DIRECTORY=$TMP/pc/cred-wrong \
		"$XR" -c $TMP/pc/wrong.json -r "redis://:$PW_URL@$H"
	st 3 "the URL" REDISCLI_AUTH="$PW" CREDENTIALS_DIRECTORY=$TMP/pc/cred-right \
		"$XR" -c $TMP/pc/nopw-fright.json -r "redis://:nope@$H"
	# 2. a URL from the environment beats REDISCLI_AUTH and the config
	st 0 "" XRECOVER_REDIS_URL="redis://:$PW_URL@$H" REDISCLI_AUTH=nope "$XR" -c $TMP/pc/wrong.json
	st 3 "the URL" XRECOVER_REDIS_URL="redis://:nope@$H" REDISCLI_AUTH="$PW" "$XR" -c $TMP/pc/right.json
	# 3. REDISCLI_AUTH beats the config (its URL and its password_file) and the credential
	st 0 "" REDISCLI_AUTH="$PW" CREDENTIALS_DIRECTORY=$TMP/pc/cred-wrong "$XR" -c $TMP/pc/wrong.json
	st 3 REDISCLI_AUTH REDISCLI_AUTH=nope CREDENTIALS_DIRECTORY=$TMP/pc/cred-right "$XR" -c $TMP/pc/right.json
	# 4. the config URL beats its password_file
	st 0 "" CREDENTIALS_DIRECTORY=$TMP/pc/cred-wrong "$XR" -c $TMP/pc/right.json
	st 3 "the URL" CREDENTIALS_DIRECTORY=$TMP/pc/cred-right "$XR" -c $TMP/pc/wrong.json
	# 5. password_file beats the credential
	st 0 "" CREDENTIALS_DIRECTORY=$TMP/pc/cred-wrong "$XR" -c $TMP/pc/nopw-fright.json
	st 3 password_file CREDENTIALS_DIRECTORY=$TMP/pc/cred-right "$XR" -c $TMP/pc/nopw-fwrong.json
	# 6. the credential, last
	st 3 "the redis-password credential" CREDENTIALS_DIRECTORY=$TMP/pc/cred-wrong "$XR" -r "redis://$H"
'

test_case 'NOAUTH and WRONGPASS: one line that says where a password goes' '
	DB=$TMP/hint.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	make_stream s g 2
	crash_consumer s g dead
	for cmd in "run -s s" status "replay --run 1"; do
		# shellcheck disable=SC2086 # cmd is a command and its options
		assert_exit 3 "$XR" -r redis://127.0.0.1:$REDIS_PORT --db "$DB" $cmd
		assert_lines 1 $TMP/err
		assert_grep "NOAUTH.*\(Redis wants a password: give it in the URL \(redis://:PASSWORD@host\), REDISCLI_AUTH, password_file in the config, or the systemd credential redis-password\)$" $TMP/err
	done
	sql "select error from runs" >$TMP/e
	assert_grep "Redis wants a password" $TMP/e
	secret_file $TMP/wrong.pw "not-$PW"
	write_config $TMP/hint.json redis://127.0.0.1:$REDIS_PORT $TMP/wrong.pw
	assert_exit 3 env -u REDIS_URL "$XR" -c $TMP/hint.json --db "$DB" run -s s
	assert_lines 1 $TMP/err
	assert_grep "refused the login: WRONGPASS.*\(the password came from password_file; a password goes in the URL \(redis://:PASSWORD@host\), REDISCLI_AUTH, password_file in the config, or the systemd credential redis-password\)$" $TMP/err
	assert_eq 2 "$(pending s g)" "still pending"
'

# --------------------------------------------------------------- ACL users

# What xrecover needs: SELECT (db != 0), INFO, SCAN (--match), TYPE (--stream),
# XINFO, XPENDING, MULTI/EXEC/XCLAIM (claims), EVAL and XGROUP DELCONSUMER
# (zombie deletion, inside the script), XRANGE (reconciling a killed run).
ACL_MIN="+select +info +scan +type +xinfo +xpending +xclaim +multi +exec +eval +xgroup|delconsumer +xrange"

test_case 'ACL user with the minimal command set: run (claim and clean), --match, status' '
	DB=$TMP/acl.db
	base_redis
	rcli ACL SETUSER recov reset on ">p4ss" "~*" $ACL_MIN >/dev/null
	make_stream acl1 g 5
	crash_consumer acl1 g dead
	U=redis://recov:p4ss@127.0.0.1:$REDIS_PORT
	assert_exit 0 "$XR" -r $U --db "$DB" run -s acl1 --claim-idle 0 --zombie-idle 0
	assert_eq 5 "$(sql "select count(*) from claimed_messages")" "claims"
	assert_eq 1 "$(sql "select count(*) from deleted_consumers where consumer = \"dead\"")" "deleted"
	assert_eq "127.0.0.1:$REDIS_PORT db 0 as user '"'"'recov'"'"'" \
		"$(sql "select json_extract(options, \"\$.redis\") from runs")" "options.redis"
	make_stream acl2 g 2
	crash_consumer acl2 g dead
	assert_exit 0 "$XR" -r $U --db "$DB" run --match "acl*" --claim-idle 0
	assert_eq 7 "$(sql "select count(*) from claimed_messages")" "claims"
	# database 3 has no acl1: the run works there, and says the stream is missing
	assert_exit 8 "$XR" -r $U/3 --db "$DB" run -s acl1 --claim-idle 0
	assert_exit 0 "$XR" -r $U --db "$DB" status -s acl1
	assert_grep "xrecover +recovery +5" $TMP/out
'

test_case 'ACL user with a wrong password exits 3, login refused' '
	DB=$TMP/aclwrong.db
	base_redis
	rcli ACL SETUSER recov reset on ">p4ss" "~*" $ACL_MIN >/dev/null
	make_stream aclw g 3
	crash_consumer aclw g dead
	assert_exit 3 "$XR" -r redis://recov:wrong@127.0.0.1:$REDIS_PORT --db "$DB" run -s aclw --claim-idle 0
	assert_lines 1 $TMP/err
	assert_grep "as user .recov. refused the login" $TMP/err
	assert_eq failed "$(sql "select status from runs")" "status"
	assert_exit 3 "$XR" -r redis://nosuchuser:p4ss@127.0.0.1:$REDIS_PORT --db "$DB" status
	assert_grep "refused the login" $TMP/err
	assert_eq 3 "$(pending aclw g)" "still pending"
'

test_case 'ACL user without XCLAIM: the run fails with NOPERM, nothing lost' '
	DB=$TMP/noclaim.db
	base_redis
	rcli ACL SETUSER noclaim reset on ">p4ss" "~*" +@all -xclaim >/dev/null
	make_stream ncl g 8
	crash_consumer ncl g dead
	before=$(pending ncl g)
	assert_eq 8 "$before" "pending before"
	set +e
	"$XR" -r redis://noclaim:p4ss@127.0.0.1:$REDIS_PORT --db "$DB" run -s ncl --claim-idle 0 \
		>$TMP/out 2>$TMP/err
	rc=$?
	set -e
	cat $TMP/err
	case $rc in 1|3) ;; *) fail "exit code $rc, expected 1 or 3" ;; esac
	assert_grep "^xrecover: .*NOPERM.*xclaim" $TMP/err
	assert_eq "$before" "$(pending ncl g)" "pending after"
	assert_eq 8 "$(held ncl g dead)" "still with dead"
	assert_eq 0 "$(sql "select count(*) from claimed_messages")" "claims"
	assert_eq 0 "$(sql "select count(*) from lost_messages")" "lost"
	assert_eq failed "$(sql "select status from runs")" "status"
	sql "select error from runs" >$TMP/e
	assert_grep "NOPERM" $TMP/e
'

# ------------------------------------------------- the password is secret

test_case 'the password never appears: stdout, stderr, --log-file, journal, intents' '
	DB=$TMP/secret.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	make_stream s g 5
	crash_consumer s g dead
	: >$TMP/all
	# via -r
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$DB" -v run -s s --claim-idle 0 --log-file $TMP/log
	cat $TMP/out $TMP/err >>$TMP/all
	# via the environment, with --json
	make_stream t g 3
	crash_consumer t g dead
	assert_exit 0 env XRECOVER_REDIS_URL=$REDIS_URL "$XR" --db "$DB" --json run -s t --claim-idle 0 --log-file $TMP/log
	cat $TMP/out $TMP/err >>$TMP/all
	assert_exit 0 env XRECOVER_REDIS_URL=$REDIS_URL "$XR" --db "$DB" -v status
	cat $TMP/out $TMP/err >>$TMP/all
	# a wrong password, and the right one with a database Redis refuses
	assert_exit 3 "$XR" -r "redis://:${PW_URL}x@127.0.0.1:$REDIS_PORT" --db "$DB" run -s s --log-file $TMP/log
	cat $TMP/out $TMP/err >>$TMP/all
	assert_exit 2 "$XR" -r "$REDIS_URL/99" --db "$DB" run -s s --log-file $TMP/log
	cat $TMP/out $TMP/err >>$TMP/all
	# the password unencoded, as a user would paste it
	"$XR" -r "redis://:$PW@127.0.0.1:$REDIS_PORT" --db "$DB" run -s s --log-file $TMP/log >>$TMP/all 2>&1 || true
	assert_eq 8 "$(sql "select count(*) from claimed_messages")" "claims"
	assert_grep "SUMMARY" $TMP/log
	sqlite3 "$DB" .dump >$TMP/dump
	assert_grep "run_start" $TMP/dump
	# The text, and the raw journal files (database, intents, lock) too.
	for f in $TMP/all $TMP/log $TMP/dump "$DB"*; do
		[ -e "$f" ] || continue
		for secret in s3cr3t "$PW_URL" with@odd; do
			if grep -aqF -- "$secret" "$f"; then
				grep -aF -- "$secret" "$f" >&2
				fail "$secret found in $f"
			fi
		done
	done
	# Nor in the Redis the journal names.
	sql "select distinct json_extract(options, \"\$.redis\") from runs" >$TMP/where
	assert_eq "127.0.0.1:$REDIS_PORT db 0
127.0.0.1:$REDIS_PORT db 99" "$(sort $TMP/where)" "options.redis"
'

test_case 'process title: every byte of a password with an @ is blanked while the run waits on Redis' '
	DB=$TMP/title.db
	REDIS_CLI_AUTH=pa@ss
	case_redis --requirepass pa@ss
	REDIS_URL=redis://:pa%40ss@127.0.0.1:$REDIS_PORT
	make_stream s g 3
	crash_consumer s g dead
	# A stopped server: the run has read its arguments and waits for the login.
	kill -STOP $REDIS_PID
	"$XR" -r "redis://default:pa@ss@127.0.0.1:$REDIS_PORT" --db "$DB" --command-timeout 20s \
		run -s s --claim-idle 0 >$TMP/out 2>$TMP/err &
	pid=$!
	i=0
	until [ "$(sql "select count(*) from runs" 2>/dev/null)" = 1 ]; do
		i=$((i + 1))
		[ $i -lt 400 ] || fail "the run never started"
		sleep 0.05
	done
	tr "\0" "\n" </proc/$pid/cmdline >$TMP/cmdline
	cat $TMP/cmdline
	assert_grep "^redis://default:xxxxx@127\.0\.0\.1:$REDIS_PORT\$" $TMP/cmdline
	grep "^redis://" $TMP/cmdline >$TMP/url
	assert_no_grep "pa|ss" $TMP/url
	kill -CONT $REDIS_PID
	wait $pid || fail "the run failed: $(cat $TMP/err)"
	# and the password the parser read was the whole of it
	assert_eq 3 "$(sql "select count(*) from claimed_messages")" "claims"
'

test_case 'a password from REDISCLI_AUTH, password_file or the credential never appears either' '
	DB=$TMP/secret2.db
	REDIS_CLI_AUTH=$PW
	case_redis --requirepass "$PW"
	REDIS_URL=redis://:$PW_URL@127.0.0.1:$REDIS_PORT
	U=redis://127.0.0.1:$REDIS_PORT
	make_stream s g 6
	crash_consumer s g dead
	mkdir -p $TMP/sec/creds $TMP/sec/badcreds
	secret_file $TMP/sec/pw "$PW"
	secret_file $TMP/sec/badpw wrongFileSecret
	secret_file $TMP/sec/creds/redis-password "$PW"
	secret_file $TMP/sec/badcreds/redis-password wrongCredSecret
	write_config $TMP/sec/good.json "$U" pw
	write_config $TMP/sec/bad.json "$U" badpw
	: >$TMP/all
	# each source, right: runs (with -v, --json, a log file) and status
	assert_exit 0 env -u REDIS_URL REDISCLI_AUTH="$PW" "$XR" -r "$U" --db "$DB" -v --json run -s s --claim-idle 0 --batch 2 --log-file $TMP/log
	cat $TMP/out $TMP/err >>$TMP/all
	crash_consumer s g dead2
	assert_exit 0 env -u REDIS_URL "$XR" -c $TMP/sec/good.json --db "$DB" -v run -s s --claim-idle 0 --log-file $TMP/log
	cat $TMP/out $TMP/err >>$TMP/all
	assert_exit 0 env -u REDIS_URL CREDENTIALS_DIRECTORY=$TMP/sec/creds "$XR" -r "$U" --db "$DB" -v status
	cat $TMP/out $TMP/err >>$TMP/all
	# each source, wrong: the refusals
	assert_exit 3 env -u REDIS_URL REDISCLI_AUTH=wrongEnvSecret "$XR" -r "$U" --db "$DB" --json run -s s --log-file $TMP/log
	cat $TMP/out $TMP/err >>$TMP/all
	assert_exit 3 env -u REDIS_URL "$XR" -c $TMP/sec/bad.json --db "$DB" run -s s --log-file $TMP/log
	cat $TMP/out $TMP/err >>$TMP/all
	assert_exit 3 env -u REDIS_URL CREDENTIALS_DIRECTORY=$TMP/sec/badcreds "$XR" -r "$U" --db "$DB" run -s s --log-file $TMP/log
	cat $TMP/out $TMP/err >>$TMP/all
	assert_grep "came from the redis-password credential" $TMP/all
	assert_eq 6 "$(sql "select count(*) from claimed_messages")" "claims"
	assert_eq "ok ok failed failed failed" "$(sql "select status from runs order by run" | tr "\n" " " | sed "s/ \$//")" "runs"
	sqlite3 "$DB" .dump >$TMP/dump
	for f in $TMP/all $TMP/log $TMP/dump "$DB"*; do
		[ -e "$f" ] || continue
		for secret in s3cr3t with@odd wrongEnvSecret wrongFileSecret wrongCredSecret; do
			if grep -aqF -- "$secret" "$f"; then
				grep -aF -- "$secret" "$f" >&2
				fail "$secret found in $f"
			fi
		done
	done
'

test_case 'runs.options names the server as host:port db N, never with the password' '
	DB=$TMP/describe.db
	base_redis
	make_stream desc g 2
	crash_consumer desc g dead
	# No password is set: Redis refuses AUTH, but the run is journalled.
	assert_exit 3 "$XR" -r "redis://:ignored@127.0.0.1:$REDIS_PORT" --db "$DB" run -s desc --claim-idle 0
	assert_no_grep "ignored" $TMP/err
	assert_exit 0 xr run -s desc --claim-idle 0
	sql "select options from runs" >$TMP/opts
	assert_no_grep "ignored" $TMP/opts
	assert_eq 2 "$(grep -c "\"redis\":\"127\.0\.0\.1:$REDIS_PORT db 0\"" $TMP/opts)" "described"
'

# ----------------------------------------------------------- unix sockets

test_case 'unix socket: claims work; ?db=2 sees db 2 only' '
	DB=$TMP/unix.db
	case_redis --unixsocket $TMP/r.sock --unixsocketperm 700
	make_stream s g 4
	crash_consumer s g dead
	assert_exit 0 "$XR" -r unix://$TMP/r.sock --db "$DB" run -s s --claim-idle 0
	assert_eq 4 "$(sql "select count(*) from claimed_messages")" "claims"
	assert_eq "$TMP/r.sock db 0" "$(sql "select json_extract(options, \"\$.redis\") from runs")" "options.redis"
	# db 2: one stream there, another in db 0 only
	rcli -n 2 XADD in2 "*" f v >/dev/null
	rcli -n 2 XADD in2 "*" f w >/dev/null
	rcli -n 2 XGROUP CREATE in2 g 0 >/dev/null
	rcli -n 2 XREADGROUP GROUP g dead STREAMS in2 ">" >/dev/null
	make_stream in0 g 3
	crash_consumer in0 g dead
	assert_exit 0 "$XR" -r "unix://$TMP/r.sock?db=2" --db "$DB" status
	assert_grep "^in2 " $TMP/out
	assert_no_grep "^in0 " $TMP/out
	assert_exit 0 "$XR" -r "unix://$TMP/r.sock?db=2" --db "$DB" run --match "in*" --claim-idle 0
	assert_eq 2 "$(sql "select count(*) from claimed_messages where stream = \"in2\"")" "in2 claims"
	assert_eq 0 "$(sql "select count(*) from claimed_messages where stream = \"in0\"")" "in0 claims"
	assert_eq 3 "$(pending in0 g)" "in0 untouched"
	assert_eq 0 "$(held in2 g dead -n 2)" "in2 claimed from dead"
'

# -------------------------------------------------------- database numbers

test_case 'redis://host:port/3 works on database 3 only' '
	DB=$TMP/db3.db
	base_redis
	rcli -n 3 XADD d3 "*" f v >/dev/null
	rcli -n 3 XGROUP CREATE d3 g 0 >/dev/null
	rcli -n 3 XREADGROUP GROUP g dead STREAMS d3 ">" >/dev/null
	make_stream d0 g 2
	crash_consumer d0 g dead
	assert_exit 0 xr -r redis://127.0.0.1:$REDIS_PORT/3 run --match "d*" --claim-idle 0
	assert_eq "d3" "$(sql "select group_concat(stream) from claimed_messages")" "claimed streams"
	assert_eq "127.0.0.1:$REDIS_PORT db 3" "$(sql "select json_extract(options, \"\$.redis\") from runs")" "options.redis"
	assert_eq 2 "$(pending d0 g)" "db 0 untouched"
'

test_case 'database 99 on a 16-database server: exit 2 naming the database, run journalled failed' '
	DB=$TMP/db99.db
	base_redis
	assert_exit 2 "$XR" -r redis://127.0.0.1:$REDIS_PORT/99 --db "$DB" run -s s --claim-idle 0
	assert_lines 1 $TMP/err
	assert_grep "database 99" $TMP/err
	assert_eq failed "$(sql "select status from runs")" "status"
	assert_exit 2 "$XR" -r redis://127.0.0.1:$REDIS_PORT/99 --db "$DB" status
	assert_grep "database 99" $TMP/err
	assert_exit 2 "$XR" -r redis://127.0.0.1:$REDIS_PORT/x --db "$DB" status
	assert_grep "database" $TMP/err
'

# ---------------------------------------------------------------- timeouts

test_case 'connect timeout: a server that never completes the handshake, exit 3 after 300ms' '
	DB=$TMP/ctimeout.db
	# A stopped server whose accept queue (backlog 1) is full: the kernel
	# drops further SYNs, so a connect hangs until the client gives up.
	case_redis --tcp-backlog 1
	kill -STOP $REDIS_PID
	for i in 1 2 3; do
		redis-cli -p $REDIS_PORT ping >/dev/null 2>&1 &
		CASE_PIDS="$CASE_PIDS $!"
	done
	sleep 0.2
	t0=$(date +%s%N)
	assert_exit 3 xr --connect-timeout 300ms --command-timeout 1s run -s s
	ms=$(ms_since $t0)
	echo "run took ${ms}ms"
	cat $TMP/err
	[ "$ms" -ge 250 ] || fail "gave up after ${ms}ms, before the timeout: the test did not hang the connect"
	[ "$ms" -lt 3000 ] || fail "took ${ms}ms"
	assert_lines 1 $TMP/err
	assert_grep "cannot connect to redis at 127\.0\.0\.1:$REDIS_PORT.*timed out" $TMP/err
	assert_eq failed "$(sql "select status from runs")" "status"
	sql "select error from runs" >$TMP/e
	assert_grep "timed out" $TMP/e
	t0=$(date +%s%N)
	assert_exit 3 xr --connect-timeout 300ms --command-timeout 1s status
	ms=$(ms_since $t0)
	[ "$ms" -lt 3000 ] || fail "status took ${ms}ms"
	assert_grep "timed out" $TMP/err
'

test_case 'connect timeout: a non-routable address gives up within 3s, exit 3' '
	DB=$TMP/ctimeout2.db
	t0=$(date +%s%N)
	assert_exit 3 "$XR" -r redis://10.255.255.1:6379 --db "$DB" --connect-timeout 300ms run -s s
	ms=$(ms_since $t0)
	echo "took ${ms}ms"
	cat $TMP/err
	[ "$ms" -lt 3000 ] || fail "took ${ms}ms"
	# The reason depends on the network (timed out, unreachable, or a proxy
	# in a sandbox answering); the address is always named.
	assert_lines 1 $TMP/err
	assert_grep "10\.255\.255\.1:6379" $TMP/err
	assert_eq failed "$(sql "select status from runs")" "status"
'

test_case 'command timeout: a stopped server gives exit 3 within ~3s, mentioning the timeout' '
	DB=$TMP/cmdtimeout.db
	case_redis
	make_stream s g 3
	crash_consumer s g dead
	kill -STOP $REDIS_PID
	t0=$(date +%s%N)
	assert_exit 3 xr --command-timeout 500ms status
	ms=$(ms_since $t0)
	echo "status took ${ms}ms"
	cat $TMP/err
	[ "$ms" -lt 3000 ] || fail "took ${ms}ms"
	assert_lines 1 $TMP/err
	assert_grep "127\.0\.0\.1:$REDIS_PORT.*tim(ed out|eout)" $TMP/err
	t0=$(date +%s%N)
	assert_exit 3 xr --command-timeout 500ms run -s s --claim-idle 0
	ms=$(ms_since $t0)
	echo "run took ${ms}ms"
	[ "$ms" -lt 3000 ] || fail "took ${ms}ms"
	assert_grep "tim(ed out|eout)" $TMP/err
	assert_eq failed "$(sql "select status from runs")" "status"
	kill -CONT $REDIS_PID
	assert_eq 3 "$(pending s g)" "nothing claimed"
	assert_exit 0 xr run -s s --claim-idle 0
	assert_eq 3 "$(sql "select count(*) from claimed_messages")" "claims after CONT"
'

test_done
