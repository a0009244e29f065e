/*
 * alert.c: `xrecover test-alert [--webhook NAME]`: one [TEST] message to
 * each configured webhook, and what each answered.  Touches neither Redis
 * nor the journal.
 */
#include <stdio.h>

#include "../core/alert.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "command.h"

static const struct cmd_option test_alert_options[] = {
	{"webhook", 0, NULL, "NAME", "only the webhook of this name"},
	{"stream", 0, NULL, "NAME", "a stream name for the test message to carry (to see how names look there)"},
	{"group", 0, NULL, "NAME", "a group name for the test message to carry"},
	{"log-file", 0, "log_file", "FILE", "also append a log line per webhook to FILE"},
	{NULL, 0, NULL, NULL, NULL},
};

enum { T_WEBHOOK, T_FORMAT, T_RESULT, T_STATUS, T_RETRY, T_TIME, T_TARGET, T_ERROR };
static const struct column cols[] = {
	{"WEBHOOK", "webhook", COL_STR},
	{"FORMAT", "format", COL_STR},
	{"RESULT", "result", COL_STR},
	{"HTTP", "http_status", COL_INT},
	{"RETRY-AFTER", "retry_after_ms", COL_MS},
	{"TIME", "time_ms", COL_MS},
	{"TARGET", "target", COL_STR},
	{"ERROR", "error", COL_STR},
};

static int
test_alert_run(struct ctx *c)
{
	struct alert_outcome *o = NULL;
	struct xerr err = {0};
	struct table t;
	size_t n = 0, failed = 0;
	int code;

	if (alert_test(&c->cfg, ctx_opt(c, "webhook"), ctx_opt(c, "stream"), ctx_opt(c, "group"),
	    &o, &n, &err) < 0)
		return fail(c, &err);
	table_init(&t, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < n; i++) {
		const struct notify_result *r = &o[i].r;
		size_t row = table_row(&t);

		table_str(&t, row, T_WEBHOOK, o[i].webhook);
		table_str(&t, row, T_FORMAT, webhook_format_name(o[i].format));
		table_str(&t, row, T_RESULT, r->delivered ? "delivered" :
		    r->retryable ? "retryable" : "failed");
		if (r->http_status != 0)
			table_int(&t, row, T_STATUS, r->http_status);
		if (r->retry_after_ms >= 0)
			table_int(&t, row, T_RETRY, r->retry_after_ms);
		table_int(&t, row, T_TIME, r->elapsed_ms);
		table_str(&t, row, T_TARGET, r->target);
		if (!r->delivered)
			table_str(&t, row, T_ERROR, r->error);
		failed += !r->delivered;

		struct logline l;
		ll_start(&l, r->delivered ? LOG_INFO : LOG_WARN, "ALERT", "TEST");
		ll_str(&l, "webhook", o[i].webhook);
		ll_str(&l, "result", r->delivered ? "delivered" : r->retryable ? "retryable" : "failed");
		if (r->http_status != 0)
			ll_int(&l, "http_status", r->http_status);
		if (r->retry_after_ms >= 0)
			ll_dur(&l, "retry_after", r->retry_after_ms);
		ll_dur(&l, "time", r->elapsed_ms);
		ll_str(&l, "target", r->target);
		ll_str(&l, "id", o[i].id);
		if (!r->delivered)
			ll_str(&l, "error", r->error);
		ll_emit(c->lg, &l);
	}
	code = failed > 0 ? XR_EFAIL : XR_OK;
	xerr_set(&err, code, "%zu of %zu webhooks did not take the test message", failed, n);
	if (c->cfg.json) {
		struct buf b = BUF_INIT;
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_kstr(&w, "status", code == XR_OK ? "ok" : "failed");
		jw_key(&w, "webhooks");
		table_json(&t, &w);
		out_json_outcome(&w, err.msg, code);
		jw_obj_end(&w);
		puts(buf_str(&b));
		buf_free(&b);
		c->out.json_done = true;
	} else {
		table_print(&t, stdout);
	}
	table_free(&t);
	alert_outcomes_free(o, n);
	if (code != XR_OK)
		return fail(c, &err);
	return XR_OK;
}

const struct command cmd_test_alert = {
	.name = "test-alert",
	.summary = "send one [TEST] message to each configured webhook and show what each answered",
	.usage = "[--webhook NAME] [--stream NAME] [--group NAME]",
	.description =
	    "Posts one test message, marked [TEST], to every webhook of the config's\n"
	    "\"webhooks\" (or only the one --webhook names), once each and without retrying,\n"
	    "and prints a line per webhook: delivered, retryable (429, 5xx, no answer: a\n"
	    "later attempt may succeed) or failed (any other answer, or TLS refused), the\n"
	    "HTTP status, Retry-After when one was given, the time it took, and the target\n"
	    "with its token hidden.  Exits 0 when every webhook took it, 1 when any did\n"
	    "not, 2 when no webhook is configured or none has that name.  Touches neither\n"
	    "Redis nor the journal.",
	.options = test_alert_options,
	.min_args = 0,
	.max_args = 0,
	.run = test_alert_run,
};
