-- 011_positions.sql: the run_end and incident_opened events by position.
--
-- At the end of every run the alert rules read the run_end events of the
-- last cooldown and the incidents opened in the last day.  Between them lie
-- every claim of that time: a busy day holds millions.  These indexes hold
-- only the few events of their kind, so the rules go straight to them.
CREATE INDEX events_run_end_seq ON events (seq) WHERE kind = 'run_end';
CREATE INDEX events_incident_opened_seq ON events (seq) WHERE kind = 'incident_opened';
