/*
 * clean.c: the clean step of a pass on one group: consumers that own no
 * pending entry and have been quiet for --zombie-idle are deleted
 * (guarantee 2: deleting them loses nothing).
 *
 * Guarantees: the candidates are in the intent file before Redis sees the
 * deletion; Redis deletes a consumer only if it still owns nothing and is
 * still quiet, in one script (stream/zombie.h); each consumer deleted or
 * kept is journalled, in one transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/claim.h"
#include "pass.h"

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

int
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
		pass_intent_head(p, &w, "delete", gr->stream, gr->group);
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
