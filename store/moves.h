/*
 * moves.h: what the journal knows about where claimed entries are now:
 * held by the recovery consumer, in a dead-letter stream, copied by a
 * replay that is not settled yet, or done with.  The queries behind
 * `replay`, `rollback` and the settling step of `run`: the selection
 * (selection.c), copies followed back to their originals (origin.c), the
 * copies of a batch (copies.c), batches and single lookups (moves.c).
 */
#ifndef XR_STORE_MOVES_H
#define XR_STORE_MOVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"

enum source {
	SRC_HELD,           /* pending on the recovery consumer in its group */
	SRC_DLQ,            /* in a dead-letter stream */
	SRC_NONE,           /* not held: acknowledged, settled, lost, or taken by or handed
	                       off to a live consumer */
};

const char *source_name(enum source s);

/* A journalled entry and where it is now. */
struct journalled {
	int64_t seq;                /* of its latest claim event */
	const char *stream, *grp;
	struct entry_id id;
	const char *consumer;       /* taken from */
	int64_t deliveries;         /* before the claim, ancestors' included */
	const char *payload;
	size_t payload_len;
	enum source source;
	const char *dlq_stream;     /* SRC_DLQ */
	struct entry_id dlq_id;
	bool in_flight;             /* a copy of it is neither settled nor removed */
};

/*
 * Where an entry comes from: a copy a replay made (of a copy, ...) is
 * followed back to the first entry of the chain, which is no copy.
 */
struct copy_origin {
	bool is_copy;               /* the entry asked about is a copy */
	char *stream, *grp;         /* the first entry: the one asked about if no copy */
	struct entry_id id;
};
struct copy_origins;
/* Opens the lookup below (it reads which streams copies went to); close it. */
int journal_origins_open(struct journal *j, struct copy_origins **ret, struct xerr *err);
void journal_origins_close(struct copy_origins *o);
/* OUT: *ret, freed with copy_origin_free(). */
int journal_copy_origin(struct copy_origins *o, const char *stream, const char *grp,
    struct entry_id id, struct copy_origin *ret, struct xerr *err);
void copy_origin_free(struct copy_origin *o);

/* Which journalled entries a replay takes. */
struct entry_ref {
	char *stream;
	struct entry_id id;
};

struct selection {
	int64_t run;                /* claimed by this run; 0: any */
	int64_t incident;           /* claimed in this incident; 0: any */
	struct entry_ref *messages; /* these entries; NULL: any */
	size_t nmessages;
	int64_t since_ms, until_ms; /* claimed in [since, until); 0: open */
	char *const *streams;       /* NULL-terminated; empty: any */
	char *const *groups;
	bool dead_lettered;         /* only entries now in a dead-letter stream */
	int64_t after_seq;          /* claim events after this journal position */
};

/* Returns 0 to go on, -1 on error (journal_select_page: 1 ends the page there). */
typedef int (*journalled_fn)(void *ctx, const struct journalled *e);

/* Calls fn for each selected entry, latest claim per entry, in journal order. */
int journal_select(struct journal *j, const struct selection *sel, journalled_fn fn,
    void *ctx, struct xerr *err);
/*
 * The same, one page at a time: the selected claims after journal position
 * *after, at most limit of them, read in a transaction of their own (so a
 * long selection does not keep the WAL from being checkpointed while the
 * caller writes between pages).  Moves *after past the page; *ret_more is
 * false once the selection is exhausted.  A selection of messages comes
 * whole, in one page.  When fn returns 1 the page ends after that entry.
 */
int journal_select_page(struct journal *j, const struct selection *sel, int64_t *after,
    size_t limit, journalled_fn fn, void *ctx, bool *ret_more, struct xerr *err);

/* How many claims the selection matches at most (for progress). */
int journal_select_count(struct journal *j, const struct selection *sel, size_t *ret,
    struct xerr *err);

/*
 * The claims the selection's terms match before journal position before
 * (whatever became of them; with dead_lettered, those dead-lettered
 * since): how many, the first and the last.  For saying what only the
 * archives hold (j reading them, core/archive.h).
 */
int journal_select_before(struct journal *j, const struct selection *sel, int64_t before,
    int64_t *ret_n, int64_t *ret_first, int64_t *ret_last, struct xerr *err);

/*
 * Calls fn once for each stream and group that the selection's claims are
 * of (perhaps more than the entries selected: it does not look at where
 * each entry is now).
 */
int journal_select_groups(struct journal *j, const struct selection *sel,
    int (*fn)(void *ctx, const char *stream, const char *grp), void *ctx, struct xerr *err);

/* The next replay batch number. */
int journal_next_batch(struct journal *j, int64_t *ret, struct xerr *err);

/* One copy a replay made. */
struct copy_row {
	int64_t batch;
	const char *stream, *grp;   /* of the original */
	struct entry_id id;         /* the original */
	const char *to;             /* where the copy is */
	struct entry_id copy;
	enum source source;         /* where the original was when copied */
	const char *dlq_stream;     /* SRC_DLQ: the original is there */
	struct entry_id dlq_id;
	bool settled, removed;      /* what became of it since */
};

typedef int (*copy_fn)(void *ctx, const struct copy_row *c);

/* Every copy of batch, in the order made. */
int journal_batch_copies(struct journal *j, int64_t batch, copy_fn fn, void *ctx,
    struct xerr *err);
/* Every copy neither settled nor removed, of any batch not closed. */
int journal_open_copies(struct journal *j, copy_fn fn, void *ctx, struct xerr *err);

/* What the journal says about a batch. */
struct batch_info {
	bool exists;
	bool ended;                 /* has its replay_end */
	bool rolled_back;
	bool closed;                /* every copy settled or removed */
	int64_t started_ms;
	char to[256];               /* "" when the copies went to each entry's own stream */
};
int journal_batch_info(struct journal *j, int64_t batch, struct batch_info *ret,
    struct xerr *err);
/* Batches not closed yet (some copy may still be in flight). */
int journal_unclosed_batches(struct journal *j, int64_t **ret, size_t *ret_n,
    struct xerr *err);
/* Batches that have a replay_start but no replay_end (killed replays). */
int journal_unended_batches(struct journal *j, int64_t **ret, size_t *ret_n,
    struct xerr *err);

/* Whether a replay ever copied anything into stream (so its entries may be copies). */
int journal_copy_target(struct journal *j, const char *stream, bool *ret, struct xerr *err);

/* Whether the journal has the copy batch made of stream/grp/id. */
int journal_copy_made(struct journal *j, int64_t batch, const char *stream, const char *grp,
    struct entry_id id, bool *ret, struct xerr *err);
/*
 * Whether an event of kind (with batch, when batch is not 0) exists for
 * entry stream/grp/id after since_seq.
 */
int journal_entry_event(struct journal *j, const char *kind, int64_t batch,
    const char *stream, const char *grp, struct entry_id id, int64_t since_seq,
    bool *ret, struct xerr *err);

#endif
