/*
 * alert.h: alerts from xrecover to the configured webhooks.  notify/ renders
 * and posts; this part picks the webhooks and builds the alerts.
 *
 * For now: `test-alert`, one [TEST] message to each webhook.
 */
#ifndef XR_ALERT_H
#define XR_ALERT_H

#include <stddef.h>

#include "../lib/xr.h"
#include "../notify/notify.h"
#include "config.h"

/* What one webhook made of one alert. */
struct alert_outcome {
	char *webhook;              /* its name */
	enum webhook_format format;
	char id[40];                /* the message id (json: webhook-id) */
	struct notify_result r;
};

/*
 * Sends one [TEST] alert to every configured webhook, or to the one named
 * only (NULL: all).  stream and group, when given, are the names the test
 * message carries (to try a channel's filters, or how a name looks there).
 * OUT: *ret (an array of *ret_n, one per webhook in config order), freed
 * with alert_outcomes_free(), also when some were not delivered.  Errors:
 * XR_EUSAGE when no webhook is configured, none is named only, or one
 * cannot be read (url_file, secret_file).
 */
int alert_test(const struct config *c, const char *only, const char *stream,
    const char *group, struct alert_outcome **ret, size_t *ret_n, struct xerr *err);
void alert_outcomes_free(struct alert_outcome *o, size_t n);

#endif
