/* incident.c: which incident a journal event belongs to (see incident.h). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "incident.h"
#include "journal.h"

struct known {
	char *stream, *grp, *consumer;
	int64_t id;                 /* 0: no open incident */
	int64_t last_ts;            /* its newest claim */
};

struct incidents {
	struct known *v;
	size_t n, cap;
};

struct incidents *
incidents_new(void)
{
	return xcalloc(1, sizeof(struct incidents));
}

void
incidents_forget(struct incidents *in)
{
	if (in == NULL)
		return;
	for (size_t i = 0; i < in->n; i++) {
		free(in->v[i].stream);
		free(in->v[i].grp);
		free(in->v[i].consumer);
	}
	in->n = 0;
}

void
incidents_free(struct incidents *in)
{
	if (in == NULL)
		return;
	incidents_forget(in);
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

/* What the journal says of this consumer: its open incident, if any. */
static int
load(struct journal *j, struct known *k, struct xerr *err)
{
	sqlite3 *db = journal_db(j);
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT seq, kind, ts FROM events"
	    " WHERE kind IN ('incident_opened', 'consumer_deleted')"
	    " AND stream = ?1 AND grp = ?2 AND consumer = ?3 ORDER BY seq DESC LIMIT 1", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, k->stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->grp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->consumer, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 1),
	    "incident_opened") == 0) {
		k->id = sqlite3_column_int64(st, 0);
		k->last_ts = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	if (k->id == 0)
		return 0;
	/* Its newest event: when it last took a claim. */
	if (sqlite3_prepare_v2(db, "SELECT ts FROM events WHERE incident = ?1"
	    " ORDER BY seq DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, k->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		k->last_ts = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	return 0;
fail:
	return xerr_set(err, XR_EJOURNAL, "journal '%s': finding incidents: %s",
	    journal_path(j), journal_errmsg(j));
}

int
incidents_lookup(struct incidents *in, struct journal *j, const struct event *ev,
    int64_t *ret_id, bool *ret_open, struct xerr *err)
{
	struct known *k;
	bool opens;

	*ret_id = 0;
	*ret_open = false;
	if (ev->incident != 0 || !tagged(ev, &opens))
		return 0;
	if ((k = find(in, ev)) == NULL) {
		k = add(in, ev);
		if (load(j, k, err) < 0) {
			incidents_forget(in);
			return -1;
		}
	}
	if (k->id != 0 && ev->ts - k->last_ts <= INCIDENT_GAP_MS)
		*ret_id = k->id;
	else if (opens)
		*ret_open = true;
	return 0;
}

void
incidents_opened(struct incidents *in, const struct event *ev, int64_t id)
{
	struct known *k = find(in, ev);

	if (k == NULL)
		k = add(in, ev);
	k->id = id;
	k->last_ts = ev->ts;
}

void
incidents_appended(struct incidents *in, const struct event *ev)
{
	struct known *k;

	if (ev->incident == 0 || (k = find(in, ev)) == NULL)
		return;
	if (strcmp(ev->kind, "consumer_deleted") == 0)
		k->id = 0;          /* deleted: its incident is over */
	else if (ev->ts > k->last_ts)
		k->last_ts = ev->ts;
}
