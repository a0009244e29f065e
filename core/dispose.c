/*
 * dispose.c: the step of a pass after the claim, on one group: what
 * becomes of the entries the recovery consumer holds (--action,
 * --max-deliveries).  The moves themselves are deadletter.c, copy.c and
 * handoff.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/move.h"
#include "moves.h"

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
 * Redelivery that would reach other groups, refused (guarantee 9): the n
 * entries stay held; logged, journalled (redeliver_refused) and counted
 * as kept back, with the reason naming those groups.
 */
static int
keep_back(struct pass *p, struct group_result *gr, const char *to, char *const *others,
    size_t n, struct xerr *err)
{
	char *names = names_text(others);
	struct buf why = BUF_INIT;
	struct event ev = EVENT_INIT;
	struct logline l;
	struct jw w;
	int rc;

	buf_printf(&why, "a copy in stream '%s' would reach group%s %s too, not only '%s'; "
	    "give --redeliver-to TEMPLATE (a retry stream per group), --action hand-off, or "
	    "--all-groups", to, others[1] != NULL ? "s" : "", names, gr->group);
	gr->kept_back += (long long)n;
	free(gr->kept_reason);
	gr->kept_reason = xstrdup(buf_str(&why));
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kint(&w, "kept_back", (int64_t)n);
	jw_kstr(&w, "to", to);
	jw_key(&w, "other_groups");
	names_json(&w, others);
	jw_kstr(&w, "reason", buf_str(&why));
	jw_obj_end(&w);
	ev.kind = "redeliver_refused";
	ev.run = p->run;
	ev.stream = gr->stream;
	ev.grp = gr->group;
	ev.detail = buf_str(&p->dbuf);
	rc = pass_append(p, &ev, err);
	if (rc == 0) {
		ll_start(&l, LOG_WARN, "REDELIVER", "kept back");
		ll_int(&l, "kept_back", (int64_t)n);
		ll_str(&l, "stream", gr->stream);
		ll_str(&l, "group", gr->group);
		ll_str(&l, "to", to);
		ll_str(&l, "other_groups", names);
		ll_emit(p->lg, &l);
	}
	free(names);
	buf_free(&why);
	return rc;
}

/*
 * Where --redeliver-to sends the copies of a group's held entries l: the
 * template's stream for the stream and group; but entries of that very
 * stream (a retry stream: copies, claimed there from a consumer that died
 * on them) go back into it, not into a retry stream of the retry stream.
 * *ret: NULL for the entries' own stream (the caller frees it).
 */
static int
redeliver_target(struct pass *p, struct group_result *gr, const struct held_list *l,
    char **ret, struct xerr *err)
{
	const char *tmpl = p->cfg->redeliver_to;
	struct copy_origins *o = NULL;
	struct copy_origin org = {0};
	bool retry = false;
	int rc;

	*ret = NULL;
	if (tmpl == NULL)
		return 0;
	if (pass_flush(p, err) < 0 || journal_origins_open(p->j, &o, err) < 0)
		return -1;
	rc = journal_copy_origin(o, gr->stream, gr->group, l->v[0].e.id, &org, err);
	journal_origins_close(o);
	if (rc < 0)
		return -1;
	if (org.is_copy) {
		char *theirs = dlq_name(tmpl, org.stream, org.grp);
		retry = strcmp(theirs, gr->stream) == 0;
		free(theirs);
	}
	copy_origin_free(&org);
	if (!retry)
		*ret = dlq_name(tmpl, gr->stream, gr->group);
	return 0;
}

/*
 * --action redeliver: copies the held entries, in the order of the
 * originals whichever run claimed them, as one batch: into their stream,
 * or with --redeliver-to into the group's retry stream (whose group of
 * the same name is created when missing; see redeliver_target).  A copy must reach no group but
 * the entries' own, unless --all-groups: otherwise nothing is copied and
 * the entries stay held (keep_back).
 */
static int
redeliver_held(struct pass *p, struct group_result *gr, struct held_list *copies,
    struct xerr *err)
{
	const struct config *c = p->cfg;
	char *to = NULL;
	const char *target;
	struct copy_opts o = {NULL, 0, NULL, NULL};
	struct copy_result cr = {0};
	struct buf sj = BUF_INIT;
	struct xerr cerr = {0};
	char **others = NULL;
	struct logline lg;
	struct jw w;
	int brc, crc, rc = -1;

