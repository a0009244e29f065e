/*
 * deadletter.c: moves held entries to the dead-letter stream, and
 * journals what became of an entry that a live consumer took.
 *
 * Guarantees: each request of moves is written to the intent file before
 * Redis sees it; the dead-letter key must be a stream (or absent); an
 * entry a live consumer claimed from the recovery consumer meanwhile is
 * left with it.  Journals dead_lettered for each entry moved and taken
 * for each entry left to a live consumer (journal_taken is settle.c's
 * and reconcile.c's too), each with its log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/move.h"
#include "moves.h"

/* --------------------------------------------------------- dead letters */

/*
 * An event about entry id of stream/group held by consumer, its detail
 * {"reason": why[, "reconciled": true]} in p->dbuf (valid until its next use).
 */
static struct event
entry_event(struct pass *p, const char *kind, const char *stream, const char *group,
    struct entry_id id, const char *consumer, const char *why, bool reconciled)
{
	struct event ev = EVENT_INIT;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "reason", why);
	if (reconciled)
		jw_kbool(&w, "reconciled", true);
	jw_obj_end(&w);
	ev.kind = kind;
	ev.run = p->run;
	ev.stream = stream;
	ev.grp = group;
	ev.has_entry = true;
	ev.entry = id;
	ev.consumer = consumer;
	ev.detail = buf_str(&p->dbuf);
	return ev;
}

int
journal_dead_lettered(struct pass *p, const char *stream, const char *group,
    struct entry_id id, const struct dead_letter_ref *r, bool reconciled, struct xerr *err)
{
	struct event ev = entry_event(p, "dead_lettered", stream, group, id, r->consumer,
	    r->reason, reconciled);

	ev.deliveries = r->deliveries;
	ev.ref_stream = r->dlq;
	ev.has_ref = true;
	ev.ref = r->dlq_id;
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
	[TAKEN_HAND_OFF] = {"HAND-OFF",
	    "a live consumer claimed it before it could be handed off; left alone"},
};

int
journal_taken(struct pass *p, enum taken_at at, const char *stream, const char *group,
    struct entry_id id, const char *owner, bool reconciled, struct xerr *err)
{
	struct event ev = entry_event(p, "taken", stream, group, id, owner, taken_why[at].reason,
	    reconciled);
	struct logline l;
	char ids[ENTRY_ID_STRLEN];

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

/* One call's moves: from stream/group to dlq, a chunk at a time. */
struct dl_move {
	struct pass *p;
	const char *stream, *group;
	char *dlq;
	struct dead_letter *d;          /* the chunk's dead letters, CHUNK of them */
	struct copy_origin *orig;       /* ... and where each came from */
	struct copy_origins *origins;
};

/* The dead-letter key must be a stream, or not exist yet. */
static int
dlq_check(struct pass *p, const char *dlq, struct xerr *err)
{
	char type[16];

	if (redis_key_type(p->rc, dlq, type, err) < 0)
		return -1;
	if (strcmp(type, "stream") != 0 && strcmp(type, "none") != 0)
		return xerr_set(err, XR_EFAIL, "dead-letter stream '%s' is a %s, not a stream", dlq,
		    type);
	return 0;
}

/*
 * Fills mv->d with the entries es[0..m) and their reasons, and writes the
 * chunk's intent into p->dbuf.
 */
static int
dl_plan(struct dl_move *mv, struct held **es, const char **reasons, size_t m,
    struct xerr *err)
{
	struct pass *p = mv->p;
	struct dead_letter *d = mv->d;
	struct entry_id after;
	char after_s[ENTRY_ID_STRLEN];
	struct jw w;

	/* Where the dead letters will start: the next run looks there. */
	if (copy_first_id(p->rc, mv->dlq, &after, err) < 0)
		return -1;
	entry_id_format(after, after_s, sizeof(after_s));
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kint(&w, "run", p->run);
	jw_kstr(&w, "kind", "dead-letter");
	intent_kname(&w, "stream", mv->stream);
	intent_kname(&w, "group", mv->group);
	intent_kname(&w, "dlq", mv->dlq);
	intent_kname(&w, "consumer", p->cfg->consumer);
	jw_kstr(&w, "after", after_s);
	jw_key(&w, "entries");
	jw_arr(&w);
	for (size_t k = 0; k < m; k++) {
		const struct held *h = es[k];
		char id[ENTRY_ID_STRLEN];

		entry_id_format(h->e.id, id, sizeof(id));
		jw_arr(&w);
		jw_str(&w, id);
		if (h->e.consumer != NULL)
			intent_name(&w, h->e.consumer);
		else
			jw_null(&w);
		jw_int(&w, h->e.deliveries);
		jw_str(&w, reasons[k]);
		jw_arr_end(&w);
		d[k].id = h->e.id;
		d[k].fv = h->fv;
		d[k].nfv = h->nfv;
		/* A copy's dead letter names the entry it is a copy of, too. */
		copy_origin_free(&mv->orig[k]);
		if (journal_copy_origin(mv->origins, mv->stream, mv->group, h->e.id, &mv->orig[k],
		    err) < 0)
			return -1;
		d[k].origin_stream = mv->orig[k].is_copy ? mv->orig[k].stream : NULL;
		d[k].origin_group = mv->orig[k].grp;
		d[k].origin_id = mv->orig[k].id;
		d[k].consumer = h->e.consumer;
		d[k].deliveries = h->e.deliveries;
		d[k].reason = reasons[k];
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	return 0;
}

/*
 * Journals, in one transaction, what the move of mv->d[0..m) did: each
 * entry moved, each left to a live consumer.
 */
static int
dl_journal(struct dl_move *mv, const char **reasons, size_t m, long long *moved,
    struct xerr *err)
{
	struct pass *p = mv->p;
	struct dead_letter *d = mv->d;

