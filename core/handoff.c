/*
 * handoff.c: hands held entries over to a live consumer of their own
 * group (--action hand-off), for consumers that read their own pending
 * list (XREADGROUP ... 0).  No copy is made, so no other group of the
 * stream ever sees the entry again (guarantee 9).
 *
 * Guarantees: each request is written to the intent file before Redis
 * sees it; each entry is checked to be pending on the recovery consumer
 * and claimed to the live consumer in one Lua script, its ID and delivery
 * count unchanged; an entry a live consumer claimed meanwhile is left with
 * it.  Journals handed_off for each entry handed over (consumer: the one
 * it went to), taken for each left to another, and hand_off_waiting when
 * the group has no live consumer (the entries stay held).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/claim.h"
#include "../stream/move.h"
#include "moves.h"

int
journal_handed_off(struct pass *p, const char *stream, const char *group, struct entry_id id,
    const char *to, const char *from, const char *note, bool reconciled, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "from", from);
	if (note != NULL)
		jw_kstr(&w, "note", note);
	if (reconciled)
		jw_kbool(&w, "reconciled", true);
	jw_obj_end(&w);
	ev.kind = "handed_off";
	ev.run = p->run;
	ev.stream = stream;
	ev.grp = group;
	ev.has_entry = true;
	ev.entry = id;
	ev.consumer = to;
	ev.detail = buf_str(&p->dbuf);
	return journal_append(p->j, &ev, err);
}

/*
 * The live consumer of stream/group that gets the entries: the one seen
 * most recently, idle less than the group's claim threshold (live_ms:
 * --claim-idle, or what `auto` chose for the group), neither the recovery
 * consumer nor excluded.  *ret NULL when there is none (the caller frees
 * it).
 */
static int
pick_consumer(struct pass *p, const char *stream, const char *group, int64_t live_ms,
    char **ret, struct xerr *err)
{
	struct consumer_info *cs = NULL;
	size_t n = 0;
	const struct consumer_info *best = NULL;

	*ret = NULL;
	if (redis_consumers(p->rc, stream, group, &cs, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct consumer_info *c = &cs[i];

		if (strcmp(c->name, p->cfg->consumer) == 0 ||
		    consumer_excluded(c->name, p->cfg->exclude) ||
		    c->idle_ms >= live_ms)
			continue;
		if (best == NULL || c->idle_ms < best->idle_ms)
			best = c;
	}
	if (best != NULL)
		*ret = xstrdup(best->name);
	consumer_info_free(cs, n);
	return 0;
}

/* No live consumer: the entries stay held; said in the log and the journal. */
static int
hand_off_waiting(struct pass *p, struct group_result *gr, size_t n, struct xerr *err)
{
	static const char why[] = "no live consumer in the group (idle less than its claim threshold, "
	    "not excluded); the entries stay held until a later run finds one";
	struct event ev = EVENT_INIT;
	struct logline l;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kint(&w, "held", (int64_t)n);
	jw_kstr(&w, "reason", why);
	jw_obj_end(&w);
	ev.kind = "hand_off_waiting";
	ev.run = p->run;
	ev.stream = gr->stream;
	ev.grp = gr->group;
	ev.detail = buf_str(&p->dbuf);
	if (pass_append(p, &ev, err) < 0)
		return -1;
	ll_start(&l, LOG_WARN, "HAND-OFF", NULL);
	ll_int(&l, "waiting", (int64_t)n);
	ll_str(&l, "stream", gr->stream);
	ll_str(&l, "group", gr->group);
	ll_str(&l, "reason", why);
	ll_emit(p->lg, &l);
	return 0;
}

/* One request: intent, the hand-off, the journal. */
static int
hand_off_chunk(struct pass *p, struct group_result *gr, const char *to, struct held *const *es,
    size_t m, struct entry_id *ids, bool *done, char **owner, struct xerr *err)
{
	struct jw w;
	int hrc, rc = -1;

	pass_intent_head(p, &w, "hand-off", gr->stream, gr->group);
	intent_kname(&w, "consumer", p->cfg->consumer);
	intent_kname(&w, "to", to);
	jw_key(&w, "entries");
	jw_arr(&w);
	for (size_t k = 0; k < m; k++) {
		char id[ENTRY_ID_STRLEN];

		ids[k] = es[k]->e.id;
		entry_id_format(ids[k], id, sizeof(id));
		jw_str(&w, id);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (intent_append(p->intents, p->dbuf.data, p->dbuf.len, err) < 0)
		return -1;
	hrc = hand_off(p->rc, gr->stream, gr->group, p->cfg->consumer, to, ids, m, done, owner,
	    err);
	if (hrc < 0) {
		p->uncertain = p->uncertain || err->code == XR_EREDIS;
		return -1;
	}
	failpoint("hand-off-sent");
	if (pass_flush(p, err) < 0 || journal_begin(p->j, err) < 0)
		goto out;
	for (size_t k = 0; k < m; k++) {
		int jrc = 0;

		if (done[k])
			jrc = journal_handed_off(p, gr->stream, gr->group, ids[k], to, p->cfg->consumer,
			    NULL, false, err);
		else if (owner[k] != NULL)
			jrc = journal_taken(p, TAKEN_HAND_OFF, gr->stream, gr->group, ids[k], owner[k],
			    false, err);
		if (jrc < 0) {
			journal_rollback(p->j);
			goto out;
		}
		gr->handed_off += done[k];
	}
	if (journal_commit(p->j, err) < 0)
		goto out;
	rc = 0;
out:
	for (size_t k = 0; k < m; k++) {
		free(owner[k]);
		owner[k] = NULL;
	}
	return rc;
}

int
hand_off_held(struct pass *p, struct group_result *gr, struct held_list *l, struct xerr *err)
{
	struct entry_id *ids = xcalloc(CHUNK, sizeof(*ids));
	bool *done = xcalloc(CHUNK, sizeof(*done));
	char **owner = xcalloc(CHUNK, sizeof(*owner));
	struct held **es = xcalloc(l->n + 1, sizeof(*es));
	char *to = NULL;
	struct logline lg;
	int rc = -1;

	if (pick_consumer(p, gr->stream, gr->group,
	    gr->idle.ms >= 0 ? gr->idle.ms : p->cfg->claim_idle_ms, &to, err) < 0)
		goto out;
	if (to == NULL) {
		rc = hand_off_waiting(p, gr, l->n, err);
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		es[i] = &l->v[i];
	for (size_t i = 0; i < l->n && !*p->stop; i += CHUNK)
		if (hand_off_chunk(p, gr, to, es + i, l->n - i < CHUNK ? l->n - i : CHUNK, ids, done,
		    owner, err) < 0)
			goto out;
	ll_start(&lg, LOG_INFO, "HAND-OFF", NULL);
	ll_int(&lg, "handed_off", gr->handed_off);
	ll_str(&lg, "stream", gr->stream);
	ll_str(&lg, "group", gr->group);
	ll_str(&lg, "consumer", to);
	ll_emit(p->lg, &lg);
	rc = 0;
out:
	free(to);
	free(es);
	free(ids);
	free(done);
	free(owner);
	return rc;
}
