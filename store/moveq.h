/*
 * moveq.h: what the files behind moves.h share: a row's text and entry
 * ID, the journal's error, and the ancestry of copies (origin.c) from
 * which the selection (selection.c) adds a copy's earlier deliveries.
 * Private to store/moves.c, selection.c, origin.c and copies.c.
 */
#ifndef XR_STORE_MOVEQ_H
#define XR_STORE_MOVEQ_H

#include <sqlite3.h>
#include <stdint.h>

#include "../lib/util.h"
#include "moves.h"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

static inline const char *
text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static inline struct entry_id
id_at(sqlite3_stmt *st, int i)
{
	struct entry_id id = {(uint64_t)sqlite3_column_int64(st, i),
	    (uint64_t)sqlite3_column_int64(st, i + 1)};
	return id;
}

/*
 * The copies the selected claims may be of.  An entry that is itself a
 * copy made by a replay has had its deliveries before: its original's,
 * recorded with the copy.  Only streams some copy went to are looked at.
 */
struct ancestry {
	struct journal *j;
	char **targets;             /* streams copies went to */
	size_t ntargets;
	sqlite3_stmt *find;         /* the copy event at or below an ID in a stream */
	sqlite3_stmt *expand;       /* the copies of a replay_copies event */
	int64_t expanded_seq;       /* the replay_copies event expanded last: */
	struct anc_copy {
		struct entry_id copy;
		int64_t deliveries;
	} *cv;                      /* its copies */
	size_t cn;
};

/* Reads which streams copies went to; ancestry_close() frees it. */
int ancestry_open(struct journal *j, struct ancestry *a, struct xerr *err);
void ancestry_close(struct ancestry *a);
/* The deliveries recorded with the copy stream/id, if it is one (0 if not). */
int ancestry_deliveries(struct ancestry *a, const char *stream, struct entry_id id,
    int64_t *ret, struct xerr *err);

#endif
