/* writer.c: the journal writer thread (see writer.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "writer.h"

/*
 * An event with its strings as offsets into the batch's data (0: NULL).
 * With fields != 0 the payload is still nfields fields: each a size_t
 * length and its bytes, from offset fields - 1 on.
 */
struct ev_rec {
	struct event ev;
	size_t kind, stream, grp, consumer, payload, detail, ref_stream;
	size_t fields, nfields;
	size_t copies;              /* ev.ncopies copy_recs from offset copies - 1 on */
};

/* A copy_item in a batch's data, its strings as offsets (0: NULL). */
struct copy_rec {
	struct copy_item it;        /* its pointers are not used */
	size_t stream, grp, consumer, source, dlq_stream;
};

/*
 * Up to QUEUE batches or QUEUE_BYTES of them wait for the writer: enough
 * for the claimer to go on through a checkpoint's sync (a few hundred
 * milliseconds of claiming), bounded whatever the size of the backlog.
 * A batch's memory is kept for reuse unless it grew past KEEP_BYTES.
 */
#define QUEUE 128
#define QUEUE_BYTES (8u << 20)
#define KEEP_BYTES (1u << 20)

struct writer {
	struct journal *j;
	size_t batch_rows;
	int batch_ms;

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv_put;      /* a batch was queued, or sync/stop was asked */
	pthread_cond_t cv_done;     /* a batch was written, or a sync finished */
	struct ev_batch q[QUEUE];
	struct buf enc;             /* payloads encoded for the rows being written */
	struct bytes *fv;
	size_t fv_cap;
	struct copy_item *items;    /* the copies of the rows being written */
	size_t items_cap;
	size_t head, count;
	size_t queued_bytes;
	bool sync_wanted, stopping;
	unsigned long syncs_done;
	bool failed;
	struct xerr err;
};

static size_t
add_str(struct ev_batch *b, const char *s, size_t n)
{
	size_t off;

	if (s == NULL)
		return 0;
	off = b->data.len + 1;
	buf_add(&b->data, s, n);
	buf_addc(&b->data, '\0');
	return off;
}

static struct ev_rec *
add_rec(struct ev_batch *b, const struct event *ev)
{
	struct ev_rec *r;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->rec = xrealloc(b->rec, b->cap * sizeof(*b->rec));
	}
	r = &b->rec[b->n++];
	b->rows += 1 + ev->ncopies;
	r->ev = *ev;
	if (r->ev.ts == 0)
		r->ev.ts = now_ms();
	r->kind = add_str(b, ev->kind, ev->kind ? strlen(ev->kind) : 0);
	r->stream = add_str(b, ev->stream, ev->stream ? strlen(ev->stream) : 0);
	r->grp = add_str(b, ev->grp, ev->grp ? strlen(ev->grp) : 0);
	r->consumer = add_str(b, ev->consumer, ev->consumer ? strlen(ev->consumer) : 0);
	r->payload = add_str(b, ev->payload, ev->payload_len);
	r->detail = add_str(b, ev->detail, ev->detail ? strlen(ev->detail) : 0);
	r->ref_stream = add_str(b, ev->ref_stream, ev->ref_stream ? strlen(ev->ref_stream) : 0);
	r->fields = r->nfields = 0;
	r->copies = 0;
	r->ev.copies = NULL;
	if (ev->ncopies > 0) {
		struct copy_rec *cr = xcalloc(ev->ncopies, sizeof(*cr));
		for (size_t i = 0; i < ev->ncopies; i++) {
			const struct copy_item *c = &ev->copies[i];
			cr[i].it = *c;
			cr[i].stream = add_str(b, c->stream, strlen(c->stream));
			cr[i].grp = add_str(b, c->grp, strlen(c->grp));
			cr[i].consumer = add_str(b, c->consumer, c->consumer ? strlen(c->consumer) : 0);
			cr[i].source = add_str(b, c->source, c->source ? strlen(c->source) : 0);
			cr[i].dlq_stream = add_str(b, c->dlq_stream,
			    c->dlq_stream ? strlen(c->dlq_stream) : 0);
		}
		r->copies = b->data.len + 1;
		buf_add(&b->data, (const char *)cr, ev->ncopies * sizeof(*cr));
		free(cr);
	}
	return r;
}

void
ev_batch_add(struct ev_batch *b, const struct event *ev)
{
	add_rec(b, ev);
}

