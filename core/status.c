/* status.c: gathering the view `xrecover status` prints. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "../stream/claim.h"
#include "../stream/redis.h"
#include "idle.h"
#include "select.h"
#include "status.h"

const char *
consumer_state_name(enum consumer_state s)
{
	switch (s) {
	case CS_ACTIVE: return "active";
	case CS_STALE: return "stale";
	case CS_ZOMBIE: return "zombie";
	case CS_RECOVERY: return "recovery";
	case CS_EXCLUDED: return "excluded";
	}
	return "?";
}

static void
warn(const struct logger *lg, const char *stream, const char *msg)
{
	struct logline l;

	ll_start(&l, LOG_WARN, "WARN", NULL);
	ll_str(&l, "stream", stream);
	ll_str(&l, "warning", msg);
	ll_emit(lg, &l);
}

/* Claimable entries counted per owner, as claim_survey() finds them. */
struct owners {
	const struct consumer_info *cs;
	size_t n, last;
	long long *claimable;
};

static void
count_owner(void *ctx, const struct pending_entry *e)
{
	struct owners *o = ctx;

	/* Entries of one owner come in runs: try the last one first. */
	if (o->last < o->n && strcmp(o->cs[o->last].name, e->owner) == 0) {
		o->claimable[o->last]++;
		return;
	}
	for (size_t i = 0; i < o->n; i++) {
		if (strcmp(o->cs[i].name, e->owner) == 0) {
			o->claimable[i]++;
			o->last = i;
			return;
		}
	}
}

static int
gather_group(struct rconn *rc, struct journal *j, const struct config *cfg,
    const char *stream, const struct group_info *gi, struct status *st, struct xerr *err)
{
	struct consumer_info *cs = NULL;
	size_t ncs = 0;
	struct pending_summary ps;
	struct status_group *g;
	struct claim_opts co = {
		.consumer = cfg->consumer,
		.batch = (int)cfg->batch,
		.exclude = cfg->exclude,
	};
	struct claim_stats cst;
	struct owners own = {0};
	struct idle_choice ch;
	char **silent = NULL;

	if (redis_pending_summary(rc, stream, gi->name, &ps, err) < 0 ||
	    redis_consumers(rc, stream, gi->name, &cs, &ncs, err) < 0)
		return -1;
	/* The threshold run would choose now, from the same history. */
	if (idle_choose(cfg, j, rc, stream, gi->name, &ch, NULL, err) < 0) {
		consumer_info_free(cs, ncs);
		return -1;
	}
	idle_claim_opts(&ch, rc, cs, ncs, &co, &silent);
	/* STALE is what run would claim: the same listing, entry by entry. */
	own.cs = cs;
	own.n = ncs;
	own.claimable = xcalloc(ncs + 1, sizeof(*own.claimable));
	if (ps.count > 0 && claim_survey(rc, stream, gi->name, &co, count_owner, &own, &cst,
	    err) < 0) {
		free(own.claimable);
		free(silent);
		consumer_info_free(cs, ncs);
		return -1;
	}
	free(silent);
	st->groups = xrealloc(st->groups, (st->ngroups + 1) * sizeof(*st->groups));
	g = &st->groups[st->ngroups++];
	memset(g, 0, sizeof(*g));
	g->stream = xstrdup(stream);
	g->group = xstrdup(gi->name);
	g->consumers = gi->consumers;
	g->pending = ps.count;
	g->lag = gi->lag;
	g->oldest_age_ms = -1;
	if (ps.count > 0) {
		g->oldest_age_ms = now_ms() - (int64_t)ps.oldest.ms;
		if (g->oldest_age_ms < 0)
			g->oldest_age_ms = 0;
		entry_id_format(ps.oldest, g->oldest_id, sizeof(g->oldest_id));
	}
	snprintf(g->last_delivered, sizeof(g->last_delivered), "%s", gi->last_delivered);
	g->stale = ps.count > 0 ? (long long)cst.planned : 0;
	g->claim_idle_ms = ch.ms;
	snprintf(g->claim_idle_why, sizeof(g->claim_idle_why), "%s", ch.why);

	st->consumers = xrealloc(st->consumers, (st->nconsumers + ncs) * sizeof(*st->consumers));
	for (size_t i = 0; i < ncs; i++) {
		struct status_consumer *c = &st->consumers[st->nconsumers++];
		int64_t quiet = consumer_quiet_ms(rc, &cs[i]);

		c->stream = xstrdup(stream);
		c->group = xstrdup(gi->name);
		c->name = xstrdup(cs[i].name);
		c->pending = cs[i].pending;
		c->idle_ms = cs[i].idle_ms;
		c->inactive_ms = rc->has_inactive ? cs[i].inactive_ms : -1;
		if (strcmp(cs[i].name, cfg->consumer) == 0) {
			c->state = CS_RECOVERY;
			g->held = cs[i].pending;
		} else if (consumer_excluded(cs[i].name, cfg->exclude)) {
			c->state = CS_EXCLUDED;
		} else if (own.claimable[i] > 0) {
			c->state = CS_STALE;
		} else if (cs[i].pending == 0 && quiet >= cfg->zombie_idle_ms) {
			c->state = CS_ZOMBIE;
		} else {
			c->state = CS_ACTIVE;
		}
	}
	free(own.claimable);
	consumer_info_free(cs, ncs);
	return 0;
}

