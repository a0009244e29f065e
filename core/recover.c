/*
 * recover.c: one recovery pass (see recover.h): the journal first, then
 * reconciliation of a killed run, then claim and clean per group.
 */
#include <cjson/cJSON.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/util.h"
#include "../store/journal.h"
#include "../store/payload.h"
#include "../stream/claim.h"
#include "../stream/redis.h"
#include "../stream/zombie.h"
#include "recover.h"
#include "select.h"

struct pass {
	const struct config *cfg;
	const struct mode *mode;
	const struct logger *lg;
	volatile sig_atomic_t *stop;
	struct journal *j;          /* NULL in a dry run */
	struct rconn *rc;
	struct recover_result *res;
	int64_t run;
	bool dry;

	struct buf pbuf;            /* payload JSON, reused */
	struct buf dbuf;            /* detail JSON, reused */
	struct bytes *fv;           /* fields of one entry, reused */
	size_t fv_cap;
	struct xerr first_error;    /* the first group failure, for the summary */
};

static const char *const claimed_kinds[] = {"claim", "claim_reconciled", "lost", NULL};

/* ------------------------------------------------------------ helpers */

static void
log_error(struct pass *p, const char *stream, const char *group, const char *msg)
{
	struct logline l;

	ll_start(&l, LOG_ERROR, "ERROR", NULL);
	if (stream != NULL)
		ll_str(&l, "stream", stream);
	if (group != NULL)
		ll_str(&l, "group", group);
	ll_str(&l, "error", msg);
	ll_emit(p->lg, &l);
}

static void
log_warn(struct pass *p, const char *stream, const char *group, const char *msg)
{
	struct logline l;

	ll_start(&l, LOG_WARN, "WARN", NULL);
	if (stream != NULL)
		ll_str(&l, "stream", stream);
	if (group != NULL)
		ll_str(&l, "group", group);
	ll_str(&l, "warning", msg);
	ll_emit(p->lg, &l);
}

/* Appends one event in its own transaction. */
static int
append_one(struct pass *p, const struct event *ev, struct xerr *err)
{
	if (journal_begin(p->j, err) < 0)
		return -1;
	if (journal_append(p->j, ev, err) < 0) {
		journal_rollback(p->j);
		return -1;
	}
	return journal_commit(p->j, err);
}

/* A failure confined to one group: logged, journalled, and the pass goes on. */
static int
group_failed(struct pass *p, struct group_result *gr, const struct xerr *gerr,
    struct xerr *err)
{
	log_error(p, gr->stream, gr->group, gerr->msg);
	free(gr->error);
	gr->error = xstrdup(gerr->msg);
	p->res->errors++;
	if (p->first_error.msg[0] == '\0')
		p->first_error = *gerr;
	if (p->dry)
		return 0;
	struct event ev = EVENT_INIT;
	struct jw w;
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "message", gerr->msg);
	jw_obj_end(&w);
	ev.kind = "error";
	ev.run = p->run;
	ev.stream = gr->stream;
	ev.grp = gr->group;
	ev.detail = buf_str(&p->dbuf);
	return append_one(p, &ev, err);
}

/* The fields of a claimed entry as byte strings (they point into the reply). */
static size_t
reply_fields(struct pass *p, const redisReply *f)
{
	if (p->fv_cap < f->elements) {
		p->fv_cap = f->elements;
		p->fv = xrealloc(p->fv, p->fv_cap * sizeof(*p->fv));
	}
	for (size_t i = 0; i < f->elements; i++) {
		p->fv[i].p = f->element[i]->str;
		p->fv[i].n = f->element[i]->len;
	}
	return f->elements;
}

/* ------------------------------------------------------------- claim */

/* Journals the plan of the next page before it is claimed. */
static int
journal_intent(struct pass *p, const char *stream, const char *group,
    const struct pending_entry *plan, size_t n, struct xerr *err)
{
	const char *owners[64];
	size_t nowners = 0;
	struct event ev = EVENT_INIT;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "consumer", p->cfg->consumer);
	jw_kint(&w, "min_idle_ms", p->cfg->claim_idle_ms);
	jw_key(&w, "entries");
	jw_arr(&w);
	for (size_t i = 0; i < n; i++) {
		char id[ENTRY_ID_STRLEN];
		size_t o;

		/* Owners by index into a small table; a page rarely has many. */
		for (o = 0; o < nowners && strcmp(owners[o], plan[i].owner) != 0; o++)
			;
		if (o == nowners && nowners < 64)
			owners[nowners++] = plan[i].owner;
		entry_id_format(plan[i].id, id, sizeof(id));
		jw_arr(&w);
		jw_str(&w, id);
		if (o < nowners)
			jw_int(&w, (int64_t)o);
		else
			jw_str(&w, plan[i].owner);
		jw_int(&w, plan[i].idle_ms);
		jw_int(&w, plan[i].deliveries);
		jw_arr_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "owners");
	jw_arr(&w);
	for (size_t o = 0; o < nowners; o++)
		jw_str(&w, owners[o]);
	jw_arr_end(&w);
	jw_obj_end(&w);

	ev.kind = "claim_intent";
	ev.run = p->run;
	ev.stream = stream;
	ev.grp = group;
	ev.detail = buf_str(&p->dbuf);
	return append_one(p, &ev, err);
}

