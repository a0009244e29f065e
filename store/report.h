/*
 * report.h: reports read from the journal: the daily compliance report,
 * incidents, one incident's timeline, one run.
 *
 * A report is data, not text: a summary (key/value), tables and charts,
 * which cmd/ renders as text, Markdown, JSON, CSV or HTML.  Every query
 * reads only the span of the journal it needs: a day is found as a range
 * of seq by binary search on the events' times (events are appended in
 * time order), an incident through its index.
 */
#ifndef XR_REPORT_H
#define XR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/xr.h"

struct journal;

enum rcell_type { RC_NULL, RC_STR, RC_INT, RC_TIME, RC_MS };

struct rcell {
	enum rcell_type type;   /* RC_TIME: Unix ms shown as UTC; RC_MS: a duration */
	int64_t i;
	char *s;
};

struct rtable {
	char *name;             /* JSON key, CSV file part: "groups" */
	char *title;            /* "Per stream and group" */
	size_t ncols;
	char **keys;            /* JSON keys / CSV header */
	char **heads;           /* text headers */
	struct rcell *cells;    /* nrows * ncols */
	size_t nrows, cap;
};

/* A chart: series of (x, y) points over [x0, x1); bars or a line. */
struct rseries {
	char *name;
	size_t n;
	int64_t *x, *y;
};

struct rchart {
	char *name;
	char *title;
	bool bars;              /* one bar per x (hours), stacked by series; else lines */
	int64_t x0, x1;         /* Unix ms */
	size_t nseries;
	struct rseries *s;
};

struct report {
	char *kind;             /* "daily", "incidents", "incident", "run" */
	char *title;
	struct rtable summary;  /* two columns: key, value */
	struct rtable *tables;
	size_t ntables;
	struct rchart *charts;
	size_t ncharts;
	char *csv_table;        /* the table CSV renders */
};

void report_free(struct report *r);

/* Builders (for store/report.c and core/report.c). */
struct rtable *report_table(struct report *r, const char *name, const char *title,
    const char *const *keys, const char *const *heads, size_t ncols);
size_t rtable_row(struct rtable *t);
void rtable_str(struct rtable *t, size_t row, size_t col, const char *s);
void rtable_int(struct rtable *t, size_t row, size_t col, int64_t v, enum rcell_type type);
void report_kv_str(struct report *r, const char *key, const char *value);
void report_kv_int(struct report *r, const char *key, int64_t v, enum rcell_type type);
/* The value of a summary key, or NULL. */
const struct rcell *report_kv(const struct report *r, const char *key);

/* The events of [start_ms, end_ms): the seq range that holds them (0, -1 when none). */
int journal_time_range(struct journal *j, int64_t start_ms, int64_t end_ms, int64_t *ret_from,
    int64_t *ret_to, struct xerr *err);

/* The day [day_ms, day_ms + 1 day) from the events in [from, to]. */
int report_daily_fill(struct journal *j, int64_t day_ms, int64_t from, int64_t to,
    struct report *r, struct xerr *err);
/* Incidents opened in [since, until) (0: open-ended). */
int report_incidents_fill(struct journal *j, int64_t since, int64_t until, struct report *r,
    struct xerr *err);
/* One incident's timeline.  XR_ENOTHING when there is no such incident. */
int report_incident_fill(struct journal *j, int64_t id, struct report *r, struct xerr *err);
/*
 * The journal positions of the claims (or losses) behind its "entries"
 * rows, in the same order; the caller fills in their fate and deliveries.
 * OUT: *ret (free()).
 */
int report_incident_seqs(struct journal *j, int64_t id, int64_t **ret, size_t *ret_n,
    struct xerr *err);
/* One run.  XR_ENOTHING when there is no such run. */
int report_run_fill(struct journal *j, int64_t run, struct report *r, struct xerr *err);

#endif
