/* adopt.c: what the journal knows of held entries (see adopt.h). */
#include <sqlite3.h>
#include <string.h>

#include "adopt.h"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

/*
 * The claims of the group whose IDs' milliseconds lie between the first ID's
 * and the last's: one walk of events_entry in ID order, which the page,
 * also in ID order, is merged with.  The walk looks at the table row only
 * for the group's own events (stream and grp are in the index).
 */
static const char known_sql[] =
    "SELECT entry_ms, entry_seq FROM events"
    " WHERE entry_ms >= ?3 AND entry_ms <= ?4 AND entry_ms IS NOT NULL"
    " AND stream = ?1 AND grp = ?2 AND kind IN ('claim', 'claim_reconciled', 'lost')"
    " ORDER BY entry_ms, entry_seq";

int
journal_known_ids(struct journal *j, const char *stream, const char *grp,
    const struct entry_id *ids, size_t n, bool *known, struct xerr *err)
{
	sqlite3_stmt *st;
	size_t i = 0;
	int rc = SQLITE_DONE;

	memset(known, 0, n * sizeof(*known));
	if (n == 0)
		return 0;
	if (sqlite3_prepare_v2(journal_db(j), known_sql, -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "looking up held entries");
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, grp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)ids[0].ms);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)ids[n - 1].ms);
	while (i < n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct entry_id e = {(uint64_t)sqlite3_column_int64(st, 0),
		    (uint64_t)sqlite3_column_int64(st, 1)};
		while (i < n && entry_id_cmp(ids[i], e) < 0)
			i++;
		if (i < n && entry_id_cmp(ids[i], e) == 0)
			known[i] = true;
	}
	if (i >= n)
		rc = SQLITE_DONE;
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return DB_ERR(j, err, "looking up held entries");
	return 0;
}

/* run_end events by the events_run_end index, newest first. */
static const char mark_sql[] =
    "SELECT json_extract(p.value, '$.held_seen[3]'), json_extract(p.value, '$.held_seen[0]'),"
    "  json_extract(p.value, '$.held_seen[1]'), json_extract(p.value, '$.held_seen[2]'),"
    "  json_extract(p.value, '$.held_seen[4]')"
    " FROM (SELECT run, detail FROM events WHERE kind = 'run_end' AND run < ?1"
    "   ORDER BY run DESC LIMIT 64) r, json_each(r.detail, '$.pending') p"
    " WHERE json_extract(p.value, '$.stream') = ?2 AND json_extract(p.value, '$.group') = ?3"
    " AND json_extract(p.value, '$.held_seen[5]') = ?4"
    " ORDER BY r.run DESC LIMIT 1";

int
journal_held_mark(struct journal *j, int64_t run, const char *stream, const char *grp,
    const char *consumer, struct held_mark *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (sqlite3_prepare_v2(journal_db(j), mark_sql, -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading the last runs");
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, grp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, consumer, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
	    sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
	    sqlite3_column_type(st, 2) == SQLITE_INTEGER &&
	    sqlite3_column_type(st, 3) == SQLITE_INTEGER &&
	    sqlite3_column_type(st, 4) == SQLITE_INTEGER) {
		ret->found = true;
		ret->held = sqlite3_column_int64(st, 0);
		ret->seen_lo = sqlite3_column_int64(st, 1);
		ret->seen_hi = sqlite3_column_int64(st, 2);
		ret->seen_idle = sqlite3_column_int64(st, 3);
		ret->checked = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading the last runs");
	return 0;
}
