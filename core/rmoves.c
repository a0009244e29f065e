/*
 * rmoves.c: reconciliation of the moves a killed command planned (copies
 * of a replay or redeliver, dead-letter moves, a rollback's removals):
 * each is journalled exactly once if it happened, from what Redis holds
 * now.  Called by reconcile.c for each such record of the intent file.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../stream/move.h"
#include "moves.h"
#include "record.h"

/* A copy a killed command planned: journal it if it exists and is the entry's. */
int
reconcile_copy(struct rx *rx, const cJSON *d, int64_t batch, const char *to)
{
	struct pass *p = rx->p;
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(d, "entries"), *e;
	const cJSON *first = cJSON_GetObjectItemCaseSensitive(d, "first");
	struct entry_id next;

	if (!cJSON_IsArray(entries) || to == NULL || !cJSON_IsString(first) ||
	    entry_id_parse(first->valuestring, strlen(first->valuestring), &next) < 0)
		return xerr_set(rx->err, XR_EFAIL, "intent file: malformed copy record");
	cJSON_ArrayForEach(e, entries) {
		const char *stream = item_name(rx, e, 0), *grp = item_name(rx, e, 1);
		struct entry_id id, copy = next;
		bool done;

		/* The copies' IDs follow one another, as they were planned. */
		next = entry_id_next(next);
		if (stream == NULL || grp == NULL || !item_id(e, 2, &id))
			continue;
		if (journal_copy_made(p->j, batch, stream, grp, id, &done, rx->err) < 0)
			return -1;
		if (done)
			continue;
		char cs[ENTRY_ID_STRLEN];
		entry_id_format(copy, cs, sizeof(cs));
		redisReply *r = rconn_cmd(p->rc, rx->err, "XRANGE %s %s %s", to, cs, cs);
		if (r == NULL)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) {
			freeReplyObject(r);
			continue;       /* never made */
		}
		/* It is this entry's copy only if the bytes are the journal's. */
		pass_encode_payload(p, r->element[0]->element[1]);
		freeReplyObject(r);
		char *streams[] = {(char *)grp, NULL};
		struct entry_ref ref = {(char *)stream, id};
		struct selection sel = {0};
		struct held_list l = {0};
		sel.messages = &ref;
		sel.nmessages = 1;
		sel.groups = streams;
		if (held_load(p, &sel, &l, rx->err) < 0)
			return -1;
		if (l.n == 1 && l.v[0].e.payload_len == p->pbuf.len &&
		    memcmp(l.v[0].e.payload, p->pbuf.data, p->pbuf.len) == 0) {
			struct copy_item item = copy_item_of(&l.v[0], copy);
			struct event ev = copies_event(p, batch, to, &item, 1, true);
			if (journal_append(p->j, &ev, rx->err) < 0) {
				held_free(&l);
				return -1;
			}
			rx->n.copies++;
		}
		held_free(&l);
	}
	return 0;
}

/* A planned dead-letter move that is pending no more: its dead letter is looked for. */
struct dl_sought {
	struct entry_id id;
	const cJSON *e;             /* its item in the record */
	bool hit;
	struct entry_id found;      /* its dead letter's ID */
};

static int
cmp_sought(const void *a, const void *b)
{
	return entry_id_cmp(((const struct dl_sought *)a)->id, ((const struct dl_sought *)b)->id);
}

/*
 * Finds the dead letters of stream/group's entries v[0..n) (sorted by ID)
 * in dlq after `after`: one read of the dead-letter stream from there, a
 * page of 1000 at a time, until each is found or the stream ends.
 */
static int
dl_find(struct rx *rx, const char *dlq, const char *after, const char *stream,
    const char *group, struct dl_sought *v, size_t n)
{
	char start[ENTRY_ID_STRLEN];
	size_t left = n;

	snprintf(start, sizeof(start), "%s", after);
	while (left > 0) {
		redisReply *r = rconn_cmd(rx->p->rc, rx->err, "XRANGE %s %s + COUNT 1000", dlq, start);
		if (r == NULL)
			return -1;
		size_t m = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
		struct entry_id last = {0, 0};
		for (size_t i = 0; i < m && left > 0; i++) {
			const redisReply *x = r->element[i];
			const redisReply *os, *og, *oi;
			struct dl_sought key, *s;
			entry_id_parse(x->element[0]->str, x->element[0]->len, &last);
			if (!dead_letter_source(x->element[1], &os, &og, &oi) ||
			    strcmp(os->str, stream) != 0 || strcmp(og->str, group) != 0 ||
			    entry_id_parse(oi->str, oi->len, &key.id) < 0)
				continue;
			s = bsearch(&key, v, n, sizeof(*v), cmp_sought);
			if (s != NULL && !s->hit) {
				s->hit = true;
				s->found = last;
				left--;
			}
		}
		freeReplyObject(r);
		if (m < 1000)
			break;
		entry_id_format(entry_id_next(last), start, sizeof(start));
	}
	return 0;
}

