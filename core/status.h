/*
 * status.h: one view of the selected consumer groups, gathered from
 * XINFO GROUPS, XINFO CONSUMERS and XPENDING: what `xrecover status` shows.
 * Under claim_idle auto the journal, if there is one, is read for each
 * group's history (never written).
 */
#ifndef XR_STATUS_H
#define XR_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/log.h"
#include "config.h"

struct status_group {
	char *stream, *group;
	long long consumers;
	long long pending;
	long long lag;              /* -1: Redis does not know */
	int64_t oldest_age_ms;      /* age of the oldest pending entry; -1: none */
	char oldest_id[48];
	long long held;             /* pending on the recovery consumer */
	long long stale;            /* what run would claim now (claim_survey()) */
	int64_t claim_idle_ms;      /* the threshold run would use now (idle.h) */
	char claim_idle_why[240];
	char last_delivered[48];
};

enum consumer_state {
	CS_ACTIVE,
	CS_STALE,                   /* owns entries a run would claim */
	CS_ZOMBIE,                  /* nothing pending, quiet >= zombie_idle: a run deletes it */
	CS_RECOVERY,                /* the recovery consumer */
	CS_EXCLUDED,                /* matches --exclude-consumer */
};

struct status_consumer {
	char *stream, *group, *name;
	long long pending;
	long long idle_ms;
	long long inactive_ms;      /* -1: not reported */
	enum consumer_state state;
};

struct status {
	int version[3];
	struct status_group *groups;
	size_t ngroups;
	struct status_consumer *consumers;
	size_t nconsumers;
	char **missing;             /* streams named (--stream, config) that do not exist */
	size_t nmissing;
};

/* Reads Redis only.  Warnings (missing streams) go to lg.  OUT: *ret, free with status_free(). */
int status_gather(const struct config *cfg, const struct logger *lg,
    struct status *ret, struct xerr *err);
void status_free(struct status *s);
const char *consumer_state_name(enum consumer_state s);

#endif
