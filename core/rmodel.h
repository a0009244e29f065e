/*
 * rmodel.h: a report's model, what core/report.c builds from the
 * journal's rows and cmd/ renders as text, Markdown, JSON, CSV or HTML.
 *
 * A report is data, not text: a summary (key/value), tables and charts.
 * Every string in it is the report's own copy (the builders copy what they
 * are given); report_free frees them all.
 */
#ifndef XR_RMODEL_H
#define XR_RMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * A chart: series of (x, y) points over [x0, x1); bars or a line.  A
 * series' key is what its colour follows (the stream): one key, one colour,
 * in every chart of a report.
 */
struct rseries {
	char *name;
	char *key;
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

/* How a verdict's line reads: all well, worth a look, or wrong. */
enum rlevel { RL_OK, RL_WARN, RL_BAD };

struct rline {
	enum rlevel level;
	char *text;
};

struct report {
	char *kind;             /* "daily", "incidents", "incident", "run" */
	char *title;
	/* What the report says in a few lines (the daily report's sign-off); the worst level. */
	struct rline *verdict;
	size_t nverdict;
	enum rlevel level;
	struct rtable summary;  /* three columns: key, value, label (the key as people read it) */
	struct rtable *tables;
	size_t ntables;
	struct rchart *charts;
	size_t ncharts;
	char *csv_table;        /* the table CSV renders */
	char **unread;          /* a line for each archive of the journal not read (NULL-terminated) */
	size_t nunread;
};

/* Frees everything r holds and empties it; r itself is the caller's. */
void report_free(struct report *r);

/*
 * A new table at the end of r->tables.  The pointer returned is good until
 * the next report_table: adding a table may move them all.
 */
struct rtable *report_table(struct report *r, const char *name, const char *title,
    const char *const *keys, const char *const *heads, size_t ncols);
/* A new empty row (every cell RC_NULL); its index. */
size_t rtable_row(struct rtable *t);
/* Sets a cell to a copy of s (RC_NULL when s is NULL). */
void rtable_str(struct rtable *t, size_t row, size_t col, const char *s);
void rtable_int(struct rtable *t, size_t row, size_t col, int64_t v, enum rcell_type type);
/* A summary row: key and a copy of value (RC_NULL when NULL), or key and v. */
void report_kv_str(struct report *r, const char *key, const char *value);
void report_kv_int(struct report *r, const char *key, int64_t v, enum rcell_type type);
/* The summary key as people read it: "runs_ok" is "Runs that ended well". */
const char *report_label(const char *key);
/* A line of the verdict (a copy of text); r->level becomes the worst level seen. */
void report_verdict(struct report *r, enum rlevel level, const char *text);
/* "ok", "warning" or "bad". */
const char *rlevel_name(enum rlevel level);
/* The value of a summary key, or NULL; it belongs to r. */
const struct rcell *report_kv(const struct report *r, const char *key);

/* A new chart at the end of r->charts; good until the next report_chart. */
struct rchart *report_chart(struct report *r, const char *name, const char *title, bool bars,
    int64_t x0, int64_t x1);
/*
 * The series called name, made if it is new, its colour following key
 * (NULL: the name); good until the next new series of c.
 */
struct rseries *chart_series(struct rchart *c, const char *name, const char *key);
void series_add(struct rseries *s, int64_t x, int64_t y);

#endif
