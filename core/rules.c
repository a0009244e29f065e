/* rules.c: which alerts a run raises (rules.h). */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/util.h"
#include "../store/report.h"
#include "outbox.h"
#include "rules.h"

#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)

/* threshold "auto": earlier windows looked at, and how many are enough */
#define AUTO_SPAN_MS (7 * DAY_MS)
#define AUTO_MIN_WINDOWS 24
/* ... and how far above the median is far: this many MADs (at least 1 each) */
#define AUTO_K 5

enum rule_id {
	R_CLAIMED, R_DELETED, R_PENDING, R_FAILED, R_LOST, R_DEAD_LETTER, R_HELD, R_MISSING,
	R_CRASHED, R_SILENT, NRULES
};

/* What a rule's "threshold" is: none, a count, a duration, a number of intervals. */
enum thr_kind { T_NONE, T_COUNT, T_DURATION };

static const struct rule_def {
	const char *name;
	enum thr_kind thr;
	long long threshold;        /* the default: a count, ms, or intervals */
	bool window;                /* has a "window" (and may be "auto") */
	enum severity severity;
	const char *what;           /* for a resolved alert's title */
} defs[NRULES] = {
	[R_CLAIMED] = {"claimed", T_COUNT, 10, true, SEV_WARNING,
	    "entries claimed above the threshold"},
	[R_DELETED] = {"deleted", T_COUNT, 1, true, SEV_WARNING,
	    "consumers deleted above the threshold"},
	[R_PENDING] = {"pending", T_COUNT, 100, false, SEV_WARNING,
	    "pending above the threshold"},
	[R_FAILED] = {"failed", T_NONE, 0, false, SEV_CRITICAL, "runs failing"},
	[R_LOST] = {"lost", T_COUNT, 0, false, SEV_CRITICAL, "entries lost"},
	[R_DEAD_LETTER] = {"dead_letter", T_COUNT, 0, false, SEV_WARNING,
	    "entries dead-lettered"},
	[R_HELD] = {"held", T_DURATION, HOUR_MS, false, SEV_WARNING,
	    "entries held too long"},
	[R_MISSING] = {"missing", T_NONE, 0, false, SEV_WARNING, "stream or group missing"},
	[R_CRASHED] = {"crashed", T_NONE, 0, false, SEV_WARNING, "work of crashed runs found"},
	[R_SILENT] = {"silent", T_COUNT, 3, false, SEV_WARNING, "the schedule silent"},
};

/* A rule as the config has it. */
struct rule_conf {
	bool enabled;
	bool autothr;               /* "threshold": "auto" */
	long long threshold;
	int64_t window_ms;
	enum severity severity;
	int64_t cooldown_ms;        /* -1: alert_cooldown */
};

/* ------------------------------------------------------------- config */

static int
rule_find(const char *name)
{
	for (int i = 0; i < NRULES; i++)
		if (strcmp(defs[i].name, name) == 0)
			return i;
	return -1;
}

/* A duration: a string ("30m") or a whole number of seconds. */
static int
json_duration(const cJSON *v, const char *where, const char *rule, const char *key,
    int64_t *ret, struct xerr *err)
{
	char num[32];

	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 3153600000.0 &&
	    v->valuedouble == (double)(long long)v->valuedouble) {
		snprintf(num, sizeof(num), "%lld", (long long)v->valuedouble);
		if (parse_duration(num, ret) == 0)
			return 0;
	}
	if (cJSON_IsString(v) && parse_duration(v->valuestring, ret) == 0)
		return 0;
	return xerr_set(err, XR_EUSAGE, "%s: rule '%s': '%s' must be a duration (30m, 1h) or "
	    "whole seconds", where, rule, key);
}