static const char lost_reason[] =
    "deleted from the stream while pending; Redis dropped it from the "
    "pending list when xrecover claimed it";

static void
log_lost(struct pass *p, const char *stream, const char *group,
    struct entry_id id, const char *owner, int64_t idle, int64_t deliveries,
    const char *reason)
{
	char ids[ENTRY_ID_STRLEN];
	struct logline l;

	entry_id_format(id, ids, sizeof(ids));
	ll_start(&l, LOG_WARN, "LOST", NULL);
	ll_str(&l, "entry", ids);
	ll_str(&l, "stream", stream);
	ll_str(&l, "group", group);
	ll_str(&l, "consumer", owner);
	ll_int(&l, "idle_ms", idle);
	ll_int(&l, "deliveries", deliveries);
	ll_str(&l, "reason", reason);
	ll_emit(p->lg, &l);
}

static int
journal_claimed(struct pass *p, const char *stream, const char *group,
    const struct claim_page *pg, struct group_result *gr, struct xerr *err)
{
	if (pg->n == 0)
		return 0;
	if (journal_begin(p->j, err) < 0)
		return -1;
	for (size_t i = 0; i < pg->n; i++) {
		const struct claimed_entry *ce = &pg->e[i];
		struct event ev = EVENT_INIT;

		ev.run = p->run;
		ev.stream = stream;
		ev.grp = group;
		ev.has_entry = true;
		ev.entry = ce->was.id;
		ev.consumer = ce->was.owner;
		ev.idle_ms = ce->was.idle_ms;
		ev.deliveries = ce->was.deliveries;
		if (ce->fate == FATE_CLAIMED) {
			size_t n = reply_fields(p, ce->fields);
			buf_reset(&p->pbuf);
			payload_encode(p->fv, n, &p->pbuf);
			ev.kind = "claim";
			ev.payload = buf_str(&p->pbuf);
			ev.payload_len = p->pbuf.len;
		} else {
			struct jw w;
			buf_reset(&p->dbuf);
			jw_init(&w, &p->dbuf);
			jw_obj(&w);
			jw_kstr(&w, "reason", lost_reason);
			jw_obj_end(&w);
			ev.kind = "lost";
			ev.detail = buf_str(&p->dbuf);
		}
		if (journal_append(p->j, &ev, err) < 0) {
			journal_rollback(p->j);
			return -1;
		}
	}
	if (journal_commit(p->j, err) < 0)
		return -1;
	for (size_t i = 0; i < pg->n; i++) {
		const struct claimed_entry *ce = &pg->e[i];
		if (ce->fate == FATE_CLAIMED) {
			gr->claimed++;
		} else {
			gr->lost++;
			log_lost(p, stream, group, ce->was.id, ce->was.owner, ce->was.idle_ms,
			    ce->was.deliveries, lost_reason);
		}
	}
	return 0;
}

static void
log_page_debug(struct pass *p, const char *stream, const char *group,
    const struct claim_page *pg)
{
	struct logline l;

	ll_start(&l, LOG_DEBUG, "PAGE", NULL);
	ll_str(&l, "stream", stream);
	ll_str(&l, "group", group);
	ll_int(&l, "listed", (int64_t)pg->listed);
	ll_int(&l, "taken", (int64_t)pg->n);
	ll_int(&l, "held", (int64_t)pg->held);
	ll_int(&l, "excluded", (int64_t)pg->excluded);
	ll_int(&l, "young", (int64_t)pg->young);
	ll_int(&l, "raced", (int64_t)pg->raced);
	ll_emit(p->lg, &l);
}

/*
 * Drains one group.  Per page: journal the plan, send the claim (and the
 * next listing), journal the previous page while Redis works, read.
 */
