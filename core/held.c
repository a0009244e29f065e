/*
 * held.c: what is held.  Selects entries from the journal and keeps them
 * in memory, each with its decoded payload, for a move: all at once
 * (held_load), or a page at a time while a thread of its own reads the
 * next pages ahead (held_each).  Also keeps copy rows in memory for
 * settling and rollback (keep_copy).
 *
 * Guarantees: a list owns its strings and payloads until held_free (or
 * copies_free); an entry a copy of which is in flight is left out and
 * counted, never held.  Journals nothing: it only reads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "moves.h"

/* ----------------------------------------------------------- selection */

/* Offsets of a held entry's strings in the list's text, until loading ends. */
struct held_off {
	size_t stream, grp, consumer, payload, dlq_stream;
	size_t fv;                  /* first item in the list's payload space */
};

/*
 * A page of held_each() holds up to this many bytes of payloads, besides
 * its count of entries: pages of large entries stay small.
 */
#define PAGE_BYTES (8u << 20)

struct load {
	struct held_list *l;
	struct held_off *off;
	size_t max_bytes;           /* the page is full at this many (0: no bound) */
	bool raw;                   /* keep each payload's journal form too, not only its bytes */
	size_t skipped_in_flight;
	struct xerr *err;
};

static size_t
keep(struct buf *b, const char *s, size_t n)
{
	size_t off;

	if (s == NULL)
		return 0;
	off = b->len + 1;
	buf_add(b, s, n);
	buf_addc(b, '\0');
	return off;
}

static const char *
at(const struct held_list *l, size_t off)
{
	return off != 0 ? l->text.data + off - 1 : NULL;
}

/* The strings were kept as offsets while the text grew: now they are pointers. */
static void
load_fix(struct load *ld)
{
	struct held_list *l = ld->l;

	if (l->items_cap < l->sp.n) {
		l->items_cap = l->sp.n;
		l->items = xrealloc(l->items, l->items_cap * sizeof(*l->items));
	}
	payload_space_items(&l->sp, l->items);
	for (size_t i = 0; i < l->n; i++) {
		struct journalled *e = &l->v[i].e;
		l->v[i].fv = l->items + ld->off[i].fv;
		e->stream = at(l, ld->off[i].stream);
		e->grp = at(l, ld->off[i].grp);
		e->consumer = at(l, ld->off[i].consumer);
		e->payload = at(l, ld->off[i].payload);
		e->dlq_stream = at(l, ld->off[i].dlq_stream);
	}
	l->skipped_in_flight = ld->skipped_in_flight;
}

static void held_clear(struct held_list *l);

static int
load_one(void *ctx, const struct journalled *e)
{
	struct load *ld = ctx;
	struct held_list *l = ld->l;
	struct held *h;
	struct held_off *o;

	if (e->in_flight) {
		ld->skipped_in_flight++;
		return 0;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		ld->off = xrealloc(ld->off, l->cap * sizeof(*ld->off));
	}
	h = &l->v[l->n];
	o = &ld->off[l->n];
	memset(h, 0, sizeof(*h));
	h->e = *e;
	o->stream = keep(&l->text, e->stream, strlen(e->stream));
	o->grp = keep(&l->text, e->grp, strlen(e->grp));
	o->consumer = keep(&l->text, e->consumer, e->consumer ? strlen(e->consumer) : 0);
	o->payload = ld->raw ? keep(&l->text, e->payload, e->payload_len) : 0;
	o->dlq_stream = keep(&l->text, e->dlq_stream, e->dlq_stream ? strlen(e->dlq_stream) : 0);
	if (e->payload == NULL ||
	    payload_decode_into(e->payload, e->payload_len, &l->sp, &o->fv, &h->nfv) < 0)
		return xerr_set(ld->err, XR_EJOURNAL,
		    "journal: the payload of %s %s is not in the journal's form", e->stream, e->grp);
	l->n++;
	return ld->max_bytes > 0 && l->text.len + l->sp.store.len >= ld->max_bytes ? 1 : 0;
}

int
held_load(struct pass *p, const struct selection *sel, struct held_list *ret,
    struct xerr *err)
{
	struct load ld = {ret, NULL, 0, true, 0, err};

	memset(ret, 0, sizeof(*ret));
	if (journal_select(p->j, sel, load_one, &ld, err) < 0) {
		free(ld.off);
		held_free(ret);
		return -1;
	}
	load_fix(&ld);
	free(ld.off);
	return 0;
}

/*
 * held_each() reads the pages in a thread of its own, with its own
 * connection j, while the caller works on the page before: up to
 * LOAD_SLOTS - 1 pages wait loaded, and the one in the caller's hands.
 */
#define LOAD_SLOTS 3

