/*
 * move.h: what xrecover does with an entry after claiming it.
 *
 * Copies (replay, redeliver) are XADDed with IDs xrecover chooses, after
 * the stream's last ID, in one MULTI/EXEC per chunk.  Knowing each copy's
 * ID before it exists is what makes a killed replay exact to reconcile:
 * the intent names the IDs, and the next run looks them up.  A copy whose
 * ID was taken meanwhile by a producer fails alone and is planned again.
 *
 * A dead-letter move appends the entry, with fields saying where it came
 * from, to the dead-letter stream and acknowledges it in its group, in one
 * Lua script per chunk: never both places, never neither.
 *
 * Settling acknowledges an original only while it is pending on the
 * recovery consumer, checked in the same Lua script: one that a live
 * consumer claimed meanwhile is left to it.
 *
 * Rollback removes a copy only if no group has read it, checked and done
 * in one Lua script, so a consumer reading at that instant keeps it.
 *
 * A hand-off claims a held entry to a live consumer of its group only
 * while it is pending on the recovery consumer, checked in the same Lua
 * script, with its delivery count unchanged.
 */
#ifndef XR_MOVE_H
#define XR_MOVE_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/payload.h"
#include "redis.h"

/* ------------------------------------------------------------- copies */

/* The first ID free for a copy in stream: after its last ID and Redis's clock. */
int copy_first_id(struct rconn *rc, const char *stream, struct entry_id *ret,
    struct xerr *err);

struct copy {
	const struct bytes *fv;     /* the fields, field, value, ... */
	size_t nfv;
	struct entry_id id;         /* the ID to give the copy */
	bool done;                  /* set by copies_recv: the copy exists */
};

/* Sends one chunk of copies to stream (does not wait). */
int copies_send(struct rconn *rc, const char *stream, const struct copy *c, size_t n,
    struct xerr *err);
/*
 * Reads the answer to the oldest chunk sent: sets done for each copy made.
 * A copy whose ID a producer took meanwhile is left not done (plan it
 * again with a new ID); any other refusal is an error.
 */
int copies_recv(struct rconn *rc, const char *stream, struct copy *c, size_t n,
    struct xerr *err);

/*
 * Creates group in stream (XGROUP CREATE stream group $ MKSTREAM): the
 * group reads what is added after this.  *ret_created is false when the
 * group was there already (BUSYGROUP).
 */
int group_create(struct rconn *rc, const char *stream, const char *group, bool *ret_created,
    struct xerr *err);

/* ------------------------------------------------------- dead letters */

/*
 * Fields appended to a dead letter, after the entry's own, in this order.
 * The origin is the entry as it first was; the dead letter of a copy a
 * replay made names the copy too (the COPY fields, after the origin's).
 */
#define DLQ_FIELD_STREAM "xrecover-origin-stream"
#define DLQ_FIELD_GROUP "xrecover-origin-group"
#define DLQ_FIELD_ID "xrecover-origin-id"
#define DLQ_FIELD_COPY_STREAM "xrecover-copy-stream"
#define DLQ_FIELD_COPY_GROUP "xrecover-copy-group"
#define DLQ_FIELD_COPY_ID "xrecover-copy-id"
#define DLQ_FIELD_CONSUMER "xrecover-origin-consumer"
#define DLQ_FIELD_DELIVERIES "xrecover-deliveries"
#define DLQ_FIELD_TIME "xrecover-dead-lettered-at"
#define DLQ_FIELD_REASON "xrecover-reason"

struct dead_letter {
	struct entry_id id;         /* in stream/group */
	const struct bytes *fv;
	size_t nfv;
	const char *origin_stream;  /* a copy: the entry it is a copy of (else NULL) */
	const char *origin_group;
	struct entry_id origin_id;
	const char *consumer;       /* it was taken from */
	long long deliveries;
	const char *reason;
	bool done;                  /* set: moved and acknowledged */
	bool not_pending;           /* set: it was not pending any more; nothing done */
	char *owner;                /* set: pending on this other consumer; nothing done
	                               (the caller frees it) */
	struct entry_id dlq_id;     /* set when done */
};

