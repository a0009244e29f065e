/*
 * journal.h: the append-only SQLite journal.
 *
 * One table, events, is the source of truth; rows are only ever inserted
 * (triggers refuse UPDATE and DELETE).  The views people query (runs,
 * claimed_messages, deleted_consumers, lost_messages) are defined in
 * the schema/ files, which are compiled into the binary and applied as numbered
 * migrations keyed by PRAGMA user_version.
 *
 * Nothing here prints.  Errors come back in struct xerr with XR_EJOURNAL
 * (or XR_ELOCKED for the lock).
 */
#ifndef XR_JOURNAL_H
#define XR_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"
#include "../lib/xr.h"

struct journal;

enum journal_access {
	JOURNAL_READ,       /* must exist; never written */
	JOURNAL_WRITE,      /* created (mode 0600, missing directories 0700) and migrated as needed */
};

/* OUT: *ret, closed with journal_close(). */
int journal_open(const char *path, enum journal_access access,
    struct journal **ret, struct xerr *err);
void journal_close(struct journal *j);
/*
 * Seals j, an archive: no event can be added to it any more, and
 * journal_open() refuses it for writing (XR_EUSAGE, naming it).
 */
int journal_seal(struct journal *j, struct xerr *err);
const char *journal_path(const struct journal *j);
/* The SQLite handle, for the other journal queries of store/ (moves.c). */
struct sqlite3 *journal_db(struct journal *j);
const char *journal_errmsg(struct journal *j);

/* The newest schema version this binary knows. */
int journal_schema_version(void);

/*
 * Takes the journal's lock (an flock on "<path>.lock"), waiting up to
 * wait_ms.  Held until journal_close().  XR_ELOCKED when another process
 * keeps it.  When an archive put a new file in the journal's place since
 * j was opened, j is connected to the new one first.
 */
int journal_lock(struct journal *j, int64_t wait_ms, struct xerr *err);
/*
 * Lets the lock go before journal_close(), with no transaction open: a
 * command that works for long lets others in between its steps, then
 * takes it again with journal_lock() (which forgets what the connection
 * knew of the journal's newest events: others may have appended).
 */
void journal_unlock(struct journal *j);
/*
 * The lock that one rollback at a time holds (an flock on
 * "<path>.rollback.lock"), whole, while it takes the journal's lock only
 * for its steps.  Waits up to wait_ms; XR_ELOCKED when another process
 * keeps it.  OUT: *ret_fd, closed to let it go.
 */
int journal_lock_rollback(const char *path, int64_t wait_ms, int *ret_fd, struct xerr *err);

/*
 * The lock one deliverer of the outbox at a time holds (an flock on
 * "<path>.deliver.lock"), while it sends alerts.  Never waited for:
 * XR_ELOCKED at once when another process keeps it, the message naming
 * it.  OUT: *ret_fd, closed to let it go.
 */
int journal_lock_deliver(const char *path, int *ret_fd, struct xerr *err);

/*
 * The lock one archive at a time holds (an flock on "<path>.archive.lock"),
 * whole, while it takes the journal's lock only for its last step.  Its
 * file's mtime is when an archive last began.  Waits up to wait_ms;
 * XR_ELOCKED when another process keeps it.  OUT: *ret_fd, closed to let it go.
 */
int journal_lock_archive(const char *path, int64_t wait_ms, int *ret_fd, struct xerr *err);

/*
 * Puts the journal file from (made beside it, closed) in the journal's
 * place with a rename, and reconnects j to it.  j must hold the journal's
 * lock, outside a transaction.  The old file is checkpointed first and its
 * WAL removed, so that the new file never meets it.  Every other command
 * that takes the lock afterwards notices the new file (journal_lock).
 */
int journal_replace(struct journal *j, const char *from, struct xerr *err);

int journal_begin(struct journal *j, struct xerr *err);
/*
 * Begins a transaction whose commit is synced to stable storage, with
 * everything before it (survives power loss, not only a crash).
 */
int journal_begin_durable(struct journal *j, struct xerr *err);
int journal_commit(struct journal *j, struct xerr *err);
void journal_rollback(struct journal *j);
/* Whether a transaction is open. */
bool journal_in_tx(const struct journal *j);

/*
 * One copy a replay made, as a replay_copies event lists it (see
 * schema/005_copies.sql).  Strings are the caller's.
 */
struct copy_item {
	const char *stream;         /* the original: stream, group, ID */
	const char *grp;
	struct entry_id id;
	struct entry_id copy;       /* the copy's ID, in the event's ref_stream */
	const char *consumer;       /* claimed from (NULL: none) */
	int64_t deliveries;
	const char *source;         /* "held" or "dead_letter" */
	const char *dlq_stream;     /* dead_letter: where the original is */
	struct entry_id dlq_id;
};

