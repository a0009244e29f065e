/*
 * report.c: `xrecover report`: the daily compliance report, incidents, one
 * incident, one run; rendered as text, Markdown, JSON, CSV or HTML.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/mode.h"
#include "../core/render.h"
#include "../core/report.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/util.h"
#include "command.h"

static const struct cmd_option report_options[] = {
	{"daily", 0, NULL, NULL, "the daily compliance report"},
	{"date", 0, NULL, "YYYY-MM-DD", "the day of --daily (UTC; default yesterday)"},
	{"incidents", 0, NULL, NULL, "list the incidents"},
	{"since", 0, NULL, "TIME", "--incidents opened at or after TIME (2026-01-17T10:05:28Z, 2026-01-17, or 2h ago)"},
	{"until", 0, NULL, "TIME", "--incidents opened before TIME"},
	{"incident", 0, NULL, "ID", "one incident as a timeline, with each entry's fate"},
	{"run", 0, NULL, "N", "one run"},
	{"format", 0, NULL, "FORMAT", "text (default), md, json, csv or html"},
	{"output", 'o', NULL, "FILE", "write the report to FILE instead of standard output"},
	{"notify", 0, NULL, NULL, "--daily: post the day's verdict and the journal's head to the webhooks (through the outbox) and print what each answered; the report itself goes only to -o"},
	{NULL, 0, NULL, NULL, NULL},
};

static int
usage(struct ctx *c, const char *fmt, const char *arg)
{
	struct xerr err = {0};

	xerr_set(&err, XR_EUSAGE, fmt, arg);
	return fail(c, &err);
}

static int
parse_request(struct ctx *c, struct report_request *req, enum render_format *fmt)
{
	const char *which[] = {"daily", "incidents", "incident", "run"};
	const char *v;
	int n = 0;
	long long id;

	memset(req, 0, sizeof(*req));
	for (int i = 0; i < 4; i++) {
		if ((i == 0 || i == 1) ? ctx_flag(c, which[i]) : ctx_opt(c, which[i]) != NULL) {
			req->what = (enum report_what)i;
			n++;
		}
	}
	if (n != 1)
		return usage(c, "report: say which: --daily, --incidents, --incident ID or --run N%s",
		    "");
	if (req->what == REPORT_DAILY) {
		int64_t today = now_ms() / 86400000 * 86400000;
		req->day_ms = today - 86400000;
		if ((v = ctx_opt(c, "date")) != NULL) {
			int64_t t;
			if (strlen(v) != 10 || parse_time(v, now_ms(), &t) < 0 || t % 86400000 != 0)
				return usage(c, "--date: '%s' is not a date (YYYY-MM-DD)", v);
			req->day_ms = t;
		}
	} else if (ctx_opt(c, "date") != NULL) {
		return usage(c, "--date goes with --daily%s", "");
	}
	if (req->what != REPORT_INCIDENTS && (ctx_opt(c, "since") != NULL ||
	    ctx_opt(c, "until") != NULL))
		return usage(c, "--since and --until go with --incidents%s", "");
	if (req->what == REPORT_INCIDENTS) {
		const char *names[2] = {"since", "until"};
		int64_t *vals[2] = {&req->since, &req->until};
		for (int k = 0; k < 2; k++) {
			if ((v = ctx_opt(c, names[k])) != NULL && parse_time(v, now_ms(), vals[k]) < 0) {
				struct xerr err = {0};
				xerr_set(&err, XR_EUSAGE, "--%s: '%s' is not a time", names[k], v);
				return fail(c, &err);
			}
		}
	}
	if (req->what == REPORT_INCIDENT || req->what == REPORT_RUN) {
		v = ctx_opt(c, which[req->what]);
		if (parse_int(v, 1, INT64_MAX, &id) < 0)
			return usage(c, req->what == REPORT_RUN ? "--run: '%s' is not a run number" :
			    "--incident: '%s' is not an incident ID", v);
		req->id = id;
	}
	if (ctx_flag(c, "notify") && req->what != REPORT_DAILY)
		return usage(c, "--notify goes with --daily%s", "");
	*fmt = c->cfg.json ? RENDER_JSON : RENDER_TEXT;
	if ((v = ctx_opt(c, "format")) != NULL && render_format_parse(v, fmt) < 0)
		return usage(c, "--format: '%s' is not text, md, json, csv or html", v);
	return 0;
}

/* Writes b to path; a reader never sees half a report (file_replace()). */
static int
write_file(const char *path, const struct buf *b, struct xerr *err)
{
	/* Reports carry payloads: 0600 whatever the umask. */
	if (file_replace(path, b->data, b->len, 0600) < 0)
		return xerr_set(err, XR_EUSAGE, "-o: cannot write '%s': %s", path, strerror(errno));
	return 0;
}

enum { N_ALERT, N_WEBHOOK, N_ATTEMPT, N_RESULT, N_STATUS, N_RETRY, N_TIME, N_TARGET, N_ERROR };
static const struct column notify_cols[] = {
	{"ALERT", "alert", COL_INT},
	{"WEBHOOK", "webhook", COL_STR},
	{"ATTEMPT", "attempt", COL_INT},
	{"RESULT", "result", COL_STR},
	{"HTTP", "http_status", COL_INT},
	{"RETRY-AFTER", "retry_after_ms", COL_MS},
	{"TIME", "time_ms", COL_MS},
	{"TARGET", "target", COL_STR},
	{"ERROR", "error", COL_STR},
};

/*
 * --notify: the report r raised as an alert and the outbox delivered; a
 * line per POST (the report's, and any an earlier run left pending).
 * Exits 0 when every webhook that wants the report took it.
 */
