/* trace.c: the journal's rows about one entry (see trace.h). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "trace.h"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

#define ROW_COLS \
	"seq, ts, run, batch, incident, kind, stream, grp, entry_ms, entry_seq, consumer," \
	" idle_ms, deliveries, payload, detail, ref_stream, ref_ms, ref_seq," \
	" json_extract(detail, '$.reason'), json_extract(detail, '$.user')," \
	" json_extract(detail, '$.host')"

/* copy_events (schema/005_copies.sql), one copy. */
#define COPY_COLS \
	"seq, ts, run, batch, stream, grp, entry_ms, entry_seq, to_stream, copy_ms, copy_seq," \
	" consumer, deliveries, source, dlq_stream, dlq_ms, dlq_seq, pos"

static const char *
text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int64_t
int_or(sqlite3_stmt *st, int i, int64_t null)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? null : sqlite3_column_int64(st, i);
}

static struct entry_id
id_at(sqlite3_stmt *st, int i)
{
	struct entry_id id = {(uint64_t)sqlite3_column_int64(st, i),
	    (uint64_t)sqlite3_column_int64(st, i + 1)};
	return id;
}

static void
bind_id(sqlite3_stmt *st, int i, struct entry_id id)
{
	sqlite3_bind_int64(st, i, (int64_t)id.ms);
	sqlite3_bind_int64(st, i + 1, (int64_t)id.seq);
}

/* Each query, prepared once per reader (a report asks them a thousand times). */
enum query {
	Q_EVENTS, Q_BATCH, Q_COPIED, Q_COPY_AT, Q_COPY_TO, Q_COPY_EVENT, Q_DEAD_LETTER,
	Q_EVENT_AT, Q_LATEST_CLAIM, Q_OUTCOME, Q_FIELD, Q_COUNT
};

struct trace_reader {
	struct journal *j;
	sqlite3_stmt *st[Q_COUNT];
};

int
trace_reader_open(struct journal *j, struct trace_reader **ret, struct xerr *err)
{
	(void)err;
	*ret = xcalloc(1, sizeof(**ret));
	(*ret)->j = j;
	return 0;
}

void
trace_reader_close(struct trace_reader *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(r->st[i]);
	free(r);
}

/* Query q, prepared from sql the first time, its bindings cleared. */
static sqlite3_stmt *
prep(struct trace_reader *r, enum query q, const char *sql, struct xerr *err)
{
	if (r->st[q] == NULL &&
	    sqlite3_prepare_v2(journal_db(r->j), sql, -1, &r->st[q], NULL) != SQLITE_OK) {
		DB_ERR(r->j, err, "tracing an entry");
		return NULL;
	}
	sqlite3_clear_bindings(r->st[q]);
	return r->st[q];
}

/* Steps st (bound) and calls fn with each row as an event; resets st. */
static int
each_row(struct trace_reader *tr, sqlite3_stmt *st, trace_row_fn fn, void *ctx, struct xerr *err)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct trace_row r = {
			.seq = sqlite3_column_int64(st, 0),
			.ts = sqlite3_column_int64(st, 1),
			.run = int_or(st, 2, 0),
			.batch = int_or(st, 3, 0),
			.incident = int_or(st, 4, 0),
			.kind = text(st, 5),
			.stream = text(st, 6),
			.grp = text(st, 7),
			.id = id_at(st, 8),
			.consumer = text(st, 10),
			.idle_ms = int_or(st, 11, -1),
			.deliveries = int_or(st, 12, -1),
			.payload = text(st, 13),
			.detail = text(st, 14),
			.ref_stream = text(st, 15),
			.ref = id_at(st, 16),
			.reason = text(st, 18),
			.user = text(st, 19),
			.host = text(st, 20),
		};
		if (fn(ctx, &r) < 0) {
			sqlite3_reset(st);
			return -1;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return DB_ERR(tr->j, err, "tracing an entry");
	return 0;
}

static int
each_copy(struct trace_reader *tr, sqlite3_stmt *st, trace_copy_fn fn, void *ctx, struct xerr *err)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct trace_copy c = {
			.seq = sqlite3_column_int64(st, 0),
			.ts = sqlite3_column_int64(st, 1),
			.run = int_or(st, 2, 0),
			.batch = int_or(st, 3, 0),
			.stream = text(st, 4),
			.grp = text(st, 5),
			.id = id_at(st, 6),
			.to = text(st, 8),
			.copy = id_at(st, 9),
			.consumer = text(st, 11),
			.deliveries = int_or(st, 12, 0),
			.source = text(st, 13),
			.dlq_stream = text(st, 14),
			.dlq_id = id_at(st, 15),
			.pos = sqlite3_column_int64(st, 17),
		};
		if (fn(ctx, &c) < 0) {
			sqlite3_reset(st);
			return -1;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return DB_ERR(tr->j, err, "tracing an entry");
	return 0;
}

