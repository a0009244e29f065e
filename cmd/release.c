/*
 * release.c: `xrecover release CONSUMER`: delete a consumer that is going
 * away from the selected groups, but only where it owns nothing
 * (core/release.c), for a consumer service's ExecStop.
 */
#include <stdio.h>

#include "../core/mode.h"
#include "../core/recover.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "command.h"

static const struct cmd_option release_options[] = {
	OPTIONS_SELECT("release from"),
	{"claim", 0, NULL, NULL, "first claim the entries it owns into the recovery consumer (journalled like run's claims), then delete it"},
	{"consumer", 0, "consumer", "NAME", "the recovery consumer that --claim moves entries to (default xrecover)"},
	{"log-file", 0, "log_file", "FILE", "also append the log lines to FILE"},
	{NULL, 0, NULL, NULL, NULL},
};

static void
print_json(const struct recover_result *r, const char *consumer, const char *error, int code)
{
	struct buf b = BUF_INIT;
	struct jw w;

	jw_init(&w, &b);
	jw_obj(&w);
	if (r->run > 0)
		jw_kint(&w, "run", r->run);
	else
		jw_kstr(&w, "run", NULL);
	jw_kstr(&w, "consumer", consumer);
	jw_kstr(&w, "status", r->status);
	jw_kint(&w, "claimed", r->claimed);
	jw_kint(&w, "lost", r->lost);
	jw_kint(&w, "deleted", r->deleted);
	jw_kint(&w, "kept", r->release_refused);
	jw_kstrs(&w, "missing", r->missing, r->nmissing);
	jw_kstrs(&w, "missing_groups", r->missing_groups, r->nmissing_groups);
	jw_kstr(&w, "head", r->head[0] != '\0' ? r->head : NULL);
	jw_key(&w, "groups");
	jw_arr(&w);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct group_result *g = &r->groups[i];
		if (!g->release_found && g->error == NULL)
			continue;
		jw_obj(&w);
		jw_kstr(&w, "stream", g->stream);
		jw_kstr(&w, "group", g->group);
		jw_kint(&w, "claimed", g->claimed);
		jw_kint(&w, "lost", g->lost);
		jw_kbool(&w, "deleted", g->deleted > 0);
		jw_kint(&w, "owns", g->release_owned);
		jw_kstr(&w, "error", g->error);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	out_json_outcome(&w, error, code);
	jw_obj_end(&w);
	puts(buf_str(&b));
	buf_free(&b);
}

/* One line per group that had the consumer. */
static void
print_text(const struct recover_result *r, const char *consumer)
{
	struct buf c = BUF_INIT, s = BUF_INIT, g = BUF_INIT;

	out_esc(&c, consumer);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct group_result *gr = &r->groups[i];
		if (!gr->release_found)
			continue;
		out_esc(&s, gr->stream);
		out_esc(&g, gr->group != NULL ? gr->group : "");
		if (gr->deleted > 0 && gr->claimed + gr->lost > 0)
			printf("deleted '%s' from stream '%s' group '%s' after claiming %lld "
			    "entries (%lld lost)\n", buf_str(&c), buf_str(&s), buf_str(&g), gr->claimed,
			    gr->lost);
		else if (gr->deleted > 0)
			printf("deleted '%s' from stream '%s' group '%s'\n", buf_str(&c), buf_str(&s),
			    buf_str(&g));
		else if (gr->release_owned > 0)
			printf("kept '%s' in stream '%s' group '%s': it owns %lld pending entries\n",
			    buf_str(&c), buf_str(&s), buf_str(&g), gr->release_owned);
		else if (gr->error == NULL)
			printf("'%s' left stream '%s' group '%s' by itself\n", buf_str(&c),
			    buf_str(&s), buf_str(&g));
	}
	buf_free(&c);
	buf_free(&s);
	buf_free(&g);
}

static int
release_cmd(struct ctx *c)
{
	struct mode mode;
	struct recover_result res;
	struct xerr err = {0};
	const char *consumer = c->args[0];
	int rc;

	if (mode_resolve(&c->cfg, &mode, &err) < 0)
		return fail(c, &err);
	rc = release_run(&c->cfg, &mode, consumer, ctx_flag(c, "claim"), c->lg, c->stop, &res,
	    &err);
	if (c->cfg.json && res.run > 0) {
		print_json(&res, consumer, rc == 0 ? NULL : err.msg,
		    rc == 0 ? XR_OK : err.code != 0 ? err.code : XR_EFAIL);
		c->out.json_done = true;
	} else if (!c->cfg.json) {
		print_text(&res, consumer);
	}
	recover_result_free(&res);
	return rc < 0 ? fail(c, &err) : XR_OK;
}

const struct command cmd_release = {
	.name = "release",
	.summary = "delete a consumer that is going away from its groups, only where it owns no pending entry",
	.usage = "CONSUMER [-s STREAM]... [--match GLOB] [-g GROUP]... [--claim]",
	.description =
	    "For a consumer service's ExecStop.  In each selected group that has CONSUMER,\n"
	    "deletes it (XGROUP DELCONSUMER) if it owns no pending entry at that instant: the\n"
	    "check and the delete are one atomic step in Redis, as for zombies.  Where it still\n"
	    "owns entries it is kept, the other groups are done, and the exit code is 11.  With\n"
	    "--claim its entries are first claimed into the recovery consumer (--consumer),\n"
	    "however young, and journalled with their payloads as run's claims are; then it is\n"
	    "deleted.  No other consumer is touched.  Journalled as a run whose options name the\n"
	    "consumer (\"release\" in the runs view's options); it takes the journal's lock and\n"
	    "finishes what a killed run left first.  Exit 6 when no selected group has\n"
	    "CONSUMER.  Needs a selection: --stream, --match, or the config's \"streams\"/\"match\".",
	.options = release_options,
	.min_args = 1,
	.max_args = 1,
	.run = release_cmd,
};
