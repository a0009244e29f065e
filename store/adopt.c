/* adopt.c: what the journal knows of held entries (see adopt.h). */
#include <sqlite3.h>
#include <string.h>

#include "../lib/buf.h"
#include "adopt.h"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

/*
 * The IDs as a JSON array of [ms, seq]; each is one seek in events_entry.
 * Returns the positions in the array of the known ones.
 */
static const char known_sql[] =
    "SELECT k.key FROM json_each(?3) k WHERE EXISTS (SELECT 1 FROM events e"
    " WHERE e.entry_ms = json_extract(k.value, '$[0]')"
    " AND e.entry_seq = json_extract(k.value, '$[1]')"
    " AND e.stream = ?1 AND e.grp = ?2"
    " AND e.kind IN ('claim', 'claim_reconciled', 'lost'))";

int
journal_known_ids(struct journal *j, const char *stream, const char *grp,
    const struct entry_id *ids, size_t n, bool *known, struct xerr *err)
{
	struct buf list = BUF_INIT;
	sqlite3_stmt *st;
	int rc;

	memset(known, 0, n * sizeof(*known));
	if (n == 0)
		return 0;
	if (sqlite3_prepare_v2(journal_db(j), known_sql, -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "looking up held entries");
	buf_addc(&list, '[');
	for (size_t i = 0; i < n; i++)
		buf_printf(&list, "%s[%llu,%llu]", i > 0 ? "," : "", (unsigned long long)ids[i].ms,
		    (unsigned long long)ids[i].seq);
	buf_addc(&list, ']');
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, grp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, buf_str(&list), (int)list.len, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 k = sqlite3_column_int64(st, 0);
		if (k >= 0 && (size_t)k < n)
			known[k] = true;
	}
	sqlite3_finalize(st);
	buf_free(&list);
	if (rc != SQLITE_DONE)
		return DB_ERR(j, err, "looking up held entries");
	return 0;
}

/* run_end events by the events_run_end index, newest first. */
static const char mark_sql[] =
    "SELECT json_extract(p.value, '$.held'), json_extract(p.value, '$.held_seen[0]'),"
    "  json_extract(p.value, '$.held_seen[1]'), json_extract(p.value, '$.held_seen[2]')"
    " FROM (SELECT run, detail FROM events WHERE kind = 'run_end' AND run < ?1"
    "   ORDER BY run DESC LIMIT 64) r, json_each(r.detail, '$.pending') p"
    " WHERE json_extract(p.value, '$.stream') = ?2 AND json_extract(p.value, '$.group') = ?3"
    " AND json_type(p.value, '$.held_seen') = 'array'"
    " ORDER BY r.run DESC LIMIT 1";

int
journal_held_mark(struct journal *j, int64_t run, const char *stream, const char *grp,
    struct held_mark *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (sqlite3_prepare_v2(journal_db(j), mark_sql, -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading the last runs");
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, grp, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
	    sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
	    sqlite3_column_type(st, 2) == SQLITE_INTEGER &&
	    sqlite3_column_type(st, 3) == SQLITE_INTEGER) {
		ret->found = true;
		ret->held = sqlite3_column_int64(st, 0);
		ret->seen_lo = sqlite3_column_int64(st, 1);
		ret->seen_hi = sqlite3_column_int64(st, 2);
		ret->seen_idle = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading the last runs");
	return 0;
}
