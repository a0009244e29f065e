/*
 * claim.c: the paged, pipelined claim of one group's pending entries.
 * See claim.h for the commands and why they are these.
 *
 * Requests go out in this order on the one connection, and their answers
 * come back in the same order: listings (XPENDING, a few pages each) and
 * claim transactions (MULTI ... EXEC, one page each).  `expect` remembers
 * which is which.  Pages live in a ring: [sent, ready) are in flight,
 * [ready, tail) are planned and waiting.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "claim.h"

#define LIST_PAGES 4            /* pages listed per listing */
#define DEPTH 2                 /* claim transactions in flight */
#define RING 32                 /* > DEPTH + 1 + LIST_PAGES */

struct plan {
	struct pending_entry *e;    /* the entries to claim, by ID */
	const redisReply **fields;  /* per entry, from the XCLAIM answer */
	size_t *owner_off;          /* per entry, into owners, while the plan is built */
	size_t n;
	size_t span;                /* listed entries from the first to the last */
	struct buf owners;          /* owner names; e[i].owner points here */
	int xclaims;                /* XCLAIM commands sent for it */
};

/*
 * The claimer's answers are many small objects (four per listed entry, a
 * few more per claimed one).  They are built in an arena instead of one
 * malloc each, and dropped all at once.  Two arenas take turns: one holds
 * the answer of the page last returned while the next is read into the
 * other.
 */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;   /* all chunks, kept for reuse */
	struct arena_chunk *cur;    /* the one being filled */
};

struct claimer {
	struct rconn *rc;
	redisReplyObjectFunctions *heap_fn;    /* hiredis's own, restored at the end */
	struct arena arenas[2];
	int cur_arena;                          /* the one holding `cur` */
	const char *stream, *group;
	struct claim_opts o;
	char min_idle[24];
	size_t list_count;

	struct plan ring[RING];
	size_t sent, ready, tail;   /* monotonic counters; index with % RING */

	char expect[2 * RING];      /* 'L' listing, 'C' claim, in wire order */
	size_t ex_head, ex_n;

	bool listing;               /* a listing is in flight */
	bool listed_all;            /* the last listing reached the end */
	bool closed;                /* list no further */
	struct entry_id next;       /* where the next listing starts */

	struct plan done;           /* the plan of the page last returned */
	redisReply *cur;            /* the answer of the page last returned */
	struct claimed_entry *page;
	size_t page_cap;
	struct pending_entry *pre;  /* the pre-check, parsed */
	size_t pre_cap;
	struct claim_stats stats;
};

