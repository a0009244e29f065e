/*
 * origin.c: copies followed back to what they were made of.  A replay's
 * copy is journalled with its original (replay_copies: the copies of one
 * request; replay_copy: one, journals from before schema 005): the
 * ancestry gives a copy its original's deliveries, and the origins give
 * the first entry of a chain of copies of copies.  Only streams some copy
 * went to are looked at.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "moveq.h"


void
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

int
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
int
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
