/*
 * report.h: `xrecover report`: the daily compliance report, incidents, one
 * incident's timeline, one run; read from the journal only.
 */
#ifndef XR_CORE_REPORT_H
#define XR_CORE_REPORT_H

#include <stdint.h>

#include "config.h"
#include "outbox.h"
#include "rmodel.h"

enum report_what { REPORT_DAILY, REPORT_INCIDENTS, REPORT_INCIDENT, REPORT_RUN };

struct report_request {
	enum report_what what;
	int64_t day_ms;             /* REPORT_DAILY: the day's midnight UTC */
	int64_t since, until;       /* REPORT_INCIDENTS: opened in [since, until); 0: open */
	int64_t id;                 /* REPORT_INCIDENT: the incident; REPORT_RUN: the run */
};

/*
 * Builds the report into ret, which the caller frees with report_free
 * whether it succeeded or not.  The daily report also verifies the day's
 * events against the hash chain and gives the head at the end of the day.
 * Errors: XR_EJOURNAL, XR_ENOTHING (no such incident or run).
 */
int report_build(const struct config *cfg, const struct report_request *req,
    struct report *ret, struct xerr *err);

/*
 * `report --daily --notify`: raises the daily report r (report_build's) as
 * a notice alert (rule "report", severity info): its counts as lines, the
 * journal's head seq and hash in the title ("daily report 2026-12-01:
 * nothing lost; journal head 812 <hash>"), then delivers the outbox
 * (outbox_deliver, within alert_budget; what earlier runs left pending
 * goes too).  When another process is delivering (ret->left), it sends
 * the report too: this waits, within alert_budget, for what it made of
 * it (ret->sent_elsewhere).  OUT: *ret (outbox_result_free() it whatever this returns),
 * *ret_alert the alert's number.  Errors: XR_EUSAGE when no webhook is
 * configured or none wants the rule "report" (nothing journalled),
 * XR_EJOURNAL, XR_ELOCKED.
 */
int report_notify(const struct config *cfg, const struct report *r, enum alert_mode mode,
    struct outbox_result *ret, int64_t *ret_alert, struct xerr *err);

#endif
