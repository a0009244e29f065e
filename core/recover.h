/*
 * recover.h: one recovery pass, `xrecover run`.
 *
 * In order: open and lock the journal and prove it writable (a run_start
 * event) before Redis is touched; connect; finish what a killed run left
 * (reconcile); then for each selected stream and group claim stale
 * entries into the recovery consumer and delete zombie consumers,
 * journalling each step; end with a run_end event synced to disk.
 * With dry_run nothing is written anywhere: Redis is only read.
 */
#ifndef XR_RECOVER_H
#define XR_RECOVER_H

#include <signal.h>
#include <stdint.h>

#include "../lib/log.h"
#include "../lib/xr.h"
#include "config.h"
#include "idle.h"
#include "mode.h"

struct jw;
struct rule_hit;

struct group_result {
	char *stream;
	char *group;
	long long claimed;
	long long adopted;          /* held entries the journal did not know (adopt.c) */
	long long lost;
	long long deleted;
	long long dead_lettered;
	long long redelivered;      /* copies made by --action redeliver */
	long long settled;          /* replayed copies read and acknowledged */
	int64_t batch;              /* the redeliver batch, 0 for none */
	long long handed_off;       /* entries --action hand-off gave a live consumer */
	long long kept_back;        /* held entries not redelivered: a copy would reach
	                               other groups (guarantee 9) */
	char *kept_reason;          /* ... why, naming those groups */
	long long held;             /* pending on the recovery consumer afterwards */
	long long pending;          /* the group's pending count afterwards */
	int64_t held_ms;            /* how long the first entry held afterwards has been
	                               held (idle on the recovery consumer); -1: none */
	long long consumers;        /* consumers after the clean step, the recovery
	                               consumer not counted; -1: it did not run */
	long long stale;            /* idle past the threshold, left on a consumer that is not
	                               silent (only silent consumers' entries are claimed);
	                               -1: not listed (--no-claim, or the claim failed) */
	/* release: the group has the consumer; what it owned when it was kept (0: deleted) */
	bool release_found;
	long long release_owned;
	char *error;                /* NULL when fine */
	/* When Redis last saw the recovery consumer, if nobody but this run
	 * touched it from the check of what it holds on (core/adopt.c):
	 * run_end records it. */
	bool held_checked;          /* adopt_group looked */
	bool seen_ok;
	int64_t seen_lo, seen_hi, seen_idle, seen_held, seen_checked;
	struct idle_choice idle;    /* the claim threshold used (idle.ms -1: none) */
	struct idle_obs obs;        /* what later runs build on (idle.h) */
};

struct recover_result {
	int64_t run;                /* 0 for a dry run */
	const char *status;         /* ok, warning (streams missing), failed, interrupted */
	int64_t started_ms;
	int64_t duration_ms;
	long long claimed, reconciled, adopted, lost, deleted, errors;
	long long dead_lettered, redelivered, settled, handed_off, kept_back;
	char head[65];              /* the journal's head after run_end ("" in a dry run) */
	int64_t head_seq;
	struct group_result *groups;
	size_t ngroups;
	char **missing;             /* streams named (--stream, config) that do not exist */
	size_t nmissing;
	char **missing_groups;      /* groups named (--group, config) that none of the
	                               streams looked at has */
	size_t nmissing_groups;
	/* release: groups that had the consumer, and those where it was kept (it owned entries) */
	long long release_found, release_refused;
	/* The outbox after the run (core/outbox.h): pairs of alert and webhook
	 * this run delivered, that failed for good in it, still pending. */
	long long alerts_sent, alerts_failed, alerts_pending;
	long long crashed_runs;     /* runs found unfinished and closed as crashed */
	struct rule_hit *hits;      /* the alert rules whose condition held (core/rules.h) */
	size_t nhits;
};

/*
 * Runs one pass.  stop, when it becomes non-zero (a signal), ends the pass
 * after the page in hand.  Returns 0 when everything went well; otherwise
 * -1 with err set (XR_EUSAGE before anything started, XR_EJOURNAL,
 * XR_ELOCKED, XR_EREDIS, XR_EFAIL when a group failed, or XR_EMISSING
 * when all went well but a named stream does not exist).  *ret is filled
 * in either case; free it with recover_result_free().
 */
int recover_run(const struct config *cfg, const struct mode *mode,
    const struct logger *lg, volatile sig_atomic_t *stop,
    struct recover_result *ret, struct xerr *err);
void recover_result_free(struct recover_result *r);

/*
 * `xrecover release`: a pass (journalled as a run whose options name the
 * consumer) that deletes consumer from each selected group where it owns
 * no pending entry, at the instant of the delete (the check and the delete
 * are one step in Redis, as for zombies).  With claim, its pending entries
 * are first claimed into the recovery consumer the way run claims them.
 * Groups where it still owns entries keep it; the others are done.
 * Returns 0 when it was deleted everywhere it was; otherwise -1 with err:
 * XR_EOWNS when it was kept somewhere, XR_ENOTHING when no selected group
 * has it, or as recover_run.  *ret as recover_run.
 */
int release_run(const struct config *cfg, const struct mode *mode, const char *consumer,
    bool claim, const struct logger *lg, volatile sig_atomic_t *stop,
    struct recover_result *ret, struct xerr *err);
/* The run's counts (claimed ... settled) as "key": N members of the object w is in. */
void recover_counts_json(const struct recover_result *r, struct jw *w);

#endif
