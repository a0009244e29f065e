/*
 * report.c: `xrecover report` (see report.h): each report's model (titles,
 * tables, charts, summary) built from the rows the journal's queries
 * return (store/report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "../store/journal.h"
#include "../store/report.h"
#include "../store/trace.h"
#include "../store/verify.h"
#include "archive.h"
#include "report.h"
#include "trace.h"
#include "verify.h"

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)
#define ENTRIES_SHOWN 1000

/* ----------------------------------------------------------- rows to cells */

/* A cell from a value: NULL, an integer (as type), or text. */
static void
cell_from(struct rtable *t, size_t row, size_t col, const struct rval *v, enum rcell_type type)
{
	switch (v->type) {
	case RV_NULL:
		break;
	case RV_INT:
		rtable_int(t, row, col, v->i, type);
		break;
	case RV_TEXT:
		rtable_str(t, row, col, v->s);
		break;
	}
}

/*
 * Adds a row to t per row of rs, column by column (a column whose bit is
 * set in times holds a time), when the query that filled rs succeeded (rc
 * is 0).  Frees rs; returns rc.
 */
static int
table_rows(struct rtable *t, int rc, struct rows *rs, unsigned times)
{
	for (size_t i = 0; rc == 0 && i < rs->nrows; i++) {
		size_t row = rtable_row(t);
		for (size_t c = 0; c < t->ncols; c++)
			cell_from(t, row, c, rows_at(rs, i, c), times >> c & 1 ? RC_TIME : RC_INT);
	}
	rows_free(rs);
	return rc;
}

/* Row i of rs as summary keys, named by keys[] or by the columns; NULLs too when keep_null. */
static void
summary_rows(struct report *r, const struct rows *rs, size_t i, size_t ncols,
    const char *const *keys, bool keep_null)
{
	for (size_t c = 0; c < ncols; c++) {
		const struct rval *v = rows_at(rs, i, c);
		const char *key = keys != NULL ? keys[c] : rs->names[c];

		if (v->type == RV_INT)
			report_kv_int(r, key, v->i, strcmp(key, "duration_ms") == 0 ? RC_MS : RC_INT);
		else if (v->type == RV_TEXT || keep_null)
			report_kv_str(r, key, v->s);
	}
}

/* ------------------------------------------------------------------ daily */

