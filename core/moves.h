/*
 * moves.h: what happens to a claimed entry after the claim: copied back
 * into a stream (replay, redeliver), moved to a dead-letter stream,
 * settled once its copy is read and acknowledged, or rolled back.  Every
 * step is written to the intent file before Redis sees it and journalled
 * after (store/intent.h, core/reconcile.c).  Private to core/.
 *
 * One file for each thing done to an entry, each saying at its top what
 * it guarantees and journals: held.c selects what is held, copy.c copies
 * it (replay batches), deadletter.c moves it to the dead-letter stream,
 * handoff.c hands it to a live consumer of its group, settle.c settles
 * copies that did their work, rollback.c takes copies back.
 */
#ifndef XR_CORE_MOVES_H
#define XR_CORE_MOVES_H

#include <stdbool.h>
#include <stdint.h>

#include "../store/moves.h"
#include "pass.h"
#include "replay.h"

#define CHUNK 250               /* copies or moves per request */

/* A journalled entry held in memory, with its bytes, for a move. */
struct held {
	struct journalled e;        /* strings point into the owning list */
	struct bytes *fv;           /* decoded payload */
	size_t nfv;
	bool copied;                /* set by copy_entries: its copy exists ... */
	const char *copy_to;        /* ... in this stream (set before: copy it there, not
	                               to copy_opts.to or its own stream) */
	struct entry_id copy_id;    /* ... with this ID */
};

/* Entries selected from the journal, kept in memory (they own their strings). */
struct held_list {
	struct held *v;
	size_t n, cap;
	struct buf text;            /* the strings, back to back */
	struct payload_space sp;    /* the decoded payloads */
	struct bytes *items;        /* sp's items, which the entries' fv point into */
	size_t items_cap;
	size_t skipped_in_flight;   /* selected, but a copy of it is in flight */
	size_t skipped_done;        /* selected, but only dead letters were asked for */
};

/* Loads the selection from the journal, decoding payloads. */
int held_load(struct pass *p, const struct selection *sel, struct held_list *ret,
    struct xerr *err);
/*
 * The same, from journal j, a page of at most `chunk` entries (and about
 * 8 MiB of payloads) at a time, each handed to fn (and freed after).  A
 * thread of its own reads the next pages through j while fn works: j must
 * be a connection nothing else uses meanwhile.  fn returns 0 to go on, 1
 * to stop (held_each then returns 0), -1 on error.  *ret_skipped: entries
 * left out because a copy of them is in flight.
 */
int held_each(struct journal *j, const struct selection *sel, size_t chunk,
    int (*fn)(void *ctx, struct held_list *l), void *ctx, size_t *ret_skipped,
    struct xerr *err);
void held_free(struct held_list *l);

/* Copy rows kept in memory (they own their strings). */
struct copy_list {
	struct copy_row *v;
	size_t n, cap;
	struct buf text;
	size_t (*off)[4];           /* stream, grp, to, dlq_stream */
};

/*
 * A journal_*_copies callback (ctx: a struct copy_list, zeroed at first)
 * that keeps each row; then copies_fix makes the rows' strings point into
 * the list, and copies_free frees it.
 */
int keep_copy(void *ctx, const struct copy_row *c);
void copies_fix(struct copy_list *l);
void copies_free(struct copy_list *l);
/* qsort order of copy rows: by target stream, then by the copy's ID. */
int cmp_copy_target(const void *a, const void *b);

typedef void (*progress_fn)(void *ctx, size_t done, size_t total);

struct copy_opts {
	const char *to;             /* NULL: each entry into its own stream */
	double rate;                /* copies per second; 0: as fast as possible */
	progress_fn progress;
	void *progress_ctx;
};

struct copy_result {
	size_t copied;
	size_t retried;             /* copies planned again: a producer took the ID */
};

/*
 * Starts a replay batch: its number and replay_start event.  automatic:
 * made by `run --action redeliver`.  selection: a JSON text, or NULL.
 * reached: with --all-groups, the groups other than the entries' own that
 * the copies reach (journalled as asked for); NULL without it.
 */
int batch_begin(struct pass *p, bool automatic, const char *to, const char *selection,
    char *const *reached, size_t planned, int64_t *ret_batch, struct xerr *err);

/*
 * Who reads a copy (guarantee 9).  copy_other_groups: the groups of stream
 * `to` other than `group`, from XINFO GROUPS (none when `to` does not
 * exist), as a NULL-terminated list (free with strv_free).  A copy into
 * `to` reaches only `group` when the list is empty.
 */
int copy_other_groups(struct pass *p, const char *to, const char *group, char ***ret,
    struct xerr *err);
/*
 * Creates group in stream `to` (from its end, making the stream if need
 * be) unless it exists, so that it reads the copies that follow; a group
 * created is journalled (group_created, with why) and logged under tag.
 */
