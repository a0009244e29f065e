#!/bin/sh
# t0022-metrics: `run --metrics-file` writes the Prometheus text format:
# every line a comment, blank or a sample, HELP and TYPE for each family,
# label values escaped; counters are the journal's totals and never go
# back; gauges are what Redis says; the file is replaced whole, by a
# rename; a file that cannot be written fails the run with code 10, the
# run journalled all the same.
# Case bodies are single-quoted and expanded by test_case.
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis

M=$TMP/m/xrecover.prom
mkdir -p "$TMP"/m
# A stream name as hostile as Redis allows: a quote, a backslash, a newline.
HOSTILE=$(printf 'h"o\\st\nile')
export M HOSTILE

# The journal's counts from its views, beside the shared parser of the
# text format (prom_parser in lib.sh).
prom_parser
cat >"$TMP"/prom.py <<'EOF'
import sqlite3, sys
import promtext
from promtext import die, parse

COUNTS = {
    'xrecover_claimed_total': 'SELECT stream, grp, count(*) FROM claimed_messages GROUP BY 1, 2',
    'xrecover_deleted_consumers_total': 'SELECT stream, grp, count(*) FROM deleted_consumers GROUP BY 1, 2',
    'xrecover_lost_total': 'SELECT stream, grp, count(*) FROM lost_messages GROUP BY 1, 2',
    'xrecover_dead_lettered_total': 'SELECT stream, grp, count(*) FROM dead_letters GROUP BY 1, 2',
    'xrecover_redelivered_total': 'SELECT stream, grp, count(*) FROM copy_events WHERE run IS NOT NULL GROUP BY 1, 2',
}

cmd = sys.argv[1]
fams = parse(sys.argv[2])
if cmd in ('check', 'get'):
    promtext.main(sys.argv[1:])
elif cmd == 'journal':
    # Every counter equals the journal's count, for every group the journal
    # or the file names.
    db = sqlite3.connect('file:%s?mode=ro' % sys.argv[3], uri=True)
    n = 0
    for fam, q in COUNTS.items():
        if fams.get(fam, {}).get('type') != 'counter':
            die('%s is not a counter' % fam)
        want = {(s, g): c for s, g, c in db.execute(q)}
        got = {(dict(k)['stream'], dict(k)['group']): v for k, v in fams[fam]['samples']}
        for key in set(want) | set(got):
            if want.get(key, 0) != got.get(key, 0) or (key in want and key not in got):
                die('%s%r: journal %s, file %s' % (fam, key, want.get(key), got.get(key)))
            n += 1
    print(n)
elif cmd == 'monotonic':
    # Every counter series of the older file is in this one, not smaller.
    old = parse(sys.argv[3])
    n = 0
    for fam, f in old.items():
        if f.get('type') != 'counter':
            continue
        for k, v in f['samples']:
            now = dict(fams[fam]['samples']).get(k)
            if now is None or now < v:
                die('%s%r went from %s to %s' % (fam, k, v, now))
            n += 1
    print(n)
EOF

prom() {
	python3 "$TMP"/prom.py "$@"
}

# pending ST GROUP: XPENDING's count; held ST GROUP: the recovery consumer's
pending() {
	rcli XPENDING "$1" "$2" | head -n 1
}
held() {
	rcli XPENDING "$1" "$2" - + 1000000 xrecover | grep -c '^xrecover$' || true
}

