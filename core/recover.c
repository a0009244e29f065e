/*
 * recover.c: one recovery pass (see recover.h): the journal first, then
 * reconciliation of a killed run, then for each selected group the steps
 * adopt (adopt.c), claim (claim.c), dispose (dispose.c) and clean
 * (clean.c), then settling (settle.c); a failure confined to a group is
 * journalled and the pass goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "incident.h"
#include "moves.h"
#include "outbox.h"
#include "pass.h"
#include "rules.h"
#include "select.h"

/* A batch of journal rows is committed when it is this big or this old. */
#define BATCH_ROWS 4096
#define BATCH_MS 500

/* ------------------------------------------------------------ helpers */

/* A failure confined to one group: logged, journalled, and the pass goes on. */
static int
group_failed(struct pass *p, struct group_result *gr, const struct xerr *gerr,
    struct xerr *err)
{
	pass_log_problem(p, LOG_ERROR, gr->stream, gr->group, gerr->msg);
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

/* ------------------------------------------------------------- groups */

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
	g->held = g->pending = g->stale = g->consumers = -1;
	g->held_ms = -1;
	g->idle.ms = -1;
	g->obs.added = -1;
	return g;
}

/* Fatal errors (Redis gone, journal unwritable) end the pass; others are the group's. */
static bool
fatal(const struct xerr *e)
{
	return e->code == XR_EREDIS || e->code == XR_EJOURNAL;
}

/* How the group stands afterwards, for the summary and --json. */
static int
group_after(struct pass *p, struct group_result *gr, struct xerr *err)
{
	struct consumer_info *cs = NULL;
	struct pending_summary ps;
	size_t ncs = 0;

	if (redis_pending_summary(p->rc, gr->stream, gr->group, &ps, err) == 0)
		gr->pending = ps.count;
	if (redis_consumers(p->rc, gr->stream, gr->group, &cs, &ncs, err) == 0) {
		gr->held = 0;
		for (size_t i = 0; i < ncs; i++)
			if (strcmp(cs[i].name, p->cfg->consumer) == 0)
				gr->held = cs[i].pending;
		consumer_info_free(cs, ncs);
		if (gr->held > 0)
			redis_oldest_held(p->rc, gr->stream, gr->group, p->cfg->consumer,
			    &gr->held_ms, err);
	}
	return fatal(err) ? -1 : 0;
}

/*
 * The steps on one group, in order, each after the one before succeeded.
 * A step's failure fails the group (journalled) and the pass goes on,
 * unless Redis or the journal is gone.
 */
static int
work_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	struct xerr gerr = {0};
	int rc = 0;

	if (p->release != NULL) {
		rc = release_group(p, gr, &gerr);
	} else {
		rc = adopt_group(p, gr, &gerr);
		if (rc == 0 && !p->cfg->no_claim)
			rc = claim_group(p, gr, &gerr);
		if (rc == 0 && !p->cfg->no_claim && !*p->stop)
			rc = dispose_group(p, gr, &gerr);
		if (rc == 0 && !p->cfg->no_clean && !*p->stop)
			rc = clean_group(p, gr, &gerr);
	}
	if (rc == 0) {
		gerr = (struct xerr){0};
		rc = group_after(p, gr, &gerr);
	}
	if (rc == 0 && p->release == NULL)
		rc = adopt_group_end(p, gr, &gerr);
	if (rc == 0)
		return 0;
	if (fatal(&gerr)) {
		*err = gerr;
		return -1;
	}
	return group_failed(p, gr, &gerr, err);
}

/*
 * Works on the selected groups of one stream; seen[k] is set when the
 * stream has the k-th group of --group, and *looked when its groups were
 * read.
 */
