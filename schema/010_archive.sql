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
-- Rows are only ever added, like events.
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