static int
rule_key(struct rule_conf *c, int r, const cJSON *v, const char *where, struct xerr *err)
{
	const char *rule = defs[r].name, *key = v->string;

	if (strcmp(key, "enabled") == 0) {
		if (!cJSON_IsBool(v))
			return xerr_set(err, XR_EUSAGE, "%s: rule '%s': 'enabled' must be true or false",
			    where, rule);
		c->enabled = cJSON_IsTrue(v);
	} else if (strcmp(key, "severity") == 0) {
		int s = cJSON_IsString(v) ? severity_parse(v->valuestring) : -1;
		if (s < 0)
			return xerr_set(err, XR_EUSAGE, "%s: rule '%s': 'severity' must be info, "
			    "warning or critical", where, rule);
		c->severity = (enum severity)s;
	} else if (strcmp(key, "cooldown") == 0) {
		return json_duration(v, where, rule, key, &c->cooldown_ms, err);
	} else if (strcmp(key, "window") == 0 && defs[r].window) {
		if (json_duration(v, where, rule, key, &c->window_ms, err) < 0)
			return -1;
		if (c->window_ms <= 0)
			return xerr_set(err, XR_EUSAGE, "%s: rule '%s': 'window' must be above 0",
			    where, rule);
	} else if (strcmp(key, "threshold") == 0 && defs[r].thr == T_DURATION) {
		int64_t ms;
		if (json_duration(v, where, rule, key, &ms, err) < 0)
			return -1;
		c->threshold = ms;
	} else if (strcmp(key, "threshold") == 0 && defs[r].thr == T_COUNT) {
		if (defs[r].window && cJSON_IsString(v) && strcmp(v->valuestring, "auto") == 0) {
			c->autothr = true;
			return 0;
		}
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15 ||
		    v->valuedouble != (double)(long long)v->valuedouble)
			return xerr_set(err, XR_EUSAGE, "%s: rule '%s': 'threshold' must be a whole "
			    "number from 0%s", where, rule, defs[r].window ? ", or \"auto\"" : "");
		c->threshold = (long long)v->valuedouble;
		c->autothr = false;
	} else {
		return xerr_set(err, XR_EUSAGE, "%s: rule '%s': unknown key '%s' (keys: enabled, "
		    "severity, cooldown%s%s)", where, rule, key,
		    defs[r].thr != T_NONE ? ", threshold" : "", defs[r].window ? ", window" : "");
	}
	return 0;
}

/* The rules: the defaults, changed by json (NULL: none). */
static int
rules_parse(const char *json, const char *where, struct rule_conf c[NRULES], struct xerr *err)
{
	cJSON *root;
	const cJSON *obj, *it;
	int rc = 0;

	for (int i = 0; i < NRULES; i++)
		c[i] = (struct rule_conf){true, false, defs[i].threshold, HOUR_MS, defs[i].severity, -1};
	if (json == NULL)
		return 0;
	if ((root = cJSON_Parse(json)) == NULL || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return xerr_set(err, XR_EUSAGE, "%s must be an object", where);
	}
	cJSON_ArrayForEach(obj, root) {
		int r = rule_find(obj->string);
		if (r < 0) {
			rc = xerr_set(err, XR_EUSAGE, "%s: unknown rule '%s' (rules: claimed, deleted, "
			    "pending, failed, lost, dead_letter, held, missing, crashed, silent)", where,
			    obj->string);
			break;
		}
		if (!cJSON_IsObject(obj)) {
			rc = xerr_set(err, XR_EUSAGE, "%s: rule '%s' must be an object", where,
			    obj->string);
			break;
		}
		cJSON_ArrayForEach(it, obj)
			if ((rc = rule_key(&c[r], r, it, where, err)) < 0)
				break;
		if (rc < 0)
			break;
	}
	cJSON_Delete(root);
	return rc;
}

int
rules_check(const char *json, const char *where, struct xerr *err)
{
	struct rule_conf c[NRULES];

	return rules_parse(json, where, c, err);
}

static int64_t
cooldown(const struct config *cfg, const struct rule_conf *c)
{
	return c->cooldown_ms >= 0 ? c->cooldown_ms : cfg->alert_cooldown_ms;
}

/* --------------------------------------------------------------- hits */

static bool
same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static struct rule_hit *
add_hit(struct recover_result *r, int rule, const char *stream, const char *group,
    long long count, long long limit)
{
	struct rule_hit *h;

	r->hits = xrealloc(r->hits, (r->nhits + 1) * sizeof(*r->hits));
	h = &r->hits[r->nhits++];
	memset(h, 0, sizeof(*h));
	h->rule = rule;
	h->stream = stream != NULL ? xstrdup(stream) : NULL;
	h->group = group != NULL ? xstrdup(group) : NULL;
	h->count = count;
	h->limit = limit;
	h->baseline = -1;
	return h;
}

