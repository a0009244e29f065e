-- 010_archive.sql: archives.  `xrecover archive` moves the oldest events
-- of the journal into an archive file (a journal with this same schema)
-- and keeps the newer ones; events keep their seq.  The live journal's
-- first event then follows, in the hash chain, the archive's last one:
-- each row here names one archive and the event the chain goes on from.
-- An archive file holds the rows of the archives before it, so every
-- file knows where its own chain starts.
--
--   file        the archive: a name in the journal's directory, or a path
--   first_seq   its first event, and its last (the chain's link)
--   last_seq
--   last_hash   the hash of event last_seq: the live chain goes on from it
--   events      how many events it holds
--   first_ts    Unix ms of its first and last events
--   last_ts
--   last_run    the highest run and replay batch it holds: numbers go on
--   last_batch  from them
--   archived_at when the archive was made (Unix ms)
--
-- Rows are only ever added, like events (and those of archive_totals).
CREATE TABLE archives (
    last_seq    INTEGER PRIMARY KEY,
    first_seq   INTEGER NOT NULL,
    last_hash   BLOB    NOT NULL,
    file        TEXT    NOT NULL,
    events      INTEGER NOT NULL,
    first_ts    INTEGER,
    last_ts     INTEGER,
    last_run    INTEGER NOT NULL,
    last_batch  INTEGER NOT NULL,
    archived_at INTEGER NOT NULL
) STRICT;

CREATE TRIGGER archives_append_only_update BEFORE UPDATE ON archives
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;

CREATE TRIGGER archives_append_only_delete BEFORE DELETE ON archives
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;

-- The metrics' counters (core/metrics.h) of every event archived so far,
-- so that they never go backwards when events leave the journal: the rows
-- of an archive (last_seq, its archives row) hold the totals of its own
-- events and of every archive before it, counted when it was made by the
-- queries the metrics count the journal's events with.  Only counts above
-- zero have a row.
--
--   family      the counter: xrecover_claimed_total, ..._deleted_consumers_total,
--               ..._lost_total, ..._dead_lettered_total, ..._redelivered_total
--               (stream and grp set), xrecover_alerts_sent_total,
--               ..._alerts_failed_total (stream and grp NULL)
--   n           the total
CREATE TABLE archive_totals (
    last_seq    INTEGER NOT NULL,
    family      TEXT    NOT NULL,
    stream      TEXT,
    grp         TEXT,
    n           INTEGER NOT NULL
) STRICT;

CREATE INDEX archive_totals_seq ON archive_totals (last_seq);

CREATE TRIGGER archive_totals_append_only_update BEFORE UPDATE ON archive_totals
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;

CREATE TRIGGER archive_totals_append_only_delete BEFORE DELETE ON archive_totals
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;
