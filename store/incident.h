/*
 * incident.h: what the journal holds of incidents (schema/004): the rows
 * the incident policy (core/incident.h) asks for.  Which incident an event
 * belongs to is decided there, not here.
 */
#ifndef XR_INCIDENT_H
#define XR_INCIDENT_H

#include <stdint.h>

#include "../lib/xr.h"

struct journal;

/*
 * The incident open for consumer in stream/grp: the newest incident_opened
 * event of the consumer, unless a consumer_deleted event of it came later.
 * *ret_id: its seq, 0 when none is open.  *ret_last_ts: the ts of the
 * newest event that carries it (0 when none is open).
 */
int incident_find_open(struct journal *j, const char *stream, const char *grp,
    const char *consumer, int64_t *ret_id, int64_t *ret_last_ts, struct xerr *err);

#endif