/* One row of the events table.  NULL / -1 / has_entry=false mean NULL. */
struct event {
	const char *kind;
	int64_t ts;                 /* Unix ms UTC; 0 means now */
	int64_t run;                /* 0: not part of a run */
	const char *stream;
	const char *grp;
	bool has_entry;
	struct entry_id entry;
	const char *consumer;
	int64_t idle_ms;            /* -1: NULL */
	int64_t deliveries;         /* -1: NULL */
	const char *payload;        /* lossless JSON of the fields (payload.h) */
	size_t payload_len;
	const char *detail;         /* a JSON object */
	int64_t batch;              /* replay batch; 0: NULL */
	const char *ref_stream;     /* the other place (a copy, a dead letter) */
	bool has_ref;
	struct entry_id ref;
	int64_t incident;           /* 0: decided at the append (journal_set_incidents) */
	/*
	 * A replay_copies event: its copies.  The journal writes them into
	 * the detail as "copies" (after the members detail already has, if
	 * any) and indexes them in the copied table, in the same transaction.
	 */
	const struct copy_item *copies;
	size_t ncopies;
};

#define EVENT_INIT {NULL, 0, 0, NULL, NULL, false, {0, 0}, NULL, -1, -1, NULL, 0, NULL, \
	0, NULL, false, {0, 0}, 0, NULL, 0}

/* Appends ev as the newest event, chained to the one before (chain.h). */
int journal_append(struct journal *j, const struct event *ev, struct xerr *err);
/*
 * Appends ev[0..n), in order (several rows per statement: faster).  After a
 * failure some of them may be in the transaction: roll it back.
 */
int journal_append_many(struct journal *j, const struct event *ev, size_t n,
    struct xerr *err);
/* Appends ev in the open transaction and commits; rolls back if either fails. */
int journal_append_commit(struct journal *j, const struct event *ev, struct xerr *err);

/*
 * Who decides which incident each appended event belongs to (the policy is
 * core/incident.h's).  The journal asks for each event, in order, inside
 * the append (on the writer's thread too), before the event is hashed.
 */
struct journal_incidents {
	/*
	 * The incident ev belongs to.  *ret_id 0: none.  *ret_open: a new one:
	 * the journal appends its incident_opened event first, then calls
	 * opened() with that event's seq.  After a failure nothing is appended.
	 */
	int (*assign)(void *ctx, struct journal *j, const struct event *ev, int64_t *ret_id,
	    bool *ret_open, struct xerr *err);
	void (*opened)(void *ctx, const struct event *ev, int64_t id);
	/* ev, with its incident set, was appended. */
	void (*appended)(void *ctx, const struct event *ev);
	/* The transaction was rolled back: its incident_opened events are gone. */
	void (*forget)(void *ctx);
	/* Frees ctx (at journal_close()). */
	void (*done)(void *ctx);
};

/*
 * Sets who decides.  The journal owns ctx from then on and frees it with
 * ops->done.  Without it, events keep the incident they carry.
 */
void journal_set_incidents(struct journal *j, const struct journal_incidents *ops, void *ctx);

/* The schema version of the journal file at path, read only: nothing migrated or locked. */
int journal_file_version(const char *path, int *ret, struct xerr *err);
/* About how many events were appended at or after since_ms (Unix ms), by seq and time. */
int journal_events_since(struct journal *j, int64_t since_ms, int64_t *ret, struct xerr *err);

/* The newest event's hash as 64 hex digits, and its seq (0 when empty). */
int journal_head(struct journal *j, char hex[65], int64_t *ret_seq, struct xerr *err);

/* The next run number (one more than the highest so far). */
int journal_next_run(struct journal *j, int64_t *ret, struct xerr *err);

/* Runs that started but never ended, oldest first.  OUT: *ret (free()). */
int journal_unfinished_runs(struct journal *j, int64_t **ret, size_t *ret_n,
    struct xerr *err);

/* How many claim, lost and consumer_deleted events run wrote. */
int journal_run_counts(struct journal *j, int64_t run, int64_t *claimed,
    int64_t *lost, int64_t *deleted, struct xerr *err);

/* The journal position of run's run_start event (0 if there is none). */
int journal_run_start_seq(struct journal *j, int64_t run, int64_t *ret, struct xerr *err);

/*
 * Whether an event of one of the kinds (a NULL-terminated list) exists for
 * this entry after journal position since_seq.
 */
int journal_entry_has(struct journal *j, const char *stream, const char *grp,
    struct entry_id id, const char *const *kinds, int64_t since_seq,
    bool *ret, struct xerr *err);

/*
 * Whether a consumer_deleted or consumer_kept event exists for this
 * consumer after journal position since_seq.
 */
int journal_consumer_has(struct journal *j, const char *stream, const char *grp,
    const char *consumer, int64_t since_seq, bool *ret, struct xerr *err);

#endif