three_runs() {
	# run 1: claims (and losses) in "work" and the hostile stream, a zombie deleted
	make_stream work g 20
	crash_consumer work g dead 12
	rcli XDEL work "$(rcli --raw XRANGE work - + COUNT 1 | head -n 1)" >/dev/null
	make_stream "$HOSTILE" g 5
	crash_consumer "$HOSTILE" g dead 5
	rcli XGROUP CREATECONSUMER work g idle >/dev/null
	xr run -s work -s "$HOSTILE" --claim-idle 0 --zombie-idle 0 --metrics-file "$M" 2>"$TMP"/log1
	prom check "$M" >/dev/null
	cp "$M" "$TMP"/m1
	assert_eq 11 "$(prom get "$M" xrecover_claimed_total work g)"
	assert_eq 1 "$(prom get "$M" xrecover_lost_total work g)"
	assert_eq 5 "$(prom get "$M" xrecover_claimed_total "$HOSTILE" g)"
	[ "$(prom get "$M" xrecover_deleted_consumers_total work g)" -ge 1 ] ||
		fail "no consumer deleted"
	echo "journal: $(prom journal "$M" "$DB") counters match"
	# run 2: dead letters
	make_stream dl g 7
	crash_consumer dl g dead
	xr run -s dl --claim-idle 0 --no-clean --action dead-letter --metrics-file "$M" 2>"$TMP"/log2
	cp "$M" "$TMP"/m2
	assert_eq 7 "$(prom get "$M" xrecover_dead_lettered_total dl g)"
	prom journal "$M" "$DB" >/dev/null
	prom monotonic "$M" "$TMP"/m1 >/dev/null
	# run 1's groups, not in this run, keep their totals
	assert_eq 11 "$(prom get "$M" xrecover_claimed_total work g)"
	assert_eq none "$(prom get "$M" xrecover_pending work g)"
	# run 3: redelivered copies
	make_stream rd g 9
	crash_consumer rd g dead
	xr run -s rd --claim-idle 0 --no-clean --action redeliver --metrics-file "$M" 2>"$TMP"/log3
	cp "$M" "$TMP"/m3
	assert_eq 9 "$(prom get "$M" xrecover_redelivered_total rd g)"
	prom journal "$M" "$DB" >/dev/null
	prom monotonic "$M" "$TMP"/m2 >/dev/null
	# each kind of counter seen above 0 somewhere
	assert_eq 1 "$(sql "select count(*) > 0 from lost_messages")"
	assert_eq 1 "$(sql "select count(*) > 0 from deleted_consumers")"
	# the gauges are what Redis says now
	assert_eq "$(pending rd g)" "$(prom get "$M" xrecover_pending rd g)"
	assert_eq "$(held rd g)" "$(prom get "$M" xrecover_held rd g)"
	assert_eq 0 "$(prom get "$M" xrecover_claim_idle_seconds rd g)"
	assert_eq 1 "$(prom get "$M" xrecover_last_run_success)"
	run=$(sql "select max(run) from runs")
	ended=$(sql "select ts from events where kind = 'run_end' and run = $run")
	t=$(prom get "$M" xrecover_last_run_timestamp_seconds)
	python3 -c "import sys; sys.exit(abs($t * 1000 - $ended) > 2000)" ||
		fail "last run at $t, run_end at $ended ms"
	assert_eq "$(sql "select page_count * page_size from pragma_page_count(), pragma_page_size()")" \
		"$(prom get "$M" xrecover_journal_size_bytes)"
	# the outbox's families: nothing raised here
	for f in xrecover_alerts_sent_total xrecover_alerts_failed_total xrecover_alerts_pending; do
		assert_eq 0 "$(prom get "$M" $f)"
	done
	stat -c %a "$M" >"$TMP"/mode
	assert_grep '^644$' "$TMP"/mode
}
test_case 'three runs: counters equal the journal and never go back; gauges equal XPENDING' three_runs

gauges_of_the_run() {
	# The hostile stream again, with entries left pending on a live consumer.
	"$XRTEST" fill "$REDIS_URL" "$HOSTILE" 4 >/dev/null
	crash_consumer "$HOSTILE" g alive
	xr run -s "$HOSTILE" --claim-idle 1h --metrics-file "$M" 2>/dev/null
	prom check "$M" >/dev/null
	assert_eq "$(pending "$HOSTILE" g)" "$(prom get "$M" xrecover_pending "$HOSTILE" g)"
	assert_eq "$(held "$HOSTILE" g)" "$(prom get "$M" xrecover_held "$HOSTILE" g)"
	[ "$(pending "$HOSTILE" g)" -gt "$(held "$HOSTILE" g)" ] || fail "nothing left pending"
	assert_eq 3600 "$(prom get "$M" xrecover_claim_idle_seconds "$HOSTILE" g)"
}
test_case 'gauges of a group as the run left it; the threshold it used' gauges_of_the_run

