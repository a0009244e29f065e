/* incident.c: which incident a journal event belongs to (see incident.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../store/incident.h"
#include "../store/journal.h"
#include "incident.h"

struct known {
	char *stream, *grp, *consumer;
	int64_t id;                 /* 0: no open incident */
	int64_t last_ts;            /* its newest claim */
};

/* What one journal connection knows of open incidents. */
struct incidents {
	struct known *v;
	size_t n, cap;
};

/* Forgets everything (a transaction was rolled back). */
static void
forget(void *ctx)
{
	struct incidents *in = ctx;

	for (size_t i = 0; i < in->n; i++) {
		free(in->v[i].stream);
		free(in->v[i].grp);
		free(in->v[i].consumer);
	}
	in->n = 0;
}

static void
done(void *ctx)
{
	struct incidents *in = ctx;

	forget(in);
	free(in->v);
	free(in);
}

/* Whether events of this kind belong to incidents, and may open one. */
static bool
tagged(const struct event *ev, bool *opens)
{
	*opens = strcmp(ev->kind, "claim") == 0 || strcmp(ev->kind, "claim_reconciled") == 0 ||
	    strcmp(ev->kind, "lost") == 0;
	return ev->consumer != NULL && ev->stream != NULL && ev->grp != NULL &&
	    (*opens || strcmp(ev->kind, "consumer_deleted") == 0);
}

static struct known *
find(struct incidents *in, const struct event *ev)
{
	for (size_t i = 0; i < in->n; i++) {
		struct known *k = &in->v[i];
		if (strcmp(k->consumer, ev->consumer) == 0 && strcmp(k->grp, ev->grp) == 0 &&
		    strcmp(k->stream, ev->stream) == 0)
			return k;
	}
	return NULL;
}

static struct known *
add(struct incidents *in, const struct event *ev)
{
	struct known *k;

	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 16;
		in->v = xrealloc(in->v, in->cap * sizeof(*in->v));
	}
	k = &in->v[in->n++];
	k->stream = xstrdup(ev->stream);
	k->grp = xstrdup(ev->grp);
	k->consumer = xstrdup(ev->consumer);
	k->id = 0;
	k->last_ts = 0;
	return k;
}

static int
assign(void *ctx, struct journal *j, const struct event *ev, int64_t *ret_id, bool *ret_open,
    struct xerr *err)
{
	struct incidents *in = ctx;
	struct known *k;
	bool opens;

	*ret_id = 0;
	*ret_open = false;
	if (ev->incident != 0 || !tagged(ev, &opens))
		return 0;
	if ((k = find(in, ev)) == NULL) {
		k = add(in, ev);
		/* What the journal says of this consumer: its open incident, if any. */
		if (incident_find_open(j, k->stream, k->grp, k->consumer, &k->id, &k->last_ts,
		    err) < 0) {
			forget(in);
			return -1;
		}
	}
	if (k->id != 0 && ev->ts - k->last_ts <= INCIDENT_GAP_MS)
		*ret_id = k->id;
	else if (opens)
		*ret_open = true;
	return 0;
}

static void
opened(void *ctx, const struct event *ev, int64_t id)
{
	struct incidents *in = ctx;
	struct known *k = find(in, ev);

	if (k == NULL)
		k = add(in, ev);
	k->id = id;
	k->last_ts = ev->ts;
}

static void
appended(void *ctx, const struct event *ev)
{
	struct incidents *in = ctx;
	struct known *k;

	if (ev->incident == 0 || (k = find(in, ev)) == NULL)
		return;
	if (strcmp(ev->kind, "consumer_deleted") == 0)
		k->id = 0;          /* deleted: its incident is over */
	else if (ev->ts > k->last_ts)
		k->last_ts = ev->ts;
}

static const struct journal_incidents policy = {assign, opened, appended, forget, done};

void
incident_policy_set(struct journal *j)
{
	journal_set_incidents(j, &policy, xcalloc(1, sizeof(struct incidents)));
}
