/* metrics.c: the Prometheus text format of the journal and a run (see metrics.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "../store/journal.h"
#include "../store/report.h"
#include "../store/verify.h"
#include "metrics.h"

enum { C_CLAIMED, C_DELETED, C_LOST, C_DEAD, C_REDELIVERED, NCOUNTERS };

static const struct family {
	const char *name, *help;
} counters[NCOUNTERS] = {
	{"xrecover_claimed_total",
	    "Entries claimed into the recovery consumer, reconciled claims included (whole journal)."},
	{"xrecover_deleted_consumers_total",
	    "Consumers deleted: nothing pending, quiet at least zombie_idle (whole journal)."},
	{"xrecover_lost_total",
	    "Pending entries found deleted from the stream; their fields are gone (whole journal)."},
	{"xrecover_dead_lettered_total",
	    "Entries moved to a dead-letter stream (whole journal)."},
	{"xrecover_redelivered_total",
	    "Copies of held entries that runs made with --action redeliver (whole journal)."},
};

/* One stream and group: its totals from the journal and what the run saw of it. */
struct mgroup {
	char *stream, *group;
	long long c[NCOUNTERS];
	const struct group_result *g;           /* NULL: the run did not see it */
};

/* The counters: per group, and the outbox's (pending: a gauge, never archived). */
struct mtotals {
	struct mgroup *v;
	size_t n, cap;
	long long sent, failed, pending;
};

static struct mgroup *
mg_add(struct mtotals *m, const char *stream, const char *group)
{
	struct mgroup *g;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	g = &m->v[m->n++];
	memset(g, 0, sizeof(*g));
	g->stream = xstrdup(stream);
	g->group = xstrdup(group);
	return g;
}

static void
mg_free(struct mtotals *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].stream);
		free(m->v[i].group);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int
mg_cmp(const void *a, const void *b)
{
	const struct mgroup *x = a, *y = b;
	int c = strcmp(x->stream, y->stream);

	return c != 0 ? c : strcmp(x->group, y->group);
}

/* Sorts by stream and group and folds the rows of one group into one. */
static void
mg_merge(struct mtotals *m)
{
	size_t k = 0;

	if (m->n == 0)
		return;
	qsort(m->v, m->n, sizeof(*m->v), mg_cmp);
	for (size_t i = 1; i < m->n; i++) {
		struct mgroup *d = &m->v[k], *s = &m->v[i];
		if (mg_cmp(d, s) != 0) {
			m->v[++k] = *s;
			continue;
		}
		for (int c = 0; c < NCOUNTERS; c++)
			d->c[c] += s->c[c];
		if (d->g == NULL)
			d->g = s->g;
		free(s->stream);
		free(s->group);
	}
	m->n = k + 1;
}

/* The counters of the events with seq in [from, to], added to m. */
static int
count_range(struct journal *j, int64_t from, int64_t to, struct mtotals *m, struct xerr *err)
{
	struct rows rg = {0}, rd = {0}, ra = {0};
	int rc = -1;

	if (rq_metrics_groups(j, from, to, &rg, err) < 0 ||
	    rq_metrics_redelivered(j, from, to, &rd, err) < 0 ||
	    rq_metrics_alerts(j, from, to, &ra, err) < 0)
		goto out;
	for (size_t i = 0; i < rg.nrows; i++) {
		struct mgroup *g;
		/* a name stored as a number: not one xrecover wrote */
		if (rows_text(&rg, i, 0) == NULL || rows_text(&rg, i, 1) == NULL)
			continue;
		g = mg_add(m, rows_text(&rg, i, 0), rows_text(&rg, i, 1));
		g->c[C_CLAIMED] = rows_int(&rg, i, 2);
		g->c[C_DELETED] = rows_int(&rg, i, 3);
		g->c[C_LOST] = rows_int(&rg, i, 4);
		g->c[C_DEAD] = rows_int(&rg, i, 5);
	}
	for (size_t i = 0; i < rd.nrows; i++)
		if (rows_text(&rd, i, 0) != NULL && rows_text(&rd, i, 1) != NULL)
			mg_add(m, rows_text(&rd, i, 0), rows_text(&rd, i, 1))->c[C_REDELIVERED] =
			    rows_int(&rd, i, 2);
	if (ra.nrows > 0) {
		m->sent += rows_int(&ra, 0, 0);
		m->failed += rows_int(&ra, 0, 1);
		m->pending += rows_int(&ra, 0, 2);
	}
	rc = 0;
out:
	rows_free(&rg);
	rows_free(&rd);
	rows_free(&ra);
	return rc;
}

#define ALERTS_SENT "xrecover_alerts_sent_total"
#define ALERTS_FAILED "xrecover_alerts_failed_total"

