/*
 * trace.h: the journal's rows about one entry, for `xrecover trace` and
 * for each entry's fate (core/trace.c assembles them into its story):
 * the events about it, the copies made of it, the copy or the dead letter
 * an ID is, and a payload field search.
 *
 * The strings of a row belong to the query: a callback copies what it
 * keeps.
 */
#ifndef XR_STORE_TRACE_H
#define XR_STORE_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "journal.h"

/* Reads them, each query prepared once.  OUT: *ret, closed before j. */
struct trace_reader;
int trace_reader_open(struct journal *j, struct trace_reader **ret, struct xerr *err);
void trace_reader_close(struct trace_reader *r);

/* One event about an entry (the events table's columns; -1 / NULL: NULL). */
struct trace_row {
	int64_t seq, ts, run, batch, incident;
	const char *kind;
	const char *stream, *grp;
	struct entry_id id;
	const char *consumer;
	int64_t idle_ms, deliveries;
	const char *payload;
	const char *detail;
	const char *ref_stream;     /* NULL: no ref */
	struct entry_id ref;
	const char *reason;         /* detail.reason (dead_lettered, lost), or NULL */
	const char *user, *host;    /* detail.user and .host (rollback, replay_start), or NULL */
};
typedef int (*trace_row_fn)(void *ctx, const struct trace_row *r);

/* One copy a replay made (a replay_copy event, or one of a replay_copies). */
struct trace_copy {
	int64_t seq, pos;           /* its event, and its place in the event's copies */
	int64_t ts, run, batch;
	const char *stream, *grp;   /* the original */
	struct entry_id id;
	const char *to;             /* where the copy went, and its ID */
	struct entry_id copy;
	const char *consumer;       /* the original was claimed from */
	int64_t deliveries;         /* the original's, ancestors' included */
	const char *source;         /* "held" or "dead_letter" */
	const char *dlq_stream;     /* dead_letter: where the original lay; else NULL */
	struct entry_id dlq_id;
};
typedef int (*trace_copy_fn)(void *ctx, const struct trace_copy *c);

/*
 * Every event about stream/id, in any group, in journal order: claims,
 * losses, dead letters, settling, taken, copies removed.
 */
int trace_entry_events(struct trace_reader *r, const char *stream, struct entry_id id,
    trace_row_fn fn, void *ctx, struct xerr *err);

/* The events of replay batch of these kinds (a NULL-terminated list), in journal order. */
int trace_batch_events(struct trace_reader *r, int64_t batch, const char *const *kinds,
    trace_row_fn fn, void *ctx, struct xerr *err);

/*
 * Every copy made of stream/id (grp NULL: claimed in any group) by events
 * after journal position after, in journal order.
 */
int trace_entry_copies(struct trace_reader *r, const char *stream, const char *grp,
    struct entry_id id, int64_t after, trace_copy_fn fn, void *ctx, struct xerr *err);

/* The copy stream/id is, if it is one: fn is called once, or not at all. */
int trace_copy_made(struct trace_reader *r, const char *stream, struct entry_id id,
    trace_copy_fn fn, void *ctx, struct xerr *err);

/* The dead_lettered event that put an entry at stream/id, if any. */
int trace_dead_letter(struct trace_reader *r, const char *stream, struct entry_id id,
    trace_row_fn fn, void *ctx, struct xerr *err);

/* The event at seq, if any. */
int trace_event_at(struct trace_reader *r, int64_t seq, trace_row_fn fn, void *ctx,
    struct xerr *err);

/*
 * The latest claim (claim, claim_reconciled) of stream/id after journal
 * position after, in group grp, or in any group when grp is NULL.
 */
int trace_latest_claim(struct trace_reader *r, const char *stream, const char *grp,
    struct entry_id id, int64_t after, trace_row_fn fn, void *ctx, struct xerr *err);

/*
 * What happened last to stream/grp/id after journal position after: the
 * latest of its dead_lettered, settled, lost, copy_removed, taken, claim,
 * claim_reconciled events and of the copies made of it ("copy").  *ret_kind
 * is NULL when nothing happened; else a static string.
 */
int trace_last_outcome(struct trace_reader *r, const char *stream, const char *grp,
    struct entry_id id, int64_t after, const char **ret_kind, struct xerr *err);

/*
 * Each claim (claim, claim_reconciled) whose payload has a field name
 * (any of them, when the name is repeated) equal to value, in journal
 * order.  Names and values that are not UTF-8 match nothing (the payload
 * keeps them as base64).  Reads every claim's payload.
 */
int trace_find_field(struct trace_reader *r, const char *name, const char *value,
    trace_row_fn fn, void *ctx, struct xerr *err);

#endif
