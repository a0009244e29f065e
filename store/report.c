/* report.c: the reports' queries (see report.h). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "journal.h"
#include "report.h"

/* Events other than copies, which copy_events lists one row each (schema/005_copies.sql). */
#define NOT_COPIES " AND kind NOT IN ('replay_copy', 'replay_copies')"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

#define HOUR_MS 3600000LL

/* ------------------------------------------------------------------ rows */

void
rows_free(struct rows *rs)
{
	for (size_t i = 0; i < rs->nrows * rs->ncols; i++)
		free(rs->v[i].s);
	for (size_t i = 0; i < rs->ncols; i++)
		free(rs->names[i]);
	free(rs->names);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

const struct rval *
rows_at(const struct rows *rs, size_t row, size_t col)
{
	return &rs->v[row * rs->ncols + col];
}

int64_t
rows_int(const struct rows *rs, size_t row, size_t col)
{
	return rows_at(rs, row, col)->i;
}

const char *
rows_text(const struct rows *rs, size_t row, size_t col)
{
	return rows_at(rs, row, col)->s;
}

/* The columns' names of st, the first time. */
static void
rows_start(struct rows *rs, sqlite3_stmt *st)
{
	rs->ncols = (size_t)sqlite3_column_count(st);
	rs->names = xcalloc(rs->ncols, sizeof(*rs->names));
	for (size_t i = 0; i < rs->ncols; i++)
		rs->names[i] = xstrdup(sqlite3_column_name(st, (int)i));
}

/* The row st stands on, added to rs. */
static void
rows_add(struct rows *rs, sqlite3_stmt *st)
{
	struct rval *v;

	if (rs->nrows == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		rs->v = xrealloc(rs->v, rs->cap * rs->ncols * sizeof(*rs->v));
	}
	v = &rs->v[rs->nrows++ * rs->ncols];
	for (size_t i = 0; i < rs->ncols; i++) {
		/* the type first: reading the value may convert it */
		int type = sqlite3_column_type(st, (int)i);
		const char *s;

		v[i].type = type == SQLITE_NULL ? RV_NULL : type == SQLITE_INTEGER ? RV_INT : RV_TEXT;
		v[i].i = sqlite3_column_int64(st, (int)i);
		v[i].s = NULL;
		if (v[i].type != RV_TEXT)
			continue;
		/* an empty blob has no text: NULL */
		if ((s = (const char *)sqlite3_column_text(st, (int)i)) != NULL)
			v[i].s = xstrdup(s);
		else
			v[i].type = RV_NULL;
	}
}

/* ------------------------------------------------------------- queries */

static sqlite3_stmt *
prep(struct journal *j, const char *sql, struct xerr *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(journal_db(j), sql, -1, &st, NULL) != SQLITE_OK) {
		DB_ERR(j, err, "reading a report");
		return NULL;
	}
	return st;
}

static int
done(struct journal *j, sqlite3_stmt *st, int rc, struct xerr *err)
{
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return DB_ERR(j, err, "reading a report");
	return 0;
}

/* Runs sql with ?1 .. ?n bound to v[0 .. n): every row it returns, into ret. */
static int
query(struct journal *j, const char *sql, int n, const int64_t *v, struct rows *ret,
    struct xerr *err)
{
	sqlite3_stmt *st = prep(j, sql, err);
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (st == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	rows_start(ret, st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rows_add(ret, st);
	return done(j, st, rc, err);
}

/* A query over a span: ?1, ?2 its seq range, ?3, ?4 its times. */
static int
span_query(struct journal *j, const char *sql, const struct rspan *sp, struct rows *ret,
    struct xerr *err)
{
	return query(j, sql, 4, (int64_t[]){sp->from, sp->to, sp->start, sp->end}, ret, err);
}

/* The first seq whose event is at or after t (max + 1 when none). */
static int
first_at(struct journal *j, int64_t lo, int64_t hi, int64_t t, int64_t *ret, struct xerr *err)
{
	sqlite3_stmt *st = prep(j, "SELECT seq, ts FROM events WHERE seq >= ?1 ORDER BY seq LIMIT 1",
	    err);

	if (st == NULL)
		return -1;
	/* Binary search over seq: events are appended in time order. */
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		int rc;

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, mid);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && sqlite3_column_int64(st, 1) < t)
			lo = sqlite3_column_int64(st, 0) + 1;
		else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			hi = mid;
		else
			return done(j, st, rc, err);
	}
	sqlite3_finalize(st);
	*ret = lo;
	return 0;
}