int
trace_entry_events(struct trace_reader *r, const char *stream, struct entry_id id,
    trace_row_fn fn, void *ctx, struct xerr *err)
{
	sqlite3_stmt *st = prep(r, Q_EVENTS, "SELECT " ROW_COLS " FROM events"
	    " WHERE entry_ms = ?1 AND entry_seq = ?2 AND stream = ?3"
	    " AND kind NOT IN ('replay_copy', 'incident_opened') ORDER BY seq", err);

	if (st == NULL)
		return -1;
	bind_id(st, 1, id);
	sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
	return each_row(r, st, fn, ctx, err);
}

int
trace_batch_events(struct trace_reader *r, int64_t batch, const char *const *kinds,
    trace_row_fn fn, void *ctx, struct xerr *err)
{
	for (; *kinds != NULL; kinds++) {
		sqlite3_stmt *st = prep(r, Q_BATCH, "SELECT " ROW_COLS " FROM events"
		    " WHERE batch = ?1 AND kind = ?2 ORDER BY seq", err);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, batch);
		sqlite3_bind_text(st, 2, *kinds, -1, SQLITE_STATIC);
		if (each_row(r, st, fn, ctx, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * The copies of event seq: the one at pos, or (to not NULL) the one whose
 * copy is to/copy.  copy_events is read with seq given, so that SQLite
 * reads that event alone (a join or a subquery would have it expand every
 * replay_copies event of the journal first).
 */
static int
copy_at(struct trace_reader *r, int64_t seq, int64_t pos, const char *to, struct entry_id copy,
    trace_copy_fn fn, void *ctx, struct xerr *err)
{
	sqlite3_stmt *st = to == NULL ?
	    prep(r, Q_COPY_AT, "SELECT " COPY_COLS " FROM copy_events WHERE seq = ?1 AND pos = ?2",
	    err) :
	    prep(r, Q_COPY_TO, "SELECT " COPY_COLS " FROM copy_events WHERE seq = ?1"
	    " AND to_stream = ?3 AND copy_ms = ?4 AND copy_seq = ?5", err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	if (to == NULL) {
		sqlite3_bind_int64(st, 2, pos);
	} else {
		sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
		bind_id(st, 4, copy);
	}
	return each_copy(r, st, fn, ctx, err);
}

int
trace_entry_copies(struct trace_reader *r, const char *stream, const char *grp,
    struct entry_id id, int64_t after, trace_copy_fn fn, void *ctx, struct xerr *err)
{
	/* The copied index finds them; each is read from its event. */
	sqlite3_stmt *st = prep(r, Q_COPIED, "SELECT seq, pos FROM copied"
	    " WHERE entry_ms = ?1 AND entry_seq = ?2 AND stream = ?3"
	    " AND (?4 IS NULL OR grp = ?4) AND seq > ?5 ORDER BY seq, pos", err);
	int64_t (*v)[2] = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -1;
	bind_id(st, 1, id);
	sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
	if (grp != NULL)
		sqlite3_bind_text(st, 4, grp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, after);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n][0] = sqlite3_column_int64(st, 0);
		v[n][1] = sqlite3_column_int64(st, 1);
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return DB_ERR(r->j, err, "tracing an entry");
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = copy_at(r, v[i][0], v[i][1], NULL, id, fn, ctx, err);
	free(v);
	return rc;
}

int
trace_copy_made(struct trace_reader *r, const char *stream, struct entry_id id,
    trace_copy_fn fn, void *ctx, struct xerr *err)
{
	/*
	 * A replay_copies event's ref is its lowest copy ID, and the copies
	 * of one event are consecutive IDs of one stream: the event with the
	 * greatest ref at or below id is the only one that can have made it.
	 */
	sqlite3_stmt *st = prep(r, Q_COPY_EVENT, "SELECT seq FROM events"
	    " WHERE kind IN ('replay_copy', 'replay_copies') AND ref_stream = ?3"
	    " AND (ref_ms, ref_seq) <= (?1, ?2) ORDER BY ref_ms DESC, ref_seq DESC LIMIT 1", err);
	int64_t seq = 0;
	int rc;

	if (st == NULL)
		return -1;
	bind_id(st, 1, id);
	sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(r->j, err, "tracing an entry");
	return seq == 0 ? 0 : copy_at(r, seq, 0, stream, id, fn, ctx, err);
}

int
trace_dead_letter(struct trace_reader *r, const char *stream, struct entry_id id,
    trace_row_fn fn, void *ctx, struct xerr *err)
{
	sqlite3_stmt *st = prep(r, Q_DEAD_LETTER, "SELECT " ROW_COLS " FROM events"
	    " WHERE ref_ms = ?1 AND ref_seq = ?2 AND ref_stream = ?3 AND kind = 'dead_lettered'"
	    " ORDER BY seq DESC LIMIT 1", err);

	if (st == NULL)
		return -1;
	bind_id(st, 1, id);
	sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
	return each_row(r, st, fn, ctx, err);
}

int
trace_event_at(struct trace_reader *r, int64_t seq, trace_row_fn fn, void *ctx, struct xerr *err)
{
	sqlite3_stmt *st = prep(r, Q_EVENT_AT, "SELECT " ROW_COLS " FROM events WHERE seq = ?1", err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	return each_row(r, st, fn, ctx, err);
}

int
trace_latest_claim(struct trace_reader *r, const char *stream, const char *grp,
    struct entry_id id, int64_t after, trace_row_fn fn, void *ctx, struct xerr *err)
{
	sqlite3_stmt *st = prep(r, Q_LATEST_CLAIM, "SELECT " ROW_COLS " FROM events"
	    " WHERE entry_ms = ?1 AND entry_seq = ?2 AND stream = ?3 AND (?4 IS NULL OR grp = ?4)"
	    " AND kind IN ('claim', 'claim_reconciled') AND seq > ?5 ORDER BY seq DESC LIMIT 1", err);

	if (st == NULL)
		return -1;
	bind_id(st, 1, id);
	sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
	if (grp != NULL)
		sqlite3_bind_text(st, 4, grp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, after);
	return each_row(r, st, fn, ctx, err);
}

int
trace_last_outcome(struct trace_reader *r, const char *stream, const char *grp,
    struct entry_id id, int64_t after, const char **ret_kind, struct xerr *err)
{
	static const char *const kinds[] = {"dead_lettered", "settled", "lost", "copy_removed",
	    "taken", "handed_off", "claim", "claim_reconciled", "copy"};
	sqlite3_stmt *st = prep(r, Q_OUTCOME, "SELECT k FROM ("
	    " SELECT seq AS s, kind AS k FROM events"
	    "  WHERE entry_ms = ?1 AND entry_seq = ?2 AND stream = ?3 AND grp = ?4 AND seq > ?5"
	    "  AND kind IN ('dead_lettered', 'settled', 'lost', 'copy_removed', 'taken',"
	    "   'handed_off', 'claim', 'claim_reconciled')"
	    " UNION ALL SELECT seq, 'copy' FROM copied"
	    "  WHERE entry_ms = ?1 AND entry_seq = ?2 AND stream = ?3 AND grp = ?4 AND seq > ?5)"
	    " ORDER BY s DESC LIMIT 1", err);
	int rc;

	*ret_kind = NULL;
	if (st == NULL)
		return -1;
	bind_id(st, 1, id);
	sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, grp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, after);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *k = text(st, 0);
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (k != NULL && strcmp(k, kinds[i]) == 0)
				*ret_kind = kinds[i];
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(r->j, err, "tracing an entry");
	return 0;
}

int
trace_find_field(struct trace_reader *r, const char *name, const char *value, trace_row_fn fn,
    void *ctx, struct xerr *err)
{
	struct buf needle = BUF_INIT;
	sqlite3_stmt *st;

	/*
	 * The payload codec writes a field as "name":"value" (lib/payload.c):
	 * a payload without that text cannot match, and instr() rules it out
	 * without parsing the JSON.  Names and values that are not UTF-8 are
	 * stored otherwise: nothing matches them.
	 */
	if (!buf_json_str(&needle, name, strlen(name))) {
		buf_free(&needle);
		return 0;
	}
	buf_addc(&needle, ':');
	if (!buf_json_str(&needle, value, strlen(value))) {
		buf_free(&needle);
		return 0;
	}
	st = prep(r, Q_FIELD, "SELECT " ROW_COLS " FROM events e"
	    " WHERE kind IN ('claim', 'claim_reconciled') AND instr(payload, ?1) > 0"
	    " AND json_type(payload) = 'object'"
	    " AND EXISTS (SELECT 1 FROM json_each(e.payload) f"
	    "  WHERE f.key = ?2 AND f.type = 'text' AND f.value = ?3)"
	    " ORDER BY seq", err);
	if (st == NULL) {
		buf_free(&needle);
		return -1;
	}
	sqlite3_bind_text(st, 1, buf_str(&needle), (int)needle.len, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	buf_free(&needle);
	return each_row(r, st, fn, ctx, err);
}
