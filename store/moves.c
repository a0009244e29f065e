/* moves.c: journal queries about where claimed entries are now (see moves.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "moves.h"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

/* The same entry as row c (stream, grp, entry_ms, entry_seq). */
#define SAME_ENTRY(x) \
	x ".entry_ms = c.entry_ms AND " x ".entry_seq = c.entry_seq AND " \
	x ".stream = c.stream AND " x ".grp = c.grp"

const char *
source_name(enum source s)
{
	switch (s) {
	case SRC_HELD: return "held";
	case SRC_DLQ: return "dead_letter";
	case SRC_NONE: return "none";
	}
	return "?";
}

static const char *
text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static struct entry_id
id_at(sqlite3_stmt *st, int i)
{
	struct entry_id id = {(uint64_t)sqlite3_column_int64(st, i),
	    (uint64_t)sqlite3_column_int64(st, i + 1)};
	return id;
}

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

/*
 * The copies the selected claims may be of.  An entry that is itself a
 * copy made by a replay has had its deliveries before: its original's,
 * recorded with the copy.  Only streams some copy went to are looked at.
 */
struct ancestry {
	struct journal *j;
	char **targets;             /* streams copies went to */
	size_t ntargets;
	sqlite3_stmt *find;         /* the copy event at or below an ID in a stream */
	sqlite3_stmt *expand;       /* the copies of a replay_copies event */
	int64_t expanded_seq;       /* the replay_copies event expanded last: */
	struct anc_copy {
		struct entry_id copy;
		int64_t deliveries;
	} *cv;                      /* its copies */
	size_t cn;
};

static void
ancestry_close(struct ancestry *a)
{
	for (size_t i = 0; i < a->ntargets; i++)
		free(a->targets[i]);
	free(a->targets);
	sqlite3_finalize(a->find);
	sqlite3_finalize(a->expand);
	free(a->cv);
	memset(a, 0, sizeof(*a));
}

static int
ancestry_open(struct journal *j, struct ancestry *a, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(a, 0, sizeof(*a));
	a->j = j;
	/* One index seek per target stream (events_copies), however many copies. */
	if (sqlite3_prepare_v2(journal_db(j),
	    "SELECT ref_stream FROM events WHERE kind IN ('replay_copy', 'replay_copies')"
	    " AND ref_stream > ?1 ORDER BY ref_stream LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading copies");
	sqlite3_bind_text(st, 1, "", 0, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a->targets = xrealloc(a->targets, (a->ntargets + 1) * sizeof(*a->targets));
		a->targets[a->ntargets] = xstrdup(text(st, 0));
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, a->targets[a->ntargets], -1, SQLITE_STATIC);
		a->ntargets++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ancestry_close(a);
		return DB_ERR(j, err, "reading copies");
	}
	return 0;
}

/* Reads the copies of the replay_copies event seq into a->cv. */
static int
ancestry_expand(struct ancestry *a, int64_t seq, struct xerr *err)
{
	int rc;

	if (a->expand == NULL && sqlite3_prepare_v2(journal_db(a->j),
	    "SELECT copy_ms, copy_seq, deliveries FROM copy_events WHERE seq = ?1", -1,
	    &a->expand, NULL) != SQLITE_OK)
		return DB_ERR(a->j, err, "reading copies");
	a->cn = 0;
	a->expanded_seq = seq;
	sqlite3_bind_int64(a->expand, 1, seq);
	while ((rc = sqlite3_step(a->expand)) == SQLITE_ROW) {
		a->cv = xrealloc(a->cv, (a->cn + 1) * sizeof(*a->cv));
		a->cv[a->cn].copy = id_at(a->expand, 0);
		a->cv[a->cn].deliveries = sqlite3_column_int64(a->expand, 2);
		a->cn++;
	}
	sqlite3_reset(a->expand);
	if (rc != SQLITE_DONE)
		return DB_ERR(a->j, err, "reading copies");
	return 0;
}

/* The deliveries recorded with the copy stream/id, if it is one (0 if not). */
static int
ancestry_deliveries(struct ancestry *a, const char *stream, struct entry_id id, int64_t *ret,
    struct xerr *err)
{
	bool target = false, legacy = false;
	int64_t seq = 0;
	int rc;

