/* verify.c: `xrecover verify` (see verify.h). */
#include <stdio.h>

#include "verify.h"

int
verify_journal(const struct config *cfg, const char *head_hex, chain_progress_fn progress,
    void *progress_ctx, struct chain_report *ret, struct xerr *err)
{
	unsigned char want[CHAIN_HASH_LEN];

	if (head_hex != NULL && chain_unhex(head_hex, want) < 0)
		return xerr_set(err, XR_EUSAGE, "--head: '%s' is not a journal head (64 hex digits)",
		    head_hex);
	return chain_verify(cfg->db_path, head_hex != NULL ? want : NULL, progress, progress_ctx,
	    ret, err);
}

const char *
verify_status_name(enum chain_break s)
{
	switch (s) {
	case CHAIN_WHOLE: return "whole";
	case CHAIN_CHANGED: return "changed";
	case CHAIN_DELETED: return "deleted";
	case CHAIN_INSERTED: return "inserted";
	case CHAIN_REORDERED: return "reordered";
	case CHAIN_UNHASHED: return "unhashed";
	case CHAIN_HEAD_MISSING: return "head missing";
	case CHAIN_INDEX: return "index";
	}
	return "?";
}

void
verify_explain(const struct chain_report *r, char *out, size_t n)
{
	char head[CHAIN_HEX_LEN];

	chain_hex(r->head, head);
	switch (r->status) {
	case CHAIN_WHOLE:
		snprintf(out, n, "journal whole: %lld events, head %s (event %lld)",
		    (long long)r->events, head, (long long)r->head_seq);
		break;
	case CHAIN_CHANGED:
		snprintf(out, n, "journal broken at event %lld (%s): it was changed after it was "
		    "written (its content does not match its hash)", (long long)r->bad_seq, r->what);
		break;
	case CHAIN_DELETED:
		if (r->missing_from > 0 && r->missing_from == r->missing_to)
			snprintf(out, n, "journal broken at event %lld (%s): event %lld before it was "
			    "deleted", (long long)r->bad_seq, r->what, (long long)r->missing_from);
		else if (r->missing_from > 0)
			snprintf(out, n, "journal broken at event %lld (%s): events %lld to %lld before "
			    "it were deleted", (long long)r->bad_seq, r->what,
			    (long long)r->missing_from, (long long)r->missing_to);
		else
			snprintf(out, n, "journal broken at event %lld (%s): the event before it was "
			    "deleted and the later ones renumbered", (long long)r->bad_seq, r->what);
		break;
	case CHAIN_INSERTED:
		snprintf(out, n, "journal broken at event %lld (%s): it was inserted (it does not "
		    "follow from the event before it)", (long long)r->bad_seq, r->what);
		break;
	case CHAIN_REORDERED:
		snprintf(out, n, "journal broken at event %lld (%s): it was moved (it was written "
		    "as event %lld)", (long long)r->bad_seq, r->what, (long long)r->belongs_at);
		break;
	case CHAIN_UNHASHED:
		snprintf(out, n, "journal broken at event %lld (%s): it has no hash (inserted "
		    "outside xrecover)", (long long)r->bad_seq, r->what);
		break;
	case CHAIN_HEAD_MISSING:
		snprintf(out, n, "the head given is not in the journal: events after it were cut "
		    "off, or it is another journal's (the journal is whole up to its own head %s, "
		    "event %lld)", head, (long long)r->head_seq);
		break;
	case CHAIN_INDEX:
		snprintf(out, n, "journal broken: its %lld events are whole, but its index of copies "
		    "(table copied) was changed: %lld copies missing from it, %lld rows in it that no "
		    "event made", (long long)r->events, (long long)r->index_missing,
		    (long long)r->index_extra);
		break;
	}
}
