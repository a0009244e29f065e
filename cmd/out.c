/* out.c: log lines, error lines and tables. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "out.h"

void
logfmt_value(struct buf *b, const char *s)
{
	bool quote = s[0] == '\0';
	size_t n = strlen(s);

	for (const char *p = s; *p && !quote; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= 0x7f)
			quote = true;
	}
	if (!quote) {
		buf_add(b, s, n);
		return;
	}
	/* Inside the quotes: \" for a quote, the rest as every renderer escapes it. */
	buf_addc(b, '"');
	for (const char *p = s, *q; *p != '\0'; p = *q != '\0' ? q + 1 : q) {
		q = strchrnul(p, '"');
		buf_add_esc(b, p, (size_t)(q - p));
		if (*q == '"')
			buf_adds(b, "\\\"");
	}
	buf_addc(b, '"');
}

/* s escaped with buf_add_esc() into tmp (emptied first), as a C string. */
const char *
out_esc(struct buf *tmp, const char *s)
{
	buf_reset(tmp);
	buf_add_esc(tmp, s, strlen(s));
	return buf_str(tmp);
}

static void
format_line(const struct logline *l, struct buf *b)
{
	char ts[32];

	format_utc(now_ms(), false, ts, sizeof(ts));
	buf_printf(b, "%s [%s]", ts, l->tag);
	if (l->word != NULL)
		buf_printf(b, " %s", l->word);
	for (size_t i = 0; i < l->n; i++) {
		buf_printf(b, " %s=", l->key[i]);
		logfmt_value(b, l->val[i]);
	}
	buf_addc(b, '\n');
}

static void
emit(void *ctx, const struct logline *l)
{
	struct out *o = ctx;
	struct buf b = BUF_INIT;
	bool to_stderr, to_file;

	if (l->level == LOG_DEBUG) {
		to_stderr = o->verbose > 0;
		to_file = o->verbose > 0;
	} else {
		to_stderr = !o->quiet || l->level <= LOG_WARN;
		to_file = true;
	}
	format_line(l, &b);
	if (to_stderr)
		fputs(buf_str(&b), stderr);
	if (to_file && o->log != NULL) {
		fputs(buf_str(&b), o->log);
		fflush(o->log);
	}
	buf_free(&b);
}

int
out_open(struct out *o, const struct config *c, struct xerr *err)
{
	o->quiet = c->quiet;
	o->verbose = c->verbose;
	o->json = c->json;
	o->lg.emit = emit;
	o->lg.ctx = o;
	o->log = NULL;
	if (c->log_file != NULL) {
		int fd = open(c->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return xerr_set(err, XR_EUSAGE, "cannot open log file '%s': %s",
			    c->log_file, strerror(errno));
		o->log = fdopen(fd, "a");
		if (o->log == NULL) {
			close(fd);
			return xerr_set(err, XR_EUSAGE, "cannot open log file '%s': %s",
			    c->log_file, strerror(errno));
		}
	}
	return 0;
}

void
out_close(struct out *o)
{
	if (o->log != NULL)
		fclose(o->log);
	o->log = NULL;
}

void
out_error(struct out *o, const char *msg)
{
	struct buf e = BUF_INIT;

	/* Messages name streams, groups and keys: text from Redis. */
	fprintf(stderr, "xrecover: %s\n", out_esc(&e, msg));
	buf_free(&e);
	if (o != NULL && o->log != NULL) {
		struct logline l;
		struct buf b = BUF_INIT;

		ll_start(&l, LOG_ERROR, "ERROR", NULL);
		ll_str(&l, "error", msg);
		format_line(&l, &b);
		fputs(buf_str(&b), o->log);
		fflush(o->log);
		buf_free(&b);
	}
}

void
out_json_outcome(struct jw *w, const char *msg, int code)
{
	jw_kstr(w, "error", code != XR_OK ? msg : NULL);
	jw_kint(w, "exit_code", code);
}

void
out_json_failure(struct out *o, const char *msg, int code)
{
	struct buf b = BUF_INIT;
	struct jw w;

	if (o != NULL && o->json_done)
		return;
	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "status", "failed");
	out_json_outcome(&w, msg, code);
	jw_obj_end(&w);
	puts(buf_str(&b));
	fflush(stdout);
	buf_free(&b);
	if (o != NULL)
		o->json_done = true;
}