static int
work_stream(struct pass *p, const char *stream, bool named, bool *seen, bool *looked,
    struct xerr *err)
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
			pass_log_problem(p, LOG_WARN, stream, NULL, "no such stream; skipped");
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
	*looked = true;
	for (char **g = p->cfg->groups; *g != NULL; g++) {
		bool found = false;
		for (size_t i = 0; i < ng; i++)
			found = found || strcmp(gs[i].name, *g) == 0;
		seen[g - p->cfg->groups] = seen[g - p->cfg->groups] || found;
		if (!found && named)
			pass_log_problem(p, LOG_WARN, stream, *g, "no such group on this stream; skipped");
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
	struct recover_result *r = p->res;
	struct selected *sel = NULL;
	size_t n = 0, ng = 0;
	bool *seen, looked = false;
	int rc = 0;

	if (select_streams(p->rc, p->cfg, false, &sel, &n, err) < 0)
		return -1;
	while (p->cfg->groups[ng] != NULL)
		ng++;
	seen = xcalloc(ng + 1, sizeof(*seen));
	for (size_t i = 0; i < n && !*p->stop && rc == 0; i++)
		rc = work_stream(p, sel[i].name, sel[i].named, seen, &looked, err);
	/* A group no stream has is a typo, not a quiet day: the run ends in a warning. */
	for (size_t k = 0; k < ng && rc == 0 && looked && !*p->stop; k++) {
		if (seen[k])
			continue;
		pass_log_problem(p, LOG_WARN, NULL, p->cfg->groups[k],
		    "no such group on any selected stream; nothing done for it");
		r->missing_groups = xrealloc(r->missing_groups,
		    (r->nmissing_groups + 1) * sizeof(*r->missing_groups));
		r->missing_groups[r->nmissing_groups++] = xstrdup(p->cfg->groups[k]);
	}
	free(seen);
	/* Replays of these streams' entries whose copies were read and acknowledged. */
	if (rc == 0 && !p->dry && !*p->stop && p->release == NULL) {
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

/* ----------------------------------------------------------------- run */

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

/* Guarantee 3: the journal is proven writable (run_start) before Redis is touched. */
static int
pass_open_journal(struct pass *p, struct xerr *err)
{
	if (journal_open(p->cfg->db_path, JOURNAL_WRITE, &p->j, err) < 0)
		return -1;
	incident_policy_set(p->j);
	if (journal_lock(p->j, p->cfg->lock_timeout_ms, err) < 0 ||
	    intent_open(p->cfg->db_path, &p->intents, err) < 0 ||
	    run_start(p, err) < 0)
		return -1;
	p->res->run = p->run;
	return 0;
}

/* Reconciliation, then the groups; the first failure that ends the pass in werr. */
static void
pass_work(struct pass *p, struct xerr *werr)
{
	struct recover_result *r = p->res;

	if (!p->dry && reconcile(p, werr) < 0)
		return;
	if (p->rec.unreconciled > 0 && unreconciled_failed(p, werr) < 0)
		return;
	r->reconciled += p->rec.claimed;
	r->crashed_runs += p->rec.crashed;
	r->lost += p->rec.lost;
	r->deleted += p->rec.deleted;
	r->dead_lettered += p->rec.dead_lettered;
	if (!p->dry && writer_start(p->j, BATCH_ROWS, BATCH_MS, &p->w, werr) < 0)
		return;
	work(p, werr);
}

/* The totals and the status, from the groups and how the pass ended. */
static void
pass_tally(struct pass *p, const struct xerr *werr)
{
	struct recover_result *r = p->res;

	for (size_t i = 0; i < r->ngroups; i++) {
		r->claimed += r->groups[i].claimed;
		r->adopted += r->groups[i].adopted;
		r->lost += r->groups[i].lost;
		r->deleted += r->groups[i].deleted;
		r->dead_lettered += r->groups[i].dead_lettered;
		r->redelivered += r->groups[i].redelivered;
		r->handed_off += r->groups[i].handed_off;
		r->kept_back += r->groups[i].kept_back;
		r->release_found += r->groups[i].release_found;
		r->release_refused += r->groups[i].release_owned > 0;
	}
	if (werr->msg[0] != '\0')
		r->status = "failed";
	else if (*p->stop)
		r->status = "interrupted";
	else if (r->errors > 0 || r->release_refused > 0)
		r->status = "failed";
	else if ((p->release != NULL && r->release_found == 0) || r->nmissing > 0 || r->nmissing_groups > 0 || r->kept_back > 0)
		r->status = "warning";
	else
		r->status = "ok";
}

/*
 * Journals the end of the run (synced) and, when everything the run did is
 * journalled, clears its intents -- unless an answer from Redis was lost,
 * and only the next run can find out what happened.
 */
static int
pass_close_journal(struct pass *p, const struct xerr *werr, const char *missing,
    struct xerr *err)
{
	struct recover_result *r = p->res;
	struct xerr rerr = {0};
	const char *emsg = werr->msg[0] ? werr->msg :
	    p->first_error.msg[0] ? p->first_error.msg : missing[0] ? missing : NULL;

	if (emsg == NULL && r->release_refused > 0) {
		release_refusal(p, &rerr);
		emsg = rerr.msg;
	}

	if (werr->code == XR_EJOURNAL)
		journal_rollback(p->j);
	failpoint("before-run-end");
	if (pass_flush(p, err) < 0 || run_end(p, r->status, emsg, err) < 0 ||
	    journal_head(p->j, r->head, &r->head_seq, err) < 0)
		return -1;
	if (!p->uncertain && intent_clear(p->intents, err) < 0)
		return -1;
	return 0;
}

/*
 * Once the run is journalled (failed or not), with the alerts it raised
 * (run_end): the outbox (those and what is pending from earlier runs) out
 * within alert_budget, and the journal's head again.  A delivery problem
 * is logged and leaves the run's outcome alone.  A release (a service's
 * ExecStop) leaves delivery to the next run: a stop must not wait on a
 * webhook.
 */
static void
pass_alerts(struct pass *p)
{
	struct recover_result *r = p->res;
	struct outbox_result o;
	struct xerr err = {0};

	if (p->dry || p->j == NULL || p->release)
		return;
	if (p->cfg->nwebhooks > 0) {
		int rc = outbox_deliver(p->j, p->cfg, p->run, p->cfg->alert_budget_ms, &o, &err);
		outbox_log(p->lg, &o);
		r->alerts_sent = o.sent;
		r->alerts_failed = o.failed;
		r->alerts_pending = o.pending;
		outbox_result_free(&o);
		if (rc < 0) {
			pass_log_problem(p, LOG_ERROR, NULL, NULL, err.msg);
			return;
		}
	}
	/* The head the run shows (--json) is the journal's after them. */
	if (journal_head(p->j, r->head, &r->head_seq, &err) < 0)
		pass_log_problem(p, LOG_ERROR, NULL, NULL, err.msg);
}

/*
 * What the pass returns: werr first, then a stop, failed groups, entries
 * kept back, missing streams.
 */
static int
pass_outcome(struct pass *p, const struct xerr *werr, const char *missing, struct xerr *err)
{
	struct recover_result *r = p->res;

	if (werr->msg[0] != '\0')
		*err = *werr;
	else if (*p->stop)
		xerr_set(err, XR_EFAIL, "interrupted; the run stopped after the page in hand");
	else if (r->errors == 1 && p->rec.unreconciled > 0)
		*err = p->rec_error;
	else if (r->errors > 0)
		xerr_set(err, XR_EFAIL, "%lld of %zu groups failed; first: %s", r->errors,
		    r->ngroups, p->first_error.msg);
	else if (r->release_refused > 0)
		release_refusal(p, err);
	else if (p->release != NULL && r->release_found == 0)
		xerr_set(err, XR_ENOTHING, "release: no selected group has a consumer named '%s'%s%s",
		    p->release, missing[0] ? "; " : "", missing);
	else if (r->kept_back > 0)
		xerr_set(err, XR_EUNSAFE, "%s", missing);
	else if (r->nmissing > 0 || r->nmissing_groups > 0)
		xerr_set(err, XR_EMISSING, "%s (skipped; the rest was done)", missing);
	else
		return 0;
	return -1;
}

static void
pass_free(struct pass *p)
{
	rconn_close(p->rc);
	intent_close(p->intents);
	journal_close(p->j);
	journal_close(p->hist);
	buf_free(&p->pbuf);
	buf_free(&p->dbuf);
	ev_batch_free(&p->batch);
	free(p->fv);
	pass_unsettled_free(p);
}

static int pass_run(struct pass *p, struct xerr *err);

int
recover_run(const struct config *cfg, const struct mode *mode, const struct logger *lg,
    volatile sig_atomic_t *stop, struct recover_result *ret, struct xerr *err)
{
	struct pass p = {.cfg = cfg, .mode = mode, .lg = lg, .stop = stop, .res = ret,
	    .dry = cfg->dry_run};

	return pass_run(&p, err);
}

static int
pass_run(struct pass *p, struct xerr *err)
{
	const struct config *cfg = p->cfg;
	struct recover_result *ret = p->res;
	struct redis_target t;
	struct xerr werr = {0}, serr = {0};
	char missing[480] = "";
	int rc = -1;
	int64_t t0 = mono_ms();

	memset(ret, 0, sizeof(*ret));
	ret->status = "failed";
	ret->started_ms = now_ms();
	if (cfg->streams[0] == NULL && cfg->match == NULL)
		return xerr_set(err, XR_EUSAGE,
		    "no streams selected: give --stream NAME or --match GLOB, or set "
		    "\"streams\" or \"match\" in the config");
	if (config_redis_target(cfg, &t, err) < 0)
		return -1;
	if (!p->dry && pass_open_journal(p, err) < 0)
		goto out;
	/* A dry run reads the groups' history, if there is a journal, to choose as a run would. */
	if (p->dry && config_any_auto(cfg) && access(cfg->db_path, F_OK) == 0 &&
	    journal_open(cfg->db_path, JOURNAL_READ, &p->hist, err) < 0)
		goto out;
	if (config_redis_open(cfg, &t, &p->rc, &werr) < 0) {
		ret->duration_ms = mono_ms() - t0;
		if (!p->dry && run_end(p, "failed", werr.msg, err) < 0)
			goto out;
		/* The alerts this run raised go out. */
		pass_alerts(p);
		*err = werr;
		goto out;
	}
	pass_work(p, &werr);
	if (p->w != NULL && writer_stop(p->w, &serr) < 0 && werr.msg[0] == '\0')
		werr = serr;
	p->w = NULL;
	pass_tally(p, &werr);
	if (ret->kept_back > 0)
		warning_message(ret, missing, sizeof(missing));
	else if (ret->nmissing > 0 || ret->nmissing_groups > 0)
		missing_message(ret, missing, sizeof(missing));
	ret->duration_ms = mono_ms() - t0;
	if (!p->dry && pass_close_journal(p, &werr, missing, &serr) < 0) {
		*err = werr.msg[0] ? werr : serr;
		goto out;
	}
	log_summary(p);
	rc = pass_outcome(p, &werr, missing, err);
	/* The alerts this run raised go out. */
	pass_alerts(p);
out:
	redis_target_free(&t);
	pass_free(p);
	return rc;
}

int
release_run(const struct config *cfg, const struct mode *mode, const char *consumer,
    bool claim, const struct logger *lg, volatile sig_atomic_t *stop,
    struct recover_result *ret, struct xerr *err)
{
	struct pass p = {.cfg = cfg, .mode = mode, .lg = lg, .stop = stop, .res = ret,
	    .release = consumer, .release_claim = claim};

	memset(ret, 0, sizeof(*ret));
	ret->status = "failed";
	if (strcmp(consumer, cfg->consumer) == 0)
		return xerr_set(err, XR_EUSAGE, "release: '%s' is the recovery consumer "
		    "(--consumer); it is never released", consumer);
	return pass_run(&p, err);
}

void
recover_result_free(struct recover_result *r)
{
	for (size_t i = 0; i < r->ngroups; i++) {
		free(r->groups[i].stream);
		free(r->groups[i].group);
		free(r->groups[i].error);
		free(r->groups[i].kept_reason);
		idle_obs_free(&r->groups[i].obs);
	}
	free(r->groups);
	for (size_t i = 0; i < r->nmissing; i++)
		free(r->missing[i]);
	free(r->missing);
	for (size_t i = 0; i < r->nmissing_groups; i++)
		free(r->missing_groups[i]);
	free(r->missing_groups);
	rule_hits_free(r->hits, r->nhits);
	memset(r, 0, sizeof(*r));
}