static int
claim_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	struct claim_opts o = {
		.consumer = p->cfg->consumer,
		.min_idle_ms = p->cfg->claim_idle_ms,
		.batch = (int)p->cfg->batch,
		.exclude = p->cfg->exclude,
	};
	struct claimer *cl = NULL;
	struct claim_page page;
	bool have_page = false;
	long long would = 0;
	int rc = -1;

	if (claimer_start(p->rc, gr->stream, gr->group, &o, &cl, err) < 0)
		return -1;
	while (!claimer_done(cl) && !*p->stop) {
		size_t n;
		const struct pending_entry *plan = claimer_plan(cl, &n);

		if (p->dry) {
			/* Count what would be claimed, page by page, changing nothing. */
			would += (long long)n;
			if (!claimer_more(cl))
				break;
			if (claimer_skip(cl, err) < 0)
				goto out;
			continue;
		}
		if (n > 0 && journal_intent(p, gr->stream, gr->group, plan, n, err) < 0)
			goto out;
		if (claimer_send(cl, err) < 0)
			goto out;
		if (have_page) {
			log_page_debug(p, gr->stream, gr->group, &page);
			if (journal_claimed(p, gr->stream, gr->group, &page, gr, err) < 0)
				goto out;
		}
		if (claimer_recv(cl, &page, err) < 0)
			goto out;
		have_page = true;
	}
	if (have_page) {
		log_page_debug(p, gr->stream, gr->group, &page);
		if (journal_claimed(p, gr->stream, gr->group, &page, gr, err) < 0)
			goto out;
	}
	if (p->dry)
		gr->claimed = would;
	rc = 0;
out:
	claimer_free(cl);
	if (rc == 0 && (gr->claimed > 0 || gr->lost > 0 || p->cfg->verbose > 0)) {
		struct logline l;
		ll_start(&l, LOG_INFO, "RECOVER", p->dry ? "DRY-RUN" : "XCLAIM");
		ll_int(&l, p->dry ? "would_claim" : "claimed", gr->claimed);
		ll_str(&l, "stream", gr->stream);
		ll_str(&l, "group", gr->group);
		ll_str(&l, "consumer", p->cfg->consumer);
		ll_dur(&l, "idle_threshold", p->cfg->claim_idle_ms);
		if (gr->lost > 0)
			ll_int(&l, "lost", gr->lost);
		ll_emit(p->lg, &l);
	}
	return rc;
}

/* ------------------------------------------------------------- clean */

static bool
is_zombie(const struct pass *p, const struct consumer_info *c)
{
	int64_t quiet = c->idle_ms;

	if (p->rc->has_inactive && c->inactive_ms >= 0)
		quiet = c->inactive_ms;
	return c->pending == 0 && quiet >= p->cfg->zombie_idle_ms &&
	    strcmp(c->name, p->cfg->consumer) != 0 &&
	    !consumer_excluded(c->name, p->cfg->exclude);
}

static void
log_deleted(struct pass *p, const char *stream, const char *group, const char *name,
    long long idle, long long pending, bool dry)
{
	struct logline l;

	ll_start(&l, LOG_INFO, "CLEAN", dry ? "DRY-RUN" : NULL);
	ll_str(&l, dry ? "would_delete_consumer" : "deleted_consumer", name);
	ll_str(&l, "stream", stream);
	ll_str(&l, "group", group);
	ll_int(&l, "idle_ms", idle);
	ll_int(&l, "pending", pending);
	ll_emit(p->lg, &l);
}

/* Journals one zombie outcome (deleted or kept) inside a transaction. */
static int
journal_zombie(struct pass *p, const char *stream, const char *group,
    const struct zombie_result *z, bool reconciled, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kint(&w, "pending", z->pending);
	if (z->inactive_ms >= 0)
		jw_kint(&w, "inactive_ms", z->inactive_ms);
	if (z->outcome != ZOMBIE_DELETED)
		jw_kstr(&w, "reason", zombie_outcome_name(z->outcome));
	if (reconciled)
		jw_kbool(&w, "reconciled", true);
	jw_obj_end(&w);
	ev.kind = z->outcome == ZOMBIE_DELETED ? "consumer_deleted" : "consumer_kept";
	ev.run = p->run;
	ev.stream = stream;
	ev.grp = group;
	ev.consumer = z->name;
	ev.idle_ms = z->idle_ms;
	ev.detail = buf_str(&p->dbuf);
	return journal_append(p->j, &ev, err);
}

