/*
 * writer.h: appends events to the journal from a thread of its own, so
 * that a run goes on claiming from Redis while the journal writes.
 *
 * The caller fills a batch (copies of events and their bytes) and hands
 * it over; the writer inserts and commits in transactions of a few
 * thousand rows.  While a writer runs, no one else may use the journal:
 * call writer_sync() first, which waits until everything handed over is
 * committed.  A failure is sticky: put and sync report it from then on.
 */
#ifndef XR_WRITER_H
#define XR_WRITER_H

#include <stddef.h>

#include "../lib/buf.h"
#include "journal.h"
#include "../lib/payload.h"

struct ev_rec;

struct ev_batch {
	struct ev_rec *rec;
	size_t n, cap;
	size_t rows;                /* what the events write: one each, and a copy's one */
	struct buf data;            /* the events' strings, back to back */
};

#define EV_BATCH_INIT {NULL, 0, 0, 0, BUF_INIT}

/* Adds a copy of ev, with copies of its strings and payload. */
void ev_batch_add(struct ev_batch *b, const struct event *ev);
/*
 * The same for an event whose payload is the fields fv[0..n): they are
 * copied as they are and encoded (payload.h) by the writer thread, which
 * has time to spare while the caller waits on Redis.
 */
void ev_batch_add_fields(struct ev_batch *b, const struct event *ev, const struct bytes *fv,
    size_t n);
void ev_batch_reset(struct ev_batch *b);
void ev_batch_free(struct ev_batch *b);

struct writer;

/* Starts the thread.  OUT: *ret, ended with writer_stop(). */
int writer_start(struct journal *j, size_t batch_rows, int batch_ms,
    struct writer **ret, struct xerr *err);
/* Hands b's events over; b is emptied for reuse.  Waits while the queue is full. */
int writer_put(struct writer *w, struct ev_batch *b, struct xerr *err);
/* Waits until all handed over is committed; the journal is idle after. */
int writer_sync(struct writer *w, struct xerr *err);
/* Syncs (reporting into err, which may be NULL) and ends the thread. */
int writer_stop(struct writer *w, struct xerr *err);

#endif
