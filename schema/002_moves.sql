-- 002_moves.sql: where claimed entries go next.  Replays (copies re-injected
-- into a stream), dead letters, settlement and rollback are events too;
-- each names the other place with ref_stream/ref_ms/ref_seq (the copy, or
-- the dead-letter entry) and belongs to a replay batch.

ALTER TABLE events ADD COLUMN batch INTEGER;      -- replay batch number
ALTER TABLE events ADD COLUMN ref_stream TEXT;    -- the other place: stream
ALTER TABLE events ADD COLUMN ref_ms INTEGER;     -- and entry ID there
ALTER TABLE events ADD COLUMN ref_seq INTEGER;

CREATE INDEX events_ref ON events (ref_ms, ref_seq, ref_stream)
    WHERE ref_ms IS NOT NULL;
CREATE INDEX events_batch ON events (batch, kind) WHERE batch IS NOT NULL;
CREATE INDEX events_replay_start ON events (batch) WHERE kind = 'replay_start';
CREATE INDEX events_batch_closed ON events (batch) WHERE kind = 'batch_closed';

-- One row per replay batch: what was copied where, by whom, and what
-- became of the copies.  status: open (copies in flight), settled (every
-- copy read and acknowledged, the originals acknowledged), rolled back.
CREATE VIEW replays AS
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
         WHERE c.batch = s.batch AND c.kind = 'replay_copy')            AS copied,
       (SELECT count(*) FROM events c
         WHERE c.batch = s.batch AND c.kind = 'settled')                AS settled,
       (SELECT count(*) FROM events c
         WHERE c.batch = s.batch AND c.kind = 'copy_removed')           AS removed,
       CASE
         WHEN EXISTS (SELECT 1 FROM events r WHERE r.batch = s.batch AND r.kind = 'rollback')
           THEN 'rolled back'
         WHEN (SELECT count(*) FROM events c WHERE c.batch = s.batch AND c.kind = 'replay_copy')
            = (SELECT count(*) FROM events c WHERE c.batch = s.batch AND c.kind = 'settled')
           THEN 'settled'
         ELSE 'open'
       END                                                              AS status
FROM events s
LEFT JOIN events e ON e.batch = s.batch AND e.kind = 'replay_end'
WHERE s.kind = 'replay_start';

-- Each copy a replay made: the original and the copy's new ID.
CREATE VIEW replayed_messages AS
SELECT seq,
       batch,
       strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch') AS copied_at,
       stream,
       grp,
       entry_ms || '-' || entry_seq                             AS entry_id,
       ref_stream                                               AS to_stream,
       ref_ms || '-' || ref_seq                                 AS copy_id,
       json_extract(detail, '$.source')                         AS source,
       coalesce(json_extract(detail, '$.reconciled'), 0)        AS reconciled
FROM events
WHERE kind = 'replay_copy';

-- Rollbacks: the copies removed, and those already read (listed by ID).
CREATE VIEW rollbacks AS
SELECT seq,
       batch,
       strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch') AS rolled_back_at,
       json_extract(detail, '$.removed')                        AS removed,
       json_extract(detail, '$.already_read')                   AS already_read,
       json_extract(detail, '$.already_settled')                AS already_settled,
       json_extract(detail, '$.read_ids')                       AS read_ids,
       json_extract(detail, '$.user')                           AS user,
       json_extract(detail, '$.host')                           AS host
FROM events
WHERE kind = 'rollback';

-- Entries moved to a dead-letter stream, with where they went.
CREATE VIEW dead_letters AS
SELECT seq,
       run,
       strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch') AS dead_lettered_at,
       stream,
       grp,
       entry_ms || '-' || entry_seq                             AS entry_id,
       consumer                                                 AS from_consumer,
       deliveries,
       ref_stream                                               AS dead_letter_stream,
       ref_ms || '-' || ref_seq                                 AS dead_letter_id,
       json_extract(detail, '$.reason')                         AS reason,
       coalesce(json_extract(detail, '$.reconciled'), 0)        AS reconciled
FROM events
WHERE kind = 'dead_lettered';

-- The runs view gains what became of claimed entries.
DROP VIEW runs;
CREATE VIEW runs AS
SELECT s.run                                                       AS run,
       strftime('%Y-%m-%dT%H:%M:%fZ', s.ts / 1000.0, 'unixepoch') AS started_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', e.ts / 1000.0, 'unixepoch') AS ended_at,
       json_extract(e.detail, '$.duration_ms')                     AS duration_ms,
       json_extract(s.detail, '$.mode')                            AS mode,
       json_extract(s.detail, '$.mode_reason')                     AS mode_reason,
       coalesce(json_extract(e.detail, '$.status'), 'running')     AS status,
       json_extract(e.detail, '$.claimed')                         AS claimed,
       json_extract(e.detail, '$.reconciled')                      AS reconciled,
       json_extract(e.detail, '$.deleted')                         AS deleted,
       json_extract(e.detail, '$.lost')                            AS lost,
       json_extract(e.detail, '$.dead_lettered')                   AS dead_lettered,
       json_extract(e.detail, '$.redelivered')                     AS redelivered,
       json_extract(e.detail, '$.settled')                         AS settled,
       json_extract(e.detail, '$.groups')                          AS groups,
       json_extract(e.detail, '$.error')                           AS error,
       json_extract(s.detail, '$.host')                            AS host,
       json_extract(s.detail, '$.user')                            AS user,
       json_extract(s.detail, '$.pid')                             AS pid,
       json_extract(s.detail, '$.version')                         AS version,
       json_extract(s.detail, '$.options')                         AS options
FROM events s
LEFT JOIN events e ON e.kind = 'run_end' AND e.run = s.run
WHERE s.kind = 'run_start';
