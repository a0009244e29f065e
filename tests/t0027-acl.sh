#!/bin/sh
# t0027-acl: README.md's least-privilege ACL line is enough for every
# command (run with its actions, status, replay, rollback, release, trace)
# and holds nothing more: without any one of its permissions some step
# fails.  doctor lists the same permissions and finds them all.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

# The permissions of README's line: +info ... +exec, one per line.
PERMS=$(sed -n 's/^ACL SETUSER xrecover on >PASSWORD ~\* resetchannels -@all //p' "$TOP"/README.md | tr ' ' '\n')
export PERMS

# user NAME [PERM-LEFT-OUT]: an ACL user with README's permissions, but one
user() {
	# shellcheck disable=SC2086 # $keep: one argument per permission
	keep=$(echo "$PERMS" | grep -vxF -- "${2:-none}" | tr '\n' ' ')
	# shellcheck disable=SC2086
	rcli ACL SETUSER "$1" reset on '>pw' '~*' resetchannels -@all $keep >/dev/null
}

# steps PREFIX URL DB: every command, as the user of URL, on streams PREFIX:*;
# prints the first that failed (and returns 1).  Redis is prepared as the default user.
steps() {
	p=$1 u=$2 d=$3
	"$XRTEST" fill "$REDIS_URL" "$p:a" 6 >/dev/null
	rcli XGROUP CREATE "$p:a" g 0 >/dev/null
	crash_consumer "$p:a" g dead 3
	rcli XGROUP CREATECONSUMER "$p:a" g zomb >/dev/null
	"$XRTEST" fill "$REDIS_URL" "$p:b" 2 >/dev/null
	rcli XGROUP CREATE "$p:b" g 0 >/dev/null
	crash_consumer "$p:b" g dead
	id=$(rcli XRANGE "$p:a" - + COUNT 1 | head -n 1)
	for s in \
		"run -s $p:a --claim-idle 0 --zombie-idle 0" \
		"run -s $p:b --claim-idle 0 --no-clean --action redeliver --redeliver-to $p:retry" \
		"status -s $p:a" \
		"trace $p:a/$id" \
		"replay --run 1" \
		"rollback BATCH" \
		"release app -s $p:a --claim" \
		"run --match $p:* --claim-idle 0 --zombie-idle 0"; do
		case $s in
		rollback*) s="rollback $(sql "select max(batch) from replays" "$d")" ;;
		release*) crash_consumer "$p:a" g app ;;
		run\ --match*)
			# the redelivered copies read and acknowledged: this run settles them (XACK)
			for c in $(rcli XREADGROUP GROUP g w STREAMS "$p:retry" '>' | grep -E '^[0-9]+-[0-9]+$'); do
				rcli XACK "$p:retry" g "$c" >/dev/null
			done ;;
		esac
		# shellcheck disable=SC2086 # $s: the command's words
		if ! "$XR" -r "$u" --db "$d" $s >"$TMP/step.out" 2>"$TMP/step.err"; then
			echo "$s: $(grep -m1 -E 'NOPERM|xrecover:' "$TMP/step.err")"
			return 1
		fi
	done
}

all_commands() {
	[ "$(echo "$PERMS" | wc -l)" -gt 10 ] || fail "no ACL line in README.md"
	user xr
	steps full "redis://xr:pw@127.0.0.1:$REDIS_PORT" "$TMP"/full.db || fail "a step failed"
	# each did what it should, as that user
	assert_eq 3 "$(sql "select count(*) from events where kind = 'claim' and stream = 'full:a' and run = 1" "$TMP"/full.db)" "claims"
	assert_eq 1 "$(sql "select count(*) from events where kind = 'consumer_deleted' and consumer = 'zomb'" "$TMP"/full.db)" "zombie"
	assert_eq "rolled back" "$(sql "select status from replays where batch = (select max(batch) from replays)" "$TMP"/full.db)" "replay"
	assert_eq 2 "$(sql "select count(*) from events where kind = 'settled'" "$TMP"/full.db)" "settled"
	assert_eq 1 "$(sql "select count(*) from events where kind = 'consumer_deleted' and consumer = 'app'" "$TMP"/full.db)" "release"
	assert_eq 2 "$(rcli XLEN full:retry)" "redelivered"
	assert_eq 0 "$(rcli ACL LOG | grep -c NOPERM || true)" "refusals in ACL LOG"
}
test_case 'run, status, trace, replay, rollback and release all work as a user with exactly the ACL line of README.md' all_commands

minimal() {
	i=0
	for perm in $PERMS; do
		i=$((i + 1))
		user "m$i" "$perm"
		if failed=$(steps "m$i" "redis://m$i:pw@127.0.0.1:$REDIS_PORT" "$TMP/m$i.db"); then
			fail "without $perm every step still works: it is not needed"
		fi
		echo "without $perm: $failed"
	done
	echo "$i permissions, each needed"
}
test_case 'without any one of its permissions some step fails: the line is minimal' minimal

doctor_agrees() {
	user dr
	assert_exit 0 "$XR" -r "redis://dr:pw@127.0.0.1:$REDIS_PORT" --db "$TMP"/full.db doctor
	cat "$TMP"/out
	# the user may not ask ACL DRYRUN: each command was tried in a harmless form
	assert_grep "^ok +redis permissions: user 'dr' may run every command xrecover sends \\([0-9]+, checked by probes" "$TMP"/out
	listed=$(sed -n "s/^ok *redis permissions: .*): //p" "$TMP"/out)
	assert_eq "$(echo "$PERMS" | tr '\n' ' ' | sed 's/ $//')" "$listed" "doctor's list and README's"
	# one permission less: doctor names it and prints the line to give
	user dr2 +xclaim
	assert_exit 1 "$XR" -r "redis://dr2:pw@127.0.0.1:$REDIS_PORT" --db "$TMP"/full.db doctor
	assert_grep "^FAIL +redis permissions: user 'dr2' may not run \\(checked by probes on '[^']*'\\): xclaim -- ACL SETUSER dr2 on >PASSWORD " "$TMP"/out
}
test_case 'doctor lists the same permissions, finds them all by probes, and names one taken away' doctor_agrees

test_done