/* Runs that did not end well into fails; how many ran, and how, into the summary. */
static void
runs_counted(struct report *r, struct rtable *fails, const struct rows *rs)
{
	int64_t nok = 0, nfail = 0, nwarn = 0, nlive = 0, ntest = 0;

	for (size_t i = 0; i < rs->nrows; i++) {
		const char *status = rows_text(rs, i, 2), *mode = rows_text(rs, i, 4);

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
		rtable_int(fails, row, 0, rows_int(rs, i, 0), RC_INT);
		rtable_int(fails, row, 1, rows_int(rs, i, 1), RC_TIME);
		rtable_str(fails, row, 2, status);
		rtable_str(fails, row, 3, rows_text(rs, i, 3));
	}
	report_kv_int(r, "runs", (int64_t)rs->nrows, RC_INT);
	report_kv_int(r, "runs_ok", nok, RC_INT);
	report_kv_int(r, "runs_failed", nfail, RC_INT);
	report_kv_int(r, "runs_warning", nwarn, RC_INT);
	report_kv_str(r, "mode", nlive > 0 && ntest > 0 ? "LIVE and TEST" : nlive > 0 ? "LIVE" :
	    rs->nrows > 0 ? "TEST" : "-");
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The usual interval between the runs started at column 1 of rs: the median gap (0: too few). */
static int64_t
usual_interval(const struct rows *rs)
{
	size_t n = rs->nrows;
	int64_t *d, interval;

	if (n < 3)
		return 0;
	d = xcalloc(n - 1, sizeof(*d));
	for (size_t i = 1; i < n; i++)
		d[i - 1] = rows_int(rs, i, 1) - rows_int(rs, i - 1, 1);
	qsort(d, n - 1, sizeof(*d), cmp_i64);
	interval = d[(n - 1) / 2];
	free(d);
	return interval;
}

static void
gap_row(struct rtable *gaps, int64_t a, int64_t b)
{
	size_t row = rtable_row(gaps);

	rtable_int(gaps, row, 0, a, RC_TIME);
	rtable_int(gaps, row, 1, b, RC_TIME);
	rtable_int(gaps, row, 2, b - a, RC_MS);
}

/*
 * The gaps in the day's schedule longer than three intervals, from
 * midnight to the first run and from the last to midnight too; a day
 * without runs is one gap.
 */
static void
schedule_gaps(struct rtable *gaps, const struct rows *rs, int64_t day, int64_t interval)
{
	size_t n = rs->nrows;

	if (interval <= 0) {
		if (n == 0)
			gap_row(gaps, day, day + DAY_MS);
		return;
	}
	for (size_t i = 0; i <= n; i++) {
		int64_t a = i == 0 ? day : rows_int(rs, i - 1, 1);
		int64_t b = i == n ? day + DAY_MS : rows_int(rs, i, 1);
		if (i == n && b > now_ms())
			b = now_ms();     /* today: up to now */
		if (b - a > 3 * interval)
			gap_row(gaps, a, b);
	}
}

/* Runs: counts, failures, modes, and the gaps in the schedule. */
static int
daily_runs(struct journal *j, const struct rspan *sp, struct report *r, struct xerr *err)
{
	static const char *const fk[] = {"run", "started_at", "status", "error"};
	static const char *const fh[] = {"RUN", "STARTED", "STATUS", "ERROR"};
	static const char *const gk[] = {"from", "to", "length_ms"};
	static const char *const gh[] = {"FROM", "TO", "LENGTH"};
	struct rtable *fails, *gaps;
	struct rows rs;
	int64_t interval;

	report_table(r, "failures", "Runs that did not end well", fk, fh, 4);
	report_table(r, "gaps", "Gaps in the schedule (longer than three intervals)", gk, gh, 3);
	/* Adding a table may move them all: their addresses only now. */
	fails = &r->tables[r->ntables - 2];
	gaps = &r->tables[r->ntables - 1];
	if (rq_day_runs(j, sp, &rs, err) < 0) {
		rows_free(&rs);
		return -1;
	}
	runs_counted(r, fails, &rs);
	interval = usual_interval(&rs);
	if (interval > 0)
		report_kv_int(r, "interval", interval, RC_MS);
	else
		report_kv_str(r, "interval", NULL);     /* too few runs to tell */
	schedule_gaps(gaps, &rs, sp->start, interval);
	report_kv_int(r, "schedule_gaps", (int64_t)gaps->nrows, RC_INT);
	rows_free(&rs);
	return 0;
}

/*
 * The outbox's counts of the day's alerts (sent, failed, pending: as it
 * has them now) into the groups table's last three columns, and their
 * totals, alerts about no one group too, into the summary.
 */
static int
daily_alerts(struct journal *j, const struct rspan *sp, struct report *r, struct rtable *t,
    struct xerr *err)
{
	static const char *const totals[] = {"alerts_sent", "alerts_failed", "alerts_pending"};
	struct rows rs;
	int64_t sum[3] = {0};

	if (rq_day_alerts(j, sp, &rs, err) < 0) {
		rows_free(&rs);
		return -1;
	}
	for (size_t i = 0; i < rs.nrows; i++) {
		const char *st = rows_text(&rs, i, 0), *g = rows_text(&rs, i, 1);
		for (size_t k = 0; k < 3; k++)
			sum[k] += rows_int(&rs, i, 2 + k);
		for (size_t row = 0; st != NULL && g != NULL && row < t->nrows; row++) {
			const struct rcell *c = &t->cells[row * t->ncols];
			if (c[0].s == NULL || c[1].s == NULL || strcmp(c[0].s, st) != 0 ||
			    strcmp(c[1].s, g) != 0)
				continue;
			for (size_t k = 0; k < 3; k++)
				rtable_int(t, row, t->ncols - 3 + k, rows_int(&rs, i, 2 + k), RC_INT);
		}
	}
	rows_free(&rs);
	for (int k = 0; k < 3; k++)
		report_kv_int(r, totals[k], sum[k], RC_INT);
	return 0;
}

/* Per stream and group: what was done; the day's totals in the summary. */
static int
daily_groups(struct journal *j, const struct rspan *sp, struct report *r, struct xerr *err)
{
	static const char *const keys[] = {"stream", "group", "claimed", "reconciled", "lost",
	    "deleted", "dead_lettered", "replayed", "settled", "rolled_back", "incidents",
	    "alerts_sent", "alerts_failed", "alerts_pending"};
	static const char *const heads[] = {"STREAM", "GROUP", "CLAIMED", "RECONCILED", "LOST",
	    "DELETED", "DEAD-LETTERED", "REPLAYED", "SETTLED", "ROLLED-BACK", "INCIDENTS",
	    "ALERTS SENT", "ALERTS FAILED", "ALERTS PENDING"};
	static const char *const totals[] = {"claimed", "reconciled", "lost", "deleted",
	    "dead_lettered", "replayed", "settled", "rolled_back", "incidents_opened"};
	struct rtable *t = report_table(r, "groups", "Per stream and group", keys, heads, 14);
	struct rows rs;
	int64_t sum[9] = {0};

	if (rq_day_groups(j, sp, &rs, err) < 0) {
		rows_free(&rs);
		return -1;
	}
	for (size_t i = 0; i < rs.nrows; i++) {
		size_t row = rtable_row(t);
		rtable_str(t, row, 0, rows_text(&rs, i, 0));
		rtable_str(t, row, 1, rows_text(&rs, i, 1));
		for (size_t k = 0; k < 9; k++) {
			int64_t v = rows_int(&rs, i, 2 + k);
			rtable_int(t, row, 2 + k, v, RC_INT);
			sum[k] += v;
		}
		for (size_t k = 11; k < 14; k++)
			rtable_int(t, row, k, 0, RC_INT);
	}
	rows_free(&rs);
	for (int k = 0; k < 9; k++)
		report_kv_int(r, totals[k], sum[k], RC_INT);
	free(r->csv_table);
	r->csv_table = xstrdup("groups");
	return daily_alerts(j, sp, r, t, err);
}

/* Incidents opened, replays and rollbacks of the day. */
static int
daily_lists(struct journal *j, const struct rspan *sp, struct report *r, struct xerr *err)
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
	struct rtable *t;
	struct rows rs;

	t = report_table(r, "incidents", "Incidents opened", ik, ih, 8);
	if (table_rows(t, rq_day_incidents(j, sp, &rs, err), &rs, 1u << 4) < 0)
		return -1;
	t = report_table(r, "replays", "Replays started", rk, rh, 8);
	if (table_rows(t, rq_day_replays(j, sp, &rs, err), &rs, 0) < 0)
		return -1;
	report_kv_int(r, "replay_batches", (int64_t)t->nrows, RC_INT);
	t = report_table(r, "rollbacks", "Rollbacks", bk, bh, 4);
	if (table_rows(t, rq_day_rollbacks(j, sp, &rs, err), &rs, 1u << 1) < 0)
		return -1;
	report_kv_int(r, "rollback_batches", (int64_t)t->nrows, RC_INT);
	return 0;
}

