/* report.c: reports read from the journal (see report.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "journal.h"
#include "report.h"

/* Events other than copies, which copy_events lists one row each (schema/005_copies.sql). */
#define NOT_COPIES " AND kind NOT IN ('replay_copy', 'replay_copies')"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

/* ------------------------------------------------------------- builders */

static void
rtable_init(struct rtable *t, const char *name, const char *title, const char *const *keys,
    const char *const *heads, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->name = xstrdup(name);
	t->title = xstrdup(title);
	t->ncols = ncols;
	t->keys = xcalloc(ncols, sizeof(*t->keys));
	t->heads = xcalloc(ncols, sizeof(*t->heads));
	for (size_t i = 0; i < ncols; i++) {
		t->keys[i] = xstrdup(keys[i]);
		t->heads[i] = xstrdup(heads[i]);
	}
}

static void
rtable_free(struct rtable *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].s);
	for (size_t i = 0; i < t->ncols; i++) {
		free(t->keys[i]);
		free(t->heads[i]);
	}
	free(t->keys);
	free(t->heads);
	free(t->cells);
	free(t->name);
	free(t->title);
	memset(t, 0, sizeof(*t));
}

struct rtable *
report_table(struct report *r, const char *name, const char *title, const char *const *keys,
    const char *const *heads, size_t ncols)
{
	r->tables = xrealloc(r->tables, (r->ntables + 1) * sizeof(*r->tables));
	rtable_init(&r->tables[r->ntables], name, title, keys, heads, ncols);
	return &r->tables[r->ntables++];
}

size_t
rtable_row(struct rtable *t)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(*t->cells));
	}
	memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof(*t->cells));
	return t->nrows++;
}

void
rtable_str(struct rtable *t, size_t row, size_t col, const char *s)
{
	struct rcell *c = &t->cells[row * t->ncols + col];

	free(c->s);
	c->s = s != NULL ? xstrdup(s) : NULL;
	c->type = s != NULL ? RC_STR : RC_NULL;
}

void
rtable_int(struct rtable *t, size_t row, size_t col, int64_t v, enum rcell_type type)
{
	struct rcell *c = &t->cells[row * t->ncols + col];

	c->type = type;
	c->i = v;
}

static void
summary_init(struct report *r)
{
	static const char *const keys[] = {"key", "value"};

	if (r->summary.ncols == 0)
		rtable_init(&r->summary, "summary", "Summary", keys, keys, 2);
}

void
report_kv_str(struct report *r, const char *key, const char *value)
{
	size_t row;

	summary_init(r);
	row = rtable_row(&r->summary);
	rtable_str(&r->summary, row, 0, key);
	rtable_str(&r->summary, row, 1, value);
}

void
report_kv_int(struct report *r, const char *key, int64_t v, enum rcell_type type)
{
	size_t row;

	summary_init(r);
	row = rtable_row(&r->summary);
	rtable_str(&r->summary, row, 0, key);
	rtable_int(&r->summary, row, 1, v, type);
}

const struct rcell *
report_kv(const struct report *r, const char *key)
{
	for (size_t i = 0; i < r->summary.nrows; i++)
		if (strcmp(r->summary.cells[2 * i].s, key) == 0)
			return &r->summary.cells[2 * i + 1];
	return NULL;
}

