/*
 * archive.h: what the journal knows of its archives (schema/010_archive.sql),
 * where an archive may cut it, and copying events between journal files.
 *
 * Which cut is safe is core/archive.c's to decide; these are the queries
 * it decides with, and the copying it then does.
 */
#ifndef XR_STORE_ARCHIVE_H
#define XR_STORE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"
#include "../lib/xr.h"
#include "chain.h"
#include "journal.h"

/* One row of the archives table. */
struct archive_row {
	int64_t first_seq, last_seq;
	unsigned char last_hash[CHAIN_HASH_LEN];
	char *file;                 /* as recorded: a name beside the journal, or a path */
	int64_t events, first_ts, last_ts, last_run, last_batch, archived_at;
};

/* The rows, oldest first.  OUT: *ret, freed with archive_rows_free(). */
int journal_archives(struct journal *j, struct archive_row **ret, size_t *ret_n,
    struct xerr *err);
void archive_rows_free(struct archive_row *r, size_t n);

/* What stops an archive, as journal positions (0: nothing). */
struct archive_limits {
	int64_t first_seq;          /* the journal's first event */
	int64_t head_seq;           /* and its newest */
	int64_t newer_seq;          /* the first event at or after the date asked for */
	int64_t run_seq;            /* run_start of the oldest run that has not ended */
	int64_t run;                /* and its number */
	int64_t batch_seq;          /* replay_start of the oldest batch not closed */
	int64_t batch;              /* and its number */
	int64_t held_seq;           /* the first event of the oldest entry still held */
	int64_t alert_seq;          /* the oldest alert still to be delivered (the outbox's) */
	int64_t work_seq;           /* the first event that is not an archived event */
};

/* Reads the limits for events older than before_ms (Unix ms). */
int journal_archive_limits(struct journal *j, int64_t before_ms, struct archive_limits *ret,
    struct xerr *err);

/*
 * The first event of a run, replay batch or incident that has events both
 * at or before last and after it (0: none): a cut after last would split it.
 */
int journal_split_at(struct journal *j, int64_t last, int64_t *ret, struct xerr *err);

/* The replay_start event of batch (0: none). */
int journal_batch_start_seq(struct journal *j, int64_t batch, int64_t *ret, struct xerr *err);

/* The stored hash of event seq.  XR_EJOURNAL when there is none. */
int journal_event_hash(struct journal *j, int64_t seq, unsigned char ret[CHAIN_HASH_LEN],
    struct xerr *err);

/*
 * Copies into dst the events with seq in [from, to] of the journal file
 * src (read without its lock: those events never change), with their rows
 * of the copied table, a transaction per chunk; dst must have none open.
 * With rows, also every archives row of src that dst lacks, with its
 * archive_totals rows.  OUT: *ret_n,
 * the events copied.
 */
int journal_copy_from(struct journal *dst, const char *src, int64_t from, int64_t to,
    bool rows, int64_t *ret_n, struct xerr *err);

/*
 * One archive a read command reads with the journal: its file and the
 * events its archives row says it holds; read tells whether it was, and
 * why (OUT: free()) why not.
 */
struct archive_part {
	const char *path;
	int64_t first_seq, last_seq;
	bool read;
	char *why;
};

/* How many archives a journal's queries can read at once (SQLite's attached databases). */
size_t journal_span_max(struct journal *j);

/*
 * Makes the queries of j, a journal opened to read, read the events of
 * the archives parts[] name too, as if they were still in it: attaches
 * each (read-only) and puts temporary views named events and copied over
 * their parts and the journal's own, and every view of the journal made
 * again over those (a view of the journal would read its own tables).  An archive that
 * cannot be read is left out (its part's read false, why set); at most
 * journal_span_max() of them.  For reading (trace, report): the views
 * shadow j's tables and views for every query of j after it.
 */
int journal_span_archives(struct journal *j, struct archive_part *parts, size_t n,
    struct xerr *err);

/* Adds a row to the archives table of j (in the open transaction, if any). */
int journal_add_archive(struct journal *j, const struct archive_row *r, struct xerr *err);

/* One counter's total of the events archived so far (table archive_totals). */
struct archive_total {
	char *family;               /* the metric: "xrecover_claimed_total", ... */
	char *stream, *group;       /* NULL for a counter without labels */
	int64_t n;
	int64_t last_seq;           /* read back: the archive's (its archives row's) */
};
void archive_totals_free(struct archive_total *v, size_t n);

/* Every row of archive_totals, by last_seq.  OUT: *ret (archive_totals_free()). */
int journal_archive_totals(struct journal *j, struct archive_total **ret, size_t *ret_n,
    struct xerr *err);

/*
 * The detail of the archived event that records an archive in the chain:
 * exactly what its archives row r and its n archive_totals rows v say, as
 * one JSON object (v is sorted first: the same rows give the same text).
 */
void archive_detail(struct buf *b, const struct archive_row *r, struct archive_total *v,
    size_t n);

/* Calls fn with the seq and detail of each archived event of j, in journal order. */
int journal_archived_events(struct journal *j,
    int (*fn)(void *ctx, int64_t seq, const char *detail), void *ctx, struct xerr *err);

/*
 * Adds the n totals v of the archive whose last event is last_seq to j,
 * in one transaction (j must have none open).
 */
int journal_add_archive_totals(struct journal *j, int64_t last_seq,
    const struct archive_total *v, size_t n, struct xerr *err);

/*
 * The highest run and replay batch among the events with seq in [from, to],
 * their timestamps' first and last.
 */
int journal_range_info(struct journal *j, int64_t from, int64_t to, struct archive_row *ret,
    struct xerr *err);

/* Removes the journal file path with its -wal and -shm, if they exist. */
int journal_file_remove(const char *path, struct xerr *err);

/*
 * Renames a closed journal file (no -wal left) and syncs its directory;
 * the file is given the owner of the file like first (when allowed).
 */
int journal_file_rename(const char *from, const char *to, const char *like, struct xerr *err);

#endif
