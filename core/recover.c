/*
 * recover.c: one recovery pass (see recover.h): the journal first, then
 * reconciliation of a killed run, then claim and clean per group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/claim.h"
#include "incident.h"
#include "moves.h"
#include "pass.h"
#include "select.h"

/* A batch of journal rows is committed when it is this big or this old. */
#define BATCH_ROWS 4096
#define BATCH_MS 500

/* ------------------------------------------------------------ helpers */

/* An [ERROR] or [WARN] line about a stream and group (either may be NULL). */
static void
log_problem(struct pass *p, enum log_level level, const char *stream, const char *group,
    const char *msg)
{
	struct logline l;

	ll_start(&l, level, level == LOG_ERROR ? "ERROR" : "WARN", NULL);
	if (stream != NULL)
		ll_str(&l, "stream", stream);
	if (group != NULL)
		ll_str(&l, "group", group);
	ll_str(&l, level == LOG_ERROR ? "error" : "warning", msg);
	ll_emit(p->lg, &l);
}

/* A failure confined to one group: logged, journalled, and the pass goes on. */
static int
group_failed(struct pass *p, struct group_result *gr, const struct xerr *gerr,
    struct xerr *err)
{
	log_problem(p, LOG_ERROR, gr->stream, gr->group, gerr->msg);
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
	return pass_append(p, &ev, err);
}

/* Starts an intent record: {"run":N,"kind":K,"stream":S,"group":G, ... */
static void
intent_head(struct pass *p, struct jw *w, const char *kind, const char *stream,
    const char *group)
{
	buf_reset(&p->dbuf);
	jw_init(w, &p->dbuf);
	jw_obj(w);
	jw_kint(w, "run", p->run);
	jw_kstr(w, "kind", kind);
	intent_kname(w, "stream", stream);
	intent_kname(w, "group", group);
}

/* ------------------------------------------------------------- claim */

/* Writes the plan of the next page to the intent file before it is claimed. */
static int
write_claim_intent(struct pass *p, const char *stream, const char *group,
    const struct pending_entry *plan, size_t n, struct xerr *err)
{
	const char *owners[64];
	size_t nowners = 0;
	struct jw w;

	intent_head(p, &w, "claim", stream, group);
	intent_kname(&w, "consumer", p->cfg->consumer);
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
			jw_null(&w);
		jw_int(&w, plan[i].idle_ms);
		jw_int(&w, plan[i].deliveries);
		jw_arr_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "owners");
	jw_arr(&w);
	for (size_t o = 0; o < nowners; o++)
		intent_name(&w, owners[o]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	return intent_append(p->intents, p->dbuf.data, p->dbuf.len, err);
}

static const char lost_reason[] =
    "deleted from the stream while pending; Redis dropped it from the "
    "pending list when xrecover claimed it";

/* Hands a claimed page to the journal writer. */
static int
journal_page(struct pass *p, const char *stream, const char *group,
    const struct claim_page *pg, struct group_result *gr, struct xerr *err)
{
	int64_t ts;

	if (pg->n == 0)
		return 0;
	ts = now_ms();      /* the page was claimed in one transaction */
	for (size_t i = 0; i < pg->n; i++) {
		const struct claimed_entry *ce = &pg->e[i];
		struct event ev = EVENT_INIT;

		ev.ts = ts;
		ev.run = p->run;
		ev.stream = stream;
		ev.grp = group;
		ev.has_entry = true;
		ev.entry = ce->was.id;
		ev.consumer = ce->was.owner;
		ev.idle_ms = ce->was.idle_ms;
		ev.deliveries = ce->was.deliveries;
		if (ce->fate == FATE_CLAIMED) {
			/* The writer thread encodes the payload. */
			pass_fields(p, ce->fields);
			ev.kind = "claim";
			ev_batch_add_fields(&p->batch, &ev, p->fv, ce->fields->elements);
		} else {
			struct jw w;
			buf_reset(&p->dbuf);
			jw_init(&w, &p->dbuf);
			jw_obj(&w);
			jw_kstr(&w, "reason", lost_reason);
			jw_obj_end(&w);
			ev.kind = "lost";
			ev.detail = buf_str(&p->dbuf);
			ev_batch_add(&p->batch, &ev);
		}
	}
	if (writer_put(p->w, &p->batch, err) < 0)
		return -1;
	for (size_t i = 0; i < pg->n; i++) {
		const struct claimed_entry *ce = &pg->e[i];
		if (ce->fate == FATE_CLAIMED) {
			gr->claimed++;
		} else {
			gr->lost++;
			pass_log_lost(p, stream, group, ce->was.id, ce->was.owner, ce->was.idle_ms,
			    ce->was.deliveries, lost_reason);
		}
	}
	return 0;
}

