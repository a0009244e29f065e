#!/bin/sh
# t0008-mode: TEST or LIVE (core/mode.h).  TEST unless an explicit rule says
# LIVE; $XRECOVER_MODE is strongest, then mode.test_when, then
# mode.live_when, matched against KEY=VALUE lines of the mode.files.  The
# mode shows in the run's [SUMMARY] line and in the journal.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

Q="'"

# expect_mode NAME WANT [GLOBAL ARGS...]: a real run on its own stream NAME
# and journal $TMP/NAME.db exits 0, and both its [SUMMARY] line and the
# journal say mode WANT
expect_mode() {
	_name=$1
	_want=$2
	shift 2
	[ "$(rcli EXISTS "$_name")" = 1 ] || make_stream "$_name" g 3
	assert_exit 0 "$XR" -r "$REDIS_URL" --db "$TMP/$_name.db" "$@" run -s "$_name"
	assert_grep "\[SUMMARY\] run=[0-9]+ mode=$_want " "$TMP/err"
	assert_eq "$_want" "$(sql "select mode from runs order by run desc limit 1" "$TMP/$_name.db")" \
	    "mode in the journal"
}

# reason NAME: the journalled reason for the mode of the last run
reason() {
	sql "select json_extract(detail, '\$.mode_reason') from events where kind = 'run_start' order by run desc limit 1" "$TMP/$1.db"
}

# envdir NAME: a fresh directory for NAME's env files, printed
envdir() {
	mkdir -p "$TMP/$1/env"
	echo "$TMP/$1/env"
}

test_case 'default is TEST: summary line and journal' '
	expect_mode m-default TEST
	reason m-default >$TMP/m-default.reason
	assert_grep "no rule says LIVE" $TMP/m-default.reason
'

test_case 'dry run shows the mode in its summary line too' '
	make_stream m-dry g 1
	assert_exit 0 "$XR" -r "$REDIS_URL" --db $TMP/m-dry.db run -s m-dry --dry-run
	assert_grep "\[SUMMARY\] DRY-RUN mode=TEST " $TMP/err
	XRECOVER_MODE=LIVE assert_exit 0 "$XR" -r "$REDIS_URL" --db $TMP/m-dry.db run -s m-dry --dry-run
	assert_grep "\[SUMMARY\] DRY-RUN mode=LIVE " $TMP/err
	[ ! -e $TMP/m-dry.db ] || fail "dry run created the journal"
'

test_case 'XRECOVER_MODE=LIVE makes the run LIVE' '
	export XRECOVER_MODE=LIVE
	expect_mode m-env-live LIVE
	reason m-env-live >$TMP/m-env-live.reason
	assert_grep "XRECOVER_MODE=LIVE" $TMP/m-env-live.reason
'

test_case 'XRECOVER_MODE=TEST makes the run TEST' '
	export XRECOVER_MODE=TEST
	expect_mode m-env-test TEST
	reason m-env-test >$TMP/m-env-test.reason
	assert_grep "XRECOVER_MODE=TEST" $TMP/m-env-test.reason
'

test_case 'XRECOVER_MODE=bogus: exit 2 naming it, no journal, Redis untouched' '
	make_stream m-bogus g 3
	crash_consumer m-bogus g dead
	rcli XPENDING m-bogus g >$TMP/m-bogus.before
	export XRECOVER_MODE=bogus
	assert_exit 2 "$XR" -r "$REDIS_URL" --db $TMP/m-bogus.db run -s m-bogus --claim-idle 0 --zombie-idle 0
	assert_lines 1 $TMP/err
	assert_grep "XRECOVER_MODE" $TMP/err
	assert_grep "${Q}bogus${Q}" $TMP/err
	[ ! -e $TMP/m-bogus.db ] || fail "journal created"
	rcli XPENDING m-bogus g >$TMP/m-bogus.after
	cmp $TMP/m-bogus.before $TMP/m-bogus.after
	XRECOVER_MODE=PRODUCTION assert_exit 2 "$XR" -r "$REDIS_URL" --db $TMP/m-bogus.db run -s m-bogus
	assert_grep "${Q}PRODUCTION${Q}" $TMP/err
'

test_case 'mode.files glob with APP_ENV=production and live_when APP_ENV=production: LIVE' '
	d=$(envdir m-files-live)
	printf "# the app\nFOO=bar\nAPP_ENV=production\nBAZ=1\n" >$d/app.env
	printf "OTHER=1\n" >$d/other.env
	cat >$TMP/m-files-live.json <<EOF
{"mode": {"files": ["$d/*.env"], "live_when": ["APP_ENV=production"]}}
EOF
	expect_mode m-files-live LIVE -c $TMP/m-files-live.json
	reason m-files-live >$TMP/m-files-live.reason
	assert_grep "APP_ENV=production in $d/app.env matches mode.live_when" $TMP/m-files-live.reason
'

test_case 'export APP_ENV="production" (quoted, with export) counts: LIVE' '
	d=$(envdir m-export)
	printf "export APP_ENV=\"production\"\n" >$d/app.env
	cat >$TMP/m-export.json <<EOF
{"mode": {"files": ["$d/*.env"], "live_when": ["APP_ENV=production"]}}
EOF
	expect_mode m-export LIVE -c $TMP/m-export.json
	printf "  export APP_ENV=${Q}production${Q}\n" >$d/app.env
	expect_mode m-export LIVE -c $TMP/m-export.json
