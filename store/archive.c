/* archive.c: the journal's archives, its cuts, copying events between files (see archive.h). */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/json.h"
#include "archive.h"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

#define COPY_CHUNK 20000        /* events per transaction of a copy */

void
archive_rows_free(struct archive_row *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].file);
	free(r);
}

int
journal_archives(struct journal *j, struct archive_row **ret, size_t *ret_n, struct xerr *err)
{
	sqlite3_stmt *st;
	struct archive_row *v = NULL;
	size_t n = 0;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j), "SELECT first_seq, last_seq, last_hash, file, events,"
	    " coalesce(first_ts, 0), coalesce(last_ts, 0), last_run, last_batch, archived_at"
	    " FROM archives ORDER BY last_seq", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading archives");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct archive_row *r;
		const char *file = (const char *)sqlite3_column_text(st, 3);
		v = xrealloc(v, (n + 1) * sizeof(*v));
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->first_seq = sqlite3_column_int64(st, 0);
		r->last_seq = sqlite3_column_int64(st, 1);
		if (sqlite3_column_bytes(st, 2) == CHAIN_HASH_LEN)
			memcpy(r->last_hash, sqlite3_column_blob(st, 2), CHAIN_HASH_LEN);
		r->file = xstrdup(file != NULL ? file : "");
		r->events = sqlite3_column_int64(st, 4);
		r->first_ts = sqlite3_column_int64(st, 5);
		r->last_ts = sqlite3_column_int64(st, 6);
		r->last_run = sqlite3_column_int64(st, 7);
		r->last_batch = sqlite3_column_int64(st, 8);
		r->archived_at = sqlite3_column_int64(st, 9);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		archive_rows_free(v, n);
		return DB_ERR(j, err, "reading archives");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* One integer from sql with up to one parameter a (0 when NULL or no row). */
static int
one(struct journal *j, const char *sql, int64_t a, int64_t *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j), sql, -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading the journal");
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, a);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading the journal");
	return 0;
}

/*
 * An entry is held while the last of its events that take it in or let it
 * go is one that takes it in: a claim, or a rollback's copy_removed (the
 * original is back on the recovery consumer).  Its first event is where
 * the journal's knowledge of it starts (adopt.c and replay look it up).
 */
static const char held_sql[] =
    "SELECT min(first) FROM (SELECT min(seq) AS first,"
    "  max(CASE WHEN kind IN ('claim', 'claim_reconciled', 'copy_removed') THEN seq END) AS h,"
    "  max(CASE WHEN kind IN ('dead_lettered', 'settled', 'lost', 'taken', 'handed_off')"
    "      THEN seq END) AS t"
    " FROM events WHERE entry_ms IS NOT NULL AND kind IN ('claim', 'claim_reconciled',"
    "  'copy_removed', 'dead_lettered', 'settled', 'lost', 'taken', 'handed_off')"
    " GROUP BY entry_ms, entry_seq, stream, grp)"
    " WHERE h IS NOT NULL AND (t IS NULL OR t < h)";

int
journal_archive_limits(struct journal *j, int64_t before_ms, struct archive_limits *ret,
    struct xerr *err)
{
	memset(ret, 0, sizeof(*ret));
	if (one(j, "SELECT coalesce((SELECT min(seq) FROM events), 0)", 0, &ret->first_seq,
	    err) < 0 ||
	    one(j, "SELECT coalesce((SELECT max(seq) FROM events), 0)", 0, &ret->head_seq,
	    err) < 0 ||
	    one(j, "SELECT coalesce(min(seq), 0) FROM events WHERE ts >= ?1", before_ms,
	    &ret->newer_seq, err) < 0 ||
	    one(j, "SELECT coalesce(min(s.seq), 0) FROM events s WHERE s.kind = 'run_start'"
	    " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.kind = 'run_end' AND e.run = s.run)",
	    0, &ret->run_seq, err) < 0 ||
	    one(j, "SELECT coalesce(min(s.seq), 0) FROM events s WHERE s.kind = 'replay_start'"
	    " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.batch = s.batch"
	    "  AND e.kind = 'batch_closed')", 0, &ret->batch_seq, err) < 0 ||
	    one(j, held_sql, 0, &ret->held_seq, err) < 0 ||
	    /* A later run retries it, reading its alert event: that must stay. */
	    one(j, "SELECT coalesce(min(alert), 0) FROM alerts WHERE status = 'pending'", 0,
	    &ret->alert_seq, err) < 0 ||
	    one(j, "SELECT coalesce(min(seq), 0) FROM events WHERE kind <> 'archived'", 0,
	    &ret->work_seq, err) < 0)
		return -1;
	if (ret->run_seq > 0 && one(j, "SELECT run FROM events WHERE seq = ?1", ret->run_seq,
	    &ret->run, err) < 0)
		return -1;
	if (ret->batch_seq > 0 && one(j, "SELECT batch FROM events WHERE seq = ?1",
	    ret->batch_seq, &ret->batch, err) < 0)
		return -1;
	return 0;
}

