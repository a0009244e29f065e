/*
 * reconcile.c: finishing what a killed run left (guarantee 3).
 *
 * A run writes an intent line before every claim page and every consumer
 * deletion (store/intent.h) and journals the outcome afterwards, in
 * batches.  When a run is killed in between, the intent file is not empty
 * at the next run.  For each planned entry that has no claim or lost event
 * since the killed run started, Redis is asked where it is now:
 *
 *   pending on the recovery consumer   -> claim_reconciled, with its payload
 *   gone from the stream and not pending elsewhere -> lost
 *   its group destroyed (NOGROUP, the stream still there) -> lost, with
 *                                         its payload if the stream has it
 *   anywhere else                      -> not journalled: the claim never
 *                                         happened (or happened in a group
 *                                         destroyed and made again since)
 *
 * and for each consumer it set out to delete, whether it still exists (a
 * destroyed group's consumers went with it).
 * Then every run without a run_end gets one with status "crashed".
 *
 * Each record is reconciled in a transaction of its own and then taken
 * out of the intent file.  A record that cannot be reconciled now (Redis
 * refuses, NOPERM, or goes away) stays in the file for the next command,
 * whatever this one does after.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../stream/move.h"
#include "moves.h"
#include "record.h"

static const char *const claimed_kinds[] = {"claim", "claim_reconciled", "lost", NULL};

/* *gone: what the record's earlier entries found gone (then not asked again). */
static int
reconcile_entry(struct rx *rx, int64_t run, int64_t since, const char *stream,
    const char *group, const char *consumer, struct entry_id id, const char *owner,
    int64_t idle, int64_t deliveries, enum gone *gone)
{
	struct pass *p = rx->p;
	char ids[ENTRY_ID_STRLEN];
	bool done;
	redisReply *pend = NULL, *range = NULL;
	int rc = -1;

	if (journal_entry_has(p->j, stream, group, id, claimed_kinds, since, &done, rx->err) < 0)
		return -1;
	if (done)
		return 0;
	entry_id_format(id, ids, sizeof(ids));
	if (*gone == GONE_NOT) {
		pend = rconn_cmd(p->rc, rx->err, "XPENDING %s %s %s %s 1", stream, group, ids, ids);
		if (pend == NULL && group_gone(rx, stream, group, gone) < 0)
			goto out;
	}
	if (*gone != GONE_STREAM &&
	    (range = rconn_cmd(p->rc, rx->err, "XRANGE %s %s %s", stream, ids, ids)) == NULL)
		goto out;
	bool pending = pend != NULL && pend->type == REDIS_REPLY_ARRAY && pend->elements == 1 &&
	    pend->element[0]->type == REDIS_REPLY_ARRAY && pend->element[0]->elements >= 2;
	bool ours = pending && strcmp(pend->element[0]->element[1]->str, consumer) == 0;
	bool exists = range != NULL && range->type == REDIS_REPLY_ARRAY && range->elements == 1;

	struct event ev = EVENT_INIT;
	ev.run = p->run;
	ev.stream = stream;
	ev.grp = group;
	ev.has_entry = true;
	ev.entry = id;
	ev.consumer = owner;
	ev.idle_ms = idle;
	ev.deliveries = deliveries;
	if (ours && exists) {
		struct jw w;
		pass_encode_payload(p, range->element[0]->element[1]);
		buf_reset(&p->dbuf);
		jw_init(&w, &p->dbuf);
		jw_obj(&w);
		jw_kint(&w, "claimed_by_run", run);
		jw_obj_end(&w);
		ev.kind = "claim_reconciled";
		ev.payload = buf_str(&p->pbuf);
		ev.payload_len = p->pbuf.len;
		ev.detail = buf_str(&p->dbuf);
		if (journal_append(p->j, &ev, rx->err) < 0)
			goto out;
		rx->n.claimed++;
	} else if (*gone == GONE_GROUP || (!exists && (ours || !pending))) {
		/* The pending list went with the group: claimed or not, no one holds it. */
		char reason[200];
		struct jw w;
		snprintf(reason, sizeof(reason), "%s; found gone while reconciling killed run %lld",
		    *gone == GONE_STREAM ? "the stream was deleted" :
		    *gone == GONE_GROUP ? "the group was destroyed" : "deleted from the stream",
		    (long long)run);
		if (exists) {
			/* What the entry held, for the record. */
			pass_encode_payload(p, range->element[0]->element[1]);
			ev.payload = buf_str(&p->pbuf);
			ev.payload_len = p->pbuf.len;
		}
		buf_reset(&p->dbuf);
		jw_init(&w, &p->dbuf);
		jw_obj(&w);
		jw_kstr(&w, "reason", reason);
		jw_kint(&w, "claimed_by_run", run);
		jw_obj_end(&w);
		ev.kind = "lost";
		ev.detail = buf_str(&p->dbuf);
		if (journal_append(p->j, &ev, rx->err) < 0)
			goto out;
		rx->n.lost++;
		pass_log_lost(p, stream, group, id, owner, idle, deliveries, reason);
	}
	rc = 0;
out:
	if (pend != NULL)
		freeReplyObject(pend);
	if (range != NULL)
		freeReplyObject(range);
	return rc;
}

