/*
 * verify.h: `xrecover verify`: walk the journal's hash chain and say
 * whether it is whole, or what was done to it and where.
 */
#ifndef XR_VERIFY_H
#define XR_VERIFY_H

#include <stddef.h>

#include "../store/verify.h"
#include "config.h"

/*
 * Verifies the journal cfg->db_path; with head_hex, also that the event
 * with that hash is still in it.  Returns 0 with ret filled in whatever
 * was found; -1 when the journal cannot be read (XR_EJOURNAL) or head_hex
 * is not a hash (XR_EUSAGE).  What was found is also recorded beside the
 * journal, for the metrics (chain_record_write); a file that cannot be
 * written there is no error (verify only reads the journal).
 */
int verify_journal(const struct config *cfg, const char *head_hex, chain_progress_fn progress,
    void *progress_ctx, struct chain_report *ret, struct xerr *err);

/* "whole", "changed", "deleted", "inserted", "reordered", "unhashed", "head missing" */
const char *verify_status_name(enum chain_break s);
/* One line saying what was found, into out (n bytes, cut short if need be). */
void verify_explain(const struct chain_report *r, char *out, size_t n);

#endif
