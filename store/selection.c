/*
 * selection.c: the entries a selection (moves.h) takes, each with where
 * it is now, read from its claim and every later event of the same entry
 * in one statement: whole (journal_select) or a page at a time in a read
 * transaction of its own (journal_select_page); and how many claims and
 * which groups a selection covers.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "moveq.h"

/* The same entry as row c (stream, grp, entry_ms, entry_seq). */
#define SAME_ENTRY(x) \
	x ".entry_ms = c.entry_ms AND " x ".entry_seq = c.entry_seq AND " \
	x ".stream = c.stream AND " x ".grp = c.grp"

/*
 * Each selected claim, joined with every later event of the same entry
 * (one index walk per claim, events_entry), and with the batches of the
 * copies made of it since (copied): a row per pair, most claims have one
 * row with both NULL.  (An entry replayed and rolled back n times has n^2
 * rows; a scalar subquery for the copies would avoid that, and measured a
 * tenth slower on every replay.)  The rows of one claim come together, in
 * any order; select_once() reads them as a little history: a later claim
 * means this one is not the latest; dead_lettered, settled, lost, taken
 * and handed_off (a live consumer has it) say where the entry is; a copy without a settled or copy_removed of the
 * same batch means a copy is in flight.  A claim with nothing after it
 * comes once, with x's and y's columns NULL.
 */
static const char select_head[] =
    "SELECT c.seq, c.stream, c.grp, c.entry_ms, c.entry_seq, c.consumer,"
    "  coalesce(c.deliveries, 0), c.payload,"
    "  x.seq, x.kind, x.batch, x.ref_stream, x.ref_ms, x.ref_seq, y.batch"
    " FROM events c"
    " LEFT JOIN events x ON " SAME_ENTRY("x") " AND x.seq > c.seq"
    " LEFT JOIN copied y ON " SAME_ENTRY("y") " AND y.seq > c.seq";

/*
 * The selection's terms over the claims c: only those it uses, so that
 * SQLite evaluates no more per row than asked, and uses events_entry when
 * one message is asked for (:mstream, :mms, :mseq).
 */
static char *
select_sql(const char *head, const struct selection *sel, bool one_message, const char *tail)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, head);
	buf_adds(&b, " WHERE c.kind IN ('claim', 'claim_reconciled')");
	if (sel->after_seq > 0)
		buf_adds(&b, " AND c.seq > :after");
	if (sel->run != 0)
		buf_adds(&b, " AND (c.run = :run OR json_extract(c.detail, '$.claimed_by_run') = :run)");
	if (sel->incident != 0)
		buf_adds(&b, " AND c.incident = :incident");
	if (sel->since_ms != 0)
		buf_adds(&b, " AND c.ts >= :since");
	if (sel->until_ms != 0)
		buf_adds(&b, " AND c.ts < :until");
	if (sel->streams != NULL && sel->streams[0] != NULL)
		buf_adds(&b, sel->streams[1] == NULL ? " AND c.stream = :stream" :
		    " AND c.stream IN (SELECT value FROM json_each(:streams))");
	if (sel->groups != NULL && sel->groups[0] != NULL)
		buf_adds(&b, sel->groups[1] == NULL ? " AND c.grp = :group" :
		    " AND c.grp IN (SELECT value FROM json_each(:groups))");
	if (one_message)
		buf_adds(&b, " AND c.entry_ms = :mms AND c.entry_seq = :mseq AND c.stream = :mstream");
	buf_adds(&b, tail);
	return b.data;
}

static void
bind_name_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		sqlite3_bind_int64(st, i, v);
}

static void
bind_name_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i > 0 && v != NULL)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static char *json_list(char *const *v);

/* Prepares a selection statement, sql, and binds all but the message. */
static int
prepare_bound(struct journal *j, char *sql, const struct selection *sel, sqlite3_stmt **ret,
    struct xerr *err)
{
	char *streams = json_list(sel->streams), *groups = json_list(sel->groups);
	int rc = sqlite3_prepare_v2(journal_db(j), sql, -1, ret, NULL);

	free(sql);
	if (rc != SQLITE_OK) {
		free(streams);
		free(groups);
		return DB_ERR(j, err, "selecting entries");
	}
	bind_name_int(*ret, ":after", sel->after_seq);
	bind_name_int(*ret, ":run", sel->run);
	bind_name_int(*ret, ":incident", sel->incident);
	bind_name_int(*ret, ":since", sel->since_ms);
	bind_name_int(*ret, ":until", sel->until_ms);
	bind_name_text(*ret, ":stream", sel->streams != NULL ? sel->streams[0] : NULL);
	bind_name_text(*ret, ":streams", streams);
	bind_name_text(*ret, ":group", sel->groups != NULL ? sel->groups[0] : NULL);
	bind_name_text(*ret, ":groups", groups);
	free(streams);
	free(groups);
	return 0;
}