static void
log_claim_debug(struct pass *p, const char *stream, const char *group,
    const struct claim_stats *st)
{
	struct logline l;

	ll_start(&l, LOG_DEBUG, "CLAIM", NULL);
	ll_str(&l, "stream", stream);
	ll_str(&l, "group", group);
	ll_int(&l, "listed", (int64_t)st->listed);
	ll_int(&l, "planned", (int64_t)st->planned);
	ll_int(&l, "held", (int64_t)st->held);
	ll_int(&l, "excluded", (int64_t)st->excluded);
	ll_int(&l, "young", (int64_t)st->young);
	ll_int(&l, "raced", (int64_t)st->raced);
	ll_int(&l, "listings", (int64_t)st->listings);
	ll_int(&l, "pages", (int64_t)st->pages);
	ll_emit(p->lg, &l);
}

/* Sends every page that may go out now: each is written to the intent file first. */
static int
send_pages(struct pass *p, struct claimer *cl, struct group_result *gr, struct xerr *err)
{
	const struct pending_entry *plan;
	size_t n;

	while (!*p->stop && (plan = claimer_plan(cl, &n)) != NULL) {
		if (write_claim_intent(p, gr->stream, gr->group, plan, n, err) < 0)
			return -1;
		failpoint("claim-planned");
		if (claimer_send(cl, err) < 0)
			return -1;
		failpoint("claim-sent");
	}
	return 0;
}

/*
 * Drains one group.  Redis always has the next pages while the answer in
 * hand is journalled (by the writer thread).
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
	int rc = -1;

	if (p->dry) {
		/* What would be claimed, by the same listing (status counts it the same way). */
		struct claim_stats st;
		if (claim_survey(p->rc, gr->stream, gr->group, &o, NULL, NULL, &st, err) < 0)
			return -1;
		gr->claimed = (long long)st.planned;
		log_claim_debug(p, gr->stream, gr->group, &st);
		rc = 0;
		goto out;
	}
	if (claimer_start(p->rc, gr->stream, gr->group, &o, &cl, err) < 0)
		return -1;
	for (;;) {
		if (*p->stop)
			claimer_close(cl);
		if (send_pages(p, cl, gr, err) < 0)
			goto out;
		if (!claimer_pending(cl))
			break;
		if (claimer_recv(cl, &page, err) < 0)
			goto out;
		/* Refill the pipeline before the journal work on this page. */
		if (send_pages(p, cl, gr, err) < 0)
			goto out;
		if (page.n > 0 && journal_page(p, gr->stream, gr->group, &page, gr, err) < 0)
			goto out;
	}
	log_claim_debug(p, gr->stream, gr->group, claimer_stats(cl));
	rc = 0;