void
rule_hits_free(struct rule_hit *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].stream);
		free(h[i].group);
		free(h[i].text);
	}
	free(h);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n) (the lower of the middle two when n is even); sorts v. */
static long long
median(long long *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_ll);
	return v[(n - 1) / 2];
}

/*
 * Threshold "auto" for stream/group: the median and MAD (median absolute
 * deviation) of its counts in the last nw of the nbuckets windows b
 * counts (bucket by bucket from its start; a window without a row
 * counts 0), into h with the limit they make: median + AUTO_K * MAD (a
 * MAD of 0 counts 1), at least floor_.
 */
static void
auto_limit(const struct rows *b, const char *stream, const char *group, size_t nbuckets,
    size_t nw, long long floor_, struct rule_hit *h)
{
	long long *v = xcalloc(nw, sizeof(*v));
	long long med, mad;

	for (size_t i = 0; i < b->nrows; i++) {
		int64_t k = rows_int(b, i, 2);
		if (same(rows_text(b, i, 0), stream) && same(rows_text(b, i, 1), group) &&
		    k >= (int64_t)(nbuckets - nw) && k < (int64_t)nbuckets)
			v[k - (int64_t)(nbuckets - nw)] = rows_int(b, i, 3);
	}
	med = median(v, nw);
	for (size_t i = 0; i < nw; i++)
		v[i] = llabs(v[i] - med);
	mad = median(v, nw);
	free(v);
	h->baseline = med;
	h->mad = mad;
	h->windows = (long long)nw;
	h->limit = med + AUTO_K * (mad > 1 ? mad : 1);
	if (h->limit < floor_)
		h->limit = floor_;
}

/* The count of stream/group in rows of (stream, group, count); 0 when absent. */
static long long
rows_count(const struct rows *rs, const char *stream, const char *group)
{
	for (size_t i = 0; i < rs->nrows; i++)
		if (same(rows_text(rs, i, 0), stream) && same(rows_text(rs, i, 1), group))
			return rows_int(rs, i, 2);
	return 0;
}

/*
 * claimed, deleted: the events of each of this run's groups in the rule's
 * window.  Those of earlier runs are counted in the journal; this run's
 * are its own figures (a run that claims a million entries must not read
 * them all back to count them).
 */
static int
find_counts(struct journal *j, const struct rule_conf *c, int rule, enum alert_count what,
    int64_t run, int64_t now, struct recover_result *r, struct xerr *err)
{
	struct rspan sp = {0, 0, now - c->window_ms, now + 1};
	struct rows rs = {0}, b = {0}, first = {0};
	size_t nbuckets = (size_t)(AUTO_SPAN_MS / c->window_ms), nw = 0;
	int64_t start = 0;
	int rc = -1;

	if (journal_time_range(j, sp.start, sp.end, &sp.from, &sp.to, err) < 0 ||
	    journal_run_start_seq(j, run, &start, err) < 0)
		goto out;
	if (start > 0 && sp.to >= start)
		sp.to = start - 1;
	if (rq_alert_counts(j, &sp, what, &rs, err) < 0)
		goto out;
	if (c->autothr && nbuckets > 0) {
		struct rspan hs = {0, 0, sp.start - (int64_t)nbuckets * c->window_ms, sp.start};
		if (rq_alert_first_ts(j, &first, err) < 0)
			goto out;
		if (first.nrows > 0 && rows_at(&first, 0, 0)->type == RV_INT &&
		    rows_int(&first, 0, 0) < sp.start)
			nw = (size_t)((sp.start - rows_int(&first, 0, 0)) / c->window_ms);
		if (nw > nbuckets)
			nw = nbuckets;
		if (nw >= AUTO_MIN_WINDOWS &&
		    (journal_time_range(j, hs.start, hs.end, &hs.from, &hs.to, err) < 0 ||
		    rq_alert_buckets(j, &hs, what, c->window_ms, &b, err) < 0))
			goto out;
	}
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct group_result *gr = &r->groups[i];
		const char *s = gr->stream, *g = gr->group;
		long long n;
		struct rule_hit h = {.baseline = -1, .limit = c->threshold};

		if (g == NULL)
			continue;
		n = rows_count(&rs, s, g) +
		    (what == ALERT_CLAIMS ? gr->claimed + gr->adopted : gr->deleted);
		if (c->autothr) {
			/* Too little history: the fixed default. */
			h.limit = defs[rule].threshold;
			if (nw >= AUTO_MIN_WINDOWS && n > h.limit)
				auto_limit(&b, s, g, nbuckets, nw, defs[rule].threshold, &h);
		}
		if (n > h.limit) {
			struct rule_hit *p = add_hit(r, rule, s, g, n, h.limit);
			p->baseline = h.baseline;
			p->mad = h.mad;
			p->windows = h.windows;
		}
	}
	rc = 0;
