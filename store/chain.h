/*
 * chain.h: the journal's hash chain.
 *
 * Every event carries hash = SHA-256(previous event's hash || its own
 * canonical content); the first event's previous hash is 32 zero bytes.
 * The canonical content is the event's columns in table order, seq to
 * ref_seq (not hash), each as one tag byte and its value:
 *
 *   NULL     0x00
 *   integer  0x01, then 8 bytes, big-endian two's complement
 *   text     0x02, then its length in 8 bytes big-endian, then its bytes
 *
 * then each column added later (incident), the same way, only when it is
 * not NULL: adding a column never changes the hash of an older event.
 *
 * So changing, removing, inserting or reordering events breaks the chain
 * at the first one touched, and the newest hash (the head) stands for the
 * whole journal: kept elsewhere, it proves that nothing was cut off.
 */
#ifndef XR_CHAIN_H
#define XR_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"
#include "../lib/xr.h"

#define CHAIN_HASH_LEN 32
#define CHAIN_HEX_LEN (2 * CHAIN_HASH_LEN + 1)
#define CHAIN_BASE_COLS 17          /* seq .. ref_seq: always hashed */
#define CHAIN_COLS 18               /* and incident: hashed when not NULL */

struct journal;

enum cval_type { CV_NULL, CV_INT, CV_TEXT };

/* One column's value, as it is stored. */
struct cval {
	enum cval_type type;
	int64_t i;
	const char *s;
	size_t n;
};

/* The names of the columns the chain covers, in order ("seq", ..., "incident"). */
extern const char *const chain_columns[CHAIN_COLS];

/* What hashing needs, made once per thread. */
struct chain_hasher;
struct chain_hasher *chain_hasher_new(void);
void chain_hasher_free(struct chain_hasher *hs);

/* out = SHA-256(prev || canonical(v)). */
void chain_hash(struct chain_hasher *hs, const unsigned char prev[CHAIN_HASH_LEN],
    const struct cval v[CHAIN_COLS], unsigned char out[CHAIN_HASH_LEN]);

void chain_hex(const unsigned char h[CHAIN_HASH_LEN], char out[CHAIN_HEX_LEN]);
/* -1 unless s is 64 hex digits. */
int chain_unhex(const char *s, unsigned char out[CHAIN_HASH_LEN]);

/*
 * Gives every event that has no hash yet its hash, in journal order (the
 * migration that brought the chain to older journals).
 */
int chain_backfill(struct journal *j, struct xerr *err);

enum chain_break {
	CHAIN_WHOLE,
	CHAIN_CHANGED,              /* its content is not what was hashed */
	CHAIN_DELETED,              /* events before it are missing */
	CHAIN_INSERTED,             /* it is not linked to the event before it */
	CHAIN_REORDERED,            /* it was hashed at another place */
	CHAIN_UNHASHED,             /* it has no hash */
	CHAIN_HEAD_MISSING,         /* the head asked for is not in the journal */
	CHAIN_INDEX,                /* the chain is whole, the copied table is not what it says */
};

struct chain_report {
	enum chain_break status;
	int64_t events;             /* events checked */
	int64_t head_seq;           /* the newest event */
	unsigned char head[CHAIN_HASH_LEN];
	int64_t bad_seq;            /* the first bad event */
	int64_t missing_from, missing_to;  /* CHAIN_DELETED: seqs that are gone */
	int64_t belongs_at;         /* CHAIN_REORDERED: where it was hashed */
	char what[160];             /* the bad event: kind, stream, group, entry */
	int64_t head_at;            /* --head: the seq that has it */
	int64_t index_missing;      /* CHAIN_INDEX: copies the copied table lacks */
	int64_t index_extra;        /* and rows of it no event made */
};

typedef void (*chain_progress_fn)(void *ctx, int64_t done, int64_t total);

/*
 * Walks the chain of the journal at path (opened read-only, in two
 * threads) and names the first bad event.  With want_head, also proves
 * that the event whose hash is want_head is still in the chain, and once
 * the chain is whole, that the copied table indexes exactly the copies the
 * events made (schema/005_copies.sql).  Returns 0
 * whatever it found (see ret->status), -1 when the journal cannot be read.
 */
int chain_verify(const char *path, const unsigned char *want_head, chain_progress_fn progress,
    void *progress_ctx, struct chain_report *ret, struct xerr *err);

/*
 * The same for the events with seq in [from, to] (to 0: to the end), each
 * checked against the stored hash of the event before it; ret->head is
 * then the hash of the last event of the range.
 */
int chain_verify_range(const char *path, int64_t from, int64_t to,
    const unsigned char *want_head, chain_progress_fn progress, void *progress_ctx,
    struct chain_report *ret, struct xerr *err);

/* The newest event's hash and seq (seq 0 and zero hash for an empty journal). */
int chain_head(struct journal *j, unsigned char ret[CHAIN_HASH_LEN], int64_t *ret_seq,
    struct xerr *err);

#endif