/* The counters of the events archived so far (rq_metrics_archived), added to m. */
static int
count_archived(struct journal *j, struct mtotals *m, struct xerr *err)
{
	struct rows rt = {0};

	if (rq_metrics_archived(j, &rt, err) < 0) {
		rows_free(&rt);
		return -1;
	}
	for (size_t i = 0; i < rt.nrows; i++) {
		const char *fam = rows_text(&rt, i, 0), *st = rows_text(&rt, i, 1);
		const char *gr = rows_text(&rt, i, 2);
		long long n = rows_int(&rt, i, 3);

		if (fam == NULL)
			continue;
		if (strcmp(fam, ALERTS_SENT) == 0)
			m->sent += n;
		else if (strcmp(fam, ALERTS_FAILED) == 0)
			m->failed += n;
		for (int f = 0; f < NCOUNTERS && st != NULL && gr != NULL; f++)
			if (strcmp(fam, counters[f].name) == 0)
				mg_add(m, st, gr)->c[f] = n;
	}
	rows_free(&rt);
	return 0;
}

int
metrics_archive_totals(struct journal *j, int64_t from, int64_t to,
    struct archive_total **ret, size_t *ret_n, struct xerr *err)
{
	struct mtotals m = {0};
	struct archive_total *v;
	size_t n = 0;

	if (count_archived(j, &m, err) < 0 || count_range(j, from, to, &m, err) < 0) {
		mg_free(&m);
		return -1;
	}
	mg_merge(&m);
	v = xcalloc(m.n * NCOUNTERS + 2, sizeof(*v));
	for (size_t i = 0; i < m.n; i++)
		for (int f = 0; f < NCOUNTERS; f++)
			if (m.v[i].c[f] > 0)
				v[n++] = (struct archive_total){xstrdup(counters[f].name),
				    xstrdup(m.v[i].stream), xstrdup(m.v[i].group), m.v[i].c[f], 0};
	if (m.sent > 0)
		v[n++] = (struct archive_total){xstrdup(ALERTS_SENT), NULL, NULL, m.sent, 0};
	if (m.failed > 0)
		v[n++] = (struct archive_total){xstrdup(ALERTS_FAILED), NULL, NULL, m.failed, 0};
	mg_free(&m);
	*ret = v;
	*ret_n = n;
	return 0;
}


void
metrics_label_value(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)s[i];
		size_t len;

		if (ch == '\\' || ch == '"') {
			buf_addc(b, '\\');
			buf_addc(b, (char)ch);
			i++;
		} else if (ch == '\n') {
			buf_adds(b, "\\n");
			i++;
		} else if (ch < 0x80) {
			buf_addc(b, (char)ch);
			i++;
		} else if ((len = utf8_seq(s + i, n - i)) > 0) {
			buf_add(b, s + i, len);
			i += len;
		} else {
			/* The format is UTF-8: a byte that is not becomes U+FFFD. */
			buf_adds(b, "\xef\xbf\xbd");
			i++;
		}
	}
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
sample_start(struct buf *b, const char *name, const struct mgroup *g)
{
	buf_printf(b, "%s{stream=\"", name);
	metrics_label_value(b, g->stream);
	buf_adds(b, "\",group=\"");
	metrics_label_value(b, g->group);
	buf_adds(b, "\"} ");
}

/* Milliseconds as seconds, exactly: "12.345". */
static void
seconds(struct buf *b, int64_t ms)
{
	if (ms < 0)
		buf_printf(b, "-%lld.%03lld\n", (long long)(-ms / 1000), (long long)(-ms % 1000));
	else
		buf_printf(b, "%lld.%03lld\n", (long long)(ms / 1000), (long long)(ms % 1000));
}

/*
 * The counters: those of the events archived so far and of the journal's,
 * summed, with the run's groups beside them.
 */
static int
gather(struct journal *j, const struct recover_result *r, struct mtotals *m, struct xerr *err)
{
	if (count_archived(j, m, err) < 0 || count_range(j, 0, INT64_MAX, m, err) < 0)
		return -1;
	for (size_t i = 0; r != NULL && i < r->ngroups; i++)
		if (r->groups[i].group != NULL)
			mg_add(m, r->groups[i].stream, r->groups[i].group)->g = &r->groups[i];
	mg_merge(m);
	return 0;
}

/* The run's gauges of each group it saw. */
static void
group_gauges(struct buf *b, const struct mtotals *m)
{
	static const char *const names[] = {"xrecover_pending", "xrecover_held",
	    "xrecover_stale", "xrecover_claim_idle_seconds", "xrecover_consumers"};
	static const char *const helps[] = {
		"Entries pending in the group after the last run (XPENDING).",
		"Entries pending on the recovery consumer after the last run.",
		"Entries idle past the claim threshold that the last run left on a consumer "
		    "that is not silent.",
		"The claim threshold the last run used for the group.",
		"Consumers of the group after the last run, the recovery consumer not counted "
		    "(none when the run did not clean).",
	};

	for (int f = 0; f < 5; f++) {
		family(b, names[f], "gauge", helps[f]);
		for (size_t i = 0; i < m->n; i++) {
			const struct group_result *g = m->v[i].g;
			if (g == NULL)
				continue;
			if (f == 0 && g->pending >= 0) {
				sample_start(b, names[f], &m->v[i]);
				buf_printf(b, "%lld\n", g->pending);
			} else if (f == 1 && g->held >= 0) {
				sample_start(b, names[f], &m->v[i]);
				buf_printf(b, "%lld\n", g->held);
			} else if (f == 2 && g->stale >= 0) {
				sample_start(b, names[f], &m->v[i]);
				buf_printf(b, "%lld\n", g->stale);
			} else if (f == 3 && g->idle.ms >= 0) {
				sample_start(b, names[f], &m->v[i]);
				seconds(b, g->idle.ms);
			} else if (f == 4 && g->consumers >= 0) {
				sample_start(b, names[f], &m->v[i]);
				buf_printf(b, "%lld\n", g->consumers);
			}
		}
	}
}

