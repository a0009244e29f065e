/*
 * zombie.h: deleting consumers that are gone for good.
 *
 * A consumer is deleted only if, at the instant of the delete, it owns no
 * pending entry and has been quiet for at least min_idle.  The check and
 * XGROUP DELCONSUMER run in one Lua script, so a consumer that reads in
 * that very moment is kept: Redis runs a script as one atomic step.
 */
#ifndef XR_ZOMBIE_H
#define XR_ZOMBIE_H

#include <stdbool.h>
#include <stdint.h>

#include "redis.h"

enum zombie_outcome {
	ZOMBIE_DELETED,
	ZOMBIE_KEPT_PENDING,        /* it owned pending entries at the check */
	ZOMBIE_KEPT_ACTIVE,         /* it was seen again since it was listed */
	ZOMBIE_GONE,                /* no longer in the group (deleted by others) */
};

struct zombie_result {
	char *name;
	enum zombie_outcome outcome;
	long long pending;          /* at the check */
	long long idle_ms;          /* at the check */
	long long inactive_ms;      /* at the check; -1 where Redis has none */
};

/*
 * Checks and deletes each of names[0..n) in stream/group.  use_inactive
 * measures quiet time on XINFO's "inactive" (Redis >= 7.2) instead of
 * "idle".  OUT: *ret, n results in the order of names; free with
 * zombie_results_free().
 */
int zombies_delete(struct rconn *rc, const char *stream, const char *group,
    int64_t min_idle_ms, bool use_inactive, char *const *names, size_t n,
    struct zombie_result **ret, struct xerr *err);
void zombie_results_free(struct zombie_result *r, size_t n);
const char *zombie_outcome_name(enum zombie_outcome o);

#endif