out:
	rows_free(&rs);
	rows_free(&b);
	rows_free(&first);
	return rc;
}

/* pending, lost, dead_letter, held: this run's figures of each group. */
static void
find_groups(const struct rule_conf *c, struct recover_result *r)
{
	long long lost = r->lost, dead = r->dead_lettered;

	for (size_t i = 0; i < r->ngroups; i++) {
		const struct group_result *g = &r->groups[i];
		lost -= g->lost;
		dead -= g->dead_lettered;
		if (g->group == NULL)
			continue;
		if (c[R_PENDING].enabled && g->pending > c[R_PENDING].threshold)
			add_hit(r, R_PENDING, g->stream, g->group, g->pending, c[R_PENDING].threshold);
		if (c[R_LOST].enabled && g->lost > c[R_LOST].threshold)
			add_hit(r, R_LOST, g->stream, g->group, g->lost, c[R_LOST].threshold);
		if (c[R_DEAD_LETTER].enabled && g->dead_lettered > c[R_DEAD_LETTER].threshold)
			add_hit(r, R_DEAD_LETTER, g->stream, g->group, g->dead_lettered,
			    c[R_DEAD_LETTER].threshold);
		if (c[R_HELD].enabled && g->held > 0 && g->held_ms > c[R_HELD].threshold)
			add_hit(r, R_HELD, g->stream, g->group, g->held_ms,
			    c[R_HELD].threshold)->extra = g->held;
	}
	/* What reconciling a killed run found is about no group of this run's. */
	if (c[R_LOST].enabled && lost > c[R_LOST].threshold)
		add_hit(r, R_LOST, NULL, NULL, lost, c[R_LOST].threshold);
	if (c[R_DEAD_LETTER].enabled && dead > c[R_DEAD_LETTER].threshold)
		add_hit(r, R_DEAD_LETTER, NULL, NULL, dead, c[R_DEAD_LETTER].threshold);
}

int
rules_find(struct journal *j, const struct config *cfg, int64_t run, const char *status,
    const char *error, struct recover_result *r, struct xerr *err)
{
	struct rule_conf c[NRULES];
	struct rows prev = {0};
	int64_t now = now_ms();

	rule_hits_free(r->hits, r->nhits);
	r->hits = NULL;
	r->nhits = 0;
	if (rules_parse(cfg->alert_rules, "alert_rules", c, err) < 0)
		return -1;
	if (c[R_CLAIMED].enabled && find_counts(j, &c[R_CLAIMED], R_CLAIMED, ALERT_CLAIMS, run, now,
	    r, err) < 0)
		return -1;
	if (c[R_DELETED].enabled && find_counts(j, &c[R_DELETED], R_DELETED, ALERT_DELETED, run, now,
	    r, err) < 0)
		return -1;
	find_groups(c, r);
	if (c[R_FAILED].enabled && strcmp(status, "failed") == 0) {
		struct rule_hit *h = add_hit(r, R_FAILED, NULL, NULL, r->errors, 0);
		h->text = error != NULL ? xstrdup(error) : NULL;
	}
	for (size_t i = 0; c[R_MISSING].enabled && i < r->nmissing; i++)
		add_hit(r, R_MISSING, r->missing[i], NULL, 1, 0);
	for (size_t i = 0; c[R_MISSING].enabled && i < r->nmissing_groups; i++)
		add_hit(r, R_MISSING, NULL, r->missing_groups[i], 1, 0);
	if (c[R_CRASHED].enabled && (r->reconciled > 0 || r->crashed_runs > 0))
		add_hit(r, R_CRASHED, NULL, NULL, r->reconciled, 0)->extra = r->crashed_runs;
	if (c[R_SILENT].enabled) {
		if (rq_alert_prev_start(j, run, &prev, err) < 0) {
			rows_free(&prev);
			return -1;
		}
		if (prev.nrows > 0 && (cfg->interval_ms == 0 ||
		    c[R_SILENT].threshold <= INT64_MAX / cfg->interval_ms)) {
			long long gap = r->started_ms - rows_int(&prev, 0, 0);
			long long limit = c[R_SILENT].threshold * cfg->interval_ms;
			if (gap > limit)
				add_hit(r, R_SILENT, NULL, NULL, gap, limit);
		}
		rows_free(&prev);
	}
	return 0;
}