out:
	/*
	 * After a failure, claims may have happened that were not journalled:
	 * the intents stay for the next run to reconcile.
	 */
	if (rc < 0)
		p->uncertain = true;
	/* What was journalled of this group is committed before anything else. */
	if (!p->dry && pass_flush(p, rc == 0 ? err : NULL) < 0)
		rc = -1;
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
		struct jw w;
		intent_head(p, &w, "delete", gr->stream, gr->group);
		jw_kint(&w, "min_idle_ms", p->cfg->zombie_idle_ms);
		jw_key(&w, "candidates");
		jw_arr(&w);
		for (size_t i = 0; i < ncs; i++) {
			if (!is_zombie(p, &cs[i]))
				continue;
			jw_obj(&w);
			intent_kname(&w, "name", cs[i].name);
			jw_kint(&w, "idle_ms", cs[i].idle_ms);
			jw_kint(&w, "inactive_ms", cs[i].inactive_ms);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		if (intent_append(p->intents, p->dbuf.data, p->dbuf.len, err) < 0)
			goto out;
	}
	if (zombies_delete(p->rc, gr->stream, gr->group, p->cfg->zombie_idle_ms,
	    p->rc->has_inactive, names, n, &zr, err) < 0) {
		p->uncertain = p->uncertain || err->code == XR_EREDIS;
		goto out;
	}
	failpoint("consumers-deleted");
	if (pass_flush(p, err) < 0 || journal_begin(p->j, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (pass_journal_zombie(p, gr->stream, gr->group, &zr[i], false, err) < 0) {
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

/* ------------------------------------------------------------ dispose */

static int
cmp_held(const void *a, const void *b)
{
	return entry_id_cmp(((const struct held *)a)->e.id, ((const struct held *)b)->e.id);
}

static int
cmp_pending_id(const void *a, const void *b)
{
	return entry_id_cmp(((const struct pending_id *)a)->id, ((const struct pending_id *)b)->id);
}

/*
 * The entries of a group that the recovery consumer holds (Redis says) and
 * the journal knows, in two lists: those this run claimed, read as one
 * range of the journal, and those that earlier runs claimed (killed or
 * failed runs, runs with another --action), looked up one by one.  When
 * only --max-deliveries applies (all false), an earlier entry is looked up
 * only if it may be over the limit: Redis counted more deliveries, or it
 * may be a copy, whose originals' deliveries count too.  Entries with a
 * copy in flight are left out (held_load).
 */
static int
held_of_group(struct pass *p, struct group_result *gr, bool all, struct held_list *mine,
    struct held_list *earlier, struct xerr *err)
{
	char *streams[] = {gr->stream, NULL}, *groups[] = {gr->group, NULL};
	struct selection sel = {0};
	struct pending_id *hv = NULL;
	size_t nh = 0, nlook = 0;
	bool *covered = NULL, copies_here = false;
	int rc = -1;

	memset(mine, 0, sizeof(*mine));
	memset(earlier, 0, sizeof(*earlier));
	if (redis_pending_ids(p->rc, gr->stream, gr->group, p->cfg->consumer, &hv, &nh, err) < 0)
		return -1;
	if (nh == 0)
		return 0;
	sel.streams = streams;
	sel.groups = groups;
	sel.run = p->run;
	sel.after_seq = p->run_seq;
	if (pass_flush(p, err) < 0 || held_load(p, &sel, mine, err) < 0)
		goto out;
	covered = xcalloc(nh, sizeof(*covered));
	for (size_t i = 0; i < mine->n; i++) {
		struct pending_id key = {mine->v[i].e.id, 0};
		struct pending_id *f = bsearch(&key, hv, nh, sizeof(*hv), cmp_pending_id);
		if (f != NULL)
			covered[f - hv] = true;
		else
			mine->v[i].e.source = SRC_NONE;     /* not held any more */
	}
	if (!all && journal_copy_target(p->j, gr->stream, &copies_here, err) < 0)
		goto out;
	memset(&sel, 0, sizeof(sel));
	sel.streams = streams;
	sel.groups = groups;
	sel.messages = xcalloc(nh, sizeof(*sel.messages));
	for (size_t i = 0; i < nh; i++) {
		if (covered[i] || (!all && !copies_here && hv[i].deliveries <= p->cfg->max_deliveries))
			continue;
		sel.messages[nlook].stream = gr->stream;
		sel.messages[nlook].id = hv[i].id;
		nlook++;
	}
	sel.nmessages = nlook;
	if (nlook > 0 && held_load(p, &sel, earlier, err) < 0)
		goto out;
	rc = 0;
out:
	free(sel.messages);
	free(covered);
	free(hv);
	if (rc < 0) {
		held_free(mine);
		held_free(earlier);
	}
	return rc;
}

/*
 * What becomes of the entries the recovery consumer holds in a group and
 * the journal knows (claimed by this run, or by an earlier one that was
 * killed, failed, or had another --action): with --max-deliveries, those
 * delivered more often go to the dead-letter stream; with --action
 * dead-letter, all of them; with --action redeliver, the rest are copied
 * back into their stream at once.  Entries with a copy in flight (not yet
 * settled or rolled back) are left alone: they were redelivered already.
 */
static int
dispose_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	const struct config *c = p->cfg;
	bool dl_all = strcmp(c->action, "dead-letter") == 0;
	bool redeliver = strcmp(c->action, "redeliver") == 0;
	struct held_list lists[2];
	struct held **dl = NULL;
	const char **why = NULL;
	char (*reasons)[96] = NULL;
	struct held_list copies = {0};
	size_t ndl = 0, n;
	int rc = -1;

	if ((!dl_all && !redeliver && c->max_deliveries == 0) || p->dry)
		return 0;
	if (pass_unsettled(p, gr->stream, gr->group)) {
		/* What a killed command did to them is not known yet: leave them be. */
		log_problem(p, LOG_WARN, gr->stream, gr->group, "intents of a killed command about "
		    "this group are not reconciled yet; --action and --max-deliveries wait for them");
		return 0;
	}
	if (held_of_group(p, gr, dl_all || redeliver, &lists[0], &lists[1], err) < 0)
		return -1;
	n = lists[0].n + lists[1].n;
	dl = xcalloc(n + 1, sizeof(*dl));
	why = xcalloc(n + 1, sizeof(*why));
	reasons = xcalloc(n + 1, sizeof(*reasons));
	copies.v = xcalloc(n + 1, sizeof(*copies.v));
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < lists[k].n; i++) {
			struct held *h = &lists[k].v[i];

			if (h->e.source != SRC_HELD)
				continue;
			if (c->max_deliveries > 0 && h->e.deliveries > c->max_deliveries) {
				snprintf(reasons[ndl], sizeof(reasons[ndl]),
				    "delivered %lld times, more than --max-deliveries %lld",
				    (long long)h->e.deliveries, c->max_deliveries);
				why[ndl] = reasons[ndl];
				dl[ndl++] = h;
			} else if (dl_all) {
				why[ndl] = "--action dead-letter";
				dl[ndl++] = h;
			} else if (redeliver) {
				copies.v[copies.n++] = *h;      /* a view: the lists own the bytes */
			}
		}
	}
	if (ndl > 0 && dead_letter_entries(p, gr->stream, gr->group, dl, why, ndl,
	    &gr->dead_lettered, err) < 0)
		goto out;
	if (copies.n > 0 && !*p->stop) {
		struct copy_opts o = {NULL, 0, NULL, NULL};
		/* Copied in the order of the originals, whichever run claimed them. */
		qsort(copies.v, copies.n, sizeof(*copies.v), cmp_held);
		struct copy_result cr = {0};
		struct buf sj = BUF_INIT;
		struct jw w;
		struct xerr cerr = {0};

		jw_init(&w, &sj);
		jw_obj(&w);
		jw_kint(&w, "run", p->run);
		jw_kstr(&w, "stream", gr->stream);
		jw_kstr(&w, "group", gr->group);
		jw_obj_end(&w);
		int brc = batch_begin(p, true, NULL, buf_str(&sj), copies.n, &gr->batch, err);
		buf_free(&sj);
		if (brc < 0)
			goto out;
		int crc = copy_entries(p, gr->batch, &copies, &o, &cr, &cerr);
		gr->redelivered = (long long)cr.copied;
		if (batch_end(p, gr->batch, crc < 0 ? "failed" : "ok", cr.copied, err) < 0)
			goto out;
		if (crc < 0) {
			*err = cerr;
			goto out;
		}
		struct logline lg;
		ll_start(&lg, LOG_INFO, "REDELIVER", NULL);
		ll_int(&lg, "batch", gr->batch);
		ll_int(&lg, "copied", gr->redelivered);
		ll_str(&lg, "stream", gr->stream);
		ll_str(&lg, "group", gr->group);
		ll_emit(p->lg, &lg);
	}
	rc = 0;
out:
	free(copies.v);
	free(dl);
	free(why);
	free(reasons);
	held_free(&lists[0]);
	held_free(&lists[1]);
	return rc;
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

	if (p->sweep) {
		long long found;
		if (pass_flush(p, err) < 0 ||
		    sweep_held(p, gr->stream, gr->group, &found, &gerr) < 0) {
			if (fatal(&gerr)) {
				*err = gerr;
				return -1;
			}
			return group_failed(p, gr, &gerr, err);
		}
		if (found > 0) {
			struct logline l;
			ll_start(&l, LOG_WARN, "RECONCILE", NULL);
			ll_str(&l, "stream", gr->stream);
			ll_str(&l, "group", gr->group);
			ll_int(&l, "found_held", found);
			ll_emit(p->lg, &l);
		}
		p->res->reconciled += found;
	}
	if (!p->cfg->no_claim && claim_group(p, gr, &gerr) < 0) {
		if (fatal(&gerr)) {
			*err = gerr;
			return -1;
		}
		return group_failed(p, gr, &gerr, err);
	}
	if (!p->cfg->no_claim && !*p->stop && dispose_group(p, gr, &gerr) < 0) {
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
			/* A typo must not pass for a quiet day: the run ends in a warning. */
			struct recover_result *r = p->res;
			log_problem(p, LOG_WARN, stream, NULL, "no such stream; skipped");
			r->missing = xrealloc(r->missing, (r->nmissing + 1) * sizeof(*r->missing));
			r->missing[r->nmissing++] = xstrdup(stream);
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
			log_problem(p, LOG_WARN, stream, *g, "no such group on this stream; skipped");
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
	/* Replays of these streams' entries whose copies were read and acknowledged. */
	if (rc == 0 && !p->dry && !*p->stop) {
		char **names = xcalloc(n + 1, sizeof(*names));
		struct settle_result sr;
		for (size_t i = 0; i < n; i++)
			names[i] = sel[i].name;
		rc = settle(p, names, &sr, err);
		free(names);
		if (rc == 0) {
			p->res->settled = sr.settled;
			if (sr.settled > 0 || sr.closed > 0) {
				struct logline l;
				ll_start(&l, LOG_INFO, "SETTLE", NULL);
				ll_int(&l, "settled", sr.settled);
				if (sr.taken > 0)
					ll_int(&l, "taken", sr.taken);
				ll_int(&l, "in_flight", sr.open);
				ll_int(&l, "batches_closed", sr.closed);
				ll_emit(p->lg, &l);
			}
		}
	}
	selected_free(sel, n);
	return rc;
}

/* ---------------------------------------------------------- run events */

static void
options_json(const struct config *c, struct jw *w)
{
	struct redis_target t;
	char where[300] = "?";

	if (redis_target_parse_login(c->redis_url, true, &t, NULL) == 0) {
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
	jw_kstr(w, "action", c->action);
	jw_kint(w, "max_deliveries", c->max_deliveries);
	jw_kstr(w, "dead_letter_stream", c->dead_letter_stream);
	jw_kbool(w, "no_claim", c->no_claim);
	jw_kbool(w, "no_clean", c->no_clean);
	jw_obj_end(w);
}

static int
run_start(struct pass *p, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;

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
	pass_who(&w);
	jw_key(&w, "options");
	options_json(p->cfg, &w);
	jw_obj_end(&w);
	/* The run starts now, once it holds the lock, not when it began waiting. */
	p->res->started_ms = now_ms();
	ev.kind = "run_start";
	ev.run = p->run;
	ev.ts = p->res->started_ms;
	ev.detail = buf_str(&p->dbuf);
	if (journal_append_commit(p->j, &ev, err) < 0)
		return -1;
	return journal_run_start_seq(p->j, p->run, &p->run_seq, err);
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
	jw_kint(&w, "dead_lettered", r->dead_lettered);
	jw_kint(&w, "redelivered", r->redelivered);
	jw_kint(&w, "settled", r->settled);
	jw_kint(&w, "groups", (int64_t)r->ngroups);
	jw_kint(&w, "errors", r->errors);
	if (error != NULL)
		jw_kstr(&w, "error", error);
	if (r->nmissing > 0) {
		jw_key(&w, "missing");
		jw_arr(&w);
		for (size_t i = 0; i < r->nmissing; i++)
			jw_str(&w, r->missing[i]);
		jw_arr_end(&w);
	}
	/* What each group had pending afterwards: the daily report draws it. */
	jw_key(&w, "pending");
	jw_arr(&w);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct group_result *g = &r->groups[i];
		if (g->group == NULL || g->pending < 0)
			continue;
		jw_obj(&w);
		jw_kstr(&w, "stream", g->stream);
		jw_kstr(&w, "group", g->group);
		jw_kint(&w, "pending", g->pending);
		jw_kint(&w, "held", g->held);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	ev.kind = "run_end";
	ev.run = p->run;
	ev.detail = buf_str(&p->dbuf);
	if (journal_begin_durable(p->j, err) < 0)
		return -1;
	return journal_append_commit(p->j, &ev, err);
}

static void
log_summary(struct pass *p)
{
	struct recover_result *r = p->res;
	struct logline l;

	ll_start(&l, r->errors > 0 || r->nmissing > 0 ? LOG_WARN : LOG_INFO, "SUMMARY",
	    p->dry ? "DRY-RUN" : NULL);
	if (!p->dry)
		ll_int(&l, "run", r->run);
	ll_str(&l, "mode", p->mode->name);
	ll_int(&l, p->dry ? "would_claim" : "claimed", r->claimed);
	ll_int(&l, p->dry ? "would_delete" : "deleted", r->deleted);
	ll_int(&l, "lost", r->lost);
	ll_int(&l, "dead_lettered", r->dead_lettered);
	ll_int(&l, "redelivered", r->redelivered);
	if (r->settled > 0)
		ll_int(&l, "settled", r->settled);
	if (r->reconciled > 0)
		ll_int(&l, "reconciled", r->reconciled);
	if (r->nmissing > 0)
		ll_int(&l, "missing", (int64_t)r->nmissing);
	ll_str(&l, "status", r->status);
	ll_int(&l, "duration_ms", r->duration_ms);
	ll_emit(p->lg, &l);
}

/* ----------------------------------------------------------------- run */

/* "no such stream: 'a', 'b'", cut short with "..." when long. */
static void
missing_message(const struct recover_result *r, char *out, size_t len)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, r->nmissing == 1 ? "no such stream: " : "no such streams: ");
	for (size_t i = 0; i < r->nmissing; i++)
		buf_printf(&b, "%s'%s'", i > 0 ? ", " : "", r->missing[i]);
	if (b.len >= len && len > 4)
		memcpy(b.data + len - 4, "...", 4);
	snprintf(out, len, "%s", buf_str(&b));
	buf_free(&b);
}

