-- 004_incidents.sql: incidents.  An incident is everything about one
-- consumer that stopped acknowledging in one group: it opens with the
-- first entry claimed (or found lost) from that consumer, an
-- `incident_opened` event whose seq is the incident's ID, and takes every
-- later claim and loss from it, and its deletion, until the consumer is
-- deleted or a day passes without a claim from it.  Those events carry the
-- ID in `incident`.
ALTER TABLE events ADD COLUMN incident INTEGER;
CREATE INDEX events_incident ON events (incident) WHERE incident IS NOT NULL;
CREATE INDEX events_consumer_life ON events (stream, grp, consumer)
    WHERE kind IN ('incident_opened', 'consumer_deleted');

-- The new column is as unchangeable as the others.
DROP TRIGGER events_append_only_update;
CREATE TRIGGER events_append_only_update
BEFORE UPDATE OF seq, ts, run, kind, stream, grp, entry_ms, entry_seq, consumer, idle_ms,
    deliveries, payload, detail, batch, ref_stream, ref_ms, ref_seq, incident ON events
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;

-- One row per incident, with what became of the entries claimed from the
-- consumer.  last_seen_at: the consumer's last activity, as the newest
-- delivery among the entries claimed from it.  An entry counts as
-- dead-lettered, replayed (a copy made) or settled (a copy read and
-- acknowledged) by what happened to it after its claim.
CREATE VIEW incidents AS
SELECT o.seq                                                              AS incident,
       o.stream                                                           AS stream,
       o.grp                                                              AS grp,
       o.consumer                                                         AS consumer,
       strftime('%Y-%m-%dT%H:%M:%fZ', o.ts / 1000.0, 'unixepoch')        AS opened_at,
       o.ts                                                               AS opened_ms,
       strftime('%Y-%m-%dT%H:%M:%fZ',
         max(CASE WHEN c.kind IN ('claim', 'claim_reconciled') AND c.idle_ms IS NOT NULL
                  THEN c.ts - c.idle_ms END) / 1000.0, 'unixepoch')       AS last_seen_at,
       strftime('%Y-%m-%dT%H:%M:%fZ',
         max(CASE WHEN c.kind IN ('claim', 'claim_reconciled') THEN c.ts END) / 1000.0,
         'unixepoch')                                                     AS last_claim_at,
       count(DISTINCT c.run)                                              AS runs,
       sum(c.kind IN ('claim', 'claim_reconciled'))                       AS claimed,
       sum(c.kind = 'lost')                                               AS lost,
       sum(c.kind IN ('claim', 'claim_reconciled') AND EXISTS (
             SELECT 1 FROM events x WHERE x.entry_ms = c.entry_ms AND x.entry_seq = c.entry_seq
               AND x.stream = c.stream AND x.grp = c.grp AND x.seq > c.seq
               AND x.kind = 'dead_lettered'))                             AS dead_lettered,
       sum(c.kind IN ('claim', 'claim_reconciled') AND EXISTS (
             SELECT 1 FROM events x WHERE x.entry_ms = c.entry_ms AND x.entry_seq = c.entry_seq
               AND x.stream = c.stream AND x.grp = c.grp AND x.seq > c.seq
               AND x.kind = 'replay_copy'))                               AS replayed,
       sum(c.kind IN ('claim', 'claim_reconciled') AND EXISTS (
             SELECT 1 FROM events x WHERE x.entry_ms = c.entry_ms AND x.entry_seq = c.entry_seq
               AND x.stream = c.stream AND x.grp = c.grp AND x.seq > c.seq
               AND x.kind = 'settled'))                                   AS settled,
       strftime('%Y-%m-%dT%H:%M:%fZ',
         max(CASE WHEN c.kind = 'consumer_deleted' THEN c.ts END) / 1000.0,
         'unixepoch')                                                     AS deleted_at
FROM events o
JOIN events c ON c.incident = o.seq
WHERE o.kind = 'incident_opened'
GROUP BY o.seq, o.ts, o.stream, o.grp, o.consumer;
