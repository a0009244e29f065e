#!/bin/sh
# demo.sh: xrecover at work on a throwaway Redis (`make demo`).
set -eu
cd "$(dirname "$0")/.."
PATH=$PWD:$PATH
dir=$(mktemp -d /tmp/xrecover-demo.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export XRECOVER_REDIS_URL=redis://127.0.0.1:"$port"
export XRECOVER_DB="$dir"/journal.db

say() {
	if [ -t 1 ]; then
		printf '\n\033[1m==> %s\033[0m\n' "$*"
	else
		printf '\n==> %s\n' "$*"
	fi
}
run() {
	printf '$ %s\n' "$*"
	"$@"
}
r() {
	redis-cli -p "$port" "$@"
}

redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
	--daemonize no --logfile "$dir/redis.log" >/dev/null 2>&1 &
rpid=$!
trap 'kill $rpid 2>/dev/null || true' EXIT
i=0
until r ping >/dev/null 2>&1; do
	sleep 0.05
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "demo: redis-server did not start" >&2; exit 1; }
done

say "A throwaway redis-server on 127.0.0.1:$port, a stream 'orders' and a consumer group 'billing'"
for n in 1001 1002 1003 1004 1005 1006 1007 1008; do
	r XADD orders '*' order_id "$n" customer "cust-$((n % 7))" amount "$((n % 90)).99" >/dev/null
done
r XGROUP CREATE orders billing 0 >/dev/null
echo "8 orders added."

say "billing-host-1187 joined long ago and has nothing pending; billing-host-5001 works normally"
r XGROUP CREATECONSUMER orders billing billing-host-1187 >/dev/null
r XREADGROUP GROUP billing billing-host-5001 COUNT 2 STREAMS orders '>' >/dev/null
ids=$(r --raw XRANGE orders - + COUNT 2 | grep -E '^[0-9]+-[0-9]+$' | tr '\n' ' ')
# shellcheck disable=SC2086 # $ids: one argument per ID
r XACK orders billing $ids >/dev/null
echo "billing-host-5001 read and acknowledged 2 orders."

say "billing-host-3933260 reads 5 orders and crashes before acknowledging any"
r XREADGROUP GROUP billing billing-host-3933260 COUNT 5 STREAMS orders '>' >/dev/null
echo "Those 5 orders are now pending on a consumer that will never come back."

say "Time passes (the demo uses 2s thresholds instead of the defaults, 60s and 1h)"
sleep 2.5
r XREADGROUP GROUP billing billing-host-5001 COUNT 1 STREAMS orders '>' >/dev/null
id=$(r --raw XRANGE orders - + | grep -E '^[0-9]+-[0-9]+$' | sed -n 8p)
r XACK orders billing "$id" >/dev/null

say "What xrecover sees: the stale consumer's 5 entries, and a zombie"
run xrecover status --claim-idle 2s --zombie-idle 2s

say "One recovery pass: claim what is stale, delete what is dead, journal everything"
run xrecover run -s orders --claim-idle 2s --zombie-idle 2s

say "Afterwards: the 5 orders are held by the recovery consumer 'xrecover', nothing is lost;"
echo "billing-host-3933260 owned nothing after the claim and had been silent, so it went too."
run xrecover status --claim-idle 2s --zombie-idle 2s

say "A second pass changes nothing: held entries are not claimed again"
run xrecover run -s orders --claim-idle 2s --zombie-idle 2s

say "The journal is SQLite; its views answer questions with plain SQL"
run sqlite3 -header -column "$XRECOVER_DB" \
	"SELECT entry_id, from_consumer, deliveries, json_extract(payload, '\$.order_id') AS order_id, payload FROM claimed_messages"
run sqlite3 -header -column "$XRECOVER_DB" \
	"SELECT consumer, idle_ms, last_seen_at, pending FROM deleted_consumers"
run sqlite3 -header -column "$XRECOVER_DB" \
	"SELECT run, started_at, mode, status, claimed, deleted, lost FROM runs"

say "The incident: everything about the consumer that stopped, earliest first"
inc=$(sqlite3 "$XRECOVER_DB" "SELECT max(incident) FROM incidents")
run xrecover report --incident "$inc"

say "Give the 5 orders back to the live consumers, then take the copies back before anyone reads them"
run xrecover replay --incident "$inc"
run xrecover rollback 1

say "Today's compliance report (also as --format md, json, csv, or html with charts)"
run xrecover report --daily --date "$(date -u +%Y-%m-%d)"

say "The journal is one hash chain: proven whole"
run xrecover verify

say "Done. Redis is stopped; the journal stays at $XRECOVER_DB"
