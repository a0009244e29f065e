/*
 * replay.c: `xrecover replay`, re-inject journalled messages into their
 * stream (or another) as one batch that `rollback` can undo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/replay.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/util.h"
#include "command.h"

static const struct cmd_option replay_options[] = {
	{"run", 0, NULL, "N", "the entries run N claimed"},
	{"incident", 0, NULL, "ID", "the entries claimed in incident ID (see report --incidents)"},
	{"message", 'm', NULL, "STREAM/ID", "this entry (repeatable)"},
	{"since", 0, NULL, "TIME", "entries claimed at or after TIME (2026-01-17T10:05:28Z, 2026-01-17, or 2h for two hours ago)"},
	{"until", 0, NULL, "TIME", "entries claimed before TIME"},
	{"stream", 's', "streams", "NAME", "only entries of this stream (repeatable)"},
	{"group", 'g', "groups", "NAME", "only entries of this group (repeatable)"},
	{"dead-lettered", 0, NULL, NULL, "only entries now in a dead-letter stream"},
	{"to", 0, NULL, "STREAM", "copy into STREAM instead of each entry's own stream"},
	{"rate", 0, NULL, "N", "at most N copies per second (0.001 to 1000000000)"},
	{"dry-run", 'n', "dry_run", NULL, "change nothing; print what would be re-injected"},
	{NULL, 0, NULL, NULL, NULL},
};


static void
print_json(const struct replay_result *r, bool dry, const char *error, int code)
{
	struct buf b = BUF_INIT;
	struct jw w;

	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "status", code == XR_OK ? "ok" : "failed");
	if (r->batch > 0)
		jw_kint(&w, "batch", r->batch);
	else
		jw_kstr(&w, "batch", NULL);
	jw_kbool(&w, "dry_run", dry);
	jw_kint(&w, "selected", (int64_t)r->selected);
	jw_kint(&w, "copied", (int64_t)r->copied);
	jw_kint(&w, "skipped_in_flight", (int64_t)r->skipped_in_flight);
	jw_key(&w, "entries");
	jw_arr(&w);
	for (size_t i = 0; i < r->nentries; i++) {
		const struct replayed *e = &r->entries[i];
		char id[ENTRY_ID_STRLEN], copy[ENTRY_ID_STRLEN];

		entry_id_format(e->id, id, sizeof(id));
		entry_id_format(e->copy, copy, sizeof(copy));
		jw_obj(&w);
		jw_kstr(&w, "stream", e->stream);
		jw_kstr(&w, "group", e->group);
		jw_kstr(&w, "id", id);
		jw_kstr(&w, "source", e->source);
		jw_kstr(&w, "to", e->to);
		jw_kstr(&w, "copy_id", dry ? NULL : copy);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	out_json_outcome(&w, error, code);
	jw_obj_end(&w);
	puts(buf_str(&b));
	buf_free(&b);
}

static void
draw(void *ctx, size_t done, size_t total)
{
	progress_draw(ctx, done, total);
}

static const struct column dry_cols[] = {
	{"STREAM", "stream", COL_STR},
	{"GROUP", "group", COL_STR},
	{"ID", "id", COL_STR},
	{"NOW", "source", COL_STR},
	{"COPY TO", "to", COL_STR},
};

static int
replay_run(struct ctx *c)
{
	struct replay_request req = {0};
	struct replay_result res;
	struct xerr err = {0};
	struct progress pr;
	struct buf sel = BUF_INIT;
	struct jw w;
	const char *v;
	long long n;
	int rc = XR_OK;
	bool criterion = false;

	jw_init(&w, &sel);
	jw_obj(&w);
	for (size_t i = 0; i < c->nopts; i++) {
		const struct cmd_arg *a = &c->opts[i];

		if (strcmp(a->name, "message") == 0) {
			req.sel.messages = xrealloc(req.sel.messages,
			    (req.sel.nmessages + 1) * sizeof(*req.sel.messages));
			if (parse_stream_id("--message", a->value,
			    &req.sel.messages[req.sel.nmessages].stream,
			    &req.sel.messages[req.sel.nmessages].id, &err) < 0) {
				rc = fail(c, &err);
				goto out;
			}
			req.sel.nmessages++;
			criterion = true;
		}
	}
	if (req.sel.nmessages > 0) {
		jw_key(&w, "messages");
		jw_arr(&w);
		for (size_t i = 0; i < c->nopts; i++)
			if (strcmp(c->opts[i].name, "message") == 0)
				jw_str(&w, c->opts[i].value);
		jw_arr_end(&w);
	}
	if ((v = ctx_opt(c, "run")) != NULL) {
		if (parse_int(v, 1, INT64_MAX, &n) < 0) {
			xerr_set(&err, XR_EUSAGE, "--run: '%s' is not a run number", v);
			rc = fail(c, &err);
			goto out;
		}
		req.sel.run = n;
		jw_kint(&w, "run", n);
		criterion = true;
	}
	if ((v = ctx_opt(c, "incident")) != NULL) {
		if (parse_int(v, 1, INT64_MAX, &n) < 0) {
			xerr_set(&err, XR_EUSAGE, "--incident: '%s' is not an incident ID", v);
			rc = fail(c, &err);
			goto out;
		}
		req.sel.incident = n;
		jw_kint(&w, "incident", n);
		criterion = true;
	}
	const char *tnames[2] = {"since", "until"};
	int64_t *tvals[2] = {&req.sel.since_ms, &req.sel.until_ms};
	for (int k = 0; k < 2; k++) {
		if ((v = ctx_opt(c, tnames[k])) == NULL)
			continue;
		if (parse_time(v, now_ms(), tvals[k]) < 0) {
			xerr_set(&err, XR_EUSAGE, "--%s: '%s' is not a time (use 2026-01-17T10:05:28Z, "
			    "2026-01-17, or a duration ago such as 2h)", tnames[k], v);
			rc = fail(c, &err);
			goto out;
		}
		jw_kstr(&w, tnames[k], v);
		criterion = true;
	}
	if (c->cfg.streams[0] != NULL) {
		req.sel.streams = c->cfg.streams;
		jw_key(&w, "streams");
		jw_arr(&w);
		for (char **s = c->cfg.streams; *s != NULL; s++)
			jw_str(&w, *s);
		jw_arr_end(&w);
		criterion = true;
	}
	if (c->cfg.groups[0] != NULL) {
		req.sel.groups = c->cfg.groups;
		jw_key(&w, "groups");
		jw_arr(&w);
		for (char **s = c->cfg.groups; *s != NULL; s++)
			jw_str(&w, *s);
		jw_arr_end(&w);
	}
	if (ctx_flag(c, "dead-lettered")) {
		req.sel.dead_lettered = true;
		jw_kbool(&w, "dead_lettered", true);
		criterion = true;
	}
	jw_obj_end(&w);
	if (!criterion) {
		xerr_set(&err, XR_EUSAGE, "say what to replay: --run, --message, --since/--until, "
		    "--stream or --dead-lettered");
		rc = fail(c, &err);
		goto out;
	}
	req.selection_json = buf_str(&sel);
	req.to = ctx_opt(c, "to");
	if (req.to != NULL && req.to[0] == '\0') {
		xerr_set(&err, XR_EUSAGE, "--to: a stream name must not be empty");
		rc = fail(c, &err);
		goto out;
	}
	if ((v = ctx_opt(c, "rate")) != NULL) {
		char *end;
		req.rate = strtod(v, &end);
		/* Written so that NaN fails it too. */
		if (*end != '\0' || !(req.rate >= 0.001 && req.rate <= 1e9)) {
			xerr_set(&err, XR_EUSAGE, "--rate: '%s' is not a number of copies per second "
			    "from 0.001 to 1000000000", v);
			rc = fail(c, &err);
			goto out;
		}
	}
	req.dry_run = c->cfg.dry_run;
	req.want_entries = c->cfg.json || req.dry_run;
	progress_init(&pr, "replay", c->cfg.quiet || req.dry_run);
	req.progress = pr.on ? draw : NULL;
	req.progress_ctx = &pr;

	int r = replay(&c->cfg, c->lg, c->stop, &req, &res, &err);
	if (c->cfg.json && (r == 0 || res.batch > 0)) {
		/* A batch that began says how it ended, failure or not. */
		print_json(&res, req.dry_run, err.msg, r == 0 ? XR_OK : err.code != 0 ? err.code :
		    XR_EFAIL);
		c->out.json_done = true;
	} else if (r == 0 && req.dry_run) {
		struct table t;
		table_init(&t, dry_cols, sizeof(dry_cols) / sizeof(dry_cols[0]));
		for (size_t i = 0; i < res.nentries; i++) {
			char id[ENTRY_ID_STRLEN];
			size_t row = table_row(&t);
			entry_id_format(res.entries[i].id, id, sizeof(id));
			table_str(&t, row, 0, res.entries[i].stream);
			table_str(&t, row, 1, res.entries[i].group);
			table_str(&t, row, 2, id);
			table_str(&t, row, 3, res.entries[i].source);
			table_str(&t, row, 4, res.entries[i].to);
		}
		table_print(&t, stdout);
		table_free(&t);
		printf("would copy %zu entries", res.selected);
		if (res.skipped_in_flight > 0)
			printf("; %zu skipped: a copy of each is already in flight", res.skipped_in_flight);
		printf("\n");
	} else if (res.batch > 0) {
		printf("replay batch %lld: copied %zu of %zu entries", (long long)res.batch,
		    res.copied, res.selected);
		if (res.skipped_in_flight > 0)
			printf(" (%zu skipped: a copy already in flight)", res.skipped_in_flight);
		printf("\nundo with: xrecover rollback %lld\n", (long long)res.batch);
	}
	if (res.batch > 0) {
		struct logline l;
		ll_start(&l, r == 0 ? LOG_INFO : LOG_WARN, "REPLAY", NULL);
		ll_int(&l, "batch", res.batch);
		ll_int(&l, "copied", (int64_t)res.copied);
		ll_int(&l, "selected", (int64_t)res.selected);
		ll_int(&l, "skipped_in_flight", (int64_t)res.skipped_in_flight);
		ll_str(&l, "to", req.to != NULL ? req.to : "(own stream)");
		ll_emit(c->lg, &l);
	}
	replay_result_free(&res);
	if (r < 0)
		rc = fail(c, &err);
out:
	for (size_t i = 0; i < req.sel.nmessages; i++)
		free(req.sel.messages[i].stream);
	free(req.sel.messages);
	buf_free(&sel);
	return rc;
}

const struct command cmd_replay = {
	.name = "replay",
	.summary = "re-inject journalled messages into their stream (or --to another) as one batch",
	.usage = "[--run N] [--incident ID] [--message STREAM/ID]... [--since T] [--until T] [-s STREAM]... "
	    "[--to STREAM] [--rate N] [OPTIONS]",
	.description =
	    "Copies the selected journalled entries, each field and value byte for byte and in\n"
	    "order, to the end of their stream (or of --to STREAM), where consumers read them\n"
	    "with '>'.  The copies form one batch, printed with its number.  The originals stay\n"
	    "where they are (held by the recovery consumer, or in the dead-letter stream) until\n"
	    "a later `run` sees the copy read and acknowledged and settles it; until then\n"
	    "`rollback BATCH` takes back every copy no group has read.  Entries with a copy in\n"
	    "flight are skipped.  Shows progress on a terminal.",
	.options = replay_options,
	.min_args = 0,
	.max_args = 0,
	.run = replay_run,
};