static void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->cur;

	n = (n + 15) & ~(size_t)15;
	if (c == NULL || c->size - c->used < n) {
		struct arena_chunk *next = c != NULL ? c->next : a->head;

		if (next != NULL && next->size >= n && c != NULL) {
			c = next;
		} else {
			size_t size = n > 65536 ? n : 65536;
			struct arena_chunk *nc = xmalloc(sizeof(*nc) + size);
			nc->size = size;
			if (c == NULL) {
				nc->next = a->head;
				a->head = nc;
			} else {
				nc->next = c->next;
				c->next = nc;
			}
			c = nc;
		}
		c->used = 0;
		a->cur = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

/* Forgets everything allocated, keeping the memory for the next answer. */
static void
arena_reset(struct arena *a)
{
	a->cur = a->head;
	if (a->cur != NULL)
		a->cur->used = 0;
}

static void
arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;

	while (c != NULL) {
		struct arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = a->cur = NULL;
}

/* hiredis reply functions that build in the arena (the reader's privdata). */
static redisReply *
arena_reply(const redisReadTask *task, int type)
{
	const redisReadTask *root = task;
	redisReply *r;

	while (root->parent != NULL)
		root = root->parent;
	r = arena_alloc(root->privdata, sizeof(*r));
	memset(r, 0, sizeof(*r));
	r->type = type;
	if (task->parent != NULL) {
		redisReply *parent = task->parent->obj;
		parent->element[task->idx] = r;
	}
	return r;
}

static struct arena *
task_arena(const redisReadTask *task)
{
	while (task->parent != NULL)
		task = task->parent;
	return task->privdata;
}

static void *
arena_string(const redisReadTask *task, char *str, size_t len)
{
	redisReply *r = arena_reply(task, task->type);
	char *buf = arena_alloc(task_arena(task), len + 1);

	memcpy(buf, str, len);
	buf[len] = '\0';
	r->str = buf;
	r->len = len;
	return r;
}

static void *
arena_array(const redisReadTask *task, int elements)
{
	redisReply *r = arena_reply(task, REDIS_REPLY_ARRAY);

	r->elements = (size_t)elements;
	if (elements > 0) {
		r->element = arena_alloc(task_arena(task), (size_t)elements * sizeof(*r->element));
		memset(r->element, 0, (size_t)elements * sizeof(*r->element));
	}
	return r;
}

static void *
arena_integer(const redisReadTask *task, long long value)
{
	redisReply *r = arena_reply(task, REDIS_REPLY_INTEGER);

	r->integer = value;
	return r;
}

static void *
arena_nil(const redisReadTask *task)
{
	return arena_reply(task, REDIS_REPLY_NIL);
}

static void
arena_noop_free(void *p)
{
	(void)p;
}

static redisReplyObjectFunctions arena_fn = {
	arena_string, arena_array, arena_integer, arena_nil, arena_noop_free,
};

/* Reads the next answer into the arena that does not hold `cur`. */
static int
get_reply(struct claimer *cl, redisReply **ret)
{
	cl->rc->c->reader->privdata = &cl->arenas[1 - cl->cur_arena];
	return redisGetReply(cl->rc->c, (void **)ret);
}

bool
consumer_excluded(const char *name, char *const *exclude)
{
	if (exclude == NULL)
		return false;
	for (char *const *g = exclude; *g != NULL; g++)
		if (fnmatch(*g, name, 0) == 0)
			return true;
	return false;
}

enum claim_verdict
claim_verdict(const struct claim_opts *o, const struct pending_entry *e)
{
	if (strcmp(e->owner, o->consumer) == 0)
		return CLAIM_HELD;
	if (consumer_excluded(e->owner, o->exclude))
		return CLAIM_EXCLUDED;
	if (e->idle_ms < o->min_idle_ms)
		return CLAIM_YOUNG;
	if (o->only_silent && e->idle_ms < o->live_min_idle_ms) {
		for (char *const *s = o->silent; s != NULL && *s != NULL; s++)
			if (strcmp(*s, e->owner) == 0)
				return CLAIM_YES;
		return CLAIM_LIVE;
	}
	return CLAIM_YES;
}

static void
plan_free(struct plan *p)
{
	free(p->e);
	free(p->fields);
	free(p->owner_off);
	buf_free(&p->owners);
	memset(p, 0, sizeof(*p));
}

/* Reads one XPENDING extended-form element.  Returns -1 if malformed. */
static int
parse_pending(const redisReply *e, struct pending_entry *ret)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[1]->type != REDIS_REPLY_STRING ||
	    e->element[2]->type != REDIS_REPLY_INTEGER ||
	    e->element[3]->type != REDIS_REPLY_INTEGER)
		return -1;
	if (entry_id_parse(e->element[0]->str, e->element[0]->len, &ret->id) < 0)
		return -1;
	ret->owner = e->element[1]->str;
	ret->idle_ms = e->element[2]->integer;
	ret->deliveries = e->element[3]->integer;
	return 0;
}

static int
io_error(struct claimer *cl, struct xerr *err)
{
	return rconn_io_error(cl->rc, err);
}

/* Pushes what is buffered out to Redis. */
static int
flush(struct claimer *cl, struct xerr *err)
{
	int done = 0;

	do {
		if (redisBufferWrite(cl->rc->c, &done) != REDIS_OK)
			return io_error(cl, err);
	} while (!done);
	return 0;
}

static void
expect_push(struct claimer *cl, char kind)
{
	cl->expect[(cl->ex_head + cl->ex_n) % sizeof(cl->expect)] = kind;
	cl->ex_n++;
}

/* Asks for the next listing if the planned pages are running out. */
static void
maybe_list(struct claimer *cl)
{
	char start[ENTRY_ID_STRLEN], count[24];

	if (cl->listing || cl->listed_all || cl->closed || cl->tail - cl->ready > 1)
		return;
	if (cl->stats.listings == 0)
		snprintf(start, sizeof(start), "-");
	else
		entry_id_format(cl->next, start, sizeof(start));
	snprintf(count, sizeof(count), "%zu", cl->list_count);
	const char *argv[] = {"XPENDING", cl->stream, cl->group, start, "+", count};
	redisAppendCommandArgv(cl->rc->c, 6, argv, NULL);
	expect_push(cl, 'L');
	cl->listing = true;
}

