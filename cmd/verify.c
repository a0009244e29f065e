/*
 * verify.c: `xrecover verify [--head HASH]`: prove the journal whole, or
 * name the first event that was changed, deleted, inserted or moved.
 */
#include <stdio.h>

#include "../core/verify.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "command.h"

static const struct cmd_option verify_options[] = {
	{"head", 0, NULL, "HASH", "also prove that the event with this head hash (printed earlier by run --json, verify or a daily report) is still in the journal: nothing was cut off after it"},
	{NULL, 0, NULL, NULL, NULL},
};

static void
draw(void *ctx, int64_t done, int64_t total)
{
	progress_draw(ctx, (uint64_t)done, (uint64_t)total);
}

static int
verify_run(struct ctx *c)
{
	const char *want = ctx_opt(c, "head");
	struct chain_report r;
	struct progress pr;
	struct xerr err = {0};
	char line[1024], head[CHAIN_HEX_LEN];

	progress_init(&pr, "verify", c->cfg.quiet);
	if (verify_journal(&c->cfg, want, pr.on ? draw : NULL, &pr, &r, &err) < 0)
		return fail(c, &err);
	verify_explain(&r, line, sizeof(line));
	chain_hex(r.head, head);
	if (c->cfg.json) {
		struct buf b = BUF_INIT;
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_kstr(&w, "status", verify_status_name(r.status));
		jw_kint(&w, "events", r.events);
		jw_kstr(&w, "head", head);
		jw_kint(&w, "head_seq", r.head_seq);
		jw_kint(&w, "archives", r.archives);
		jw_kint(&w, "archived_events", r.archived_events);
		jw_kstr(&w, "archive", r.archive[0] != '\0' ? r.archive : NULL);
		if (r.status != CHAIN_WHOLE && r.status != CHAIN_HEAD_MISSING &&
		    r.status != CHAIN_INDEX && r.status != CHAIN_ARCHIVE &&
		    r.status != CHAIN_ARCHIVE_ROWS)
			jw_kint(&w, "bad_seq", r.bad_seq);
		else
			jw_kstr(&w, "bad_seq", NULL);
		if (want != NULL) {
			jw_kstr(&w, "head_given", want);
			if (r.head_at > 0)
				jw_kint(&w, "head_given_seq", r.head_at);
			else
				jw_kstr(&w, "head_given_seq", NULL);
		}
		jw_kstr(&w, "message", line);
		out_json_outcome(&w, line, r.status != CHAIN_WHOLE ? XR_EBROKEN : XR_OK);
		jw_obj_end(&w);
		puts(buf_str(&b));
		buf_free(&b);
		c->out.json_done = true;
	}
	if (r.status != CHAIN_WHOLE) {
		xerr_set(&err, XR_EBROKEN, "%s", line);
		return fail(c, &err);
	}
	if (!c->cfg.json) {
		struct buf esc = BUF_INIT;
		printf("%s\n", out_esc(&esc, line));
		buf_free(&esc);
		if (want != NULL)
			printf("head %s is event %lld: nothing was cut off after it\n", want,
			    (long long)r.head_at);
	}
	return XR_OK;
}

const struct command cmd_verify = {
	.name = "verify",
	.summary = "prove the journal whole, or name the first event changed, deleted, inserted or moved",
	.usage = "[--head HASH]",
	.description =
	    "Walks the journal's hash chain: each event carries the SHA-256 of the previous\n"
	    "event's hash and its own content.  Prints the number of events and the head (the\n"
	    "newest hash, which stands for the whole journal) and exits 0 when the chain is\n"
	    "whole; otherwise names the first bad event and what was done to it (changed,\n"
	    "deleted, inserted, moved) and exits 7.  A chain alone cannot show that its newest\n"
	    "events were cut off: keep a head outside the journal (run --json and every daily\n"
	    "report print it) and give it to --head.  A journal that was archived (archive)\n"
	    "names its archive files: verify checks each of them too, and that they and the\n"
	    "journal are one chain; a missing or changed archive exits 7.  Verify an archive\n"
	    "alone with --db ARCHIVE.  Reads the journal only; what it found is recorded\n"
	    "beside it in JOURNAL.verified (mode 0600), which the metrics read.",
	.options = verify_options,
	.min_args = 0,
	.max_args = 0,
	.run = verify_run,
};
