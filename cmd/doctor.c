/*
 * doctor.c: `xrecover doctor`: one line per check of what xrecover relies
 * on (core/doctor.c), with what to do about each that is not ok.
 */
#include <stdio.h>

#include "../core/doctor.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "command.h"

static const struct cmd_option doctor_options[] = {
	{"stream", 's', "streams", "NAME", "check the permissions on this stream (default a name of no stream)"},
	{NULL, 0, NULL, NULL, NULL},
};

static int
doctor_cmd(struct ctx *c)
{
	struct doctor_result r;
	bool failed;

	doctor_run(&c->cfg, c->config_error, &r);
	failed = doctor_failed(&r);
	if (c->cfg.json) {
		struct buf b = BUF_INIT;
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_kstr(&w, "status", failed ? "failed" : "ok");
		jw_key(&w, "checks");
		jw_arr(&w);
		for (size_t i = 0; i < r.n; i++) {
			jw_obj(&w);
			jw_kstr(&w, "name", r.v[i].name);
			jw_kstr(&w, "status", check_level_name(r.v[i].level));
			jw_kstr(&w, "what", r.v[i].what);
			jw_kstr(&w, "fix", r.v[i].fix);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		out_json_outcome(&w, failed ? "some checks failed" : NULL, failed ? XR_EFAIL : XR_OK);
		jw_obj_end(&w);
		puts(buf_str(&b));
		buf_free(&b);
	} else {
		struct buf e = BUF_INIT, f = BUF_INIT, n = BUF_INIT;
		for (size_t i = 0; i < r.n; i++) {
			out_esc(&e, r.v[i].what);
			printf("%-8s %s: %s", check_level_name(r.v[i].level), out_esc(&n, r.v[i].name),
			    buf_str(&e));
			if (r.v[i].fix != NULL)
				printf(" -- %s", out_esc(&f, r.v[i].fix));
			putchar('\n');
		}
		buf_free(&e);
		buf_free(&f);
		buf_free(&n);
	}
	doctor_result_free(&r);
	return failed ? XR_EFAIL : XR_OK;
}

const struct command cmd_doctor = {
	.name = "doctor",
	.summary = "check the config, Redis and its permissions, the journal, the lock, webhooks and the timer",
	.usage = "[-s STREAM] [--json]",
	.description =
	    "One line per check, with what to do when it is not ok: the configuration parses;\n"
	    "Redis answers, its version and what that means, and whether the user may run every\n"
	    "command xrecover sends (ACL DRYRUN where the user may ask, else each command in a\n"
	    "form that changes nothing); the journal's schema, hash chain, size and growth; the\n"
	    "journal's lock is free; each webhook's receiver accepts a connection (nothing is\n"
	    "sent); and, where systemd runs, xrecover.timer is enabled and active.  Changes\n"
	    "nothing.  Exit 0 when no check failed (warnings and skipped checks do not fail),\n"
	    "else 1.",
	.options = doctor_options,
	.min_args = 0,
	.max_args = 0,
	.run = doctor_cmd,
	.runs_on_bad_config = true,
};