/* Makes the page complete: owner offsets become pointers into its names. */
static void
plan_seal(struct claimer *cl, struct plan *p)
{
	for (size_t k = 0; k < p->n; k++)
		p->e[k].owner = p->owners.data + p->owner_off[k];
	free(p->owner_off);
	p->owner_off = NULL;
	p->fields = xcalloc(p->n, sizeof(*p->fields));
	cl->tail++;
}

/* Cuts a listing into pages of at most `batch` claimable entries. */
static int
take_listing(struct claimer *cl, const redisReply *l, struct xerr *err)
{
	struct plan *p = NULL;
	size_t first = 0;

	if (l->type != REDIS_REPLY_ARRAY)
		return xerr_set(err, XR_EFAIL, "redis: XPENDING %s %s: %s", cl->stream, cl->group,
		    l->type == REDIS_REPLY_ERROR ? l->str : "unexpected reply");
	cl->stats.listings++;
	cl->stats.listed += l->elements;
	for (size_t i = 0; i < l->elements; i++) {
		struct pending_entry pe;

		if (parse_pending(l->element[i], &pe) < 0)
			return xerr_set(err, XR_EFAIL, "redis: XPENDING %s %s: malformed entry",
			    cl->stream, cl->group);
		if (i + 1 == l->elements)
			cl->next = entry_id_next(pe.id);
		switch (claim_verdict(&cl->o, &pe)) {
		case CLAIM_HELD:
			cl->stats.held++;
			continue;
		case CLAIM_EXCLUDED:
			cl->stats.excluded++;
			if (cl->o.seen != NULL)
				cl->o.seen(cl->o.seen_ctx, &pe);
			continue;
		case CLAIM_YOUNG:
			cl->stats.young++;
			if (cl->o.seen != NULL)
				cl->o.seen(cl->o.seen_ctx, &pe);
			continue;
		case CLAIM_LIVE:
			cl->stats.live++;
			if (cl->o.seen != NULL)
				cl->o.seen(cl->o.seen_ctx, &pe);
			continue;
		case CLAIM_YES:
			break;
		}
		if (p == NULL) {
			p = &cl->ring[cl->tail % RING];
			memset(p, 0, sizeof(*p));
			p->e = xmalloc((size_t)cl->o.batch * sizeof(*p->e));
			p->owner_off = xmalloc((size_t)cl->o.batch * sizeof(*p->owner_off));
			first = i;
		}
		/* Owner names are copied: the listing is freed right away. */
		if (p->n > 0 && strcmp(p->owners.data + p->owner_off[p->n - 1], pe.owner) == 0) {
			p->owner_off[p->n] = p->owner_off[p->n - 1];
		} else {
			p->owner_off[p->n] = p->owners.len;
			buf_add(&p->owners, pe.owner, strlen(pe.owner) + 1);
		}
		p->e[p->n++] = pe;
		p->span = i - first + 1;
		cl->stats.planned++;
		if (p->n == (size_t)cl->o.batch) {
			plan_seal(cl, p);
			p = NULL;
		}
	}
	if (p != NULL)
		plan_seal(cl, p);
	if (l->elements < cl->list_count)
		cl->listed_all = true;
	return 0;
}

int
claimer_start(struct rconn *rc, const char *stream, const char *group,
    const struct claim_opts *opts, struct claimer **ret, struct xerr *err)
{
	struct claimer *cl = xcalloc(1, sizeof(*cl));

	cl->rc = rc;
	cl->stream = stream;
	cl->group = group;
	cl->o = *opts;
	if (cl->o.batch < 1)
		cl->o.batch = 1;
	cl->list_count = (size_t)cl->o.batch * LIST_PAGES;
	snprintf(cl->min_idle, sizeof(cl->min_idle), "%" PRId64, cl->o.min_idle_ms);
	cl->heap_fn = rc->c->reader->fn;
	rc->c->reader->fn = &arena_fn;
	maybe_list(cl);
	if (flush(cl, err) < 0) {
		claimer_free(cl);
		return -1;
	}
	*ret = cl;
	return 0;
}

