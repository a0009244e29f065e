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

#endif
