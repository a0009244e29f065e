/* render.c: reports as text, Markdown, JSON, CSV and HTML (see render.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "render.h"

int
render_format_parse(const char *s, enum render_format *ret)
{
	static const char *const names[] = {"text", "md", "json", "csv", "html"};

	for (int i = 0; i < 5; i++) {
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum render_format)i;
			return 0;
		}
	}
	return -1;
}

/*
 * A cell as people read it ("" for NULL), in out, which is emptied first.
 * Strings are names and payloads from Redis: their control characters are
 * escaped here, once for every format but JSON (which escapes its own).
 */
static const char *
cell_text(const struct rcell *c, struct buf *out)
{
	char s[64];

	buf_reset(out);
	switch (c->type) {
	case RC_NULL:
		break;
	case RC_STR:
		buf_add_esc(out, c->s, strlen(c->s));
		break;
	case RC_INT:
		buf_printf(out, "%lld", (long long)c->i);
		break;
	case RC_TIME:
		format_utc(c->i, false, s, sizeof(s));
		buf_adds(out, s);
		break;
	case RC_MS:
		format_age(c->i, s, sizeof(s));
		buf_adds(out, s);
		break;
	}
	return buf_str(out);
}

/* A title or heading (which may carry a name), escaped like a cell. */
static const char *
text_esc(const char *s, struct buf *out)
{
	buf_reset(out);
	buf_add_esc(out, s, strlen(s));
	return buf_str(out);
}

static const struct rcell *
cell(const struct rtable *t, size_t row, size_t col)
{
	return &t->cells[row * t->ncols + col];
}

/* ----------------------------------------------------------------- text */

/* Display width: UTF-8 characters, not bytes. */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void
pad(struct buf *b, size_t n)
{
	while (n-- > 0)
		buf_addc(b, ' ');
}

static void
text_table(const struct rtable *t, bool heads, struct buf *b)
{
	size_t *w = xcalloc(t->ncols, sizeof(*w));
	struct buf tmp = BUF_INIT;

	for (size_t c = 0; c < t->ncols; c++)
		w[c] = heads ? width(t->heads[c]) : 0;
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = cell_text(cell(t, r, c), &tmp);
			if (width(s) > w[c])
				w[c] = width(s);
		}
	}
	for (size_t r = heads ? 0 : 1; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const struct rcell *x = r > 0 ? cell(t, r - 1, c) : NULL;
			bool right = heads && x != NULL && x->type == RC_INT;
			const char *s;
			if (r == 0)
				s = t->heads[c];
			else if (x->type == RC_NULL && heads)
				s = "-";
			else
				s = cell_text(x, &tmp);
			if (c > 0)
				buf_adds(b, "  ");
			if (right)
				pad(b, w[c] - width(s));
			buf_adds(b, s);
			if (!right && c + 1 < t->ncols)
				pad(b, w[c] - width(s));
		}
		buf_addc(b, '\n');
	}
	buf_free(&tmp);
	free(w);
}

/* The summary as two columns: each key as people read it, and its value. */
static void
text_summary(const struct rtable *s, struct buf *b)
{
	struct rtable v = {.ncols = 2, .nrows = s->nrows};

	v.cells = xcalloc(s->nrows * 2 + 1, sizeof(*v.cells));
	for (size_t i = 0; i < s->nrows; i++) {
		v.cells[2 * i] = *cell(s, i, 2);
		v.cells[2 * i + 1] = *cell(s, i, 1);
		if (v.cells[2 * i + 1].type == RC_NULL)
			v.cells[2 * i + 1] = (struct rcell){.type = RC_STR, .s = (char *)"-"};
	}
	text_table(&v, false, b);
	free(v.cells);      /* the strings are s's */
}

/* What a verdict's level says, for a reader. */
static const char *
level_text(enum rlevel level)
{
	return level == RL_OK ? "all clear" : level == RL_WARN ? "worth a look" : "needs action";
}