static int
clean_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	struct consumer_info *cs = NULL;
	struct zombie_result *zr = NULL;
	char **names = NULL;
	size_t ncs = 0, n = 0;
	int rc = -1;

	if (redis_consumers(p->rc, gr->stream, gr->group, &cs, &ncs, err) < 0)
		return -1;
	names = xcalloc(ncs + 1, sizeof(*names));
	for (size_t i = 0; i < ncs; i++)
		if (is_zombie(p, &cs[i]))
			names[n++] = cs[i].name;
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (p->dry) {
		for (size_t i = 0; i < ncs; i++)
			if (is_zombie(p, &cs[i]))
				log_deleted(p, gr->stream, gr->group, cs[i].name, cs[i].idle_ms, 0, true);
		gr->deleted = (long long)n;
		rc = 0;
		goto out;
	}

	/* The intent first: a deletion leaves no trace in Redis to reconcile from. */
	{
		struct event ev = EVENT_INIT;
		struct jw w;
		buf_reset(&p->dbuf);
		jw_init(&w, &p->dbuf);
		jw_obj(&w);
		jw_kint(&w, "min_idle_ms", p->cfg->zombie_idle_ms);
		jw_key(&w, "candidates");
		jw_arr(&w);
		for (size_t i = 0; i < ncs; i++) {
			if (!is_zombie(p, &cs[i]))
				continue;
			jw_obj(&w);
			jw_kstr(&w, "name", cs[i].name);
			jw_kint(&w, "idle_ms", cs[i].idle_ms);
			jw_kint(&w, "inactive_ms", cs[i].inactive_ms);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		ev.kind = "delete_intent";
		ev.run = p->run;
		ev.stream = gr->stream;
		ev.grp = gr->group;
		ev.detail = buf_str(&p->dbuf);
		if (append_one(p, &ev, err) < 0)
			goto out;
	}
	if (zombies_delete(p->rc, gr->stream, gr->group, p->cfg->zombie_idle_ms,
	    p->rc->has_inactive, names, n, &zr, err) < 0)
		goto out;
	if (journal_begin(p->j, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (journal_zombie(p, gr->stream, gr->group, &zr[i], false, err) < 0) {
			journal_rollback(p->j);
			goto out;
		}
	}
	if (journal_commit(p->j, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (zr[i].outcome == ZOMBIE_DELETED) {
			gr->deleted++;
			log_deleted(p, gr->stream, gr->group, zr[i].name, zr[i].idle_ms,
			    zr[i].pending, false);
		} else {
			struct logline l;
			ll_start(&l, LOG_INFO, "CLEAN", NULL);
			ll_str(&l, "kept_consumer", zr[i].name);
			ll_str(&l, "stream", gr->stream);
			ll_str(&l, "group", gr->group);
			ll_str(&l, "reason", zombie_outcome_name(zr[i].outcome));
			ll_int(&l, "pending", zr[i].pending);
			ll_emit(p->lg, &l);
		}
	}
	rc = 0;
out:
	zombie_results_free(zr, n);
	free(names);
	consumer_info_free(cs, ncs);
	return rc;
}

/* --------------------------------------------------------- reconcile */

struct reconcile {
	struct pass *p;
	int64_t crashed;
	long long claimed, lost, deleted, kept;
	struct xerr *err;
};

/* Entry `id` was planned by a killed run: find where it is and journal it. */
static int
reconcile_entry(struct reconcile *rx, int64_t since, const char *stream,
    const char *group, const char *consumer, struct entry_id id, const char *owner,
    int64_t idle, int64_t deliveries)
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
	pend = rconn_cmd(p->rc, rx->err, "XPENDING %s %s %s %s 1", stream, group, ids, ids);
	if (pend == NULL)
		goto out;
	range = rconn_cmd(p->rc, rx->err, "XRANGE %s %s %s", stream, ids, ids);
	if (range == NULL)
		goto out;
	bool ours = pend->type == REDIS_REPLY_ARRAY && pend->elements == 1 &&
	    pend->element[0]->elements >= 2 &&
	    strcmp(pend->element[0]->element[1]->str, consumer) == 0;
	bool exists = range->type == REDIS_REPLY_ARRAY && range->elements == 1;
	bool pending = pend->type == REDIS_REPLY_ARRAY && pend->elements == 1;

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
		size_t n = reply_fields(p, range->element[0]->element[1]);
		buf_reset(&p->pbuf);
		payload_encode(p->fv, n, &p->pbuf);
		ev.kind = "claim_reconciled";
		ev.payload = buf_str(&p->pbuf);
		ev.payload_len = p->pbuf.len;
		if (journal_append(p->j, &ev, rx->err) < 0)
			goto out;
		rx->claimed++;
	} else if (!exists && (ours || !pending)) {
		struct jw w;
		char reason[200];
		snprintf(reason, sizeof(reason),
		    "deleted from the stream; found gone while reconciling killed run %lld",
		    (long long)rx->crashed);
		buf_reset(&p->dbuf);
		jw_init(&w, &p->dbuf);
		jw_obj(&w);
		jw_kstr(&w, "reason", reason);
		jw_kbool(&w, "reconciled", true);
		jw_obj_end(&w);
		ev.kind = "lost";
		ev.detail = buf_str(&p->dbuf);
		if (journal_append(p->j, &ev, rx->err) < 0)
			goto out;
		rx->lost++;
		log_lost(p, stream, group, id, owner, idle, deliveries, reason);
	}
	/* Otherwise the claim never happened: the entry is where it was. */
	rc = 0;
out:
	if (pend != NULL)
		freeReplyObject(pend);
	if (range != NULL)
		freeReplyObject(range);
	return rc;
}