const struct pending_entry *
claimer_plan(struct claimer *cl, size_t *ret_n)
{
	if (cl->tail == cl->ready || cl->ready - cl->sent >= DEPTH) {
		*ret_n = 0;
		return NULL;
	}
	*ret_n = cl->ring[cl->ready % RING].n;
	return cl->ring[cl->ready % RING].e;
}

int
claimer_drop(struct claimer *cl, struct xerr *err)
{
	/* Only dry runs drop, and they never have claims in flight. */
	if (cl->tail == cl->ready || cl->sent != cl->ready)
		return 0;
	plan_free(&cl->ring[cl->ready % RING]);
	cl->ready++;
	cl->sent++;
	maybe_list(cl);
	return flush(cl, err);
}

static int
cmp_deliveries(const void *a, const void *b)
{
	const struct pending_entry *x = a, *y = b;

	if (x->deliveries != y->deliveries)
		return x->deliveries < y->deliveries ? -1 : 1;
	return entry_id_cmp(x->id, y->id);
}

int
claimer_send(struct claimer *cl, struct xerr *err)
{
	redisContext *c = cl->rc->c;
	struct plan *p;
	size_t n;
	char (*ids)[ENTRY_ID_STRLEN];
	const char **argv;
	struct pending_entry *byd;

	if (cl->tail == cl->ready || cl->ready - cl->sent >= DEPTH)
		return xerr_set(err, XR_EFAIL, "claimer: no page to send");
	p = &cl->ring[cl->ready % RING];
	n = p->n;

	char first[ENTRY_ID_STRLEN], last[ENTRY_ID_STRLEN], span[24];
	entry_id_format(p->e[0].id, first, sizeof(first));
	entry_id_format(p->e[n - 1].id, last, sizeof(last));
	snprintf(span, sizeof(span), "%zu", p->span + 16);

	redisAppendCommand(c, "MULTI");
	const char *pv[] = {"XPENDING", cl->stream, cl->group, first, last, span};
	redisAppendCommandArgv(c, 6, pv, NULL);

	/*
	 * One XCLAIM per delivery count, so RETRYCOUNT can keep each as it is.
	 * Usually they are all the same, and the page is in order already.
	 */
	byd = NULL;
	for (size_t i = 1; i < n && byd == NULL; i++) {
		if (p->e[i].deliveries != p->e[0].deliveries) {
			byd = xmalloc(n * sizeof(*byd));
			memcpy(byd, p->e, n * sizeof(*byd));
			qsort(byd, n, sizeof(*byd), cmp_deliveries);
		}
	}
	const struct pending_entry *order = byd != NULL ? byd : p->e;
	ids = xmalloc(n * sizeof(*ids));
	argv = xmalloc((n + 8) * sizeof(*argv));
	p->xclaims = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i, k = 0;
		char retry[24];

		argv[k++] = "XCLAIM";
		argv[k++] = cl->stream;
		argv[k++] = cl->group;
		argv[k++] = cl->o.consumer;
		argv[k++] = cl->min_idle;
		for (; j < n && order[j].deliveries == order[i].deliveries; j++) {
			entry_id_format(order[j].id, ids[j], sizeof(ids[j]));
			argv[k++] = ids[j];
		}
		snprintf(retry, sizeof(retry), "%" PRId64, order[i].deliveries);
		argv[k++] = "RETRYCOUNT";
		argv[k++] = retry;
		redisAppendCommandArgv(c, (int)k, argv, NULL);
		p->xclaims++;
		i = j;
	}
	redisAppendCommand(c, "EXEC");
	free(ids);
	free(argv);
	free(byd);
	expect_push(cl, 'C');
	cl->ready++;
	maybe_list(cl);
	return flush(cl, err);
}