struct loader {
	struct journal *j;
	const struct selection *sel;
	size_t chunk;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct held_list l[LOAD_SLOTS];
	struct held_off *off[LOAD_SLOTS];
	size_t head, count;         /* pages loaded and not yet given back, from head on */
	size_t skipped;             /* entries left out so far: a copy of them in flight */
	bool done;                  /* the loader ended: no more pages */
	bool stop;                  /* the caller wants no more */
	int rc;
	struct xerr err;
};

static void *
load_pages(void *arg)
{
	struct loader *q = arg;
	int64_t after = 0;
	bool more = true;

	while (more) {
		pthread_mutex_lock(&q->mu);
		while (q->count == LOAD_SLOTS && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		bool stop = q->stop;
		size_t slot = (q->head + q->count) % LOAD_SLOTS;
		pthread_mutex_unlock(&q->mu);
		if (stop)
			break;

		struct held_list *l = &q->l[slot];
		struct load ld = {l, q->off[slot], PAGE_BYTES, false, 0, &q->err};
		int rc;

		held_clear(l);
		rc = journal_select_page(q->j, q->sel, &after, q->chunk, load_one, &ld, &more,
		    &q->err);
		q->off[slot] = ld.off;
		if (rc == 0)
			load_fix(&ld);
		pthread_mutex_lock(&q->mu);
		q->skipped += ld.skipped_in_flight;
		if (rc < 0) {
			q->rc = -1;
			more = false;
		} else if (l->n > 0) {
			q->count++;
		}
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
	pthread_mutex_lock(&q->mu);
	q->done = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
held_each(struct journal *j, const struct selection *sel, size_t chunk,
    int (*fn)(void *ctx, struct held_list *l), void *ctx, size_t *ret_skipped,
    struct xerr *err)
{
	struct loader *q = xcalloc(1, sizeof(*q));
	pthread_t thread;
	int rc = 0;

	q->j = j;
	q->sel = sel;
	q->chunk = chunk;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pthread_create(&thread, NULL, load_pages, q) != 0) {
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->cv);
		free(q);
		return xerr_set(err, XR_EFAIL, "cannot start a thread to read the journal");
	}
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->count == 0 && !q->done)
			pthread_cond_wait(&q->cv, &q->mu);
		size_t slot = q->head;
		bool have = q->count > 0;
		pthread_mutex_unlock(&q->mu);
		if (!have)
			break;
		rc = fn(ctx, &q->l[slot]);
		pthread_mutex_lock(&q->mu);
		q->head = (q->head + 1) % LOAD_SLOTS;
		q->count--;
		q->stop = rc != 0;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		if (rc != 0)
			break;
	}
	pthread_join(thread, NULL);
	if (rc > 0)
		rc = 0;             /* fn wanted no more: not an error */
	if (rc == 0 && q->rc < 0) {
		*err = q->err;
		rc = -1;
	}
	*ret_skipped = q->skipped;
	for (size_t i = 0; i < LOAD_SLOTS; i++) {
		held_free(&q->l[i]);
		free(q->off[i]);
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
	return rc;
}

/* Empties the list for the next chunk, keeping its memory. */
static void
held_clear(struct held_list *l)
{
	l->n = 0;
	buf_reset(&l->text);
	payload_space_reset(&l->sp);
}

void
held_free(struct held_list *l)
{
	free(l->v);
	buf_free(&l->text);
	payload_space_free(&l->sp);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------ copies, kept */

int
keep_copy(void *ctx, const struct copy_row *c)
{
	struct copy_list *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		l->off = xrealloc(l->off, l->cap * sizeof(*l->off));
	}
	l->v[l->n] = *c;
	l->off[l->n][0] = keep(&l->text, c->stream, strlen(c->stream));
	l->off[l->n][1] = keep(&l->text, c->grp, strlen(c->grp));
	l->off[l->n][2] = keep(&l->text, c->to, strlen(c->to));
	l->off[l->n][3] = keep(&l->text, c->dlq_stream, c->dlq_stream ? strlen(c->dlq_stream) : 0);
	l->n++;
	return 0;
}

void
copies_fix(struct copy_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *base = l->text.data;
		l->v[i].stream = base + l->off[i][0] - 1;
		l->v[i].grp = base + l->off[i][1] - 1;
		l->v[i].to = base + l->off[i][2] - 1;
		l->v[i].dlq_stream = l->off[i][3] ? base + l->off[i][3] - 1 : NULL;
	}
	free(l->off);
	l->off = NULL;
}

void
copies_free(struct copy_list *l)
{
	free(l->v);
	free(l->off);
	buf_free(&l->text);
	memset(l, 0, sizeof(*l));
}

int
cmp_copy_target(const void *a, const void *b)
{
	const struct copy_row *x = a, *y = b;
	int c = strcmp(x->to, y->to);

	return c != 0 ? c : entry_id_cmp(x->copy, y->copy);
}