static struct rchart *
report_chart(struct report *r, const char *name, const char *title, bool bars, int64_t x0,
    int64_t x1)
{
	struct rchart *c;

	r->charts = xrealloc(r->charts, (r->ncharts + 1) * sizeof(*r->charts));
	c = &r->charts[r->ncharts++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->title = xstrdup(title);
	c->bars = bars;
	c->x0 = x0;
	c->x1 = x1;
	return c;
}

/* The series called name, made if it is new. */
static struct rseries *
chart_series(struct rchart *c, const char *name)
{
	for (size_t i = 0; i < c->nseries; i++)
		if (strcmp(c->s[i].name, name) == 0)
			return &c->s[i];
	c->s = xrealloc(c->s, (c->nseries + 1) * sizeof(*c->s));
	memset(&c->s[c->nseries], 0, sizeof(*c->s));
	c->s[c->nseries].name = xstrdup(name);
	return &c->s[c->nseries++];
}

static void
series_add(struct rseries *s, int64_t x, int64_t y)
{
	s->x = xrealloc(s->x, (s->n + 1) * sizeof(*s->x));
	s->y = xrealloc(s->y, (s->n + 1) * sizeof(*s->y));
	s->x[s->n] = x;
	s->y[s->n] = y;
	s->n++;
}

void
report_free(struct report *r)
{
	rtable_free(&r->summary);
	for (size_t i = 0; i < r->ntables; i++)
		rtable_free(&r->tables[i]);
	free(r->tables);
	for (size_t i = 0; i < r->ncharts; i++) {
		struct rchart *c = &r->charts[i];
		for (size_t k = 0; k < c->nseries; k++) {
			free(c->s[k].name);
			free(c->s[k].x);
			free(c->s[k].y);
		}
		free(c->s);
		free(c->name);
		free(c->title);
	}
	free(r->charts);
	free(r->kind);
	free(r->title);
	free(r->csv_table);
	memset(r, 0, sizeof(*r));
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

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* A cell from a column: NULL, an integer (as type), or text. */
static void
cell_from(struct rtable *t, size_t row, size_t col, sqlite3_stmt *st, int i,
    enum rcell_type type)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		break;
	case SQLITE_INTEGER:
		rtable_int(t, row, col, sqlite3_column_int64(st, i), type);
		break;
	default:
		rtable_str(t, row, col, col_text(st, i));
		break;
	}
}

/* Binds ?1 .. ?n to v[0 .. n). */
static void
bind_ints(sqlite3_stmt *st, int n, const int64_t *v)
{
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
}

/*
 * Runs sql with ?1 .. ?n bound to v and adds a row to t per result row,
 * column by column; a column whose bit is set in times holds a time.
 */
static int
table_query(struct journal *j, struct rtable *t, const char *sql, int n, const int64_t *v,
    unsigned times, struct xerr *err)
{
	sqlite3_stmt *st = prep(j, sql, err);
	int rc;

	if (st == NULL)
		return -1;
	bind_ints(st, n, v);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t row = rtable_row(t);
		for (size_t i = 0; i < t->ncols; i++)
			cell_from(t, row, i, st, (int)i, times >> i & 1 ? RC_TIME : RC_INT);
	}
	return done(j, st, rc, err);
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
	sqlite3_stmt *st = prep(j, "SELECT coalesce(min(seq), 1), coalesce(max(seq), 0) FROM events",
	    err);
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

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Runs: counts, failures, modes, and the gaps in the schedule. */
static int
daily_runs(struct journal *j, int64_t day, int64_t from, int64_t to, struct report *r,
    struct xerr *err)
{
	static const char *const fk[] = {"run", "started_at", "status", "error"};
	static const char *const fh[] = {"RUN", "STARTED", "STATUS", "ERROR"};
	static const char *const gk[] = {"from", "to", "length_ms"};
	static const char *const gh[] = {"FROM", "TO", "LENGTH"};
	sqlite3_stmt *st = prep(j,
	    "SELECT s.run, s.ts, coalesce(json_extract(e.detail, '$.status'), 'running'),"
	    "  json_extract(e.detail, '$.error'), json_extract(s.detail, '$.mode')"
	    " FROM events s LEFT JOIN events e ON e.kind = 'run_end' AND e.run = s.run"
	    " WHERE s.seq BETWEEN ?1 AND ?2 AND s.ts >= ?3 AND s.ts < ?4 AND s.kind = 'run_start'"
	    " ORDER BY s.seq", err);
	struct rtable *fails, *gaps;
	int64_t *starts = NULL, nok = 0, nfail = 0, nwarn = 0, nlive = 0, ntest = 0;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -1;
	report_table(r, "failures", "Runs that did not end well", fk, fh, 4);
	gaps = report_table(r, "gaps", "Gaps in the schedule (longer than three intervals)", gk,
	    gh, 3);
	/* Adding a table may move them all: the first one's address only now. */
	fails = gaps - 1;
	bind_ints(st, 4, (int64_t[]){from, to, day, day + DAY_MS});
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *status = col_text(st, 2), *mode = col_text(st, 4);

