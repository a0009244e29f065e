/*
 * claim.c: the paged, pipelined claim of one group's pending entries.
 * See claim.h for the commands and why they are these.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "claim.h"

struct sent_entry {
	struct pending_entry p;     /* as listed */
	const redisReply *fields;   /* set when XCLAIM returned it */
};

struct claimer {
	struct rconn *rc;
	const char *stream, *group;
	struct claim_opts o;
	char min_idle[24];

	redisReply *prev, *cur;     /* the last two replies; plans and pages point into them */

	struct pending_entry *plan; /* from the newest listing */
	size_t plan_n, plan_cap;
	size_t plan_span;           /* listed entries from the first to the last planned */
	size_t listed, held, excluded, young;   /* about the newest listing */
	bool more;                  /* the listing may go on after `next` */
	struct entry_id next;

	struct sent_entry *sent;    /* the plan in flight */
	size_t sent_n, sent_cap;
	size_t sent_listed, sent_held, sent_excluded, sent_young;
	bool sent_precheck, sent_listing;
	int sent_xclaims;
	bool in_flight;

	struct claimed_entry *page;
	size_t page_cap;
};

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

/* Plans the next page from a listing reply (which the claimer keeps alive). */
static int
plan_from_listing(struct claimer *cl, const redisReply *l, struct xerr *err)
{
	size_t first = 0, last = 0;

	cl->plan_n = cl->held = cl->excluded = cl->young = 0;
	cl->plan_span = 0;
	if (l->type != REDIS_REPLY_ARRAY)
		return xerr_set(err, XR_EFAIL, "redis: XPENDING %s %s: unexpected reply",
		    cl->stream, cl->group);
	cl->listed = l->elements;
	if (cl->plan_cap < l->elements) {
		cl->plan_cap = l->elements;
		cl->plan = xrealloc(cl->plan, cl->plan_cap * sizeof(*cl->plan));
	}
	for (size_t i = 0; i < l->elements; i++) {
		struct pending_entry p;

		if (parse_pending(l->element[i], &p) < 0)
			return xerr_set(err, XR_EFAIL, "redis: XPENDING %s %s: malformed entry",
			    cl->stream, cl->group);
		if (strcmp(p.owner, cl->o.consumer) == 0) {
			cl->held++;
		} else if (consumer_excluded(p.owner, cl->o.exclude)) {
			cl->excluded++;
		} else if (p.idle_ms < cl->o.min_idle_ms) {
			cl->young++;
		} else {
			if (cl->plan_n == 0)
				first = i;
			last = i;
			cl->plan[cl->plan_n++] = p;
		}
		if (i + 1 == l->elements)
			cl->next = entry_id_next(p.id);
	}
	cl->more = l->elements >= (size_t)cl->o.batch && l->elements > 0;
	if (cl->plan_n > 0)
		cl->plan_span = last - first + 1;
	return 0;
}

int
claimer_start(struct rconn *rc, const char *stream, const char *group,
    const struct claim_opts *opts, struct claimer **ret, struct xerr *err)
{
	struct claimer *cl = xcalloc(1, sizeof(*cl));
	char count[24];

	cl->rc = rc;
	cl->stream = stream;
	cl->group = group;
	cl->o = *opts;
	if (cl->o.batch < 1)
		cl->o.batch = 1;
	snprintf(cl->min_idle, sizeof(cl->min_idle), "%" PRId64, cl->o.min_idle_ms);
	snprintf(count, sizeof(count), "%d", cl->o.batch);

	const char *argv[] = {"XPENDING", stream, group, "-", "+", count};
	cl->cur = rconn_argv(rc, err, 6, argv, NULL);
	if (cl->cur == NULL || plan_from_listing(cl, cl->cur, err) < 0) {
		claimer_free(cl);
		return -1;
	}
	*ret = cl;
	return 0;
}

const struct pending_entry *
claimer_plan(const struct claimer *cl, size_t *ret_n)
{
	*ret_n = cl->plan_n;
	return cl->plan;
}

bool
claimer_done(const struct claimer *cl)
{
	return cl->plan_n == 0 && !cl->more && !cl->in_flight;
}

bool
claimer_more(const struct claimer *cl)
{
	return cl->more;
}

int
claimer_skip(struct claimer *cl, struct xerr *err)
{
	struct claim_page page;

	cl->plan_n = 0;
	if (claimer_send(cl, err) < 0)
		return -1;
	return claimer_recv(cl, &page, err);
}

static int
cmp_deliveries(const void *a, const void *b)
{
	const struct sent_entry *x = a, *y = b;

	if (x->p.deliveries != y->p.deliveries)
		return x->p.deliveries < y->p.deliveries ? -1 : 1;
	return entry_id_cmp(x->p.id, y->p.id);
}