	if (redeliver_target(p, gr, copies, &to, err) < 0)
		goto out;
	target = to != NULL ? to : gr->stream;
	if (copy_other_groups(p, target, gr->group, &others, err) < 0)
		goto out;
	if (others[0] != NULL && !c->all_groups) {
		rc = keep_back(p, gr, target, others, copies->n, err);
		goto out;
	}
	if (to != NULL && copy_group_ensure(p, to, gr->group, "REDELIVER",
	    "--redeliver-to: the group of the same name reads the copies", err) < 0)
		goto out;
	qsort(copies->v, copies->n, sizeof(*copies->v), cmp_held);
	for (size_t i = 0; i < copies->n; i++)
		copies->v[i].copy_to = to;
	jw_init(&w, &sj);
	jw_obj(&w);
	jw_kint(&w, "run", p->run);
	jw_kstr(&w, "stream", gr->stream);
	jw_kstr(&w, "group", gr->group);
	if (to != NULL)
		jw_kstr(&w, "redeliver_to", c->redeliver_to);
	jw_obj_end(&w);
	brc = batch_begin(p, true, to, buf_str(&sj), c->all_groups ? others : NULL, copies->n,
	    &gr->batch, err);
	if (brc < 0)
		goto out;
	crc = copy_entries(p, gr->batch, copies, &o, &cr, &cerr);
	gr->redelivered = (long long)cr.copied;
	if (batch_end(p, gr->batch, crc < 0 ? "failed" : "ok", cr.copied, err) < 0)
		goto out;
	if (crc < 0) {
		*err = cerr;
		goto out;
	}
	ll_start(&lg, LOG_INFO, "REDELIVER", NULL);
	ll_int(&lg, "batch", gr->batch);
	ll_int(&lg, "copied", gr->redelivered);
	ll_str(&lg, "stream", gr->stream);
	ll_str(&lg, "group", gr->group);
	if (to != NULL)
		ll_str(&lg, "to", to);
	char *names = c->all_groups && others[0] != NULL ? names_text(others) : NULL;
	if (names != NULL)
		ll_str(&lg, "all_groups", names);
	ll_emit(p->lg, &lg);
	free(names);
	rc = 0;
out:
	strv_free(others);
	buf_free(&sj);
	free(to);
	return rc;
}

/*
 * What becomes of the entries the recovery consumer holds in a group and
 * the journal knows (claimed by this run, or by an earlier one that was
 * killed, failed, or had another --action): with --max-deliveries, those
 * delivered more often go to the dead-letter stream; with --action
 * dead-letter, all of them; with --action redeliver, the rest are copied
 * back into their stream (or retry stream) at once, unless a copy would
 * reach other groups; with --action hand-off, the rest go to a live
 * consumer of the group.  Entries with a copy in flight (not yet
 * settled or rolled back) are left alone: they were redelivered already.
 */
int
dispose_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	const struct config *c = p->cfg;
	bool dl_all = strcmp(c->action, "dead-letter") == 0;
	bool redeliver = strcmp(c->action, "redeliver") == 0;
	bool handoff = strcmp(c->action, "hand-off") == 0;
	struct held_list lists[2];
	struct held **dl = NULL;
	const char **why = NULL;
	char (*reasons)[96] = NULL;
	struct held_list copies = {0};
	size_t ndl = 0, n;
	int rc = -1;

	if ((!dl_all && !redeliver && !handoff && c->max_deliveries == 0) || p->dry)
		return 0;
	if (pass_unsettled(p, gr->stream, gr->group)) {
		/* What a killed command did to them is not known yet: leave them be. */
		pass_log_problem(p, LOG_WARN, gr->stream, gr->group, "intents of a killed command about "
		    "this group are not reconciled yet; --action and --max-deliveries wait for them");
		return 0;
	}
	if (held_of_group(p, gr, dl_all || redeliver || handoff, &lists[0], &lists[1], err) < 0)
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
			} else if (redeliver || handoff) {
				copies.v[copies.n++] = *h;      /* a view: the lists own the bytes */
			}
		}
	}
	if (ndl > 0 && dead_letter_entries(p, gr->stream, gr->group, dl, why, ndl,
	    &gr->dead_lettered, err) < 0)
		goto out;
	if (copies.n > 0 && !*p->stop && redeliver && redeliver_held(p, gr, &copies, err) < 0)
		goto out;
	if (copies.n > 0 && !*p->stop && handoff && hand_off_held(p, gr, &copies, err) < 0)
		goto out;
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