void
ev_batch_add_fields(struct ev_batch *b, const struct event *ev, const struct bytes *fv,
    size_t n)
{
	struct event e = *ev;
	struct ev_rec *r;

	e.payload = NULL;
	e.payload_len = 0;
	r = add_rec(b, &e);
	r->fields = b->data.len + 1;
	r->nfields = n;
	for (size_t i = 0; i < n; i++) {
		buf_add(&b->data, (const char *)&fv[i].n, sizeof(fv[i].n));
		buf_add(&b->data, fv[i].p, fv[i].n);
	}
}

void
ev_batch_reset(struct ev_batch *b)
{
	b->n = 0;
	b->rows = 0;
	buf_reset(&b->data);
}

void
ev_batch_free(struct ev_batch *b)
{
	free(b->rec);
	buf_free(&b->data);
	memset(b, 0, sizeof(*b));
}

/* What a queued batch holds, for the queue's bound. */
static size_t
batch_bytes(const struct ev_batch *b)
{
	return b->data.len + b->n * sizeof(*b->rec);
}

static const char *
at(const struct ev_batch *b, size_t off)
{
	return off != 0 ? b->data.data + off - 1 : NULL;
}

/* Encodes a record's fields into w->enc; returns where the payload starts. */
static size_t
encode_fields(struct writer *w, const struct ev_batch *b, const struct ev_rec *r, size_t *len)
{
	const char *p = b->data.data + r->fields - 1;
	size_t start = w->enc.len;

	if (w->fv_cap < r->nfields) {
		w->fv_cap = r->nfields;
		w->fv = xrealloc(w->fv, w->fv_cap * sizeof(*w->fv));
	}
	for (size_t i = 0; i < r->nfields; i++) {
		memcpy(&w->fv[i].n, p, sizeof(w->fv[i].n));
		w->fv[i].p = p + sizeof(w->fv[i].n);
		p += sizeof(w->fv[i].n) + w->fv[i].n;
	}
	payload_encode(w->fv, r->nfields, &w->enc);
	*len = w->enc.len - start;
	buf_addc(&w->enc, '\0');
	return start;
}

/* A record's copies into w->items from index from on; returns where they end. */
static size_t
unpack_copies(struct writer *w, const struct ev_batch *b, const struct ev_rec *r, size_t from)
{
	const char *p = b->data.data + r->copies - 1;
	size_t n = r->ev.ncopies;

	if (w->items_cap < from + n) {
		w->items_cap = (from + n) * 2;
		w->items = xrealloc(w->items, w->items_cap * sizeof(*w->items));
	}
	for (size_t i = 0; i < n; i++) {
		struct copy_rec cr;
		struct copy_item *c = &w->items[from + i];

		memcpy(&cr, p + i * sizeof(cr), sizeof(cr));
		*c = cr.it;
		c->stream = at(b, cr.stream);
		c->grp = at(b, cr.grp);
		c->consumer = at(b, cr.consumer);
		c->source = at(b, cr.source);
		c->dlq_stream = at(b, cr.dlq_stream);
	}
	return from + n;
}

/* Writes one batch into the open transaction, 64 events at a time. */
static int
write_batch(struct writer *w, const struct ev_batch *b, struct xerr *err)
{
	struct event evs[64];
	size_t enc_at[64], enc_len[64], items_at[64];

	for (size_t i = 0; i < b->n; i += 64) {
		size_t m = b->n - i < 64 ? b->n - i : 64;
		size_t nitems = 0;

		buf_reset(&w->enc);
		for (size_t k = 0; k < m; k++) {
			const struct ev_rec *r = &b->rec[i + k];
			struct event *ev = &evs[k];

			*ev = r->ev;
			ev->kind = at(b, r->kind);
			ev->stream = at(b, r->stream);
			ev->grp = at(b, r->grp);
			ev->consumer = at(b, r->consumer);
			ev->payload = at(b, r->payload);
			ev->detail = at(b, r->detail);
			ev->ref_stream = at(b, r->ref_stream);
			if (r->fields != 0)
				enc_at[k] = encode_fields(w, b, r, &enc_len[k]);
			items_at[k] = nitems;
			if (r->copies != 0)
				nitems = unpack_copies(w, b, r, nitems);
		}
		/* Pointers into enc and items only now: they may have moved while they grew. */
		for (size_t k = 0; k < m; k++) {
			if (b->rec[i + k].fields != 0) {
				evs[k].payload = w->enc.data + enc_at[k];
				evs[k].payload_len = enc_len[k];
			}
			if (b->rec[i + k].copies != 0)
				evs[k].copies = w->items + items_at[k];
		}
		if (journal_append_many(w->j, evs, m, err) < 0)
			return -1;
	}
	return 0;
}