/* Prepares the selection's statement: head, the terms, tail. */
static int
select_prepare(struct journal *j, const char *head, const struct selection *sel,
    bool one_message, const char *tail, sqlite3_stmt **ret, struct xerr *err)
{
	return prepare_bound(j, select_sql(head, sel, one_message, tail), sel, ret, err);
}


/* What the later events of one claim say, gathered row by row. */
struct history {
	struct journalled e;        /* its strings are in text, until the next claim */
	struct buf text;
	size_t off[5];              /* stream, grp, consumer, payload, dlq_stream (+1; 0: NULL) */
	bool superseded;            /* claimed again later */
	int64_t dlq_seq, done_seq;
	int64_t *batches;           /* batches that made a copy, and settled or removed */
	bool *closed;
	size_t nb, cap;
};

static void
history_copy(struct history *h, int64_t batch, bool closing)
{
	for (size_t i = 0; i < h->nb; i++) {
		if (h->batches[i] == batch) {
			h->closed[i] = h->closed[i] || closing;
			return;
		}
	}
	if (h->nb == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 4;
		h->batches = xrealloc(h->batches, h->cap * sizeof(*h->batches));
		h->closed = xrealloc(h->closed, h->cap * sizeof(*h->closed));
	}
	h->batches[h->nb] = batch;
	h->closed[h->nb] = closing;
	h->nb++;
}

/* Keeps a column's text (SQLite's is gone at the next step). */
static void
history_keep(struct history *h, int which, sqlite3_stmt *st, int col)
{
	const char *s = text(st, col);

	if (s == NULL) {
		h->off[which] = 0;
		return;
	}
	h->off[which] = h->text.len + 1;
	buf_add(&h->text, s, (size_t)sqlite3_column_bytes(st, col));
	buf_addc(&h->text, '\0');
}

static const char *
history_str(const struct history *h, int which)
{
	return h->off[which] ? h->text.data + h->off[which] - 1 : NULL;
}

/* Ends one claim's history: tells fn where the entry is. */
static int
history_end(struct history *h, const struct selection *sel, journalled_fn fn, void *ctx)
{
	struct journalled *e = &h->e;

	if (h->superseded)
		return 0;
	e->stream = history_str(h, 0);
	e->grp = history_str(h, 1);
	e->consumer = history_str(h, 2);
	e->payload = history_str(h, 3);
	e->dlq_stream = history_str(h, 4);
	if (h->dlq_seq > 0 && h->dlq_seq > h->done_seq)
		e->source = SRC_DLQ;
	else
		e->source = h->done_seq > 0 ? SRC_NONE : SRC_HELD;
	if (e->source != SRC_DLQ)
		e->dlq_stream = NULL;
	e->in_flight = false;
	for (size_t i = 0; i < h->nb; i++)
		e->in_flight = e->in_flight || !h->closed[i];
	if (sel->dead_lettered && e->source != SRC_DLQ)
		return 0;
	return fn(ctx, e);
}

static char *
json_list(char *const *v)
{
	struct buf b = BUF_INIT;
	struct jw w;

	if (v == NULL || v[0] == NULL)
		return NULL;
	jw_init(&w, &b);
	jw_arr(&w);
	for (; *v != NULL; v++)
		jw_str(&w, *v);
	jw_arr_end(&w);
	return b.data;
}

/*
 * Runs the selection once (for one message, when msg is not NULL).  If
 * last is not NULL: the seq of the last claim handed to fn, and how many
 * were.  With row_limit, a statement that gave that many rows may have
 * cut the last claim's rows short: that claim is left for the next page.
 * Returns 0, -1, 1 when fn stopped it, 2 when it left the last claim.
 */