stale_left() {
	# gone died holding 3 entries; busy holds 3 old ones but reads again
	# just before the run: not silent, so its old entries stay, stale.
	make_stream sl g 20
	crash_consumer sl g gone 3
	crash_consumer sl g busy 3
	# (3 s thresholds: what busy reads next stays younger on a loaded machine too)
	sleep 3.5
	crash_consumer sl g busy 1
	xr run -s sl --claim-idle 3s --only-silent-consumers --metrics-file "$M" 2>/dev/null
	assert_eq 3 "$(sql "select count(*) from claimed_messages where stream = 'sl'")"
	assert_eq 3 "$(prom get "$M" xrecover_stale sl g)"
	assert_eq 3 "$(prom get "$M" xrecover_held sl g)"
	assert_eq 7 "$(prom get "$M" xrecover_pending sl g)"
	# without --only-silent-consumers busy's old entries are claimed: none left stale
	xr run -s sl --claim-idle 3s --metrics-file "$M" 2>/dev/null
	assert_eq 0 "$(prom get "$M" xrecover_stale sl g)"
	[ "$(prom get "$M" xrecover_held sl g)" -ge 6 ] || fail "busy's old entries not claimed"
	# --no-claim lists nothing: no stale sample
	xr run -s sl --no-claim --metrics-file "$M" 2>/dev/null
	assert_eq none "$(prom get "$M" xrecover_stale sl g)"
}
test_case 'stale: entries past the threshold left on a consumer that is not silent' stale_left

hostile_label() {
	# The label as the format wants it, byte for byte...
	grep -F 'xrecover_claimed_total{stream="h\"o\\st\nile",group="g"} ' "$M" >/dev/null ||
		{ grep claimed_total "$M" >&2; fail "the hostile name is not escaped as the format says"; }
	# ...and the parser reads the name back whole.
	assert_eq 5 "$(prom get "$M" xrecover_claimed_total "$HOSTILE" g)"
}
test_case 'a stream name with a quote, a backslash and a newline is escaped and reads back' hostile_label

replaced_whole() {
	# A reader reads the file over and over while 50 runs replace it.
	cat >"$TMP"/reader.py <<'EOF'
import os, sys
path, stop = sys.argv[1], sys.argv[2]
reads = 0
while not os.path.exists(stop):
    try:
        data = open(path, 'rb').read()
    except FileNotFoundError:
        continue
    reads += 1
    if not data.endswith(b'\n') or b'\nxrecover_journal_size_bytes ' not in data:
        print('partial file after %d reads: %d bytes' % (reads, len(data)))
        sys.exit(1)
print('reads=%d' % reads)
EOF
	python3 "$TMP"/reader.py "$M" "$TMP"/stop >"$TMP"/reader 2>&1 &
	reader=$!
	i=0
	inodes=""
	while [ $i -lt 50 ]; do
		xr run -s work --claim-idle 1h --metrics-file "$M" 2>/dev/null
		inodes="$inodes $(stat -c %i "$M")"
		i=$((i + 1))
	done
	touch "$TMP"/stop
	wait "$reader" || { cat "$TMP"/reader >&2; fail "the reader saw a partial file"; }
	cat "$TMP"/reader
	# a new file each time (renamed over the old one), and no temporary left behind
	assert_eq 50 "$(echo "$inodes" | tr ' ' '\n' | grep -c .)"
	[ "$(echo "$inodes" | tr ' ' '\n' | grep . | uniq | wc -l)" -ge 49 ] ||
		fail "the file was written in place: inodes$inodes"
	ls -A "$TMP"/m >"$TMP"/left
	assert_lines 1 "$TMP"/left
	prom check "$M" >/dev/null
}
test_case 'fifty runs replace the file by a rename: a reader never sees half of it' replaced_whole

unwritable() {
	before=$(sql "select count(*) from runs")
	assert_exit 10 xr run -s work --claim-idle 1h --metrics-file "$TMP"/no-such-dir/m.prom
	assert_grep "xrecover: --metrics-file: cannot write '.*/no-such-dir/m.prom': No such file or directory" "$TMP"/err
	# the run is done and journalled all the same
	assert_eq $((before + 1)) "$(sql "select count(*) from runs")"
	assert_eq ok "$(sql "select status from runs order by run desc limit 1")"
	# --json says so too
	assert_exit 10 xr --json run -s work --claim-idle 1h --metrics-file "$TMP"/no-such-dir/m.prom
	assert_grep '"exit_code":10' "$TMP"/out
	# a dry run writes nothing
	xr run -s work -n --metrics-file "$TMP"/dry.prom 2>/dev/null
	[ ! -e "$TMP"/dry.prom ] || fail "a dry run wrote metrics"
}
test_case 'a metrics file that cannot be written: exit 10, the run journalled' unwritable