	if (journal_begin(p->j, err) < 0)
		return -1;
	for (size_t k = 0; k < m; k++) {
		if (d[k].owner != NULL && journal_taken(p, TAKEN_DEAD_LETTER, mv->stream, mv->group,
		    d[k].id, d[k].owner, false, err) < 0) {
			journal_rollback(p->j);
			return -1;
		}
		if (!d[k].done)
			continue;
		struct dead_letter_ref ref = {d[k].consumer, d[k].deliveries, mv->dlq, d[k].dlq_id,
		    reasons[k]};
		if (journal_dead_lettered(p, mv->stream, mv->group, d[k].id, &ref, false, err) < 0) {
			journal_rollback(p->j);
			return -1;
		}
		(*moved)++;
	}
	return journal_commit(p->j, err);
}

/* The DEAD-LETTER line of each entry of mv->d[0..m) moved. */
static void
dl_log(const struct dl_move *mv, const char **reasons, size_t m)
{
	const struct dead_letter *d = mv->d;

	for (size_t k = 0; k < m; k++) {
		struct logline l;
		char ids[ENTRY_ID_STRLEN], dl[ENTRY_ID_STRLEN];

		if (!d[k].done)
			continue;
		entry_id_format(d[k].id, ids, sizeof(ids));
		entry_id_format(d[k].dlq_id, dl, sizeof(dl));
		ll_start(&l, LOG_WARN, "DEAD-LETTER", NULL);
		ll_str(&l, "entry", ids);
		ll_str(&l, "stream", mv->stream);
		ll_str(&l, "group", mv->group);
		ll_int(&l, "deliveries", d[k].deliveries);
		ll_str(&l, "dead_letter_stream", mv->dlq);
		ll_str(&l, "dead_letter_id", dl);
		ll_str(&l, "reason", reasons[k]);
		ll_emit(mv->p->lg, &l);
	}
}

/* Moves es[0..m) (at most CHUNK) with one request: intent, move, journal, log. */
static int
dl_chunk(struct dl_move *mv, struct held **es, const char **reasons, size_t m,
    long long *moved, struct xerr *err)
{
	struct pass *p = mv->p;
	int mrc, rc = -1;

	if (dl_plan(mv, es, reasons, m, err) < 0 ||
	    intent_append(p->intents, p->dbuf.data, p->dbuf.len, err) < 0)
		goto out;
	failpoint("dead-letter-planned");
	mrc = dead_letters_move(p->rc, mv->stream, mv->group, p->cfg->consumer, mv->dlq, mv->d, m,
	    err);
	failpoint("dead-letter-moved");
	/* Journal what was done even when part of the chunk was refused. */
	if (dl_journal(mv, reasons, m, moved, err) < 0)
		goto out;
	if (mrc < 0) {
		p->uncertain = p->uncertain || err->code == XR_EREDIS;
		goto out;
	}
	dl_log(mv, reasons, m);
	rc = 0;
out:
	for (size_t k = 0; k < m; k++) {
		free(mv->d[k].owner);
		mv->d[k].owner = NULL;
	}
	return rc;
}

int
dead_letter_entries(struct pass *p, const char *stream, const char *group, struct held **es,
    const char **reasons, size_t n, long long *moved, struct xerr *err)
{
	struct dl_move mv = {p, stream, group, dlq_name(p->cfg->dead_letter_stream, stream, group),
	    xcalloc(CHUNK, sizeof(*mv.d)), xcalloc(CHUNK, sizeof(*mv.orig)), NULL};
	int rc = -1;

	*moved = 0;
	if (dlq_check(p, mv.dlq, err) < 0 ||
	    pass_flush(p, err) < 0 || journal_origins_open(p->j, &mv.origins, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i += CHUNK)
		if (dl_chunk(&mv, es + i, reasons + i, n - i < CHUNK ? n - i : CHUNK, moved,
		    err) < 0)
			goto out;
	rc = 0;
out:
	for (size_t k = 0; k < CHUNK; k++)
		copy_origin_free(&mv.orig[k]);
	free(mv.orig);
	journal_origins_close(mv.origins);
	free(mv.d);
	free(mv.dlq);
	return rc;
}