static int
cmp_id(const void *a, const void *b)
{
	const struct sent_entry *x = a, *y = b;

	return entry_id_cmp(x->p.id, y->p.id);
}

int
claimer_send(struct claimer *cl, struct xerr *err)
{
	redisContext *c = cl->rc->c;
	size_t n = cl->plan_n;
	char (*ids)[ENTRY_ID_STRLEN] = NULL;
	const char **argv = NULL;

	if (cl->in_flight)
		return xerr_set(err, XR_EFAIL, "claimer: a page is already in flight");

	/* The plan becomes the page in flight. */
	if (cl->sent_cap < n) {
		cl->sent_cap = n;
		cl->sent = xrealloc(cl->sent, n * sizeof(*cl->sent));
	}
	for (size_t i = 0; i < n; i++) {
		cl->sent[i].p = cl->plan[i];
		cl->sent[i].fields = NULL;
	}
	cl->sent_n = n;
	cl->sent_listed = cl->listed;
	cl->sent_held = cl->held;
	cl->sent_excluded = cl->excluded;
	cl->sent_young = cl->young;
	cl->sent_precheck = n > 0;
	cl->sent_listing = cl->more;
	cl->sent_xclaims = 0;
	cl->plan_n = 0;

	redisAppendCommand(c, "MULTI");
	if (n > 0) {
		char first[ENTRY_ID_STRLEN], last[ENTRY_ID_STRLEN], span[24];

		entry_id_format(cl->sent[0].p.id, first, sizeof(first));
		entry_id_format(cl->sent[n - 1].p.id, last, sizeof(last));
		snprintf(span, sizeof(span), "%zu", cl->plan_span + 16);
		const char *pv[] = {"XPENDING", cl->stream, cl->group, first, last, span};
		redisAppendCommandArgv(c, 6, pv, NULL);

		/* One XCLAIM per delivery count, so RETRYCOUNT can keep each. */
		qsort(cl->sent, n, sizeof(*cl->sent), cmp_deliveries);
		ids = xmalloc(n * sizeof(*ids));
		argv = xmalloc((n + 8) * sizeof(*argv));
		for (size_t i = 0; i < n;) {
			size_t j = i, k = 0;
			char retry[24];

			argv[k++] = "XCLAIM";
			argv[k++] = cl->stream;
			argv[k++] = cl->group;
			argv[k++] = cl->o.consumer;
			argv[k++] = cl->min_idle;
			for (; j < n && cl->sent[j].p.deliveries == cl->sent[i].p.deliveries; j++) {
				entry_id_format(cl->sent[j].p.id, ids[j], sizeof(ids[j]));
				argv[k++] = ids[j];
			}
			snprintf(retry, sizeof(retry), "%" PRId64, cl->sent[i].p.deliveries);
			argv[k++] = "RETRYCOUNT";
			argv[k++] = retry;
			redisAppendCommandArgv(c, (int)k, argv, NULL);
			cl->sent_xclaims++;
			i = j;
		}
		qsort(cl->sent, n, sizeof(*cl->sent), cmp_id);
	}
	if (cl->sent_listing) {
		char start[ENTRY_ID_STRLEN], count[24];

		entry_id_format(cl->next, start, sizeof(start));
		snprintf(count, sizeof(count), "%d", cl->o.batch);
		const char *lv[] = {"XPENDING", cl->stream, cl->group, start, "+", count};
		redisAppendCommandArgv(c, 6, lv, NULL);
	}
	redisAppendCommand(c, "EXEC");
	free(ids);
	free(argv);

	/* Push the whole transaction out now, so Redis works while we journal. */
	int done = 0;
	do {
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return rconn_io_error(cl->rc, err);
	} while (!done);
	cl->in_flight = true;
	return 0;
}

