/* incident.c: what the journal holds of incidents (see incident.h). */
#include <sqlite3.h>
#include <string.h>

#include "incident.h"
#include "journal.h"

int
incident_find_open(struct journal *j, const char *stream, const char *grp,
    const char *consumer, int64_t *ret_id, int64_t *ret_last_ts, struct xerr *err)
{
	sqlite3 *db = journal_db(j);
	sqlite3_stmt *st;
	int rc;

	*ret_id = 0;
	*ret_last_ts = 0;
	if (sqlite3_prepare_v2(db, "SELECT seq, kind, ts FROM events"
	    " WHERE kind IN ('incident_opened', 'consumer_deleted')"
	    " AND stream = ?1 AND grp = ?2 AND consumer = ?3 ORDER BY seq DESC LIMIT 1", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, grp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, consumer, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 1),
	    "incident_opened") == 0) {
		*ret_id = sqlite3_column_int64(st, 0);
		*ret_last_ts = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	if (*ret_id == 0)
		return 0;
	/* Its newest event: when it last took a claim. */
	if (sqlite3_prepare_v2(db, "SELECT ts FROM events WHERE incident = ?1"
	    " ORDER BY seq DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, *ret_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_last_ts = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	return 0;
fail:
	*ret_id = 0;
	*ret_last_ts = 0;
	return xerr_set(err, XR_EJOURNAL, "journal '%s': finding incidents: %s",
	    journal_path(j), journal_errmsg(j));
}
