-- 005_copies.sql: the copies one request of a replay made, as one event.
--
-- A replay sends its copies to Redis a request of a few hundred at a
-- time.  From this version on, the copies one request made are one event,
-- replay_copies, not one replay_copy event each: ref_stream is the stream
-- they went to, ref_ms/ref_seq the first (lowest) copy ID, and
-- detail.copies lists them, in the order made, each as an array:
--
--   [stream, group, entry_ms, entry_seq, copy_ms, copy_seq, consumer,
--    deliveries, source, dlq_stream, dlq_ms, dlq_seq]
--
-- (the original's stream, group and ID; the copy's ID; the consumer it was
-- claimed from and its deliveries then; source "held" or "dead_letter",
-- and for a dead letter where it lies: the last three, absent otherwise).
-- detail.reconciled is true when a later run found the copies after a kill.
-- Events written before stay as they are; the views below show both.

-- Every copy by its original, for the questions asked of one entry
-- ("was it replayed after this claim?").  seq is the event that made the
-- copy, pos its place in that event's copies (-1: a replay_copy event).
-- xrecover writes its rows with the event, in the same transaction.
CREATE TABLE copied (
    entry_ms    INTEGER NOT NULL,
    entry_seq   INTEGER NOT NULL,
    stream      TEXT    NOT NULL,
    grp         TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    pos         INTEGER NOT NULL,
    batch       INTEGER NOT NULL,
    PRIMARY KEY (entry_ms, entry_seq, seq, pos)
) WITHOUT ROWID, STRICT;

INSERT INTO copied (entry_ms, entry_seq, stream, grp, seq, pos, batch)
SELECT entry_ms, entry_seq, stream, grp, seq, -1, batch
FROM events WHERE kind = 'replay_copy';

CREATE TRIGGER copied_append_only_update BEFORE UPDATE ON copied
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;

CREATE TRIGGER copied_append_only_delete BEFORE DELETE ON copied
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;

-- The copy events by where the copies went: "is stream/ID a copy, and of what?"
CREATE INDEX events_copies ON events (ref_stream, ref_ms, ref_seq)
    WHERE kind IN ('replay_copy', 'replay_copies');

-- One row per copy, whichever event made it.  The kind IN (...) term lets
-- a query over all copies read them through events_copies.
CREATE VIEW copy_events AS
SELECT e.seq                                              AS seq,
       -1                                                 AS pos,
       e.ts                                               AS ts,
       e.run                                              AS run,
       e.batch                                            AS batch,
       e.stream                                           AS stream,
       e.grp                                              AS grp,
       e.entry_ms                                         AS entry_ms,
       e.entry_seq                                        AS entry_seq,
       e.consumer                                         AS consumer,
       e.deliveries                                       AS deliveries,
       e.ref_stream                                       AS to_stream,
       e.ref_ms                                           AS copy_ms,
       e.ref_seq                                          AS copy_seq,
       coalesce(json_extract(e.detail, '$.source'), 'held') AS source,
       json_extract(e.detail, '$.dlq_stream')             AS dlq_stream,
       json_extract(e.detail, '$.dlq_ms')                 AS dlq_ms,
       json_extract(e.detail, '$.dlq_seq')                AS dlq_seq,
       coalesce(json_extract(e.detail, '$.reconciled'), 0) AS reconciled
FROM events e
WHERE e.kind IN ('replay_copy', 'replay_copies') AND e.kind = 'replay_copy'
UNION ALL
SELECT e.seq, c.key, e.ts, e.run, e.batch,
       json_extract(c.value, '$[0]'), json_extract(c.value, '$[1]'),
       json_extract(c.value, '$[2]'), json_extract(c.value, '$[3]'),
       json_extract(c.value, '$[6]'), json_extract(c.value, '$[7]'),
       e.ref_stream,
       json_extract(c.value, '$[4]'), json_extract(c.value, '$[5]'),
       json_extract(c.value, '$[8]'), json_extract(c.value, '$[9]'),
       json_extract(c.value, '$[10]'), json_extract(c.value, '$[11]'),
       coalesce(json_extract(e.detail, '$.reconciled'), 0)
FROM events e, json_each(e.detail, '$.copies') c
WHERE e.kind IN ('replay_copy', 'replay_copies') AND e.kind = 'replay_copies';

DROP VIEW replayed_messages;
CREATE VIEW replayed_messages AS
SELECT seq,
       batch,
       strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch') AS copied_at,
       stream,
       grp,
       entry_ms || '-' || entry_seq                             AS entry_id,
       to_stream,
       copy_ms || '-' || copy_seq                               AS copy_id,
       source,
       reconciled
FROM copy_events;

DROP VIEW replays;
CREATE VIEW replays AS
SELECT batch, started_at, run, automatic, user, host, target, selection, end_status,
       copied, settled, removed,
       CASE
         WHEN rolled_back THEN 'rolled back'
         WHEN copied = settled THEN 'settled'
         ELSE 'open'
       END                                                              AS status
FROM (
SELECT s.batch                                                          AS batch,
       strftime('%Y-%m-%dT%H:%M:%fZ', s.ts / 1000.0, 'unixepoch')      AS started_at,
       s.run                                                            AS run,
       json_extract(s.detail, '$.automatic')                            AS automatic,
       json_extract(s.detail, '$.user')                                 AS user,
       json_extract(s.detail, '$.host')                                 AS host,
       json_extract(s.detail, '$.to')                                   AS target,
       json_extract(s.detail, '$.selection')                            AS selection,
       json_extract(e.detail, '$.status')                               AS end_status,
       (SELECT count(*) FROM events c
         WHERE c.batch = s.batch AND c.kind = 'replay_copy')
     + (SELECT coalesce(sum(json_array_length(c.detail, '$.copies')), 0) FROM events c
         WHERE c.batch = s.batch AND c.kind = 'replay_copies')          AS copied,
       (SELECT count(*) FROM events c
         WHERE c.batch = s.batch AND c.kind = 'settled')                AS settled,
       (SELECT count(*) FROM events c
         WHERE c.batch = s.batch AND c.kind = 'copy_removed')           AS removed,
       EXISTS (SELECT 1 FROM events r
         WHERE r.batch = s.batch AND r.kind = 'rollback')               AS rolled_back
FROM events s
LEFT JOIN events e ON e.batch = s.batch AND e.kind = 'replay_end'
WHERE s.kind = 'replay_start');

DROP VIEW incidents;
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
             SELECT 1 FROM copied x WHERE x.entry_ms = c.entry_ms AND x.entry_seq = c.entry_seq
               AND x.stream = c.stream AND x.grp = c.grp AND x.seq > c.seq)) AS replayed,
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
