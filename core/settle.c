/*
 * settle.c: settles the copies that did their work: a copy read and
 * acknowledged means its original is done with.
 *
 * Guarantees: a held original is acknowledged only while the recovery
 * consumer holds it (one a live consumer claimed meanwhile is left to
 * it); a dead letter whose copy settled is deleted from the dead-letter
 * stream; copies of copies settle in rounds until nothing moves.
 * Journals settled for each copy (with taken, in the same transaction,
 * when a live consumer holds the original) and batch_closed for each
 * ended batch with no copy left in flight.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../stream/move.h"
#include "moves.h"

/* ------------------------------------------------------------- settling */

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
 * The group a copy was meant for: the entry's own group, in the entry's
 * own stream or in a stream that has a group of that name (a retry stream
 * of --redeliver-to or replay --to, where that group reads it; another
 * group there, added later or reached with --all-groups, does not hold
 * the original up).  NULL, every group of the stream: a copy in a stream
 * with no group of the entry's name (replay --to a stream its own
 * consumers read).
 */
static const char *
meant_for(const struct copy_row *c, const struct read_state *rs)
{
	if (strcmp(c->to, c->stream) == 0)
		return c->grp;
	for (size_t g = 0; g < rs->ngroups; g++)
		if (strcmp(rs->names[g], c->grp) == 0)
			return c->grp;
	return NULL;
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
			bool consumed, read, exists;
			char *owner = NULL;

			if (!listed(streams, c->stream))
				continue;
			if (copy_consumed(p->rc, c->to, &rs, meant_for(c, &rs), c->copy,
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