		starts = xrealloc(starts, (n + 1) * sizeof(*starts));
		starts[n++] = sqlite3_column_int64(st, 1);
		if (mode != NULL && strcmp(mode, "LIVE") == 0)
			nlive++;
		else
			ntest++;
		if (strcmp(status, "ok") == 0) {
			nok++;
			continue;
		}
		if (strcmp(status, "warning") == 0)
			nwarn++;        /* done, but told to work on a stream that does not exist */
		else if (strcmp(status, "running") != 0)
			nfail++;
		size_t row = rtable_row(fails);
		rtable_int(fails, row, 0, sqlite3_column_int64(st, 0), RC_INT);
		rtable_int(fails, row, 1, sqlite3_column_int64(st, 1), RC_TIME);
		rtable_str(fails, row, 2, status);
		rtable_str(fails, row, 3, col_text(st, 3));
	}
	if (done(j, st, rc, err) < 0) {
		free(starts);
		return -1;
	}
	report_kv_int(r, "runs", (int64_t)n, RC_INT);
	report_kv_int(r, "runs_ok", nok, RC_INT);
	report_kv_int(r, "runs_failed", nfail, RC_INT);
	report_kv_int(r, "runs_warning", nwarn, RC_INT);
	report_kv_str(r, "mode", nlive > 0 && ntest > 0 ? "LIVE and TEST" : nlive > 0 ? "LIVE" :
	    n > 0 ? "TEST" : "-");
	/* The interval is the usual one between runs: the median gap. */
	int64_t interval = 0;
	if (n >= 3) {
		int64_t *d = xcalloc(n - 1, sizeof(*d));
		for (size_t i = 1; i < n; i++)
			d[i - 1] = starts[i] - starts[i - 1];
		qsort(d, n - 1, sizeof(*d), cmp_i64);
		interval = d[(n - 1) / 2];
		free(d);
	}
	if (interval > 0)
		report_kv_int(r, "interval", interval, RC_MS);
	else
		report_kv_str(r, "interval", NULL);     /* too few runs to tell */
	if (interval > 0) {
		/* From midnight to the first run and from the last to midnight too. */
		for (size_t i = 0; i <= n; i++) {
			int64_t a = i == 0 ? day : starts[i - 1];
			int64_t b = i == n ? day + DAY_MS : starts[i];
			if (i == n && b > now_ms())
				b = now_ms();     /* today: up to now */
			if (b - a > 3 * interval) {
				size_t row = rtable_row(gaps);
				rtable_int(gaps, row, 0, a, RC_TIME);
				rtable_int(gaps, row, 1, b, RC_TIME);
				rtable_int(gaps, row, 2, b - a, RC_MS);
			}
		}
	} else if (n == 0) {
		size_t row = rtable_row(gaps);
		rtable_int(gaps, row, 0, day, RC_TIME);
		rtable_int(gaps, row, 1, day + DAY_MS, RC_TIME);
		rtable_int(gaps, row, 2, DAY_MS, RC_MS);
	}
	report_kv_int(r, "schedule_gaps", (int64_t)gaps->nrows, RC_INT);
	free(starts);
	return 0;
}

/* Per stream and group: what was done. */
static int
daily_groups(struct journal *j, int64_t day, int64_t from, int64_t to, struct report *r,
    struct xerr *err)
{
	static const char *const keys[] = {"stream", "group", "claimed", "reconciled", "lost",
	    "deleted", "dead_lettered", "replayed", "settled", "rolled_back", "incidents",
	    "alerts_sent", "alerts_failed"};
	static const char *const heads[] = {"STREAM", "GROUP", "CLAIMED", "RECONCILED", "LOST",
	    "DELETED", "DEAD-LETTERED", "REPLAYED", "SETTLED", "ROLLED-BACK", "INCIDENTS",
	    "ALERTS-SENT", "ALERTS-FAILED"};
	static const char *const totals[] = {"claimed", "reconciled", "lost", "deleted",
	    "dead_lettered", "replayed", "settled", "rolled_back", "incidents_opened"};
	sqlite3_stmt *st = prep(j,
	    "SELECT stream, grp, sum(kind = 'claim'), sum(kind = 'claim_reconciled'),"
	    "  sum(kind = 'lost'), sum(kind = 'consumer_deleted'), sum(kind = 'dead_lettered'),"
	    "  sum(kind = 'replay_copy'), sum(kind = 'settled'), sum(kind = 'copy_removed'),"
	    "  sum(kind = 'incident_opened')"
	    " FROM (SELECT stream, grp, kind FROM events"
	    "  WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4" NOT_COPIES
	    " UNION ALL SELECT stream, grp, 'replay_copy' FROM copy_events"
	    "  WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4)"
	    " WHERE stream IS NOT NULL AND grp IS NOT NULL"
	    " GROUP BY stream, grp ORDER BY stream, grp", err);
	struct rtable *t;
	int64_t sum[9] = {0};
	int rc;