static int
select_once(struct journal *j, sqlite3_stmt *st, const struct selection *sel,
    struct ancestry *anc, const struct entry_ref *msg, journalled_fn fn, void *ctx,
    size_t row_limit, int64_t *last, size_t *nclaims, struct xerr *err)
{
	int64_t prev = last != NULL ? *last : 0;
	size_t rows = 0;
	int rc;

	sqlite3_reset(st);
	if (msg != NULL) {
		bind_name_text(st, ":mstream", msg->stream);
		bind_name_int(st, ":mms", (int64_t)msg->id.ms);
		bind_name_int(st, ":mseq", (int64_t)msg->id.seq);
	}
	struct history h = {0};
	int64_t cur = 0;
	int out = 0;
	while (out == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t cseq = sqlite3_column_int64(st, 0);
		int64_t xseq = sqlite3_column_int64(st, 8);
		const char *kind = text(st, 9);

		rows++;
		if (cseq != cur) {
			if (cur != 0 && (out = history_end(&h, sel, fn, ctx)) != 0)
				break;
			cur = cseq;
			if (last != NULL) {
				prev = *last;
				*last = cseq;
				(*nclaims)++;
			}
			h.superseded = false;
			h.dlq_seq = h.done_seq = 0;
			h.nb = 0;
			memset(&h.e, 0, sizeof(h.e));
			buf_reset(&h.text);
			h.off[4] = 0;
			h.e.seq = cseq;
			history_keep(&h, 0, st, 1);
			history_keep(&h, 1, st, 2);
			h.e.id = id_at(st, 3);
			history_keep(&h, 2, st, 5);
			h.e.deliveries = sqlite3_column_int64(st, 6);
			history_keep(&h, 3, st, 7);
			h.e.payload_len = (size_t)sqlite3_column_bytes(st, 7);
			int64_t before;
			if (ancestry_deliveries(anc, history_str(&h, 0), h.e.id, &before, err) < 0) {
				out = -1;
				break;
			}
			h.e.deliveries += before;
		}
		if (sqlite3_column_type(st, 14) != SQLITE_NULL)
			history_copy(&h, sqlite3_column_int64(st, 14), false);
		if (kind == NULL || xseq <= cseq)
			continue;
		if (strcmp(kind, "claim") == 0 || strcmp(kind, "claim_reconciled") == 0) {
			h.superseded = true;
		} else if (strcmp(kind, "dead_lettered") == 0) {
			if (xseq > h.dlq_seq) {
				h.dlq_seq = xseq;
				history_keep(&h, 4, st, 11);
				h.e.dlq_id = id_at(st, 12);
			}
		} else if (strcmp(kind, "settled") == 0 || strcmp(kind, "lost") == 0 ||
		    strcmp(kind, "taken") == 0 || strcmp(kind, "handed_off") == 0) {
			h.done_seq = xseq > h.done_seq ? xseq : h.done_seq;
			if (strcmp(kind, "settled") == 0)
				history_copy(&h, sqlite3_column_int64(st, 10), true);
		} else if (strcmp(kind, "copy_removed") == 0) {
			history_copy(&h, sqlite3_column_int64(st, 10), true);
		}
	}
	if (out == 0 && rc == SQLITE_DONE && cur != 0) {
		if (row_limit > 0 && rows == row_limit && last != NULL) {
			*last = prev;       /* perhaps not all its rows: the next page has it */
			(*nclaims)--;
			out = 2;
		} else {
			out = history_end(&h, sel, fn, ctx);
		}
	}
	free(h.batches);
	free(h.closed);
	buf_free(&h.text);
	if (out != 0)
		return out;             /* fn's -1 (err is set) or 1, or 2 */
	if (rc != SQLITE_DONE)
		return DB_ERR(j, err, "selecting entries");
	return 0;
}

/* Messages in (stream, ID) order; equal ones in the order given. */
static int
cmp_message(const void *a, const void *b, void *arg)
{
	const struct entry_ref *m = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(m[x].stream, m[y].stream);

	if (c == 0)
		c = entry_id_cmp(m[x].id, m[y].id);
	return c != 0 ? c : x < y ? -1 : x > y;
}

/* dup[i]: message i was asked for before (sorting, not comparing each pair). */
static bool *
message_dups(const struct selection *sel)
{
	size_t n = sel->nmessages;
	size_t *order = xcalloc(n + 1, sizeof(*order));
	bool *dup = xcalloc(n + 1, sizeof(*dup));

	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_message, sel->messages);
	for (size_t i = 1; i < n; i++) {
		const struct entry_ref *a = &sel->messages[order[i - 1]];
		const struct entry_ref *b = &sel->messages[order[i]];
		dup[order[i]] = strcmp(a->stream, b->stream) == 0 && entry_id_cmp(a->id, b->id) == 0;
	}
	free(order);
	return dup;
}

int
journal_select(struct journal *j, const struct selection *sel, journalled_fn fn, void *ctx,
    struct xerr *err)
{
	struct ancestry anc;
	sqlite3_stmt *st;
	int rc = 0;

	if (ancestry_open(j, &anc, err) < 0)
		return -1;
	if (select_prepare(j, select_head, sel, sel->messages != NULL, " ORDER BY c.seq",
	    &st, err) < 0) {
		ancestry_close(&anc);
		return -1;
	}
	if (sel->messages != NULL) {
		bool *dup = message_dups(sel);
		for (size_t i = 0; i < sel->nmessages && rc == 0; i++)
			if (!dup[i])
				rc = select_once(j, st, sel, &anc, &sel->messages[i], fn, ctx, 0,
				    NULL, NULL, err);
		free(dup);
	} else {
		rc = select_once(j, st, sel, &anc, NULL, fn, ctx, 0, NULL, NULL, err);
	}
	sqlite3_finalize(st);
	ancestry_close(&anc);
	return rc;
}

