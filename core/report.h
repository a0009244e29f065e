/*
 * report.h: `xrecover report`: the daily compliance report, incidents, one
 * incident's timeline, one run; read from the journal only.
 */
#ifndef XR_CORE_REPORT_H
#define XR_CORE_REPORT_H

#include <stdint.h>

#include "config.h"
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

#endif