int
journal_split_at(struct journal *j, int64_t last, int64_t *ret, struct xerr *err)
{
	int64_t r, b, i;

	/* Runs never overlap (the lock), and a run's run_end is its last event. */
	if (one(j, "SELECT coalesce(min(s.seq), 0) FROM events s WHERE s.kind = 'run_start'"
	    " AND s.seq <= ?1 AND EXISTS (SELECT 1 FROM events e WHERE e.kind = 'run_end'"
	    "  AND e.run = s.run AND e.seq > ?1)", last, &r, err) < 0 ||
	    one(j, "SELECT coalesce(min(s.seq), 0) FROM events s WHERE s.kind = 'replay_start'"
	    " AND s.seq <= ?1 AND EXISTS (SELECT 1 FROM events e WHERE e.batch = s.batch"
	    "  AND e.seq > ?1)", last, &b, err) < 0 ||
	    one(j, "SELECT coalesce(min(o.seq), 0) FROM events o WHERE o.kind = 'incident_opened'"
	    " AND o.seq <= ?1 AND EXISTS (SELECT 1 FROM events e WHERE e.incident = o.seq"
	    "  AND e.seq > ?1)", last, &i, err) < 0)
		return -1;
	*ret = 0;
	if (r > 0)
		*ret = r;
	if (b > 0 && (*ret == 0 || b < *ret))
		*ret = b;
	if (i > 0 && (*ret == 0 || i < *ret))
		*ret = i;
	return 0;
}

int
journal_batch_start_seq(struct journal *j, int64_t batch, int64_t *ret, struct xerr *err)
{
	return one(j, "SELECT coalesce(min(seq), 0) FROM events WHERE kind = 'replay_start'"
	    " AND batch = ?1", batch, ret, err);
}

int
journal_event_hash(struct journal *j, int64_t seq, unsigned char ret[CHAIN_HASH_LEN],
    struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j), "SELECT hash FROM events WHERE seq = ?1", -1, &st,
	    NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading the journal");
	sqlite3_bind_int64(st, 1, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == CHAIN_HASH_LEN) {
		memcpy(ret, sqlite3_column_blob(st, 0), CHAIN_HASH_LEN);
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading the journal");
	return xerr_set(err, XR_EJOURNAL, "journal '%s': event %lld has no hash",
	    journal_path(j), (long long)seq);
}

int
journal_range_info(struct journal *j, int64_t from, int64_t to, struct archive_row *ret,
    struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j), "SELECT count(*), coalesce(min(ts), 0),"
	    " coalesce(max(ts), 0), coalesce(max(CASE WHEN kind = 'run_start' THEN run END), 0),"
	    " coalesce(max(CASE WHEN kind = 'replay_start' THEN batch END), 0)"
	    " FROM events WHERE seq BETWEEN ?1 AND ?2", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading the journal");
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret->events = sqlite3_column_int64(st, 0);
		ret->first_ts = sqlite3_column_int64(st, 1);
		ret->last_ts = sqlite3_column_int64(st, 2);
		ret->last_run = sqlite3_column_int64(st, 3);
		ret->last_batch = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return DB_ERR(j, err, "reading the journal");
	return 0;
}

int
journal_add_archive(struct journal *j, const struct archive_row *r, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j), "INSERT INTO archives (last_seq, first_seq, last_hash,"
	    " file, events, first_ts, last_ts, last_run, last_batch, archived_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "recording the archive");
	sqlite3_bind_int64(st, 1, r->last_seq);
	sqlite3_bind_int64(st, 2, r->first_seq);
	sqlite3_bind_blob(st, 3, r->last_hash, CHAIN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->file, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, r->events);
	sqlite3_bind_int64(st, 6, r->first_ts);
	sqlite3_bind_int64(st, 7, r->last_ts);
	sqlite3_bind_int64(st, 8, r->last_run);
	sqlite3_bind_int64(st, 9, r->last_batch);
	sqlite3_bind_int64(st, 10, r->archived_at);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return DB_ERR(j, err, "recording the archive");
	return 0;
}

