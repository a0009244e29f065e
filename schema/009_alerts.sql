-- 009_alerts.sql: the outbox.  An alert goes into the journal before it
-- goes out, and every attempt to send it is journalled too.
--
-- kind 'alert': one alert raised.  stream and grp are what it is about
-- (NULL when it is about no one group), run the run that raised it (NULL:
-- `report --daily --notify`), ts when.  detail:
--
--   {"rule": "claimed", "severity": "warning", "state": "firing",
--    "mode": "LIVE", "host": "...", "title": "...",
--    "lines": [["claimed in the last hour", 12], ...],
--    "command": "xrecover report --incident 4",
--    "webhooks": [["ops", "msg_<32 hex>"], ...]}
--
-- state is firing, resolved (the condition cleared), or notice (neither:
-- the daily report).  webhooks lists the webhooks that want the alert (by
-- their min_severity, rules and streams) with the message id that every
-- attempt to that webhook sends again; it may be empty.
--
-- kind 'alert_attempt': one POST of an alert to one webhook.  stream and
-- grp are the alert's.  detail:
--
--   {"alert": <the alert event's seq>, "webhook": "ops", "attempt": 1,
--    "outcome": "delivered" | "retry" | "failed",
--    "status": <HTTP status, 0: no answer>, "error": "...",
--    "retry_at": <Unix ms, for a retry>, "elapsed_ms": 120}
--
-- "failed" is final: a refusal that retrying cannot change, or the last
-- attempt allowed.  A webhook URL, token or secret is never written.

CREATE INDEX events_alerts ON events (kind, seq) WHERE kind = 'alert';
CREATE INDEX events_alert_attempts ON events (json_extract(detail, '$.alert'), seq)
    WHERE kind = 'alert_attempt';

-- One row per alert and webhook that wants it (webhook NULL, status 'none'
-- when none does).  status: sent, failed, or pending (still to be tried).
-- A pair's attempts are found by events_alert_attempts: max(seq) alone
-- would have SQLite walk every event back from the end.
CREATE VIEW alerts AS
SELECT x.alert, x.raised_at, x.run, x.rule, x.severity, x.state, x.mode, x.stream, x.grp,
       x.title, x.webhook, x.message_id, x.attempts,
       json_extract(l.detail, '$.status')                               AS last_status,
       json_extract(l.detail, '$.error')                                AS last_error,
       json_extract(l.detail, '$.retry_at')                             AS retry_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', x.sent_ms / 1000.0, 'unixepoch')  AS sent_at,
       CASE
         WHEN x.webhook IS NULL THEN 'none'
         WHEN x.sent_ms IS NOT NULL THEN 'sent'
         WHEN json_extract(l.detail, '$.outcome') = 'failed' THEN 'failed'
         ELSE 'pending'
       END                                                              AS status
FROM (
SELECT a.seq                                                            AS alert,
       strftime('%Y-%m-%dT%H:%M:%fZ', a.ts / 1000.0, 'unixepoch')      AS raised_at,
       a.run                                                            AS run,
       json_extract(a.detail, '$.rule')                                 AS rule,
       json_extract(a.detail, '$.severity')                             AS severity,
       json_extract(a.detail, '$.state')                                AS state,
       json_extract(a.detail, '$.mode')                                 AS mode,
       a.stream                                                         AS stream,
       a.grp                                                            AS grp,
       json_extract(a.detail, '$.title')                                AS title,
       json_extract(w.value, '$[0]')                                    AS webhook,
       json_extract(w.value, '$[1]')                                    AS message_id,
       (SELECT count(*) FROM events t INDEXED BY events_alert_attempts
         WHERE t.kind = 'alert_attempt' AND json_extract(t.detail, '$.alert') = a.seq
           AND json_extract(t.detail, '$.webhook') = json_extract(w.value, '$[0]'))
                                                                        AS attempts,
       (SELECT max(t.seq) FROM events t INDEXED BY events_alert_attempts
         WHERE t.kind = 'alert_attempt' AND json_extract(t.detail, '$.alert') = a.seq
           AND json_extract(t.detail, '$.webhook') = json_extract(w.value, '$[0]'))
                                                                        AS last_seq,
       (SELECT min(t.ts) FROM events t INDEXED BY events_alert_attempts
         WHERE t.kind = 'alert_attempt' AND json_extract(t.detail, '$.alert') = a.seq
           AND json_extract(t.detail, '$.webhook') = json_extract(w.value, '$[0]')
           AND json_extract(t.detail, '$.outcome') = 'delivered')     AS sent_ms
FROM events a
LEFT JOIN json_each(a.detail, '$.webhooks') w
WHERE a.kind = 'alert') x
LEFT JOIN events l ON l.seq = x.last_seq;
