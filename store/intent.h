/*
 * intent.h: the journal's write-ahead list of what a run is about to do in
 * Redis, kept in "<journal>.intent" beside it.
 *
 * Before each claim (one page) and each consumer deletion, the run appends
 * one line here saying exactly what it is about to do: which entries, from
 * whom, how idle, how often delivered.  A plain write(2) is enough: what
 * must survive is a killed process (the page cache keeps it), and appending
 * a line is far cheaper than a journal commit per page.  The journal rows
 * themselves are then committed in batches.
 *
 * A run that ends normally empties the file.  A file that is not empty at
 * the start of a run was left by a killed run: the next run reads it back,
 * journals what the killed run did but did not journal (exactly once), and
 * empties it.
 */
#ifndef XR_INTENT_H
#define XR_INTENT_H

#include <stddef.h>

#include "../lib/xr.h"

struct intent_log;

/* Opens (creating, mode 0600) the intent file of the journal at journal_path. */
int intent_open(const char *journal_path, struct intent_log **ret, struct xerr *err);
void intent_close(struct intent_log *l);

/* Appends one record (a line of JSON, without the newline). */
int intent_append(struct intent_log *l, const char *line, size_t len, struct xerr *err);

/*
 * Calls fn for each complete record, in order.  A last line cut short by a
 * kill is skipped: its action was never sent.  fn returns 0 to go on.
 */
int intent_each(struct intent_log *l, int (*fn)(void *ctx, const char *line),
    void *ctx, struct xerr *err);

/* True when the file holds records. */
int intent_pending(struct intent_log *l, int *ret, struct xerr *err);

/* Empties the file. */
int intent_clear(struct intent_log *l, struct xerr *err);

#endif