static int
reconcile_claim(struct rx *rx, const cJSON *d, int64_t run, int64_t since,
    const char *stream, const char *group)
{
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(d, "entries");
	const cJSON *owners = cJSON_GetObjectItemCaseSensitive(d, "owners");
	const char *consumer = name_of(rx, cJSON_GetObjectItemCaseSensitive(d, "consumer"));
	const cJSON *e;
	enum gone gone = GONE_NOT;

	if (!cJSON_IsArray(entries) || consumer == NULL)
		return xerr_set(rx->err, XR_EFAIL, "intent file: malformed claim record");
	cJSON_ArrayForEach(e, entries) {
		const cJSON *f0 = cJSON_GetArrayItem(e, 0), *f1 = cJSON_GetArrayItem(e, 1);
		const cJSON *f2 = cJSON_GetArrayItem(e, 2), *f3 = cJSON_GetArrayItem(e, 3);
		const char *owner = NULL;
		struct entry_id id;

		if (!cJSON_IsString(f0) ||
		    entry_id_parse(f0->valuestring, strlen(f0->valuestring), &id) < 0)
			continue;
		if (cJSON_IsNumber(f1)) {
			owner = name_of(rx, cJSON_GetArrayItem(owners, f1->valueint));
		}
		if (reconcile_entry(rx, run, since, stream, group, consumer, id,
		    owner, cJSON_IsNumber(f2) ? (int64_t)f2->valuedouble : -1,
		    cJSON_IsNumber(f3) ? (int64_t)f3->valuedouble : -1, &gone) < 0)
			return -1;
	}
	return 0;
}

static int
reconcile_delete(struct rx *rx, const cJSON *d, int64_t since, const char *stream,
    const char *group)
{
	struct pass *p = rx->p;
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(d, "candidates"), *c;
	struct consumer_info *cs = NULL;
	size_t ncs = 0;
	enum gone gone;
	int rc = -1;

	if (!cJSON_IsArray(cands))
		return xerr_set(rx->err, XR_EFAIL, "intent file: malformed delete record");
	/* The group (or its stream) gone: every candidate went with it. */
	if (redis_consumers(p->rc, stream, group, &cs, &ncs, rx->err) < 0 &&
	    group_gone(rx, stream, group, &gone) < 0)
		return -1;
	cJSON_ArrayForEach(c, cands) {
		const char *name = name_of(rx, cJSON_GetObjectItemCaseSensitive(c, "name"));
		const cJSON *idle = cJSON_GetObjectItemCaseSensitive(c, "idle_ms");
		struct zombie_result z = {0};
		bool exists = false, done;

		if (name == NULL)
			continue;
		if (journal_consumer_has(p->j, stream, group, name, since, &done, rx->err) < 0)
			goto out;
		if (done)
			continue;
		for (size_t i = 0; i < ncs; i++)
			exists = exists || strcmp(cs[i].name, name) == 0;
		z.name = (char *)name;      /* only read */
		z.outcome = exists ? ZOMBIE_KEPT_ACTIVE : ZOMBIE_DELETED;
		z.idle_ms = cJSON_IsNumber(idle) ? (long long)idle->valuedouble : -1;
		z.inactive_ms = -1;
		if (pass_journal_zombie(p, stream, group, &z, true, rx->err) < 0)
			goto out;
		if (exists)
			rx->n.kept++;
		else
			rx->n.deleted++;
	}
	rc = 0;
out:
	consumer_info_free(cs, ncs);
	return rc;
}

/* Whether an error ends reconciling (Redis gone, journal unwritable), or only the record. */
static bool
fatal(const struct xerr *e)
{
	return e->code == XR_EREDIS || e->code == XR_EJOURNAL;
}

