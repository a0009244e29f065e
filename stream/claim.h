/*
 * claim.h: drains a consumer group's pending entries list into the recovery
 * consumer, in bounded pages, with several requests in flight.
 *
 * XPENDING lists the pending entries list in order (a listing covers a
 * few pages; like XAUTOCLAIM's scan, each request does bounded work).
 * Each page of claimable entries is then claimed in one MULTI/EXEC:
 *
 *   XPENDING <stream> <group> <first> <last> <n>    -- the page as it is now
 *   XCLAIM <stream> <group> <consumer> <min-idle> <id>... RETRYCOUNT <d>
 *
 * Why not XAUTOCLAIM: it cannot skip the recovery consumer's own entries or
 * excluded consumers, it raises the delivery count of what it claims, and
 * it does not say who held an entry, for how long, or how often it was
 * delivered; the journal needs all three.  XCLAIM with the same min-idle
 * guard claims exactly the planned entries, and RETRYCOUNT set to the count
 * Redis reported keeps the delivery count as it was.  Because the first
 * XPENDING runs in the same transaction, an entry that was pending and idle
 * there but is missing from the XCLAIM reply was deleted from the stream
 * (Redis drops such entries from the pending list; before 7.0 it answered
 * nil): that entry is lost, as certainly as XAUTOCLAIM's third reply element.
 *
 * Listings run ahead of claims and several claims are in flight, so Redis
 * works while the caller journals.  Memory is a few pages.
 */
#ifndef XR_CLAIM_H
#define XR_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis.h"

/* One pending entry as XPENDING reports it. */
struct pending_entry {
	struct entry_id id;
	const char *owner;          /* the consumer holding it */
	int64_t idle_ms;
	int64_t deliveries;
};

struct claim_opts {
	const char *consumer;       /* the recovery consumer */
	int64_t min_idle_ms;
	int batch;                  /* entries per claim page */
	char *const *exclude;       /* NULL-terminated globs, or NULL */
	/*
	 * With only_silent, an entry is claimed only from a consumer named in
	 * silent (NULL-terminated), or once it is idle live_min_idle_ms
	 * (INT64_MAX: never).  The names are the caller's.
	 */
	bool only_silent;
	char *const *silent;
	int64_t live_min_idle_ms;
	/* Unless NULL: sees each listed entry left where it is (not held, not claimed). */
	void (*seen)(void *ctx, const struct pending_entry *e);
	void *seen_ctx;
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

/* The outcome of one claim page. */
struct claim_page {
	struct claimed_entry *e;
	size_t n;
	size_t raced;               /* planned, but acked or claimed by another meanwhile */
};

/* What the listings saw, for the whole drain so far. */
struct claim_stats {
	size_t listed;              /* pending entries listed */
	size_t planned;             /* idle, on another consumer: to be claimed */
	size_t held;                /* already on the recovery consumer */
	size_t excluded;            /* on an excluded consumer */
	size_t young;               /* idle less than min_idle */
	size_t live;                /* on a consumer that is not silent (only_silent) */
	size_t raced;
	size_t listings, pages;
};

struct claimer;

/* Sends the first listing.  OUT: *ret, freed by claimer_free(); opts must outlive it. */
int claimer_start(struct rconn *rc, const char *stream, const char *group,
    const struct claim_opts *opts, struct claimer **ret, struct xerr *err);

/*
 * The next page ready to be claimed, if there is one and another request
 * may go out; NULL otherwise.  The caller journals it as an intent, then
 * calls claimer_send() (or claimer_drop() in a dry run).  Valid until then.
 */
const struct pending_entry *claimer_plan(struct claimer *cl, size_t *ret_n);
/* Sends the claim of that page (does not wait). */
int claimer_send(struct claimer *cl, struct xerr *err);
/* Forgets that page without claiming it (dry runs). */
int claimer_drop(struct claimer *cl, struct xerr *err);

/*
 * Reads the next answer.  OUT: *ret, the outcome of the oldest claim in
 * flight (n = 0 when the answer was a listing), valid until the next
 * claimer_recv() or claimer_free().
 */
int claimer_recv(struct claimer *cl, struct claim_page *ret, struct xerr *err);

/* True while answers are outstanding: call claimer_recv(). */
bool claimer_pending(const struct claimer *cl);
/* Lists no further: what is in flight is still to be received. */
void claimer_close(struct claimer *cl);
const struct claim_stats *claimer_stats(const struct claimer *cl);

void claimer_free(struct claimer *cl);

/* True when name matches one of the exclude globs. */
bool consumer_excluded(const char *name, char *const *exclude);

/*
 * What a drain claims, entry by entry: an entry pending on any consumer but
 * the recovery consumer and the excluded ones, idle at least min_idle_ms,
 * and with only_silent, on a silent consumer (or idle live_min_idle_ms).
 * The one definition, for `run` and for `status`.
 */
enum claim_verdict {
	CLAIM_YES,
	CLAIM_HELD,                 /* the recovery consumer's already */
	CLAIM_EXCLUDED,             /* on an excluded consumer */
	CLAIM_YOUNG,                /* idle less than min_idle_ms */
	CLAIM_LIVE,                 /* only_silent: its consumer is not silent */
};
enum claim_verdict claim_verdict(const struct claim_opts *o, const struct pending_entry *e);

/*
 * What a drain of stream/group would claim now, without claiming: the
 * claimer's own listing, page by page, each page dropped instead of sent
 * (what `run --dry-run` and `status` count).  fn, unless NULL, sees each
 * entry that would be claimed.  OUT: *ret, the listing's counts (planned:
 * the entries that would be claimed).
 */
int claim_survey(struct rconn *rc, const char *stream, const char *group,
    const struct claim_opts *opts, void (*fn)(void *ctx, const struct pending_entry *e),
    void *ctx, struct claim_stats *ret, struct xerr *err);

#endif
