/*
 * copies.c: the copies replay batches made, each with what became of it
 * (settled, removed), read back for rollback, settling and
 * reconciliation (journal_batch_copies, journal_open_copies).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "moveq.h"

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