failed_run() {
	# Redis gone: the run is journalled as failed, and the file says so.
	assert_exit 3 "$XR" -r redis://127.0.0.1:"$(free_port)" --db "$DB" --connect-timeout 1s \
		run -s work --metrics-file "$M"
	assert_eq failed "$(sql "select status from runs order by run desc limit 1")"
	prom check "$M" >/dev/null
	assert_eq 0 "$(prom get "$M" xrecover_last_run_success)"
	prom journal "$M" "$DB" >/dev/null
	assert_eq none "$(prom get "$M" xrecover_pending work g)"
	# a run refused before it starts (the journal locked) leaves the file alone
	cp "$M" "$TMP"/before
	: >"$DB.lock"
	hold_lock "$DB.lock" 2
	assert_exit 5 xr run -s work --lock-timeout 100ms --metrics-file "$M"
	wait "$HOLDER"
	cmp "$M" "$TMP"/before || fail "a run that never started wrote the file"
}
test_case 'a failed run: last_run_success 0, the totals still there; a locked journal: no file' failed_run

from_config() {
	printf '{"metrics_file": "%s"}\n' "$TMP/cfg.prom" >"$TMP"/c.json
	xr -c "$TMP"/c.json run -s work --claim-idle 1h 2>/dev/null
	prom check "$TMP"/cfg.prom >/dev/null
	prom journal "$TMP"/cfg.prom "$DB" >/dev/null
}
test_case 'metrics_file in the config' from_config

consumers_gauge() {
	# dead read first and went quiet; r1 and r2 read just before the run and hold entries
	make_stream cg g 10
	# (5 s thresholds: r1 and r2 stay below them on a loaded machine too)
	crash_consumer cg g dead 2
	sleep 6
	crash_consumer cg g r1 2
	crash_consumer cg g r2 2
	xr run -s cg --claim-idle 5s --zombie-idle 5s --metrics-file "$M" 2>/dev/null
	assert_eq 1 "$(prom get "$M" xrecover_deleted_consumers_total cg g)"
	# XINFO CONSUMERS: r1, r2 and the recovery consumer, which is not counted
	assert_eq 3 "$(rcli XINFO CONSUMERS cg g | grep -c '^name$')"
	assert_eq 2 "$(prom get "$M" xrecover_consumers cg g)"
	# a run that did not clean read no consumers: no sample
	xr run -s cg --claim-idle 1h --no-clean --metrics-file "$M" 2>/dev/null
	assert_eq none "$(prom get "$M" xrecover_consumers cg g)"
}
test_case 'xrecover_consumers: the consumers the run left, the recovery consumer not counted' consumers_gauge

last_verify() {
	V=$TMP/v/j.db
	mkdir -p "$TMP"/v
	cp "$DB" "$V"
	vrun() {
		"$XR" -r "$REDIS_URL" --db "$V" run -s cg --claim-idle 1h --no-clean \
			--metrics-file "$M" 2>/dev/null
	}
	# never verified: no series
	vrun
	assert_eq none "$(prom get "$M" xrecover_journal_verify_ok)"
	assert_eq none "$(prom get "$M" xrecover_journal_verify_timestamp_seconds)"
	# verified whole: ok 1, when, and the record beside the journal (0600)
	"$XR" --db "$V" verify >/dev/null
	vrun
	prom check "$M" >/dev/null
	assert_eq 1 "$(prom get "$M" xrecover_journal_verify_ok)"
	t1=$(prom get "$M" xrecover_journal_verify_timestamp_seconds)
	python3 -c "import sys, time; sys.exit(abs($t1 - time.time()) > 30)" ||
		fail "verified at $t1"
	assert_eq 600 "$(stat -c %a "$V".verified)"
	assert_eq whole "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' "$V".verified)"
	# a changed event: verify exits 7, and the metrics say 0, a later time
	sqlite3 "$V" "DROP TRIGGER events_append_only_update; DROP TRIGGER events_hash_once;
		UPDATE events SET consumer = 'someone' WHERE seq = 3"
	sleep 1.1
	assert_exit 7 "$XR" --db "$V" verify
	vrun
	assert_eq 0 "$(prom get "$M" xrecover_journal_verify_ok)"
	t2=$(prom get "$M" xrecover_journal_verify_timestamp_seconds)
	python3 -c "import sys; sys.exit(not $t2 > $t1)" || fail "verified at $t2, before at $t1"
	assert_eq changed "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' "$V".verified)"
}
test_case 'the last verify: no record, no series; whole, ok 1; a changed event, ok 0' last_verify

test_done
