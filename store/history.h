/*
 * history.h: what earlier runs recorded of one consumer group, for the
 * adaptive claim threshold (core/idle.c).  Each run_end event lists, per
 * group ("pending" in its detail), the threshold it used and the
 * observations the next runs build on:
 *
 *   "holds_ms":      hold times seen: entries a consumer kept and later
 *                    acknowledged, each as long as it had been pending
 *                    when a run last saw it (a lower bound)
 *   "watch":         [consumer, ID, idle_ms] per consumer: its oldest entry
 *                    left pending after the run, for the next run to check
 *   "entries_added": the stream's entries-added then (absent: unknown)
 *
 * Nothing here decides anything; nothing prints.
 */
#ifndef XR_HISTORY_H
#define XR_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"
#include "../lib/xr.h"
#include "journal.h"

/* An entry a run left pending on a consumer. */
struct watched {
	char *consumer;
	struct entry_id id;
	int64_t idle_ms;            /* how long it had been pending then */
};

/* One run's arrival count for the group's stream. */
struct added_at {
	int64_t ts;                 /* the run_end's time */
	long long added;
};

struct group_history {
	size_t runs;                /* runs that recorded the group (at most max_runs) */
	int64_t *holds;             /* every hold of those runs, in ms */
	size_t nholds;
	struct added_at *added;     /* those runs that recorded entries_added, newest first */
	size_t nadded;
	struct watched *watch;      /* the newest of those runs' watch list */
	size_t nwatch;
};

/*
 * Reads the newest max_runs runs that recorded stream/group (among the
 * newest 500 runs).  OUT: *ret, freed with group_history_free().
 */
int journal_group_history(struct journal *j, const char *stream, const char *group,
    size_t max_runs, struct group_history *ret, struct xerr *err);
void group_history_free(struct group_history *h);

#endif