static int
reconcile_intent(void *ctx, int64_t seq, const struct event *ev)
{
	struct reconcile *rx = ctx;
	cJSON *d = cJSON_Parse(ev->detail != NULL ? ev->detail : "");
	const cJSON *entries, *owners, *consumer, *e;
	int rc = -1;

	entries = cJSON_GetObjectItemCaseSensitive(d, "entries");
	owners = cJSON_GetObjectItemCaseSensitive(d, "owners");
	consumer = cJSON_GetObjectItemCaseSensitive(d, "consumer");
	if (!cJSON_IsArray(entries) || !cJSON_IsString(consumer)) {
		xerr_set(rx->err, XR_EJOURNAL, "journal: claim_intent %lld is malformed",
		    (long long)seq);
		goto out;
	}
	if (journal_begin(rx->p->j, rx->err) < 0)
		goto out;
	cJSON_ArrayForEach(e, entries) {
		const cJSON *f0 = cJSON_GetArrayItem(e, 0), *f1 = cJSON_GetArrayItem(e, 1);
		const cJSON *f2 = cJSON_GetArrayItem(e, 2), *f3 = cJSON_GetArrayItem(e, 3);
		struct entry_id id;
		const char *owner = NULL;

		if (!cJSON_IsString(f0) || entry_id_parse(f0->valuestring,
		    strlen(f0->valuestring), &id) < 0)
			continue;
		if (cJSON_IsNumber(f1)) {
			const cJSON *o = cJSON_GetArrayItem(owners, f1->valueint);
			owner = cJSON_IsString(o) ? o->valuestring : NULL;
		} else if (cJSON_IsString(f1)) {
			owner = f1->valuestring;
		}
		if (reconcile_entry(rx, seq, ev->stream, ev->grp, consumer->valuestring, id,
		    owner, cJSON_IsNumber(f2) ? (int64_t)f2->valuedouble : -1,
		    cJSON_IsNumber(f3) ? (int64_t)f3->valuedouble : -1) < 0) {
			journal_rollback(rx->p->j);
			goto out;
		}
	}
	rc = journal_commit(rx->p->j, rx->err);
out:
	cJSON_Delete(d);
	return rc;
}

static int
reconcile_delete(void *ctx, int64_t seq, const struct event *ev)
{
	struct reconcile *rx = ctx;
	struct pass *p = rx->p;
	cJSON *d = cJSON_Parse(ev->detail != NULL ? ev->detail : "");
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(d, "candidates"), *c;
	struct consumer_info *cs = NULL;
	size_t ncs = 0;
	int rc = -1;

	if (!cJSON_IsArray(cands)) {
		xerr_set(rx->err, XR_EJOURNAL, "journal: delete_intent %lld is malformed",
		    (long long)seq);
		goto out;
	}
	if (redis_consumers(p->rc, ev->stream, ev->grp, &cs, &ncs, rx->err) < 0) {
		/* The group itself is gone: nothing there to reconcile. */
		if (rx->err->code != XR_EFAIL)
			goto out;
		rc = 0;
		goto out;
	}
	if (journal_begin(p->j, rx->err) < 0)
		goto out;
	cJSON_ArrayForEach(c, cands) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
		const cJSON *idle = cJSON_GetObjectItemCaseSensitive(c, "idle_ms");
		struct zombie_result z = {0};
		bool exists = false, done;

		if (!cJSON_IsString(name))
			continue;
		if (journal_consumer_has(p->j, ev->stream, ev->grp, name->valuestring, seq,
		    &done, rx->err) < 0) {
			journal_rollback(p->j);
			goto out;
		}
		if (done)
			continue;
		for (size_t i = 0; i < ncs; i++)
			if (strcmp(cs[i].name, name->valuestring) == 0)
				exists = true;
		z.name = name->valuestring;
		z.outcome = exists ? ZOMBIE_KEPT_ACTIVE : ZOMBIE_DELETED;
		z.idle_ms = cJSON_IsNumber(idle) ? (long long)idle->valuedouble : -1;
		z.inactive_ms = -1;
		if (journal_zombie(p, ev->stream, ev->grp, &z, true, rx->err) < 0) {
			journal_rollback(p->j);
			goto out;
		}
		if (exists)
			rx->kept++;
		else
			rx->deleted++;
	}
	rc = journal_commit(p->j, rx->err);
out:
	consumer_info_free(cs, ncs);
	cJSON_Delete(d);
	return rc;
}

/*
 * Finishes what killed runs left: every entry they planned to claim is
 * journalled exactly once (claimed, or lost if Redis deleted it), every
 * consumer they set out to delete is journalled deleted or kept, and the
 * run gets its run_end with status "crashed".
 */