	if (st == NULL)
		return -1;
	t = report_table(r, "groups", "Per stream and group", keys, heads, 13);
	bind_ints(st, 4, (int64_t[]){from, to, day, day + DAY_MS});
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t row = rtable_row(t);
		rtable_str(t, row, 0, col_text(st, 0));
		rtable_str(t, row, 1, col_text(st, 1));
		for (int i = 0; i < 9; i++) {
			int64_t v = sqlite3_column_int64(st, 2 + i);
			rtable_int(t, row, 2 + (size_t)i, v, RC_INT);
			sum[i] += v;
		}
		/* Alerting is not part of this version: nothing was sent or failed. */
		rtable_int(t, row, 11, 0, RC_INT);
		rtable_int(t, row, 12, 0, RC_INT);
	}
	if (done(j, st, rc, err) < 0)
		return -1;
	for (int i = 0; i < 9; i++)
		report_kv_int(r, totals[i], sum[i], RC_INT);
	report_kv_int(r, "alerts_sent", 0, RC_INT);
	report_kv_int(r, "alerts_failed", 0, RC_INT);
	free(r->csv_table);
	r->csv_table = xstrdup("groups");
	return 0;
}

/* Claims per hour per stream, and what each group had pending after each run. */
static int
daily_charts(struct journal *j, int64_t day, int64_t from, int64_t to, struct report *r,
    struct xerr *err)
{
	sqlite3_stmt *st = prep(j,
	    "SELECT stream, (ts - ?3) / 3600000, count(*) FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4"
	    " AND kind IN ('claim', 'claim_reconciled') GROUP BY 1, 2 ORDER BY 1, 2", err);
	struct rchart *c;
	int rc;

	if (st == NULL)
		return -1;
	c = report_chart(r, "claims_per_hour", "Claims per hour, by stream", true, day,
	    day + DAY_MS);
	bind_ints(st, 4, (int64_t[]){from, to, day, day + DAY_MS});
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		series_add(chart_series(c, col_text(st, 0)),
		    day + sqlite3_column_int64(st, 1) * HOUR_MS, sqlite3_column_int64(st, 2));
	if (done(j, st, rc, err) < 0)
		return -1;
	st = prep(j,
	    "SELECT e.ts, json_extract(p.value, '$.stream') || '/' || json_extract(p.value, '$.group'),"
	    "  json_extract(p.value, '$.pending')"
	    " FROM events e, json_each(e.detail, '$.pending') p"
	    " WHERE e.seq BETWEEN ?1 AND ?2 AND e.ts >= ?3 AND e.ts < ?4 AND e.kind = 'run_end'"
	    " ORDER BY e.seq", err);
	if (st == NULL)
		return -1;
	c = report_chart(r, "pending", "Pending entries after each run, by stream/group", false,
	    day, day + DAY_MS);
	bind_ints(st, 4, (int64_t[]){from, to, day, day + DAY_MS});
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		series_add(chart_series(c, col_text(st, 1)), sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 2));
	return done(j, st, rc, err);
}

