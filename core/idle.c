/* idle.c: the claim threshold of one group, and why (see idle.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "idle.h"

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The previous run's watched entries that are pending nowhere now: their
 * consumers acknowledged them, each after at least the idle it had then.
 * One that moved to another consumer (claimed) is no hold time.
 */
static int
find_holds(struct rconn *rc, const char *stream, const char *group,
    const struct group_history *h, struct idle_obs *obs, struct xerr *err)
{
	struct entry_id *ids;
	char **owners;
	int r;

	if (h->nwatch == 0)
		return 0;
	ids = xcalloc(h->nwatch, sizeof(*ids));
	owners = xcalloc(h->nwatch, sizeof(*owners));
	for (size_t i = 0; i < h->nwatch; i++)
		ids[i] = h->watch[i].id;
	r = redis_pending_owners(rc, stream, group, ids, h->nwatch, owners, err);
	for (size_t i = 0; i < h->nwatch; i++) {
		if (r == 0 && owners[i] == NULL) {
			obs->holds = xrealloc(obs->holds, (obs->nholds + 1) * sizeof(*obs->holds));
			obs->holds[obs->nholds++] = h->watch[i].idle_ms;
		}
		free(owners[i]);
	}
	free(ids);
	free(owners);
	return r;
}

/* Clamps ch->ms to [floor, ceiling], saying so after the text in b. */
static void
clamp(const struct config *cfg, struct idle_choice *ch, struct buf *b)
{
	char d[32];

	if (ch->ms < cfg->claim_idle_floor_ms) {
		ch->ms = cfg->claim_idle_floor_ms;
		format_age(ch->ms, d, sizeof(d));
		buf_printf(b, ", clamped to floor %s", d);
	} else if (ch->ms > cfg->claim_idle_ceiling_ms) {
		ch->ms = cfg->claim_idle_ceiling_ms;
		format_age(ch->ms, d, sizeof(d));
		buf_printf(b, ", clamped to ceiling %s", d);
	}
}

/* 4 x the 99th percentile (nearest rank) of the hold times. */
static void
from_holds(const struct config *cfg, int64_t *holds, size_t n, size_t runs,
    struct idle_choice *ch, struct buf *b)
{
	char p[32], t[32];
	size_t rank = (n * 99 + 99) / 100;      /* ceil(0.99 n) */
	int64_t p99;

	qsort(holds, n, sizeof(*holds), cmp_i64);
	p99 = holds[rank - 1];
	ch->ms = p99 * IDLE_HOLD_FACTOR;
	format_age(p99, p, sizeof(p));
	format_age(ch->ms, t, sizeof(t));
	buf_printf(b, "auto: %d x p99 hold %s (%zu holds in %zu runs) = %s", IDLE_HOLD_FACTOR,
	    p, n, runs, t);
	clamp(cfg, ch, b);
}

/* Too little history: the stream's arrival rate picks the busy or the quiet threshold. */
static void
from_rate(const struct config *cfg, const struct group_history *h, long long added,
    size_t nholds, struct idle_choice *ch, struct buf *b)
{
	const struct added_at *old = NULL;
	int64_t dt = 0;
	char d[32];

	for (size_t i = 0; i < h->nadded && i < IDLE_RATE_RUNS; i++)
		old = &h->added[i];
	if (old != NULL)
		dt = now_ms() - old->ts;
	buf_printf(b, "auto: too little history (%zu holds, %d needed); ", nholds,
	    IDLE_MIN_HOLDS);
	/* Runs less than a second apart say too little about a rate. */
	if (old == NULL || added < 0 || dt < 1000 || added < old->added) {
		ch->ms = cfg->claim_idle_quiet_ms;
		format_age(ch->ms, d, sizeof(d));
		buf_printf(b, "arrival rate not known yet: quiet stream: %s", d);
	} else {
		double rate = (double)(added - old->added) * 1000.0 / (double)dt;
		bool busy = rate > 1.0;
		ch->ms = busy ? cfg->claim_idle_busy_ms : cfg->claim_idle_quiet_ms;
		format_age(ch->ms, d, sizeof(d));
		buf_printf(b, "%s stream (%.2f entries/s): %s", busy ? "busy" : "quiet", rate, d);
	}
	clamp(cfg, ch, b);
}