static void
render_text(const struct report *r, struct buf *b)
{
	struct buf tmp = BUF_INIT;

	buf_adds(b, text_esc(r->title, &tmp));
	buf_addc(b, '\n');
	buf_addc(b, '\n');
	if (r->nverdict > 0) {
		buf_printf(b, "Verdict: %s\n", level_text(r->level));
		for (size_t i = 0; i < r->nverdict; i++)
			buf_printf(b, "  [%s] %s\n", rlevel_name(r->verdict[i].level),
			    text_esc(r->verdict[i].text, &tmp));
		buf_addc(b, '\n');
	}
	text_summary(&r->summary, b);
	for (size_t i = 0; i < r->ntables; i++) {
		const struct rtable *t = &r->tables[i];
		buf_printf(b, "\n%s", text_esc(t->title, &tmp));
		if (t->nrows == 0) {
			buf_adds(b, ": none\n");
			continue;
		}
		buf_addc(b, '\n');
		text_table(t, true, b);
	}
	buf_free(&tmp);
}

/* ------------------------------------------------------------- markdown */

/* Escaped text with Markdown's own characters escaped too, so it shows as it reads. */
static void
md_text(const char *s, struct buf *b)
{
	for (const char *p = s; *p; p++) {
		if (strchr("\\|`*_", *p) != NULL)
			buf_addc(b, '\\');
		buf_addc(b, *p);
	}
}

static void
md_cell(const struct rcell *c, struct buf *b)
{
	struct buf tmp = BUF_INIT;

	md_text(cell_text(c, &tmp), b);
	buf_free(&tmp);
}

static void
render_md(const struct report *r, struct buf *b)
{
	struct buf tmp = BUF_INIT;

	buf_adds(b, "**");
	md_text(text_esc(r->title, &tmp), b);
	buf_adds(b, "**\n\n");
	if (r->nverdict > 0) {
		buf_printf(b, "**Verdict: %s**\n\n", level_text(r->level));
		for (size_t i = 0; i < r->nverdict; i++) {
			buf_printf(b, "- [%s] ", rlevel_name(r->verdict[i].level));
			md_text(text_esc(r->verdict[i].text, &tmp), b);
			buf_addc(b, '\n');
		}
		buf_addc(b, '\n');
	}
	for (size_t i = 0; i < r->summary.nrows; i++) {
		buf_printf(b, "- %s: ", text_esc(cell(&r->summary, i, 2)->s, &tmp));
		md_cell(cell(&r->summary, i, 1), b);
		buf_addc(b, '\n');
	}
	for (size_t i = 0; i < r->ntables; i++) {
		const struct rtable *t = &r->tables[i];
		if (t->nrows == 0)
			continue;       /* short enough for a chat message */
		buf_adds(b, "\n**");
		md_text(text_esc(t->title, &tmp), b);
		buf_adds(b, "**\n\n|");
		for (size_t c = 0; c < t->ncols; c++)
			buf_printf(b, " %s |", t->heads[c]);
		buf_adds(b, "\n|");
		for (size_t c = 0; c < t->ncols; c++)
			buf_adds(b, " --- |");
		buf_addc(b, '\n');
		for (size_t row = 0; row < t->nrows; row++) {
			buf_addc(b, '|');
			for (size_t c = 0; c < t->ncols; c++) {
				buf_addc(b, ' ');
				md_cell(cell(t, row, c), b);
				buf_adds(b, " |");
			}
			buf_addc(b, '\n');
		}
	}
	buf_free(&tmp);
}

/* ----------------------------------------------------------------- json */

static void
json_cell(struct jw *w, const struct rcell *c)
{
	char s[64];

	switch (c->type) {
	case RC_NULL:
		jw_null(w);
		break;
	case RC_STR:
		jw_str(w, c->s);
		break;
	case RC_INT:
	case RC_MS:
		jw_int(w, c->i);
		break;
	case RC_TIME:
		format_utc(c->i, true, s, sizeof(s));
		jw_str(w, s);
		break;
	}
}

