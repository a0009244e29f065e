-- 007_handoff.sql: an entry handed off to a live consumer of its own group
-- (run --action hand-off: claimed from the recovery consumer to that
-- consumer, no copy made) has that as its fate.
--
-- entry_fates is 006's view with one more fate: 'handed off to a live
-- consumer', from a handed_off event (consumer: the one it went to).
-- Everything else in it is as 006 describes.

DROP VIEW entry_fates;
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
                WHEN 'handed_off' THEN 'handed off to a live consumer'
                ELSE 'claimed again' END
         FROM (SELECT x.seq AS s, x.kind AS k FROM events x
           WHERE x.entry_ms = l.entry_ms AND x.entry_seq = l.entry_seq
           AND x.stream = l.stream AND x.grp = l.grp AND x.seq > l.seq
           AND x.kind IN ('dead_lettered', 'settled', 'lost', 'copy_removed', 'taken',
             'handed_off', 'claim', 'claim_reconciled')
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
