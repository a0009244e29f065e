/* verify.c: `xrecover verify` (see verify.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../store/archive.h"
#include "archive.h"
#include "verify.h"

/* Marks ret broken in the archive at path, for why. */
static void
archive_broken(struct chain_report *ret, const char *path, const char *why)
{
	ret->status = CHAIN_ARCHIVE;
	snprintf(ret->archive, sizeof(ret->archive), "%s", path);
	snprintf(ret->archive_why, sizeof(ret->archive_why), "%s", why);
}

/*
 * The archives the journal at path names, oldest first, each whole on its
 * own, each going on from the one before, the last ending where the
 * journal goes on from.  A head not found in the journal is looked for
 * in them.  ret holds the journal's own result, and gets theirs.
 */
static int
verify_archives(const char *path, const unsigned char *want, struct chain_report *ret,
    struct xerr *err)
{
	struct journal *j = NULL;
	struct archive_row *rows = NULL;
	size_t n = 0;
	unsigned char prev[CHAIN_HASH_LEN] = {0};
	int64_t prev_seq = 0;
	bool look = want != NULL && ret->status == CHAIN_HEAD_MISSING;
	int rc = -1;

	if (journal_open(path, JOURNAL_READ, &j, err) < 0 ||
	    journal_archives(j, &rows, &n, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char *ap = archive_path(path, rows[i].file);
		struct chain_report ar;
		struct xerr aerr = {0};
		struct stat sb;
		char why[160];
		bool stop = true;

		if (stat(ap, &sb) < 0) {
			snprintf(why, sizeof(why), "is missing (events %lld to %lld)",
			    (long long)rows[i].first_seq, (long long)rows[i].last_seq);
			archive_broken(ret, ap, why);
		} else if (chain_verify(ap, look ? want : NULL, NULL, NULL, &ar, &aerr) < 0) {
			snprintf(why, sizeof(why), "cannot be read: %.120s", aerr.msg);
			archive_broken(ret, ap, why);
		} else if (ar.status != CHAIN_WHOLE && ar.status != CHAIN_HEAD_MISSING) {
			/* Its own break, told as the journal's would be. */
			int64_t a = ret->archives, e = ret->archived_events;
			*ret = ar;
			ret->archives = a;
			ret->archived_events = e;
			snprintf(ret->archive, sizeof(ret->archive), "%s", ap);
		} else if (ar.anchor_seq != prev_seq || memcmp(ar.anchor, prev, CHAIN_HASH_LEN) != 0) {
			archive_broken(ret, ap, "does not go on from the archive before it");
		} else if (ar.head_seq != rows[i].last_seq ||
		    memcmp(ar.head, rows[i].last_hash, CHAIN_HASH_LEN) != 0) {
			snprintf(why, sizeof(why), "does not end with the event the journal goes on "
			    "from (event %lld): it is another file, or events were cut off",
			    (long long)rows[i].last_seq);
			archive_broken(ret, ap, why);
		} else {
			stop = false;
			ret->archives++;
			ret->archived_events += ar.events;
			if (look && ar.head_at > 0) {
				ret->head_at = ar.head_at;
				ret->status = CHAIN_WHOLE;
				look = false;
			}
		}
		free(ap);
		if (stop)
			break;
		memcpy(prev, rows[i].last_hash, CHAIN_HASH_LEN);
		prev_seq = rows[i].last_seq;
	}
	rc = 0;
out:
	archive_rows_free(rows, n);
	journal_close(j);
	return rc;
}

int
verify_journal(const struct config *cfg, const char *head_hex, chain_progress_fn progress,
    void *progress_ctx, struct chain_report *ret, struct xerr *err)
{
	unsigned char want[CHAIN_HASH_LEN];

	if (head_hex != NULL && chain_unhex(head_hex, want) < 0)
		return xerr_set(err, XR_EUSAGE, "--head: '%s' is not a journal head (64 hex digits)",
		    head_hex);
	if (chain_verify(cfg->db_path, head_hex != NULL ? want : NULL, progress, progress_ctx,
	    ret, err) < 0)
		return -1;
	if ((ret->status == CHAIN_WHOLE || ret->status == CHAIN_HEAD_MISSING) &&
	    verify_archives(cfg->db_path, head_hex != NULL ? want : NULL, ret, err) < 0)
		return -1;
	/* For the metrics; a journal's directory that cannot be written is no error here. */
	(void)chain_record_write(cfg->db_path, verify_status_name(ret->status), ret);
	return 0;
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
	case CHAIN_ARCHIVE: return "archive";
	}
	return "?";
}

void
verify_explain(const struct chain_report *r, char *out, size_t n)
{
	char head[CHAIN_HEX_LEN];

	chain_hex(r->head, head);
	if (r->archive[0] != '\0' && r->status != CHAIN_ARCHIVE) {
		/* A break inside an archive: told as the journal's, naming the file. */
		struct chain_report inner = *r;
		size_t k;
		inner.archive[0] = '\0';
		k = (size_t)snprintf(out, n, "archive '%s': ", r->archive);
		if (k < n)
			verify_explain(&inner, out + k, n - k);
		return;
	}
	switch (r->status) {
	case CHAIN_WHOLE:
		if (r->archives > 0)
			snprintf(out, n, "journal whole: %lld events, head %s (event %lld), and its %lld "
			    "archives: %lld events", (long long)r->events, head, (long long)r->head_seq,
			    (long long)r->archives, (long long)r->archived_events);
		else
			snprintf(out, n, "journal whole: %lld events, head %s (event %lld)",
			    (long long)r->events, head, (long long)r->head_seq);
		break;
	case CHAIN_ARCHIVE:
		snprintf(out, n, "journal broken: its archive '%s' %s", r->archive, r->archive_why);
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
