/*
 * idle.h: the claim threshold of one group, and why.
 *
 * claim_idle is a duration or "auto" (config_claim_idle()).  Under auto
 * the threshold follows what the journal saw of the group
 * (store/history.h): 4 x the 99th percentile of its hold times (how long
 * its consumers kept entries they later acknowledged), over the newest 50
 * runs that recorded the group (this one included), clamped to [claim_idle_floor,
 * claim_idle_ceiling].  With fewer than 5 hold times that is too little
 * history, and the stream's arrival rate decides: busy (more than 1 entry
 * a second since the oldest of the newest 10 runs that counted the
 * stream's entries, at least a second ago) claim_idle_busy, otherwise (or
 * not known yet) claim_idle_quiet, clamped the same way.
 *
 * Under auto, as with only_silent_consumers, an entry is claimed only from
 * a silent consumer: one silent (consumer_quiet_ms()) at least the
 * threshold.  Under auto alone, a live consumer's entry is claimed once
 * idle for the ceiling (a consumer restarted under the same name never
 * reads its old entries); with only_silent_consumers, never.
 */
#ifndef XR_IDLE_H
#define XR_IDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/history.h"
#include "../store/journal.h"
#include "../stream/claim.h"
#include "../stream/redis.h"
#include "config.h"

#define IDLE_HISTORY_RUNS 50    /* runs whose hold times count, this one included */
#define IDLE_MIN_HOLDS 5        /* fewer: too little history */
#define IDLE_RATE_RUNS 10       /* runs the arrival rate is measured over */
#define IDLE_HOLD_FACTOR 4      /* threshold = this x the 99th percentile hold */
#define IDLE_WATCH_MAX 64       /* consumers watched per group and run */

struct idle_choice {
	int64_t ms;                 /* the threshold */
	bool is_auto;
	bool only_silent;
	int64_t live_min_idle_ms;   /* only_silent: a live consumer's entry is claimed at
	                               this idle (INT64_MAX: never) */
	char why[240];
};

/* What a run records of a group in run_end, for the runs after it (history.h). */
struct idle_obs {
	int64_t *holds;             /* hold times found now: watched entries acknowledged since */
	size_t nholds;
	long long added;            /* the stream's entries-added now; -1: unknown */
	struct watched *watch;      /* per consumer, its oldest entry left pending */
	size_t nwatch;
};

/*
 * Decides stream/group's threshold.  j: the journal holding the history
 * (NULL: none).  Reads Redis only: whether the previous run's watched
 * entries are still pending, and the stream's entries-added.  OUT: *ret,
 * and unless obs is NULL *obs (free with idle_obs_free()).  With obs NULL
 * and a fixed threshold, nothing is read.
 */
int idle_choose(const struct config *cfg, struct journal *j, struct rconn *rc,
    const char *stream, const char *group, struct idle_choice *ret, struct idle_obs *obs,
    struct xerr *err);

/*
 * Fills o's only_silent fields from ch: silent is set to a NULL-terminated
 * array (free() it) of the names in cs of consumers silent at least ch->ms;
 * they point into cs.
 */
void idle_claim_opts(const struct idle_choice *ch, const struct rconn *rc,
    const struct consumer_info *cs, size_t ncs, struct claim_opts *o, char ***ret_silent);

/* A claim_opts seen() callback: notes in an idle_obs each owner's first entry. */
void idle_watch_seen(void *obs, const struct pending_entry *e);

void idle_obs_free(struct idle_obs *o);

#endif