/*
 * Moves each entry to dlq and acknowledges it in stream/group, atomically
 * per entry, if it is pending there on consumer owner (the recovery
 * consumer).  An entry no longer pending, or pending on another consumer
 * (one that claimed it meanwhile), is left alone.
 */
int dead_letters_move(struct rconn *rc, const char *stream, const char *group,
    const char *owner, const char *dlq, struct dead_letter *d, size_t n, struct xerr *err);

/*
 * Where the entry that dead letter fields f came from was pending: the
 * copy fields of a copy's, the origin fields of any other.  Read from the
 * end, where xrecover put them, so that fields of the entry's own with the
 * same names do not mislead.  Returns false when f is no dead letter.
 */
bool dead_letter_source(const redisReply *f, const redisReply **ret_stream,
    const redisReply **ret_group, const redisReply **ret_id);

/* Expands a dead-letter stream template: {stream} and {group}. */
char *dlq_name(const char *tmpl, const char *stream, const char *group);

/* ------------------------------------------------------------ settling */

/* What the groups of a stream have read: last delivered IDs and pending. */
struct read_state {
	size_t ngroups;
	char **names;
	struct entry_id *last;      /* last-delivered-id per group */
	bool exists;                /* the stream exists */
};

int read_state_get(struct rconn *rc, const char *stream, struct read_state *ret,
    struct xerr *err);
void read_state_free(struct read_state *rs);

/*
 * Whether the copy id was delivered to group (or, group NULL, to every
 * group of the stream) and is pending in none of them.  *ret_read tells
 * whether any group has read it at all.
 */
int copy_consumed(struct rconn *rc, const char *stream, const struct read_state *rs,
    const char *group, struct entry_id id, bool *ret_consumed, bool *ret_read,
    bool *ret_exists, struct xerr *err);

/*
 * Acknowledges each of ids in stream/group that is pending there on
 * consumer owner (the recovery consumer), checked and acknowledged in one
 * Lua script per request: nobody claims it in between.  ret_owner[i] is
 * the consumer ids[i] is pending on when that is another one, left alone
 * (the caller frees it); NULL when acknowledged or not pending at all.
 */
int ack_held(struct rconn *rc, const char *stream, const char *group, const char *owner,
    const struct entry_id *ids, size_t n, char **ret_owner, struct xerr *err);
/*
 * Hands each of ids over from consumer owner (the recovery consumer) to
 * consumer to, in stream/group: checked and claimed (XCLAIM ... 0 ...
 * JUSTID, so its delivery count stays as it was) in one Lua script per
 * request, so nobody claims it in between.  ret_done[i] is true when ids[i]
 * went to `to`; else ret_owner[i] is the consumer it is pending on when
 * that is another one (the caller frees it), or NULL when it was not
 * pending at all.
 */
int hand_off(struct rconn *rc, const char *stream, const char *group, const char *owner,
    const char *to, const struct entry_id *ids, size_t n, bool *ret_done, char **ret_owner,
    struct xerr *err);
/* XDEL stream ids... (idempotent). */
int del_entries(struct rconn *rc, const char *stream, const struct entry_id *ids,
    size_t n, struct xerr *err);

/* ------------------------------------------------------------ rollback */

enum unsend {
	UNSEND_REMOVED,             /* removed: no group had read it */
	UNSEND_READ,                /* a group has read it: it stays */
	UNSEND_GONE,                /* it was not there any more */
};

/*
 * Sends one request that removes each of the copies ids[0..n) (ascending)
 * of stream that no group has read, atomically per copy; several may be
 * sent before their answers are read, in order, by copies_unsend_recv(),
 * which says what became of each.
 */
int copies_unsend_send(struct rconn *rc, const char *stream, const struct entry_id *ids,
    size_t n, struct xerr *err);
int copies_unsend_recv(struct rconn *rc, const char *stream, size_t n, enum unsend *ret,
    struct xerr *err);

#endif
