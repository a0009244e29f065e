/*
 * verify.h: walking the hash chain of a journal file (chain.h) to name its
 * first bad event, and proving a head is still in it.
 */
#ifndef XR_STORE_VERIFY_H
#define XR_STORE_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/xr.h"
#include "chain.h"

enum chain_break {
	CHAIN_WHOLE,
	CHAIN_CHANGED,              /* its content is not what was hashed */
	CHAIN_DELETED,              /* events before it are missing */
	CHAIN_INSERTED,             /* it is not linked to the event before it */
	CHAIN_REORDERED,            /* it was hashed at another place */
	CHAIN_UNHASHED,             /* it has no hash */
	CHAIN_HEAD_MISSING,         /* the head asked for is not in the journal */
	CHAIN_INDEX,                /* the chain is whole, the copied table is not what it says */
	CHAIN_ARCHIVE,              /* an archive the journal names is missing or not its own */
	CHAIN_ARCHIVE_ROWS,         /* its archives or archive_totals rows are not what the
	                               archived events in the chain recorded */
};

/* Self-contained (fixed arrays only): nothing to free. */
struct chain_report {
	enum chain_break status;
	int64_t events;             /* events checked */
	int64_t first_seq;          /* the oldest event */
	int64_t head_seq;           /* the newest event */
	unsigned char head[CHAIN_HASH_LEN];
	int64_t bad_seq;            /* the first bad event */
	int64_t missing_from, missing_to;  /* CHAIN_DELETED: seqs that are gone */
	int64_t belongs_at;         /* CHAIN_REORDERED: where it was hashed */
	char what[160];             /* the bad event: kind, stream, group, entry */
	int64_t head_at;            /* --head: the seq that has it */
	int64_t index_missing;      /* CHAIN_INDEX: copies the copied table lacks */
	int64_t index_extra;        /* and rows of it no event made */
	int64_t anchor_seq;         /* the last archived event (0: none), whose hash */
	unsigned char anchor[CHAIN_HASH_LEN];  /* the first event follows */
	/* Filled in by core/verify.c, which follows the archives: */
	int64_t archives;           /* archive files checked */
	int64_t archived_events;    /* the events in them */
	char archive[256];          /* the archive the break is in ("": the journal) */
	char archive_why[400];      /* CHAIN_ARCHIVE, CHAIN_ARCHIVE_ROWS: what is wrong */
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

/*
 * The last verify of a journal, kept beside it in "<journal>.verified"
 * (mode 0600, replaced whole, lib/util.h's file_replace): one JSON object
 *   {"verified_at": <Unix ms>, "status": "whole", "ok": true,
 *    "events": N, "archived_events": N, "head": "<64 hex>", "head_seq": N}
 * ok is what verify's exit says: true for a whole chain, false otherwise.
 * The journal itself is not written: verify only reads it.
 */
struct chain_record {
	int64_t at_ms;
	bool ok;
};

/* Records r (status: its name) as the journal db's last verify: 0, or -1 with errno. */
int chain_record_write(const char *db, const char *status, const struct chain_report *r);

/* Reads the record of db's last verify: 0, or -1 when there is none or it cannot be read. */
int chain_record_read(const char *db, struct chain_record *ret);

#endif
