/*
 * incident.h: which incident a journal event belongs to (schema/004).
 *
 * An incident is everything about one consumer that stopped acknowledging
 * in one group.  It opens with the first entry claimed (or found lost)
 * from the consumer: an incident_opened event, whose seq is the incident's
 * ID.  Later claims and losses from that consumer, and its deletion, carry
 * the ID, until the consumer is deleted or INCIDENT_GAP_MS passes without
 * a claim from it.  The journal's append path asks here for each event.
 */
#ifndef XR_INCIDENT_H
#define XR_INCIDENT_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/xr.h"

#define INCIDENT_GAP_MS (24LL * 3600 * 1000)

struct journal;
struct event;
struct incidents;           /* what one journal connection knows of open incidents */

struct incidents *incidents_new(void);
void incidents_free(struct incidents *in);
/* Forgets everything (a transaction was rolled back). */
void incidents_forget(struct incidents *in);

/*
 * The incident ev belongs to.  *ret_id 0: none.  *ret_open: it belongs to
 * a new one, whose incident_opened event the caller appends first, then
 * calls incidents_opened() with its seq.
 */
int incidents_lookup(struct incidents *in, struct journal *j, const struct event *ev,
    int64_t *ret_id, bool *ret_open, struct xerr *err);
void incidents_opened(struct incidents *in, const struct event *ev, int64_t id);
/* ev (with its incident set) was appended. */
void incidents_appended(struct incidents *in, const struct event *ev);

#endif
