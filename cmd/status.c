/*
 * status.c: `xrecover status`, one view of the selected consumer groups:
 * pending entries, lag, the oldest pending entry, what the recovery
 * consumer holds, and each consumer's pending count, idle time and state.
 */
#include <stdio.h>

#include "../core/status.h"
#include "../lib/buf.h"
#include "command.h"

/* The same selection and thresholds as run, to show what run would do. */
static const struct cmd_option status_options[] = {
	OPTIONS_SELECT("show"),
	OPTIONS_CONSUMERS,
	{NULL, 0, NULL, NULL, NULL},
};

enum { G_STREAM, G_GROUP, G_CONSUMERS, G_PENDING, G_STALE, G_HELD, G_LAG, G_OLDEST_AGE,
	G_OLDEST_ID, G_LAST, G_CLAIM_IDLE, G_WHY };
static const struct column group_cols[] = {
	{"STREAM", "stream", COL_STR},
	{"GROUP", "group", COL_STR},
	{"CONSUMERS", "consumers", COL_INT},
	{"PENDING", "pending", COL_INT},
	{"STALE", "stale", COL_INT},
	{"HELD", "held", COL_INT},
	{"LAG", "lag", COL_INT},
	{"OLDEST", "oldest_pending_age_ms", COL_MS},
	{"OLDEST-ID", "oldest_pending_id", COL_STR},
	{"LAST-DELIVERED", "last_delivered_id", COL_STR},
	{"CLAIM-IDLE", "claim_idle_ms", COL_MS},
	{"WHY", "claim_idle_why", COL_STR},
};

enum { C_STREAM, C_GROUP, C_NAME, C_STATE, C_PENDING, C_IDLE, C_INACTIVE };
static const struct column consumer_cols[] = {
	{"STREAM", "stream", COL_STR},
	{"GROUP", "group", COL_STR},
	{"CONSUMER", "consumer", COL_STR},
	{"STATE", "state", COL_STR},
	{"PENDING", "pending", COL_INT},
	{"IDLE", "idle_ms", COL_MS},
	{"INACTIVE", "inactive_ms", COL_MS},
};

static int
status_run(struct ctx *c)
{
	struct status st;
	struct xerr err = {0};
	struct table gt, ct;

	if (status_gather(&c->cfg, c->lg, &st, &err) < 0)
		return fail(c, &err);
	table_init(&gt, group_cols, sizeof(group_cols) / sizeof(group_cols[0]));
	table_init(&ct, consumer_cols, sizeof(consumer_cols) / sizeof(consumer_cols[0]));
	for (size_t i = 0; i < st.ngroups; i++) {
		const struct status_group *g = &st.groups[i];
		size_t r = table_row(&gt);
		table_str(&gt, r, G_STREAM, g->stream);
		table_str(&gt, r, G_GROUP, g->group);
		table_int(&gt, r, G_CONSUMERS, g->consumers);
		table_int(&gt, r, G_PENDING, g->pending);
		table_int(&gt, r, G_STALE, g->stale);
		table_int(&gt, r, G_HELD, g->held);
		if (g->lag >= 0)
			table_int(&gt, r, G_LAG, g->lag);
		if (g->oldest_age_ms >= 0) {
			table_int(&gt, r, G_OLDEST_AGE, g->oldest_age_ms);
			table_str(&gt, r, G_OLDEST_ID, g->oldest_id);
		}
		table_str(&gt, r, G_LAST, g->last_delivered);
		table_int(&gt, r, G_CLAIM_IDLE, g->claim_idle_ms);
		table_str(&gt, r, G_WHY, g->claim_idle_why);
	}
	for (size_t i = 0; i < st.nconsumers; i++) {
		const struct status_consumer *s = &st.consumers[i];
		size_t r = table_row(&ct);
		table_str(&ct, r, C_STREAM, s->stream);
		table_str(&ct, r, C_GROUP, s->group);
		table_str(&ct, r, C_NAME, s->name);
		table_str(&ct, r, C_STATE, consumer_state_name(s->state));
		table_int(&ct, r, C_PENDING, s->pending);
		table_int(&ct, r, C_IDLE, s->idle_ms);
		if (s->inactive_ms >= 0)
			table_int(&ct, r, C_INACTIVE, s->inactive_ms);
	}
	if (c->cfg.json) {
		struct buf b = BUF_INIT;
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_key(&w, "groups");
		table_json(&gt, &w);
		jw_key(&w, "consumers");
		table_json(&ct, &w);
		jw_kstrs(&w, "missing", st.missing, st.nmissing);
		jw_obj_end(&w);
		puts(buf_str(&b));
		buf_free(&b);
	} else if (st.ngroups == 0) {
		puts("no consumer groups found in the selected streams");
	} else {
		table_print(&gt, stdout);
		putchar('\n');
		table_print(&ct, stdout);
	}
	table_free(&gt);
	table_free(&ct);
	if (st.nmissing > 0) {
		/* A typo must not look like an idle stream: shown, and exit 8. */
		struct buf b = BUF_INIT;
		buf_adds(&b, st.nmissing == 1 ? "no such stream: " : "no such streams: ");
		for (size_t i = 0; i < st.nmissing; i++)
			buf_printf(&b, "%s'%s'", i > 0 ? ", " : "", st.missing[i]);
		xerr_set(&err, XR_EMISSING, "%s (the other streams are shown)", buf_str(&b));
		buf_free(&b);
		c->out.json_done = c->cfg.json;
		status_free(&st);
		return fail(c, &err);
	}
	status_free(&st);
	return XR_OK;
}

const struct command cmd_status = {
	.name = "status",
	.summary = "groups, consumers and pending entries in one view (reads Redis only)",
	.usage = "[-s STREAM]... [--match GLOB] [-g GROUP]... [OPTIONS]",
	.description =
	    "Shows each selected consumer group (default: every stream) with its pending count,\n"
	    "the entries pending on stale consumers (which `run` would claim), what the\n"
	    "recovery consumer holds, the lag, the oldest pending entry, and the claim\n"
	    "threshold run would use now and why (--claim-idle auto: from the journal's\n"
	    "history of the group); then each\n"
	    "consumer with its pending count, idle time (and inactive time on Redis >= 7.2)\n"
	    "and state: active, stale, zombie (`run` would delete it), recovery, excluded.",
	.options = status_options,
	.min_args = 0,
	.max_args = 0,
	.run = status_run,
};