int copy_group_ensure(struct pass *p, const char *to, const char *group, const char *tag,
    const char *why, struct xerr *err);
/* Names as one text, "a, b" (the caller frees it); adds a name to a list once; as JSON. */
char *names_text(char *const *v);
void names_add(char ***v, const char *s);
void names_json(struct jw *w, char *const *v);
int batch_end(struct pass *p, int64_t batch, const char *status, size_t copied,
    struct xerr *err);

/*
 * An event about a copy: kind (settled, copy_removed), the original
 * stream/grp/id and the copy at ref_stream/ref, in batch.
 */
struct event copy_event(struct pass *p, const char *kind, int64_t batch,
    const struct copy_row *c, const char *detail);

/* How the journal lists h, copied as copy (its strings are h's). */
struct copy_item copy_item_of(const struct held *h, struct entry_id copy);
/*
 * The replay_copies event of the copies items[0..n), in the order made
 * (so in ID order), all made into `to` by one request (or found by
 * reconciliation), in batch.
 */
struct event copies_event(struct pass *p, int64_t batch, const char *to,
    const struct copy_item *items, size_t n, bool reconciled);

/*
 * Copies the entries (in order) as part of batch; the writer thread p->w
 * journals them (started here if none runs).  Each entry says whether and
 * where its copy was made.
 */
int copy_entries(struct pass *p, int64_t batch, struct held_list *l,
    const struct copy_opts *o, struct copy_result *ret, struct xerr *err);

/*
 * Moves the entries of stream/group to the dead-letter stream, each with
 * its reason.  An entry that a live consumer claimed from the recovery
 * consumer meanwhile is left with it and journalled as taken.
 */
int dead_letter_entries(struct pass *p, const char *stream, const char *group,
    struct held **es, const char **reasons, size_t n, long long *moved, struct xerr *err);
/* What xrecover was about to do with an entry a live consumer took. */
enum taken_at {
	TAKEN_DEAD_LETTER,          /* move it to the dead-letter stream */
	TAKEN_SETTLE,               /* acknowledge it, its copy read and acknowledged */
	TAKEN_HAND_OFF,             /* hand it over to a live consumer */
};
/*
 * Journals (inside the caller's transaction) and logs that entry id is
 * pending on owner, not on the recovery consumer, so xrecover leaves it
 * alone: a `taken` event.
 */
int journal_taken(struct pass *p, enum taken_at at, const char *stream, const char *group,
    struct entry_id id, const char *owner, bool reconciled, struct xerr *err);
/* Where an entry went to the dead-letter stream, and why. */
struct dead_letter_ref {
	const char *consumer;       /* who held it */
	int64_t deliveries;         /* -1: unknown */
	const char *dlq;            /* the dead-letter stream */
	struct entry_id dlq_id;     /* the dead letter's ID there */
	const char *reason;
};
/*
 * Journals (inside the caller's transaction) that entry id of stream/group
 * went to the dead-letter stream as r says: a `dead_lettered` event.
 */
int journal_dead_lettered(struct pass *p, const char *stream, const char *group,
    struct entry_id id, const struct dead_letter_ref *r, bool reconciled, struct xerr *err);

/*
 * --action hand-off (handoff.c): claims the entries of l (all of one
 * group, gr) from the recovery consumer to the group's most recently
 * active live consumer; none live: they stay held (hand_off_waiting).
 */
int hand_off_held(struct pass *p, struct group_result *gr, struct held_list *l,
    struct xerr *err);
/*
 * Journals (inside the caller's transaction) that entry id of stream/group
 * went from consumer `from` to consumer `to`: a `handed_off` event (note:
 * NULL, or what reconciliation found).
 */
int journal_handed_off(struct pass *p, const char *stream, const char *group,
    struct entry_id id, const char *to, const char *from, const char *note, bool reconciled,
    struct xerr *err);

struct settle_result {
	long long settled;          /* copies read and acknowledged: originals done */
	long long taken;            /* of those, held originals left to a live consumer */
	long long open;             /* copies still in flight */
	long long closed;           /* batches with nothing left in flight */
};

/*
 * Settles every copy that has been read and acknowledged, of originals in
 * the given streams (NULL-terminated; NULL: any).
 */
int settle(struct pass *p, char *const *streams, struct settle_result *ret,
    struct xerr *err);

/*
 * Takes back every copy of batch that no group has read (dry: only says
 * so), a page at a time, the journal lock let go between pages once held
 * a second (see rollback.c); progress (or NULL) after each page.
 */
int rollback_batch(struct pass *p, int64_t batch, bool dry, progress_fn progress,
    void *progress_ctx, struct rollback_report *ret, struct xerr *err);

#endif