static struct sent_entry *
find_sent(struct claimer *cl, struct entry_id id)
{
	size_t lo = 0, hi = cl->sent_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entry_id_cmp(cl->sent[mid].p.id, id);
		if (c == 0)
			return &cl->sent[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const redisReply *
find_pending(const redisReply *pre, struct entry_id id, struct pending_entry *ret)
{
	size_t lo = 0, hi = pre->elements;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct pending_entry p;
		if (parse_pending(pre->element[mid], &p) < 0)
			return NULL;
		int c = entry_id_cmp(p.id, id);
		if (c == 0) {
			*ret = p;
			return pre->element[mid];
		}
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
	return xerr_set(err, XR_EFAIL, "redis: %s %s %s: %s", what, cl->stream,
	    cl->group, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
}

int
claimer_recv(struct claimer *cl, struct claim_page *ret, struct xerr *err)
{
	redisContext *c = cl->rc->c;
	size_t queued = 1 + (cl->sent_precheck ? 1 : 0) + (size_t)cl->sent_xclaims +
	    (cl->sent_listing ? 1 : 0);
	redisReply *r = NULL;

	if (!cl->in_flight)
		return xerr_set(err, XR_EFAIL, "claimer: nothing in flight");
	cl->in_flight = false;
	/* MULTI's +OK and one +QUEUED per command, then EXEC's array. */
	for (size_t i = 0; i < queued; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			return rconn_io_error(cl->rc, err);
		if (r->type == REDIS_REPLY_ERROR) {
			exec_error(cl, r, "MULTI", err);
			freeReplyObject(r);
			/* Drain what is left of the transaction, EXEC's answer too. */
			for (size_t j = i + 1; j <= queued; j++) {
				if (redisGetReply(c, (void **)&r) != REDIS_OK)
					return -1;
				freeReplyObject(r);
			}
			return -1;
		}
		freeReplyObject(r);
	}
	if (redisGetReply(c, (void **)&r) != REDIS_OK)
		return rconn_io_error(cl->rc, err);
	if (r->type != REDIS_REPLY_ARRAY || r->elements != queued - 1) {
		exec_error(cl, r, "EXEC", err);
		freeReplyObject(r);
		return -1;
	}
	if (cl->prev != NULL)
		freeReplyObject(cl->prev);
	cl->prev = cl->cur;
	cl->cur = r;

	size_t idx = 0;
	const redisReply *pre = NULL;
	if (cl->sent_precheck) {
		pre = r->element[idx++];
		if (pre->type != REDIS_REPLY_ARRAY)
			return exec_error(cl, pre, "XPENDING", err);
	}
	for (int x = 0; x < cl->sent_xclaims; x++) {
		const redisReply *xr = r->element[idx++];
		if (xr->type != REDIS_REPLY_ARRAY)
			return exec_error(cl, xr, "XCLAIM", err);
		for (size_t i = 0; i < xr->elements; i++) {
			const redisReply *e = xr->element[i];
			struct entry_id id;
			struct sent_entry *s;

			/* Redis before 7.0 answers nil for a deleted entry. */
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING ||
			    e->element[1]->type != REDIS_REPLY_ARRAY)
				continue;
			if (entry_id_parse(e->element[0]->str, e->element[0]->len, &id) < 0)
				continue;
			s = find_sent(cl, id);
			if (s != NULL)
				s->fields = e->element[1];
		}
	}

	struct claim_page page = {0};
	if (cl->page_cap < cl->sent_n) {
		cl->page_cap = cl->sent_n;
		cl->page = xrealloc(cl->page, cl->page_cap * sizeof(*cl->page));
	}
	page.e = cl->page;
	page.listed = cl->sent_listed;
	page.held = cl->sent_held;
	page.excluded = cl->sent_excluded;
	page.young = cl->sent_young;
	for (size_t i = 0; i < cl->sent_n; i++) {
		struct sent_entry *s = &cl->sent[i];
		struct pending_entry now;
		bool known = pre != NULL && find_pending(pre, s->p.id, &now) != NULL;

		if (s->fields != NULL) {
			struct claimed_entry *ce = &page.e[page.n];
			ce->was = known ? now : s->p;
			if (strcmp(ce->was.owner, cl->o.consumer) == 0) {
				page.held++;        /* it was ours already */
				continue;
			}
			ce->fate = FATE_CLAIMED;
			ce->fields = s->fields;
			page.n++;
		} else if (known && now.idle_ms >= cl->o.min_idle_ms) {
			/* Pending and idle when XCLAIM ran, yet not claimed: deleted. */
			struct claimed_entry *ce = &page.e[page.n++];
			ce->was = now;
			ce->fate = FATE_LOST;
			ce->fields = NULL;
		} else {
			page.raced++;
		}
	}

	cl->plan_n = 0;
	cl->more = false;
	if (cl->sent_listing) {
		const redisReply *l = r->element[idx++];
		if (l->type != REDIS_REPLY_ARRAY)
			return exec_error(cl, l, "XPENDING", err);
		if (plan_from_listing(cl, l, err) < 0)
			return -1;
	}
	*ret = page;
	return 0;
}

void
claimer_free(struct claimer *cl)
{
	if (cl == NULL)
		return;
	if (cl->in_flight) {
		/* Read the transaction's answers so the connection stays usable. */
		struct claim_page p;
		claimer_recv(cl, &p, NULL);
	}
	if (cl->prev != NULL)
		freeReplyObject(cl->prev);
	if (cl->cur != NULL)
		freeReplyObject(cl->cur);
	free(cl->plan);
	free(cl->sent);
	free(cl->page);
	free(cl);
}
