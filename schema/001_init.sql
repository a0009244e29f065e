-- 001_init.sql: the journal's source of truth and the views on top of it.
--
-- events is append-only: every action xrecover takes is one inserted row,
-- and a change of state is a new row, never an UPDATE.  Times are Unix
-- milliseconds, UTC; the views show them as RFC 3339 text.

CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,  -- position in the journal
    ts          INTEGER NOT NULL,     -- when it happened (Unix ms, UTC)
    run         INTEGER,              -- the `xrecover run` that wrote it
    kind        TEXT    NOT NULL,     -- see README.md, "The journal"
    stream      TEXT,
    grp         TEXT,                 -- consumer group
    entry_ms    INTEGER,              -- stream entry ID, <entry_ms>-<entry_seq>
    entry_seq   INTEGER,
    consumer    TEXT,                 -- the consumer the event is about
    idle_ms     INTEGER,              -- that consumer's or entry's idle time then
    deliveries  INTEGER,              -- the entry's delivery count then
    payload     TEXT,                 -- the entry's fields, lossless JSON
    detail      TEXT                  -- everything else, a JSON object
) STRICT;

-- Entry IDs first: rows arrive in ID order, and integers compare fast.
CREATE INDEX events_entry ON events (entry_ms, entry_seq, stream, grp)
    WHERE entry_ms IS NOT NULL;
CREATE INDEX events_run_start ON events (run) WHERE kind = 'run_start';
CREATE INDEX events_run_end ON events (run) WHERE kind = 'run_end';

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;

CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;

-- One row per `xrecover run`.  status: ok, failed, crashed (found
-- unfinished by a later run), or running.
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

-- Every entry xrecover claimed, with its fields.  from_consumer is the
-- consumer it was taken from; idle_ms and deliveries are as they were just
-- before the claim.  reconciled = 1: journalled by the run after a run
-- that was killed between claiming and journalling.
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
       kind = 'claim_reconciled'                                      AS reconciled
FROM events
WHERE kind IN ('claim', 'claim_reconciled');

-- Consumers xrecover deleted.  Each had no pending entries at the instant of
-- deletion; last_seen_at is when it last talked to Redis.
CREATE VIEW deleted_consumers AS
SELECT seq,
       run,
       strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch')             AS deleted_at,
       stream,
       grp,
       consumer,
       idle_ms,
       strftime('%Y-%m-%dT%H:%M:%fZ', (ts - idle_ms) / 1000.0, 'unixepoch') AS last_seen_at,
       json_extract(detail, '$.inactive_ms')                                AS inactive_ms,
       json_extract(detail, '$.pending')                                    AS pending,
       coalesce(json_extract(detail, '$.reconciled'), 0)                    AS reconciled
FROM events
WHERE kind = 'consumer_deleted';

-- Entries that were pending but that Redis had already deleted from the
-- stream: their fields are gone; this is what Redis still said about them.
CREATE VIEW lost_messages AS
SELECT seq,
       run,
       strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch')       AS detected_at,
       stream,
       grp,
       entry_ms || '-' || entry_seq                                   AS entry_id,
       strftime('%Y-%m-%dT%H:%M:%fZ', entry_ms / 1000.0, 'unixepoch') AS entry_time,
       consumer                                                       AS last_consumer,
       idle_ms,
       deliveries,
       json_extract(detail, '$.reason')                               AS reason
FROM events
WHERE kind = 'lost';