/* Incidents opened, replays and rollbacks of the day. */
static int
daily_lists(struct journal *j, int64_t day, int64_t from, int64_t to, struct report *r,
    struct xerr *err)
{
	static const char *const ik[] = {"incident", "stream", "group", "consumer", "opened_at",
	    "claimed", "lost", "deleted_at"};
	static const char *const ih[] = {"INCIDENT", "STREAM", "GROUP", "CONSUMER", "OPENED",
	    "CLAIMED", "LOST", "DELETED"};
	static const char *const rk[] = {"batch", "started_at", "user", "target", "copied",
	    "settled", "removed", "status"};
	static const char *const rh[] = {"BATCH", "STARTED", "USER", "TARGET", "COPIED",
	    "SETTLED", "REMOVED", "STATUS"};
	static const char *const bk[] = {"batch", "rolled_back_at", "removed", "already_read"};
	static const char *const bh[] = {"BATCH", "ROLLED BACK", "REMOVED", "ALREADY READ"};
	const int64_t span[] = {from, to, day, day + DAY_MS};
	struct rtable *t;

	t = report_table(r, "incidents", "Incidents opened", ik, ih, 8);
	if (table_query(j, t, "SELECT incident, stream, grp, consumer, opened_ms, claimed, lost,"
	    " deleted_at FROM incidents WHERE incident BETWEEN ?1 AND ?2 AND opened_ms >= ?3"
	    " AND opened_ms < ?4 ORDER BY incident", 4, span, 1u << 4, err) < 0)
		return -1;
	t = report_table(r, "replays", "Replays started", rk, rh, 8);
	if (table_query(j, t, "SELECT batch, started_at, user, target, copied, settled, removed,"
	    " status FROM replays WHERE batch IN (SELECT batch FROM events WHERE seq BETWEEN ?1"
	    " AND ?2 AND ts >= ?3 AND ts < ?4 AND kind = 'replay_start') ORDER BY batch", 4, span,
	    0, err) < 0)
		return -1;
	report_kv_int(r, "replay_batches", (int64_t)t->nrows, RC_INT);
	t = report_table(r, "rollbacks", "Rollbacks", bk, bh, 4);
	if (table_query(j, t, "SELECT batch, ts, json_extract(detail, '$.removed'),"
	    "  json_extract(detail, '$.already_read') FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4 AND kind = 'rollback'"
	    " ORDER BY seq", 4, span, 1u << 1, err) < 0)
		return -1;
	report_kv_int(r, "rollback_batches", (int64_t)t->nrows, RC_INT);
	return 0;
}

int
report_daily_fill(struct journal *j, int64_t day, int64_t from, int64_t to, struct report *r,
    struct xerr *err)
{
	char date[32];

	format_utc(day, false, date, sizeof(date));
	date[10] = '\0';
	r->kind = xstrdup("daily");
	r->title = xstrdup("xrecover daily report");
	report_kv_str(r, "date", date);
	if (daily_runs(j, day, from, to, r, err) < 0 || daily_groups(j, day, from, to, r, err) < 0 ||
	    daily_lists(j, day, from, to, r, err) < 0 || daily_charts(j, day, from, to, r, err) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ incidents */

static const char *const inc_keys[] = {"incident", "stream", "group", "consumer", "opened_at",
    "last_seen_at", "runs", "claimed", "lost", "dead_lettered", "replayed", "settled",
    "deleted_at"};
static const char *const inc_heads[] = {"INCIDENT", "STREAM", "GROUP", "CONSUMER", "OPENED",
    "LAST SEEN", "RUNS", "CLAIMED", "LOST", "DEAD-LETTERED", "REPLAYED", "SETTLED", "DELETED"};
#define INC_SELECT \
	"SELECT incident, stream, grp, consumer, opened_at, last_seen_at, runs, claimed, lost," \
	" dead_lettered, replayed, settled, deleted_at FROM incidents"

int
report_incidents_fill(struct journal *j, int64_t since, int64_t until, struct report *r,
    struct xerr *err)
{
	int64_t from = 1, to = INT64_MAX;
	struct rtable *t;

	r->kind = xstrdup("incidents");
	r->title = xstrdup("xrecover incidents");
	if ((since != 0 || until != 0) && journal_time_range(j, since, until != 0 ? until :
	    INT64_MAX / 2, &from, &to, err) < 0)
		return -1;
	t = report_table(r, "incidents", "Incidents", inc_keys, inc_heads, 13);
	if (table_query(j, t, INC_SELECT " WHERE incident BETWEEN ?1 AND ?2"
	    " AND (?3 = 0 OR opened_ms >= ?3) AND (?4 = 0 OR opened_ms < ?4) ORDER BY incident", 4,
	    (int64_t[]){from, to, since, until}, 0, err) < 0)
		return -1;
	report_kv_int(r, "count", (int64_t)t->nrows, RC_INT);
	r->csv_table = xstrdup("incidents");
	return 0;
}

/* A payload, cut to about n bytes for a preview. */
static void
preview(const char *s, size_t n, char *out, size_t outlen)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len <= n) {
		snprintf(out, outlen, "%s", s != NULL ? s : "");
		return;
	}
	/* Do not cut a UTF-8 sequence in two. */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	snprintf(out, outlen, "%.*s...", (int)n, s);
}

