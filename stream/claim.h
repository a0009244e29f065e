/*
 * claim.h: drains a consumer group's pending entries list into the recovery
 * consumer, one bounded page at a time.
 *
 * Each page is planned from an XPENDING listing (bounded, like XAUTOCLAIM's
 * scan) and claimed in one MULTI/EXEC that holds, in this order:
 *
 *   XPENDING <stream> <group> <first> <last> <n>      -- the page as it is now
 *   XCLAIM <stream> <group> <consumer> <min-idle> <id>... RETRYCOUNT <d>
 *   XPENDING <stream> <group> <next> + <batch>        -- the next listing
 *
 * Why not XAUTOCLAIM: it cannot skip the recovery consumer's own entries or
 * excluded consumers, it raises the delivery count of what it claims, and it
 * does not say who held an entry, for how long, or how often it was
 * delivered; the journal needs all three.  XCLAIM with the same min-idle
 * guard claims exactly the planned entries, and RETRYCOUNT set to the count
 * Redis reported keeps the delivery count as it was.  Because the first
 * XPENDING runs in the same transaction, an entry that was pending and idle
 * there but is missing from the XCLAIM reply was deleted from the stream
 * (Redis drops such entries from the pending list; before 7.0 it answered
 * nil): that entry is lost, as certainly as XAUTOCLAIM's third reply element.
 *
 * The next page's MULTI goes out before the caller journals the previous
 * page, so Redis and the journal work at the same time.  Memory is one page.
 */
#ifndef XR_CLAIM_H
#define XR_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct claim_opts {
	const char *consumer;       /* the recovery consumer */
	int64_t min_idle_ms;
	int batch;                  /* pending entries listed per page */
	char *const *exclude;       /* NULL-terminated globs, or NULL */
};

/* One pending entry as XPENDING reports it. */
struct pending_entry {
	struct entry_id id;
	const char *owner;          /* the consumer holding it */
	int64_t idle_ms;
	int64_t deliveries;
};

enum claim_fate {
	FATE_CLAIMED,               /* now pending on the recovery consumer */
	FATE_LOST,                  /* was pending, but deleted from the stream */
};

struct claimed_entry {
	struct pending_entry was;   /* owner, idle and deliveries just before */
	enum claim_fate fate;
	const redisReply *fields;   /* FATE_CLAIMED: [field, value, ...] */
};

struct claim_page {
	struct claimed_entry *e;
	size_t n;
	size_t listed;              /* pending entries the listing returned */
	size_t held;                /* already on the recovery consumer */
	size_t excluded;            /* on an excluded consumer */
	size_t young;               /* idle less than min_idle */
	size_t raced;               /* planned, but acked or claimed by another meanwhile */
};

struct claimer;

/*
 * Lists the first page and plans it.  OUT: *ret, freed by claimer_free().
 * The strings in opts must outlive the claimer.
 */
int claimer_start(struct rconn *rc, const char *stream, const char *group,
    const struct claim_opts *opts, struct claimer **ret, struct xerr *err);

/*
 * The entries the next claimer_send() will claim, for the caller to journal
 * as an intent first.  Valid until the claimer_recv() after that send.
 */
const struct pending_entry *claimer_plan(const struct claimer *cl, size_t *ret_n);

/* True when there is nothing planned and nothing left to list. */
bool claimer_done(const struct claimer *cl);

/* True when the listing goes on past the current plan. */
bool claimer_more(const struct claimer *cl);

/* Drops the plan and lists the next page without claiming (dry runs). */
int claimer_skip(struct claimer *cl, struct xerr *err);

/* Sends the planned claim and the next listing (does not wait). */
int claimer_send(struct claimer *cl, struct xerr *err);

/*
 * Reads the answer to the last send.  OUT: *ret, the page, valid until the
 * next claimer_recv() or claimer_free(); a new plan is ready afterwards.
 */
int claimer_recv(struct claimer *cl, struct claim_page *ret, struct xerr *err);

void claimer_free(struct claimer *cl);

/* True when name is the recovery consumer or matches an exclude glob. */
bool consumer_excluded(const char *name, char *const *exclude);

#endif
