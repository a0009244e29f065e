/* trace.c: one message's story and one claim's fate (see trace.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/buf.h"
#include "../store/archive.h"
#include "../store/moves.h"
#include "../store/trace.h"
#include "../stream/redis.h"
#include "archive.h"
#include "trace.h"

#define CHAIN_DEPTH 64          /* copies of copies followed at most */
#define TRACE_NODES 4096        /* entries of one message at most */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* ---------------------------------------------------------------- fate */

/* One event kept, for the chain. */
struct claim_row {
	bool found;
	int64_t seq, deliveries;
	char kind[32];
	char *stream, *grp;
	struct entry_id id;
};

static void
claim_row_clear(struct claim_row *c)
{
	free(c->stream);
	free(c->grp);
	memset(c, 0, sizeof(*c));
}

static int
keep_row(void *ctx, const struct trace_row *r)
{
	struct claim_row *c = ctx;

	claim_row_clear(c);
	c->found = true;
	c->seq = r->seq;
	c->deliveries = r->deliveries > 0 ? r->deliveries : 0;
	snprintf(c->kind, sizeof(c->kind), "%s", r->kind != NULL ? r->kind : "");
	c->stream = xstrdup(r->stream != NULL ? r->stream : "");
	c->grp = xstrdup(r->grp != NULL ? r->grp : "");
	c->id = r->id;
	return 0;
}

/* The last copy a call found. */
struct copy_kept {
	bool found;
	int64_t seq, deliveries;
	char *to;
	struct entry_id copy;
};

static int
keep_copy(void *ctx, const struct trace_copy *c)
{
	struct copy_kept *k = ctx;

	free(k->to);
	k->found = true;
	k->seq = c->seq;
	k->deliveries = c->deliveries;
	k->to = xstrdup(c->to != NULL ? c->to : "");
	k->copy = c->copy;
	return 0;
}

static const char *
fate_words(const char *kind)
{
	if (kind == NULL)
		return "held";
	if (strcmp(kind, "dead_lettered") == 0)
		return "dead-lettered";
	if (strcmp(kind, "settled") == 0)
		return "replayed and read";
	if (strcmp(kind, "copy") == 0)
		return "replayed, copy not read yet";
	if (strcmp(kind, "lost") == 0)
		return "lost";
	if (strcmp(kind, "copy_removed") == 0)
		return "held (replay rolled back)";
	if (strcmp(kind, "taken") == 0)
		return "taken by a live consumer";
	if (strcmp(kind, "handed_off") == 0)
		return "handed off to a live consumer";
	return "claimed again";
}

int
chain_fate(struct trace_reader *r, int64_t seq, struct chain_fate *ret, struct xerr *err)
{
	struct claim_row n = {0}, next = {0};
	struct copy_kept y = {0};
	int64_t copy_deliveries = -1;
	const char *kind = NULL;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (trace_event_at(r, seq, keep_row, &n, err) < 0)
		goto out;
	if (!n.found) {
		xerr_set(err, XR_ENOTHING, "there is no event %lld in the journal", (long long)seq);
		goto out;
	}
	/* From each claim, the latest copy of it since; from that copy, its latest claim. */
	for (int depth = 0; strcmp(n.kind, "lost") != 0 && depth < CHAIN_DEPTH; depth++) {
		y.found = false;
		if (trace_entry_copies(r, n.stream, n.grp, n.id, n.seq, keep_copy, &y, err) < 0)
			goto out;
		if (!y.found)
			break;
		next.found = false;
		if (trace_latest_claim(r, y.to, strcmp(y.to, n.stream) == 0 ? n.grp : NULL, y.copy,
		    y.seq, keep_row, &next, err) < 0)
			goto out;
		if (!next.found)
			break;
		claim_row_clear(&n);
		n = next;
		memset(&next, 0, sizeof(next));
		copy_deliveries = y.deliveries;
	}
	/* The chain's last claim is the one asked about: is it itself a copy? */
	if (copy_deliveries < 0) {
		y.found = false;
		if (trace_copy_made(r, n.stream, n.id, keep_copy, &y, err) < 0)
			goto out;
		copy_deliveries = y.found ? y.deliveries : 0;
	}
	if (strcmp(n.kind, "lost") == 0)
		kind = "lost";
	else if (trace_last_outcome(r, n.stream, n.grp, n.id, n.seq, &kind, err) < 0)
		goto out;
	ret->last_seq = n.seq;
	ret->stream = n.stream;
	ret->grp = n.grp;
	ret->id = n.id;
	n.stream = n.grp = NULL;
	ret->fate = fate_words(kind);
	ret->deliveries = n.deliveries + copy_deliveries;
	rc = 0;
out:
	claim_row_clear(&n);
	claim_row_clear(&next);
	free(y.to);
	return rc;
}