/* The outbox: alerts sent and failed (counters), pending (a gauge); pairs of alert and webhook. */
static void
alerts(const struct mtotals *m, struct buf *b)
{
	family(b, ALERTS_SENT, "counter",
	    "Alerts delivered, one per alert and webhook (whole journal).");
	buf_printf(b, ALERTS_SENT " %lld\n", m->sent);
	family(b, ALERTS_FAILED, "counter",
	    "Alerts given up on, one per alert and webhook (whole journal).");
	buf_printf(b, ALERTS_FAILED " %lld\n", m->failed);
	family(b, "xrecover_alerts_pending", "gauge",
	    "Alerts still to be delivered, one per alert and webhook.");
	buf_printf(b, "xrecover_alerts_pending %lld\n", m->pending);
}

/* The last run: r, or the journal's newest run_end. */
static int
last_run(struct journal *j, const struct recover_result *r, struct buf *b, struct xerr *err)
{
	struct rows rl = {0};
	int64_t end_ms, dur_ms;
	bool ok;

	if (r != NULL) {
		end_ms = r->started_ms + r->duration_ms;
		dur_ms = r->duration_ms;
		ok = r->status != NULL && strcmp(r->status, "ok") == 0;
	} else {
		if (rq_metrics_last_run(j, &rl, err) < 0) {
			rows_free(&rl);
			return -1;
		}
		if (rl.nrows == 0) {
			rows_free(&rl);
			return 0;
		}
		end_ms = rows_int(&rl, 0, 1);
		dur_ms = rows_int(&rl, 0, 3);
		ok = rows_text(&rl, 0, 2) != NULL && strcmp(rows_text(&rl, 0, 2), "ok") == 0;
		rows_free(&rl);
	}
	family(b, "xrecover_last_run_timestamp_seconds", "gauge",
	    "When the last run ended (Unix time).");
	buf_adds(b, "xrecover_last_run_timestamp_seconds ");
	seconds(b, end_ms);
	family(b, "xrecover_last_run_success", "gauge",
	    "1 when the last run ended with status ok, 0 when failed, interrupted or warning.");
	buf_printf(b, "xrecover_last_run_success %d\n", ok ? 1 : 0);
	family(b, "xrecover_run_duration_seconds", "gauge", "How long the last run took.");
	buf_adds(b, "xrecover_run_duration_seconds ");
	seconds(b, dur_ms);
	return 0;
}

/* The journal's last verify (store/verify.h), when one was recorded. */
static void
verified(const char *db, struct buf *b)
{
	struct chain_record v;

	if (chain_record_read(db, &v) < 0)
		return;
	family(b, "xrecover_journal_verify_timestamp_seconds", "gauge",
	    "When the journal's chain was last verified (Unix time).");
	buf_adds(b, "xrecover_journal_verify_timestamp_seconds ");
	seconds(b, v.at_ms);
	family(b, "xrecover_journal_verify_ok", "gauge",
	    "1 when the last verify found the chain whole, 0 when broken.");
	buf_printf(b, "xrecover_journal_verify_ok %d\n", v.ok ? 1 : 0);
}

int
metrics_build(const struct config *cfg, const struct recover_result *r, struct buf *out,
    struct xerr *err)
{
	struct journal *j = NULL;
	struct mtotals m = {0};
	struct rows rs = {0};
	int rc = -1;

	if (journal_open(cfg->db_path, JOURNAL_READ, &j, err) < 0)
		return -1;
	if (gather(j, r, &m, err) < 0)
		goto out;
	for (int f = 0; f < NCOUNTERS; f++) {
		family(out, counters[f].name, "counter", counters[f].help);
		for (size_t i = 0; i < m.n; i++) {
			sample_start(out, counters[f].name, &m.v[i]);
			buf_printf(out, "%lld\n", m.v[i].c[f]);
		}
	}
	if (r != NULL)
		group_gauges(out, &m);
	if (last_run(j, r, out, err) < 0)
		goto out;
	alerts(&m, out);
	if (rq_metrics_size(j, &rs, err) < 0)
		goto out;
	family(out, "xrecover_journal_size_bytes", "gauge", "The journal's size in bytes.");
	buf_printf(out, "xrecover_journal_size_bytes %lld\n",
	    rs.nrows > 0 ? (long long)rows_int(&rs, 0, 0) : 0LL);
	verified(cfg->db_path, out);
	rc = 0;
out:
	mg_free(&m);
	rows_free(&rs);
	journal_close(j);
	return rc;
}
