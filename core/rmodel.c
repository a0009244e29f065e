/* rmodel.c: a report's model and its builders (see rmodel.h). */
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "archive.h"
#include "rmodel.h"

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
	static const char *const keys[] = {"key", "value", "label"};

	if (r->summary.ncols == 0)
		rtable_init(&r->summary, "summary", "Summary", keys, keys, 3);
}

/* The summary keys of the reports, as people read them. */
static const char *const labels[][2] = {
	{"date", "Day (UTC)"},
	{"runs", "Runs"},
	{"runs_ok", "Runs that ended well"},
	{"runs_failed", "Runs failed or crashed"},
	{"runs_warning", "Runs with a warning"},
	{"mode", "Mode"},
	{"interval", "Usual interval between runs"},
	{"schedule_gaps", "Gaps in the schedule"},
	{"claimed", "Entries claimed"},
	{"reconciled", "Claims reconciled"},
	{"lost", "Entries lost"},
	{"deleted", "Consumers deleted"},
	{"dead_lettered", "Entries dead-lettered"},
	{"replayed", "Entries replayed"},
	{"settled", "Entries settled"},
	{"rolled_back", "Entries rolled back"},
	{"incidents_opened", "Incidents opened"},
	{"replay_batches", "Replays started"},
	{"rollback_batches", "Rollbacks"},
	{"alerts_sent", "Alerts sent"},
	{"alerts_failed", "Alerts that failed"},
	{"alerts_pending", "Alerts pending"},
	{"verify", "Hash chain"},
	{"events", "Events checked"},
	{"first_event", "First event number"},
	{"last_event", "Last event number"},
	{"head", "Head hash at the end of the day"},
	{"count", "Incidents"},
	{"incident", "Incident"},
	{"stream", "Stream"},
	{"group", "Group"},
	{"consumer", "Consumer"},
	{"opened_at", "Opened"},
	{"last_seen_at", "Last seen"},
	{"deleted_at", "Consumer deleted"},
	{"entries_shown", "Entries shown"},
	{"run", "Run"},
	{"started_at", "Started"},
	{"ended_at", "Ended"},
	{"duration_ms", "Duration"},
	{"status", "Status"},
	{"error", "Error"},
	{"user", "User"},
	{"host", "Host"},
	{"redelivered", "Entries redelivered"},
	{"mode_reason", "Why this mode"},
	{"groups", "Groups"},
	{"pid", "Process"},
	{"version", "Version"},
	{"options", "Options"},
};

const char *
report_label(const char *key)
{
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(labels[i][0], key) == 0)
			return labels[i][1];
	return key;
}

void
report_verdict(struct report *r, enum rlevel level, const char *text)
{
	r->verdict = xrealloc(r->verdict, (r->nverdict + 1) * sizeof(*r->verdict));
	r->verdict[r->nverdict].level = level;
	r->verdict[r->nverdict].text = xstrdup(text);
	r->nverdict++;
	if (level > r->level)
		r->level = level;
}

const char *
rlevel_name(enum rlevel level)
{
	return level == RL_OK ? "ok" : level == RL_WARN ? "warning" : "bad";
}

void
report_kv_str(struct report *r, const char *key, const char *value)
{
	size_t row;

	summary_init(r);
	row = rtable_row(&r->summary);
	rtable_str(&r->summary, row, 0, key);
	rtable_str(&r->summary, row, 1, value);
	rtable_str(&r->summary, row, 2, report_label(key));
}

void
report_kv_int(struct report *r, const char *key, int64_t v, enum rcell_type type)
{
	size_t row;

	summary_init(r);
	row = rtable_row(&r->summary);
	rtable_str(&r->summary, row, 0, key);
	rtable_int(&r->summary, row, 1, v, type);
	rtable_str(&r->summary, row, 2, report_label(key));
}

const struct rcell *
report_kv(const struct report *r, const char *key)
{
	for (size_t i = 0; i < r->summary.nrows; i++)
		if (strcmp(r->summary.cells[3 * i].s, key) == 0)
			return &r->summary.cells[3 * i + 1];
	return NULL;
}

struct rchart *
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

struct rseries *
chart_series(struct rchart *c, const char *name, const char *key)
{
	for (size_t i = 0; i < c->nseries; i++)
		if (strcmp(c->s[i].name, name) == 0)
			return &c->s[i];
	c->s = xrealloc(c->s, (c->nseries + 1) * sizeof(*c->s));
	memset(&c->s[c->nseries], 0, sizeof(*c->s));
	c->s[c->nseries].name = xstrdup(name);
	c->s[c->nseries].key = xstrdup(key != NULL ? key : name);
	return &c->s[c->nseries++];
}

void
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
			free(c->s[k].key);
			free(c->s[k].x);
			free(c->s[k].y);
		}
		free(c->s);
		free(c->name);
		free(c->title);
	}
	free(r->charts);
	for (size_t i = 0; i < r->nverdict; i++)
		free(r->verdict[i].text);
	free(r->verdict);
	free(r->kind);
	free(r->title);
	free(r->csv_table);
	strv_free(r->unread);
	memset(r, 0, sizeof(*r));
}
