/* alert.c: test messages to the configured webhooks. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "alert.h"

int
alert_test(const struct config *c, const char *only, const char *stream, const char *group,
    struct alert_outcome **ret, size_t *ret_n, struct xerr *err)
{
	struct alert_outcome *out;
	struct alert_line line;
	struct alert a;
	char host[256] = "";
	size_t n = 0;
	int pick = -1;

	if (c->nwebhooks == 0)
		return xerr_set(err, XR_EUSAGE, "no webhooks configured (see \"webhooks\" in "
		    "docs/alerts.md)");
	if (only != NULL && (pick = config_webhook_find(c, only)) < 0)
		return xerr_set(err, XR_EUSAGE, "no webhook named '%s' in the config", only);
	if (notify_global_init(err) < 0)
		return -1;

	gethostname(host, sizeof(host) - 1);
	line.text = "webhooks configured";
	line.count = (int64_t)c->nwebhooks;
	memset(&a, 0, sizeof(a));
	a.mode = ALERT_TEST;
	a.host = host;
	a.stream = stream;
	a.group = group;
	a.severity = SEV_INFO;
	a.rule = "test";
	a.title = "test message: this webhook works";
	a.lines = &line;
	a.nlines = 1;
	a.command = "xrecover test-alert";
	a.time_ms = now_ms();

	out = xcalloc(c->nwebhooks, sizeof(*out));
	for (size_t i = 0; i < c->nwebhooks; i++) {
		struct webhook w;
		struct notify_msg m;

		if (pick >= 0 && (size_t)pick != i)
			continue;
		if (config_webhook_open(c, i, &w, err) < 0)
			goto fail;
		if (notify_render(&w, &a, NULL, &m, err) < 0) {
			webhook_free(&w);
			goto fail;
		}
		out[n].webhook = xstrdup(w.name);
		out[n].format = w.format;
		memcpy(out[n].id, m.id, sizeof(out[n].id));
		notify_post(&w, &m, &out[n].r);
		n++;
		notify_msg_free(&m);
		webhook_free(&w);
	}
	notify_global_cleanup();
	*ret = out;
	*ret_n = n;
	return 0;
fail:
	notify_global_cleanup();
	alert_outcomes_free(out, n);
	return -1;
}

void
alert_outcomes_free(struct alert_outcome *o, size_t n)
{
	for (size_t i = 0; o != NULL && i < n; i++)
		free(o[i].webhook);
	free(o);
}
