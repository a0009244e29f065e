/*
 * archive.c: `xrecover archive --before DATE [--to FILE]`: move the events
 * older than DATE to an archive file; the live journal keeps the rest and
 * its chain goes on from the archive's (core/archive.c).
 */
#include <stdio.h>

#include "../core/archive.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "command.h"

static const struct cmd_option archive_options[] = {
	{"before", 0, NULL, "DATE", "move the events older than this (2026-01-17, 2026-01-17T10:05:28Z, or a duration ago such as 90d); required"},
	{"to", 0, NULL, "FILE", "the archive file (default JOURNAL-archive-FIRST-LAST.db beside the journal, FIRST and LAST the events it holds)"},
	{NULL, 0, NULL, NULL, NULL},
};

static const char *
stop_name(enum archive_stop s)
{
	switch (s) {
	case ARCHIVE_STOP_NONE: return NULL;
	case ARCHIVE_STOP_RUN: return "run";
	case ARCHIVE_STOP_BATCH: return "batch";
	case ARCHIVE_STOP_HELD: return "held";
	case ARCHIVE_STOP_ALERT: return "alert";
	case ARCHIVE_STOP_INTENT: return "intent";
	case ARCHIVE_STOP_SPLIT: return "split";
	}
	return NULL;
}

/* Why the archive stopped before the date, for people. */
static void
stop_text(const struct archive_result *r, char *out, size_t n)
{
	switch (r->stop) {
	case ARCHIVE_STOP_NONE:
		out[0] = '\0';
		break;
	case ARCHIVE_STOP_RUN:
		snprintf(out, n, "; stopped before event %lld: run %lld has not ended",
		    (long long)r->stop_seq, (long long)r->stop_id);
		break;
	case ARCHIVE_STOP_BATCH:
		snprintf(out, n, "; stopped before event %lld: replay batch %lld is not closed",
		    (long long)r->stop_seq, (long long)r->stop_id);
		break;
	case ARCHIVE_STOP_HELD:
		snprintf(out, n, "; stopped before event %lld: an entry claimed at event %lld is "
		    "still held", (long long)r->stop_seq, (long long)r->stop_at);
		break;
	case ARCHIVE_STOP_ALERT:
		snprintf(out, n, "; stopped before event %lld: alert %lld is still to be delivered",
		    (long long)r->stop_seq, (long long)r->stop_at);
		break;
	case ARCHIVE_STOP_INTENT:
		snprintf(out, n, "; stopped before event %lld: the intent file names the run or "
		    "batch of event %lld (a killed command's, for the next run)",
		    (long long)r->stop_seq, (long long)r->stop_at);
		break;
	case ARCHIVE_STOP_SPLIT:
		snprintf(out, n, "; stopped before event %lld: a run, replay batch or incident "
		    "goes on past the date", (long long)r->stop_seq);
		break;
	}
}

static int
archive_run(struct ctx *c)
{
	const char *before = ctx_opt(c, "before");
	struct archive_result r;
	struct xerr err = {0};
	struct buf esc = BUF_INIT;
	char why[160];
	int64_t t;

	if (before == NULL) {
		xerr_set(&err, XR_EUSAGE, "archive needs --before DATE");
		return fail(c, &err);
	}
	if (parse_time(before, now_ms(), &t) < 0) {
		xerr_set(&err, XR_EUSAGE, "--before: '%s' is not a time (use 2026-01-17, "
		    "2026-01-17T10:05:28Z, or a duration ago such as 90d)", before);
		return fail(c, &err);
	}
	if (archive_journal(&c->cfg, t, ctx_opt(c, "to"), &r, &err) < 0)
		return fail(c, &err);
	stop_text(&r, why, sizeof(why));
	if (c->cfg.json) {
		struct buf b = BUF_INIT;
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_kstr(&w, "archive", r.nothing ? NULL : r.file);
		if (!r.nothing) {
			jw_kint(&w, "first_seq", r.first_seq);
			jw_kint(&w, "last_seq", r.last_seq);
			jw_kint(&w, "kept_from", r.kept_from);
			jw_kint(&w, "kept_to", r.kept_to);
			jw_kstr(&w, "head", r.head);
		}
		jw_kint(&w, "events", r.events);
		jw_kstr(&w, "stopped", stop_name(r.stop));
		if (r.stop != ARCHIVE_STOP_NONE) {
			jw_kint(&w, "stopped_at", r.stop_seq);
			jw_kint(&w, "stopped_by", r.stop_at);
		}
		out_json_outcome(&w, r.nothing ? "nothing to archive" : "archived",
		    r.nothing ? XR_ENOTHING : XR_OK);
		jw_obj_end(&w);
		puts(buf_str(&b));
		buf_free(&b);
		c->out.json_done = true;
	} else if (r.nothing) {
		printf("nothing to archive before %s%s\n", out_esc(&esc, before), why);
	} else if (!c->cfg.quiet) {
		printf("archived events %lld to %lld (%lld events) to %s%s\n",
		    (long long)r.first_seq, (long long)r.last_seq, (long long)r.events,
		    out_esc(&esc, r.file), why);
		printf("the journal keeps events %lld to %lld, head %s\n", (long long)r.kept_from,
		    (long long)r.kept_to, r.head);
	}
	buf_free(&esc);
	return r.nothing ? XR_ENOTHING : XR_OK;
}

const struct command cmd_archive = {
	.name = "archive",
	.summary = "move the events older than a date to an archive file, the chain intact",
	.usage = "--before DATE [--to FILE]",
	.description =
	    "Copies the journal's events older than DATE into an archive file, a journal of\n"
	    "the same schema whose hash chain is whole from its first event, then puts a new\n"
	    "journal file in the old one's place (a rename) that keeps the newer events and\n"
	    "goes on from the archive's last hash; events keep their numbers.  The live\n"
	    "journal names its archives, and verify checks them with it as one chain.  It\n"
	    "stops before the first event of a run that has not ended, a replay batch not\n"
	    "closed, an entry still held, or a run or batch the intent file names, and it\n"
	    "never splits a run, a batch or an incident.  The copying is done without the\n"
	    "journal's lock; the lock is held only for the last step.  A kill at any point\n"
	    "loses nothing: run it again.  Exits 6 when nothing is old enough to move.",
	.options = archive_options,
	.min_args = 0,
	.max_args = 0,
	.run = archive_run,
};
