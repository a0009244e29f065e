-- 003_chain.sql: the hash chain (see store/chain.h and README.md).  Each
-- event carries hash = SHA-256(the previous event's hash || its own
-- canonical content), so the journal is one chain from the first event to
-- the newest, whose hash (the head) stands for all of it.  xrecover gives
-- the events of an older journal their hashes right after this script, in
-- the same transaction.
ALTER TABLE events ADD COLUMN hash BLOB;

-- Still append-only: no column of an event may change, except that an
-- event without a hash may get one, once.
DROP TRIGGER events_append_only_update;
CREATE TRIGGER events_append_only_update
BEFORE UPDATE OF seq, ts, run, kind, stream, grp, entry_ms, entry_seq, consumer, idle_ms,
    deliveries, payload, detail, batch, ref_stream, ref_ms, ref_seq ON events
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;
CREATE TRIGGER events_hash_once BEFORE UPDATE OF hash ON events
WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'the xrecover journal is append-only');
END;