int
journal_add_archive_totals(struct journal *j, int64_t last_seq, const struct archive_total *v,
    size_t n, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;

	if (sqlite3_prepare_v2(journal_db(j), "INSERT INTO archive_totals (last_seq, family, stream,"
	    " grp, n) VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "recording the archive's totals");
	if (journal_begin(j, err) < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, last_seq);
		sqlite3_bind_text(st, 2, v[i].family, -1, SQLITE_STATIC);
		if (v[i].stream != NULL && v[i].group != NULL) {
			sqlite3_bind_text(st, 3, v[i].stream, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, v[i].group, -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_null(st, 3);
			sqlite3_bind_null(st, 4);
		}
		sqlite3_bind_int64(st, 5, v[i].n);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE) {
		DB_ERR(j, err, "recording the archive's totals");
		sqlite3_finalize(st);
		journal_rollback(j);
		return -1;
	}
	sqlite3_finalize(st);
	return journal_commit(j, err);
}

void
archive_totals_free(struct archive_total *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].family);
		free(v[i].stream);
		free(v[i].group);
	}
	free(v);
}

static char *
dup_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL ? xstrdup(s) : NULL;
}

int
journal_archive_totals(struct journal *j, struct archive_total **ret, size_t *ret_n,
    struct xerr *err)
{
	sqlite3_stmt *st;
	struct archive_total *v = NULL;
	size_t n = 0;
	int rc;