/* Remembers that the entries of stream/group are touched by an unreconciled record. */
static void
hold_back(struct pass *p, const char *stream, const char *group, const char *why)
{
	if (stream == NULL || group == NULL)
		return;
	for (size_t i = 0; i < p->nunsettled; i++)
		if (strcmp(p->unsettled[i].stream, stream) == 0 &&
		    strcmp(p->unsettled[i].group, group) == 0)
			return;
	p->unsettled = xrealloc(p->unsettled, (p->nunsettled + 1) * sizeof(*p->unsettled));
	p->unsettled[p->nunsettled].stream = xstrdup(stream);
	p->unsettled[p->nunsettled].group = xstrdup(group);
	p->nunsettled++;
	/* One line per group, however many of its records stay. */
	struct logline l;
	ll_start(&l, LOG_ERROR, "RECONCILE", NULL);
	ll_str(&l, "stream", stream);
	ll_str(&l, "group", group);
	ll_str(&l, "error", why);
	ll_str(&l, "intents", "kept for the next run");
	ll_emit(p->lg, &l);
}

/* A record that stays in the intent file: said once per group, and why. */
static void
keep_record(struct rx *rx, const cJSON *d, const char *k, int64_t run, int64_t batch,
    const char *stream, const char *group, const struct xerr *why)
{
	struct pass *p = rx->p;
	const cJSON *e;

	if (rx->unreconciled++ == 0) {
		char who[64];
		if (run > 0)
			snprintf(who, sizeof(who), "killed run %lld", (long long)run);
		else
			snprintf(who, sizeof(who), "a killed command");
		if (stream != NULL && group != NULL)
			xerr_set(&p->rec_error, XR_EFAIL, "intents of %s about stream '%s' group '%s' "
			    "are kept for the next run: %s", who, stream, group, why->msg);
		else if (batch > 0)
			xerr_set(&p->rec_error, XR_EFAIL, "intents of %s about replay batch %lld are "
			    "kept for the next run: %s", who, (long long)batch, why->msg);
		else
			xerr_set(&p->rec_error, XR_EFAIL, "intents of %s are kept for the next run: %s",
			    who, why->msg);
	}
	if (strcmp(k, "copy") == 0 || strcmp(k, "rollback") == 0) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(d,
		    strcmp(k, "copy") == 0 ? "entries" : "copies");
		int at = strcmp(k, "copy") == 0 ? 0 : 1;
		cJSON_ArrayForEach(e, list)
			hold_back(p, item_name(rx, e, at), item_name(rx, e, at + 1), why->msg);
	} else {
		hold_back(p, stream, group, why->msg);
	}
}

static int
reconcile_record(void *ctx, const char *line)
{
	struct rx *rx = ctx;
	struct pass *p = rx->p;
	cJSON *d = cJSON_Parse(line);
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(d, "run");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(d, "kind");
	const char *stream = name_of(rx, cJSON_GetObjectItemCaseSensitive(d, "stream"));
	const char *group = name_of(rx, cJSON_GetObjectItemCaseSensitive(d, "group"));
	const cJSON *batch = cJSON_GetObjectItemCaseSensitive(d, "batch");
	const char *to = name_of(rx, cJSON_GetObjectItemCaseSensitive(d, "to"));
	const char *k = cJSON_IsString(kind) ? kind->valuestring : "";
	bool moves = strcmp(k, "copy") == 0 || strcmp(k, "rollback") == 0;
	int64_t runno = cJSON_IsNumber(run) ? (int64_t)run->valuedouble : 0;
	int64_t batchno = cJSON_IsNumber(batch) ? (int64_t)batch->valuedouble : 0;
	struct counts before = rx->n;
	struct xerr rerr = {0};
	int64_t since = 0;
	int rc = -1;

	rx->err = &rerr;
	if (!cJSON_IsNumber(run) || (!moves && (stream == NULL || group == NULL)) ||
	    (moves && !cJSON_IsNumber(batch))) {
		xerr_set(&rerr, XR_EFAIL, "intent file: malformed record");
		goto keep;
	}
	if (journal_run_start_seq(p->j, runno, &since, &rerr) < 0)
		goto failed;
	if (journal_begin(p->j, &rerr) < 0)
		goto failed;
	if (strcmp(k, "claim") == 0)
		rc = reconcile_claim(rx, d, runno, since, stream, group);
	else if (strcmp(k, "delete") == 0)
		rc = reconcile_delete(rx, d, since, stream, group);
	else if (strcmp(k, "copy") == 0)
		rc = reconcile_copy(rx, d, batchno, to);
	else if (strcmp(k, "dead-letter") == 0)
		rc = reconcile_dead_letter(rx, d, since, stream, group);
	else if (strcmp(k, "rollback") == 0)
		rc = reconcile_rollback(rx, d, batchno, to);
	else if (strcmp(k, "hand-off") == 0)
		rc = reconcile_hand_off(rx, d, since, stream, group);
	else
		rc = 0;
	if (rc < 0) {
		journal_rollback(p->j);
		rx->n = before;         /* nothing of it was journalled */
		goto failed;
	}
	if (journal_commit(p->j, &rerr) < 0) {
		rx->n = before;
		goto failed;
	}
	rc = INTENT_DONE;
	goto out;
failed:
	if (fatal(&rerr)) {
		*rx->out = rerr;
		rc = -1;
		goto out;
	}
keep:
	keep_record(rx, d, k, runno, batchno, stream, group, &rerr);
	rc = INTENT_KEEP;
out:
	names_free(rx);
	cJSON_Delete(d);
	rx->err = NULL;
	return rc;
}

