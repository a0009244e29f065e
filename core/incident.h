/*
 * incident.h: which incident a journal event belongs to (schema/004).
 *
 * An incident is everything about one consumer that stopped acknowledging
 * in one group.  It opens with the first entry claimed (or found lost)
 * from the consumer: an incident_opened event, whose seq is the incident's
 * ID.  Later claims and losses from that consumer, and its deletion, carry
 * the ID, until the consumer is deleted or INCIDENT_GAP_MS passes without
 * a claim from it.
 *
 * The journal asks here for each event it appends, in order
 * (journal_set_incidents); what it already holds of open incidents it
 * answers with rows (store/incident.h).
 */
#ifndef XR_CORE_INCIDENT_H
#define XR_CORE_INCIDENT_H

#define INCIDENT_GAP_MS (24LL * 3600 * 1000)

struct journal;

/* Makes j's appends decide incidents as above, until journal_close(j); j keeps no state of ours. */
void incident_policy_set(struct journal *j);

#endif