static struct pending_entry *
find_entry(struct plan *p, struct entry_id id, size_t hint)
{
	size_t lo = 0, hi = p->n;

	if (hint < p->n && entry_id_cmp(p->e[hint].id, id) == 0)
		return &p->e[hint];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entry_id_cmp(p->e[mid].id, id);
		if (c == 0)
			return &p->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
exec_error(struct claimer *cl, const redisReply *r, const char *what, struct xerr *err)
{
	return xerr_set(err, XR_EFAIL, "redis: %s %s %s: %s", what, cl->stream, cl->group,
	    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
}

/*
 * Reads a transaction's answers: MULTI's +OK and one +QUEUED per command,
 * then EXEC's array, which *ret points to (in the claimer's arena).
 */
static int
read_exec(struct claimer *cl, size_t queued, redisReply **ret, struct xerr *err)
{
	redisReply *r = NULL;

	for (size_t i = 0; i < queued; i++) {
		if (get_reply(cl, &r) != REDIS_OK)
			return io_error(cl, err);
		if (r->type == REDIS_REPLY_ERROR) {
			/* Queued in order: MULTI, XPENDING, then the XCLAIMs. */
			exec_error(cl, r, i == 0 ? "MULTI" : i == 1 ? "XPENDING" : "XCLAIM", err);
			/* Drain the rest of the transaction, EXEC's answer too. */
			for (size_t j = i + 1; j <= queued; j++)
				if (get_reply(cl, &r) != REDIS_OK)
					return -1;
			return -1;
		}
	}
	if (get_reply(cl, &r) != REDIS_OK)
		return io_error(cl, err);
	/* The page lives in this arena now; the other one is free for the next. */
	cl->cur = r;
	cl->cur_arena = 1 - cl->cur_arena;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != queued - 1)
		return exec_error(cl, r, "EXEC", err);
	*ret = r;
	return 0;
}

/* Points each planned entry that an XCLAIM answered at its fields. */
static int
match_claimed(struct claimer *cl, struct plan *p, const redisReply *r, struct xerr *err)
{
	for (int x = 0; x < p->xclaims; x++) {
		const redisReply *xr = r->element[1 + x];
		size_t hint = 0;

		if (xr->type != REDIS_REPLY_ARRAY)
			return exec_error(cl, xr, "XCLAIM", err);
		for (size_t i = 0; i < xr->elements; i++) {
			const redisReply *e = xr->element[i];
			struct entry_id id;
			struct pending_entry *pe;

			/* Redis before 7.0 answers nil for a deleted entry. */
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING ||
			    e->element[1]->type != REDIS_REPLY_ARRAY ||
			    entry_id_parse(e->element[0]->str, e->element[0]->len, &id) < 0)
				continue;
			pe = find_entry(p, id, hint);
			if (pe != NULL) {
				hint = (size_t)(pe - p->e) + 1;
				p->fields[pe - p->e] = e->element[1];
			}
		}
	}
	return 0;
}

/*
 * The page: each planned entry claimed (with what the pre-check XPENDING
 * said of it just before), lost (pending and idle, yet not claimed:
 * deleted), or raced (another consumer took it or acknowledged it).
 */
static void
build_page(struct claimer *cl, const struct plan *p, const redisReply *pre,
    struct claim_page *ret)
{
	size_t npre = 0, k = 0;

	/* The pre-check, parsed once; sorted by ID like the page. */
	if (cl->pre_cap < pre->elements) {
		cl->pre_cap = pre->elements;
		cl->pre = xrealloc(cl->pre, cl->pre_cap * sizeof(*cl->pre));
	}
	for (size_t i = 0; i < pre->elements; i++)
		if (parse_pending(pre->element[i], &cl->pre[npre]) == 0)
			npre++;
	if (cl->page_cap < p->n) {
		cl->page_cap = p->n;
		cl->page = xrealloc(cl->page, cl->page_cap * sizeof(*cl->page));
	}
	struct claim_page page = {cl->page, 0, 0};
	for (size_t i = 0; i < p->n; i++) {
		const struct pending_entry *now = NULL;

		while (k < npre && entry_id_cmp(cl->pre[k].id, p->e[i].id) < 0)
			k++;
		if (k < npre && entry_id_cmp(cl->pre[k].id, p->e[i].id) == 0)
			now = &cl->pre[k];
		if (p->fields[i] != NULL) {
			struct claimed_entry *ce = &page.e[page.n];
			ce->was = now != NULL ? *now : p->e[i];
			if (strcmp(ce->was.owner, cl->o.consumer) == 0) {
				cl->stats.held++;   /* it was ours already */
				continue;
			}
			ce->fate = FATE_CLAIMED;
			ce->fields = p->fields[i];
			page.n++;
		} else if (now != NULL && now->idle_ms >= cl->o.min_idle_ms) {
			/* Pending and idle when XCLAIM ran, yet not claimed: deleted. */
			struct claimed_entry *ce = &page.e[page.n++];
			ce->was = *now;
			ce->fate = FATE_LOST;
			ce->fields = NULL;
		} else {
			page.raced++;
		}
	}
	cl->stats.raced += page.raced;
	cl->stats.pages++;
	*ret = page;
}