/* The table of r called name, or NULL. */
static const struct rtable *
table_named(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->ntables; i++)
		if (strcmp(r->tables[i].name, name) == 0)
			return &r->tables[i];
	return NULL;
}

/*
 * The stream of "stream/group" (which the pending query joins), from the
 * day's groups (a stream's name may hold a slash too); else up to the
 * first slash.  The caller frees it.
 */
static char *
stream_of(const struct report *r, const char *sg)
{
	const struct rtable *t = table_named(r, "groups");
	const char *slash = strchr(sg, '/');

	for (size_t i = 0; t != NULL && i < t->nrows; i++) {
		const char *st = t->cells[i * t->ncols].s, *g = t->cells[i * t->ncols + 1].s;
		size_t n = st != NULL ? strlen(st) : 0;
		if (n > 0 && g != NULL && strncmp(sg, st, n) == 0 && sg[n] == '/' &&
		    strcmp(sg + n + 1, g) == 0)
			return xstrdup(st);
	}
	return slash != NULL ? xstrndup(sg, (size_t)(slash - sg)) : xstrdup(sg);
}

/*
 * Claims per hour per stream, and what each group had pending after each
 * run; a series' colour follows its stream in both.
 */
static int
daily_charts(struct journal *j, const struct rspan *sp, struct report *r, struct xerr *err)
{
	struct rchart *c;
	struct rows rs;
	int rc;

	c = report_chart(r, "claims_per_hour", "Claims per hour, by stream", true, sp->start,
	    sp->end);
	if ((rc = rq_day_claims_per_hour(j, sp, &rs, err)) == 0)
		for (size_t i = 0; i < rs.nrows; i++)
			series_add(chart_series(c, rows_text(&rs, i, 0), NULL),
			    sp->start + rows_int(&rs, i, 1) * HOUR_MS, rows_int(&rs, i, 2));
	rows_free(&rs);
	if (rc < 0)
		return -1;
	c = report_chart(r, "pending", "Pending entries after each run, by stream/group", false,
	    sp->start, sp->end);
	if ((rc = rq_day_pending(j, sp, &rs, err)) == 0) {
		for (size_t i = 0; i < rs.nrows; i++) {
			char *stream;
			if (rows_text(&rs, i, 1) == NULL)
				continue;       /* a run_end without names: nothing to draw */
			stream = stream_of(r, rows_text(&rs, i, 1));
			series_add(chart_series(c, rows_text(&rs, i, 1), stream), rows_int(&rs, i, 0),
			    rows_int(&rs, i, 2));
			free(stream);
		}
	}
	rows_free(&rs);
	return rc;
}

/*
 * The chain over the day's events, and the head at the end of the day:
 * each file's part of them (the archives read, oldest first, then the
 * journal's own) checked against it.
 */