int
idle_choose(const struct config *cfg, struct journal *j, struct rconn *rc,
    const char *stream, const char *group, struct idle_choice *ret, struct idle_obs *obs,
    struct xerr *err)
{
	struct group_history h = {0};
	struct idle_choice ch = {0};
	struct idle_obs none;
	struct buf b = BUF_INIT;
	int64_t setting = config_claim_idle(cfg, stream, group);

	ch.is_auto = setting == CLAIM_IDLE_AUTO;
	if (obs == NULL)
		obs = &none;
	memset(obs, 0, sizeof(*obs));
	obs->added = -1;
	/* A fixed threshold needs no history; a run records it all the same. */
	if ((ch.is_auto || obs != &none) &&
	    ((j != NULL && journal_group_history(j, stream, group, IDLE_HISTORY_RUNS - 1, &h,
	    err) < 0) || find_holds(rc, stream, group, &h, obs, err) < 0 ||
	    redis_stream_added(rc, stream, &obs->added, err) < 0)) {
		group_history_free(&h);
		idle_obs_free(obs);
		return -1;
	}
	ch.only_silent = ch.is_auto || cfg->only_silent_consumers;
	if (!ch.is_auto) {
		ch.ms = setting;
		buf_adds(&b, "fixed");
	} else {
		size_t n = h.nholds + obs->nholds;
		int64_t *all = xcalloc(n + 1, sizeof(*all));
		if (h.nholds > 0)
			memcpy(all, h.holds, h.nholds * sizeof(*all));
		if (obs->nholds > 0)
			memcpy(all + h.nholds, obs->holds, obs->nholds * sizeof(*all));
		if (n >= IDLE_MIN_HOLDS)
			from_holds(cfg, all, n, h.runs + 1, &ch, &b);
		else
			from_rate(cfg, &h, obs->added, n, &ch, &b);
		free(all);
	}
	/* Under auto alone, a live consumer keeps an entry up to the ceiling. */
	ch.live_min_idle_ms = cfg->only_silent_consumers ? INT64_MAX :
	    ch.ms > cfg->claim_idle_ceiling_ms ? ch.ms : cfg->claim_idle_ceiling_ms;
	if (ch.only_silent)
		buf_adds(&b, cfg->only_silent_consumers ? "; only silent consumers" :
		    "; only silent consumers, or idle for the ceiling");
	snprintf(ch.why, sizeof(ch.why), "%s", buf_str(&b));
	buf_free(&b);
	group_history_free(&h);
	if (obs == &none)
		idle_obs_free(obs);
	*ret = ch;
	return 0;
}

void
idle_claim_opts(const struct idle_choice *ch, const struct rconn *rc,
    const struct consumer_info *cs, size_t ncs, struct claim_opts *o, char ***ret_silent)
{
	char **silent = xcalloc(ncs + 1, sizeof(*silent));
	size_t n = 0;

	for (size_t i = 0; i < ncs; i++)
		if (consumer_quiet_ms(rc, &cs[i]) >= ch->ms)
			silent[n++] = cs[i].name;
	o->min_idle_ms = ch->ms;
	o->only_silent = ch->only_silent;
	o->silent = silent;
	o->live_min_idle_ms = ch->live_min_idle_ms;
	*ret_silent = silent;
}

void
idle_watch_seen(void *ctx, const struct pending_entry *e)
{
	struct idle_obs *o = ctx;

	/* The listing is in ID order: an owner's first entry is its oldest. */
	if (o->nwatch > 0 && strcmp(o->watch[o->nwatch - 1].consumer, e->owner) == 0)
		return;
	for (size_t i = 0; i < o->nwatch; i++)
		if (strcmp(o->watch[i].consumer, e->owner) == 0)
			return;
	if (o->nwatch >= IDLE_WATCH_MAX)
		return;
	o->watch = xrealloc(o->watch, (o->nwatch + 1) * sizeof(*o->watch));
	o->watch[o->nwatch].consumer = xstrdup(e->owner);
	o->watch[o->nwatch].id = e->id;
	o->watch[o->nwatch].idle_ms = e->idle_ms;
	o->nwatch++;
}

void
idle_obs_free(struct idle_obs *o)
{
	for (size_t i = 0; i < o->nwatch; i++)
		free(o->watch[i].consumer);
	free(o->watch);
	free(o->holds);
	memset(o, 0, sizeof(*o));
	o->added = -1;
}
