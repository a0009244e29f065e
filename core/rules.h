/*
 * rules.h: which alerts a run raises (docs/alerts.md, "Alerts: rules").
 *
 * Each rule is a condition on one stream and group (or on the run) that
 * a run checks once it has done its work: entries claimed or consumers
 * deleted in a window, pending, lost, dead-lettered, held too long, a
 * failed run, a missing stream or group, a crashed run's work found, the
 * schedule silent.  The config's "alert_rules" object changes a rule's
 * threshold, window, severity, cooldown, or turns it off.
 *
 * Two steps, both from the journal, since every run is a new process:
 *   rules_find()      before run_end: the conditions that hold now, which
 *                     run_end records ("alerting": [[rule, stream, group]])
 *   rules_evaluate()  after run_end, in its transaction (a run killed
 *                     after run_end has its alerts in the outbox, one
 *                     killed before has neither): raises a firing alert
 *                     for a condition that holds unless the same rule
 *                     and group has one open (not resolved) from within
 *                     its cooldown, and a resolved alert for an open one
 *                     whose condition no run has seen for the cooldown.
 */
#ifndef XR_RULES_H
#define XR_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/xr.h"
#include "../store/journal.h"
#include "config.h"
#include "mode.h"
#include "recover.h"

struct jw;

/* One rule's condition that held in a run, about stream/group (either may be NULL). */
struct rule_hit {
	int rule;                   /* the rule's index (rules.c) */
	char *stream, *group;
	long long count;            /* what was seen: entries, consumers, ms */
	long long extra;            /* a second count: held entries, unfinished runs */
	long long limit;            /* the threshold it went above */
	long long baseline, mad;    /* threshold "auto" with enough history: the median
	                               and MAD of earlier windows; baseline -1: fixed */
	long long windows;          /* ... how many windows of history */
	char *text;                 /* failed: the run's error, or NULL */
};

/*
 * Checks the "alert_rules" object (JSON text; NULL: the defaults).
 * where names it in messages ("config 'x.json': 'alert_rules'").  Errors
 * are XR_EUSAGE, one line naming the rule and key.
 */
int rules_check(const char *json, const char *where, struct xerr *err);

/*
 * The conditions that hold at the end of run r (status: how it ended;
 * error: why, or NULL), into r->hits (freed by recover_result_free()).
 * Reads the journal: the claims and deletions in each window, the run
 * before.
 */
int rules_find(struct journal *j, const struct config *cfg, int64_t run, const char *status,
    const char *error, struct recover_result *r, struct xerr *err);
/* r->hits as run_end's "alerting" member of the object w is in (none: nothing). */
void rules_alerting_json(const struct recover_result *r, struct jw *w);
void rule_hits_free(struct rule_hit *h, size_t n);

/*
 * Raises (core/outbox.h) the alerts of run's r->hits and the resolved
 * alerts that are due, as described above, inside the open transaction
 * (run_end's).  -1: XR_EJOURNAL.
 */
int rules_evaluate(struct journal *j, const struct config *cfg, const struct mode *mode,
    int64_t run, const struct recover_result *r, struct xerr *err);

#endif