static int
reconcile(struct pass *p, struct xerr *err)
{
	int64_t *runs = NULL;
	size_t n = 0;
	int rc = -1;

	if (journal_unfinished_runs(p->j, &runs, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct reconcile rx = {p, runs[i], 0, 0, 0, 0, err};
		struct event ev = EVENT_INIT;
		struct jw w;

		if (runs[i] == p->run)
			continue;
		if (journal_each_run_event(p->j, runs[i], "claim_intent", reconcile_intent,
		    &rx, err) < 0)
			goto out;
		if (journal_each_run_event(p->j, runs[i], "delete_intent", reconcile_delete,
		    &rx, err) < 0)
			goto out;
		buf_reset(&p->dbuf);
		jw_init(&w, &p->dbuf);
		jw_obj(&w);
		jw_kstr(&w, "status", "crashed");
		jw_kint(&w, "reconciled_by", p->run);
		jw_kint(&w, "reconciled", rx.claimed);
		jw_kint(&w, "lost", rx.lost);
		jw_kint(&w, "deleted", rx.deleted);
		jw_obj_end(&w);
		ev.kind = "run_end";
		ev.run = runs[i];
		ev.detail = buf_str(&p->dbuf);
		if (append_one(p, &ev, err) < 0)
			goto out;
		p->res->reconciled += rx.claimed;
		p->res->lost += rx.lost;
		p->res->deleted += rx.deleted;

		struct logline l;
		ll_start(&l, LOG_WARN, "RECONCILE", NULL);
		ll_int(&l, "run", runs[i]);
		ll_str(&l, "status", "crashed");
		ll_int(&l, "claimed", rx.claimed);
		ll_int(&l, "lost", rx.lost);
		ll_int(&l, "deleted", rx.deleted);
		ll_int(&l, "kept", rx.kept);
		ll_emit(p->lg, &l);
	}
	rc = 0;
out:
	free(runs);
	return rc;
}

/* ------------------------------------------------------------- select */

static struct group_result *
add_group(struct pass *p, const char *stream, const char *group)
{
	struct recover_result *r = p->res;
	struct group_result *g;

	r->groups = xrealloc(r->groups, (r->ngroups + 1) * sizeof(*r->groups));
	g = &r->groups[r->ngroups++];
	memset(g, 0, sizeof(*g));
	g->stream = xstrdup(stream);
	g->group = group != NULL ? xstrdup(group) : NULL;
	g->held = g->pending = -1;
	return g;
}

/* Fatal errors (Redis gone, journal unwritable) end the pass; others are the group's. */
static bool
fatal(const struct xerr *e)
{
	return e->code == XR_EREDIS || e->code == XR_EJOURNAL;
}

static int
work_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	struct xerr gerr = {0};
	struct consumer_info *cs = NULL;
	struct pending_summary ps;
	size_t ncs = 0;

	if (!p->cfg->no_claim && claim_group(p, gr, &gerr) < 0) {
		if (fatal(&gerr)) {
			*err = gerr;
			return -1;
		}
		return group_failed(p, gr, &gerr, err);
	}
	if (!p->cfg->no_clean && !*p->stop && clean_group(p, gr, &gerr) < 0) {
		if (fatal(&gerr)) {
			*err = gerr;
			return -1;
		}
		return group_failed(p, gr, &gerr, err);
	}
	/* How the group stands afterwards, for the summary and --json. */
	if (redis_pending_summary(p->rc, gr->stream, gr->group, &ps, &gerr) == 0)
		gr->pending = ps.count;
	if (redis_consumers(p->rc, gr->stream, gr->group, &cs, &ncs, &gerr) == 0) {
		gr->held = 0;
		for (size_t i = 0; i < ncs; i++)
			if (strcmp(cs[i].name, p->cfg->consumer) == 0)
				gr->held = cs[i].pending;
		consumer_info_free(cs, ncs);
	}
	if (fatal(&gerr)) {
		*err = gerr;
		return -1;
	}
	return 0;
}

