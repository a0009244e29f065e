/* history.c: the observations earlier runs recorded per group (see history.h). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "history.h"

/* The group's objects in the newest run_end events (run_end lists each group once). */
#define GROUP_RUNS \
	"WITH r AS (SELECT seq, ts, detail FROM events WHERE kind = 'run_end'" \
	"  ORDER BY run DESC LIMIT 500)," \
	" g AS (SELECT r.seq AS seq, r.ts AS ts, p.value AS value" \
	"  FROM r, json_each(r.detail, '$.pending') p" \
	"  WHERE json_extract(p.value, '$.stream') = ?1" \
	"  AND json_extract(p.value, '$.group') = ?2" \
	"  ORDER BY r.seq DESC LIMIT ?3) "

static int
fail(struct journal *j, struct xerr *err)
{
	return xerr_set(err, XR_EJOURNAL, "journal '%s': reading the group's history: %s",
	    journal_path(j), journal_errmsg(j));
}

static int
prepare(struct journal *j, const char *sql, const char *stream, const char *group,
    size_t max_runs, sqlite3_stmt **ret)
{
	if (sqlite3_prepare_v2(journal_db(j), sql, -1, ret, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(*ret, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(*ret, 2, group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(*ret, 3, (sqlite3_int64)max_runs);
	return 0;
}

static int
read_runs(struct journal *j, const char *stream, const char *group, size_t max_runs,
    struct group_history *h)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(j, GROUP_RUNS "SELECT ts, json_extract(value, '$.entries_added') FROM g"
	    " ORDER BY seq DESC", stream, group, max_runs, &st) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h->runs++;
		if (sqlite3_column_type(st, 1) != SQLITE_INTEGER)
			continue;
		h->added = xrealloc(h->added, (h->nadded + 1) * sizeof(*h->added));
		h->added[h->nadded].ts = sqlite3_column_int64(st, 0);
		h->added[h->nadded].added = sqlite3_column_int64(st, 1);
		h->nadded++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
read_holds(struct journal *j, const char *stream, const char *group, size_t max_runs,
    struct group_history *h)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(j, GROUP_RUNS "SELECT h.value FROM g, json_each(g.value, '$.holds_ms') h"
	    " WHERE h.type = 'integer'", stream, group, max_runs, &st) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h->holds = xrealloc(h->holds, (h->nholds + 1) * sizeof(*h->holds));
		h->holds[h->nholds++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
read_watch(struct journal *j, const char *stream, const char *group,
    struct group_history *h)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(j, GROUP_RUNS "SELECT json_extract(w.value, '$[0]'),"
	    " json_extract(w.value, '$[1]'), json_extract(w.value, '$[2]')"
	    " FROM g, json_each(g.value, '$.watch') w", stream, group, 1, &st) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(st, 0);
		const char *id = (const char *)sqlite3_column_text(st, 1);
		struct watched w;

		if (c == NULL || id == NULL || entry_id_parse(id, strlen(id), &w.id) < 0)
			continue;
		w.consumer = xstrdup(c);
		w.idle_ms = sqlite3_column_int64(st, 2);
		h->watch = xrealloc(h->watch, (h->nwatch + 1) * sizeof(*h->watch));
		h->watch[h->nwatch++] = w;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
journal_group_history(struct journal *j, const char *stream, const char *group,
    size_t max_runs, struct group_history *ret, struct xerr *err)
{
	struct group_history h = {0};

	if (read_runs(j, stream, group, max_runs, &h) < 0 ||
	    read_holds(j, stream, group, max_runs, &h) < 0 ||
	    read_watch(j, stream, group, &h) < 0) {
		group_history_free(&h);
		return fail(j, err);
	}
	*ret = h;
	return 0;
}

void
group_history_free(struct group_history *h)
{
	for (size_t i = 0; i < h->nwatch; i++)
		free(h->watch[i].consumer);
	free(h->watch);
	free(h->holds);
	free(h->added);
	memset(h, 0, sizeof(*h));
}