static int
daily_verify(const struct config *cfg, struct journal *j, const struct archive_read *ar,
    const struct rspan *sp, struct report *r, struct xerr *err)
{
	struct chain_report cr = {.status = CHAIN_WHOLE}, part;
	struct rows rs;
	int64_t first, last, events = 0, lo;
	char line[512], head[CHAIN_HEX_LEN];

	if (rq_day_events(j, sp, &rs, err) < 0) {
		rows_free(&rs);
		return -1;
	}
	first = rs.nrows > 0 ? rows_int(&rs, 0, 0) : 0;
	last = rs.nrows > 0 ? rows_int(&rs, 0, 1) : 0;
	rows_free(&rs);
	if (first == 0) {
		report_kv_str(r, "verify", "no events that day");
		return 0;
	}
	lo = first;
	for (size_t k = 0; k <= ar->nparts && lo <= last; k++) {
		const struct archive_part *p = k < ar->nparts ? &ar->parts[ar->nparts - 1 - k] : NULL;
		int64_t hi = p != NULL && p->last_seq < last ? p->last_seq : last;
		int64_t from = p != NULL ? p->first_seq : ar->live_from;
		/* What an archive not read holds is not checked: it is said apart. */
		if (lo < from)
			lo = from;
		if (lo > hi)
			continue;
		if (chain_verify_range(p != NULL ? p->path : cfg->db_path, lo, hi, NULL, NULL, NULL,
		    &part, err) < 0)
			return -1;
		if (p != NULL && part.status != CHAIN_WHOLE)
			snprintf(part.archive, sizeof(part.archive), "%s", p->path);
		events += part.events;
		memcpy(cr.head, part.head, CHAIN_HASH_LEN);
		if (cr.status == CHAIN_WHOLE)
			cr = part;
		lo = hi + 1;
	}
	cr.events = events;
	verify_explain(&cr, line, sizeof(line));
	chain_hex(cr.head, head);
	report_kv_str(r, "verify", cr.status == CHAIN_WHOLE ? "whole" : line);
	report_kv_int(r, "events", cr.events, RC_INT);
	report_kv_int(r, "first_event", first, RC_INT);
	report_kv_int(r, "last_event", last, RC_INT);
	report_kv_str(r, "head", head);
	return 0;
}

/* ---------------------------------------------------------------- verdict */

static int64_t
kv_int(const struct report *r, const char *key)
{
	const struct rcell *c = report_kv(r, key);

	return c != NULL && c->type != RC_NULL && c->type != RC_STR ? c->i : 0;
}

/* "1 entry" or "3 entries". */
static void
count_of(struct buf *b, int64_t n, const char *one, const char *many)
{
	buf_printf(b, "%lld %s", (long long)n, n == 1 ? one : many);
}

/* Nothing lost, or how many entries were, and in which groups (five named, then a count). */
static void
verdict_lost(struct report *r, struct buf *b)
{
	const struct rtable *t = table_named(r, "groups");
	int64_t lost = kv_int(r, "lost");
	size_t shown = 0, groups = 0;

	buf_reset(b);
	if (lost == 0) {
		report_verdict(r, RL_OK, "Nothing lost.");
		return;
	}
	for (size_t i = 0; t != NULL && i < t->nrows; i++)
		groups += t->cells[i * t->ncols + 4].i > 0;
	count_of(b, lost, "entry lost", "entries lost");
	buf_adds(b, groups == 1 ? " in " : ": ");
	for (size_t i = 0; t != NULL && i < t->nrows && shown < 5; i++) {
		const struct rcell *row = &t->cells[i * t->ncols];
		if (row[4].i == 0)
			continue;
		if (shown++ > 0)
			buf_adds(b, ", ");
		if (groups > 1)
			buf_printf(b, "%lld in ", (long long)row[4].i);
		buf_printf(b, "%s/%s", row[0].s != NULL ? row[0].s : "-",
		    row[1].s != NULL ? row[1].s : "-");
	}
	if (groups > shown)
		buf_printf(b, " and %zu more groups", groups - shown);
	buf_addc(b, '.');
	report_verdict(r, RL_BAD, buf_str(b));
}

/* "04:58" of a time within the day, "24:00" at its end. */
static void
hhmm(int64_t t, int64_t day, char *out, size_t outlen)
{
	char s[40];

	if (t - day >= DAY_MS) {
		snprintf(out, outlen, "24:00");
		return;
	}
	format_utc(t, false, s, sizeof(s));
	snprintf(out, outlen, "%.5s", s + 11);
}

