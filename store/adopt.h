/*
 * adopt.h: what the journal knows of the entries a recovery consumer
 * holds, for adopting those it does not know (core/adopt.c).
 */
#ifndef XR_STORE_ADOPT_H
#define XR_STORE_ADOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"

/*
 * Which of ids[0..n), entries of stream/grp in ascending order, the
 * journal has a claim, claim_reconciled or lost event of: known[i].  One
 * query for them all.
 */
int journal_known_ids(struct journal *j, const char *stream, const char *grp,
    const struct entry_id *ids, size_t n, bool *known, struct xerr *err);

/*
 * What the newest of the last 64 runs before run that checked stream/grp
 * recorded of its recovery consumer, named consumer (the "held_seen" of
 * its run_end's "pending" member, see core/adopt.c): how many entries it
 * held, all known to the journal; when Redis had last seen it, between
 * seen_lo and seen_hi (Unix ms, this host's clock), and its idle time
 * then; when each entry it held was last looked at (checked).  found is
 * false when no such record exists.
 */
struct held_mark {
	bool found;
	int64_t held;
	int64_t seen_lo, seen_hi, seen_idle;
	int64_t checked;
};
int journal_held_mark(struct journal *j, int64_t run, const char *stream, const char *grp,
    const char *consumer, struct held_mark *ret, struct xerr *err);

#endif
