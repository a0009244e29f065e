/*
 * outbox.h: alerts go into the journal first, then out to the webhooks.
 *
 * An alert raised is one `alert` event; each attempt to send it to one
 * webhook is one `alert_attempt` event (schema/009_alerts.sql has their
 * details and the `alerts` view).  Raising decides which webhooks want the
 * alert and gives each a message id that every later attempt sends again,
 * so a receiver can tell a retry from a new alert.
 */
#ifndef XR_OUTBOX_H
#define XR_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/xr.h"
#include "../notify/notify.h"
#include "../store/journal.h"
#include "config.h"

/*
 * Whether webhook w of the config wants alert a: a's severity reaches
 * w's min_severity (default warning; the daily report, rule "report",
 * goes whatever its severity), and w's rules and streams lists are empty
 * or match a's rule and stream (globs).  An alert about no stream passes
 * every streams list.
 */
bool outbox_wants(const struct config_webhook *w, const struct alert *a);

/*
 * Raises alert a: appends its `alert` event, routed to the webhooks of cfg
 * that want it, inside the open transaction, or in one of its own when
 * none is open.  a->state is "firing", "resolved", or NULL (a notice:
 * the daily report).  run: the run raising it (0: none).  a->number is
 * ignored (the alert's number is its event's seq).  OUT: *ret_seq, that
 * number.
 */
int outbox_raise(struct journal *j, const struct config *cfg, int64_t run,
    const struct alert *a, int64_t *ret_seq, struct xerr *err);

/* One POST of an alert to a webhook, as outbox_deliver() made it. */
struct outbox_post {
	int64_t alert;              /* the alert event's seq */
	char *webhook;              /* its name */
	char *stream, *group;       /* the alert's (NULL: none) */
	int64_t attempt;            /* 1 for the first */
	const char *outcome;        /* "delivered", "retry", "failed" */
	int64_t retry_at;           /* retry: Unix ms; else 0 */
	struct notify_result r;     /* target redacted, error without secrets */
};

struct outbox_result {
	long long sent;             /* pairs delivered by this call */
	long long failed;           /* pairs that failed for good in this call */
	long long pending;          /* pairs still pending when it returned */
	struct outbox_post *posts;  /* every POST, in order (and each "webhook no longer
	                               configured", with no request) */
	size_t nposts;
	char left[512];             /* delivery left to another process, and why
	                               ("" when this call delivered) */
	long long sent_elsewhere;   /* report_notify(): pairs of its alert that the
	                               other process delivered while it waited */
};

/*
 * Delivers what the outbox holds: every (alert, webhook) pair pending whose
 * last attempt's retry_at has passed, oldest alert first, re-rendered from
 * its alert event with its message id (a retry's body is the same), POSTed,
 * and one `alert_attempt` event journalled per POST: delivered; retry, with
 * retry_at = now + max(Retry-After, alert_backoff * 2^(attempt - 1)), at
 * most an hour; or failed (a refusal retrying cannot change, a webhook no
 * longer configured, or attempt alert_max_attempts).  A retry whose wait
 * fits what is left of budget_ms is waited for and made at once.  Every
 * request's timeout is at most what is left of budget_ms, and nothing new
 * starts once it is spent: the call ends within budget_ms and a little.
 *
 * One process delivers at a time (journal_lock_deliver(), held from the
 * first look at the outbox to the last POST, never waited for): a call
 * that finds another delivering sends nothing, counts what is pending and
 * says why in ret->left.  The other sends it, this call's alerts too: after
 * any POST it looks at the outbox again for what was raised meanwhile.  No
 * call waits on another's webhook, and no pair is POSTed by two at once.
 *
 * The caller holds j's lock (journal_lock) and no transaction; the lock is
 * let go while a request is in flight, taken again to journal its attempt,
 * and held again on return.  A POST is journalled after it is answered: if
 * the process dies in between, the next call sends it again, with the same
 * message id.  run: the run delivering (0: none).  Does nothing when cfg
 * has no webhooks.  OUT: *ret, freed with outbox_result_free() whatever
 * the call returns.  -1 only when the journal fails (XR_EJOURNAL, or
 * XR_ELOCKED when its lock cannot be taken again).
 */
int outbox_deliver(struct journal *j, const struct config *cfg, int64_t run, int64_t budget_ms,
    struct outbox_result *ret, struct xerr *err);
void outbox_result_free(struct outbox_result *r);

struct logger;
/*
 * One [ALERT] log line per POST in o: DELIVERED, RETRY or FAILED, with the
 * alert, webhook, attempt, HTTP status, when a retry is due, the time it
 * took, the target (redacted) and the error; and LEFT, with what is
 * pending and why, when delivery was left to another process.
 */
void outbox_log(const struct logger *lg, const struct outbox_result *o);

#endif