static int
work_stream(struct pass *p, const char *stream, bool named, struct xerr *err)
{
	struct group_info *gs = NULL;
	size_t ng = 0;
	struct xerr gerr = {0};
	char type[16];
	int rc = 0;

	if (named) {
		if (redis_key_type(p->rc, stream, type, &gerr) < 0) {
			*err = gerr;
			return -1;
		}
		if (strcmp(type, "none") == 0) {
			log_warn(p, stream, NULL, "no such stream; skipped");
			return 0;
		}
		if (strcmp(type, "stream") != 0) {
			struct group_result *gr = add_group(p, stream, NULL);
			xerr_set(&gerr, XR_EFAIL, "key '%s' is a %s, not a stream", stream, type);
			return group_failed(p, gr, &gerr, err);
		}
	}
	if (redis_groups(p->rc, stream, &gs, &ng, &gerr) < 0) {
		if (fatal(&gerr)) {
			*err = gerr;
			return -1;
		}
		return group_failed(p, add_group(p, stream, NULL), &gerr, err);
	}
	for (char **g = p->cfg->groups; *g != NULL; g++) {
		bool found = false;
		for (size_t i = 0; i < ng; i++)
			found = found || strcmp(gs[i].name, *g) == 0;
		if (!found && named)
			log_warn(p, stream, *g, "no such group on this stream; skipped");
	}
	for (size_t i = 0; i < ng && !*p->stop; i++) {
		if (!group_selected(p->cfg, gs[i].name))
			continue;
		if (work_group(p, add_group(p, stream, gs[i].name), err) < 0) {
			rc = -1;
			break;
		}
	}
	group_info_free(gs, ng);
	return rc;
}

static int
work(struct pass *p, struct xerr *err)
{
	struct selected *sel = NULL;
	size_t n = 0;
	int rc = 0;

	if (select_streams(p->rc, p->cfg, false, &sel, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !*p->stop && rc == 0; i++)
		rc = work_stream(p, sel[i].name, sel[i].named, err);
	selected_free(sel, n);
	return rc;
}

/* ---------------------------------------------------------- run events */

static void
options_json(const struct config *c, struct jw *w)
{
	struct redis_target t;
	char where[300] = "?";

	if (redis_target_parse(c->redis_url, &t, NULL) == 0) {
		redis_target_describe(&t, where, sizeof(where));
		redis_target_free(&t);
	}
	jw_obj(w);
	jw_kstr(w, "redis", where);
	jw_key(w, "streams");
	jw_arr(w);
	for (char **s = c->streams; *s != NULL; s++)
		jw_str(w, *s);
	jw_arr_end(w);
	jw_kstr(w, "match", c->match);
	jw_key(w, "groups");
	jw_arr(w);
	for (char **s = c->groups; *s != NULL; s++)
		jw_str(w, *s);
	jw_arr_end(w);
	jw_kint(w, "claim_idle_ms", c->claim_idle_ms);
	jw_kint(w, "zombie_idle_ms", c->zombie_idle_ms);
	jw_kint(w, "batch", c->batch);
	jw_kstr(w, "consumer", c->consumer);
	jw_key(w, "exclude_consumers");
	jw_arr(w);
	for (char **s = c->exclude; *s != NULL; s++)
		jw_str(w, *s);
	jw_arr_end(w);
	jw_kbool(w, "no_claim", c->no_claim);
	jw_kbool(w, "no_clean", c->no_clean);
	jw_obj_end(w);
}

static int
run_start(struct pass *p, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;
	char host[256] = "";
	struct passwd *pw = getpwuid(geteuid());

	gethostname(host, sizeof(host) - 1);
	if (journal_begin(p->j, err) < 0)
		return -1;
	if (journal_next_run(p->j, &p->run, err) < 0) {
		journal_rollback(p->j);
		return -1;
	}
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "version", XR_VERSION);
	jw_kstr(&w, "mode", p->mode->name);
	jw_kstr(&w, "mode_reason", p->mode->why);
	jw_kstr(&w, "host", host);
	jw_kstr(&w, "user", pw != NULL ? pw->pw_name : "?");
	jw_kint(&w, "pid", (int64_t)getpid());
	jw_key(&w, "options");
	options_json(p->cfg, &w);
	jw_obj_end(&w);
	ev.kind = "run_start";
	ev.run = p->run;
	ev.ts = p->res->started_ms;
	ev.detail = buf_str(&p->dbuf);
	if (journal_append(p->j, &ev, err) < 0) {
		journal_rollback(p->j);
		return -1;
	}
	return journal_commit(p->j, err);
}

static int
run_end(struct pass *p, const char *status, const char *error, struct xerr *err)
{
	struct recover_result *r = p->res;
	struct event ev = EVENT_INIT;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "status", status);
	jw_kint(&w, "duration_ms", r->duration_ms);
	jw_kint(&w, "claimed", r->claimed);
	jw_kint(&w, "reconciled", r->reconciled);
	jw_kint(&w, "lost", r->lost);
	jw_kint(&w, "deleted", r->deleted);
	jw_kint(&w, "groups", (int64_t)r->ngroups);
	jw_kint(&w, "errors", r->errors);
	if (error != NULL)
		jw_kstr(&w, "error", error);
	jw_obj_end(&w);
	ev.kind = "run_end";
	ev.run = p->run;
	ev.detail = buf_str(&p->dbuf);
	if (journal_begin_durable(p->j, err) < 0)
		return -1;
	if (journal_append(p->j, &ev, err) < 0) {
		journal_rollback(p->j);
		return -1;
	}
	return journal_commit(p->j, err);
}