/* ------------------------------------------------------------- tables */

void
table_init(struct table *t, const struct column *cols, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols;
}

size_t
table_row(struct table *t)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(*t->cells));
	}
	for (size_t c = 0; c < t->ncols; c++) {
		struct cell *x = &t->cells[t->nrows * t->ncols + c];
		x->null = true;
		x->s = NULL;
		x->i = 0;
	}
	return t->nrows++;
}

void
table_str(struct table *t, size_t row, size_t col, const char *s)
{
	struct cell *x = &t->cells[row * t->ncols + col];

	free(x->s);
	x->s = s != NULL ? xstrdup(s) : NULL;
	x->null = s == NULL;
}

void
table_int(struct table *t, size_t row, size_t col, int64_t v)
{
	struct cell *x = &t->cells[row * t->ncols + col];

	x->i = v;
	x->null = false;
}

/*
 * A cell as text: numbers and durations formatted, strings escaped
 * (buf_add_esc), in tmp, which is emptied first.
 */
static const char *
cell_text(const struct table *t, size_t row, size_t col, struct buf *tmp)
{
	const struct cell *x = &t->cells[row * t->ncols + col];

	buf_reset(tmp);
	if (x->null)
		return "-";
	switch (t->cols[col].type) {
	case COL_STR:
		return out_esc(tmp, x->s);
	case COL_INT:
		buf_printf(tmp, "%" PRId64, x->i);
		return buf_str(tmp);
	case COL_MS: {
		char age[64];
		format_age(x->i, age, sizeof(age));
		buf_adds(tmp, age);
		return buf_str(tmp);
	}
	}
	return "?";
}

void
table_print(const struct table *t, FILE *f)
{
	size_t *w = xcalloc(t->ncols, sizeof(*w));
	struct buf tmp = BUF_INIT;

	for (size_t c = 0; c < t->ncols; c++)
		w[c] = strlen(t->cols[c].title);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t n = strlen(cell_text(t, r, c, &tmp));
			if (n > w[c])
				w[c] = n;
		}
	for (size_t c = 0; c < t->ncols; c++) {
		if (c + 1 < t->ncols)
			fprintf(f, "%-*s  ", (int)w[c], t->cols[c].title);
		else
			fprintf(f, "%s\n", t->cols[c].title);
	}
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = cell_text(t, r, c, &tmp);
			if (c + 1 < t->ncols)
				fprintf(f, t->cols[c].type == COL_STR ? "%-*s  " : "%*s  ", (int)w[c], s);
			else
				fprintf(f, "%s\n", s);
		}
	buf_free(&tmp);
	free(w);
}

void
table_json(const struct table *t, struct jw *w)
{
	jw_arr(w);
	for (size_t r = 0; r < t->nrows; r++) {
		jw_obj(w);
		for (size_t c = 0; c < t->ncols; c++) {
			const struct cell *x = &t->cells[r * t->ncols + c];
			jw_key(w, t->cols[c].key);
			if (x->null)
				jw_null(w);
			else if (t->cols[c].type == COL_STR)
				jw_str(w, x->s);
			else
				jw_int(w, x->i);
		}
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].s);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------ progress */

void
progress_init(struct progress *pr, const char *label, bool quiet)
{
	pr->label = label;
	pr->on = isatty(2) && !quiet;
	pr->t0 = mono_ms();
	pr->last = 0;
}

void
progress_draw(struct progress *pr, uint64_t done, uint64_t total)
{
	int64_t now = mono_ms();
	char eta[32] = "-";
	double rate;
	int width = 30, fill;

	if (!pr->on || (now - pr->last < 100 && done < total))
		return;
	pr->last = now;
	rate = now > pr->t0 ? (double)done * 1000.0 / (double)(now - pr->t0) : 0;
	if (rate > 0 && done < total)
		format_age((int64_t)((double)(total - done) * 1000.0 / rate), eta, sizeof(eta));
	fill = total > 0 ? (int)((double)width * (double)done / (double)total) : width;
	fprintf(stderr, "\r%s [", pr->label);
	for (int i = 0; i < width; i++)
		fputc(i < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %llu/%llu %.0f/s ETA %s   ", (unsigned long long)done,
	    (unsigned long long)total, rate, eta);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}