	*ret = 0;
	for (size_t i = 0; i < a->ntargets && !target; i++)
		target = strcmp(a->targets[i], stream) == 0;
	if (!target)
		return 0;
	/* The copy event whose (first) copy ID is the greatest at or below id. */
	if (a->find == NULL && sqlite3_prepare_v2(journal_db(a->j),
	    "SELECT seq, kind = 'replay_copy', ref_ms, ref_seq, deliveries FROM events"
	    " WHERE kind IN ('replay_copy', 'replay_copies') AND ref_stream = ?1"
	    " AND (ref_ms, ref_seq) <= (?2, ?3) ORDER BY ref_ms DESC, ref_seq DESC LIMIT 1",
	    -1, &a->find, NULL) != SQLITE_OK)
		return DB_ERR(a->j, err, "reading copies");
	sqlite3_bind_text(a->find, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(a->find, 2, (int64_t)id.ms);
	sqlite3_bind_int64(a->find, 3, (int64_t)id.seq);
	rc = sqlite3_step(a->find);
	if (rc == SQLITE_ROW) {
		seq = sqlite3_column_int64(a->find, 0);
		legacy = sqlite3_column_int(a->find, 1) != 0;
		/* A replay_copy event is one copy: this one, or none. */
		if (legacy && entry_id_cmp(id_at(a->find, 2), id) == 0)
			*ret = sqlite3_column_int64(a->find, 4);
	}
	sqlite3_reset(a->find);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(a->j, err, "reading copies");
	if (seq == 0 || legacy)
		return 0;
	/* Consecutive claims are mostly copies made by one request: read it once. */
	if (seq != a->expanded_seq && ancestry_expand(a, seq, err) < 0)
		return -1;
	for (size_t i = 0; i < a->cn; i++) {
		if (entry_id_cmp(a->cv[i].copy, id) == 0) {
			*ret = a->cv[i].deliveries;
			break;
		}
	}
	return 0;
}

/*
 * The entry that the copy stream/id was made of: the copy event whose
 * (first) copy ID is the greatest at or below id in that stream, as
 * ancestry_deliveries() finds it; a replay_copy event (journals from
 * before schema 005) if it is this copy, else this copy among the copies
 * of a replay_copies event.
 */
static const char origin_find_sql[] =
    "SELECT seq, kind = 'replay_copy', ref_ms, ref_seq, stream, grp, entry_ms, entry_seq"
    " FROM events WHERE kind IN ('replay_copy', 'replay_copies') AND ref_stream = ?1"
    " AND (ref_ms, ref_seq) <= (?2, ?3) ORDER BY ref_ms DESC, ref_seq DESC LIMIT 1";
static const char origin_expand_sql[] =
    "SELECT json_extract(c.value, '$[4]'), json_extract(c.value, '$[5]'),"
    "  json_extract(c.value, '$[0]'), json_extract(c.value, '$[1]'),"
    "  json_extract(c.value, '$[2]'), json_extract(c.value, '$[3]')"
    " FROM events e, json_each(e.detail, '$.copies') c WHERE e.seq = ?1";

#define ORIGIN_DEPTH 64         /* copies of copies followed back at most */

struct copy_origins {
	struct ancestry anc;        /* the streams copies went to */
	sqlite3_stmt *find, *expand;
	int64_t expanded_seq;       /* the replay_copies event read last: */
	struct orig_copy {
		struct entry_id copy, id;
		size_t stream, grp;     /* offsets in text */
	} *v;                       /* its copies */
	size_t n;
	struct buf text;
};

int
journal_origins_open(struct journal *j, struct copy_origins **ret, struct xerr *err)
{
	struct copy_origins *o = xcalloc(1, sizeof(*o));

	if (ancestry_open(j, &o->anc, err) < 0) {
		free(o);
		return -1;
	}
	*ret = o;
	return 0;
}

void
journal_origins_close(struct copy_origins *o)
{
	if (o == NULL)
		return;
	sqlite3_finalize(o->find);
	sqlite3_finalize(o->expand);
	ancestry_close(&o->anc);
	free(o->v);
	buf_free(&o->text);
	free(o);
}

static size_t
origins_keep(struct copy_origins *o, const char *s)
{
	size_t off = o->text.len;

	buf_adds(&o->text, s != NULL ? s : "");
	buf_addc(&o->text, '\0');
	return off;
}

/* Reads the copies of the replay_copies event seq into o->v. */
static int
origins_expand(struct copy_origins *o, int64_t seq, struct xerr *err)
{
	int rc;

	if (o->expand == NULL && sqlite3_prepare_v2(journal_db(o->anc.j), origin_expand_sql, -1,
	    &o->expand, NULL) != SQLITE_OK)
		return DB_ERR(o->anc.j, err, "reading copies");
	o->n = 0;
	o->expanded_seq = seq;
	buf_reset(&o->text);
	sqlite3_bind_int64(o->expand, 1, seq);
	while ((rc = sqlite3_step(o->expand)) == SQLITE_ROW) {
		o->v = xrealloc(o->v, (o->n + 1) * sizeof(*o->v));
		o->v[o->n].copy = id_at(o->expand, 0);
		o->v[o->n].stream = origins_keep(o, text(o->expand, 2));
		o->v[o->n].grp = origins_keep(o, text(o->expand, 3));
		o->v[o->n].id = id_at(o->expand, 4);
		o->n++;
	}
	sqlite3_reset(o->expand);
	if (rc != SQLITE_DONE)
		return DB_ERR(o->anc.j, err, "reading copies");
	return 0;
}

/* One step back: *found when stream/id is a copy, and then what of (s, g, id replaced). */
static int
origin_step(struct copy_origins *o, char **s, char **g, struct entry_id *id, bool *found,
    struct xerr *err)
{
	struct journal *j = o->anc.j;
	bool target = false;
	int64_t seq = 0;
	int rc;