int
status_gather(const struct config *cfg, const struct logger *lg, struct status *ret,
    struct xerr *err)
{
	struct redis_target t;
	struct rconn *rc = NULL;
	struct journal *j = NULL;
	struct selected *sel = NULL;
	size_t nsel = 0;
	int r = -1;

	memset(ret, 0, sizeof(*ret));
	if (config_redis_target(cfg, &t, err) < 0)
		return -1;
	if (config_redis_open(cfg, &t, &rc, err) < 0)
		goto out;
	/* The groups' history, where there is a journal: thresholds as run chooses them. */
	if (config_any_auto(cfg) && access(cfg->db_path, F_OK) == 0 &&
	    journal_open(cfg->db_path, JOURNAL_READ, &j, err) < 0)
		goto out;
	memcpy(ret->version, rc->version, sizeof(ret->version));
	if (select_streams(rc, cfg, true, &sel, &nsel, err) < 0)
		goto out;
	for (size_t i = 0; i < nsel; i++) {
		struct group_info *gs = NULL;
		size_t ng = 0;
		char type[16];

		if (sel[i].named) {
			if (redis_key_type(rc, sel[i].name, type, err) < 0)
				goto out;
			if (strcmp(type, "stream") != 0) {
				warn(lg, sel[i].name, strcmp(type, "none") == 0 ? "no such stream" :
				    "not a stream");
				if (strcmp(type, "none") == 0) {
					ret->missing = xrealloc(ret->missing,
					    (ret->nmissing + 1) * sizeof(*ret->missing));
					ret->missing[ret->nmissing++] = xstrdup(sel[i].name);
				}
				continue;
			}
		}
		if (redis_groups(rc, sel[i].name, &gs, &ng, err) < 0)
			goto out;
		for (size_t k = 0; k < ng; k++) {
			if (!group_selected(cfg, gs[k].name))
				continue;
			if (gather_group(rc, j, cfg, sel[i].name, &gs[k], ret, err) < 0) {
				group_info_free(gs, ng);
				goto out;
			}
		}
		group_info_free(gs, ng);
	}
	r = 0;
out:
	selected_free(sel, nsel);
	journal_close(j);
	rconn_close(rc);
	redis_target_free(&t);
	return r;
}

void
status_free(struct status *s)
{
	for (size_t i = 0; i < s->ngroups; i++) {
		free(s->groups[i].stream);
		free(s->groups[i].group);
	}
	for (size_t i = 0; i < s->nconsumers; i++) {
		free(s->consumers[i].stream);
		free(s->consumers[i].group);
		free(s->consumers[i].name);
	}
	free(s->groups);
	free(s->consumers);
	for (size_t i = 0; i < s->nmissing; i++)
		free(s->missing[i]);
	free(s->missing);
	memset(s, 0, sizeof(*s));
}