static void
render_json(const struct report *r, struct buf *b)
{
	struct jw w;

	jw_init(&w, b);
	jw_obj(&w);
	jw_kstr(&w, "report", r->kind);
	jw_kstr(&w, "title", r->title);
	if (r->nverdict > 0) {
		jw_key(&w, "verdict");
		jw_obj(&w);
		jw_kstr(&w, "level", rlevel_name(r->level));
		jw_key(&w, "lines");
		jw_arr(&w);
		for (size_t i = 0; i < r->nverdict; i++) {
			jw_obj(&w);
			jw_kstr(&w, "level", rlevel_name(r->verdict[i].level));
			jw_kstr(&w, "text", r->verdict[i].text);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	for (size_t i = 0; i < r->summary.nrows; i++) {
		jw_key(&w, cell(&r->summary, i, 0)->s);
		json_cell(&w, cell(&r->summary, i, 1));
	}
	for (size_t i = 0; i < r->ntables; i++) {
		const struct rtable *t = &r->tables[i];
		jw_key(&w, t->name);
		jw_arr(&w);
		for (size_t row = 0; row < t->nrows; row++) {
			jw_obj(&w);
			for (size_t c = 0; c < t->ncols; c++) {
				jw_key(&w, t->keys[c]);
				json_cell(&w, cell(t, row, c));
			}
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
	}
	for (size_t i = 0; i < r->ncharts; i++) {
		const struct rchart *ch = &r->charts[i];
		jw_key(&w, ch->name);
		jw_obj(&w);
		for (size_t k = 0; k < ch->nseries; k++) {
			jw_key(&w, ch->s[k].name);
			jw_arr(&w);
			for (size_t p = 0; p < ch->s[k].n; p++) {
				char t[40];
				format_utc(ch->s[k].x[p], false, t, sizeof(t));
				jw_arr(&w);
				jw_str(&w, t);
				jw_int(&w, ch->s[k].y[p]);
				jw_arr_end(&w);
			}
			jw_arr_end(&w);
		}
		jw_obj_end(&w);
	}
	jw_kstrs(&w, "archives_unread", r->unread, r->nunread);
	jw_obj_end(&w);
	buf_addc(b, '\n');
}

/* ------------------------------------------------------------------ csv */

/* A field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
static void
csv_field(struct buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_adds(b, s);
		return;
	}
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_addc(b, '"');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

static void
render_csv(const struct report *r, struct buf *b)
{
	const struct rtable *t = NULL;
	const struct rcell *date = report_kv(r, "date");
	struct buf s = BUF_INIT;

	for (size_t i = 0; i < r->ntables && r->csv_table != NULL; i++)
		if (strcmp(r->tables[i].name, r->csv_table) == 0)
			t = &r->tables[i];
	if (t == NULL)
		goto out;
	/* A daily report's rows say their day, so that days concatenate. */
	if (date != NULL)
		buf_adds(b, "date,");
	for (size_t c = 0; c < t->ncols; c++) {
		if (c > 0)
			buf_addc(b, ',');
		buf_adds(b, t->keys[c]);
	}
	buf_adds(b, "\r\n");
	for (size_t row = 0; row < t->nrows; row++) {
		if (date != NULL)
			buf_printf(b, "%s,", date->s);
		for (size_t c = 0; c < t->ncols; c++) {
			const struct rcell *x = cell(t, row, c);
			if (c > 0)
				buf_addc(b, ',');
			if (x->type == RC_TIME) {
				char tm[40];
				format_utc(x->i, true, tm, sizeof(tm));
				buf_reset(&s);
				buf_adds(&s, tm);
			} else if (x->type == RC_MS) {
				buf_reset(&s);
				buf_printf(&s, "%lld", (long long)x->i);
			} else {
				cell_text(x, &s);
			}
			csv_field(b, buf_str(&s));
		}
		buf_adds(b, "\r\n");
	}
out:
	buf_free(&s);
}

/* ----------------------------------------------------------------- html */

/* Text already escaped (cell_text, text_esc), with HTML's markup characters escaped. */
static void
html_raw(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '&': buf_adds(b, "&amp;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default: buf_addc(b, *s); break;
		}
	}
}

/* Text for HTML: control characters escaped as everywhere, then the markup. */
static void
html_esc(struct buf *b, const char *s)
{
	struct buf tmp = BUF_INIT;

	html_raw(b, text_esc(s, &tmp));
	buf_free(&tmp);
}

/*
 * The colours of a page: one per series key (the stream), the same in
 * every chart, given in the order of the keys sorted, so that a stream
 * keeps its colour whatever chart or order it comes in.
 */
static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define NCOLORS (sizeof(palette) / sizeof(palette[0]))

struct colors {
	const char **keys;      /* sorted, each once; they belong to the report */
	size_t n;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
colors_init(struct colors *cl, const struct report *r)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < r->ncharts; i++)
		n += r->charts[i].nseries;
	cl->keys = xcalloc(n + 1, sizeof(*cl->keys));
	for (size_t i = 0; i < r->ncharts; i++)
		for (size_t s = 0; s < r->charts[i].nseries; s++)
			cl->keys[k++] = r->charts[i].s[s].key;
	qsort(cl->keys, n, sizeof(*cl->keys), cmp_str);
	cl->n = 0;
	for (size_t i = 0; i < n; i++)
		if (cl->n == 0 || strcmp(cl->keys[cl->n - 1], cl->keys[i]) != 0)
			cl->keys[cl->n++] = cl->keys[i];
}