int
journal_time_range(struct journal *j, int64_t start_ms, int64_t end_ms, int64_t *ret_from,
    int64_t *ret_to, struct xerr *err)
{
	/* Each bound its own subquery: SQLite then reads one end of the table for it. */
	sqlite3_stmt *st = prep(j, "SELECT coalesce((SELECT min(seq) FROM events), 1),"
	    " coalesce((SELECT max(seq) FROM events), 0)", err);
	int64_t lo, hi, from, to;
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	lo = sqlite3_column_int64(st, 0);
	hi = sqlite3_column_int64(st, 1);
	if (done(j, st, rc, err) < 0)
		return -1;
	/*
	 * An hour either side, so that a clock stepped back a little cannot
	 * hide an event; the queries then filter on ts exactly.
	 */
	if (first_at(j, lo, hi + 1, start_ms - HOUR_MS, &from, err) < 0 ||
	    first_at(j, lo, hi + 1, end_ms + HOUR_MS, &to, err) < 0)
		return -1;
	*ret_from = from;
	*ret_to = to - 1;
	return 0;
}

/* ---------------------------------------------------------------- daily */

int
rq_day_events(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err)
{
	return span_query(j, "SELECT min(seq) AS first, max(seq) AS last FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4", sp, ret, err);
}

int
rq_day_runs(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err)
{
	return span_query(j,
	    "SELECT s.run, s.ts, coalesce(json_extract(e.detail, '$.status'), 'running'),"
	    "  json_extract(e.detail, '$.error'), json_extract(s.detail, '$.mode')"
	    " FROM events s LEFT JOIN events e ON e.kind = 'run_end' AND e.run = s.run"
	    " WHERE s.seq BETWEEN ?1 AND ?2 AND s.ts >= ?3 AND s.ts < ?4 AND s.kind = 'run_start'"
	    " ORDER BY s.seq", sp, ret, err);
}

int
rq_day_groups(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err)
{
	return span_query(j,
	    "SELECT stream, grp, sum(kind = 'claim'), sum(kind = 'claim_reconciled'),"
	    "  sum(kind = 'lost'), sum(kind = 'consumer_deleted'), sum(kind = 'dead_lettered'),"
	    "  sum(kind = 'replay_copy'), sum(kind = 'settled'), sum(kind = 'copy_removed'),"
	    "  sum(kind = 'incident_opened')"
	    " FROM (SELECT stream, grp, kind FROM events"
	    "  WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4" NOT_COPIES
	    " UNION ALL SELECT stream, grp, 'replay_copy' FROM copy_events"
	    "  WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4)"
	    " WHERE stream IS NOT NULL AND grp IS NOT NULL"
	    " GROUP BY stream, grp ORDER BY stream, grp", sp, ret, err);
}

int
rq_day_incidents(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err)
{
	return span_query(j, "SELECT incident, stream, grp, consumer, opened_ms, claimed, lost,"
	    " deleted_at FROM incidents WHERE incident BETWEEN ?1 AND ?2 AND opened_ms >= ?3"
	    " AND opened_ms < ?4 ORDER BY incident", sp, ret, err);
}

int
rq_day_replays(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err)
{
	return span_query(j, "SELECT batch, started_at, user, target, copied, settled, removed,"
	    " status FROM replays WHERE batch IN (SELECT batch FROM events WHERE seq BETWEEN ?1"
	    " AND ?2 AND ts >= ?3 AND ts < ?4 AND kind = 'replay_start') ORDER BY batch", sp, ret,
	    err);
}

int
rq_day_rollbacks(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err)
{
	return span_query(j, "SELECT batch, ts, json_extract(detail, '$.removed'),"
	    "  json_extract(detail, '$.already_read') FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4 AND kind = 'rollback'"
	    " ORDER BY seq", sp, ret, err);
}

