/*
 * run.c: `xrecover run`, one recovery pass.  Claims entries that dead
 * consumers left pending into the recovery consumer, deletes consumers
 * that are gone for good, and journals everything (core/recover.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../core/archive.h"
#include "../core/metrics.h"
#include "../core/mode.h"
#include "../core/recover.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "command.h"

static const struct cmd_option run_options[] = {
	OPTIONS_SELECT("work on"),
	OPTIONS_CONSUMERS,
	{"batch", 0, "batch", "N", "pending entries per claim page (default 200)"},
	{"action", 0, "action", "hold|redeliver|hand-off|dead-letter", "what becomes of claimed entries (default hold: they stay pending on the recovery consumer)"},
	{"redeliver-to", 0, "redeliver_to", "TEMPLATE", "redeliver into this retry stream per group instead of the entry's own; {stream} and {group} are replaced (its group of the same name is created if missing)"},
	{"all-groups", 0, "all_groups", NULL, "let redelivered copies reach every group of the target stream, not only the entry's own"},
	{"max-deliveries", 0, "max_deliveries", "N", "entries delivered more than N times go to the dead-letter stream whatever the action (0: off)"},
	{"dead-letter-stream", 0, "dead_letter_stream", "TEMPLATE", "where dead letters go; {stream} and {group} are replaced (default {stream}:dlq)"},
	{"no-claim", 0, "no_claim", NULL, "do not claim entries"},
	{"no-clean", 0, "no_clean", NULL, "do not delete consumers"},
	{"dry-run", 'n', "dry_run", NULL, "change nothing anywhere (Redis, journal); print what would be done"},
	{"log-file", 0, "log_file", "FILE", "also append the log lines to FILE"},
	{"archive-after", 0, "archive_after", "DURATION", "after a good run, at most once a day, archive the events older than this (as archive --before; default never)"},
	{"metrics-file", 0, "metrics_file", "FILE", "after the run, replace FILE with the metrics in the Prometheus text format (for node_exporter's textfile collector)"},
	{NULL, 0, NULL, NULL, NULL},
};

static void
print_json(const struct recover_result *r, const struct mode *m, bool dry, const char *error,
    int code)
{
	struct buf b = BUF_INIT;
	struct jw w;

	jw_init(&w, &b);
	jw_obj(&w);
	if (r->run > 0)
		jw_kint(&w, "run", r->run);
	else
		jw_kstr(&w, "run", NULL);
	jw_kstr(&w, "mode", m->name);
	jw_kstr(&w, "status", r->status);
	jw_kbool(&w, "dry_run", dry);
	recover_counts_json(r, &w);
	jw_kint(&w, "handed_off", r->handed_off);
	jw_kint(&w, "kept_back", r->kept_back);
	jw_kint(&w, "errors", r->errors);
	jw_kstrs(&w, "missing", r->missing, r->nmissing);
	jw_kstrs(&w, "missing_groups", r->missing_groups, r->nmissing_groups);
	jw_kint(&w, "duration_ms", r->duration_ms);
	/* Kept outside the journal, it proves later that nothing was cut off (verify --head). */
	jw_kstr(&w, "head", r->head[0] != '\0' ? r->head : NULL);
	/* The outbox: what this run delivered, what failed for good, what waits. */
	jw_key(&w, "alerts");
	jw_obj(&w);
	jw_kint(&w, "sent", r->alerts_sent);
	jw_kint(&w, "failed", r->alerts_failed);
	jw_kint(&w, "pending", r->alerts_pending);
	jw_obj_end(&w);
	jw_key(&w, "groups");
	jw_arr(&w);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct group_result *g = &r->groups[i];
		jw_obj(&w);
		jw_kstr(&w, "stream", g->stream);
		jw_kstr(&w, "group", g->group);
		jw_kint(&w, "claimed", g->claimed);
		jw_kint(&w, "adopted", g->adopted);
		jw_kint(&w, "lost", g->lost);
		jw_kint(&w, "deleted", g->deleted);
		jw_kint(&w, "dead_lettered", g->dead_lettered);
		jw_kint(&w, "redelivered", g->redelivered);
		if (g->batch > 0)
			jw_kint(&w, "batch", g->batch);
		jw_kint(&w, "handed_off", g->handed_off);
		jw_kint(&w, "kept_back", g->kept_back);
		jw_kstr(&w, "kept_back_reason", g->kept_reason);
		jw_key(&w, "held");
		if (g->held >= 0)
			jw_int(&w, g->held);
		else
			jw_null(&w);
		jw_key(&w, "pending");
		if (g->pending >= 0)
			jw_int(&w, g->pending);
		else
			jw_null(&w);
		if (g->idle.ms >= 0) {
			jw_kint(&w, "claim_idle_ms", g->idle.ms);
			jw_kstr(&w, "claim_idle_why", g->idle.why);
		}
		jw_kstr(&w, "error", g->error);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	out_json_outcome(&w, error, code);
	jw_obj_end(&w);
	puts(buf_str(&b));
	buf_free(&b);
}

