/*
 * moves.c: copies (replay, redeliver), dead letters, settling and rollback.
 * See moves.h; the Redis commands are in stream/move.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/move.h"
#include "moves.h"

#define CHUNK 250               /* copies or moves per request */
#define FLY 2                   /* copy requests sent and not answered yet, at most */
#define MAX_RETRIES 20          /* a copy planned again this often is an error */

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

/* -------------------------------------------------------------- batches */

int
batch_begin(struct pass *p, bool automatic, const char *to, const char *selection,
    size_t planned, int64_t *ret_batch, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;
	int64_t batch;

	if (pass_flush(p, err) < 0 || journal_begin(p->j, err) < 0)
		return -1;
	if (journal_next_batch(p->j, &batch, err) < 0) {
		journal_rollback(p->j);
		return -1;
	}
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kbool(&w, "automatic", automatic);
	jw_kstr(&w, "to", to);
	if (selection != NULL) {
		jw_key(&w, "selection");
		jw_raw(&w, selection);
	}
	jw_kint(&w, "planned", (int64_t)planned);
	pass_who(&w);
	jw_obj_end(&w);
	ev.kind = "replay_start";
	ev.run = p->run;
	ev.batch = batch;
	ev.detail = buf_str(&p->dbuf);
	if (journal_append_commit(p->j, &ev, err) < 0)
		return -1;
	*ret_batch = batch;
	return 0;
}

int
batch_end(struct pass *p, int64_t batch, const char *status, size_t copied, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "status", status);
	jw_kint(&w, "copied", (int64_t)copied);
	jw_obj_end(&w);
	ev.kind = "replay_end";
	ev.run = p->run;
	ev.batch = batch;
	ev.detail = buf_str(&p->dbuf);
	/* The end of a batch is synced to disk with all before it. */
	if (pass_flush(p, err) < 0 || journal_begin_durable(p->j, err) < 0)
		return -1;
	return journal_append_commit(p->j, &ev, err);
}

/* --------------------------------------------------------------- copies */

struct target {
	char *name;
	struct entry_id next;
	bool known;                 /* next is up to date */
};

struct chunk {
	size_t idx[CHUNK];          /* into the list */
	struct copy c[CHUNK];
	size_t n;
	struct target *t;
};

struct copier {
	struct pass *p;
	int64_t batch;
	struct held_list *l;
	const struct copy_opts *o;
	struct target *targets;
	size_t ntargets;
	size_t *queue;              /* entries still to copy, in order */
	size_t qhead, qn;
	unsigned char *tries;
	struct chunk fly[FLY];      /* sent, answer not read yet; oldest first */
	size_t nfly;
	size_t copied, retried, total;
	int64_t t0;
};

static struct target *
target_for(struct copier *cp, const char *name)
{
	for (size_t i = 0; i < cp->ntargets; i++)
		if (strcmp(cp->targets[i].name, name) == 0)
			return &cp->targets[i];
	cp->targets = xrealloc(cp->targets, (cp->ntargets + 1) * sizeof(*cp->targets));
	struct target *t = &cp->targets[cp->ntargets++];
	t->name = xstrdup(name);
	t->known = false;
	return t;
}

static const char *
copy_target(const struct copier *cp, const struct held *h)
{
	return cp->o->to != NULL ? cp->o->to : h->e.stream;
}

/*
 * The intent line of a chunk: the ID of its first copy (the others follow
 * it one by one) and each original, in order.
 */