/* Every run accounted for: how each ended, and the gaps in the schedule. */
static void
verdict_runs(struct report *r, int64_t day, struct buf *b)
{
	const struct rtable *fails = table_named(r, "failures"), *gaps = table_named(r, "gaps");
	int64_t runs = kv_int(r, "runs"), warn = kv_int(r, "runs_warning");
	int64_t failed = 0, crashed = 0, open = 0;
	enum rlevel level = RL_OK;

	buf_reset(b);
	for (size_t i = 0; fails != NULL && i < fails->nrows; i++) {
		const char *st = fails->cells[i * fails->ncols + 2].s;
		if (st == NULL)
			failed++;
		else if (strcmp(st, "crashed") == 0)
			crashed++;
		else if (strcmp(st, "running") == 0)
			open++;
		else if (strcmp(st, "warning") != 0)
			failed++;
	}
	if (runs == 0) {
		report_verdict(r, RL_BAD, "No runs that day: the whole day is a gap in the schedule.");
		return;
	}
	buf_adds(b, open == 0 ? "Every run accounted for: " : "Not every run accounted for: ");
	count_of(b, runs, "run", "runs");
	buf_printf(b, ", %lld ok, %lld failed, %lld crashed", (long long)kv_int(r, "runs_ok"),
	    (long long)failed, (long long)crashed);
	if (warn > 0)
		buf_printf(b, ", %lld with a warning", (long long)warn);
	if (open > 0)
		buf_printf(b, ", %lld with no end in the journal (running, or crashed and not yet "
		    "seen by a later run)", (long long)open);
	if (gaps == NULL || gaps->nrows == 0) {
		buf_adds(b, "; no gap in the schedule.");
	} else {
		buf_adds(b, "; ");
		count_of(b, (int64_t)gaps->nrows, "gap", "gaps");
		buf_adds(b, " in the schedule: ");
		for (size_t i = 0; i < gaps->nrows && i < 3; i++) {
			const struct rcell *g = &gaps->cells[i * gaps->ncols];
			char a[16], z[16], len[32];
			hhmm(g[0].i, day, a, sizeof(a));
			hhmm(g[1].i, day, z, sizeof(z));
			format_age(g[2].i, len, sizeof(len));
			buf_printf(b, "%s%s to %s UTC (%s)", i > 0 ? ", " : "", a, z, len);
		}
		if (gaps->nrows > 3)
			buf_printf(b, " and %zu more", gaps->nrows - 3);
		buf_addc(b, '.');
	}
	if (failed > 0 || crashed > 0)
		level = RL_BAD;
	else if (warn > 0 || open > 0 || (gaps != NULL && gaps->nrows > 0))
		level = RL_WARN;
	report_verdict(r, level, buf_str(b));
}

/* The chain over the day's events: whole, with the head; or what is wrong with it. */
static void
verdict_chain(struct report *r, struct buf *b)
{
	const struct rcell *v = report_kv(r, "verify"), *head = report_kv(r, "head");

	buf_reset(b);
	if (v == NULL || v->s == NULL || head == NULL) {
		report_verdict(r, RL_WARN, "No events that day: no chain to check.");
		return;
	}
	if (strcmp(v->s, "whole") == 0) {
		buf_adds(b, "Chain whole: ");
		count_of(b, kv_int(r, "events"), "event", "events");
		buf_printf(b, " checked; head %s.", head->s);
		report_verdict(r, RL_OK, buf_str(b));
		return;
	}
	buf_printf(b, "Chain NOT whole: %s.", v->s);
	report_verdict(r, RL_BAD, buf_str(b));
}

/* The day's alerts, when there were any: all sent, or how many failed or wait. */
static void
verdict_alerts(struct report *r, struct buf *b)
{
	int64_t sent = kv_int(r, "alerts_sent"), failed = kv_int(r, "alerts_failed");
	int64_t pending = kv_int(r, "alerts_pending");

	buf_reset(b);
	if (sent + failed + pending == 0)
		return;
	buf_printf(b, "Alerts: %lld sent, %lld failed, %lld pending.", (long long)sent,
	    (long long)failed, (long long)pending);
	report_verdict(r, failed > 0 || pending > 0 ? RL_WARN : RL_OK, buf_str(b));
}

/* The day's sign-off, from what the report holds: nothing lost, every run, the chain. */
static void
daily_verdict(struct report *r, int64_t day)
{
	struct buf b = BUF_INIT;

	verdict_lost(r, &b);
	verdict_runs(r, day, &b);
	verdict_chain(r, &b);
	verdict_alerts(r, &b);
	buf_free(&b);
}

/* The day [day, day + 1 day): runs, groups, lists, charts, the chain over it, the verdict. */
static int
daily(const struct config *cfg, struct journal *j, const struct archive_read *ar, int64_t day,
    struct report *r, struct xerr *err)
{
	struct rspan sp = {.start = day, .end = day + DAY_MS};
	char date[32];