static void
log_summary(struct pass *p)
{
	struct recover_result *r = p->res;
	struct logline l;

	ll_start(&l, r->errors > 0 ? LOG_WARN : LOG_INFO, "SUMMARY", p->dry ? "DRY-RUN" : NULL);
	if (!p->dry)
		ll_int(&l, "run", r->run);
	ll_str(&l, "mode", p->mode->name);
	ll_int(&l, p->dry ? "would_claim" : "claimed", r->claimed);
	ll_int(&l, p->dry ? "would_delete" : "deleted", r->deleted);
	ll_int(&l, "lost", r->lost);
	ll_int(&l, "dead_lettered", 0);
	ll_int(&l, "redelivered", 0);
	if (r->reconciled > 0)
		ll_int(&l, "reconciled", r->reconciled);
	ll_str(&l, "status", r->status);
	ll_int(&l, "duration_ms", r->duration_ms);
	ll_emit(p->lg, &l);
}

/* ----------------------------------------------------------------- run */

int
recover_run(const struct config *cfg, const struct mode *mode, const struct logger *lg,
    volatile sig_atomic_t *stop, struct recover_result *ret, struct xerr *err)
{
	struct pass p = {0};
	struct redis_target t;
	struct xerr werr = {0};
	int rc = -1;
	int64_t t0 = mono_ms();

	memset(ret, 0, sizeof(*ret));
	ret->status = "failed";
	ret->started_ms = now_ms();
	p.cfg = cfg;
	p.mode = mode;
	p.lg = lg;
	p.stop = stop;
	p.res = ret;
	p.dry = cfg->dry_run;

	if (cfg->streams[0] == NULL && cfg->match == NULL)
		return xerr_set(err, XR_EUSAGE,
		    "no streams selected: give --stream NAME or --match GLOB, or set "
		    "\"streams\" or \"match\" in the config");
	if (redis_target_parse(cfg->redis_url, &t, err) < 0)
		return -1;

	/* Guarantee 3: the journal is proven writable before Redis is touched. */
	if (!p.dry) {
		if (journal_open(cfg->db_path, JOURNAL_WRITE, &p.j, err) < 0 ||
		    journal_lock(p.j, cfg->lock_timeout_ms, err) < 0 ||
		    run_start(&p, err) < 0)
			goto out;
		ret->run = p.run;
	}
	if (rconn_open(&t, cfg->connect_timeout_ms, cfg->command_timeout_ms, &p.rc, &werr) < 0) {
		ret->duration_ms = mono_ms() - t0;
		if (!p.dry && run_end(&p, "failed", werr.msg, err) < 0)
			goto out;
		*err = werr;
		goto out;
	}
	if (!p.dry && reconcile(&p, &werr) < 0)
		goto finish;
	if (work(&p, &werr) < 0)
		goto finish;
finish:
	for (size_t i = 0; i < ret->ngroups; i++) {
		ret->claimed += ret->groups[i].claimed;
		ret->lost += ret->groups[i].lost;
		ret->deleted += ret->groups[i].deleted;
	}
	if (werr.msg[0] != '\0') {
		ret->status = "failed";
	} else if (*stop) {
		ret->status = "interrupted";
	} else if (ret->errors > 0) {
		ret->status = "failed";
	} else {
		ret->status = "ok";
	}
	ret->duration_ms = mono_ms() - t0;
	if (!p.dry) {
		const char *emsg = werr.msg[0] ? werr.msg :
		    p.first_error.msg[0] ? p.first_error.msg : NULL;
		if (run_end(&p, ret->status, emsg, err) < 0)
			goto out;
	}
	log_summary(&p);
	if (werr.msg[0] != '\0')
		*err = werr;
	else if (*stop)
		xerr_set(err, XR_EFAIL, "interrupted; the run stopped after the page in hand");
	else if (ret->errors > 0)
		xerr_set(err, XR_EFAIL, "%lld of %zu groups failed; first: %s", ret->errors,
		    ret->ngroups, p.first_error.msg);
	else
		rc = 0;
out:
	redis_target_free(&t);
	rconn_close(p.rc);
	journal_close(p.j);
	buf_free(&p.pbuf);
	buf_free(&p.dbuf);
	free(p.fv);
	return rc;
}

void
recover_result_free(struct recover_result *r)
{
	for (size_t i = 0; i < r->ngroups; i++) {
		free(r->groups[i].stream);
		free(r->groups[i].group);
		free(r->groups[i].error);
	}
	free(r->groups);
	memset(r, 0, sizeof(*r));
}