void
chain_fate_free(struct chain_fate *f)
{
	free(f->stream);
	free(f->grp);
	memset(f, 0, sizeof(*f));
}

/* --------------------------------------------------------------- story */

struct builder {
	struct trace_reader *r;
	struct trace *t;
	size_t node;                /* the node being read */
	int64_t *batches;           /* the batches its copies are in */
	size_t nbatches;
};

static size_t
node_find(const struct trace *t, const char *stream, struct entry_id id)
{
	for (size_t i = 0; i < t->nnodes; i++)
		if (entry_id_cmp(t->nodes[i].id, id) == 0 && strcmp(t->nodes[i].stream, stream) == 0)
			return i;
	return TRACE_NONE;
}

/* The node of stream/id, added when new (TRACE_NONE when there are too many). */
static size_t
node_add(struct trace *t, const char *stream, struct entry_id id, bool dead_letter,
    size_t parent, int64_t batch)
{
	size_t i = node_find(t, stream, id);
	struct trace_node *n;

	if (i != TRACE_NONE || t->nnodes >= TRACE_NODES)
		return i;
	t->nodes = xrealloc(t->nodes, (t->nnodes + 1) * sizeof(*t->nodes));
	n = &t->nodes[t->nnodes];
	memset(n, 0, sizeof(*n));
	n->stream = xstrdup(stream);
	n->id = id;
	n->dead_letter = dead_letter;
	n->parent = parent;
	n->batch = batch;
	return t->nnodes++;
}