int
journal_select_page(struct journal *j, const struct selection *sel, int64_t *after,
    size_t limit, journalled_fn fn, void *ctx, bool *ret_more, struct xerr *err)
{
	struct ancestry anc;
	sqlite3_stmt *st;
	size_t rows = limit, n;
	int rc;

	*ret_more = false;
	if (sel->messages != NULL)
		return journal_select(j, sel, fn, ctx, err);
	/*
	 * LIMIT counts rows, and a claim has a row for each later event of
	 * its entry (most have one): the page ends at the last whole claim.
	 * The claims are the outer loop, read in seq order: no sort.
	 */
	if (prepare_bound(j, select_sql(select_head, sel, false,
	    " AND c.seq > :page_after ORDER BY c.seq LIMIT :page_limit"), sel, &st, err) < 0)
		return -1;
	if (ancestry_open(j, &anc, err) < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	bind_name_int(st, ":page_after", *after > sel->after_seq ? *after : sel->after_seq);
	for (;;) {
		n = 0;
		bind_name_int(st, ":page_limit", (int64_t)rows);
		rc = select_once(j, st, sel, &anc, NULL, fn, ctx, rows, after, &n, err);
		if (rc != 2 || n > 0)
			break;
		rows *= 2;              /* one claim with more rows than that: again, all of it */
	}
	sqlite3_finalize(st);      /* and with it the read transaction */
	ancestry_close(&anc);
	*ret_more = rc > 0;
	return rc < 0 ? -1 : 0;
}

int
journal_select_count(struct journal *j, const struct selection *sel, size_t *ret,
    struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (select_prepare(j, "SELECT count(*) FROM events c", sel, false, "", &st, err) < 0)
		return -1;
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
	if (sel->messages != NULL && *ret > sel->nmessages)
		*ret = sel->nmessages;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return DB_ERR(j, err, "selecting entries");
	return 0;
}

int
journal_select_groups(struct journal *j, const struct selection *sel,
    int (*fn)(void *ctx, const char *stream, const char *grp), void *ctx, struct xerr *err)
{
	size_t n = sel->messages != NULL ? sel->nmessages : 1;
	sqlite3_stmt *st;
	int rc = 0, step = SQLITE_DONE;

	if (select_prepare(j, "SELECT DISTINCT c.stream, c.grp FROM events c", sel,
	    sel->messages != NULL, "", &st, err) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_reset(st);
		if (sel->messages != NULL) {
			bind_name_text(st, ":mstream", sel->messages[i].stream);
			bind_name_int(st, ":mms", (int64_t)sel->messages[i].id.ms);
			bind_name_int(st, ":mseq", (int64_t)sel->messages[i].id.seq);
		}
		while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
			rc = fn(ctx, text(st, 0), text(st, 1));
		if (rc == 0 && step != SQLITE_DONE)
			rc = DB_ERR(j, err, "selecting entries");
	}
	sqlite3_finalize(st);
	return rc;
}

int
journal_select_before(struct journal *j, const struct selection *sel, int64_t before,
    int64_t *ret_n, int64_t *ret_first, int64_t *ret_last, struct xerr *err)
{
	size_t n = sel->messages != NULL ? sel->nmessages : 1;
	sqlite3_stmt *st;
	int rc = SQLITE_ROW;

	*ret_n = *ret_first = *ret_last = 0;
	if (select_prepare(j, "SELECT count(*), min(c.seq), max(c.seq) FROM events c", sel,
	    sel->messages != NULL, sel->dead_lettered ? " AND c.seq < :before AND EXISTS"
	    " (SELECT 1 FROM events d WHERE " SAME_ENTRY("d") " AND d.seq > c.seq"
	    "  AND d.kind = 'dead_lettered')" : " AND c.seq < :before", &st, err) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == SQLITE_ROW; i++) {
		sqlite3_reset(st);
		bind_name_int(st, ":before", before);
		if (sel->messages != NULL) {
			bind_name_text(st, ":mstream", sel->messages[i].stream);
			bind_name_int(st, ":mms", (int64_t)sel->messages[i].id.ms);
			bind_name_int(st, ":mseq", (int64_t)sel->messages[i].id.seq);
		}
		if ((rc = sqlite3_step(st)) != SQLITE_ROW || sqlite3_column_int64(st, 0) == 0)
			continue;
		int64_t first = sqlite3_column_int64(st, 1), last = sqlite3_column_int64(st, 2);
		if (*ret_n == 0 || first < *ret_first)
			*ret_first = first;
		if (last > *ret_last)
			*ret_last = last;
		*ret_n += sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return DB_ERR(j, err, "selecting entries");
	return 0;
}
