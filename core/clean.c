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

/*
 * Deletes names[0..n) (cs: what XINFO said of each) from stream/group the
 * safe way: the intent first, then the atomic check and delete
 * (stream/zombie.h: only a consumer that owns nothing and is quiet
 * min_idle_ms), then each outcome journalled in one transaction.
 * OUT: *ret, n results (zombie_results_free()).
 */
int
clean_delete(struct pass *p, const char *stream, const char *group, int64_t min_idle_ms,
    const struct consumer_info *const *cs, size_t n, struct zombie_result **ret,
    struct xerr *err)
{
	struct zombie_result *zr = NULL;
	char **names = xcalloc(n + 1, sizeof(*names));
	struct jw w;
	int rc = -1;

	/* The intent first: a deletion leaves no trace in Redis to reconcile from. */
	pass_intent_head(p, &w, "delete", stream, group);
	jw_kint(&w, "min_idle_ms", min_idle_ms);
	jw_key(&w, "candidates");
	jw_arr(&w);
	for (size_t i = 0; i < n; i++) {
		names[i] = cs[i]->name;
		jw_obj(&w);
		intent_kname(&w, "name", cs[i]->name);
		jw_kint(&w, "idle_ms", cs[i]->idle_ms);
		jw_kint(&w, "inactive_ms", cs[i]->inactive_ms);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (intent_append(p->intents, p->dbuf.data, p->dbuf.len, err) < 0)
		goto out;
	if (zombies_delete(p->rc, stream, group, min_idle_ms, p->rc->has_inactive, names, n,
	    &zr, err) < 0) {
		p->uncertain = p->uncertain || err->code == XR_EREDIS;
		goto out;
	}
	failpoint("consumers-deleted");
	if (pass_flush(p, err) < 0 || journal_begin(p->j, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (pass_journal_zombie(p, stream, group, &zr[i], false, err) < 0) {
			journal_rollback(p->j);
			goto out;
		}
	}
	if (journal_commit(p->j, err) < 0)
		goto out;
	*ret = zr;
	zr = NULL;
	rc = 0;
out:
	zombie_results_free(zr, n);
	free(names);
	return rc;
}

/*
 * Also counts the group's consumers afterwards (gr->consumers): those
 * XINFO CONSUMERS listed, the recovery consumer and the ones deleted left
 * out (a dry run deletes none).
 */
int
clean_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	struct consumer_info *cs = NULL;
	struct zombie_result *zr = NULL;
	const struct consumer_info **cands = NULL;
	size_t ncs = 0, n = 0;
	long long others = 0;
	int rc = -1;

	if (redis_consumers(p->rc, gr->stream, gr->group, &cs, &ncs, err) < 0)
		return -1;
	cands = xcalloc(ncs + 1, sizeof(*cands));
	for (size_t i = 0; i < ncs; i++) {
		if (strcmp(cs[i].name, p->cfg->consumer) != 0)
			others++;
		if (is_zombie(p, &cs[i]))
			cands[n++] = &cs[i];
	}
	if (n == 0) {
		gr->consumers = others;
		rc = 0;
		goto out;
	}
	if (p->dry) {
		gr->consumers = others;
		for (size_t i = 0; i < n; i++)
			log_deleted(p, gr->stream, gr->group, cands[i]->name, cands[i]->idle_ms, 0,
			    true);
		gr->deleted = (long long)n;
		rc = 0;
		goto out;
	}
	if (clean_delete(p, gr->stream, gr->group, p->cfg->zombie_idle_ms, cands, n, &zr,
	    err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (zr[i].outcome == ZOMBIE_DELETED) {
			others--;
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
	gr->consumers = others;
	rc = 0;
out:
	zombie_results_free(zr, n);
	free(cands);
	consumer_info_free(cs, ncs);
	return rc;
}