/*
 * Dead-letter moves a killed run planned: an entry still pending was not
 * moved; the others are looked for in the dead-letter stream, all at once.
 */
int
reconcile_dead_letter(struct rx *rx, const cJSON *d, int64_t since, const char *stream,
    const char *group)
{
	struct pass *p = rx->p;
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(d, "entries"), *e;
	const char *dlq = name_of(rx, cJSON_GetObjectItemCaseSensitive(d, "dlq"));
	const cJSON *after = cJSON_GetObjectItemCaseSensitive(d, "after");
	const cJSON *holder = cJSON_GetObjectItemCaseSensitive(d, "consumer");
	/* The recovery consumer of the killed run (older intents: this run's). */
	const char *ours = holder != NULL ? name_of(rx, holder) : p->cfg->consumer;
	struct dl_sought *v;
	size_t n = 0;
	enum gone gone = GONE_NOT;
	int rc = -1;

	if (!cJSON_IsArray(entries) || dlq == NULL || ours == NULL || !cJSON_IsString(after))
		return xerr_set(rx->err, XR_EFAIL, "intent file: malformed dead-letter record");
	v = xcalloc((size_t)cJSON_GetArraySize(entries) + 1, sizeof(*v));
	cJSON_ArrayForEach(e, entries) {
		struct entry_id id;
		char ids[ENTRY_ID_STRLEN];
		bool done;
		redisReply *r = NULL;

		if (!item_id(e, 0, &id))
			continue;
		if (journal_entry_event(p->j, "dead_lettered", 0, stream, group, id, since, &done,
		    rx->err) < 0)
			goto out;
		if (done)
			continue;
		entry_id_format(id, ids, sizeof(ids));
		/* Its stream or group gone, nothing is pending: the dead letter says. */
		if (gone == GONE_NOT) {
			r = rconn_cmd(p->rc, rx->err, "XPENDING %s %s %s %s 1", stream, group, ids, ids);
			if (r == NULL && group_gone(rx, stream, group, &gone) < 0)
				goto out;
		}
		if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
			/*
			 * The move never happened.  Pending on the recovery consumer:
			 * still held.  On another: a live consumer claimed it
			 * meanwhile, and it is that consumer's now.
			 */
			const redisReply *o = r->element[0]->type == REDIS_REPLY_ARRAY &&
			    r->element[0]->elements >= 2 ? r->element[0]->element[1] : NULL;
			bool known = false;
			int trc = 0;
			if (o != NULL && o->type == REDIS_REPLY_STRING && strcmp(o->str, ours) != 0) {
				trc = journal_entry_event(p->j, "taken", 0, stream, group, id, since,
				    &known, rx->err);
				if (trc == 0 && !known)
					trc = journal_taken(p, TAKEN_DEAD_LETTER, stream, group, id, o->str,
					    true, rx->err);
			}
			freeReplyObject(r);
			if (trc < 0)
				goto out;
			continue;
		}
		if (r != NULL)
			freeReplyObject(r);
		/* Moved, or acknowledged by someone else: the dead letter says which. */
		v[n].id = id;
		v[n].e = e;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_sought);
	if (n > 0 && dl_find(rx, dlq, after->valuestring, stream, group, v, n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const cJSON *dl = cJSON_GetArrayItem(v[i].e, 2);
		if (!v[i].hit)
			continue;
		struct dead_letter_ref ref = {item_name(rx, v[i].e, 1),
		    cJSON_IsNumber(dl) ? (int64_t)dl->valuedouble : -1, dlq, v[i].found,
		    item_str(v[i].e, 3)};
		if (journal_dead_lettered(p, stream, group, v[i].id, &ref, true, rx->err) < 0)
			goto out;
		rx->n.dead_lettered++;
	}
	rc = 0;
out:
	free(v);
	return rc;
}