void
rules_alerting_json(const struct recover_result *r, struct jw *w)
{
	if (r->nhits == 0)
		return;
	jw_key(w, "alerting");
	jw_arr(w);
	for (size_t i = 0; i < r->nhits; i++) {
		jw_arr(w);
		jw_str(w, defs[r->hits[i].rule].name);
		jw_str(w, r->hits[i].stream);
		jw_str(w, r->hits[i].group);
		jw_arr_end(w);
	}
	jw_arr_end(w);
}

/* -------------------------------------------------------------- raise */

/* What an alert says, built for one raise. */
struct said {
	struct buf title, command;
	char text[6][96];
	struct alert_line lines[6];
	size_t n;
};

static void
said_line(struct said *s, long long count, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
said_line(struct said *s, long long count, const char *fmt, ...)
{
	va_list ap;

	if (s->n == sizeof(s->lines) / sizeof(s->lines[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(s->text[s->n], sizeof(s->text[s->n]), fmt, ap);
	va_end(ap);
	s->lines[s->n].text = s->text[s->n];
	s->lines[s->n].count = count;
	s->n++;
}

/* s as one shell word: in single quotes. */
static void
sh_quote(struct buf *b, const char *s)
{
	buf_adds(b, "'");
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_printf(b, "%c", *s);
	}
	buf_adds(b, "'");
}

/* The command that shows more about stream/group: its incident, the group, or the run. */
static void
more_command(struct buf *b, const struct rows *inc, int64_t run, const char *stream,
    const char *group)
{
	for (size_t i = 0; stream != NULL && group != NULL && i < inc->nrows; i++) {
		if (same(rows_text(inc, i, 0), stream) && same(rows_text(inc, i, 1), group)) {
			buf_printf(b, "xrecover report --incident %lld", (long long)rows_int(inc, i, 2));
			return;
		}
	}
	if (stream == NULL && group == NULL) {
		buf_printf(b, "xrecover report --run %lld", (long long)run);
		return;
	}
	buf_adds(b, "xrecover status");
	if (stream != NULL) {
		buf_adds(b, " -s ");
		sh_quote(b, stream);
	}
	if (group != NULL) {
		buf_adds(b, " -g ");
		sh_quote(b, group);
	}
}

/* The title and lines of a firing alert for h. */
static void
say_firing(struct said *s, const struct config *cfg, const struct rule_conf *c, int64_t run,
    const struct rule_hit *h)
{
	char d1[64], d2[64];

	switch (h->rule) {
	case R_CLAIMED:
	case R_DELETED:
		format_duration(c->window_ms, d1, sizeof(d1));
		buf_printf(&s->title, "%lld %s in %s", h->count, h->rule == R_CLAIMED ?
		    "entries claimed" : "consumers deleted", d1);
		if (h->baseline >= 0)
			buf_printf(&s->title, ", far above the usual %lld per %s", h->baseline, d1);
		else
			buf_printf(&s->title, " (threshold %lld)", h->limit);
		said_line(s, h->count, "%s in the last %s", h->rule == R_CLAIMED ? "claimed" :
		    "consumers deleted", d1);
		if (h->baseline >= 0) {
			said_line(s, h->baseline, "baseline: median per %s over the last %lld x %s", d1,
			    h->windows, d1);
			said_line(s, h->mad, "median absolute deviation");
		}
		said_line(s, h->limit, "threshold");
		break;
	case R_PENDING:
		buf_printf(&s->title, "%lld entries pending (threshold %lld)", h->count, h->limit);
		said_line(s, h->count, "pending");
		said_line(s, h->limit, "threshold");
		break;
	case R_FAILED:
		buf_printf(&s->title, "run %lld failed", (long long)run);
		if (h->text != NULL)
			buf_printf(&s->title, ": %.300s", h->text);
		if (h->count > 0)
			said_line(s, h->count, "groups failed");
		break;
	case R_LOST:
	case R_DEAD_LETTER:
		buf_printf(&s->title, "%lld entr%s %s", h->count, h->count == 1 ? "y" : "ies",
		    h->rule == R_LOST ? "lost: gone from the stream before anyone acknowledged them" :
		    "dead-lettered");
		if (h->stream == NULL)
			buf_adds(&s->title, " (found reconciling a killed run)");
		said_line(s, h->count, h->rule == R_LOST ? "lost" : "dead-lettered");
		said_line(s, h->limit, "threshold");
		break;
	case R_HELD:
		format_duration(h->count, d1, sizeof(d1));
		format_duration(h->limit, d2, sizeof(d2));
		buf_printf(&s->title, "an entry held by '%s' for %s (threshold %s)", cfg->consumer,
		    d1, d2);
		said_line(s, h->count / 1000, "seconds the oldest entry has been held");
		said_line(s, h->limit / 1000, "threshold in seconds");
		said_line(s, h->extra, "entries held");
		break;
	case R_MISSING:
		buf_adds(&s->title, h->stream != NULL ? "named stream does not exist" :
		    "named group is on none of the selected streams");
		said_line(s, 1, "missing");
		break;
	case R_CRASHED:
		buf_printf(&s->title, "run %lld found the work of a crashed run", (long long)run);
		said_line(s, h->count, "entries reconciled");
		said_line(s, h->extra, "unfinished runs closed as crashed");
		break;
	case R_SILENT:
		format_duration(h->count, d1, sizeof(d1));
		format_duration(cfg->interval_ms, d2, sizeof(d2));
		buf_printf(&s->title, "no run for %s before run %lld (interval %s)", d1,
		    (long long)run, d2);
		said_line(s, h->count / 1000, "seconds since the run before");
		said_line(s, cfg->interval_ms / 1000, "interval in seconds");
		said_line(s, c->threshold, "intervals allowed");
		break;
	}
}

static int
raise_one(struct journal *j, const struct config *cfg, const struct mode *mode, int64_t run,
    int rule, const struct rule_conf *c, const char *state, const char *stream,
    const char *group, struct said *s, const struct rows *inc, int64_t now, struct xerr *err)
{
	struct alert a = {0};
	char host[256] = "?";
	int64_t seq;

	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "?");
	more_command(&s->command, inc, run, stream, group);
	a.mode = strcmp(mode->name, "LIVE") == 0 ? ALERT_LIVE : ALERT_TEST;
	a.host = host;
	a.stream = stream;
	a.group = group;
	a.severity = c->severity;
	a.rule = defs[rule].name;
	a.state = state;
	a.title = buf_str(&s->title);
	a.lines = s->lines;
	a.nlines = s->n;
	a.command = buf_str(&s->command);
	a.time_ms = now;
	return outbox_raise(j, cfg, run, &a, &seq, err);
}

static void
said_free(struct said *s)
{
	buf_free(&s->title);
	buf_free(&s->command);
}

static bool
seen_is(const struct rows *seen, size_t i, const char *rule, const char *stream,
    const char *group)
{
	return same(rows_text(seen, i, 2), rule) && same(rows_text(seen, i, 3), stream) &&
	    same(rows_text(seen, i, 4), group);
}

/* The newest time the runs of the span saw rule/stream/group hold, or 0. */
static int64_t
last_seen(const struct rows *seen, const char *rule, const char *stream, const char *group)
{
	int64_t last = 0;

	for (size_t i = 0; i < seen->nrows; i++)
		if (seen_is(seen, i, rule, stream, group) && rows_int(seen, i, 1) > last)
			last = rows_int(seen, i, 1);
	return last;
}

/* Whether every run of the span that ended at or after since saw rule/stream/group hold. */
static bool
held_throughout(const struct rows *seen, const char *rule, const char *stream,
    const char *group, int64_t since)
{
	for (size_t i = 0; i < seen->nrows;) {
		int64_t seq = rows_int(seen, i, 0);
		bool held = false;

		for (; i < seen->nrows && rows_int(seen, i, 0) == seq; i++)
			held = held || seen_is(seen, i, rule, stream, group) ||
			    rows_int(seen, i, 1) < since;
		if (!held)
			return false;
	}
	return true;
}

int
rules_evaluate(struct journal *j, const struct config *cfg, const struct mode *mode,
    int64_t run, const struct recover_result *r, struct xerr *err)
{
	struct rule_conf c[NRULES];
	struct rows latest = {0}, seen = {0}, inc = {0};
	struct rspan sp, ip;
	int64_t now = now_ms(), longest = 0;
	int rc = -1;

	if (rules_parse(cfg->alert_rules, "alert_rules", c, err) < 0)
		return -1;
	for (int i = 0; i < NRULES; i++)
		if (cooldown(cfg, &c[i]) > longest)
			longest = cooldown(cfg, &c[i]);
	sp = (struct rspan){0, 0, now - longest, now + 1};
	ip = (struct rspan){0, 0, now - DAY_MS, now + 1};
	if (rq_alert_latest(j, &latest, err) < 0 ||
	    journal_time_range(j, sp.start, sp.end, &sp.from, &sp.to, err) < 0 ||
	    rq_alert_seen(j, &sp, &seen, err) < 0 ||
	    journal_time_range(j, ip.start, ip.end, &ip.from, &ip.to, err) < 0 ||
	    rq_alert_incidents(j, &ip, &inc, err) < 0)
		goto out;

	/*
	 * Conditions that hold: firing, unless one is open and was raised
	 * within the cooldown, or has not held in every run of the last
	 * cooldown (a flapping group stays quiet).
	 */
	for (size_t i = 0; i < r->nhits; i++) {
		const struct rule_hit *h = &r->hits[i];
		const struct rule_conf *rc_ = &c[h->rule];
		struct said s = {BUF_INIT, BUF_INIT};
		bool quiet = false;
		int x;

		for (size_t k = 0; k < latest.nrows; k++)
			if (same(rows_text(&latest, k, 0), defs[h->rule].name) &&
			    same(rows_text(&latest, k, 1), h->stream) &&
			    same(rows_text(&latest, k, 2), h->group))
				quiet = same(rows_text(&latest, k, 3), "firing") &&
				    (now - rows_int(&latest, k, 5) < cooldown(cfg, rc_) ||
				    !held_throughout(&seen, defs[h->rule].name, h->stream, h->group,
				    now - cooldown(cfg, rc_)));
		if (quiet)
			continue;
		say_firing(&s, cfg, rc_, run, h);
		x = raise_one(j, cfg, mode, run, h->rule, rc_, "firing", h->stream, h->group, &s,
		    &inc, now, err);
		said_free(&s);
		if (x < 0)
			goto out;
	}

	/* Open alerts whose condition no run has seen for the cooldown: resolved. */
	for (size_t k = 0; k < latest.nrows; k++) {
		const char *rule = rows_text(&latest, k, 0), *stream = rows_text(&latest, k, 1);
		const char *group = rows_text(&latest, k, 2);
		int id = rule != NULL ? rule_find(rule) : -1;
		struct said s = {BUF_INIT, BUF_INIT};
		int64_t last, seen_ts;
		bool holds = false;
		char d[64];
		int x;

		if (id < 0 || !same(rows_text(&latest, k, 3), "firing"))
			continue;
		for (size_t i = 0; i < r->nhits; i++)
			holds = holds || (r->hits[i].rule == id && same(r->hits[i].stream, stream) &&
			    same(r->hits[i].group, group));
		last = rows_int(&latest, k, 5);
		seen_ts = last_seen(&seen, rule, stream, group);
		if (seen_ts > last)
			last = seen_ts;
		if (holds || now - last < cooldown(cfg, &c[id]))
			continue;
		format_duration(now - last, d, sizeof(d));
		buf_printf(&s.title, "resolved: no %s for %s", defs[id].what, d);
		said_line(&s, (now - last) / 1000, "seconds since it last held");
		x = raise_one(j, cfg, mode, run, id, &c[id], "resolved", stream, group, &s, &inc,
		    now, err);
		said_free(&s);
		if (x < 0)
			goto out;
	}
	rc = 0;
out:
	rows_free(&latest);
	rows_free(&seen);
	rows_free(&inc);
	return rc;
}