/* Reads the answer to the oldest claim in flight into a page. */
static int
recv_claim(struct claimer *cl, struct claim_page *ret, struct xerr *err)
{
	struct plan *p = &cl->ring[cl->sent % RING];
	size_t queued = 1 + 1 + (size_t)p->xclaims;     /* MULTI, XPENDING, XCLAIMs */
	redisReply *r = NULL;

	/* The plan leaves the ring either way; the page below may point into it. */
	plan_free(&cl->done);
	cl->done = *p;
	memset(p, 0, sizeof(*p));
	cl->sent++;
	p = &cl->done;
	cl->cur = NULL;

	if (read_exec(cl, queued, &r, err) < 0)
		return -1;
	if (r->element[0]->type != REDIS_REPLY_ARRAY)
		return exec_error(cl, r->element[0], "XPENDING", err);
	if (match_claimed(cl, p, r, err) < 0)
		return -1;
	build_page(cl, p, r->element[0], ret);
	return 0;
}

int
claimer_recv(struct claimer *cl, struct claim_page *ret, struct xerr *err)
{
	char kind;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (cl->ex_n == 0)
		return xerr_set(err, XR_EFAIL, "claimer: nothing in flight");
	kind = cl->expect[cl->ex_head];
	cl->ex_head = (cl->ex_head + 1) % sizeof(cl->expect);
	cl->ex_n--;
	arena_reset(&cl->arenas[1 - cl->cur_arena]);
	if (kind == 'C') {
		rc = recv_claim(cl, ret, err);
	} else {
		redisReply *r;
		cl->listing = false;
		if (get_reply(cl, &r) != REDIS_OK)
			return io_error(cl, err);
		rc = take_listing(cl, r, err);
	}
	if (rc == 0) {
		maybe_list(cl);
		rc = flush(cl, err);
	}
	return rc;
}

bool
claimer_pending(const struct claimer *cl)
{
	return cl->ex_n > 0;
}

void
claimer_close(struct claimer *cl)
{
	cl->closed = true;
}

const struct claim_stats *
claimer_stats(const struct claimer *cl)
{
	return &cl->stats;
}

void
claimer_free(struct claimer *cl)
{
	if (cl == NULL)
		return;
	/* Read what is still in flight so the connection stays usable. */
	cl->closed = true;
	while (cl->ex_n > 0 && cl->rc->c->err == 0) {
		struct claim_page p;
		if (claimer_recv(cl, &p, NULL) < 0 && cl->rc->c->err != 0)
			break;
	}
	for (size_t i = 0; i < RING; i++)
		plan_free(&cl->ring[i]);
	plan_free(&cl->done);
	cl->rc->c->reader->fn = cl->heap_fn;
	cl->rc->c->reader->privdata = NULL;
	arena_free(&cl->arenas[0]);
	arena_free(&cl->arenas[1]);
	free(cl->page);
	free(cl->pre);
	free(cl);
}

int
claim_survey(struct rconn *rc, const char *stream, const char *group,
    const struct claim_opts *opts, void (*fn)(void *ctx, const struct pending_entry *e),
    void *ctx, struct claim_stats *ret, struct xerr *err)
{
	struct claimer *cl;
	struct claim_page page;
	const struct pending_entry *plan;
	size_t n;
	int rc_ = -1;

	if (claimer_start(rc, stream, group, opts, &cl, err) < 0)
		return -1;
	for (;;) {
		while ((plan = claimer_plan(cl, &n)) != NULL) {
			for (size_t i = 0; fn != NULL && i < n; i++)
				fn(ctx, &plan[i]);
			if (claimer_drop(cl, err) < 0)
				goto out;
		}
		if (!claimer_pending(cl))
			break;
		if (claimer_recv(cl, &page, err) < 0)
			goto out;
	}
	*ret = cl->stats;
	rc_ = 0;
out:
	claimer_free(cl);
	return rc_;
}
