/*
 * replay.h: `xrecover replay` and `xrecover rollback`.
 *
 * A replay copies journalled entries (each byte as the journal has it, in
 * the same order of fields) to the end of their stream, or of another one,
 * as one batch.  The originals stay where they are (held by the recovery
 * consumer, or in a dead-letter stream) until a later `run` sees the copy
 * read and acknowledged and settles it; until then the batch can be rolled
 * back: every copy no group has read is removed.
 */
#ifndef XR_REPLAY_H
#define XR_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/log.h"
#include "../store/moves.h"
#include "config.h"

typedef void (*replay_progress_fn)(void *ctx, size_t done, size_t total);

struct replay_request {
	struct selection sel;
	const char *selection_json; /* what was asked, for the journal */
	const char *to;             /* NULL: each entry into its own stream; {stream} and
	                               {group} in it are replaced by the entry's */
	bool all_groups;            /* copies may reach groups other than the entry's */
	double rate;                /* copies per second; 0: no limit */
	bool dry_run;
	bool want_entries;          /* list each entry in the result */
	replay_progress_fn progress;
	void *progress_ctx;
};

/* One entry of a replay: the original and its copy. */
struct replayed {
	char *stream, *group;
	struct entry_id id;
	char *to;
	struct entry_id copy;       /* zero in a dry run */
	const char *source;         /* held, dead_letter, none */
};

struct replay_result {
	int64_t batch;              /* 0 in a dry run */
	size_t selected;
	size_t copied;
	size_t skipped_in_flight;   /* a copy of it is already in flight */
	size_t retried;
	struct replayed *entries;
	size_t nentries;
};

/*
 * Runs a replay.  Errors: XR_ENOTHING when the selection matches nothing,
 * XR_EUSAGE when the target is not a stream, XR_EUNSAFE when a copy would
 * reach a group other than its entry's and all_groups is not set (checked
 * before anything is copied), and the usual journal/Redis codes.  *ret is filled in either case; free with replay_result_free().
 */
int replay(const struct config *cfg, const struct logger *lg, volatile sig_atomic_t *stop,
    const struct replay_request *req, struct replay_result *ret, struct xerr *err);
void replay_result_free(struct replay_result *r);

struct rollback_report {
	int64_t batch;
	bool dry_run;
	size_t removed;             /* copies taken back */
	size_t gone;                /* copies that were no longer there */
	size_t settled;             /* copies settled before: nothing to undo */
	size_t read;                /* copies some group had read: they stay */
	struct entry_id *read_ids;  /* ... and where they are */
	char **read_streams;
};

struct rollback_request {
	int64_t batch;
	bool dry_run;
	replay_progress_fn progress;    /* copies looked at, of those to take back */
	void *progress_ctx;
};

/*
 * Runs a rollback.  It takes the journal lock only a second at a time,
 * letting it go between its steps (a run waiting for it gets it then), and
 * holds the rollback lock (journal_lock_rollback) throughout.  Errors:
 * XR_ENOTHING for an unknown batch or one rolled back already; XR_EFAIL
 * when stopped (what was taken back stays journalled; a rollback of the
 * same batch takes back the rest); the usual codes.  *ret is filled in
 * either case; free with rollback_report_free().
 */
int rollback(const struct config *cfg, const struct logger *lg, volatile sig_atomic_t *stop,
    const struct rollback_request *req, struct rollback_report *ret, struct xerr *err);
void rollback_report_free(struct rollback_report *r);

#endif