	*found = false;
	/* Only a stream some copy went to can hold one. */
	for (size_t i = 0; i < o->anc.ntargets && !target; i++)
		target = strcmp(o->anc.targets[i], *s) == 0;
	if (!target)
		return 0;
	if (o->find == NULL && sqlite3_prepare_v2(journal_db(j), origin_find_sql, -1, &o->find,
	    NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading copies");
	sqlite3_bind_text(o->find, 1, *s, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(o->find, 2, (int64_t)id->ms);
	sqlite3_bind_int64(o->find, 3, (int64_t)id->seq);
	rc = sqlite3_step(o->find);
	if (rc == SQLITE_ROW) {
		seq = sqlite3_column_int64(o->find, 0);
		/* A replay_copy event is one copy: this one, or none. */
		if (sqlite3_column_int(o->find, 1) != 0) {
			if (entry_id_cmp(id_at(o->find, 2), *id) == 0) {
				free(*s);
				free(*g);
				*s = xstrdup(text(o->find, 4));
				*g = xstrdup(text(o->find, 5));
				*id = id_at(o->find, 6);
				*found = true;
			}
			seq = 0;
		}
	}
	sqlite3_reset(o->find);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading copies");
	if (seq == 0)
		return 0;
	/* Consecutive dead letters are mostly copies made by one request: read it once. */
	if (seq != o->expanded_seq && origins_expand(o, seq, err) < 0)
		return -1;
	for (size_t i = 0; i < o->n; i++) {
		if (entry_id_cmp(o->v[i].copy, *id) == 0) {
			free(*s);
			free(*g);
			*s = xstrdup(o->text.data + o->v[i].stream);
			*g = xstrdup(o->text.data + o->v[i].grp);
			*id = o->v[i].id;
			*found = true;
			break;
		}
	}
	return 0;
}

int
journal_copy_origin(struct copy_origins *o, const char *stream, const char *grp,
    struct entry_id id, struct copy_origin *ret, struct xerr *err)
{
	char *s = xstrdup(stream), *g = xstrdup(grp);
	bool found = true;

	memset(ret, 0, sizeof(*ret));
	for (int depth = 0; depth < ORIGIN_DEPTH && found; depth++) {
		if (origin_step(o, &s, &g, &id, &found, err) < 0) {
			free(s);
			free(g);
			return -1;
		}
		ret->is_copy = ret->is_copy || found;
	}
	ret->stream = s;
	ret->grp = g;
	ret->id = id;
	return 0;
}

void
copy_origin_free(struct copy_origin *o)
{
	free(o->stream);
	free(o->grp);
	memset(o, 0, sizeof(*o));
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

static int
one_int(struct journal *j, const char *sql, int64_t arg, int64_t *ret, bool *found,
    struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j), sql, -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading");
	sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	if (found != NULL)
		*found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading");
	return 0;
}

int
journal_next_batch(struct journal *j, int64_t *ret, struct xerr *err)
{
	return one_int(j, "SELECT max(coalesce((SELECT max(batch) FROM events"
	    " WHERE kind = 'replay_start' AND ?1 = ?1), 0),"
	    " coalesce((SELECT max(last_batch) FROM archives), 0)) + 1", 0, ret, NULL, err);
}

/*
 * The copies of one batch, in the order made, as the copy_events view
 * (schema/005_copies.sql) has them.  The replay_copy events (one a copy,
 * journals from before schema 005) come first: a batch that has both was
 * begun by an older xrecover.  The copies of replay_copies events come as
 * each copy's array, as the journal wrote it (copies_detail() in
 * journal.c), read by copy_members() below: the view's json_extract of
 * each member takes most of a rollback's time.
 */
static const char legacy_copies_sql[] =
    "SELECT batch, stream, grp, entry_ms, entry_seq, ref_stream, ref_ms, ref_seq,"
    "  coalesce(json_extract(detail, '$.source'), 'held'), json_extract(detail, '$.dlq_stream'),"
    "  json_extract(detail, '$.dlq_ms'), json_extract(detail, '$.dlq_seq')"
    " FROM events WHERE batch = ?1 AND kind = 'replay_copy' ORDER BY seq";
static const char copies_sql[] =
    "SELECT e.batch, e.ref_stream, c.value"
    " FROM events e, json_each(e.detail, '$.copies') c"
    " WHERE e.batch = ?1 AND e.kind = 'replay_copies' ORDER BY e.seq";
/* A member of a copy's array, when it is a string with an escape in it. */
static const char member_sql[] = "SELECT ?1 ->> ?2";

/* The originals of a batch whose copy settled or was removed: read once, sorted. */
static const char ended_sql[] =
    "SELECT entry_ms, entry_seq, stream, grp, kind = 'settled' FROM events"
    " WHERE batch = ?1 AND kind IN ('settled', 'copy_removed')";

struct ended {
	struct entry_id id;
	size_t stream, grp;         /* offsets in text */
	bool settled;               /* settled; else removed */
};

struct ended_set {
	struct ended *v;
	size_t n, cap;
	struct buf text;
};

static int
cmp_ended(const void *a, const void *b, void *arg)
{
	const struct ended *x = a, *y = b;
	const char *t = arg;
	int c = entry_id_cmp(x->id, y->id);

	if (c == 0)
		c = strcmp(t + x->stream, t + y->stream);
	if (c == 0)
		c = strcmp(t + x->grp, t + y->grp);
	return c;
}

static int
ended_load(struct journal *j, sqlite3_stmt *st, int64_t batch, struct ended_set *e,
    struct xerr *err)
{
	int rc;

	e->n = 0;
	buf_reset(&e->text);
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, batch);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ended *x;
		const char *s = text(st, 2), *g = text(st, 3);

		if (e->n == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 64;
			e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
		}
		x = &e->v[e->n++];
		x->id = id_at(st, 0);
		x->stream = e->text.len;
		buf_adds(&e->text, s != NULL ? s : "");
		buf_addc(&e->text, '\0');
		x->grp = e->text.len;
		buf_adds(&e->text, g != NULL ? g : "");
		buf_addc(&e->text, '\0');
		x->settled = sqlite3_column_int(st, 4) != 0;
	}
	if (rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading copies");
	if (e->n > 1)
		qsort_r(e->v, e->n, sizeof(*e->v), cmp_ended, e->text.data);
	return 0;
}

/* Whether the copy of c's original settled, or was removed. */
static void
ended_mark(const struct ended_set *e, struct copy_row *c)
{
	size_t lo = 0, hi = e->n;

	/* The first at or after c's original, then each equal one. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ended *x = &e->v[mid];
		int d = entry_id_cmp(x->id, c->id);
		if (d == 0)
			d = strcmp(e->text.data + x->stream, c->stream);
		if (d == 0)
			d = strcmp(e->text.data + x->grp, c->grp);
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < e->n && entry_id_cmp(e->v[i].id, c->id) == 0 &&
	    strcmp(e->text.data + e->v[i].stream, c->stream) == 0 &&
	    strcmp(e->text.data + e->v[i].grp, c->grp) == 0; i++) {
		if (e->v[i].settled)
			c->settled = true;
		else
			c->removed = true;
	}
}

static enum source
source_of(const char *src)
{
	return src == NULL ? SRC_NONE : strcmp(src, "held") == 0 ? SRC_HELD :
	    strcmp(src, "dead_letter") == 0 ? SRC_DLQ : SRC_NONE;
}

/* Hands copy c to fn after marking what became of it (open_only: if nothing did). */
static int
copy_found(const struct ended_set *e, struct copy_row *c, bool open_only, copy_fn fn, void *ctx)
{
	ended_mark(e, c);
	if (open_only && (c->settled || c->removed))
		return 0;
	return fn(ctx, c);
}

/* A copy of a replay_copies event, from its array (see copies_sql). */
struct copy_members {
	struct copy_row c;
	struct buf text;
	size_t off[5];              /* stream, grp, to, source, dlq_stream; 0: NULL */
	sqlite3_stmt *member;       /* member_sql */
};

static void
member_text(struct copy_members *m, int i, const char *s, size_t n)
{
	m->off[i] = m->text.len + 1;
	buf_add(&m->text, s, n);
	buf_addc(&m->text, '\0');
}

/*
 * Reads the array json (text of the copies_sql row) into m: [stream, grp,
 * entry_ms, entry_seq, copy_ms, copy_seq, consumer, deliveries, source,
 * dlq_stream, dlq_ms, dlq_seq], integers and strings as jw_* write them.
 * A string with an escape is read by SQLite (member_sql).  Returns -1 when
 * it is not such an array.
 */
static int
copy_members(struct journal *j, struct copy_members *m, const char *json, struct xerr *err)
{
	/* Where each member goes: a string's index in m->off, or an ID half. */
	uint64_t *num[12] = {NULL, NULL, &m->c.id.ms, &m->c.id.seq, &m->c.copy.ms,
	    &m->c.copy.seq, NULL, NULL, NULL, NULL, &m->c.dlq_id.ms, &m->c.dlq_id.seq};
	static const int str[12] = {0, 1, -1, -1, -1, -1, -1, -1, 3, 4, -1, -1};
	const char *p = json;
	int k = 0;

	if (*p++ != '[')
		goto bad;
	while (*p != ']') {
		if (k > 0 && *p++ != ',')
			goto bad;
		if (*p == '"') {
			const char *end = strpbrk(p + 1, "\\\"");
			if (end == NULL)
				goto bad;
			if (*end == '"') {
				if (k < 12 && str[k] >= 0)
					member_text(m, str[k], p + 1, (size_t)(end - p - 1));
				p = end + 1;
			} else {
				/* Escaped: SQLite reads the member, and the rest is found as SQLite would. */
				sqlite3_reset(m->member);
				sqlite3_bind_text(m->member, 1, json, -1, SQLITE_STATIC);
				sqlite3_bind_int(m->member, 2, k);
				if (sqlite3_step(m->member) != SQLITE_ROW)
					return DB_ERR(j, err, "reading copies");
				const char *v = text(m->member, 0);
				if (k < 12 && str[k] >= 0 && v != NULL)
					member_text(m, str[k], v, strlen(v));
				sqlite3_reset(m->member);
				for (p = p + 1; *p != '"'; p++)
					if (*p == '\0' || (*p == '\\' && *++p == '\0'))
						goto bad;
				p++;
			}
		} else if (strncmp(p, "null", 4) == 0) {
			p += 4;
		} else {
			char *end;
			long long v = strtoll(p, &end, 10);
			if (end == p)
				goto bad;
			if (k < 12 && num[k] != NULL)
				*num[k] = (uint64_t)v;
			p = end;
		}
		k++;
	}
	return 0;
bad:
	return xerr_set(err, XR_EJOURNAL, "journal '%s': reading copies: a copy of replay batch "
	    "%lld is not journalled as an array", journal_path(j), (long long)m->c.batch);
}

/* The copy m has read, its strings pointing into m. */
static struct copy_row *
members_row(struct copy_members *m)
{
	const char **at[5] = {&m->c.stream, &m->c.grp, &m->c.to, NULL, &m->c.dlq_stream};

	for (int i = 0; i < 5; i++)
		if (at[i] != NULL)
			*at[i] = m->off[i] != 0 ? m->text.data + m->off[i] - 1 : NULL;
	m->c.source = source_of(m->off[3] != 0 ? m->text.data + m->off[3] - 1 : NULL);
	return &m->c;
}

static int
each_copy(struct journal *j, sqlite3_stmt **st, int64_t batch, bool open_only, copy_fn fn,
    void *ctx, struct xerr *err)
{
	struct ended_set e = {0};
	struct copy_members m = {0};
	sqlite3_stmt *legacy = st[0], *copies = st[1];
	int rc;

	m.member = st[3];
	if (ended_load(j, st[2], batch, &e, err) < 0)
		goto fail;
	sqlite3_reset(legacy);
	sqlite3_bind_int64(legacy, 1, batch);
	while ((rc = sqlite3_step(legacy)) == SQLITE_ROW) {
		struct copy_row c = {0};

		c.batch = sqlite3_column_int64(legacy, 0);
		c.stream = text(legacy, 1);
		c.grp = text(legacy, 2);
		c.id = id_at(legacy, 3);
		c.to = text(legacy, 5);
		c.copy = id_at(legacy, 6);
		c.source = source_of(text(legacy, 8));
		c.dlq_stream = text(legacy, 9);
		c.dlq_id = id_at(legacy, 10);
		if (copy_found(&e, &c, open_only, fn, ctx) < 0)
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		DB_ERR(j, err, "reading copies");
		goto fail;
	}
	sqlite3_reset(copies);
	sqlite3_bind_int64(copies, 1, batch);
	while ((rc = sqlite3_step(copies)) == SQLITE_ROW) {
		const char *to = text(copies, 1), *json = text(copies, 2);

		memset(&m.c, 0, sizeof(m.c));
		memset(m.off, 0, sizeof(m.off));
		buf_reset(&m.text);
		m.c.batch = sqlite3_column_int64(copies, 0);
		if (to != NULL)
			member_text(&m, 2, to, strlen(to));
		if (json == NULL || copy_members(j, &m, json, err) < 0)
			goto fail;
		if (copy_found(&e, members_row(&m), open_only, fn, ctx) < 0)
			goto fail;
	}
	if (rc != SQLITE_DONE) {
		DB_ERR(j, err, "reading copies");
		goto fail;
	}
	free(e.v);
	buf_free(&e.text);
	buf_free(&m.text);
	return 0;
fail:
	free(e.v);
	buf_free(&e.text);
	buf_free(&m.text);
	return -1;
}

/* Prepares the statements each_copy() runs. */
static int
copies_prepare(struct journal *j, sqlite3_stmt *st[4], struct xerr *err)
{
	const char *sql[4] = {legacy_copies_sql, copies_sql, ended_sql, member_sql};

	for (int i = 0; i < 4; i++) {
		if (sqlite3_prepare_v2(journal_db(j), sql[i], -1, &st[i], NULL) != SQLITE_OK) {
			for (int k = 0; k < i; k++)
				sqlite3_finalize(st[k]);
			return DB_ERR(j, err, "reading copies");
		}
	}
	return 0;
}

int
journal_batch_copies(struct journal *j, int64_t batch, copy_fn fn, void *ctx, struct xerr *err)
{
	sqlite3_stmt *st[4];
	int rc;

	if (copies_prepare(j, st, err) < 0)
		return -1;
	rc = each_copy(j, st, batch, false, fn, ctx, err);
	for (int i = 0; i < 4; i++)
		sqlite3_finalize(st[i]);
	return rc;
}

int
journal_open_copies(struct journal *j, copy_fn fn, void *ctx, struct xerr *err)
{
	sqlite3_stmt *st[4];
	int64_t *batches = NULL;
	size_t n = 0;
	int rc = 0;

	if (journal_unclosed_batches(j, &batches, &n, err) < 0)
		return -1;
	if (copies_prepare(j, st, err) < 0) {
		free(batches);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = each_copy(j, st, batches[i], true, fn, ctx, err);
	for (int i = 0; i < 4; i++)
		sqlite3_finalize(st[i]);
	free(batches);
	return rc;
}

int
journal_batch_info(struct journal *j, int64_t batch, struct batch_info *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (sqlite3_prepare_v2(journal_db(j),
	    "SELECT s.ts, json_extract(s.detail, '$.to'),"
	    "  EXISTS (SELECT 1 FROM events e WHERE e.batch = s.batch AND e.kind = 'replay_end'),"
	    "  EXISTS (SELECT 1 FROM events e WHERE e.batch = s.batch AND e.kind = 'rollback'),"
	    "  EXISTS (SELECT 1 FROM events e WHERE e.batch = s.batch AND e.kind = 'batch_closed')"
	    " FROM events s WHERE s.kind = 'replay_start' AND s.batch = ?1", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading batches");
	sqlite3_bind_int64(st, 1, batch);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *to = text(st, 1);
		ret->exists = true;
		ret->started_ms = sqlite3_column_int64(st, 0);
		snprintf(ret->to, sizeof(ret->to), "%s", to != NULL ? to : "");
		ret->ended = sqlite3_column_int(st, 2) != 0;
		ret->rolled_back = sqlite3_column_int(st, 3) != 0;
		ret->closed = sqlite3_column_int(st, 4) != 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading batches");
	return 0;
}

/* The batches with a replay_start and no event of kind `missing`. */
static int
batches_without(struct journal *j, const char *missing, int64_t **ret, size_t *ret_n,
    struct xerr *err)
{
	sqlite3_stmt *st;
	int64_t *v = NULL;
	size_t n = 0;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j),
	    "SELECT s.batch FROM events s WHERE s.kind = 'replay_start' AND NOT EXISTS"
	    " (SELECT 1 FROM events e WHERE e.batch = s.batch AND e.kind = ?1)"
	    " ORDER BY s.batch", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading batches");
	sqlite3_bind_text(st, 1, missing, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return DB_ERR(j, err, "reading batches");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int
journal_unended_batches(struct journal *j, int64_t **ret, size_t *ret_n, struct xerr *err)
{
	return batches_without(j, "replay_end", ret, ret_n, err);
}

int
journal_unclosed_batches(struct journal *j, int64_t **ret, size_t *ret_n, struct xerr *err)
{
	return batches_without(j, "batch_closed", ret, ret_n, err);
}

int
journal_copy_target(struct journal *j, const char *stream, bool *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j),
	    "SELECT 1 FROM events WHERE kind IN ('replay_copy', 'replay_copies')"
	    " AND ref_stream = ?1 LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading copies");
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading copies");
	return 0;
}

int
journal_copy_made(struct journal *j, int64_t batch, const char *stream, const char *grp,
    struct entry_id id, bool *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j),
	    "SELECT 1 FROM copied WHERE entry_ms = ?1 AND entry_seq = ?2 AND stream = ?3"
	    " AND grp = ?4 AND batch = ?5 LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading copies");
	sqlite3_bind_int64(st, 1, (int64_t)id.ms);
	sqlite3_bind_int64(st, 2, (int64_t)id.seq);
	sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, grp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, batch);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading copies");
	return 0;
}

int
journal_entry_event(struct journal *j, const char *kind, int64_t batch, const char *stream,
    const char *grp, struct entry_id id, int64_t since_seq, bool *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j),
	    "SELECT 1 FROM events WHERE entry_ms = ?1 AND entry_seq = ?2 AND stream = ?3"
	    " AND grp = ?4 AND kind = ?5 AND seq > ?6 AND (?7 = 0 OR batch = ?7) LIMIT 1",
	    -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading events");
	sqlite3_bind_int64(st, 1, (int64_t)id.ms);
	sqlite3_bind_int64(st, 2, (int64_t)id.seq);
	sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, grp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, since_seq);
	sqlite3_bind_int64(st, 7, batch);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading events");
	return 0;
}
