/*
 * dispose.c: the step of a pass after the claim, on one group: what
 * becomes of the entries the recovery consumer holds (--action,
 * --max-deliveries).  The moves themselves are deadletter.c and copy.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
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
 * --action redeliver: copies the held entries back into their stream, in
 * the order of the originals whichever run claimed them, as one batch.
 */
static int
redeliver_held(struct pass *p, struct group_result *gr, struct held_list *copies,
    struct xerr *err)
{
	struct copy_opts o = {NULL, 0, NULL, NULL};
	struct copy_result cr = {0};
	struct buf sj = BUF_INIT;
	struct xerr cerr = {0};
	struct logline lg;
	struct jw w;
	int brc, crc;

	qsort(copies->v, copies->n, sizeof(*copies->v), cmp_held);
	jw_init(&w, &sj);
	jw_obj(&w);
	jw_kint(&w, "run", p->run);
	jw_kstr(&w, "stream", gr->stream);
	jw_kstr(&w, "group", gr->group);
	jw_obj_end(&w);
	brc = batch_begin(p, true, NULL, buf_str(&sj), copies->n, &gr->batch, err);
	buf_free(&sj);
	if (brc < 0)
		return -1;
	crc = copy_entries(p, gr->batch, copies, &o, &cr, &cerr);
	gr->redelivered = (long long)cr.copied;
	if (batch_end(p, gr->batch, crc < 0 ? "failed" : "ok", cr.copied, err) < 0)
		return -1;
	if (crc < 0) {
		*err = cerr;
		return -1;
	}
	ll_start(&lg, LOG_INFO, "REDELIVER", NULL);
	ll_int(&lg, "batch", gr->batch);
	ll_int(&lg, "copied", gr->redelivered);
	ll_str(&lg, "stream", gr->stream);
	ll_str(&lg, "group", gr->group);
	ll_emit(p->lg, &lg);
	return 0;
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
int
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
		pass_log_problem(p, LOG_WARN, gr->stream, gr->group, "intents of a killed command about "
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
	if (copies.n > 0 && !*p->stop && redeliver_held(p, gr, &copies, err) < 0)
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
