/* moves.c: the replay batches the journal knows, and single lookups about an entry (see moves.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "moveq.h"

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