	*ret = NULL;
	*ret_n = 0;
	if (sqlite3_prepare_v2(journal_db(j), "SELECT last_seq, family, stream, grp, n"
	    " FROM archive_totals ORDER BY last_seq", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading the archives' totals");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].last_seq = sqlite3_column_int64(st, 0);
		v[n].family = dup_text(st, 1);
		v[n].stream = dup_text(st, 2);
		v[n].group = dup_text(st, 3);
		v[n].n = sqlite3_column_int64(st, 4);
		if (v[n].family == NULL)
			v[n].family = xstrdup("");
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		archive_totals_free(v, n);
		return DB_ERR(j, err, "reading the archives' totals");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* NULL first, then bytewise. */
static int
cmp_opt(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int
cmp_total(const void *a, const void *b)
{
	const struct archive_total *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	if (c == 0)
		c = cmp_opt(x->stream, y->stream);
	if (c == 0)
		c = cmp_opt(x->group, y->group);
	if (c == 0)
		c = (x->n > y->n) - (x->n < y->n);
	return c;
}

void
archive_detail(struct buf *b, const struct archive_row *r, struct archive_total *v, size_t n)
{
	struct jw w;
	char hex[CHAIN_HEX_LEN];

	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_total);
	chain_hex(r->last_hash, hex);
	jw_init(&w, b);
	jw_obj(&w);
	jw_kstr(&w, "file", r->file);
	jw_kint(&w, "first_seq", r->first_seq);
	jw_kint(&w, "last_seq", r->last_seq);
	jw_kstr(&w, "last_hash", hex);
	jw_kint(&w, "events", r->events);
	jw_kint(&w, "first_ts", r->first_ts);
	jw_kint(&w, "last_ts", r->last_ts);
	jw_kint(&w, "last_run", r->last_run);
	jw_kint(&w, "last_batch", r->last_batch);
	jw_kint(&w, "archived_at", r->archived_at);
	jw_key(&w, "totals");
	jw_arr(&w);
	for (size_t i = 0; i < n; i++) {
		jw_obj(&w);
		jw_kstr(&w, "family", v[i].family);
		jw_kstr(&w, "stream", v[i].stream);
		jw_kstr(&w, "group", v[i].group);
		jw_kint(&w, "n", v[i].n);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
}

int
journal_archived_events(struct journal *j,
    int (*fn)(void *ctx, int64_t seq, const char *detail), void *ctx, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j), "SELECT seq, detail FROM events"
	    " WHERE kind = 'archived' ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading the archived events");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 1);
		if (fn(ctx, sqlite3_column_int64(st, 0), d != NULL ? d : "") < 0) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading the archived events");
	return 0;
}

/* Runs sql with ?1 = a, ?2 = b; err names what. */
static int
run2(struct journal *j, const char *sql, int64_t a, int64_t b, const char *what,
    struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(journal_db(j), sql, -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, what);
	if (sqlite3_bind_parameter_count(st) >= 2) {
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, b);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return DB_ERR(j, err, what);
	return 0;
}

#define EVENT_COLS "seq, ts, run, kind, stream, grp, entry_ms, entry_seq, consumer, idle_ms," \
	" deliveries, payload, detail, batch, ref_stream, ref_ms, ref_seq, incident, hash"
#define COPIED_COLS "entry_ms, entry_seq, stream, grp, seq, pos, batch"
#define TOTALS_COLS "last_seq, family, stream, grp, n"
#define ARCHIVE_COLS "last_seq, first_seq, last_hash, file, events, first_ts, last_ts," \
	" last_run, last_batch, archived_at"

int
journal_copy_from(struct journal *dst, const char *src, int64_t from, int64_t to, bool rows,
    int64_t *ret_n, struct xerr *err)
{
	sqlite3 *db = journal_db(dst);
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc = -1;

	*ret_n = 0;
	if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS src", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(dst, err, "reading the journal to archive");
	sqlite3_bind_text(st, 1, src, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return DB_ERR(dst, err, "reading the journal to archive");
	rc = -1;
	if (rows && (journal_begin(dst, err) < 0 ||
	    run2(dst, "INSERT INTO main.archive_totals (" TOTALS_COLS ") SELECT " TOTALS_COLS
	    " FROM src.archive_totals WHERE last_seq NOT IN (SELECT last_seq FROM main.archives)",
	    0, 0, "copying archives", err) < 0 ||
	    run2(dst, "INSERT INTO main.archives (" ARCHIVE_COLS ") SELECT " ARCHIVE_COLS
	    " FROM src.archives WHERE last_seq NOT IN (SELECT last_seq FROM main.archives)",
	    0, 0, "copying archives", err) < 0 || journal_commit(dst, err) < 0))
		goto out;
	for (int64_t lo = from; lo <= to; lo += COPY_CHUNK) {
		int64_t hi = to - lo >= COPY_CHUNK ? lo + COPY_CHUNK - 1 : to;
		if (journal_begin(dst, err) < 0)
			goto out;
		if (run2(dst, "INSERT INTO main.events (" EVENT_COLS ") SELECT " EVENT_COLS
		    " FROM src.events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq", lo, hi,
		    "copying events", err) < 0 ||
		    run2(dst, "INSERT INTO main.copied (" COPIED_COLS ") SELECT " COPIED_COLS
		    " FROM src.copied WHERE seq BETWEEN ?1 AND ?2", lo, hi, "copying copies",
		    err) < 0) {
			journal_rollback(dst);
			goto out;
		}
		if (journal_commit(dst, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (journal_in_tx(dst))
		journal_rollback(dst);
	sqlite3_exec(db, "DETACH DATABASE src", NULL, NULL, NULL);
	if (rc == 0) {
		/* What dst now holds of the range. */
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM events WHERE seq BETWEEN ?1 AND ?2",
		    -1, &st, NULL) != SQLITE_OK)
			return DB_ERR(dst, err, "counting events");
		sqlite3_bind_int64(st, 1, from);
		sqlite3_bind_int64(st, 2, to);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		else
			rc = DB_ERR(dst, err, "counting events");
		sqlite3_finalize(st);
	}
	*ret_n = n;
	return rc;
}

size_t
journal_span_max(struct journal *j)
{
	int n = sqlite3_limit(journal_db(j), SQLITE_LIMIT_ATTACHED, -1);

	return n > 0 ? (size_t)n : 0;
}

/* Attaches the archive of part as "a<i>", and proves it is a journal that can be read. */
static bool
span_attach(struct journal *j, struct archive_part *part, size_t i)
{
	sqlite3 *db = journal_db(j);
	sqlite3_stmt *st = NULL;
	char sql[96];
	int rc;

	snprintf(sql, sizeof(sql), "ATTACH DATABASE ?1 AS a%zu", i);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, part->path, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM a%zu.events WHERE seq = ?1", i);
		if (rc == SQLITE_DONE && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, part->last_seq);
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == 1) {
				sqlite3_finalize(st);
				return true;
			}
			part->why = xstrdup(rc == SQLITE_ROW ? "it does not hold the events the journal "
			    "says" : sqlite3_errmsg(db));
		} else {
			part->why = xstrdup(sqlite3_errmsg(db));
		}
	} else {
		part->why = xstrdup(sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "DETACH DATABASE a%zu", i);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	return false;
}

/* s added to b without its "INDEXED BY name" clauses. */
static void
without_indexed_by(struct buf *b, const char *s)
{
	const char *p;

	while ((p = strstr(s, " INDEXED BY ")) != NULL) {
		buf_add(b, s, (size_t)(p - s));
		p += 12;
		while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))
			p++;
		s = p;
	}
	buf_adds(b, s);
}