static void *
run(void *arg)
{
	struct writer *w = arg;
	struct ev_batch cur = EV_BATCH_INIT;
	size_t rows = 0;
	int64_t began = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->count == 0 && !w->sync_wanted && !w->stopping)
			pthread_cond_wait(&w->cv_put, &w->mu);
		if (w->count > 0) {
			/* Take the batch, give its slot our empty one to reuse. */
			struct ev_batch *slot = &w->q[w->head];
			struct ev_batch tmp = *slot;
			*slot = cur;
			cur = tmp;
			w->head = (w->head + 1) % QUEUE;
			w->count--;
			w->queued_bytes -= batch_bytes(&cur);
			bool failed = w->failed;
			pthread_cond_broadcast(&w->cv_done);
			pthread_mutex_unlock(&w->mu);

			struct xerr err = {0};
			int rc = 0;
			if (!failed) {
				if (!journal_in_tx(w->j)) {
					rc = journal_begin(w->j, &err);
					rows = 0;
					began = mono_ms();
				}
				if (rc == 0)
					rc = write_batch(w, &cur, &err);
				rows += cur.rows;
				if (rc == 0 && (rows >= w->batch_rows || mono_ms() - began >= w->batch_ms)) {
					rc = journal_commit(w->j, &err);
					failpoint("batch-committed");
				}
				if (rc < 0)
					journal_rollback(w->j);
			}
			if (cur.data.cap > KEEP_BYTES)
				ev_batch_free(&cur);
			else
				ev_batch_reset(&cur);
			if (w->enc.cap > KEEP_BYTES)
				buf_free(&w->enc);
			pthread_mutex_lock(&w->mu);
			if (rc < 0 && !w->failed) {
				w->failed = true;
				w->err = err;
			}
			continue;
		}
		if (w->sync_wanted) {
			struct xerr err = {0};
			bool failed = w->failed;
			pthread_mutex_unlock(&w->mu);
			int rc = 0;
			if (!failed && journal_in_tx(w->j)) {
				rc = journal_commit(w->j, &err);
				failpoint("batch-committed");
			}
			pthread_mutex_lock(&w->mu);
			if (rc < 0 && !w->failed) {
				w->failed = true;
				w->err = err;
			}
			w->sync_wanted = false;
			w->syncs_done++;
			pthread_cond_broadcast(&w->cv_done);
			continue;
		}
		if (w->stopping)
			break;
	}
	pthread_mutex_unlock(&w->mu);
	ev_batch_free(&cur);
	return NULL;
}

int
writer_start(struct journal *j, size_t batch_rows, int batch_ms, struct writer **ret,
    struct xerr *err)
{
	struct writer *w = xcalloc(1, sizeof(*w));

	w->j = j;
	w->batch_rows = batch_rows;
	w->batch_ms = batch_ms;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_put, NULL);
	pthread_cond_init(&w->cv_done, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		free(w);
		return xerr_set(err, XR_EJOURNAL, "cannot start the journal writer thread");
	}
	*ret = w;
	return 0;
}

int
writer_put(struct writer *w, struct ev_batch *b, struct xerr *err)
{
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	while ((w->count == QUEUE || (w->count > 0 && w->queued_bytes >= QUEUE_BYTES)) &&
	    !w->failed)
		pthread_cond_wait(&w->cv_done, &w->mu);
	if (w->failed) {
		if (err != NULL)
			*err = w->err;
		rc = -1;
	} else {
		/* Swap b into the tail slot; b gets that slot's empty batch back. */
		struct ev_batch *slot = &w->q[(w->head + w->count) % QUEUE];
		struct ev_batch tmp = *slot;
		*slot = *b;
		*b = tmp;
		ev_batch_reset(b);
		w->count++;
		w->queued_bytes += batch_bytes(slot);
		pthread_cond_signal(&w->cv_put);
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int
writer_sync(struct writer *w, struct xerr *err)
{
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	/* Wait for the queue to empty, then for a commit after it. */
	while (w->count > 0 && !w->failed)
		pthread_cond_wait(&w->cv_done, &w->mu);
	unsigned long target = w->syncs_done + 1;
	w->sync_wanted = true;
	pthread_cond_signal(&w->cv_put);
	while (w->syncs_done < target)
		pthread_cond_wait(&w->cv_done, &w->mu);
	if (w->failed) {
		if (err != NULL)
			*err = w->err;
		rc = -1;
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int
writer_stop(struct writer *w, struct xerr *err)
{
	int rc;

	if (w == NULL)
		return 0;
	rc = writer_sync(w, err);
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->cv_put);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	for (size_t i = 0; i < QUEUE; i++)
		ev_batch_free(&w->q[i]);
	buf_free(&w->enc);
	free(w->fv);
	free(w->items);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv_put);
	pthread_cond_destroy(&w->cv_done);
	free(w);
	return rc;
}
