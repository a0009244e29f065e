/*
 * runlog.c: what a run says of itself: its run_start event (who, how,
 * with which options), its run_end event (the counts, each group's
 * pending, held and claim threshold, what was missing), the SUMMARY log
 * line, and the one-line messages of a warning (see pass.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "idle.h"
#include "pass.h"
#include "rules.h"

static void
options_json(const struct pass *p, struct jw *w)
{
	const struct config *c = p->cfg;
	struct redis_target t;
	char where[300] = "?";

	if (redis_target_parse_login(c->redis_url, true, &t, NULL) == 0) {
		redis_target_describe(&t, where, sizeof(where));
		redis_target_free(&t);
	}
	jw_obj(w);
	jw_kstr(w, "redis", where);
	jw_kstrs(w, "streams", c->streams, JW_TO_NULL);
	jw_kstr(w, "match", c->match);
	jw_kstrs(w, "groups", c->groups, JW_TO_NULL);
	if (c->claim_idle_ms == CLAIM_IDLE_AUTO)
		jw_kstr(w, "claim_idle", "auto");
	else
		jw_kint(w, "claim_idle_ms", c->claim_idle_ms);
	if (c->nidle_groups > 0) {
		jw_key(w, "claim_idle_groups");
		jw_obj(w);
		for (size_t i = 0; i < c->nidle_groups; i++) {
			jw_key(w, c->idle_groups[i].name);
			if (c->idle_groups[i].ms == CLAIM_IDLE_AUTO)
				jw_str(w, "auto");
			else
				jw_int(w, c->idle_groups[i].ms);
		}
		jw_obj_end(w);
	}
	jw_kint(w, "claim_idle_floor_ms", c->claim_idle_floor_ms);
	jw_kint(w, "claim_idle_ceiling_ms", c->claim_idle_ceiling_ms);
	jw_kint(w, "claim_idle_busy_ms", c->claim_idle_busy_ms);
	jw_kint(w, "claim_idle_quiet_ms", c->claim_idle_quiet_ms);
	jw_kbool(w, "only_silent_consumers", c->only_silent_consumers);
	jw_kint(w, "zombie_idle_ms", c->zombie_idle_ms);
	jw_kint(w, "batch", c->batch);
	jw_kstr(w, "consumer", c->consumer);
	jw_kstrs(w, "exclude_consumers", c->exclude, JW_TO_NULL);
	jw_kstr(w, "action", c->action);
	jw_kstr(w, "redeliver_to", c->redeliver_to);
	jw_kbool(w, "all_groups", c->all_groups);
	jw_kint(w, "max_deliveries", c->max_deliveries);
	jw_kstr(w, "dead_letter_stream", c->dead_letter_stream);
	jw_kbool(w, "no_claim", c->no_claim);
	jw_kbool(w, "no_clean", c->no_clean);
	if (p->release != NULL) {
		/* `xrecover release`: the runs view shows it among the options. */
		jw_kstr(w, "release", p->release);
		jw_kbool(w, "release_claim", p->release_claim);
	}
	jw_obj_end(w);
}

int
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
	jw_kstr(&w, "command", p->release != NULL ? "release" : "run");
	jw_key(&w, "options");
	options_json(p, &w);
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

/*
 * The threshold a group's claim used and why, and what the runs after
 * this one build on (store/history.h).
 */
static void
group_idle_json(const struct group_result *g, struct jw *w)
{
	if (g->idle.ms < 0)
		return;
	jw_kint(w, "claim_idle_ms", g->idle.ms);
	jw_kstr(w, "claim_idle_why", g->idle.why);
	jw_kbool(w, "only_silent", g->idle.only_silent);
	if (g->obs.added >= 0)
		jw_kint(w, "entries_added", g->obs.added);
	jw_key(w, "holds_ms");
	jw_arr(w);
	for (size_t i = 0; i < g->obs.nholds; i++)
		jw_int(w, g->obs.holds[i]);
	jw_arr_end(w);
	jw_key(w, "watch");
	jw_arr(w);
	for (size_t i = 0; i < g->obs.nwatch; i++) {
		char id[ENTRY_ID_STRLEN];
		entry_id_format(g->obs.watch[i].id, id, sizeof(id));
		jw_arr(w);
		jw_str(w, g->obs.watch[i].consumer);
		jw_str(w, id);
		jw_int(w, g->obs.watch[i].idle_ms);
		jw_arr_end(w);
	}
	jw_arr_end(w);
}