static struct trace_step *
step_add(struct trace *t, const char *kind, int64_t seq, size_t node)
{
	struct trace_step *s;

	t->steps = xrealloc(t->steps, (t->nsteps + 1) * sizeof(*t->steps));
	s = &t->steps[t->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = xstrdup(kind);
	s->seq = seq;
	s->pos = -1;
	s->node = node;
	s->other = TRACE_NONE;
	s->idle_ms = s->deliveries = -1;
	return s;
}

static int
on_event(void *ctx, const struct trace_row *r)
{
	struct builder *b = ctx;
	struct trace *t = b->t;
	struct trace_step *s = step_add(t, r->kind != NULL ? r->kind : "?", r->seq, b->node);

	s->ts = r->ts;
	s->run = r->run;
	s->batch = r->batch;
	s->incident = r->incident;
	s->grp = dup_or_null(r->grp);
	s->consumer = dup_or_null(r->consumer);
	s->idle_ms = r->idle_ms;
	s->deliveries = r->deliveries;
	s->reason = dup_or_null(r->reason);
	if (t->payload == NULL && r->payload != NULL)
		t->payload = xstrdup(r->payload);
	if (r->ref_stream != NULL && strcmp(s->kind, "dead_lettered") == 0)
		s->other = node_add(t, r->ref_stream, r->ref, true, b->node, 0);
	return 0;
}

static int
on_copy(void *ctx, const struct trace_copy *c)
{
	struct builder *b = ctx;
	struct trace *t = b->t;
	size_t node = b->node;
	size_t to = node_add(t, c->to != NULL ? c->to : "", c->copy, false, node, c->batch);
	struct trace_step *s = step_add(t, "copy", c->seq, node);

	s->ts = c->ts;
	s->run = c->run;
	s->batch = c->batch;
	s->grp = dup_or_null(c->grp);
	s->consumer = dup_or_null(c->consumer);
	s->deliveries = c->deliveries;
	s->source = dup_or_null(c->source);
	s->other = to;
	/* Order the copies of one event as they were made. */
	s->pos = c->pos;
	for (size_t i = 0; i < b->nbatches; i++)
		if (b->batches[i] == c->batch)
			return 0;
	b->batches = xrealloc(b->batches, (b->nbatches + 1) * sizeof(*b->batches));
	b->batches[b->nbatches++] = c->batch;
	return 0;
}

/* A rollback of a batch one of the message's copies is in. */
static int
on_rollback(void *ctx, const struct trace_row *r)
{
	struct builder *b = ctx;
	struct trace_step *s = step_add(b->t, "rollback", r->seq, b->node);

	s->ts = r->ts;
	s->run = r->run;
	s->batch = r->batch;
	s->user = dup_or_null(r->user);
	s->host = dup_or_null(r->host);
	return 0;
}

static int
cmp_step(const void *a, const void *b)
{
	const struct trace_step *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The message's copy in batch, which a rollback of the batch is about (0: none found). */
static size_t
copy_in_batch(const struct trace *t, int64_t batch)
{
	for (size_t i = 0; i < t->nnodes; i++)
		if (t->nodes[i].parent != TRACE_NONE && !t->nodes[i].dead_letter &&
		    t->nodes[i].batch == batch)
			return i;
	return 0;
}

/* Every event about the message whose original is stream/id. */
static int
story(struct trace_reader *r, const char *stream, struct entry_id id, struct trace *t,
    struct xerr *err)
{
	static const char *const rollback_kinds[] = {"rollback", NULL};
	struct builder b = {.r = r, .t = t};
	int rc = -1;

	memset(t, 0, sizeof(*t));
	node_add(t, stream, id, false, TRACE_NONE, 0);
	/* Each entry's events and copies; a copy found is an entry read in turn. */
	for (b.node = 0; b.node < t->nnodes; b.node++) {
		/* The callbacks add nodes: t->nodes may move. */
		struct entry_id nid = t->nodes[b.node].id;
		char *s;

		if (t->nodes[b.node].dead_letter)
			continue;
		s = xstrdup(t->nodes[b.node].stream);
		if (trace_entry_events(r, s, nid, on_event, &b, err) < 0 ||
		    trace_entry_copies(r, s, NULL, nid, 0, on_copy, &b, err) < 0) {
			free(s);
			goto out;
		}
		free(s);
	}
	for (size_t i = 0; i < b.nbatches; i++) {
		b.node = copy_in_batch(t, b.batches[i]);
		if (trace_batch_events(r, b.batches[i], rollback_kinds, on_rollback, &b, err) < 0)
			goto out;
	}
	/* settled and copy_removed name the copy. */
	for (size_t i = 0; i < t->nsteps; i++) {
		struct trace_step *s = &t->steps[i];
		if (strcmp(s->kind, "settled") != 0 && strcmp(s->kind, "copy_removed") != 0)
			continue;
		for (size_t k = 0; k < t->nsteps; k++)
			if (strcmp(t->steps[k].kind, "copy") == 0 && t->steps[k].node == s->node &&
			    t->steps[k].batch == s->batch)
				s->other = t->steps[k].other;
	}
	if (t->nsteps > 1)
		qsort(t->steps, t->nsteps, sizeof(*t->steps), cmp_step);
	rc = 0;
out:
	free(b.batches);
	return rc;
}

/* The fate of each group the original was claimed or lost in: its latest claim there. */
static int
fates(struct trace_reader *r, struct trace *t, struct xerr *err)
{
	for (size_t i = t->nsteps; i-- > 0;) {
		const struct trace_step *s = &t->steps[i];
		struct chain_fate cf;
		struct trace_fate *f;
		bool seen = false;

		if (s->node != 0 || s->grp == NULL || (strcmp(s->kind, "claim") != 0 &&
		    strcmp(s->kind, "claim_reconciled") != 0 && strcmp(s->kind, "lost") != 0))
			continue;
		for (size_t k = 0; k < t->nfates && !seen; k++)
			seen = strcmp(t->fates[k].grp, s->grp) == 0;
		if (seen)
			continue;
		if (chain_fate(r, s->seq, &cf, err) < 0)
			return -1;
		t->fates = xrealloc(t->fates, (t->nfates + 1) * sizeof(*t->fates));
		f = &t->fates[t->nfates++];
		f->grp = xstrdup(s->grp);
		f->claim_seq = s->seq;
		f->last_seq = cf.last_seq;
		f->last_node = node_find(t, cf.stream, cf.id);
		f->fate = cf.fate;
		f->deliveries = cf.deliveries;
		chain_fate_free(&cf);
	}
	/* First claimed first. */
	for (size_t a = 0; a + 1 < t->nfates; a++)
		for (size_t b = a + 1; b < t->nfates; b++)
			if (t->fates[b].claim_seq < t->fates[a].claim_seq) {
				struct trace_fate x = t->fates[a];
				t->fates[a] = t->fates[b];
				t->fates[b] = x;
			}
	return 0;
}

/* The original of stream/id: through a dead letter, then back through copies. */
static int
original(struct journal *j, struct trace_reader *r, const char *stream, struct entry_id id, struct copy_origin *ret,
    struct xerr *err)
{
	struct claim_row dl = {0};
	struct copy_origins *o = NULL;
	int rc = -1;

	if (trace_dead_letter(r, stream, id, keep_row, &dl, err) < 0)
		return -1;
	if (dl.found) {
		stream = dl.stream;
		id = dl.id;
	}
	if (journal_origins_open(j, &o, err) == 0 &&
	    journal_copy_origin(o, stream, dl.found ? dl.grp : "", id, ret, err) == 0)
		rc = 0;
	journal_origins_close(o);
	claim_row_clear(&dl);
	return rc;
}

static int
trace_build(struct journal *j, struct trace_reader *r, const char *stream, struct entry_id id, struct trace *ret,
    struct xerr *err)
{
	struct copy_origin org;
	char ids[ENTRY_ID_STRLEN];
	int rc;

	if (original(j, r, stream, id, &org, err) < 0)
		return -1;
	rc = story(r, org.stream, org.id, ret, err);
	copy_origin_free(&org);
	if (rc < 0 || fates(r, ret, err) < 0) {
		trace_free(ret);
		return -1;
	}
	if (ret->nsteps == 0) {
		trace_free(ret);
		entry_id_format(id, ids, sizeof(ids));
		return xerr_set(err, XR_ENOTHING, "the journal knows nothing of %s/%s", stream, ids);
	}
	return 0;
}

/* --------------------------------------------------------------- Redis */

static int
ask_node(struct rconn *rc, struct trace_node *n, struct xerr *err)
{
	struct group_info *gs = NULL;
	size_t ng = 0;
	char type[16];

	if (redis_key_type(rc, n->stream, type, err) < 0)
		return -1;
	if (strcmp(type, "stream") != 0)
		return 0;
	if (redis_entry_exists(rc, n->stream, n->id, &n->in_stream, err) < 0)
		return -1;
	if (n->dead_letter)
		return 0;
	if (redis_groups(rc, n->stream, &gs, &ng, err) < 0)
		return -1;
	for (size_t i = 0; i < ng; i++) {
		char *consumer;
		long long idle = 0, deliveries = 0;

		if (redis_entry_pending(rc, n->stream, gs[i].name, n->id, &consumer, &idle,
		    &deliveries, err) < 0) {
			group_info_free(gs, ng);
			return -1;
		}
		if (consumer == NULL)
			continue;
		n->pending = xrealloc(n->pending, (n->npending + 1) * sizeof(*n->pending));
		n->pending[n->npending++] = (struct trace_pending){xstrdup(gs[i].name), consumer,
		    idle, deliveries};
	}
	group_info_free(gs, ng);
	return 0;
}

/* Asks Redis about every entry of every trace; a failure is kept in each trace. */
static void
ask_redis(const struct config *cfg, struct trace *t, size_t n)
{
	struct redis_target rt;
	struct rconn *rc = NULL;
	struct xerr err = {0};
	int r = -1;

	if (config_redis_target(cfg, &rt, &err) < 0)
		goto out;
	if (config_redis_open(cfg, &rt, &rc, &err) == 0) {
		r = 0;
		for (size_t i = 0; i < n && r == 0; i++)
			for (size_t k = 0; k < t[i].nnodes && r == 0; k++)
				r = ask_node(rc, &t[i].nodes[k], &err);
	}
	rconn_close(rc);
	redis_target_free(&rt);
out:
	for (size_t i = 0; i < n; i++) {
		t[i].redis_asked = r == 0;
		if (r < 0) {
			t[i].redis_error = xstrdup(err.msg);
			for (size_t k = 0; k < t[i].nnodes; k++) {
				struct trace_node *nd = &t[i].nodes[k];
				nd->in_stream = false;
				for (size_t p = 0; p < nd->npending; p++) {
					free(nd->pending[p].group);
					free(nd->pending[p].consumer);
				}
				free(nd->pending);
				nd->pending = NULL;
				nd->npending = 0;
			}
		}
	}
}

/* ------------------------------------------------------------- entries */

/* The lines of the archives not read, given to t (copied). */
static void
unread_give(struct trace *t, char *const *v, size_t n)
{
	t->unread = xcalloc(n + 1, sizeof(*t->unread));
	for (size_t i = 0; i < n; i++)
		t->unread[i] = xstrdup(v[i]);
	t->nunread = n;
}

/* The journal's story of stream/id into ret, Redis not asked yet. */
static int
entry_story(const struct config *cfg, const char *stream, struct entry_id id,
    struct trace *ret, struct xerr *err)
{
	struct journal *j;
	struct trace_reader *r = NULL;
	struct archive_read ar;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (journal_open(cfg->db_path, JOURNAL_READ, &j, err) < 0)
		return -1;
	rc = archive_span(cfg->db_path, j, NULL, "trace", &ar, err);
	if (rc == 0)
		rc = trace_reader_open(j, &r, err);
	if (rc == 0)
		rc = trace_build(j, r, stream, id, ret, err);
	if (rc == 0)
		unread_give(ret, ar.unread, ar.nunread);
	else
		archive_unread_err(err, &ar);
	archive_read_free(&ar);
	trace_reader_close(r);
	journal_close(j);
	return rc < 0 ? -1 : 0;
}

int
trace_entry(const struct config *cfg, const char *stream, struct entry_id id,
    struct trace *ret, struct xerr *err)
{
	if (entry_story(cfg, stream, id, ret, err) < 0)
		return -1;
	ask_redis(cfg, ret, 1);
	return 0;
}

int
trace_entry_journal(const struct config *cfg, const char *stream, struct entry_id id,
    const char *not_asked, struct trace *ret, struct xerr *err)
{
	if (entry_story(cfg, stream, id, ret, err) < 0)
		return -1;
	ret->redis_asked = false;
	ret->redis_error = xstrdup(not_asked);
	return 0;
}

/* The originals of the claims a field search found, in the order found. */
struct found {
	struct journal *j;
	struct trace_reader *r;
	struct copy_origins *o;
	struct copy_origin *v;
	size_t n, cap;
	struct xerr *err;
};

static int
on_found(void *ctx, const struct trace_row *r)
{
	struct found *f = ctx;

	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	if (journal_copy_origin(f->o, r->stream, r->grp, r->id, &f->v[f->n], f->err) < 0)
		return -1;
	f->n++;
	return 0;
}

/* By message, then first found first (qsort is not stable: the index decides). */
static int
cmp_origin(const void *a, const void *b)
{
	const struct copy_origin *x = *(struct copy_origin *const *)a;
	const struct copy_origin *y = *(struct copy_origin *const *)b;
	int c = strcmp(x->stream, y->stream);

	if (c == 0)
		c = entry_id_cmp(x->id, y->id);
	return c != 0 ? c : (x > y) - (x < y);
}

static int
cmp_ptr(const void *a, const void *b)
{
	const struct copy_origin *x = *(struct copy_origin *const *)a;
	const struct copy_origin *y = *(struct copy_origin *const *)b;

	return (x > y) - (x < y);
}

/* Keeps the first of each message, in the order found; returns how many. */
static size_t
found_unique(struct found *f)
{
	struct copy_origin **p = xcalloc(f->n + 1, sizeof(*p));
	struct copy_origin *v;
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++)
		p[i] = &f->v[i];
	qsort(p, f->n, sizeof(*p), cmp_origin);
	for (size_t i = 0; i < f->n; i++) {
		if (k > 0 && strcmp(p[k - 1]->stream, p[i]->stream) == 0 &&
		    entry_id_cmp(p[k - 1]->id, p[i]->id) == 0)
			copy_origin_free(p[i]);
		else
			p[k++] = p[i];
	}
	qsort(p, k, sizeof(*p), cmp_ptr);
	v = xcalloc(k + 1, sizeof(*v));
	for (size_t i = 0; i < k; i++)
		v[i] = *p[i];
	free(p);
	free(f->v);
	f->v = v;
	f->n = f->cap = k;
	return k;
}

int
trace_field(const struct config *cfg, const char *name, const char *value, size_t max,
    struct trace **ret, size_t *ret_n, size_t *ret_matched, struct xerr *err)
{
	struct found f = {.err = err};
	struct trace *t = NULL;
	struct archive_read ar = {0};
	size_t n = 0;
	int rc = -1;

	*ret = NULL;
	*ret_n = *ret_matched = 0;
	if (journal_open(cfg->db_path, JOURNAL_READ, &f.j, err) < 0)
		return -1;
	if (archive_span(cfg->db_path, f.j, NULL, "trace", &ar, err) < 0 ||
	    trace_reader_open(f.j, &f.r, err) < 0 || journal_origins_open(f.j, &f.o, err) < 0 ||
	    trace_find_field(f.r, name, value, on_found, &f, err) < 0)
		goto out;
	if (found_unique(&f) == 0) {
		xerr_set(err, XR_ENOTHING, "no claimed entry has a field %s equal to %s", name, value);
		archive_unread_err(err, &ar);
		goto out;
	}
	t = xcalloc(f.n < max ? f.n : max, sizeof(*t));
	for (; n < f.n && n < max; n++) {
		if (trace_build(f.j, f.r, f.v[n].stream, f.v[n].id, &t[n], err) < 0)
			goto out;
		unread_give(&t[n], ar.unread, ar.nunread);
	}
	rc = 0;
out:
	archive_read_free(&ar);
	journal_origins_close(f.o);
	trace_reader_close(f.r);
	journal_close(f.j);
	for (size_t i = 0; i < f.n; i++)
		copy_origin_free(&f.v[i]);
	free(f.v);
	if (rc < 0) {
		trace_free_all(t, n);
		return -1;
	}
	ask_redis(cfg, t, n);
	*ret = t;
	*ret_n = n;
	*ret_matched = f.n;
	return 0;
}

void
trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->nnodes; i++) {
		for (size_t k = 0; k < t->nodes[i].npending; k++) {
			free(t->nodes[i].pending[k].group);
			free(t->nodes[i].pending[k].consumer);
		}
		free(t->nodes[i].pending);
		free(t->nodes[i].stream);
	}
	for (size_t i = 0; i < t->nsteps; i++) {
		struct trace_step *s = &t->steps[i];
		free(s->kind);
		free(s->grp);
		free(s->consumer);
		free(s->source);
		free(s->reason);
		free(s->user);
		free(s->host);
	}
	for (size_t i = 0; i < t->nfates; i++)
		free(t->fates[i].grp);
	strv_free(t->unread);
	free(t->nodes);
	free(t->steps);
	free(t->fates);
	free(t->payload);
	free(t->redis_error);
	memset(t, 0, sizeof(*t));
}

void
trace_free_all(struct trace *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		trace_free(&t[i]);
	free(t);
}