/*
 * Intents of killed commands that stay unreconciled fail the run, as a
 * failed group does: journalled as an error, and the other groups done.
 */
static int
unreconciled_failed(struct pass *p, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;

	p->res->errors++;
	if (p->first_error.msg[0] == '\0')
		p->first_error = p->rec_error;
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "message", p->rec_error.msg);
	jw_kint(&w, "unreconciled", p->rec.unreconciled);
	jw_obj_end(&w);
	ev.kind = "error";
	ev.run = p->run;
	ev.detail = buf_str(&p->dbuf);
	return pass_append(p, &ev, err);
}

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
	if (config_redis_target(cfg, &t, err) < 0)
		return -1;

	/* Guarantee 3: the journal is proven writable before Redis is touched. */
	if (!p.dry) {
		if (journal_open(cfg->db_path, JOURNAL_WRITE, &p.j, err) < 0)
			goto out;
		incident_policy_set(p.j);
		if (journal_lock(p.j, cfg->lock_timeout_ms, err) < 0 ||
		    intent_open(cfg->db_path, &p.intents, err) < 0 ||
		    run_start(&p, err) < 0)
			goto out;
		ret->run = p.run;
	}
	if (config_redis_open(cfg, &t, &p.rc, &werr) < 0) {
		ret->duration_ms = mono_ms() - t0;
		if (!p.dry && run_end(&p, "failed", werr.msg, err) < 0)
			goto out;
		*err = werr;
		goto out;
	}
	if (!p.dry && reconcile(&p, &werr) < 0)
		goto finish;
	if (p.rec.unreconciled > 0 && unreconciled_failed(&p, &werr) < 0)
		goto finish;
	ret->reconciled += p.rec.claimed;
	ret->lost += p.rec.lost;
	ret->deleted += p.rec.deleted;
	ret->dead_lettered += p.rec.dead_lettered;
	if (!p.dry && (
	    writer_start(p.j, BATCH_ROWS, BATCH_MS, &p.w, &werr) < 0))
		goto finish;
	work(&p, &werr);