int
journal_span_archives(struct journal *j, struct archive_part *parts, size_t n,
    struct xerr *err)
{
	static const char *const tables[][2] = {{"events", EVENT_COLS}, {"copied", COPIED_COLS}};
	sqlite3 *db = journal_db(j);
	sqlite3_stmt *st;
	struct buf sql = BUF_INIT;
	size_t k = 0, max = journal_span_max(j);
	bool *on = xcalloc(n + 1, sizeof(*on));
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		parts[i].read = false;
		if (k < max && span_attach(j, &parts[i], i)) {
			parts[i].read = on[i] = true;
			k++;
		} else if (parts[i].why == NULL) {
			parts[i].why = xstrdup("too many archives to read at once");
		}
	}
	if (k == 0) {
		free(on);
		return 0;
	}
	for (size_t t = 0; t < 2; t++) {
		buf_reset(&sql);
		buf_printf(&sql, "CREATE TEMP VIEW %s AS", tables[t][0]);
		for (size_t i = 0; i < n; i++)
			if (on[i])
				buf_printf(&sql, " SELECT %s FROM a%zu.%s WHERE seq BETWEEN %lld AND %lld"
				    " UNION ALL", tables[t][1], i, tables[t][0],
				    (long long)parts[i].first_seq, (long long)parts[i].last_seq);
		buf_printf(&sql, " SELECT %s FROM main.%s", tables[t][1], tables[t][0]);
		if (sqlite3_exec(db, buf_str(&sql), NULL, NULL, NULL) != SQLITE_OK) {
			DB_ERR(j, err, "reading the archives");
			goto out;
		}
	}
	/*
	 * The journal's own views, over the events of all: a view of main reads
	 * main's tables whatever TEMP holds, so each is made again in TEMP (an
	 * index of main's is no use to a view: INDEXED BY goes).
	 */
	if (sqlite3_prepare_v2(db, "SELECT sql FROM main.sqlite_master WHERE type = 'view'"
	    " AND sql LIKE 'CREATE VIEW %'", -1, &st, NULL) != SQLITE_OK) {
		DB_ERR(j, err, "reading the archives");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_reset(&sql);
		buf_adds(&sql, "CREATE TEMP VIEW ");
		without_indexed_by(&sql, (const char *)sqlite3_column_text(st, 0) + 12);
		if (sqlite3_exec(db, buf_str(&sql), NULL, NULL, NULL) != SQLITE_OK)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		rc = -1;
		DB_ERR(j, err, "reading the archives");
		goto out;
	}
	rc = 0;
out:
	free(on);
	buf_free(&sql);
	return rc;
}

int
journal_file_remove(const char *path, struct xerr *err)
{
	static const char *const ends[] = {"-wal", "-shm", "-journal", ""};
	size_t n = strlen(path) + 8;
	char *p = xmalloc(n);
	int rc = 0;

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]) && rc == 0; i++) {
		snprintf(p, n, "%s%s", path, ends[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			rc = xerr_set(err, XR_EJOURNAL, "cannot remove '%s': %s", p, strerror(errno));
	}
	free(p);
	return rc;
}

int
journal_file_rename(const char *from, const char *to, const char *like, struct xerr *err)
{
	static const char *const ends[] = {"-wal", "-shm"};
	size_t n = strlen(from) + 8;
	char *p = xmalloc(n);
	struct stat sb;

	/* A closed file's WAL is empty (a reader may have left one): it must not follow it. */
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, n, "%s%s", from, ends[i]);
		if (i == 0 && stat(p, &sb) == 0 && sb.st_size > 0) {
			xerr_set(err, XR_EJOURNAL, "journal '%s' is still open elsewhere", from);
			free(p);
			return -1;
		}
		unlink(p);
	}
	free(p);
	if (like != NULL && stat(like, &sb) == 0 && chown(from, sb.st_uid, sb.st_gid) < 0) {
		/* Not root: the file is already this user's. */
	}
	if (rename(from, to) < 0)
		return xerr_set(err, XR_EJOURNAL, "cannot rename '%s' to '%s': %s", from, to,
		    strerror(errno));
	sync_dir_of(to);
	return 0;
}