static int
chunk_intent(struct copier *cp, const struct chunk *ch, struct xerr *err)
{
	struct pass *p = cp->p;
	char first[ENTRY_ID_STRLEN];
	struct jw w;

	entry_id_format(ch->c[0].id, first, sizeof(first));
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kint(&w, "run", p->run);
	jw_kstr(&w, "kind", "copy");
	jw_kint(&w, "batch", cp->batch);
	intent_kname(&w, "to", ch->t->name);
	jw_kstr(&w, "first", first);
	jw_key(&w, "entries");
	jw_arr(&w);
	for (size_t i = 0; i < ch->n; i++) {
		const struct held *h = &cp->l->v[ch->idx[i]];
		char id[ENTRY_ID_STRLEN];

		entry_id_format(h->e.id, id, sizeof(id));
		jw_arr(&w);
		intent_name(&w, h->e.stream);
		intent_name(&w, h->e.grp);
		jw_str(&w, id);
		jw_arr_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	return intent_append(p->intents, p->dbuf.data, p->dbuf.len, err);
}

/* Plans and sends the next chunk from the queue. */
static int
send_chunk(struct copier *cp, struct xerr *err)
{
	struct pass *p = cp->p;
	struct chunk *ch = &cp->fly[cp->nfly];
	size_t limit = CHUNK;

	if (cp->o->rate > 0) {
		/* Small chunks, sent on time: the rate holds over any second. */
		limit = (size_t)(cp->o->rate / 20);
		limit = limit < 1 ? 1 : limit > CHUNK ? CHUNK : limit;
		int64_t due = cp->t0 + (int64_t)((double)cp->copied * 1000.0 / cp->o->rate);
		for (int64_t now = mono_ms(); now < due && !*p->stop; now = mono_ms()) {
			struct timespec ts = {(time_t)((due - now) / 1000),
			    (long)((due - now) % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	ch->n = 0;
	ch->t = NULL;
	while (cp->qn > 0 && ch->n < limit) {
		size_t i = cp->queue[cp->qhead];
		struct target *t = target_for(cp, copy_target(cp, &cp->l->v[i]));

		if (ch->t != NULL && ch->t != t)
			break;          /* one target stream per chunk */
		if (!t->known) {
			if (copy_first_id(p->rc, t->name, &t->next, err) < 0)
				return -1;
			t->known = true;
		}
		ch->t = t;
		ch->idx[ch->n] = i;
		ch->c[ch->n].fv = cp->l->v[i].fv;
		ch->c[ch->n].nfv = cp->l->v[i].nfv;
		ch->c[ch->n].id = t->next;
		t->next = entry_id_next(t->next);
		ch->n++;
		cp->qhead++;
		cp->qn--;
	}
	if (ch->n == 0)
		return 0;
	if (chunk_intent(cp, ch, err) < 0)
		return -1;
	failpoint("copy-planned");
	if (copies_send(p->rc, ch->t->name, ch->c, ch->n, err) < 0)
		return -1;
	failpoint("copy-sent");
	cp->nfly++;
	return 0;
}

struct copy_item
copy_item_of(const struct held *h, struct entry_id copy)
{
	struct copy_item c = {0};

	c.stream = h->e.stream;
	c.grp = h->e.grp;
	c.id = h->e.id;
	c.copy = copy;
	c.consumer = h->e.consumer;
	c.deliveries = h->e.deliveries;
	c.source = source_name(h->e.source);
	if (h->e.source == SRC_DLQ) {
		c.dlq_stream = h->e.dlq_stream;
		c.dlq_id = h->e.dlq_id;
	}
	return c;
}

struct event
copies_event(struct pass *p, int64_t batch, const char *to, const struct copy_item *items,
    size_t n, bool reconciled)
{
	struct event ev = EVENT_INIT;

	ev.kind = "replay_copies";
	ev.run = p->run;
	ev.batch = batch;
	ev.ref_stream = to;
	ev.has_ref = true;
	ev.ref = items[0].copy;     /* the lowest: copies are made in ID order */
	ev.detail = reconciled ? "{\"reconciled\":true}" : NULL;
	ev.copies = items;
	ev.ncopies = n;
	return ev;
}

/* Reads the oldest chunk's answer, journals the copies made, requeues the rest. */
static int
recv_chunk(struct copier *cp, struct xerr *err)
{
	struct pass *p = cp->p;
	struct chunk *ch = &cp->fly[0];
	bool retry = false;

	struct copy_item items[CHUNK];
	size_t made = 0;

	if (copies_recv(p->rc, ch->t->name, ch->c, ch->n, err) < 0)
		return -1;
	for (size_t i = 0; i < ch->n; i++) {
		size_t idx = ch->idx[i];
		struct held *h = &cp->l->v[idx];

		if (ch->c[i].done) {
			items[made++] = copy_item_of(h, ch->c[i].id);
			h->copied = true;
			h->copy_to = copy_target(cp, h);
			h->copy_id = ch->c[i].id;
			cp->copied++;
			continue;
		}
		/* A producer took the ID first: again, with a fresh one. */
		if (++cp->tries[idx] > MAX_RETRIES)
			return xerr_set(err, XR_EFAIL,
			    "redis: %s: could not find a free ID for a copy in %d tries",
			    ch->t->name, MAX_RETRIES);
		cp->queue[cp->qhead + cp->qn++] = idx;
		cp->retried++;
		retry = true;
	}
	/* The writer thread journals them while the next chunks go out. */
	if (made > 0) {
		struct event ev = copies_event(p, cp->batch, ch->t->name, items, made, false);
		ev_batch_add(&p->batch, &ev);
	}
	if (p->batch.n > 0 && writer_put(p->w, &p->batch, err) < 0)
		return -1;
	if (retry)
		ch->t->known = false;
	memmove(&cp->fly[0], &cp->fly[1], (cp->nfly - 1) * sizeof(cp->fly[0]));
	cp->nfly--;
	if (cp->o->progress != NULL)
		cp->o->progress(cp->o->progress_ctx, cp->copied, cp->total);
	return 0;
}

int
copy_entries(struct pass *p, int64_t batch, struct held_list *l, const struct copy_opts *o,
    struct copy_result *ret, struct xerr *err)
{
	struct copier cp = {0};
	bool own_writer = false;
	int rc = -1;

	cp.p = p;
	cp.batch = batch;
	cp.l = l;
	cp.o = o;
	cp.total = l->n;
	/* Room for every entry plus the retries, which go to the back. */
	cp.queue = xmalloc((l->n * (MAX_RETRIES + 1) + 1) * sizeof(*cp.queue));
	cp.tries = xcalloc(l->n + 1, 1);
	for (size_t i = 0; i < l->n; i++)
		cp.queue[cp.qn++] = i;
	cp.t0 = mono_ms();
	if (p->w == NULL) {
		if (writer_start(p->j, 4096, 500, &p->w, err) < 0)
			goto out;
		own_writer = true;
	}
	for (;;) {
		/* Keep FLY requests with Redis while journalling the answers. */
		while (cp.nfly < FLY && cp.qn > 0 && !*p->stop)
			if (send_chunk(&cp, err) < 0)
				goto out;
		if (cp.nfly == 0)
			break;
		if (recv_chunk(&cp, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0 && cp.nfly > 0)
		p->uncertain = true;    /* answers lost: the next run looks the IDs up */
	/*
	 * A writer started here is stopped here, all committed.  A shared one
	 * goes on; batch_end() waits for it (pass_flush).
	 */
	if (own_writer) {
		struct xerr werr = {0};
		if (writer_stop(p->w, &werr) < 0 && rc == 0) {
			*err = werr;
			rc = -1;
		}
		p->w = NULL;
	}
	ret->copied = cp.copied;
	ret->retried = cp.retried;
	for (size_t i = 0; i < cp.ntargets; i++)
		free(cp.targets[i].name);
	free(cp.targets);
	free(cp.queue);
	free(cp.tries);
	return rc;
}

/* --------------------------------------------------------- dead letters */

int
journal_dead_lettered(struct pass *p, const char *stream, const char *group,
    struct entry_id id, const struct dead_letter_ref *r, bool reconciled, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "reason", r->reason);
	if (reconciled)
		jw_kbool(&w, "reconciled", true);
	jw_obj_end(&w);
	ev.kind = "dead_lettered";
	ev.run = p->run;
	ev.stream = stream;
	ev.grp = group;
	ev.has_entry = true;
	ev.entry = id;
	ev.consumer = r->consumer;
	ev.deliveries = r->deliveries;
	ev.ref_stream = r->dlq;
	ev.has_ref = true;
	ev.ref = r->dlq_id;
	ev.detail = buf_str(&p->dbuf);
	return journal_append(p->j, &ev, err);
}

/* The log line's tag and the reason, by what xrecover was about to do. */
static const struct {
	const char *tag, *reason;
} taken_why[] = {
	[TAKEN_DEAD_LETTER] = {"DEAD-LETTER",
	    "a live consumer claimed it before it could be dead-lettered; left alone"},
	[TAKEN_SETTLE] = {"SETTLE",
	    "a live consumer claimed it while its copy was in flight; left alone"},
};

int
journal_taken(struct pass *p, enum taken_at at, const char *stream, const char *group,
    struct entry_id id, const char *owner, bool reconciled, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct logline l;
	char ids[ENTRY_ID_STRLEN];
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "reason", taken_why[at].reason);
	if (reconciled)
		jw_kbool(&w, "reconciled", true);
	jw_obj_end(&w);
	ev.kind = "taken";
	ev.run = p->run;
	ev.stream = stream;
	ev.grp = group;
	ev.has_entry = true;
	ev.entry = id;
	ev.consumer = owner;
	ev.detail = buf_str(&p->dbuf);
	if (journal_append(p->j, &ev, err) < 0)
		return -1;
	entry_id_format(id, ids, sizeof(ids));
	ll_start(&l, LOG_WARN, taken_why[at].tag, "skipped");
	ll_str(&l, "entry", ids);
	ll_str(&l, "stream", stream);
	ll_str(&l, "group", group);
	ll_str(&l, "consumer", owner);
	ll_str(&l, "reason", taken_why[at].reason);
	ll_emit(p->lg, &l);
	return 0;
}

int
dead_letter_entries(struct pass *p, const char *stream, const char *group, struct held **es,
    const char **reasons, size_t n, long long *moved, struct xerr *err)
{
	char *dlq = dlq_name(p->cfg->dead_letter_stream, stream, group);
	struct dead_letter *d = xcalloc(CHUNK, sizeof(*d));
	struct copy_origin *orig = xcalloc(CHUNK, sizeof(*orig));
	struct copy_origins *origins = NULL;
	char type[16];
	int rc = -1;

	*moved = 0;
	if (redis_key_type(p->rc, dlq, type, err) < 0)
		goto out;
	if (strcmp(type, "stream") != 0 && strcmp(type, "none") != 0) {
		xerr_set(err, XR_EFAIL, "dead-letter stream '%s' is a %s, not a stream", dlq, type);
		goto out;
	}
	if (pass_flush(p, err) < 0 || journal_origins_open(p->j, &origins, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t m = n - i < CHUNK ? n - i : CHUNK;
		struct entry_id after;
		char after_s[ENTRY_ID_STRLEN];
		struct jw w;

		/* Where the dead letters will start: the next run looks there. */
		if (copy_first_id(p->rc, dlq, &after, err) < 0)
			goto out;
		entry_id_format(after, after_s, sizeof(after_s));
		buf_reset(&p->dbuf);
		jw_init(&w, &p->dbuf);
		jw_obj(&w);
		jw_kint(&w, "run", p->run);
		jw_kstr(&w, "kind", "dead-letter");
		intent_kname(&w, "stream", stream);
		intent_kname(&w, "group", group);
		intent_kname(&w, "dlq", dlq);
		intent_kname(&w, "consumer", p->cfg->consumer);
		jw_kstr(&w, "after", after_s);
		jw_key(&w, "entries");
		jw_arr(&w);
		for (size_t k = 0; k < m; k++) {
			const struct held *h = es[i + k];
			char id[ENTRY_ID_STRLEN];

			entry_id_format(h->e.id, id, sizeof(id));
			jw_arr(&w);
			jw_str(&w, id);
			if (h->e.consumer != NULL)
				intent_name(&w, h->e.consumer);
			else
				jw_null(&w);
			jw_int(&w, h->e.deliveries);
			jw_str(&w, reasons[i + k]);
			jw_arr_end(&w);
			d[k].id = h->e.id;
			d[k].fv = h->fv;
			d[k].nfv = h->nfv;
			/* A copy's dead letter names the entry it is a copy of, too. */
			copy_origin_free(&orig[k]);
			if (journal_copy_origin(origins, stream, group, h->e.id, &orig[k], err) < 0)
				goto out;
			d[k].origin_stream = orig[k].is_copy ? orig[k].stream : NULL;
			d[k].origin_group = orig[k].grp;
			d[k].origin_id = orig[k].id;
			d[k].consumer = h->e.consumer;
			d[k].deliveries = h->e.deliveries;
			d[k].reason = reasons[i + k];
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		if (intent_append(p->intents, p->dbuf.data, p->dbuf.len, err) < 0)
			goto out;
		failpoint("dead-letter-planned");
		int mrc = dead_letters_move(p->rc, stream, group, p->cfg->consumer, dlq, d, m, err);
		failpoint("dead-letter-moved");
		/* Journal what was done even when part of the chunk was refused. */
		if (journal_begin(p->j, err) < 0)
			goto out;
		for (size_t k = 0; k < m; k++) {
			if (d[k].owner != NULL && journal_taken(p, TAKEN_DEAD_LETTER, stream, group,
			    d[k].id, d[k].owner, false, err) < 0) {
				journal_rollback(p->j);
				goto out;
			}
			if (!d[k].done)
				continue;
			struct dead_letter_ref ref = {d[k].consumer, d[k].deliveries, dlq, d[k].dlq_id,
			    reasons[i + k]};
			if (journal_dead_lettered(p, stream, group, d[k].id, &ref, false, err) < 0) {
				journal_rollback(p->j);
				goto out;
			}
			(*moved)++;
		}
		if (journal_commit(p->j, err) < 0 || mrc < 0) {
			if (mrc < 0)
				p->uncertain = p->uncertain || err->code == XR_EREDIS;
			goto out;
		}
		for (size_t k = 0; k < m; k++) {
			struct logline l;
			char ids[ENTRY_ID_STRLEN], dl[ENTRY_ID_STRLEN];

			if (!d[k].done)
				continue;
			entry_id_format(d[k].id, ids, sizeof(ids));
			entry_id_format(d[k].dlq_id, dl, sizeof(dl));
			ll_start(&l, LOG_WARN, "DEAD-LETTER", NULL);
			ll_str(&l, "entry", ids);
			ll_str(&l, "stream", stream);
			ll_str(&l, "group", group);
			ll_int(&l, "deliveries", d[k].deliveries);
			ll_str(&l, "dead_letter_stream", dlq);
			ll_str(&l, "dead_letter_id", dl);
			ll_str(&l, "reason", reasons[i + k]);
			ll_emit(p->lg, &l);
		}
		for (size_t k = 0; k < m; k++) {
			free(d[k].owner);
			d[k].owner = NULL;
		}
	}
	rc = 0;
out:
	for (size_t k = 0; k < CHUNK; k++) {
		free(d[k].owner);
		copy_origin_free(&orig[k]);
	}
	free(orig);
	journal_origins_close(origins);
	free(d);
	free(dlq);
	return rc;
}

/* ------------------------------------------------------------- settling */

/* Copy rows kept in memory (they own their strings). */
struct copy_list {
	struct copy_row *v;
	size_t n, cap;
	struct buf text;
	size_t (*off)[4];           /* stream, grp, to, dlq_stream */
};

static int
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

static void
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

static void
copies_free(struct copy_list *l)
{
	free(l->v);
	free(l->off);
	buf_free(&l->text);
	memset(l, 0, sizeof(*l));
}

static int
cmp_copy_target(const void *a, const void *b)
{
	const struct copy_row *x = a, *y = b;
	int c = strcmp(x->to, y->to);

	return c != 0 ? c : entry_id_cmp(x->copy, y->copy);
}

struct event
copy_event(struct pass *p, const char *kind, int64_t batch, const struct copy_row *c,
    const char *detail)
{
	struct event ev = EVENT_INIT;

	ev.kind = kind;
	ev.run = p->run;
	ev.batch = batch;
	ev.stream = c->stream;
	ev.grp = c->grp;
	ev.has_entry = true;
	ev.entry = c->id;
	ev.ref_stream = c->to;
	ev.has_ref = true;
	ev.ref = c->copy;
	ev.detail = detail;
	return ev;
}

/* Counts a batch's copies still in flight. */
static int
count_open(void *ctx, const struct copy_row *c)
{
	if (!c->settled && !c->removed)
		(*(size_t *)ctx)++;
	return 0;
}

/* Closes each batch that ended and has no copy in flight left. */
static int
close_batches(struct pass *p, long long *closed, struct xerr *err)
{
	int64_t *batches = NULL;
	size_t n = 0;
	int rc = -1;

	if (journal_unclosed_batches(p->j, &batches, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct batch_info bi;
		size_t open = 0;
		struct event ev = EVENT_INIT;

		if (journal_batch_info(p->j, batches[i], &bi, err) < 0 ||
		    journal_batch_copies(p->j, batches[i], count_open, &open, err) < 0)
			goto out;
		if (!bi.ended || open > 0)
			continue;
		ev.kind = "batch_closed";
		ev.run = p->run;
		ev.batch = batches[i];
		if (pass_append(p, &ev, err) < 0)
			goto out;
		(*closed)++;
	}
	rc = 0;
out:
	free(batches);
	return rc;
}

static bool
listed(char *const *v, const char *s)
{
	if (v == NULL)
		return true;
	for (; *v != NULL; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/*
 * Journals copy c as settled and, when its original is pending on owner (a
 * live consumer, not the recovery consumer), the original as taken by it:
 * in one transaction.
 */
static int
journal_settled(struct pass *p, const struct copy_row *c, const char *owner,
    struct xerr *err)
{
	struct jw w;
	struct event ev;

	if (pass_flush(p, err) < 0 || journal_begin(p->j, err) < 0)
		return -1;
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "source", source_name(c->source));
	jw_obj_end(&w);
	ev = copy_event(p, "settled", c->batch, c, buf_str(&p->dbuf));
	if (journal_append(p->j, &ev, err) < 0 || (owner != NULL &&
	    journal_taken(p, TAKEN_SETTLE, c->stream, c->grp, c->id, owner, false, err) < 0)) {
		journal_rollback(p->j);
		return -1;
	}
	return journal_commit(p->j, err);
}

/* One pass over the open copies. */
static int
settle_once(struct pass *p, char *const *streams, struct settle_result *ret, struct xerr *err)
{
	struct copy_list l = {0};
	int rc = -1;

	ret->open = 0;
	if (pass_flush(p, err) < 0 || journal_open_copies(p->j, keep_copy, &l, err) < 0)
		goto out;
	copies_fix(&l);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_copy_target);
	for (size_t i = 0; i < l.n;) {
		struct read_state rs;
		size_t end = i;

		while (end < l.n && strcmp(l.v[end].to, l.v[i].to) == 0)
			end++;
		if (read_state_get(p->rc, l.v[i].to, &rs, err) < 0)
			goto out;
		for (size_t k = i; k < end && !*p->stop; k++) {
			struct copy_row *c = &l.v[k];
			bool same = strcmp(c->to, c->stream) == 0;
			bool consumed, read, exists;
			char *owner = NULL;

			if (!listed(streams, c->stream))
				continue;
			if (copy_consumed(p->rc, c->to, &rs, same ? c->grp : NULL, c->copy,
			    &consumed, &read, &exists, err) < 0) {
				read_state_free(&rs);
				goto out;
			}
			if (!consumed) {
				ret->open++;
				continue;
			}
			/*
			 * The copy did its work: the original is done with.  A held
			 * one that a live consumer claimed meanwhile is that
			 * consumer's: left to it, and journalled as taken.
			 */
			if (c->source == SRC_HELD && ack_held(p->rc, c->stream, c->grp,
			    p->cfg->consumer, &c->id, 1, &owner, err) < 0) {
				read_state_free(&rs);
				goto out;
			}
			if (c->source == SRC_DLQ && c->dlq_stream != NULL &&
			    del_entries(p->rc, c->dlq_stream, &c->dlq_id, 1, err) < 0) {
				read_state_free(&rs);
				goto out;
			}
			int jrc = journal_settled(p, c, owner, err);
			if (jrc == 0 && owner != NULL)
				ret->taken++;
			free(owner);
			if (jrc < 0) {
				read_state_free(&rs);
				goto out;
			}
			ret->settled++;
		}
		read_state_free(&rs);
		i = end;
	}
	rc = 0;
out:
	copies_free(&l);
	return rc;
}

int
settle(struct pass *p, char *const *streams, struct settle_result *ret, struct xerr *err)
{
	memset(ret, 0, sizeof(*ret));
	/*
	 * A copy of a copy settles its parent, whose settling acknowledges the
	 * copy the grandparent was waiting for: go round until nothing moves.
	 */
	for (int round = 0; round < 16; round++) {
		long long before = ret->settled;
		if (settle_once(p, streams, ret, err) < 0)
			return -1;
		if (ret->settled == before || *p->stop)
			break;
	}
	return close_batches(p, &ret->closed, err);
}

/* -------------------------------------------------------------- rollback */

int
rollback_batch(struct pass *p, int64_t batch, bool dry, struct rollback_report *ret,
    struct xerr *err)
{
	struct batch_info bi;
	struct copy_list l = {0};
	enum unsend *res = NULL;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (journal_batch_info(p->j, batch, &bi, err) < 0)
		return -1;
	if (!bi.exists)
		return xerr_set(err, XR_ENOTHING, "there is no replay batch %lld in the journal",
		    (long long)batch);
	if (bi.rolled_back)
		return xerr_set(err, XR_ENOTHING,
		    "replay batch %lld was already rolled back; nothing changed", (long long)batch);
	if (journal_batch_copies(p->j, batch, keep_copy, &l, err) < 0)
		goto out;
	copies_fix(&l);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_copy_target);
	res = xcalloc(l.n + 1, sizeof(*res));
	for (size_t i = 0; i < l.n;) {
		size_t end = i, m = 0;
		struct entry_id *ids;
		size_t *which;

		while (end < l.n && strcmp(l.v[end].to, l.v[i].to) == 0)
			end++;
		ids = xmalloc((end - i) * sizeof(*ids));
		which = xmalloc((end - i) * sizeof(*which));
		for (size_t k = i; k < end; k++) {
			if (l.v[k].settled) {
				ret->settled++;
				continue;
			}
			if (l.v[k].removed)
				continue;
			ids[m] = l.v[k].copy;
			which[m++] = k;
		}
		if (m > 0 && dry) {
			struct read_state rs;
			if (read_state_get(p->rc, l.v[i].to, &rs, err) < 0) {
				free(ids);
				free(which);
				goto out;
			}
			for (size_t k = 0; k < m; k++) {
				bool read = false;
				for (size_t g = 0; g < rs.ngroups; g++)
					read = read || entry_id_cmp(rs.last[g], ids[k]) >= 0;
				res[which[k]] = read ? UNSEND_READ : UNSEND_REMOVED;
			}
			read_state_free(&rs);
		} else if (m > 0) {
			struct jw w;
			enum unsend *u = xcalloc(m, sizeof(*u));

			buf_reset(&p->dbuf);
			jw_init(&w, &p->dbuf);
			jw_obj(&w);
			jw_kint(&w, "run", p->run);
			jw_kstr(&w, "kind", "rollback");
			jw_kint(&w, "batch", batch);
			intent_kname(&w, "to", l.v[i].to);
			jw_key(&w, "copies");
			jw_arr(&w);
			for (size_t k = 0; k < m; k++) {
				const struct copy_row *c = &l.v[which[k]];
				char cid[ENTRY_ID_STRLEN], oid[ENTRY_ID_STRLEN];
				entry_id_format(c->copy, cid, sizeof(cid));
				entry_id_format(c->id, oid, sizeof(oid));
				jw_arr(&w);
				jw_str(&w, cid);
				intent_name(&w, c->stream);
				intent_name(&w, c->grp);
				jw_str(&w, oid);
				jw_arr_end(&w);
			}
			jw_arr_end(&w);
			jw_obj_end(&w);
			if (intent_append(p->intents, p->dbuf.data, p->dbuf.len, err) < 0 ||
			    copies_unsend(p->rc, l.v[i].to, ids, m, u, err) < 0) {
				p->uncertain = true;
				free(u);
				free(ids);
				free(which);
				goto out;
			}
			failpoint("rollback-unsent");
			for (size_t k = 0; k < m; k++)
				res[which[k]] = u[k];
			free(u);
		}
		for (size_t k = 0; k < m; k++) {
			const struct copy_row *c = &l.v[which[k]];
			enum unsend o = res[which[k]];

			if (o == UNSEND_READ) {
				ret->read_ids = xrealloc(ret->read_ids, (ret->read + 1) * sizeof(*ret->read_ids));
				ret->read_streams = xrealloc(ret->read_streams,
				    (ret->read + 1) * sizeof(*ret->read_streams));
				ret->read_ids[ret->read] = c->copy;
				ret->read_streams[ret->read] = xstrdup(c->to);
				ret->read++;
				continue;
			}
			if (o == UNSEND_REMOVED)
				ret->removed++;
			else
				ret->gone++;
			if (dry)
				continue;
			struct jw w;
			buf_reset(&p->dbuf);
			jw_init(&w, &p->dbuf);
			jw_obj(&w);
			if (o == UNSEND_GONE)
				jw_kbool(&w, "gone", true);
			jw_obj_end(&w);
			struct event ev = copy_event(p, "copy_removed", batch, c, buf_str(&p->dbuf));
			if (pass_append(p, &ev, err) < 0) {
				free(ids);
				free(which);
				goto out;
			}
		}
		free(ids);
		free(which);
		i = end;
	}
	if (!dry) {
		struct event ev = EVENT_INIT;
		struct jw w;
		buf_reset(&p->dbuf);
		jw_init(&w, &p->dbuf);
		jw_obj(&w);
		jw_kint(&w, "removed", (int64_t)(ret->removed + ret->gone));
		jw_kint(&w, "already_read", (int64_t)ret->read);
		jw_kint(&w, "already_settled", (int64_t)ret->settled);
		jw_key(&w, "read_ids");
		jw_arr(&w);
		for (size_t k = 0; k < ret->read; k++) {
			char id[ENTRY_ID_STRLEN];
			entry_id_format(ret->read_ids[k], id, sizeof(id));
			jw_str(&w, id);
		}
		jw_arr_end(&w);
		pass_who(&w);
		jw_obj_end(&w);
		ev.kind = "rollback";
		ev.run = p->run;
		ev.batch = batch;
		ev.detail = buf_str(&p->dbuf);
		if (pass_append(p, &ev, err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(res);
	copies_free(&l);
	return rc;
}