#define ENTRIES_SHOWN 1000
/* An incident's entries: its claims and losses, the first 1000. */
#define INCIDENT_ENTRIES " FROM events WHERE incident = ?1" \
	" AND kind IN ('claim', 'claim_reconciled', 'lost') ORDER BY seq LIMIT 1000"

int
report_incident_seqs(struct journal *j, int64_t id, int64_t **ret, size_t *ret_n,
    struct xerr *err)
{
	sqlite3_stmt *st = prep(j, "SELECT seq" INCIDENT_ENTRIES, err);
	int rc;

	*ret = NULL;
	*ret_n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ret = xrealloc(*ret, (*ret_n + 1) * sizeof(**ret));
		(*ret)[(*ret_n)++] = sqlite3_column_int64(st, 0);
	}
	return done(j, st, rc, err);
}

int
report_incident_fill(struct journal *j, int64_t id, struct report *r, struct xerr *err)
{
	static const char *const tk[] = {"at", "event", "count", "detail"};
	static const char *const th[] = {"AT", "EVENT", "COUNT", "DETAIL"};
	static const char *const ek[] = {"entry_id", "claimed_at", "run", "deliveries", "fate",
	    "payload"};
	static const char *const eh[] = {"ENTRY", "CLAIMED", "RUN", "DELIVERIES", "FATE",
	    "PAYLOAD"};
	struct rtable *t, *tl;
	sqlite3_stmt *st;
	int rc;
	bool found = false;
	char title[256], buf[160];

	r->kind = xstrdup("incident");
	st = prep(j, INC_SELECT " WHERE incident = ?1", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = true;
		snprintf(title, sizeof(title), "xrecover incident %lld: consumer %s of %s/%s",
		    (long long)id, col_text(st, 3), col_text(st, 1), col_text(st, 2));
		r->title = xstrdup(title);
		for (int i = 0; i < 13; i++) {
			if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
				report_kv_int(r, inc_keys[i], sqlite3_column_int64(st, i), RC_INT);
			else
				report_kv_str(r, inc_keys[i], col_text(st, i));
		}
	}
	if (done(j, st, rc, err) < 0)
		return -1;
	if (!found)
		return xerr_set(err, XR_ENOTHING, "there is no incident %lld (see report --incidents)",
		    (long long)id);

	/*
	 * The timeline, earliest first: one row per kind of thing and run or
	 * batch.  What became of the entries is followed through their copies
	 * (entry_fates, schema/006_fates.sql): the claims of the chains are
	 * its nodes.
	 */
	tl = report_table(r, "timeline", "Timeline", tk, th, 4);
	if (table_query(j, tl,
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
	    ") WHERE at IS NOT NULL ORDER BY at, o", 1, &id, 1u << 0, err) < 0)
		return -1;

	/*
	 * Each entry, with a look at its payload; what became of it (of its
	 * last copy) and its deliveries are the caller's to fill in, from the
	 * claims report_incident_seqs() gives.
	 */
	t = report_table(r, "entries", "Entries", ek, eh, 6);
	st = prep(j, "SELECT entry_ms || '-' || entry_seq, ts, run, NULL, NULL, payload"
	    INCIDENT_ENTRIES, err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t row = rtable_row(t);
		cell_from(t, row, 0, st, 0, RC_INT);
		cell_from(t, row, 1, st, 1, RC_TIME);
		cell_from(t, row, 2, st, 2, RC_INT);
		cell_from(t, row, 3, st, 3, RC_INT);
		cell_from(t, row, 4, st, 4, RC_INT);
		preview(col_text(st, 5), 60, buf, sizeof(buf));
		rtable_str(t, row, 5, sqlite3_column_type(st, 5) != SQLITE_NULL ? buf : NULL);
	}
	if (done(j, st, rc, err) < 0)
		return -1;
	const struct rcell *claimed = report_kv(r, "claimed");
	if (claimed != NULL && claimed->i > ENTRIES_SHOWN)
		report_kv_str(r, "entries_shown", "the first 1000");
	r->csv_table = xstrdup("entries");
	return 0;
}

