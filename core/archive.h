/*
 * archive.h: `xrecover archive --before DATE`, and the retention setting
 * (archive_after) that `run` applies at most once a day.
 *
 * The events older than the date move to an archive file, a journal of the
 * same schema whose chain is whole from its first event; the live journal
 * keeps the newer ones, and its chain goes on from the archive's last hash
 * (schema/010_archive.sql).  Events keep their seq.
 *
 * What is safe to move: the cut never passes the first event of a run that
 * has not ended, of a replay batch not closed, of an entry still held (its
 * claim is what replay and adoption look up), or of a run or batch that a
 * record of the intent file names (the next run reconciles it from there);
 * and it never splits a run, a batch or an incident: it stops before the
 * first one it would cut.
 *
 * Nothing is lost by a kill at any instant: the archive and the new live
 * journal are built beside the journal (NAME.tmp, JOURNAL.new), the
 * archive renamed into place first, then the new live journal over the
 * old.  A kill before the last rename leaves the old journal whole (and
 * maybe an archive no journal names yet, which the next archive replaces).
 * The copying is done without the journal's lock (old events never
 * change); the lock is taken for the last step only: the events appended
 * meanwhile, and the renames.
 */
#ifndef XR_ARCHIVE_H
#define XR_ARCHIVE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/xr.h"
#include "../store/archive.h"
#include "../store/chain.h"
#include "../store/journal.h"
#include "config.h"

/* Why the cut is earlier than the date asked for. */
enum archive_stop {
	ARCHIVE_STOP_NONE,
	ARCHIVE_STOP_RUN,           /* a run that has not ended (stop_id: the run) */
	ARCHIVE_STOP_BATCH,         /* a replay batch not closed (stop_id: the batch) */
	ARCHIVE_STOP_HELD,          /* an entry still held */
	ARCHIVE_STOP_ALERT,         /* an alert still to be delivered (stop_at: its event) */
	ARCHIVE_STOP_INTENT,        /* a record of the intent file (a killed command's) */
	ARCHIVE_STOP_SPLIT,         /* a run, batch or incident that lies across the date
	                               (or across the cut the others made: their reason stays) */
};

struct archive_result {
	bool nothing;               /* nothing old enough could move */
	char file[PATH_MAX];        /* the archive written */
	int64_t first_seq, last_seq, events;        /* what moved */
	int64_t kept_from, kept_to; /* what the live journal holds now */
	enum archive_stop stop;
	int64_t stop_seq;           /* the first event kept back */
	int64_t stop_at;            /* the event that kept it back (the run, batch, claim) */
	int64_t stop_id;
	char head[CHAIN_HEX_LEN];   /* the live journal's head afterwards */
};

/*
 * Archives the events of cfg->db_path older than before_ms (Unix ms UTC)
 * into to (NULL: "<journal name>-archive-<first>-<last>.db" beside the
 * journal).  Returns 0 with ret filled in (ret->nothing when nothing
 * moved); -1 with err: XR_ELOCKED (another archive, or the journal's lock
 * held too long), XR_EJOURNAL, XR_EUSAGE (to exists and is not a leftover
 * of an interrupted archive of these events).
 */
int archive_journal(const struct config *cfg, int64_t before_ms, const char *to,
    struct archive_result *ret, struct xerr *err);

/* Whether the retention setting is due: no archive began in the last day. */
bool archive_due(const struct config *cfg, int64_t now_ms);

/* The path of an archive a journal file names (file as recorded). OUT: free(). */
char *archive_path(const char *journal, const char *file);

/*
 * What a read command reads the archives for: the archives from the first
 * whose last event is at or after ts (Unix ms), whose runs reach run and
 * whose events reach seq, to the newest (what follows an event may be in
 * a later archive).  Zeros: every archive.
 */
struct archive_need {
	int64_t ts, run, seq;
};

/* The archives a read command reads with the journal (archive_span()). */
struct archive_read {
	char **unread;              /* a line for each archive not read (NULL-terminated) */
	size_t nunread;
	struct archive_part *parts; /* those read, newest first */
	size_t nparts;
	int64_t live_from;          /* the journal's own events: from the newest archive's last on */
};

/*
 * Makes the queries of j, the journal db opened to read, read the archives
 * it names that need asks for (NULL: all) too, as one journal
 * (journal_span_archives()): the newest first, as many as can be read at
 * once.  An archive missing or unreadable, or older than can be read at
 * once, is a line of ret->unread; cmd is the command that line says reads
 * the older ones with --db.  OUT: *ret (archive_read_free() it whatever
 * this returns).  Errors: XR_EJOURNAL.
 */
int archive_span(const char *db, struct journal *j, const struct archive_need *need,
    const char *cmd, struct archive_read *ret, struct xerr *err);
void archive_read_free(struct archive_read *r);

/* err, when it is XR_ENOTHING, with the first line of r->unread: why it may not be found. */
void archive_unread_err(struct xerr *err, const struct archive_read *r);

#endif
