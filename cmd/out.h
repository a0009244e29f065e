/*
 * out.h: everything xrecover writes for people: log lines (stderr and
 * --log-file, logfmt), error lines, and tables that render as aligned text
 * or as JSON from the same rows.
 */
#ifndef XR_OUT_H
#define XR_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/config.h"
#include "../lib/json.h"
#include "../lib/log.h"

struct out {
	FILE *log;                  /* --log-file, or NULL */
	bool quiet;
	int verbose;
	bool json;
	bool json_done;             /* the command printed its JSON object on stdout */
	struct logger lg;
};

/* Opens --log-file (append, created 0640).  XR_EUSAGE if it cannot. */
int out_open(struct out *o, const struct config *c, struct xerr *err);
void out_close(struct out *o);
/* "xrecover: msg" on stderr, and an [ERROR] line in the log file. */
void out_error(struct out *o, const char *msg);
/*
 * With --json, a failure is one object on stdout:
 * {"status":"failed","error":msg,"exit_code":code}.  Nothing when o says the
 * command printed its own object already (which then says the same).
 */
void out_json_failure(struct out *o, const char *msg, int code);
/* The "error" and "exit_code" members a command's own JSON object ends with. */
void out_json_outcome(struct jw *w, const char *msg, int code);
/* Appends s to b in logfmt form: bare if it can be, else quoted and escaped. */
void logfmt_value(struct buf *b, const char *s);
/*
 * s with its control characters escaped (buf_add_esc), in tmp, which is
 * emptied first and owns the result: for names printed on a terminal.
 */
const char *out_esc(struct buf *tmp, const char *s);

/*
 * A progress bar on stderr, when stderr is a terminal and not --quiet:
 * "LABEL [#####.....] done/total rate/s ETA 1m2s", redrawn at most ten
 * times a second, ended with a newline when done reaches total.
 */
struct progress {
	const char *label;
	bool on;
	int64_t t0, last;
};

void progress_init(struct progress *pr, const char *label, bool quiet);
void progress_draw(struct progress *pr, uint64_t done, uint64_t total);

enum col_type {
	COL_STR,
	COL_INT,
	COL_MS,         /* a duration: text "2h3m", JSON integer milliseconds */
};

struct column {
	const char *title;          /* text header */
	const char *key;            /* JSON key */
	enum col_type type;
};

struct cell {
	bool null;
	char *s;
	int64_t i;
};

struct table {
	const struct column *cols;
	size_t ncols;
	struct cell *cells;         /* nrows * ncols */
	size_t nrows, cap;
};

void table_init(struct table *t, const struct column *cols, size_t ncols);
/* Adds a row of NULL cells; returns its index. */
size_t table_row(struct table *t);
void table_str(struct table *t, size_t row, size_t col, const char *s);
void table_int(struct table *t, size_t row, size_t col, int64_t v);
/* Aligned columns with a header line. */
void table_print(const struct table *t, FILE *f);
/* An array of objects keyed by each column's key. */
void table_json(const struct table *t, struct jw *w);
void table_free(struct table *t);

#endif
