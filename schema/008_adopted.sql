-- 008_adopted.sql: entries adopted, i.e. held by the recovery consumer
-- without this journal having claimed them (another journal's run, a
-- journal lost or rotated), journalled by a later run as claim_reconciled
-- with "adopted": true in the detail (core/adopt.c).  Their from_consumer
-- is NULL: Redis does not tell who held them before the recovery consumer.
--
-- claimed_messages and runs get a last column, adopted.

DROP VIEW claimed_messages;
CREATE VIEW claimed_messages AS
SELECT seq,
       run,
       strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch')       AS claimed_at,
       stream,
       grp,
       entry_ms || '-' || entry_seq                                   AS entry_id,
       strftime('%Y-%m-%dT%H:%M:%fZ', entry_ms / 1000.0, 'unixepoch') AS entry_time,
       consumer                                                       AS from_consumer,
       idle_ms,
       deliveries,
       payload,
       kind = 'claim_reconciled'                                      AS reconciled,
       coalesce(kind = 'claim_reconciled'
                AND json_extract(detail, '$.adopted') = 1, 0)         AS adopted
FROM events
WHERE kind IN ('claim', 'claim_reconciled');

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
       json_extract(s.detail, '$.options')                         AS options,
       coalesce(json_extract(e.detail, '$.adopted'),
                CASE WHEN e.seq IS NOT NULL THEN 0 END)            AS adopted
FROM events s
LEFT JOIN events e ON e.kind = 'run_end' AND e.run = s.run
WHERE s.kind = 'run_start';
