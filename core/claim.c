/*
 * claim.c: the claim step of a pass on one group: stale entries of other
 * consumers claimed into the recovery consumer, page by page (see
 * stream/claim.h), while the writer thread journals the page before.
 * "Stale" is the group's threshold (idle.h: fixed, or from the group's
 * history under auto), and with only silent consumers, on a consumer
 * silent that long; the listing notes what it leaves on each consumer,
 * for the next run to learn hold times from.
 *
 * Guarantees: each page's plan is in the intent file before Redis sees
 * it; a claimed entry is journalled with its payload (claim), one Redis
 * dropped while pending as lost; after a failure the intents stay, for
 * the next run to reconcile.  A dry run only lists what it would claim.
 */
#include <stdint.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/claim.h"
#include "idle.h"
#include "pass.h"

/* Writes the plan of the next page to the intent file before it is claimed. */
static int
write_claim_intent(struct pass *p, const char *stream, const char *group,
    int64_t min_idle_ms, const struct pending_entry *plan, size_t n, struct xerr *err)
{
	const char *owners[64];
	size_t nowners = 0;
	struct jw w;

	pass_intent_head(p, &w, "claim", stream, group);
	intent_kname(&w, "consumer", p->cfg->consumer);
	jw_kint(&w, "min_idle_ms", min_idle_ms);
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
	ll_int(&l, "live", (int64_t)st->live);
	ll_int(&l, "raced", (int64_t)st->raced);
	ll_int(&l, "listings", (int64_t)st->listings);
	ll_int(&l, "pages", (int64_t)st->pages);
	ll_emit(p->lg, &l);
}

/* Sends every page that may go out now: each is written to the intent file first. */
static int
send_pages(struct pass *p, struct claimer *cl, struct group_result *gr,
    const struct claim_opts *o, struct xerr *err)
{
	const struct pending_entry *plan;
	size_t n;

	while (!*p->stop && (plan = claimer_plan(cl, &n)) != NULL) {
		if (write_claim_intent(p, gr->stream, gr->group, o->min_idle_ms, plan, n, err) < 0)
			return -1;
		failpoint("claim-planned");
		if (claimer_send(cl, err) < 0)
			return -1;
		failpoint("claim-sent");
	}
	return 0;
}

/* The group's threshold and why: logged, and journalled in run_end. */
static void
log_threshold(struct pass *p, const struct group_result *gr)
{
	struct logline l;

	ll_start(&l, gr->idle.is_auto || p->cfg->verbose > 0 ? LOG_INFO : LOG_DEBUG,
	    "THRESHOLD", NULL);
	ll_str(&l, "stream", gr->stream);
	ll_str(&l, "group", gr->group);
	ll_dur(&l, "claim_idle", gr->idle.ms);
	ll_str(&l, "why", gr->idle.why);
	ll_emit(p->lg, &l);
}

/*
 * The group's threshold (idle.h) and which consumers are silent, into o.
 * OUT: *ret_silent, the silent consumers' names (free() it and *ret_cs).
 */
static int
choose_threshold(struct pass *p, struct group_result *gr, struct claim_opts *o,
    struct consumer_info **ret_cs, size_t *ret_ncs, char ***ret_silent, struct xerr *err)
{
	/* The history is read with the journal idle (the writer holds nothing). */
	if ((!p->dry && pass_flush(p, err) < 0) ||
	    idle_choose(p->cfg, p->dry ? p->hist : p->j, p->rc, gr->stream, gr->group,
	    &gr->idle, &gr->obs, err) < 0)
		return -1;
	log_threshold(p, gr);
	*ret_cs = NULL;
	*ret_ncs = 0;
	if (gr->idle.only_silent &&
	    redis_consumers(p->rc, gr->stream, gr->group, ret_cs, ret_ncs, err) < 0)
		return -1;
	idle_claim_opts(&gr->idle, p->rc, *ret_cs, *ret_ncs, o, ret_silent);
	if (!p->dry) {
		o->seen = idle_watch_seen;
		o->seen_ctx = &gr->obs;
	}
	return 0;
}

/*
 * Drains one group.  Redis always has the next pages while the answer in
 * hand is journalled (by the writer thread).
 */
int
claim_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	struct claim_opts o = {
		.consumer = p->cfg->consumer,
		.batch = (int)p->cfg->batch,
		.exclude = p->cfg->exclude,
	};
	struct consumer_info *cs = NULL;
	size_t ncs = 0;
	char **silent = NULL;
	struct claimer *cl = NULL;
	struct claim_page page;
	char *only[2] = {(char *)p->release, NULL};
	int rc = -1;

	if (p->release != NULL) {
		/* release --claim: every entry of that consumer, however young, whatever --exclude says. */
		o.exclude = NULL;
		o.min_idle_ms = 0;
		o.only_silent = true;
		o.silent = only;
		o.live_min_idle_ms = INT64_MAX;
	} else if (choose_threshold(p, gr, &o, &cs, &ncs, &silent, err) < 0) {
		goto done;
	}
	if (p->dry) {
		/* What would be claimed, by the same listing (status counts it the same way). */
		struct claim_stats st;
		if (claim_survey(p->rc, gr->stream, gr->group, &o, NULL, NULL, &st, err) < 0)
			goto done;
		gr->claimed = (long long)st.planned;
		gr->stale = (long long)st.live;
		log_claim_debug(p, gr->stream, gr->group, &st);
		rc = 0;
		goto out;
	}
	if (claimer_start(p->rc, gr->stream, gr->group, &o, &cl, err) < 0)
		goto done;
	for (;;) {
		if (*p->stop)
			claimer_close(cl);
		if (send_pages(p, cl, gr, &o, err) < 0)
			goto out;
		if (!claimer_pending(cl))
			break;
		if (claimer_recv(cl, &page, err) < 0)
			goto out;
		/* Refill the pipeline before the journal work on this page. */
		if (send_pages(p, cl, gr, &o, err) < 0)
			goto out;
		if (page.n > 0 && journal_page(p, gr->stream, gr->group, &page, gr, err) < 0)
			goto out;
	}
	log_claim_debug(p, gr->stream, gr->group, claimer_stats(cl));
	gr->stale = (long long)claimer_stats(cl)->live;
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
		ll_dur(&l, "idle_threshold", o.min_idle_ms);
		if (gr->lost > 0)
			ll_int(&l, "lost", gr->lost);
		ll_emit(p->lg, &l);
	}
done:
	free(silent);
	consumer_info_free(cs, ncs);
	return rc;
}
