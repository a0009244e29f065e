/*
 * report.h: the reports' queries.  Each is a named question the journal
 * answers with plain rows (struct rows); core/report.c builds the reports
 * (titles, tables, charts: core/rmodel.h) from them.  The columns of each
 * query are listed at its declaration, in order.
 *
 * Every query reads only the span of the journal it needs: a day is found
 * as a range of seq by binary search on the events' times (events are
 * appended in time order), an incident through its index.
 */
#ifndef XR_REPORT_H
#define XR_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/xr.h"

struct journal;

enum rval_type { RV_NULL, RV_INT, RV_TEXT };

/* One value: an integer, or text (any other SQLite value, as its text). */
struct rval {
	enum rval_type type;
	int64_t i;              /* RV_INT: the value; RV_TEXT: SQLite's integer reading of s */
	char *s;                /* RV_TEXT only */
};

/* The rows a query returned.  Everything in it is its own; rows_free frees it. */
struct rows {
	size_t ncols, nrows, cap;
	char **names;           /* the columns' names */
	struct rval *v;         /* nrows * ncols, row by row */
};

void rows_free(struct rows *rs);
/* The value at (row, col); it belongs to rs. */
const struct rval *rows_at(const struct rows *rs, size_t row, size_t col);
/* The integer at (row, col): 0 for NULL. */
int64_t rows_int(const struct rows *rs, size_t row, size_t col);
/* The text at (row, col), or NULL when it is NULL or an integer; it belongs to rs. */
const char *rows_text(const struct rows *rs, size_t row, size_t col);

/*
 * A span of events: seq in [from, to] (found with journal_time_range) and
 * time in [start, end).
 */
struct rspan {
	int64_t from, to;
	int64_t start, end;
};

/*
 * Every query below fills ret (which the caller frees with rows_free,
 * whatever it returns) and returns 0, or -1 with XR_EJOURNAL.
 */

/* The events of [start_ms, end_ms): the seq range that holds them (1, 0 when none). */
int journal_time_range(struct journal *j, int64_t start_ms, int64_t end_ms, int64_t *ret_from,
    int64_t *ret_to, struct xerr *err);

/* --- a day: sp is the day */

/* One row: first, last: the first and last event's seq (NULL, NULL when none). */
int rq_day_events(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err);
/* The runs started: run, started_at, status ('running' while it has not ended), error, mode. */
int rq_day_runs(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err);
/*
 * Per stream and group: stream, grp, then the counts claimed, reconciled,
 * lost, deleted, dead_lettered, replayed, settled, rolled_back,
 * incidents_opened.
 */
int rq_day_groups(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err);
/* The incidents opened: incident, stream, grp, consumer, opened_ms, claimed, lost, deleted_at. */
int rq_day_incidents(struct journal *j, const struct rspan *sp, struct rows *ret,
    struct xerr *err);
/* The replays started: batch, started_at, user, target, copied, settled, removed, status. */
int rq_day_replays(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err);
/* The rollbacks: batch, ts, removed, already_read. */
int rq_day_rollbacks(struct journal *j, const struct rspan *sp, struct rows *ret,
    struct xerr *err);
/* Claims per stream and hour: stream, hour (from sp->start), claims; by stream and hour. */
int rq_day_claims_per_hour(struct journal *j, const struct rspan *sp, struct rows *ret,
    struct xerr *err);
/* After each run that ended: ts, "stream/group", pending; by seq. */
int rq_day_pending(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err);
/*
 * The alerts raised that day, as the outbox has them now, per stream and
 * group (either NULL: an alert about no one group): stream, grp, sent,
 * failed, pending (pairs of alert and webhook; none wanted: not counted).
 */
int rq_day_alerts(struct journal *j, const struct rspan *sp, struct rows *ret, struct xerr *err);

/* --- incidents */

/*
 * The incidents with ID in [from, to] opened in [since, until) (0: open):
 * incident, stream, grp, consumer, opened_at, last_seen_at, runs, claimed,
 * lost, dead_lettered, replayed, settled, deleted_at.  rq_incident: the
 * same columns, one row or none.
 */
int rq_incidents(struct journal *j, int64_t from, int64_t to, int64_t since, int64_t until,
    struct rows *ret, struct xerr *err);
int rq_incident(struct journal *j, int64_t id, struct rows *ret, struct xerr *err);
/*
 * An incident's timeline, earliest first: at, event, count, detail.  One
 * row per kind of thing and run or batch, following the entries through
 * their copies.
 */
int rq_incident_timeline(struct journal *j, int64_t id, struct rows *ret, struct xerr *err);
/*
 * The entries of an incident (its first limit claims and losses, by
 * seq): entry_id, claimed_at, run, seq (the claim's, for chain_fate() in
 * core/trace.h), payload.
 */
