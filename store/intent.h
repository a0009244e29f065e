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
 * A run that ends normally takes its own records out of the file.  A file
 * that is not empty at the start of a run was left by a killed run: the
 * next run reads it back, journals what the killed run did but did not
 * journal (exactly once), and takes out each record it reconciled.  A
 * record that could not be reconciled (Redis went away, the group is
 * gone) stays, for the run after.
 *
 * Names (streams, groups, consumers) are kept byte for byte: a JSON string
 * when they are valid UTF-8 without NUL, else {"base64":"..."}.
 */
#ifndef XR_INTENT_H
#define XR_INTENT_H

#include <stddef.h>

#include "../lib/json.h"
#include "../lib/xr.h"

struct intent_log;

/*
 * Opens (creating, mode 0600) the intent file of the journal at
 * journal_path.  What it holds now belongs to earlier commands.
 */
int intent_open(const char *journal_path, struct intent_log **ret, struct xerr *err);
void intent_close(struct intent_log *l);

/* Appends one record (a line of JSON, without the newline). */
int intent_append(struct intent_log *l, const char *line, size_t len, struct xerr *err);

/* What fn tells intent_each() about a record. */
enum { INTENT_DONE = 0, INTENT_KEEP = 1 };

/*
 * Calls fn for each complete record, in order.  A last line cut short by a
 * kill is skipped: its action was never sent.  fn returns INTENT_DONE when
 * the record is dealt with, INTENT_KEEP to leave it for a later command,
 * or -1 to stop (with err set): that record and the ones after it stay,
 * and intent_each returns -1.  Then the records dealt with are taken out
 * of the file (a new file renamed over it: a kill leaves the old or the
 * new one), and the records that stay belong to earlier commands.  line
 * is the file's, valid only during the call.
 */
int intent_each(struct intent_log *l, int (*fn)(void *ctx, const char *line),
    void *ctx, struct xerr *err);

/*
 * Calls fn for each complete record of the intent file of the journal at
 * journal_path, read-only (while a run may append to it); no file: none.
 */
int intent_peek(const char *journal_path, void (*fn)(void *ctx, const char *line), void *ctx,
    struct xerr *err);

/* True when the file holds records. */
int intent_pending(struct intent_log *l, int *ret, struct xerr *err);

/* Takes this command's records out of the file; those of earlier commands stay. */
int intent_clear(struct intent_log *l, struct xerr *err);

/* Writes a name (stream, group, consumer) byte for byte: see above. */
void intent_name(struct jw *w, const char *name);
void intent_kname(struct jw *w, const char *key, const char *name);

#endif
