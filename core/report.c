/* report.c: `xrecover report` (see report.h). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../store/journal.h"
#include "../store/trace.h"
#include "../store/verify.h"
#include "report.h"
#include "trace.h"
#include "verify.h"

#define DAY_MS (24LL * 3600 * 1000)

/* The first and last event of [start, end) within [from, to] (0, 0 when none). */
static int
span(struct journal *j, int64_t from, int64_t to, int64_t start, int64_t end, int64_t *first,
    int64_t *last, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	*first = *last = 0;
	if (sqlite3_prepare_v2(journal_db(j), "SELECT min(seq), max(seq) FROM events"
	    " WHERE seq BETWEEN ?1 AND ?2 AND ts >= ?3 AND ts < ?4", -1, &st, NULL) != SQLITE_OK)
		return xerr_set(err, XR_EJOURNAL, "journal '%s': %s", journal_path(j),
		    journal_errmsg(j));
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	sqlite3_bind_int64(st, 3, start);
	sqlite3_bind_int64(st, 4, end);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*first = sqlite3_column_int64(st, 0);
		*last = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return 0;
}

/* The chain over the day's events, and the head at the end of the day. */
static int
daily_verify(const struct config *cfg, struct journal *j, int64_t day, int64_t from, int64_t to,
    struct report *r, struct xerr *err)
{
	struct chain_report cr;
	int64_t first, last;
	char line[512], head[CHAIN_HEX_LEN];

	if (span(j, from, to, day, day + DAY_MS, &first, &last, err) < 0)
		return -1;
	if (first == 0) {
		report_kv_str(r, "verify", "no events that day");
		return 0;
	}
	if (chain_verify_range(cfg->db_path, first, last, NULL, NULL, NULL, &cr, err) < 0)
		return -1;
	verify_explain(&cr, line, sizeof(line));
	chain_hex(cr.head, head);
	report_kv_str(r, "verify", cr.status == CHAIN_WHOLE ? "whole" : line);
	report_kv_int(r, "events", cr.events, RC_INT);
	report_kv_int(r, "first_event", first, RC_INT);
	report_kv_int(r, "last_event", last, RC_INT);
	report_kv_str(r, "head", head);
	return 0;
}

/* Each entry's fate and deliveries: those of its chain of copies (trace.h). */
static int
incident_fates(struct journal *j, int64_t id, struct report *r, struct xerr *err)
{
	struct rtable *t = NULL;
	struct trace_reader *tr;
	int64_t *seqs;
	size_t n;
	int rc = 0;

	for (size_t i = 0; i < r->ntables; i++)
		if (strcmp(r->tables[i].name, "entries") == 0)
			t = &r->tables[i];
	if (t == NULL)
		return 0;
	if (report_incident_seqs(j, id, &seqs, &n, err) < 0)
		return -1;
	if (trace_reader_open(j, &tr, err) < 0) {
		free(seqs);
		return -1;
	}
	for (size_t i = 0; i < n && i < t->nrows && rc == 0; i++) {
		struct chain_fate f;
		if ((rc = chain_fate(tr, seqs[i], &f, err)) < 0)
			break;
		rtable_int(t, i, 3, f.deliveries, RC_INT);
		rtable_str(t, i, 4, f.fate);
		chain_fate_free(&f);
	}
	trace_reader_close(tr);
	free(seqs);
	return rc;
}

int
report_build(const struct config *cfg, const struct report_request *req, struct report *ret,
    struct xerr *err)
{
	struct journal *j;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (journal_open(cfg->db_path, JOURNAL_READ, &j, err) < 0)
		return -1;
	switch (req->what) {
	case REPORT_DAILY: {
		int64_t from, to;
		if (journal_time_range(j, req->day_ms, req->day_ms + DAY_MS, &from, &to, err) == 0 &&
		    report_daily_fill(j, req->day_ms, from, to, ret, err) == 0 &&
		    daily_verify(cfg, j, req->day_ms, from, to, ret, err) == 0)
			rc = 0;
		break;
	}
	case REPORT_INCIDENTS:
		rc = report_incidents_fill(j, req->since, req->until, ret, err);
		break;
	case REPORT_INCIDENT:
		if (report_incident_fill(j, req->id, ret, err) == 0 &&
		    incident_fates(j, req->id, ret, err) == 0)
			rc = 0;
		break;
	case REPORT_RUN:
		rc = report_run_fill(j, req->id, ret, err);
		break;
	}
	journal_close(j);
	return rc;
}