	if (journal_time_range(j, sp.start, sp.end, &sp.from, &sp.to, err) < 0)
		return -1;
	format_utc(day, false, date, sizeof(date));
	date[10] = '\0';
	r->kind = xstrdup("daily");
	r->title = xstrdup("xrecover daily report");
	report_kv_str(r, "date", date);
	if (daily_runs(j, &sp, r, err) < 0 || daily_groups(j, &sp, r, err) < 0 ||
	    daily_lists(j, &sp, r, err) < 0 || daily_charts(j, &sp, r, err) < 0 ||
	    daily_verify(cfg, j, ar, &sp, r, err) < 0)
		return -1;
	daily_verdict(r, day);
	return 0;
}

/* -------------------------------------------------------------- incidents */

static const char *const inc_keys[] = {"incident", "stream", "group", "consumer", "opened_at",
    "last_seen_at", "runs", "claimed", "lost", "dead_lettered", "replayed", "settled",
    "deleted_at"};
static const char *const inc_heads[] = {"INCIDENT", "STREAM", "GROUP", "CONSUMER", "OPENED",
    "LAST SEEN", "RUNS", "CLAIMED", "LOST", "DEAD-LETTERED", "REPLAYED", "SETTLED", "DELETED"};

/* The incidents opened in [since, until) (0: open-ended). */
static int
incidents(struct journal *j, int64_t since, int64_t until, struct report *r, struct xerr *err)
{
	int64_t from = 1, to = INT64_MAX;
	struct rtable *t;
	struct rows rs;

	r->kind = xstrdup("incidents");
	r->title = xstrdup("xrecover incidents");
	if ((since != 0 || until != 0) && journal_time_range(j, since, until != 0 ? until :
	    INT64_MAX / 2, &from, &to, err) < 0)
		return -1;
	t = report_table(r, "incidents", "Incidents", inc_keys, inc_heads, 13);
	if (table_rows(t, rq_incidents(j, from, to, since, until, &rs, err), &rs, 0) < 0)
		return -1;
	report_kv_int(r, "count", (int64_t)t->nrows, RC_INT);
	r->csv_table = xstrdup("incidents");
	return 0;
}

