/*
 * copy.c: copies of held entries back into a stream (replay, redeliver),
 * made in replay batches, and the events that speak of a copy.
 *
 * Guarantees: copy_other_groups tells the callers (dispose.c, replay.c)
 * which groups besides the entry's own a target stream has, so that no
 * copy reaches them unasked (guarantee 9); copy_group_ensure creates a
 * retry stream's group and journals it (group_created).  Each request of
 * copies is written to the intent file before Redis sees it; copies keep the entries' order and carry explicit IDs; a
 * copy whose ID a producer took meanwhile is planned again, at most
 * MAX_RETRIES times; at most FLY requests wait for their answer.
 * Journals replay_start and replay_end around a batch and a replay_copies
 * event for each answer, through the writer thread; copy_event builds the
 * settled and copy_removed events of settle.c, rollback.c and
 * reconcile.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/move.h"
#include "moves.h"

#define FLY 2                   /* copy requests sent and not answered yet, at most */
#define MAX_RETRIES 20          /* a copy planned again this often is an error */

/* ------------------------------------------------------ who reads copies */

void
names_json(struct jw *w, char *const *v)
{
	jw_arr(w);
	for (; v != NULL && *v != NULL; v++)
		jw_str(w, *v);
	jw_arr_end(w);
}

char *
names_text(char *const *v)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
		if (i > 0)
			buf_adds(&b, ", ");
		buf_adds(&b, v[i]);
	}
	return b.data != NULL ? b.data : xstrdup("");
}

/* Adds s to the NULL-terminated list *v unless it is there. */
void
names_add(char ***v, const char *s)
{
	size_t n = 0;

	for (; *v != NULL && (*v)[n] != NULL; n++)
		if (strcmp((*v)[n], s) == 0)
			return;
	*v = xrealloc(*v, (n + 2) * sizeof(**v));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

int
copy_other_groups(struct pass *p, const char *to, const char *group, char ***ret,
    struct xerr *err)
{
	struct read_state rs;
	char **v = xcalloc(1, sizeof(*v));

	if (read_state_get(p->rc, to, &rs, err) < 0) {
		free(v);
		return -1;
	}
	for (size_t i = 0; i < rs.ngroups; i++)
		if (strcmp(rs.names[i], group) != 0)
			names_add(&v, rs.names[i]);
	read_state_free(&rs);
	*ret = v;
	return 0;
}

int
copy_group_ensure(struct pass *p, const char *to, const char *group, const char *tag,
    const char *why, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct logline l;
	struct jw w;
	bool created;

	if (group_create(p->rc, to, group, &created, err) < 0)
		return -1;
	if (!created)
		return 0;
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "reason", why);
	jw_kstr(&w, "start", "$");
	jw_obj_end(&w);
	ev.kind = "group_created";
	ev.run = p->run;
	ev.stream = to;
	ev.grp = group;
	ev.detail = buf_str(&p->dbuf);
	if (pass_append(p, &ev, err) < 0)
		return -1;
	ll_start(&l, LOG_INFO, tag, NULL);
	ll_str(&l, "created_group", group);
	ll_str(&l, "stream", to);
	ll_str(&l, "reason", why);
	ll_emit(p->lg, &l);
	return 0;
}

/* -------------------------------------------------------------- batches */

int
batch_begin(struct pass *p, bool automatic, const char *to, const char *selection,
    char *const *reached, size_t planned, int64_t *ret_batch, struct xerr *err)
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
	if (reached != NULL) {
		/* --all-groups: asked for, and which other groups the copies reach. */
		jw_kbool(&w, "all_groups", true);
		jw_key(&w, "other_groups");
		names_json(&w, reached);
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
	return h->copy_to != NULL ? h->copy_to : cp->o->to != NULL ? cp->o->to : h->e.stream;
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
		for (int64_t now = mono_ms(); now < due && !*p->stop; now = mono_ms())
			sleep_ms(due - now);
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
