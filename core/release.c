/*
 * release.c: `xrecover release CONSUMER` (see recover.h): a pass whose
 * step on each group deletes that one consumer, the way clean.c deletes
 * zombies (guarantee 2): the intent, then one atomic check-and-delete in
 * Redis that keeps it if it owns a pending entry at that instant, then the
 * outcome journalled.  With --claim its entries are first claimed into
 * the recovery consumer by claim.c, journalled with their payloads.
 */
#include <string.h>

#include "../lib/util.h"
#include "pass.h"

/* A consumer that reads again between the claim and the delete: claim again, this often. */
#define RELEASE_TRIES 3

static void
log_release(struct pass *p, const struct group_result *gr, const struct zombie_result *z)
{
	struct logline l;

	if (z->outcome == ZOMBIE_KEPT_PENDING) {
		ll_start(&l, LOG_WARN, "RELEASE", NULL);
		ll_str(&l, "kept_consumer", z->name);
		ll_str(&l, "stream", gr->stream);
		ll_str(&l, "group", gr->group);
		ll_int(&l, "pending", z->pending);
		ll_str(&l, "reason", "it owns pending entries (--claim moves them to the recovery consumer)");
	} else {
		ll_start(&l, LOG_INFO, "RELEASE", NULL);
		ll_str(&l, z->outcome == ZOMBIE_DELETED ? "deleted_consumer" : "gone_consumer", z->name);
		ll_str(&l, "stream", gr->stream);
		ll_str(&l, "group", gr->group);
		ll_int(&l, "idle_ms", z->idle_ms);
		ll_int(&l, "pending", z->pending);
	}
	ll_emit(p->lg, &l);
}

int
release_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	struct consumer_info *cs = NULL;
	const struct consumer_info *me = NULL;
	struct zombie_result *zr = NULL;
	size_t ncs = 0;
	int rc = -1;

	for (int tries = 0;; tries++) {
		consumer_info_free(cs, ncs);
		cs = NULL;
		ncs = 0;
		zombie_results_free(zr, 1);
		zr = NULL;
		if (p->release_claim && gr->release_found &&
		    claim_group(p, gr, err) < 0)
			goto out;
		if (redis_consumers(p->rc, gr->stream, gr->group, &cs, &ncs, err) < 0)
			goto out;
		me = NULL;
		for (size_t i = 0; i < ncs && me == NULL; i++)
			if (strcmp(cs[i].name, p->release) == 0)
				me = &cs[i];
		if (me == NULL)
			break;
		/* Found: claim first (above, on the next turn) when asked to and it owns entries. */
		if (!gr->release_found) {
			gr->release_found = true;
			if (p->release_claim && me->pending > 0)
				continue;
		}
		if (clean_delete(p, gr->stream, gr->group, 0, &me, 1, &zr, err) < 0)
			goto out;
		if (zr[0].outcome != ZOMBIE_KEPT_PENDING || !p->release_claim ||
		    tries + 1 >= RELEASE_TRIES)
			break;
	}
	if (zr != NULL) {
		log_release(p, gr, &zr[0]);
		if (zr[0].outcome == ZOMBIE_DELETED)
			gr->deleted++;
		else if (zr[0].outcome == ZOMBIE_KEPT_PENDING)
			gr->release_owned = zr[0].pending > 0 ? zr[0].pending : 1;
	}
	rc = 0;
out:
	zombie_results_free(zr, 1);
	consumer_info_free(cs, ncs);
	return rc;
}

/*
 * The error of a release that kept the consumer somewhere: the first such
 * group and how much it owned there.
 */
void
release_refusal(const struct pass *p, struct xerr *err)
{
	const struct recover_result *r = p->res;

	for (size_t i = 0; i < r->ngroups; i++) {
		const struct group_result *g = &r->groups[i];
		if (g->release_owned <= 0)
			continue;
		if (r->release_refused == 1)
			xerr_set(err, XR_EOWNS, "release: consumer '%s' still owns %lld pending "
			    "entr%s in stream '%s' group '%s'; kept there (--claim moves them to "
			    "the recovery consumer first)", p->release, g->release_owned,
			    g->release_owned == 1 ? "y" : "ies", g->stream, g->group);
		else
			xerr_set(err, XR_EOWNS, "release: consumer '%s' still owns pending entries "
			    "in %lld groups, kept there; first: %lld in stream '%s' group '%s' "
			    "(--claim moves them to the recovery consumer first)", p->release,
			    r->release_refused, g->release_owned, g->stream, g->group);
		return;
	}
}
