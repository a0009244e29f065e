/* metrics.c: the Prometheus text format of the journal and a run (see metrics.h). */
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "../store/journal.h"
#include "../store/report.h"
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
	const char *stream, *group;             /* borrowed from the rows or the run */
	long long c[NCOUNTERS];
	const struct group_result *g;           /* NULL: the run did not see it */
};

struct mgroups {
	struct mgroup *v;
	size_t n, cap;
};

static struct mgroup *
mg_add(struct mgroups *m, const char *stream, const char *group)
{
	struct mgroup *g;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	g = &m->v[m->n++];
	memset(g, 0, sizeof(*g));
	g->stream = stream;
	g->group = group;
	return g;
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
mg_merge(struct mgroups *m)
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
	}
	m->n = k + 1;
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

/* The counters from the journal, the run's groups beside them. */
static int
gather(struct journal *j, const struct recover_result *r, struct mgroups *m, struct rows *rg,
    struct rows *rd, struct xerr *err)
{
	if (rq_metrics_groups(j, rg, err) < 0 || rq_metrics_redelivered(j, rd, err) < 0)
		return -1;
	for (size_t i = 0; i < rg->nrows; i++) {
		struct mgroup *g = mg_add(m, rows_text(rg, i, 0), rows_text(rg, i, 1));
		if (g->stream == NULL || g->group == NULL) {
			m->n--;         /* a name stored as a number: not one xrecover wrote */
			continue;
		}
		g->c[C_CLAIMED] = rows_int(rg, i, 2);
		g->c[C_DELETED] = rows_int(rg, i, 3);
		g->c[C_LOST] = rows_int(rg, i, 4);
		g->c[C_DEAD] = rows_int(rg, i, 5);
	}
	for (size_t i = 0; i < rd->nrows; i++) {
		struct mgroup *g = mg_add(m, rows_text(rd, i, 0), rows_text(rd, i, 1));
		if (g->stream == NULL || g->group == NULL) {
			m->n--;
			continue;
		}
		g->c[C_REDELIVERED] = rows_int(rd, i, 2);
	}
	for (size_t i = 0; r != NULL && i < r->ngroups; i++)
		if (r->groups[i].group != NULL)
			mg_add(m, r->groups[i].stream, r->groups[i].group)->g = &r->groups[i];
	mg_merge(m);
	return 0;
}

/* The run's gauges of each group it saw. */
static void
group_gauges(struct buf *b, const struct mgroups *m)
{
	static const char *const names[] = {"xrecover_pending", "xrecover_held",
	    "xrecover_stale", "xrecover_claim_idle_seconds"};
	static const char *const helps[] = {
		"Entries pending in the group after the last run (XPENDING).",
		"Entries pending on the recovery consumer after the last run.",
		"Entries idle past the claim threshold that the last run left on a consumer "
		    "that is not silent.",
		"The claim threshold the last run used for the group.",
	};

	for (int f = 0; f < 4; f++) {
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
			}
		}
	}
}

/* The outbox: alerts sent and failed (counters), pending (a gauge); pairs of alert and webhook. */
static int
alerts(struct journal *j, struct buf *b, struct xerr *err)
{
	struct rows ra = {0};

	if (rq_metrics_alerts(j, &ra, err) < 0) {
		rows_free(&ra);
		return -1;
	}
	family(b, "xrecover_alerts_sent_total", "counter",
	    "Alerts delivered, one per alert and webhook (whole journal).");
	buf_printf(b, "xrecover_alerts_sent_total %lld\n", (long long)rows_int(&ra, 0, 0));
	family(b, "xrecover_alerts_failed_total", "counter",
	    "Alerts given up on, one per alert and webhook (whole journal).");
	buf_printf(b, "xrecover_alerts_failed_total %lld\n", (long long)rows_int(&ra, 0, 1));
	family(b, "xrecover_alerts_pending", "gauge",
	    "Alerts still to be delivered, one per alert and webhook.");
	buf_printf(b, "xrecover_alerts_pending %lld\n", (long long)rows_int(&ra, 0, 2));
	rows_free(&ra);
	return 0;
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

int
metrics_build(const struct config *cfg, const struct recover_result *r, struct buf *out,
    struct xerr *err)
{
	struct journal *j = NULL;
	struct mgroups m = {0};
	struct rows rg = {0}, rd = {0}, rs = {0};
	int rc = -1;

	if (journal_open(cfg->db_path, JOURNAL_READ, &j, err) < 0)
		return -1;
	if (gather(j, r, &m, &rg, &rd, err) < 0)
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
	if (last_run(j, r, out, err) < 0 || alerts(j, out, err) < 0 ||
	    rq_metrics_size(j, &rs, err) < 0)
		goto out;
	family(out, "xrecover_journal_size_bytes", "gauge", "The journal's size in bytes.");
	buf_printf(out, "xrecover_journal_size_bytes %lld\n",
	    rs.nrows > 0 ? (long long)rows_int(&rs, 0, 0) : 0LL);
	rc = 0;
out:
	free(m.v);
	rows_free(&rg);
	rows_free(&rd);
	rows_free(&rs);
	journal_close(j);
	return rc;
}