static int
count_copy(void *ctx, const struct copy_row *c)
{
	(void)c;
	(*(size_t *)ctx)++;
	return 0;
}

int
reconcile(struct pass *p, struct xerr *err)
{
	struct rx rx = {0};
	int64_t *runs = NULL;
	size_t n = 0;
	int pending;
	int rc = -1;

	rx.p = p;
	rx.out = err;
	if (intent_pending(p->intents, &pending, err) < 0)
		return -1;
	if (pending && intent_each(p->intents, reconcile_record, &rx, err) < 0) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		xerr_set(err, err->code, "%s (while reconciling what a killed command left; the "
		    "intents not reconciled yet are kept for the next run)", msg);
		return -1;
	}

	/* Replays that a kill cut short end here, with what they did copy. */
	int64_t *batches = NULL;
	size_t nb = 0;
	if (journal_unended_batches(p->j, &batches, &nb, err) < 0)
		return -1;
	for (size_t i = 0; i < nb; i++) {
		size_t copied = 0;
		if (journal_batch_copies(p->j, batches[i], count_copy, &copied, err) < 0 ||
		    batch_end(p, batches[i], "crashed", copied, err) < 0) {
			free(batches);
			return -1;
		}
	}
	free(batches);

	if (journal_unfinished_runs(p->j, &runs, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct event ev = EVENT_INIT;
		struct jw w;

		int64_t claimed, lost, deleted;

		if (runs[i] == p->run)
			continue;
		if (journal_run_counts(p->j, runs[i], &claimed, &lost, &deleted, err) < 0)
			goto out;
		buf_reset(&p->dbuf);
		jw_init(&w, &p->dbuf);
		jw_obj(&w);
		jw_kstr(&w, "status", "crashed");
		jw_kint(&w, "claimed", claimed);
		jw_kint(&w, "lost", lost);
		jw_kint(&w, "deleted", deleted);
		jw_kint(&w, "reconciled_by", p->run);
		jw_obj_end(&w);
		ev.kind = "run_end";
		ev.run = runs[i];
		ev.detail = buf_str(&p->dbuf);
		if (pass_append(p, &ev, err) < 0)
			goto out;
	}
	size_t crashed = 0;
	for (size_t i = 0; i < n; i++)
		crashed += runs[i] != p->run;
	if (pending || crashed > 0 || nb > 0) {
		struct logline l;
		ll_start(&l, LOG_WARN, "RECONCILE", NULL);
		ll_int(&l, "crashed_runs", (int64_t)crashed);
		ll_int(&l, "crashed_replays", (int64_t)nb);
		ll_int(&l, "claimed", rx.n.claimed);
		ll_int(&l, "lost", rx.n.lost);
		ll_int(&l, "deleted", rx.n.deleted);
		ll_int(&l, "kept", rx.n.kept);
		ll_int(&l, "copies", rx.n.copies);
		ll_int(&l, "dead_lettered", rx.n.dead_lettered);
		ll_int(&l, "removed", rx.n.removed);
		if (rx.n.handed_off > 0)
			ll_int(&l, "handed_off", rx.n.handed_off);
		if (rx.unreconciled > 0)
			ll_int(&l, "unreconciled", rx.unreconciled);
		ll_emit(p->lg, &l);
	}
	/* Crashed runs that left no intents: look at what is held, group by group. */
	p->sweep = !pending && crashed > 0;
	p->rec.crashed += (long long)crashed;
	p->rec.claimed += rx.n.claimed;
	p->rec.lost += rx.n.lost;
	p->rec.deleted += rx.n.deleted;
	p->rec.copies += rx.n.copies;
	p->rec.dead_lettered += rx.n.dead_lettered;
	p->rec.removed += rx.n.removed;
	/* What was reconciled left the intent file; what was not stays in it. */
	p->rec.unreconciled += rx.unreconciled;
	rc = 0;
out:
	free(runs);
	return rc;
}
