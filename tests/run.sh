#!/bin/sh
# run.sh [PATTERN]: runs the unit tests and every tests/tNNNN-*.sh (those
# whose name contains PATTERN, if given), two at a time, and ends with one
# line: "N passed, N failed[, N skipped]".  Exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.." || exit
XR_BUILD=${XR_BUILD:-build/rel}
export XR_BUILD XR_SANITIZE="${XR_SANITIZE:-}"
jobs=${XR_JOBS:-2}
out=$(mktemp -d /tmp/xr-run.XXXXXX)
pattern=${1:-}

scripts=""
for t in tests/t[0-9][0-9][0-9][0-9]-*.sh; do
	case $t in *"$pattern"*) scripts="$scripts $t" ;; esac
done

start=$(date +%s)

# The unit tests: one binary, TAP lines.
if [ -z "$pattern" ] || [ "$pattern" = unit ]; then
	if [ -n "$XR_SANITIZE" ]; then
		ASAN_OPTIONS=exitcode=86 UBSAN_OPTIONS=halt_on_error=1:exitcode=86:print_stacktrace=1 \
			"$XR_BUILD/unit" >"$out/unit.out" 2>&1
	else
		"$XR_BUILD/unit" >"$out/unit.out" 2>&1
	fi
	rc=$?
	cat "$out/unit.out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out/unit.out"; then
		echo "not ok - unit test binary exited with $rc" >>"$out/unit.out"
		echo "not ok - unit test binary exited with $rc"
	fi
fi

# The scripts, $jobs at a time; each one's output is printed when it ends.
running=""
run_one() {
	sh "$1" >"$out/$(basename "$1").out" 2>&1
}
for t in $scripts; do
	while [ "$(echo "$running" | wc -w)" -ge "$jobs" ]; do
		still=""
		for pid in $running; do
			if kill -0 "$pid" 2>/dev/null; then still="$still $pid"; fi
		done
		running=$still
		[ "$(echo "$running" | wc -w)" -ge "$jobs" ] && sleep 0.2
	done
	run_one "$t" &
	running="$running $!"
	eval "name_$!=$t"
done
wait

for t in $scripts; do
	f="$out/$(basename "$t").out"
	echo "# --- $t"
	cat "$f"
	if ! grep -q '^# t[0-9]*-.*: [0-9]* passed' "$f"; then
		echo "not ok - $t ended without its summary"
		echo "not ok - $t ended without its summary" >>"$f"
	fi
done

pass=$(cat "$out"/*.out | grep -c '^ok .*' || true)
skip=$(cat "$out"/*.out | grep -c '^ok .*# SKIP' || true)
failn=$(cat "$out"/*.out | grep -c '^not ok' || true)
pass=$((pass - skip))
rm -rf "$out"
echo "# $(( $(date +%s) - start ))s"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $failn failed, $skip skipped"
else
	echo "$pass passed, $failn failed"
fi
[ "$failn" -eq 0 ] && [ "$pass" -gt 0 ]
