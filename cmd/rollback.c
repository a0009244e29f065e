/*
 * rollback.c: `xrecover rollback BATCH`, undo a replay: take back every
 * copy no group has read; the originals never moved.
 */
#include <stdio.h>

#include "../core/replay.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/util.h"
#include "command.h"

/* What taking copies back restores in Redis, and what Redis cannot move back. */
#define ROLLBACK_RESTORED \
	"the stream's entries and every group's pending entries, as before the replay"
#define ROLLBACK_NOT_RESTORED \
	"the stream's last-generated-id, entries-added and max-deleted-entry-id; " \
	"a group's lag reads nil until it has read past the removed copies"

static const struct cmd_option rollback_options[] = {
	{"dry-run", 'n', "dry_run", NULL, "change nothing; say what would be taken back"},
	{NULL, 0, NULL, NULL, NULL},
};

static void
draw(void *ctx, size_t done, size_t total)
{
	progress_draw(ctx, done, total);
}

static int
rollback_run(struct ctx *c)
{
	struct rollback_request req = {0};
	struct rollback_report r;
	struct xerr err = {0};
	struct progress pr;
	long long batch;
	int rc;

	if (parse_int(c->args[0], 1, INT64_MAX, &batch) < 0) {
		xerr_set(&err, XR_EUSAGE, "'%s' is not a replay batch number", c->args[0]);
		return fail(c, &err);
	}
	req.batch = batch;
	req.dry_run = c->cfg.dry_run;
	progress_init(&pr, "rollback", c->cfg.quiet || req.dry_run);
	req.progress = pr.on ? draw : NULL;
	req.progress_ctx = &pr;
	rc = rollback(&c->cfg, c->lg, c->stop, &req, &r, &err);
	if (rc < 0) {
		rollback_report_free(&r);
		return fail(c, &err);
	}
	if (c->cfg.json) {
		struct buf b = BUF_INIT;
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_kint(&w, "batch", batch);
		jw_kbool(&w, "dry_run", r.dry_run);
		jw_kint(&w, "removed", (int64_t)r.removed);
		jw_kint(&w, "gone", (int64_t)r.gone);
		jw_kint(&w, "already_settled", (int64_t)r.settled);
		jw_key(&w, "already_read");
		jw_arr(&w);
		for (size_t i = 0; i < r.read; i++) {
			char id[ENTRY_ID_STRLEN];
			entry_id_format(r.read_ids[i], id, sizeof(id));
			jw_obj(&w);
			jw_kstr(&w, "stream", r.read_streams[i]);
			jw_kstr(&w, "copy_id", id);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		if (!r.dry_run && r.removed + r.gone > 0) {
			jw_kstr(&w, "restored", ROLLBACK_RESTORED);
			jw_kstr(&w, "not_restored", ROLLBACK_NOT_RESTORED);
		}
		jw_obj_end(&w);
		puts(buf_str(&b));
		buf_free(&b);
	} else {
		printf("%s batch %lld: %s %zu unread %s", r.dry_run ? "would roll back" :
		    "rolled back", batch, r.dry_run ? "would remove" : "removed", r.removed,
		    r.removed == 1 ? "copy" : "copies");
		if (r.gone > 0)
			printf(" (%zu more were already gone)", r.gone);
		if (r.settled > 0)
			printf("; %zu were settled before", r.settled);
		printf("\n");
		if (!r.dry_run && r.removed + r.gone > 0)
			printf("restored: %s\nnot restored: %s\n", ROLLBACK_RESTORED,
			    ROLLBACK_NOT_RESTORED);
		if (r.read > 0) {
			printf("%zu %s already read and %s (%s cannot be unsent):\n", r.read,
			    r.read == 1 ? "copy was" : "copies were", r.read == 1 ? "stays" : "stay",
			    r.read == 1 ? "it" : "they");
			struct buf e = BUF_INIT;
			for (size_t i = 0; i < r.read; i++) {
				char id[ENTRY_ID_STRLEN];
				entry_id_format(r.read_ids[i], id, sizeof(id));
				printf("  %s %s\n", out_esc(&e, r.read_streams[i]), id);
			}
			buf_free(&e);
		}
	}
	if (!r.dry_run) {
		struct logline l;
		ll_start(&l, LOG_INFO, "ROLLBACK", NULL);
		ll_int(&l, "batch", batch);
		ll_int(&l, "removed", (int64_t)(r.removed + r.gone));
		ll_int(&l, "already_read", (int64_t)r.read);
		ll_int(&l, "already_settled", (int64_t)r.settled);
		ll_emit(c->lg, &l);
	}
	rollback_report_free(&r);
	return XR_OK;
}

const struct command cmd_rollback = {
	.name = "rollback",
	.summary = "undo a replay batch: take back every copy no group has read",
	.usage = "BATCH [--dry-run]",
	.description =
	    "Removes every copy of replay batch BATCH that no group has read yet (checked and\n"
	    "removed in one atomic step, so a consumer reading at that instant keeps its copy)\n"
	    "and lists, by ID, the copies already read: they cannot be unsent.  The originals\n"
	    "never moved: they are still held by the recovery consumer, or still in the\n"
	    "dead-letter stream.  Rolling back a batch twice changes nothing and says so (exit 6).\n"
	    "Shows progress on a terminal.  Holds the journal lock a second at a time, so a run\n"
	    "started meanwhile gets it in between; one rollback at a time (another one exits 5).",
	.options = rollback_options,
	.min_args = 1,
	.max_args = 1,
	.run = rollback_run,
};