static const char *
color_of(const struct colors *cl, const char *key)
{
	size_t lo = 0, hi = cl->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(cl->keys[mid], key);
		if (c == 0)
			return palette[mid % NCOLORS];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "#888";
}

/* Lines of one stream (one colour) told apart by their dashes: the nth of its key in ch. */
static const char *
dash_of(const struct rchart *ch, size_t k)
{
	static const char *const dashes[] = {"none", "7 3", "2 3", "9 3 2 3"};
	size_t nth = 0;

	for (size_t i = 0; i < k; i++)
		nth += strcmp(ch->s[i].key, ch->s[k].key) == 0;
	return dashes[nth % 4];
}

/* A line's points are marked when there are few enough to see one by one (one above all). */
#define MARKED_POINTS 48

/* A series' key and name as attributes, so a reader's tools (and tests) know which is which. */
static void
series_attrs(struct buf *b, const struct rseries *s)
{
	buf_adds(b, " data-stream=\"");
	html_esc(b, s->key);
	buf_adds(b, "\" data-series=\"");
	html_esc(b, s->name);
	buf_adds(b, "\"");
}

/* A chart as inline SVG: hours along x, bars stacked by series, or lines with their points. */
static void
html_chart(const struct rchart *ch, const struct colors *cl, struct buf *b)
{
	const int W = 760, H = 240, L = 56, R = 16, T = 16, B = 28;
	int64_t ymax = 1;
	int64_t *stack = NULL;
	size_t nx = 24;

	if (ch->bars) {
		stack = xcalloc(nx, sizeof(*stack));
		for (size_t k = 0; k < ch->nseries; k++)
			for (size_t p = 0; p < ch->s[k].n; p++) {
				size_t h = (size_t)((ch->s[k].x[p] - ch->x0) / 3600000);
				if (h < nx)
					stack[h] += ch->s[k].y[p];
			}
		for (size_t h = 0; h < nx; h++)
			ymax = stack[h] > ymax ? stack[h] : ymax;
	} else {
		for (size_t k = 0; k < ch->nseries; k++)
			for (size_t p = 0; p < ch->s[k].n; p++)
				ymax = ch->s[k].y[p] > ymax ? ch->s[k].y[p] : ymax;
	}
	double sx = (double)(W - L - R) / (double)(ch->x1 - ch->x0);
	double sy = (double)(H - T - B) / (double)ymax;
	buf_printf(b, "<figure class=\"chart\" id=\"%s\"><figcaption>", ch->name);
	html_esc(b, ch->title);
	buf_printf(b, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", W, H, W, H);
	/* the grid: a light line at each quarter of the top value */
	for (int q = 1; q <= 4; q++) {
		double y = (double)(H - B) - (double)(H - T - B) * q / 4.0;
		buf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
		    L, y, W - R, y);
	}
	/* axes, with hours along the bottom and the top value on the left */
	buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", L, H - B,
	    W - R, H - B);
	buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", L, T, L,
	    H - B);
	buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%lld</text>\n",
	    L - 6, T + 4, (long long)ymax);
	buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">0</text>\n",
	    L - 6, H - B + 4);
	for (int h = 0; h <= 24; h += 3)
		buf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">"
		    "%02d:00</text>\n", L + (double)h * 3600000.0 * sx, H - B + 16, h % 24);
	if (ch->bars) {
		double bw = (double)(W - L - R) / (double)nx;
		memset(stack, 0, nx * sizeof(*stack));
		for (size_t k = 0; k < ch->nseries; k++) {
			for (size_t p = 0; p < ch->s[k].n; p++) {
				size_t h = (size_t)((ch->s[k].x[p] - ch->x0) / 3600000);
				if (h >= nx)
					continue;
				double y0 = (double)(H - B) - (double)stack[h] * sy;
				double hh = (double)ch->s[k].y[p] * sy;
				buf_adds(b, "<rect class=\"bar\"");
				series_attrs(b, &ch->s[k]);
				buf_printf(b, " x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				    "fill=\"%s\"><title>", L + (double)h * bw + 1, y0 - hh, bw - 2, hh,
				    color_of(cl, ch->s[k].key));
				html_esc(b, ch->s[k].name);
				buf_printf(b, " %02zu:00: %lld</title></rect>\n", h,
				    (long long)ch->s[k].y[p]);
				stack[h] += ch->s[k].y[p];
			}
		}
	} else {
		for (size_t k = 0; k < ch->nseries; k++) {
			const struct rseries *s = &ch->s[k];
			const char *color = color_of(cl, s->key);
			buf_adds(b, "<polyline class=\"line\"");
			series_attrs(b, s);
			buf_printf(b, " fill=\"none\" stroke-width=\"2\" stroke=\"%s\" "
			    "stroke-dasharray=\"%s\" points=\"", color, dash_of(ch, k));
			for (size_t p = 0; p < s->n; p++)
				buf_printf(b, "%s%.1f,%.1f", p > 0 ? " " : "",
				    L + (double)(s->x[p] - ch->x0) * sx,
				    (double)(H - B) - (double)s->y[p] * sy);
			buf_adds(b, "\"/>\n");
			/* a line of one point draws nothing: its points are marked */
			for (size_t p = 0; s->n <= MARKED_POINTS && p < s->n; p++) {
				char t[40];
				buf_adds(b, "<circle class=\"dot\"");
				series_attrs(b, s);
				buf_printf(b, " cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>",
				    L + (double)(s->x[p] - ch->x0) * sx,
				    (double)(H - B) - (double)s->y[p] * sy, color);
				html_esc(b, s->name);
				format_utc(s->x[p], false, t, sizeof(t));
				buf_printf(b, " %s: %lld</title></circle>\n", t, (long long)s->y[p]);
			}
		}
	}
	if (ch->nseries == 0)
		buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\" "
		    "fill=\"#888\">nothing that day</text>\n", (W + L) / 2, H / 2);
	buf_adds(b, "</svg>\n<p class=\"legend\">");
	for (size_t k = 0; k < ch->nseries; k++) {
		const char *color = color_of(cl, ch->s[k].key);
		buf_adds(b, "<span");
		series_attrs(b, &ch->s[k]);
		if (ch->bars)
			buf_printf(b, "><i style=\"background:%s\"></i>", color);
		else
			buf_printf(b, "><svg width=\"22\" height=\"10\"><line x1=\"1\" y1=\"5\" "
			    "x2=\"21\" y2=\"5\" stroke=\"%s\" stroke-width=\"2.5\" "
			    "stroke-dasharray=\"%s\"/></svg>", color, dash_of(ch, k));
		html_esc(b, ch->s[k].name);
		buf_adds(b, "</span> ");
	}
	buf_adds(b, "</p></figure>\n");
	free(stack);
}