static int
notify(struct ctx *c, const struct report *r)
{
	struct outbox_result o;
	struct mode mode;
	struct xerr err = {0};
	struct table t;
	struct alert a = {.rule = "report"};
	int64_t alert;
	size_t want = 0, took = 0;
	int code;

	if (mode_resolve(&c->cfg, &mode, &err) < 0)
		return fail(c, &err);
	if (report_notify(&c->cfg, r, strcmp(mode.name, "LIVE") == 0 ? ALERT_LIVE : ALERT_TEST,
	    &o, &alert, &err) < 0) {
		outbox_result_free(&o);
		return fail(c, &err);
	}
	for (size_t i = 0; i < c->cfg.nwebhooks; i++)
		want += outbox_wants(&c->cfg.webhooks[i], &a);
	table_init(&t, notify_cols, sizeof(notify_cols) / sizeof(notify_cols[0]));
	for (size_t i = 0; i < o.nposts; i++) {
		const struct outbox_post *p = &o.posts[i];
		size_t row = table_row(&t);

		table_int(&t, row, N_ALERT, p->alert);
		table_str(&t, row, N_WEBHOOK, p->webhook);
		table_int(&t, row, N_ATTEMPT, p->attempt);
		table_str(&t, row, N_RESULT, p->outcome);
		if (p->r.http_status != 0)
			table_int(&t, row, N_STATUS, p->r.http_status);
		if (p->r.retry_after_ms >= 0)
			table_int(&t, row, N_RETRY, p->r.retry_after_ms);
		table_int(&t, row, N_TIME, p->r.elapsed_ms);
		table_str(&t, row, N_TARGET, p->r.target);
		if (p->r.error[0] != '\0')
			table_str(&t, row, N_ERROR, p->r.error);
		took += p->alert == alert && p->r.delivered;
	}
	outbox_log(c->lg, &o);
	took += (size_t)o.sent_elsewhere;
	code = took == want ? XR_OK : XR_EFAIL;
	if (o.left[0] != '\0' && code == XR_OK)
		xerr_set(&err, code, "the daily report (alert %lld) was sent by another xrecover: %s",
		    (long long)alert, o.left);
	else if (o.left[0] != '\0')
		xerr_set(&err, code, "the daily report (alert %lld) is pending: %s, which sends "
		    "what is pending; see the alerts view", (long long)alert, o.left);
	else
		xerr_set(&err, code, "%zu of %zu webhooks did not take the daily report (alert %lld; "
		    "see the alerts view: a later run retries what is pending)", want - took, want,
		    (long long)alert);
	if (c->cfg.json) {
		struct buf b = BUF_INIT;
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_kint(&w, "alert", alert);
		jw_kint(&w, "sent", o.sent);
		jw_kint(&w, "failed", o.failed);
		jw_kint(&w, "pending", o.pending);
		jw_key(&w, "posts");
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
	outbox_result_free(&o);
	return code == XR_OK ? XR_OK : fail(c, &err);
}

static int
report_run(struct ctx *c)
{
	struct report_request req;
	enum render_format fmt;
	struct report r;
	struct xerr err = {0};
	struct buf out = BUF_INIT;
	const char *path = ctx_opt(c, "output");
	int rc;

	if ((rc = parse_request(c, &req, &fmt)) != 0)
		return rc;
	if (report_build(&c->cfg, &req, &r, &err) < 0) {
		report_free(&r);
		return fail(c, &err);
	}
	render(&r, fmt, &out);
	/* An archive not read: one line each, before the report (JSON: archives_unread). */
	if (fmt != RENDER_JSON)
		print_unread(r.unread, r.nunread, stderr);
	if (path != NULL) {
		rc = write_file(path, &out, &err) < 0 ? fail(c, &err) : XR_OK;
		if (rc == XR_OK && ctx_flag(c, "notify"))
			rc = notify(c, &r);
	} else if (ctx_flag(c, "notify")) {
		rc = notify(c, &r);
	} else {
		fwrite(out.data, 1, out.len, stdout);
		rc = XR_OK;
	}
	report_free(&r);
	buf_free(&out);
	return rc;
}

const struct command cmd_report = {
	.name = "report",
	.summary = "the daily compliance report, incidents and their timelines, one run",
	.usage = "--daily [--date D] | --incidents [--since T] [--until T] | --incident ID | --run N "
	    "[--format F] [-o FILE] [--notify]",
	.description =
	    "Reads the journal only, with the archives it names.  --daily: one UTC day (default\n"
	    "yesterday): runs, failures and gaps in the schedule, what was claimed, deleted, lost,\n"
	    "dead-lettered, replayed and rolled back per stream and group, the incidents opened,\n"
	    "the day's events checked against the hash chain and the head at the end of the day.\n"
	    "--incidents: one line per incident (everything about one consumer that stopped\n"
	    "acknowledging in one group).\n"
	    "--incident ID: its timeline, earliest first, and each entry's fate with a look at its\n"
	    "payload.  --run N: one run.  Formats: text, md (fits in a chat message), json, csv (one\n"
	    "row per stream and group, or per incident or entry), html (one file, charts included).\n"
	    "--daily --notify: writes to the journal too: the day's counts and the journal's head\n"
	    "(seq and hash, for verify --head) raised as an alert, delivered through the outbox to\n"
	    "the webhooks; prints what each answered and exits 1 when one did not take it (a later\n"
	    "run retries); the report itself goes only to -o.",
	.options = report_options,
	.min_args = 0,
	.max_args = 0,
	.run = report_run,
};