int
rq_day_claims_per_hour(struct journal *j, const struct rspan *sp, struct rows *ret,
    struct xerr *err)
{
	return span_query(j,
	    "SELECT stream, (ts - ?3) / 3600000, count(*) FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4"
	    " AND kind IN ('claim', 'claim_reconciled') GROUP BY 1, 2 ORDER BY 1, 2", sp, ret, err);
}

int
rq_day_pending(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err)
{
	return span_query(j,
	    "SELECT e.ts, json_extract(p.value, '$.stream') || '/' || json_extract(p.value, '$.group'),"
	    "  json_extract(p.value, '$.pending')"
	    " FROM events e, json_each(e.detail, '$.pending') p"
	    " WHERE e.seq BETWEEN ?1 AND ?2 AND e.ts >= ?3 AND e.ts < ?4 AND e.kind = 'run_end'"
	    " ORDER BY e.seq", sp, ret, err);
}

/* ------------------------------------------------------------ incidents */

#define INC_SELECT \
	"SELECT incident, stream, grp, consumer, opened_at, last_seen_at, runs, claimed, lost," \
	" dead_lettered, replayed, settled, deleted_at FROM incidents"

int
rq_incidents(struct journal *j, int64_t from, int64_t to, int64_t since, int64_t until,
    struct rows *ret, struct xerr *err)
{
	return query(j, INC_SELECT " WHERE incident BETWEEN ?1 AND ?2"
	    " AND (?3 = 0 OR opened_ms >= ?3) AND (?4 = 0 OR opened_ms < ?4) ORDER BY incident", 4,
	    (int64_t[]){from, to, since, until}, ret, err);
}

int
rq_incident(struct journal *j, int64_t id, struct rows *ret, struct xerr *err)
{
	return query(j, INC_SELECT " WHERE incident = ?1", 1, &id, ret, err);
}

/*
 * What became of the entries is followed through their copies
 * (entry_fates, schema/006_fates.sql): the claims of the chains are its
 * nodes.
 */
int
rq_incident_timeline(struct journal *j, int64_t id, struct rows *ret, struct xerr *err)
{
	return query(j,
	    "WITH node(seq, depth) AS (SELECT seq, max(depth) FROM ("
	    "  SELECT seq, 0 AS depth FROM events"
	    "   WHERE incident = ?1 AND kind IN ('claim', 'claim_reconciled')"
	    "  UNION ALL SELECT json_extract(n.value, '$[0]'), n.key"
	    "   FROM events c JOIN entry_fates f ON f.seq = c.seq, json_each(f.chain) n"
	    "   WHERE c.incident = ?1 AND c.kind IN ('claim', 'claim_reconciled') AND n.key > 0"
	    "   AND EXISTS (SELECT 1 FROM copied y WHERE y.entry_ms = c.entry_ms"
	    "    AND y.entry_seq = c.entry_seq AND y.stream = c.stream AND y.grp = c.grp"
	    "    AND y.seq > c.seq)) GROUP BY seq),"
	    " nc AS (SELECT c.*, node.depth FROM node JOIN events c ON c.seq = node.seq)"
	    "SELECT at, event, n, detail FROM ("
	    " SELECT max(CASE WHEN idle_ms IS NOT NULL THEN ts - idle_ms END) AS at,"
	    "  'consumer last active' AS event, NULL AS n, 'its newest delivery' AS detail, 0 AS o"
	    "  FROM events WHERE incident = ?1 AND kind IN ('claim', 'claim_reconciled')"
	    " UNION ALL SELECT ts, 'incident opened', NULL, 'run ' || run, 1 FROM events WHERE seq = ?1"
	    " UNION ALL SELECT min(ts), CASE kind WHEN 'lost' THEN 'lost' ELSE 'claimed' END, count(*),"
	    "  'run ' || run || ', deliveries ' || min(deliveries) || '-' || max(deliveries), 2"
	    "  FROM events WHERE incident = ?1 AND kind IN ('claim', 'claim_reconciled', 'lost')"
	    "  GROUP BY run, kind = 'lost'"
	    " UNION ALL SELECT min(ts), 'copy claimed', count(*), 'run ' || run, 3"
	    "  FROM nc WHERE depth > 0 GROUP BY run"
	    " UNION ALL SELECT min(x.ts), CASE x.kind"
	    "   WHEN 'copy_removed' THEN 'copy rolled back' WHEN 'taken' THEN 'taken by a consumer'"
	    "   ELSE x.kind END, count(*),"
	    "  CASE WHEN x.batch IS NOT NULL THEN 'batch ' || x.batch"
	    "   WHEN x.ref_stream IS NOT NULL THEN 'to ' || x.ref_stream ELSE 'by ' || x.consumer END, 3"
	    "  FROM nc c JOIN events x ON x.entry_ms = c.entry_ms AND x.entry_seq = c.entry_seq"
	    "   AND x.stream = c.stream AND x.grp = c.grp AND x.seq > c.seq"
	    "  WHERE x.kind IN ('settled', 'dead_lettered', 'copy_removed', 'taken')"
	    "  GROUP BY x.kind, x.batch, x.ref_stream, x.consumer"
	    " UNION ALL SELECT min(e.ts), 'replayed', count(*), 'batch ' || y.batch, 3"
	    "  FROM nc c JOIN copied y ON y.entry_ms = c.entry_ms AND y.entry_seq = c.entry_seq"
	    "   AND y.stream = c.stream AND y.grp = c.grp AND y.seq > c.seq"
	    "  JOIN events e ON e.seq = y.seq"
	    "  GROUP BY y.batch"
	    " UNION ALL SELECT ts, 'consumer deleted', NULL, 'idle ' || idle_ms || ' ms', 4"
	    "  FROM events WHERE incident = ?1 AND kind = 'consumer_deleted'"
	    ") WHERE at IS NOT NULL ORDER BY at, o", 1, &id, ret, err);
}