finish:
	if (p.w != NULL) {
		struct xerr serr = {0};
		if (writer_stop(p.w, &serr) < 0 && werr.msg[0] == '\0')
			werr = serr;
		p.w = NULL;
	}
	for (size_t i = 0; i < ret->ngroups; i++) {
		ret->claimed += ret->groups[i].claimed;
		ret->lost += ret->groups[i].lost;
		ret->deleted += ret->groups[i].deleted;
		ret->dead_lettered += ret->groups[i].dead_lettered;
		ret->redelivered += ret->groups[i].redelivered;
	}
	if (werr.msg[0] != '\0') {
		ret->status = "failed";
	} else if (*stop) {
		ret->status = "interrupted";
	} else if (ret->errors > 0) {
		ret->status = "failed";
	} else if (ret->nmissing > 0) {
		ret->status = "warning";
	} else {
		ret->status = "ok";
	}
	char missing[300] = "";
	if (ret->nmissing > 0)
		missing_message(ret, missing, sizeof(missing));
	ret->duration_ms = mono_ms() - t0;
	if (!p.dry) {
		const char *emsg = werr.msg[0] ? werr.msg :
		    p.first_error.msg[0] ? p.first_error.msg : missing[0] ? missing : NULL;
		struct xerr eerr = {0};

		if (werr.code == XR_EJOURNAL)
			journal_rollback(p.j);
		failpoint("before-run-end");
		if (pass_flush(&p, &eerr) < 0 || run_end(&p, ret->status, emsg, &eerr) < 0 ||
		    journal_head(p.j, ret->head, &ret->head_seq, &eerr) < 0) {
			*err = werr.msg[0] ? werr : eerr;
			goto out;
		}
		/*
		 * Everything this run did is journalled, so its intents are done
		 * with -- unless an answer from Redis was lost, and only the next
		 * run can find out what happened.
		 */
		if (!p.uncertain && intent_clear(p.intents, &eerr) < 0) {
			*err = eerr;
			goto out;
		}
	}
	log_summary(&p);
	if (werr.msg[0] != '\0')
		*err = werr;
	else if (*stop)
		xerr_set(err, XR_EFAIL, "interrupted; the run stopped after the page in hand");
	else if (ret->errors == 1 && p.rec.unreconciled > 0)
		*err = p.rec_error;
	else if (ret->errors > 0)
		xerr_set(err, XR_EFAIL, "%lld of %zu groups failed; first: %s", ret->errors,
		    ret->ngroups, p.first_error.msg);
	else if (ret->nmissing > 0)
		xerr_set(err, XR_EMISSING, "%s (skipped; the other streams were done)", missing);
	else
		rc = 0;
out:
	redis_target_free(&t);
	rconn_close(p.rc);
	intent_close(p.intents);
	journal_close(p.j);
	buf_free(&p.pbuf);
	buf_free(&p.dbuf);
	ev_batch_free(&p.batch);
	free(p.fv);
	pass_unsettled_free(&p);
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
	for (size_t i = 0; i < r->nmissing; i++)
		free(r->missing[i]);
	free(r->missing);
	memset(r, 0, sizeof(*r));
}