int rq_incident_entries(struct journal *j, int64_t id, int64_t limit, struct rows *ret,
    struct xerr *err);

/* --- a run */

/*
 * One row or none: run, started_at, ended_at, duration_ms, mode,
 * mode_reason, status, claimed, reconciled, deleted, lost, dead_lettered,
 * redelivered, settled, groups, error, host, user, pid, version, options,
 * then the seq of its run_start and of its run_end (NULL while it runs).
 */
int rq_run(struct journal *j, int64_t run, struct rows *ret, struct xerr *err);
/*
 * Per stream and group of the run whose events lie in seq [from, to]:
 * stream, grp, claimed, reconciled, lost, deleted, dead_lettered,
 * redelivered, settled, incidents.
 */
int rq_run_groups(struct journal *j, int64_t run, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err);
/* Its errors: stream, grp, error. */
int rq_run_errors(struct journal *j, int64_t run, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err);

/*
 * --- metrics: totals over the events with seq in [from, to] (core/metrics.h);
 * the same queries count the whole journal and, when archive moves events
 * out, what it moves (archive_totals, schema/010_archive.sql).
 */

/* Per stream and group: stream, grp, claimed, deleted, lost, dead_lettered. */
int rq_metrics_groups(struct journal *j, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err);
/* Per stream and group, the copies runs made (--action redeliver): stream, grp, copies. */
int rq_metrics_redelivered(struct journal *j, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err);
/*
 * One row: the alerts view's pairs sent, failed and pending, of the alerts
 * raised in [from, to].
 */
int rq_metrics_alerts(struct journal *j, int64_t from, int64_t to, struct rows *ret,
    struct xerr *err);
/*
 * The counters of the events archived so far: the archive_totals rows of
 * the newest archive: family, stream, grp, n (none when nothing was archived).
 */
int rq_metrics_archived(struct journal *j, struct rows *ret, struct xerr *err);
/* The newest run_end, one row or none: run, ts, status, duration_ms. */
int rq_metrics_last_run(struct journal *j, struct rows *ret, struct xerr *err);
/*
 * The newest run_end for serve's /health, one row or none: run, ts, status,
 * claimed, deleted, pending (the sum of its groups' pending counts, NULL
 * when it lists none), error, consumers (the sum of its groups' consumers
 * other than the recovery consumer, NULL when none of them was counted).
 */
int rq_health_last_run(struct journal *j, struct rows *ret, struct xerr *err);
/* One row: the journal's size in bytes (its pages, the WAL's committed ones included). */
int rq_metrics_size(struct journal *j, struct rows *ret, struct xerr *err);

/* --- the outbox (schema/009_alerts.sql) */

/*
 * The (alert, webhook) pairs still pending, oldest alert first: alert,
 * webhook, message_id, attempts, retry_at (the last attempt's, Unix ms;
 * NULL: none yet), then the alert event's ts, stream, grp and detail.
 */
int rq_outbox_pending(struct journal *j, struct rows *ret, struct xerr *err);

/* --- alert rules (core/rules.h) */

/*
 * Per stream and group, the events in the span: stream, grp, count.
 * what: ALERT_CLAIMS (claim, claim_reconciled) or ALERT_DELETED
 * (consumer_deleted).  rq_alert_buckets: the same counted per bucket of
 * bucket_ms from sp->start: stream, grp, bucket, count.
 */
enum alert_count { ALERT_CLAIMS, ALERT_DELETED };
int rq_alert_counts(struct journal *j, const struct rspan *sp, enum alert_count what,
    struct rows *ret, struct xerr *err);
int rq_alert_buckets(struct journal *j, const struct rspan *sp, enum alert_count what,
    int64_t bucket_ms, struct rows *ret, struct xerr *err);
/* One row: the time of the journal's first event (NULL when empty). */
int rq_alert_first_ts(struct journal *j, struct rows *ret, struct xerr *err);
/*
 * Per rule, stream and group that ever alerted, its newest alert event:
 * rule, stream, grp, state, ts, and the ts of its newest firing alert.
 */
int rq_alert_latest(struct journal *j, struct rows *ret, struct xerr *err);
/*
 * The runs that ended in the span and the conditions each saw hold
 * (run_end's "alerting"), by seq: seq, ts, rule, stream, grp; one row
 * per condition, or one with rule NULL for a run that saw none.
 */
int rq_alert_seen(struct journal *j, const struct rspan *sp, struct rows *ret,
    struct xerr *err);
/* One row or none: the start (ts) of the newest run before run. */
int rq_alert_prev_start(struct journal *j, int64_t run, struct rows *ret, struct xerr *err);
/* Per stream and group, the newest incident opened in the span: stream, grp, incident. */
int rq_alert_incidents(struct journal *j, const struct rspan *sp, struct rows *ret,
    struct xerr *err);

#endif