int
rq_incident_entries(struct journal *j, int64_t id, int64_t limit, struct rows *ret,
    struct xerr *err)
{
	return query(j,
	    "SELECT entry_ms || '-' || entry_seq, ts, run, seq, payload FROM events"
	    " WHERE incident = ?1 AND kind IN ('claim', 'claim_reconciled', 'lost')"
	    " ORDER BY seq LIMIT ?2", 2,
	    (int64_t[]){id, limit}, ret, err);
}

/* ------------------------------------------------------------------ run */

int
rq_run(struct journal *j, int64_t run, struct rows *ret, struct xerr *err)
{
	return query(j,
	    "SELECT run, started_at, ended_at, duration_ms, mode, mode_reason, status, claimed,"
	    "  reconciled, deleted, lost, dead_lettered, redelivered, settled, groups, error, host,"
	    "  user, pid, version, options,"
	    "  (SELECT seq FROM events WHERE kind = 'run_start' AND run = ?1),"
	    "  (SELECT seq FROM events WHERE kind = 'run_end' AND run = ?1)"
	    " FROM runs WHERE run = ?1", 1, &run, ret, err);
}

int
rq_run_groups(struct journal *j, int64_t run, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err)
{
	return query(j,
	    "SELECT stream, grp, sum(kind = 'claim'), sum(kind = 'claim_reconciled'),"
	    "  sum(kind = 'lost'), sum(kind = 'consumer_deleted'), sum(kind = 'dead_lettered'),"
	    "  sum(kind = 'replay_copy'), sum(kind = 'settled'), count(DISTINCT incident)"
	    " FROM (SELECT stream, grp, kind, incident FROM events"
	    "  WHERE seq BETWEEN ?1 AND ?2 AND run = ?3" NOT_COPIES
	    " UNION ALL SELECT stream, grp, 'replay_copy', NULL FROM copy_events"
	    "  WHERE seq BETWEEN ?1 AND ?2 AND run = ?3)"
	    " WHERE stream IS NOT NULL AND grp IS NOT NULL GROUP BY stream, grp ORDER BY stream, grp",
	    3, (int64_t[]){from, to, run}, ret, err);
}