/* The title and the summary of incident id.  XR_ENOTHING when there is none. */
static int
incident_summary(struct journal *j, int64_t id, struct report *r, struct xerr *err)
{
	struct rows rs;
	char title[256];

	if (rq_incident(j, id, &rs, err) < 0) {
		rows_free(&rs);
		return -1;
	}
	if (rs.nrows == 0) {
		rows_free(&rs);
		return xerr_set(err, XR_ENOTHING, "there is no incident %lld (see report --incidents)",
		    (long long)id);
	}
	snprintf(title, sizeof(title), "xrecover incident %lld: consumer %s of %s/%s",
	    (long long)id, rows_text(&rs, 0, 3), rows_text(&rs, 0, 1), rows_text(&rs, 0, 2));
	r->title = xstrdup(title);
	summary_rows(r, &rs, 0, 13, inc_keys, true);
	rows_free(&rs);
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

/*
 * Each entry, with what became of it (of its last copy) and a look at its
 * payload; its deliveries are those at its last copy's claim, counting
 * every earlier one.
 */
static int
incident_entries(struct journal *j, int64_t id, struct report *r, struct xerr *err)
{
	static const char *const ek[] = {"entry_id", "claimed_at", "run", "deliveries", "fate",
	    "payload"};
	static const char *const eh[] = {"ENTRY", "CLAIMED", "RUN", "DELIVERIES", "FATE",
	    "PAYLOAD"};
	struct rtable *t = report_table(r, "entries", "Entries", ek, eh, 6);
	struct trace_reader *tr = NULL;
	struct rows rs;
	char buf[160];
	int rc = -1;

	if (rq_incident_entries(j, id, ENTRIES_SHOWN, &rs, err) < 0 ||
	    trace_reader_open(j, &tr, err) < 0)
		goto out;
	for (size_t i = 0; i < rs.nrows; i++) {
		size_t row = rtable_row(t);
		struct chain_fate f;

		cell_from(t, row, 0, rows_at(&rs, i, 0), RC_INT);
		cell_from(t, row, 1, rows_at(&rs, i, 1), RC_TIME);
		cell_from(t, row, 2, rows_at(&rs, i, 2), RC_INT);
		/* What became of it: of its chain of copies, as trace tells it. */
		if (chain_fate(tr, rows_int(&rs, i, 3), &f, err) < 0)
			goto out;
		rtable_int(t, row, 3, f.deliveries, RC_INT);
		rtable_str(t, row, 4, f.fate);
		chain_fate_free(&f);
		preview(rows_text(&rs, i, 4), 60, buf, sizeof(buf));
		rtable_str(t, row, 5, rows_at(&rs, i, 4)->type != RV_NULL ? buf : NULL);
	}
	rc = 0;
out:
	trace_reader_close(tr);
	rows_free(&rs);
	return rc;
}

/* One incident: its summary, its timeline earliest first, and its entries' fates. */
static int
incident(struct journal *j, int64_t id, struct report *r, struct xerr *err)
{
	static const char *const tk[] = {"at", "event", "count", "detail"};
	static const char *const th[] = {"AT", "EVENT", "COUNT", "DETAIL"};
	const struct rcell *claimed;
	struct rtable *t;
	struct rows rs;

	r->kind = xstrdup("incident");
	if (incident_summary(j, id, r, err) < 0)
		return -1;
	t = report_table(r, "timeline", "Timeline", tk, th, 4);
	if (table_rows(t, rq_incident_timeline(j, id, &rs, err), &rs, 1u << 0) < 0 ||
	    incident_entries(j, id, r, err) < 0)
		return -1;
	claimed = report_kv(r, "claimed");
	if (claimed != NULL && claimed->i > ENTRIES_SHOWN)
		report_kv_str(r, "entries_shown", "the first 1000");
	r->csv_table = xstrdup("entries");
	return 0;
}

/* -------------------------------------------------------------------- run */

/* One run: its summary, and per stream and group what it did, and its errors. */
static int
run(struct journal *j, int64_t id, struct report *r, struct xerr *err)
{
	static const char *const gk[] = {"stream", "group", "claimed", "reconciled", "lost",
	    "deleted", "dead_lettered", "redelivered", "settled", "incidents"};
	static const char *const gh[] = {"STREAM", "GROUP", "CLAIMED", "RECONCILED", "LOST",
	    "DELETED", "DEAD-LETTERED", "REDELIVERED", "SETTLED", "INCIDENTS"};
	static const char *const ek[] = {"stream", "group", "error"};
	static const char *const eh[] = {"STREAM", "GROUP", "ERROR"};
	struct rtable *t;
	struct rows rs;
	int64_t s_seq = 0, e_seq = INT64_MAX;
	char title[64];

	r->kind = xstrdup("run");
	snprintf(title, sizeof(title), "xrecover run %lld", (long long)id);
	r->title = xstrdup(title);
	if (rq_run(j, id, &rs, err) < 0) {
		rows_free(&rs);
		return -1;
	}
	if (rs.nrows > 0) {
		/* the run's columns, then where its events lie: from its start to its end */
		summary_rows(r, &rs, 0, rs.ncols - 2, NULL, false);
		s_seq = rows_int(&rs, 0, rs.ncols - 2);
		if (rows_at(&rs, 0, rs.ncols - 1)->type != RV_NULL)
			e_seq = rows_int(&rs, 0, rs.ncols - 1);
	}
	rows_free(&rs);
	if (s_seq == 0)
		return xerr_set(err, XR_ENOTHING, "there is no run %lld in the journal", (long long)id);
	t = report_table(r, "groups", "Per stream and group", gk, gh, 10);
	if (table_rows(t, rq_run_groups(j, id, s_seq, e_seq, &rs, err), &rs, 0) < 0)
		return -1;
	t = report_table(r, "errors", "Errors", ek, eh, 3);
	if (table_rows(t, rq_run_errors(j, id, s_seq, e_seq, &rs, err), &rs, 0) < 0)
		return -1;
	r->csv_table = xstrdup("groups");
	return 0;
}

int
report_build(const struct config *cfg, const struct report_request *req, struct report *ret,
    struct xerr *err)
{
	struct archive_need need = {0};
	struct archive_read ar = {0};
	struct journal *j;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (journal_open(cfg->db_path, JOURNAL_READ, &j, err) < 0)
		return -1;
	/* The archives that may hold it (and what followed it), read with the journal. */
	if (req->what == REPORT_DAILY)
		need.ts = req->day_ms - HOUR_MS;
	else if (req->what == REPORT_INCIDENTS && req->since != 0)
		need.ts = req->since - HOUR_MS;
	else if (req->what == REPORT_INCIDENT)
		need.seq = req->id;
	else if (req->what == REPORT_RUN)
		need.run = req->id;
	if (archive_span(cfg->db_path, j, &need, "report", &ar, err) < 0)
		goto out;
	switch (req->what) {
	case REPORT_DAILY:
		rc = daily(cfg, j, &ar, req->day_ms, ret, err);
		break;
	case REPORT_INCIDENTS:
		rc = incidents(j, req->since, req->until, ret, err);
		break;
	case REPORT_INCIDENT:
		rc = incident(j, req->id, ret, err);
		break;
	case REPORT_RUN:
		rc = run(j, req->id, ret, err);
		break;
	}
	if (rc < 0)
		archive_unread_err(err, &ar);
	/* The lines of the archives not read go with the report. */
	ret->unread = ar.unread;
	ret->nunread = ar.nunread;
	ar.unread = NULL;
	ar.nunread = 0;
out:
	archive_read_free(&ar);
	journal_close(j);
	return rc;
}

/* ------------------------------------------------------------- --notify */

/*
 * Another process was delivering and sends alert too (outbox.h): what it
 * made of it, waited for (the journal's lock let go) while the budget
 * lasts.  OUT: ret->sent_elsewhere.
 */
static int
wait_sent(struct journal *j, int64_t alert, int64_t deadline, struct outbox_result *ret,
    struct xerr *err)
{
	journal_unlock(j);
	for (;;) {
		struct rows rs;
		int64_t sent, pending;

		if (rq_metrics_alerts(j, alert, alert, &rs, err) < 0) {
			rows_free(&rs);
			return -1;
		}
		sent = rows_int(&rs, 0, 0);
		pending = rows_int(&rs, 0, 2);
		rows_free(&rs);
		ret->sent_elsewhere = sent;
		if (pending == 0 || mono_ms() >= deadline)
			return 0;
		sleep_ms(100);
	}
}

int
report_notify(const struct config *cfg, const struct report *r, enum alert_mode mode,
    struct outbox_result *ret, int64_t *ret_alert, struct xerr *err)
{
	static const struct {
		const char *key, *text;
	} counts[] = {
		{"runs", "runs"},
		{"runs_failed", "runs that failed"},
		{"schedule_gaps", "gaps in the schedule"},
		{"claimed", "entries claimed"},
		{"lost", "entries lost"},
		{"dead_lettered", "dead letters"},
		{"replay_batches", "replays"},
	};
	struct alert_line lines[sizeof(counts) / sizeof(counts[0]) + 1];
	const struct rcell *date = report_kv(r, "date");
	struct journal *j = NULL;
	struct buf title = BUF_INIT, cmd = BUF_INIT;
	struct alert a;
	char host[256] = "", head[65];
	int64_t head_seq, lost = kv_int(r, "lost");
	size_t want = 0;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	*ret_alert = 0;
	memset(&a, 0, sizeof(a));
	a.rule = "report";
	for (size_t i = 0; i < cfg->nwebhooks; i++)
		want += outbox_wants(&cfg->webhooks[i], &a);
	if (cfg->nwebhooks == 0)
		return xerr_set(err, XR_EUSAGE, "--notify: no webhooks configured (see \"webhooks\" "
		    "in docs/alerts.md)");
	if (want == 0)
		return xerr_set(err, XR_EUSAGE, "--notify: no webhook wants the rule 'report' (see "
		    "their \"rules\")");
	if (journal_open(cfg->db_path, JOURNAL_WRITE, &j, err) < 0 ||
	    journal_lock(j, cfg->lock_timeout_ms, err) < 0 ||
	    journal_head(j, head, &head_seq, err) < 0)
		goto out;
	buf_printf(&title, "daily report %s: ", date != NULL && date->s != NULL ? date->s : "?");
	if (lost == 0)
		buf_adds(&title, "nothing lost");
	else
		count_of(&title, lost, "entry lost", "entries lost");
	buf_printf(&title, "; journal head %lld %s", (long long)head_seq, head);
	buf_printf(&cmd, "xrecover report --daily --date %s",
	    date != NULL && date->s != NULL ? date->s : "?");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		lines[i].text = counts[i].text;
		lines[i].count = kv_int(r, counts[i].key);
	}
	lines[sizeof(counts) / sizeof(counts[0])].text = "journal head at event";
	lines[sizeof(counts) / sizeof(counts[0])].count = head_seq;
	gethostname(host, sizeof(host) - 1);
	a.mode = mode;
	a.host = host;
	a.severity = SEV_INFO;
	a.state = NULL;
	a.title = buf_str(&title);
	a.lines = lines;
	a.nlines = sizeof(lines) / sizeof(lines[0]);
	a.command = buf_str(&cmd);
	a.time_ms = now_ms();
	int64_t deadline = mono_ms() + cfg->alert_budget_ms;
	if (outbox_raise(j, cfg, 0, &a, ret_alert, err) < 0 ||
	    outbox_deliver(j, cfg, 0, cfg->alert_budget_ms, ret, err) < 0 ||
	    (ret->left[0] != '\0' && wait_sent(j, *ret_alert, deadline, ret, err) < 0))
		goto out;
	rc = 0;
out:
	journal_close(j);
	buf_free(&title);
	buf_free(&cmd);
	return rc;
}