/*
 * The metrics of the journal and this run, written to FILE through a
 * temporary file and a rename.  They hold no payload or secret: 0644, so
 * that node_exporter, running as its own user, can read them.
 */
static int
write_metrics(struct ctx *c, const struct recover_result *r, struct xerr *err)
{
	struct buf b = BUF_INIT;
	const char *path = c->cfg.metrics_file;
	int rc = 0;

	if (metrics_build(&c->cfg, r, &b, err) < 0) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		rc = xerr_set(err, XR_EMETRICS, "--metrics-file: %s", msg);
	} else if (file_replace(path, b.data, b.len, 0644) < 0) {
		rc = xerr_set(err, XR_EMETRICS, "--metrics-file: cannot write '%s': %s", path,
		    strerror(errno));
	}
	buf_free(&b);
	return rc;
}

/*
 * The retention setting, after a good run: at most once a day (the archive
 * lock file's time says when one last began), the events older than
 * archive_after go to an archive.  Its failure is a warning: the run's
 * work is done and journalled.
 */
static void
retention(struct ctx *c)
{
	struct archive_result r;
	struct xerr err = {0};
	struct buf esc = BUF_INIT;
	int64_t now = now_ms();

	if (c->cfg.archive_after_ms <= 0 || c->cfg.dry_run || !archive_due(&c->cfg, now))
		return;
	if (archive_journal(&c->cfg, now - c->cfg.archive_after_ms, NULL, &r, &err) < 0) {
		char msg[sizeof(err.msg) + 32];
		snprintf(msg, sizeof(msg), "archive_after: %s", err.msg);
		out_error(&c->out, msg);
	} else if (!r.nothing && !c->cfg.quiet && !c->cfg.json) {
		fprintf(stderr, "xrecover: archived events %lld to %lld to %s\n",
		    (long long)r.first_seq, (long long)r.last_seq, out_esc(&esc, r.file));
	}
	buf_free(&esc);
}

static int
run_run(struct ctx *c)
{
	struct mode mode;
	struct recover_result res;
	struct xerr err = {0};
	int rc;

	if (mode_resolve(&c->cfg, &mode, &err) < 0)
		return fail(c, &err);
	rc = recover_run(&c->cfg, &mode, c->lg, c->stop, &res, &err);
	/*
	 * Metrics once the run has a number (it is journalled, failed or not).
	 * Failing to write them fails an otherwise good run with XR_EMETRICS;
	 * after a failed run it is one more error line, and the run's code stands.
	 */
	if (c->cfg.metrics_file != NULL && !c->cfg.dry_run && res.run > 0) {
		struct xerr merr = {0};
		if (write_metrics(c, &res, &merr) < 0) {
			if (rc == 0) {
				err = merr;
				rc = -1;
			} else {
				out_error(&c->out, merr.msg);
			}
		}
	}
	/* Once the run has started, the summary says how it ended, failure or not. */
	if (c->cfg.json && (rc == 0 || err.code == XR_EFAIL || err.code == XR_EREDIS ||
	    err.code == XR_EMISSING || err.code == XR_EUNSAFE || err.code == XR_EMETRICS)) {
		print_json(&res, &mode, c->cfg.dry_run, err.msg,
		    rc == 0 ? XR_OK : err.code != 0 ? err.code : XR_EFAIL);
		c->out.json_done = true;
	}
	recover_result_free(&res);
	if (rc == 0)
		retention(c);
	return rc < 0 ? fail(c, &err) : XR_OK;
}

const struct command cmd_run = {
	.name = "run",
	.summary = "one recovery pass: claim stale pending entries, delete zombie consumers, journal everything",
	.usage = "[-s STREAM]... [--match GLOB] [-g GROUP]... [OPTIONS]",
	.description =
	    "Claims every pending entry idle at least --claim-idle from any consumer but the\n"
	    "recovery consumer and --exclude-consumer into the recovery consumer, where it stays\n"
	    "pending (held) with its delivery count unchanged.  Then deletes consumers that have\n"
	    "nothing pending and were quiet at least --zombie-idle; the check and the delete are\n"
	    "one atomic step in Redis.  Every claim, lost entry and deletion is journalled with\n"
	    "the entry's payload before the run reports success.  With --claim-idle auto each\n"
	    "group's threshold follows the hold times the journal saw of it, and only consumers\n"
	    "silent that long themselves lose entries (--only-silent-consumers for a fixed one).\n"
	    "A run killed part way is reconciled by the next one.  Entries the recovery consumer\n"
	    "holds that this journal does not know (another journal claimed them, or it was\n"
	    "lost) are adopted first: journalled as they are, left pending.  Needs a selection:\n"
	    "--stream, --match, or the config's \"streams\"/\"match\".  Once the run is journalled\n"
	    "(failed or not), the alerts pending in the journal's outbox go to the configured\n"
	    "webhooks, within alert_budget; each attempt is journalled.",
	.options = run_options,
	.min_args = 0,
	.max_args = 0,
	.run = run_run,
};
