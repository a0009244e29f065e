/*
 * metrics.h: the Prometheus text exposition format (version 0.0.4) of what
 * the journal and one run know, for `run --metrics-file` (and later
 * `serve`'s GET /metrics).
 *
 * Counters (xrecover_*_total, labels stream and group) are totals over the
 * whole journal, one query per family (store/report.h), so they never go
 * backwards across runs and survive restarts; the events an archive moved
 * out are counted by the same queries when it moved them, and the newest
 * archive holds the totals of all archived so far (archive_totals,
 * schema/010_archive.sql), which are added.  The last verify's time and
 * result, when one was recorded (store/verify.h).  Gauges of a group (pending,
 * held, the claim threshold) are what the run saw; the last run's
 * timestamp, success and duration are the run's, or, without one, the
 * journal's newest run_end.  Every family has its HELP and TYPE lines;
 * label values are escaped as the format says (backslash, double quote,
 * newline) and bytes that are not UTF-8 become U+FFFD.
 */
#ifndef XR_METRICS_H
#define XR_METRICS_H

#include "../lib/buf.h"
#include "../store/archive.h"
#include "../store/journal.h"
#include "config.h"
#include "recover.h"

/*
 * Appends the metrics to out.  Opens cfg->db_path read-only.  r: the run
 * just ended, or NULL (no group gauges then).  Returns 0, or -1 with
 * XR_EJOURNAL (out may hold part of the text then).
 */
int metrics_build(const struct config *cfg, const struct recover_result *r, struct buf *out,
    struct xerr *err);

/*
 * The counters of the events of j with seq in [from, to], added to those
 * of the archives j names (its newest archive's totals): what a new
 * archive of those events records.  Counts of zero are left out.
 * OUT: *ret, *ret_n, freed with archive_totals_free().
 */
int metrics_archive_totals(struct journal *j, int64_t from, int64_t to,
    struct archive_total **ret, size_t *ret_n, struct xerr *err);

/* Appends s to b as a label value of the text format, without the quotes. */
void metrics_label_value(struct buf *b, const char *s);

#endif
