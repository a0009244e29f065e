/* outbox.c: alerts into the journal (outbox.h). */
#include <fnmatch.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "outbox.h"

static bool
list_matches(char *const *list, const char *s)
{
	if (list == NULL || list[0] == NULL)
		return true;
	if (s == NULL)
		return false;
	for (size_t i = 0; list[i] != NULL; i++)
		if (fnmatch(list[i], s, 0) == 0)
			return true;
	return false;
}

bool
outbox_wants(const struct config_webhook *w, const struct alert *a)
{
	int min = w->min_severity != NULL ? severity_parse(w->min_severity) : SEV_WARNING;

	if (strcmp(a->rule, "report") != 0 && (int)a->severity < min)
		return false;
	if (!list_matches(w->rules, a->rule))
		return false;
	return a->stream == NULL || list_matches(w->streams, a->stream);
}

static int
alert_detail(struct buf *b, const struct config *cfg, const struct alert *a, struct xerr *err)
{
	struct jw w;

	jw_init(&w, b);
	jw_obj(&w);
	jw_kstr(&w, "rule", a->rule);
	jw_kstr(&w, "severity", severity_name(a->severity));
	jw_kstr(&w, "state", a->state != NULL ? a->state : "notice");
	jw_kstr(&w, "mode", a->mode == ALERT_LIVE ? "LIVE" : "TEST");
	jw_kstr(&w, "host", a->host);
	jw_kstr(&w, "title", a->title);
	jw_key(&w, "lines");
	jw_arr(&w);
	for (size_t i = 0; i < a->nlines; i++) {
		jw_arr(&w);
		jw_str(&w, a->lines[i].text);
		jw_int(&w, a->lines[i].count);
		jw_arr_end(&w);
	}
	jw_arr_end(&w);
	jw_kstr(&w, "command", a->command);
	jw_key(&w, "webhooks");
	jw_arr(&w);
	for (size_t i = 0; i < cfg->nwebhooks; i++) {
		char id[40];

		if (!outbox_wants(&cfg->webhooks[i], a))
			continue;
		if (notify_new_id(id, err) < 0)
			return -1;
		jw_arr(&w);
		jw_str(&w, cfg->webhooks[i].name);
		jw_str(&w, id);
		jw_arr_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	return 0;
}

int
outbox_raise(struct journal *j, const struct config *cfg, int64_t run, const struct alert *a,
    int64_t *ret_seq, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct buf b = BUF_INIT;
	char head[65];
	int rc = -1;

	if (alert_detail(&b, cfg, a, err) < 0)
		goto out;
	ev.kind = "alert";
	ev.ts = a->time_ms;
	ev.run = run;
	ev.stream = a->stream;
	ev.grp = a->group;
	ev.detail = buf_str(&b);
	if (journal_in_tx(j)) {
		if (journal_append(j, &ev, err) < 0)
			goto out;
	} else if (journal_begin(j, err) < 0 || journal_append_commit(j, &ev, err) < 0)
		goto out;
	rc = journal_head(j, head, ret_seq, err);
out:
	buf_free(&b);
	return rc;
}