int
rq_run_errors(struct journal *j, int64_t run, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err)
{
	return query(j, "SELECT stream, grp, json_extract(detail, '$.error') FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND run = ?3 AND kind = 'error' ORDER BY seq", 3,
	    (int64_t[]){from, to, run}, ret, err);
}

/* -------------------------------------------------------------- metrics */

int
rq_metrics_groups(struct journal *j, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err)
{
	/* One pass over the events for four counters; no scan per group. */
	return query(j,
	    "SELECT stream, grp, sum(kind IN ('claim', 'claim_reconciled')),"
	    "  sum(kind = 'consumer_deleted'), sum(kind = 'lost'), sum(kind = 'dead_lettered')"
	    " FROM events"
	    " WHERE kind IN ('claim', 'claim_reconciled', 'consumer_deleted', 'lost', 'dead_lettered')"
	    "  AND stream IS NOT NULL AND grp IS NOT NULL AND seq BETWEEN ?1 AND ?2"
	    " GROUP BY stream, grp ORDER BY stream, grp", 2, (int64_t[]){from, to}, ret, err);
}

int
rq_metrics_redelivered(struct journal *j, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err)
{
	return query(j,
	    "SELECT stream, grp, count(*) FROM copy_events"
	    " WHERE run IS NOT NULL AND stream IS NOT NULL AND grp IS NOT NULL"
	    "  AND seq BETWEEN ?1 AND ?2"
	    " GROUP BY stream, grp ORDER BY stream, grp", 2, (int64_t[]){from, to}, ret, err);
}

int
rq_metrics_archived(struct journal *j, struct rows *ret, struct xerr *err)
{
	return query(j,
	    "SELECT family, stream, grp, n FROM archive_totals"
	    " WHERE last_seq = (SELECT max(last_seq) FROM archives)", 0, NULL, ret, err);
}

int
rq_metrics_last_run(struct journal *j, struct rows *ret, struct xerr *err)
{
	return query(j,
	    "SELECT run, ts, json_extract(detail, '$.status'), json_extract(detail, '$.duration_ms')"
	    " FROM events WHERE kind = 'run_end' ORDER BY seq DESC LIMIT 1", 0, NULL, ret, err);
}

int
rq_health_last_run(struct journal *j, struct rows *ret, struct xerr *err)
{
	return query(j,
	    "SELECT run, ts, json_extract(detail, '$.status'), json_extract(detail, '$.claimed'),"
	    " json_extract(detail, '$.deleted'),"
	    " (SELECT sum(json_extract(p.value, '$.pending')) FROM json_each(detail, '$.pending') p),"
	    " json_extract(detail, '$.error'),"
	    " (SELECT sum(json_extract(p.value, '$.consumers')) FROM json_each(detail, '$.pending') p)"
	    " FROM events WHERE kind = 'run_end' ORDER BY seq DESC LIMIT 1", 0, NULL, ret, err);
}

int
rq_metrics_size(struct journal *j, struct rows *ret, struct xerr *err)
{
	return query(j, "SELECT p.page_count * s.page_size FROM pragma_page_count() p,"
	    " pragma_page_size() s", 0, NULL, ret, err);
}

/* --------------------------------------------------------------- outbox */

int
rq_outbox_pending(struct journal *j, struct rows *ret, struct xerr *err)
{
	/* The pending pairs of the alerts view (schema/009_alerts.sql), with their alert event. */
	return query(j,
	    "SELECT a.alert, a.webhook, a.message_id, a.attempts, a.retry_at,"
	    "  e.ts, e.stream, e.grp, e.detail"
	    " FROM alerts a JOIN events e ON e.seq = a.alert"
	    " WHERE a.status = 'pending' ORDER BY a.alert, a.webhook", 0, NULL, ret, err);
}

int
rq_day_alerts(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err)
{
	return span_query(j,
	    "SELECT stream, grp, sum(status = 'sent'), sum(status = 'failed'),"
	    "  sum(status = 'pending') FROM alerts"
	    " WHERE alert IN (SELECT seq FROM events WHERE seq BETWEEN ?1 AND ?2"
	    "  AND ts >= ?3 AND ts < ?4 AND kind = 'alert') AND status <> 'none'"
	    " GROUP BY stream, grp ORDER BY stream, grp", sp, ret, err);
}