/* A column's heading as a reader reads it: "DEAD-LETTERED" is "Dead-lettered". */
static void
html_head(struct buf *b, const char *s)
{
	struct buf tmp = BUF_INIT;
	const char *e = text_esc(s, &tmp);

	for (size_t i = 0; e[i] != '\0'; i++) {
		char c = e[i];
		if (i > 0 && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		html_raw(b, (char[2]){c, '\0'});
	}
	buf_free(&tmp);
}

/* A table in a box of its own that scrolls sideways if it must: the page never does. */
static void
html_table(const struct rtable *t, struct buf *b)
{
	struct buf s = BUF_INIT;

	buf_adds(b, "<h2>");
	html_esc(b, t->title);
	buf_adds(b, "</h2>\n");
	if (t->nrows == 0) {
		buf_adds(b, "<p class=\"none\">None.</p>\n");
		goto out;
	}
	buf_printf(b, "<div class=\"wrap\"><table class=\"%s\"><thead><tr>", t->name);
	for (size_t c = 0; c < t->ncols; c++) {
		buf_adds(b, "<th>");
		html_head(b, t->heads[c]);
		buf_adds(b, "</th>");
	}
	buf_adds(b, "</tr></thead><tbody>\n");
	for (size_t row = 0; row < t->nrows; row++) {
		buf_adds(b, "<tr>");
		for (size_t c = 0; c < t->ncols; c++) {
			const struct rcell *x = cell(t, row, c);
			buf_adds(b, x->type == RC_INT ? "<td class=\"n\">" : "<td>");
			html_raw(b, cell_text(x, &s));
			buf_adds(b, "</td>");
		}
		buf_adds(b, "</tr>\n");
	}
	buf_adds(b, "</tbody></table></div>\n");
out:
	buf_free(&s);
}

/* The verdict first, with the title and the day: what a reader signs off at a glance. */
static void
html_verdict(const struct report *r, struct buf *b)
{
	const struct rcell *date = report_kv(r, "date");

	buf_printf(b, "<header id=\"verdict\" class=\"verdict %s\">\n<h1>",
	    rlevel_name(r->level));
	html_esc(b, r->title);
	if (date != NULL && date->s != NULL) {
		buf_adds(b, " <span class=\"date\">");
		html_esc(b, date->s);
		buf_adds(b, " (UTC)</span>");
	}
	buf_printf(b, "</h1>\n<p class=\"says\">%s</p>\n<ul>\n", level_text(r->level));
	for (size_t i = 0; i < r->nverdict; i++) {
		buf_printf(b, "<li class=\"%s\">", rlevel_name(r->verdict[i].level));
		html_esc(b, r->verdict[i].text);
		buf_adds(b, "</li>\n");
	}
	buf_adds(b, "</ul>\n</header>\n");
}

static const char html_style[] =
    "*{box-sizing:border-box}\n"
    "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;padding:1.5em 1.5em 3em;"
    "max-width:68em;color:#222}\n"
    "h1{font-size:1.45em;margin:0 0 .3em}h1 .date{color:#555;font-weight:400}\n"
    "h2{font-size:1.1em;margin:1.8em 0 .4em}\n"
    ".verdict{border:1px solid #ccc;border-left:.5em solid #888;border-radius:.3em;"
    "padding:1em 1.3em;margin-bottom:1.5em}\n"
    ".verdict.ok{border-left-color:#2e8540;background:#f3faf4}"
    ".verdict.warning{border-left-color:#d08a00;background:#fdf8ec}"
    ".verdict.bad{border-left-color:#c62828;background:#fdf1f1}\n"
    ".says{font-size:1.3em;font-weight:700;margin:.1em 0 .5em}"
    ".says::first-letter{text-transform:uppercase}.ok .says{color:#1e6b30}.warning .says{color:#8a5a00}.bad .says{color:#a01d1d}\n"
    ".verdict ul{list-style:none;margin:0;padding:0}"
    ".verdict li{margin:.3em 0;padding-left:1.4em;position:relative;overflow-wrap:anywhere}\n"
    ".verdict li::before{content:\"\";position:absolute;left:.2em;top:.4em;width:.7em;"
    "height:.7em;border-radius:50%;background:#888}"
    "li.ok::before{background:#2e8540}li.warning::before{background:#d08a00}"
    "li.bad::before{background:#c62828}\n"
    "dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(14em,1fr));"
    "gap:.5em 1.2em;margin:0}dl.summary div{border-bottom:1px solid #eee;padding:.2em 0}\n"
    "dt{color:#666;font-size:.85em}dd{margin:0;font-variant-numeric:tabular-nums;"
    "overflow-wrap:anywhere}\n"
    ".wrap{max-width:100%;overflow-x:auto}\n"
    "table{border-collapse:collapse;margin:.3em 0;font-size:.93em}"
    "td,th{padding:.3em .55em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top;"
    "overflow-wrap:anywhere}\n"
    "th{background:#f4f4f4;font-weight:600;overflow-wrap:normal}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "figure{margin:1.2em 0}figcaption{font-weight:600;margin-bottom:.3em}"
    "figure>svg{width:100%;height:auto}\n"
    ".legend span{display:inline-block;max-width:100%;margin-right:1.2em;"
    "overflow-wrap:anywhere}"
    ".legend i{display:inline-block;width:.8em;height:.8em;margin-right:.35em}"
    ".legend svg{margin-right:.35em;vertical-align:middle}.none{color:#888}\n";

static void
render_html(const struct report *r, struct buf *b)
{
	struct buf s = BUF_INIT;
	struct colors cl;

	colors_init(&cl, r);
	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width\">\n<title>");
	html_esc(b, r->title);
	buf_printf(b, "</title>\n<style>\n%s</style></head><body>\n", html_style);
	if (r->nverdict > 0) {
		html_verdict(r, b);
		buf_adds(b, "<h2>The day in figures</h2>\n");
	} else {
		buf_adds(b, "<h1>");
		html_esc(b, r->title);
		buf_adds(b, "</h1>\n");
	}
	buf_adds(b, "<dl class=\"summary\">\n");
	for (size_t i = 0; i < r->summary.nrows; i++) {
		const struct rcell *v = cell(&r->summary, i, 1);
		buf_adds(b, "<div><dt>");
		html_esc(b, cell(&r->summary, i, 2)->s);
		buf_adds(b, "</dt><dd>");
		html_raw(b, v->type == RC_NULL ? "-" : cell_text(v, &s));
		buf_adds(b, "</dd></div>\n");
	}
	buf_adds(b, "</dl>\n");
	for (size_t i = 0; i < r->ncharts; i++)
		html_chart(&r->charts[i], &cl, b);
	for (size_t i = 0; i < r->ntables; i++)
		html_table(&r->tables[i], b);
	buf_adds(b, "</body></html>\n");
	free(cl.keys);
	buf_free(&s);
}

void
render(const struct report *r, enum render_format f, struct buf *out)
{
	switch (f) {
	case RENDER_TEXT: render_text(r, out); break;
	case RENDER_MD: render_md(r, out); break;
	case RENDER_JSON: render_json(r, out); break;
	case RENDER_CSV: render_csv(r, out); break;
	case RENDER_HTML: render_html(r, out); break;
	}
}