/*
 * Hand-offs a killed run planned: each entry pending on the consumer it
 * was to go to was handed off; one pending on the recovery consumer never
 * was; one on another consumer was taken by it; one pending nowhere was
 * handed off and acknowledged since (only the recovery consumer held it).
 */
int
reconcile_hand_off(struct rx *rx, const cJSON *d, int64_t since, const char *stream,
    const char *group)
{
	struct pass *p = rx->p;
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(d, "entries"), *e;
	const char *to = name_of(rx, cJSON_GetObjectItemCaseSensitive(d, "to"));
	const char *ours = name_of(rx, cJSON_GetObjectItemCaseSensitive(d, "consumer"));
	enum gone gone = GONE_NOT;

	if (!cJSON_IsArray(entries) || to == NULL || ours == NULL)
		return xerr_set(rx->err, XR_EFAIL, "intent file: malformed hand-off record");
	cJSON_ArrayForEach(e, entries) {
		struct entry_id id;
		char ids[ENTRY_ID_STRLEN];
		bool done;
		int jrc = 0;

		if (!cJSON_IsString(e) || entry_id_parse(e->valuestring, strlen(e->valuestring),
		    &id) < 0)
			continue;
		if (journal_entry_event(p->j, "handed_off", 0, stream, group, id, since, &done,
		    rx->err) < 0)
			return -1;
		if (!done && journal_entry_event(p->j, "taken", 0, stream, group, id, since, &done,
		    rx->err) < 0)
			return -1;
		if (done || gone != GONE_NOT)
			continue;
		entry_id_format(id, ids, sizeof(ids));
		redisReply *r = rconn_cmd(p->rc, rx->err, "XPENDING %s %s %s %s 1", stream, group,
		    ids, ids);
		if (r == NULL) {
			if (group_gone(rx, stream, group, &gone) < 0)
				return -1;
			continue;       /* the stream or group went, and what was pending with it */
		}
		const redisReply *o = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
		    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 2 ?
		    r->element[0]->element[1] : NULL;
		if (o == NULL)
			jrc = journal_handed_off(p, stream, group, id, to, ours,
			    "pending nowhere: acknowledged after the hand-off", true, rx->err);
		else if (o->type == REDIS_REPLY_STRING && strcmp(o->str, to) == 0)
			jrc = journal_handed_off(p, stream, group, id, to, ours, NULL, true, rx->err);
		else if (o->type == REDIS_REPLY_STRING && strcmp(o->str, ours) != 0)
			jrc = journal_taken(p, TAKEN_HAND_OFF, stream, group, id, o->str, true, rx->err);
		else
			jrc = 1;        /* still held: it never went */
		freeReplyObject(r);
		if (jrc < 0)
			return -1;
		if (jrc == 0)
			rx->n.handed_off++;
	}
	return 0;
}

/* Copies a killed rollback set out to remove: journal those that are gone. */
int
reconcile_rollback(struct rx *rx, const cJSON *d, int64_t batch, const char *to)
{
	struct pass *p = rx->p;
	const cJSON *copies = cJSON_GetObjectItemCaseSensitive(d, "copies"), *e;

	if (!cJSON_IsArray(copies) || to == NULL)
		return xerr_set(rx->err, XR_EFAIL, "intent file: malformed rollback record");
	cJSON_ArrayForEach(e, copies) {
		const char *stream = item_name(rx, e, 1), *grp = item_name(rx, e, 2);
		struct entry_id copy, id;
		char cs[ENTRY_ID_STRLEN];
		bool done;

		if (stream == NULL || grp == NULL || !item_id(e, 0, &copy) || !item_id(e, 3, &id))
			continue;
		if (journal_entry_event(p->j, "copy_removed", batch, stream, grp, id, 0, &done,
		    rx->err) < 0)
			return -1;
		if (done)
			continue;
		entry_id_format(copy, cs, sizeof(cs));
		redisReply *r = rconn_cmd(p->rc, rx->err, "XRANGE %s %s %s", to, cs, cs);
		if (r == NULL)
			return -1;
		bool exists = r->type == REDIS_REPLY_ARRAY && r->elements == 1;
		freeReplyObject(r);
		if (exists)
			continue;
		struct copy_row c = {0};
		c.stream = stream;
		c.grp = grp;
		c.id = id;
		c.to = to;
		c.copy = copy;
		struct event ev = copy_event(p, "copy_removed", batch, &c, "{\"reconciled\":true}");
		if (journal_append(p->j, &ev, rx->err) < 0)
			return -1;
		rx->n.removed++;
	}
	return 0;
}