'

test_case 'NODE_ENV=production with no matching rule stays TEST' '
	d=$(envdir m-node)
	printf "NODE_ENV=production\nRAILS_ENV=production\n" >$d/app.env
	cat >$TMP/m-node.json <<EOF
{"mode": {"files": ["$d/*.env"], "live_when": ["APP_ENV=production"]}}
EOF
	expect_mode m-node TEST -c $TMP/m-node.json
	reason m-node >$TMP/m-node.reason
	assert_grep "no rule says LIVE" $TMP/m-node.reason
'

test_case 'a commented-out or differently valued APP_ENV stays TEST' '
	d=$(envdir m-near)
	printf "# APP_ENV=production\nAPP_ENV=production-eu\nXAPP_ENV=production\n" >$d/app.env
	cat >$TMP/m-near.json <<EOF
{"mode": {"files": ["$d/*.env"], "live_when": ["APP_ENV=production"]}}
EOF
	expect_mode m-near TEST -c $TMP/m-near.json
'

test_case 'mode.files that match no file: TEST, no error' '
	cat >$TMP/m-nofile.json <<EOF
{"mode": {"files": ["$TMP/m-nofile/none-*.env"], "live_when": ["APP_ENV=production"]}}
EOF
	expect_mode m-nofile TEST -c $TMP/m-nofile.json
'

test_case 'test_when beats live_when when both match (any file order)' '
	d=$(envdir m-both)
	printf "APP_ENV=production\n" >$d/a.env
	printf "XRECOVER_TEST=1\n" >$d/b.env
	cat >$TMP/m-both.json <<EOF
{"mode": {"files": ["$d/*.env"], "live_when": ["APP_ENV=production"], "test_when": ["XRECOVER_TEST=1"]}}
EOF
	expect_mode m-both TEST -c $TMP/m-both.json
	reason m-both >$TMP/m-both.reason
	assert_grep "XRECOVER_TEST=1 in $d/b.env matches mode.test_when" $TMP/m-both.reason
	printf "APP_ENV=production\nXRECOVER_TEST=1\n" >$d/a.env
	rm $d/b.env
	expect_mode m-both TEST -c $TMP/m-both.json
'

test_case 'XRECOVER_MODE=TEST beats a live_when match' '
	d=$(envdir m-env-beats)
	printf "APP_ENV=production\n" >$d/app.env
	cat >$TMP/m-env-beats.json <<EOF
{"mode": {"files": ["$d/*.env"], "live_when": ["APP_ENV=production"]}}
EOF
	expect_mode m-env-beats LIVE -c $TMP/m-env-beats.json
	XRECOVER_MODE=TEST expect_mode m-env-beats TEST -c $TMP/m-env-beats.json
	reason m-env-beats >$TMP/m-env-beats.reason
	assert_grep "XRECOVER_MODE=TEST" $TMP/m-env-beats.reason
'

test_case 'XRECOVER_MODE=LIVE beats a test_when match' '
	d=$(envdir m-env-live2)
	printf "XRECOVER_TEST=1\n" >$d/app.env
	cat >$TMP/m-env-live2.json <<EOF
{"mode": {"files": ["$d/*.env"], "test_when": ["XRECOVER_TEST=1"]}}
EOF
	XRECOVER_MODE=LIVE expect_mode m-env-live2 LIVE -c $TMP/m-env-live2.json
'

test_case 'mode.live_when entry that is not KEY=VALUE: exit 2 naming it' '
	make_stream m-badrule g 1
	for entry in APP_ENV =production; do
		cat >$TMP/m-badrule.json <<EOF
{"mode": {"files": ["$TMP/m-badrule/*.env"], "live_when": ["$entry"]}}
EOF
		assert_exit 2 "$XR" -r "$REDIS_URL" --db $TMP/m-badrule.db -c $TMP/m-badrule.json run -s m-badrule
		assert_lines 1 $TMP/err
		assert_grep "mode.live_when" $TMP/err
		assert_grep "${Q}$entry${Q} is not KEY=VALUE" $TMP/err
	done
	cat >$TMP/m-badrule.json <<EOF
{"mode": {"test_when": ["TEST"]}}
EOF
	assert_exit 2 "$XR" -r "$REDIS_URL" --db $TMP/m-badrule.db -c $TMP/m-badrule.json run -s m-badrule
	assert_grep "mode.test_when.*${Q}TEST${Q} is not KEY=VALUE" $TMP/err
	[ ! -e $TMP/m-badrule.db ] || fail "journal created"
'

test_case 'unknown key under mode: exit 2 naming it' '
	make_stream m-badkey g 1
	cat >$TMP/m-badkey.json <<EOF
{"mode": {"files": [], "live_if": ["APP_ENV=production"]}}
EOF
	assert_exit 2 "$XR" -r "$REDIS_URL" --db $TMP/m-badkey.db -c $TMP/m-badkey.json run -s m-badkey
	assert_lines 1 $TMP/err
	assert_grep "config ${Q}$TMP/m-badkey.json${Q}" $TMP/err
	assert_grep "unknown key ${Q}mode.live_if${Q}" $TMP/err
	[ ! -e $TMP/m-badkey.db ] || fail "journal created"
'

test_done