void
recover_counts_json(const struct recover_result *r, struct jw *w)
{
	jw_kint(w, "claimed", r->claimed);
	jw_kint(w, "reconciled", r->reconciled);
	jw_kint(w, "adopted", r->adopted);
	jw_kint(w, "lost", r->lost);
	jw_kint(w, "deleted", r->deleted);
	jw_kint(w, "dead_lettered", r->dead_lettered);
	jw_kint(w, "redelivered", r->redelivered);
	jw_kint(w, "settled", r->settled);
}

int
run_end(struct pass *p, const char *status, const char *error, struct xerr *err)
{
	struct recover_result *r = p->res;
	struct event ev = EVENT_INIT;
	struct jw w;

	/* The alert rules whose condition holds now: "alerting", and what rules_evaluate() raises. */
	if (rules_find(p->j, p->cfg, p->run, status, error, r, err) < 0)
		return -1;
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kstr(&w, "status", status);
	jw_kint(&w, "duration_ms", r->duration_ms);
	recover_counts_json(r, &w);
	if (r->handed_off > 0)
		jw_kint(&w, "handed_off", r->handed_off);
	if (r->kept_back > 0)
		jw_kint(&w, "kept_back", r->kept_back);
	jw_kint(&w, "groups", (int64_t)r->ngroups);
	jw_kint(&w, "errors", r->errors);
	if (p->release != NULL) {
		jw_kint(&w, "release_found", r->release_found);
		jw_kint(&w, "release_refused", r->release_refused);
	}
	if (error != NULL)
		jw_kstr(&w, "error", error);
	if (r->nmissing > 0)
		jw_kstrs(&w, "missing", r->missing, r->nmissing);
	if (r->nmissing_groups > 0)
		jw_kstrs(&w, "missing_groups", r->missing_groups, r->nmissing_groups);
	/*
	 * What each group had pending afterwards: the daily report draws it,
	 * and later runs learn from it (history.h, adopt.h).  A release looked
	 * at one consumer, not the group: it adds nothing there.
	 */
	jw_key(&w, "pending");
	jw_arr(&w);
	for (size_t i = 0; i < r->ngroups && p->release == NULL; i++) {
		const struct group_result *g = &r->groups[i];
		if (g->group == NULL || g->pending < 0)
			continue;
		jw_obj(&w);
		jw_kstr(&w, "stream", g->stream);
		jw_kstr(&w, "group", g->group);
		jw_kint(&w, "pending", g->pending);
		jw_kint(&w, "held", g->held);
		if (g->consumers >= 0)
			jw_kint(&w, "consumers", g->consumers);
		if (g->seen_ok) {
			/* Nobody added to what it holds since it was checked (adopt.c). */
			jw_key(&w, "held_seen");
			jw_arr(&w);
			jw_int(&w, g->seen_lo);
			jw_int(&w, g->seen_hi);
			jw_int(&w, g->seen_idle);
			jw_int(&w, g->seen_held);
			jw_int(&w, g->seen_checked);
			jw_str(&w, p->cfg->consumer);
			jw_arr_end(&w);
		}
		group_idle_json(g, &w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	rules_alerting_json(r, &w);
	jw_obj_end(&w);
	ev.kind = "run_end";
	ev.run = p->run;
	ev.detail = buf_str(&p->dbuf);
	/*
	 * The alerts the run raises go in with its run_end, in one transaction:
	 * a run killed afterwards has them in its outbox, and one that cannot
	 * raise them has not ended (the next run closes it as crashed).
	 */
	if (journal_begin_durable(p->j, err) < 0)
		return -1;
	if (journal_append(p->j, &ev, err) < 0 ||
	    rules_evaluate(p->j, p->cfg, p->mode, p->run, r, err) < 0) {
		journal_rollback(p->j);
		return -1;
	}
	if (journal_commit(p->j, err) < 0)
		return -1;
	failpoint("after-run-end");
	return 0;
}

void
log_summary(struct pass *p)
{
	struct recover_result *r = p->res;
	struct logline l;

	ll_start(&l, r->errors > 0 || r->release_refused > 0 || r->nmissing > 0 || r->nmissing_groups > 0 ||
	    r->kept_back > 0 ? LOG_WARN : LOG_INFO,
	    "SUMMARY",
	    p->dry ? "DRY-RUN" : NULL);
	if (!p->dry)
		ll_int(&l, "run", r->run);
	ll_str(&l, "mode", p->mode->name);
	if (p->release != NULL) {
		ll_str(&l, "release", p->release);
		ll_int(&l, "groups_with_it", r->release_found);
		ll_int(&l, "kept_in", r->release_refused);
	}
	ll_int(&l, p->dry ? "would_claim" : "claimed", r->claimed);
	ll_int(&l, p->dry ? "would_delete" : "deleted", r->deleted);
	ll_int(&l, "lost", r->lost);
	ll_int(&l, "dead_lettered", r->dead_lettered);
	ll_int(&l, "redelivered", r->redelivered);
	if (r->settled > 0)
		ll_int(&l, "settled", r->settled);
	if (r->handed_off > 0)
		ll_int(&l, "handed_off", r->handed_off);
	if (r->kept_back > 0)
		ll_int(&l, "kept_back", r->kept_back);
	if (r->reconciled > 0)
		ll_int(&l, "reconciled", r->reconciled);
	if (r->adopted > 0)
		ll_int(&l, "adopted", r->adopted);
	if (r->nmissing > 0)
		ll_int(&l, "missing", (int64_t)r->nmissing);
	if (r->nmissing_groups > 0)
		ll_int(&l, "missing_groups", (int64_t)r->nmissing_groups);
	ll_str(&l, "status", r->status);
	ll_int(&l, "duration_ms", r->duration_ms);
	ll_emit(p->lg, &l);
}

/* "no such stream: 'a', 'b'", cut short with "..." when long. */
void
missing_message(const struct recover_result *r, char *out, size_t len)
{
	struct buf b = BUF_INIT;

	if (r->nmissing > 0)
		buf_adds(&b, r->nmissing == 1 ? "no such stream: " : "no such streams: ");
	for (size_t i = 0; i < r->nmissing; i++)
		buf_printf(&b, "%s'%s'", i > 0 ? ", " : "", r->missing[i]);
	if (r->nmissing_groups > 0)
		buf_printf(&b, "%s%s", r->nmissing > 0 ? "; " : "", r->nmissing_groups == 1 ?
		    "no such group on any selected stream: " : "no such groups on any selected stream: ");
	for (size_t i = 0; i < r->nmissing_groups; i++)
		buf_printf(&b, "%s'%s'", i > 0 ? ", " : "", r->missing_groups[i]);
	if (b.len >= len && len > 4)
		memcpy(b.data + len - 4, "...", 4);
	snprintf(out, len, "%s", buf_str(&b));
	buf_free(&b);
}

/*
 * "N entries kept back ...", naming the first group and why (see
 * dispose.c), then the missing streams if any; cut short when long.
 */
void
warning_message(const struct recover_result *r, char *out, size_t len)
{
	struct buf b = BUF_INIT;
	size_t ngroups = 0;
	const struct group_result *first = NULL;

	for (size_t i = 0; i < r->ngroups; i++) {
		if (r->groups[i].kept_back == 0)
			continue;
		ngroups++;
		if (first == NULL)
			first = &r->groups[i];
	}
	if (first != NULL)
		buf_printf(&b, "%lld entries kept back in %zu group%s, still held: stream '%s' "
		    "group '%s': %s", r->kept_back, ngroups, ngroups == 1 ? "" : "s", first->stream,
		    first->group, first->kept_reason != NULL ? first->kept_reason : "");
	if (r->nmissing > 0 || r->nmissing_groups > 0) {
		char missing[300];
		missing_message(r, missing, sizeof(missing));
		buf_printf(&b, "%s%s", first != NULL ? "; " : "", missing);
	}
	if (b.len >= len && len > 4)
		memcpy(b.data + len - 4, "...", 4);
	snprintf(out, len, "%s", buf_str(&b));
	buf_free(&b);
}
