-- 006_fates.sql: what became of each claimed entry, following its copies.
--
-- A replay or a redelivery copies a held entry to the end of a stream.
-- When a consumer reads that copy and dies on it too, a later run claims
-- the copy, and what happens to the copy (held, dead-lettered, replayed
-- again, ...) is what happens to the entry.  The copies of an entry form
-- a chain: from a claim, the latest copy made of it since, if that copy
-- was claimed; from that claim, the latest copy of it; and so on.  In its
-- own stream a copy is followed in the group the entry was claimed from;
-- in another stream (replay --to), in whichever group claimed it.
--
-- entry_fates has one row per claim (claim, claim_reconciled) or loss:
--   chain       the claims of the chain, from this one to the last, as a
--               JSON array of [seq, deliveries recorded with the copy]
--   last_seq    the last claim of the chain (this one when no copy of it
--               was claimed)
--   deliveries  the deliveries at the last claim, counting those of every
--               entry it is a copy of: the count a dead letter's reason gives
--   fate        what became of the last one: held, dead-lettered, replayed
--               and read, replayed, copy not read yet, held (replay rolled
--               back), taken by a live consumer, claimed again, lost
-- A chain is followed only from claims that have a copy, so most rows cost
-- one index lookup more than the claim.

CREATE VIEW entry_fates AS
SELECT f.seq                                                       AS seq,
       f.incident                                                  AS incident,
       f.ts                                                        AS ts,
       f.run                                                       AS run,
       f.kind                                                      AS kind,
       f.stream                                                    AS stream,
       f.grp                                                       AS grp,
       f.entry_ms                                                  AS entry_ms,
       f.entry_seq                                                 AS entry_seq,
       f.payload                                                   AS payload,
       f.chain                                                     AS chain,
       l.seq                                                       AS last_seq,
       l.deliveries + coalesce(json_extract(f.chain, '$[#-1][1]'),
         -- the last claim is this one: is it itself a copy?
         (SELECT r.deliveries FROM events r
           WHERE r.kind = 'replay_copy' AND r.ref_stream = l.stream
           AND r.ref_ms = l.entry_ms AND r.ref_seq = l.entry_seq),
         (SELECT json_extract(c.value, '$[7]') FROM json_each((SELECT r.detail FROM events r
             WHERE r.kind IN ('replay_copy', 'replay_copies') AND r.ref_stream = l.stream
             AND (r.ref_ms, r.ref_seq) <= (l.entry_ms, l.entry_seq)
             ORDER BY r.ref_ms DESC, r.ref_seq DESC LIMIT 1), '$.copies') c
           WHERE json_extract(c.value, '$[4]') = l.entry_ms
           AND json_extract(c.value, '$[5]') = l.entry_seq), 0)     AS deliveries,
       CASE WHEN l.kind = 'lost' THEN 'lost' ELSE coalesce((SELECT
         CASE k WHEN 'dead_lettered' THEN 'dead-lettered'
                WHEN 'settled' THEN 'replayed and read'
                WHEN 'copy' THEN 'replayed, copy not read yet'
                WHEN 'lost' THEN 'lost'
                WHEN 'copy_removed' THEN 'held (replay rolled back)'
                WHEN 'taken' THEN 'taken by a live consumer'
                ELSE 'claimed again' END
         FROM (SELECT x.seq AS s, x.kind AS k FROM events x
           WHERE x.entry_ms = l.entry_ms AND x.entry_seq = l.entry_seq
           AND x.stream = l.stream AND x.grp = l.grp AND x.seq > l.seq
           AND x.kind IN ('dead_lettered', 'settled', 'lost', 'copy_removed', 'taken',
             'claim', 'claim_reconciled')
           UNION ALL SELECT y.seq, 'copy' FROM copied y
           WHERE y.entry_ms = l.entry_ms AND y.entry_seq = l.entry_seq
           AND y.stream = l.stream AND y.grp = l.grp AND y.seq > l.seq)
         ORDER BY s DESC LIMIT 1), 'held') END                    AS fate
FROM (
SELECT c.seq, c.incident, c.ts, c.run, c.kind, c.stream, c.grp, c.entry_ms, c.entry_seq,
       c.payload,
       CASE WHEN c.kind <> 'lost' AND EXISTS (SELECT 1 FROM copied y
              WHERE y.entry_ms = c.entry_ms AND y.entry_seq = c.entry_seq
              AND y.stream = c.stream AND y.grp = c.grp AND y.seq > c.seq)
       THEN (WITH RECURSIVE chain(seq, stream, grp, ems, esq, dl, depth) AS (
               SELECT c.seq, c.stream, c.grp, c.entry_ms, c.entry_seq, NULL, 0
               UNION ALL
               -- y: the latest copy of n since n's claim, in event e; x: its last claim
               SELECT x.seq, x.stream, x.grp, x.entry_ms, x.entry_seq,
                      CASE WHEN y.pos < 0 THEN e.deliveries
                           ELSE json_extract(e.detail, '$.copies[' || y.pos || '][7]') END,
                      n.depth + 1
               FROM chain n, copied y, events e, events x
               WHERE n.depth < 64
               AND y.entry_ms = n.ems AND y.entry_seq = n.esq
               AND y.stream = n.stream AND y.grp = n.grp
               AND y.seq = (SELECT max(z.seq) FROM copied z
                 WHERE z.entry_ms = n.ems AND z.entry_seq = n.esq
                 AND z.stream = n.stream AND z.grp = n.grp AND z.seq > n.seq)
               AND e.seq = y.seq
               AND x.seq = (SELECT max(z.seq) FROM events z
                 WHERE z.entry_ms = CASE WHEN y.pos < 0 THEN e.ref_ms
                   ELSE json_extract(e.detail, '$.copies[' || y.pos || '][4]') END
                 AND z.entry_seq = CASE WHEN y.pos < 0 THEN e.ref_seq
                   ELSE json_extract(e.detail, '$.copies[' || y.pos || '][5]') END
                 AND z.stream = e.ref_stream
                 AND (z.grp = n.grp OR e.ref_stream <> n.stream)
                 AND z.kind IN ('claim', 'claim_reconciled') AND z.seq > y.seq))
             SELECT json_group_array(json_array(seq, dl))
             FROM (SELECT seq, dl FROM chain ORDER BY depth))
       ELSE json_array(json_array(c.seq, NULL)) END                 AS chain
FROM events c WHERE c.kind IN ('claim', 'claim_reconciled', 'lost')) f
JOIN events l ON l.seq = json_extract(f.chain, '$[#-1][0]');

-- dead_lettered counts the entries that went to a dead-letter stream
-- themselves, or whose last copy did.
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
       sum(CASE WHEN c.kind NOT IN ('claim', 'claim_reconciled') THEN 0
           WHEN EXISTS (
             SELECT 1 FROM events x WHERE x.entry_ms = c.entry_ms AND x.entry_seq = c.entry_seq
               AND x.stream = c.stream AND x.grp = c.grp AND x.seq > c.seq
               AND x.kind = 'dead_lettered') THEN 1
           WHEN NOT EXISTS (
             SELECT 1 FROM copied x WHERE x.entry_ms = c.entry_ms AND x.entry_seq = c.entry_seq
               AND x.stream = c.stream AND x.grp = c.grp AND x.seq > c.seq) THEN 0
           ELSE (SELECT f.fate = 'dead-lettered' FROM entry_fates f WHERE f.seq = c.seq)
           END)                                                           AS dead_lettered,
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