int
rq_metrics_alerts(struct journal *j, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err)
{
	return query(j,
	    "SELECT coalesce(sum(status = 'sent'), 0), coalesce(sum(status = 'failed'), 0),"
	    "  coalesce(sum(status = 'pending'), 0) FROM alerts WHERE alert BETWEEN ?1 AND ?2",
	    2, (int64_t[]){from, to}, ret, err);
}

/* ---------------------------------------------------------- alert rules */

static const char *const alert_kinds[] = {
	[ALERT_CLAIMS] = "kind IN ('claim', 'claim_reconciled')",
	[ALERT_DELETED] = "kind = 'consumer_deleted'",
};

int
rq_alert_counts(struct journal *j, const struct rspan *sp, enum alert_count what,
    struct rows *ret, struct xerr *err)
{
	struct buf sql = BUF_INIT;
	int rc;

	buf_printf(&sql, "SELECT stream, grp, count(*) FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4 AND %s"
	    " GROUP BY 1, 2", alert_kinds[what]);
	rc = span_query(j, buf_str(&sql), sp, ret, err);
	buf_free(&sql);
	return rc;
}

int
rq_alert_buckets(struct journal *j, const struct rspan *sp, enum alert_count what,
    int64_t bucket_ms, struct rows *ret, struct xerr *err)
{
	struct buf sql = BUF_INIT;
	int rc;

	buf_printf(&sql, "SELECT stream, grp, (ts - ?3) / ?5, count(*) FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4 AND %s"
	    " GROUP BY 1, 2, 3", alert_kinds[what]);
	rc = query(j, buf_str(&sql), 5,
	    (int64_t[]){sp->from, sp->to, sp->start, sp->end, bucket_ms}, ret, err);
	buf_free(&sql);
	return rc;
}

int
rq_alert_first_ts(struct journal *j, struct rows *ret, struct xerr *err)
{
	return query(j, "SELECT (SELECT ts FROM events ORDER BY seq LIMIT 1)", 0, NULL, ret, err);
}

int
rq_alert_latest(struct journal *j, struct rows *ret, struct xerr *err)
{
	return query(j,
	    "SELECT x.rule, x.stream, x.grp, json_extract(e.detail, '$.state'), e.ts, x.firing"
	    " FROM (SELECT json_extract(detail, '$.rule') AS rule, stream, grp, max(seq) AS last,"
	    "   max(CASE WHEN json_extract(detail, '$.state') = 'firing' THEN ts END) AS firing"
	    "   FROM events WHERE kind = 'alert' GROUP BY 1, 2, 3) x"
	    " JOIN events e ON e.seq = x.last", 0, NULL, ret, err);
}

int
rq_alert_seen(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err)
{
	return span_query(j,
	    "SELECT e.seq, e.ts, json_extract(a.value, '$[0]'), json_extract(a.value, '$[1]'),"
	    "  json_extract(a.value, '$[2]')"
	    " FROM events e INDEXED BY events_run_end_seq LEFT JOIN json_each(e.detail, '$.alerting') a"
	    " WHERE e.seq BETWEEN ?1 AND ?2 AND e.ts >= ?3 AND e.ts < ?4 AND e.kind = 'run_end'"
	    " ORDER BY e.seq", sp, ret, err);
}

int
rq_alert_prev_start(struct journal *j, int64_t run, struct rows *ret, struct xerr *err)
{
	return query(j, "SELECT ts FROM events WHERE kind = 'run_start' AND run < ?1"
	    " ORDER BY run DESC LIMIT 1", 1, (int64_t[]){run}, ret, err);
}

int
rq_alert_incidents(struct journal *j, const struct rspan *sp, struct rows *ret,
    struct xerr *err)
{
	return span_query(j,
	    "SELECT stream, grp, max(seq) FROM events INDEXED BY events_incident_opened_seq"
	    " WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4 AND kind = 'incident_opened'"
	    " GROUP BY 1, 2", sp, ret, err);
}