/* ------------------------------------------------------------------ run */

int
report_run_fill(struct journal *j, int64_t run, struct report *r, struct xerr *err)
{
	static const char *const gk[] = {"stream", "group", "claimed", "reconciled", "lost",
	    "deleted", "dead_lettered", "redelivered", "settled", "incidents"};
	static const char *const gh[] = {"STREAM", "GROUP", "CLAIMED", "RECONCILED", "LOST",
	    "DELETED", "DEAD-LETTERED", "REDELIVERED", "SETTLED", "INCIDENTS"};
	static const char *const ek[] = {"stream", "group", "error"};
	static const char *const eh[] = {"STREAM", "GROUP", "ERROR"};
	sqlite3_stmt *st;
	struct rtable *t;
	int64_t s_seq = 0, e_seq = INT64_MAX;
	char title[64];
	int rc;

	r->kind = xstrdup("run");
	snprintf(title, sizeof(title), "xrecover run %lld", (long long)run);
	r->title = xstrdup(title);
	st = prep(j,
	    "SELECT run, started_at, ended_at, duration_ms, mode, mode_reason, status, claimed,"
	    "  reconciled, deleted, lost, dead_lettered, redelivered, settled, groups, error, host,"
	    "  user, pid, version, options,"
	    "  (SELECT seq FROM events WHERE kind = 'run_start' AND run = ?1),"
	    "  (SELECT seq FROM events WHERE kind = 'run_end' AND run = ?1)"
	    " FROM runs WHERE run = ?1", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < 21; i++) {
			const char *name = sqlite3_column_name(st, i);
			if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
				report_kv_int(r, name, sqlite3_column_int64(st, i),
				    strcmp(name, "duration_ms") == 0 ? RC_MS : RC_INT);
			else if (sqlite3_column_type(st, i) != SQLITE_NULL)
				report_kv_str(r, name, col_text(st, i));
		}
		s_seq = sqlite3_column_int64(st, 21);
		if (sqlite3_column_type(st, 22) != SQLITE_NULL)
			e_seq = sqlite3_column_int64(st, 22);
	}
	if (done(j, st, rc, err) < 0)
		return -1;
	if (s_seq == 0)
		return xerr_set(err, XR_ENOTHING, "there is no run %lld in the journal", (long long)run);
	/* Its events lie between its start and its end. */
	const int64_t span[] = {s_seq, e_seq, run};
	t = report_table(r, "groups", "Per stream and group", gk, gh, 10);
	if (table_query(j, t,
	    "SELECT stream, grp, sum(kind = 'claim'), sum(kind = 'claim_reconciled'),"
	    "  sum(kind = 'lost'), sum(kind = 'consumer_deleted'), sum(kind = 'dead_lettered'),"
	    "  sum(kind = 'replay_copy'), sum(kind = 'settled'), count(DISTINCT incident)"
	    " FROM (SELECT stream, grp, kind, incident FROM events"
	    "  WHERE seq BETWEEN ?1 AND ?2 AND run = ?3" NOT_COPIES
	    " UNION ALL SELECT stream, grp, 'replay_copy', NULL FROM copy_events"
	    "  WHERE seq BETWEEN ?1 AND ?2 AND run = ?3)"
	    " WHERE stream IS NOT NULL AND grp IS NOT NULL GROUP BY stream, grp ORDER BY stream, grp",
	    3, span, 0, err) < 0)
		return -1;
	t = report_table(r, "errors", "Errors", ek, eh, 3);
	if (table_query(j, t, "SELECT stream, grp, json_extract(detail, '$.error') FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND run = ?3 AND kind = 'error' ORDER BY seq", 3, span, 0,
	    err) < 0)
		return -1;
	r->csv_table = xstrdup("groups");
	return 0;
}
