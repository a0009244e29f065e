/*
 * confhooks.c: the config file's "webhooks" list: each entry checked as
 * it is read (config_load fails on a bad one), and made ready to post to
 * when an alert is sent (config_webhook_open: the url_file and
 * secret_file read then, never repeated in a message).
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "../notify/notify.h"
#include "conf.h"

void
webhook_conf_free(struct config_webhook *w)
{
	free(w->name);
	if (w->url != NULL)
		memset(w->url, 0, strlen(w->url));
	free(w->url);
	free(w->url_file);
	free(w->format);
	if (w->secret != NULL)
		memset(w->secret, 0, strlen(w->secret));
	free(w->secret);
	free(w->secret_file);
	free(w->min_severity);
	free(w->ca_file);
	strv_free(w->rules);
	strv_free(w->streams);
}

/* One entry of "webhooks"; where is "config 'PATH': webhook N". */
static int
set_webhook(struct config_webhook *w, const cJSON *obj, const char *path, const char *where,
    struct xerr *err)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
		{"name", offsetof(struct config_webhook, name)},
		{"url", offsetof(struct config_webhook, url)},
		{"url_file", offsetof(struct config_webhook, url_file)},
		{"format", offsetof(struct config_webhook, format)},
		{"secret", offsetof(struct config_webhook, secret)},
		{"secret_file", offsetof(struct config_webhook, secret_file)},
		{"min_severity", offsetof(struct config_webhook, min_severity)},
		{"ca_file", offsetof(struct config_webhook, ca_file)},
	};
	const cJSON *it;

	if (!cJSON_IsObject(obj))
		return xerr_set(err, XR_EUSAGE, "%s must be an object, not %s", where,
		    json_type_name(obj));
	if (check_duplicates(obj, path, "webhooks[].", err) < 0)
		return -1;
	w->timeout_ms = 10000;
	cJSON_ArrayForEach(it, obj) {
		size_t k;
		for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			if (strcmp(strs[k].key, it->string) == 0)
				break;
		if (k < sizeof(strs) / sizeof(strs[0])) {
			char **dst = (char **)((char *)w + strs[k].off);
			/* A value that may be a secret is never repeated. */
			if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
				return xerr_set(err, XR_EUSAGE, "%s: '%s' must be a non-empty string",
				    where, it->string);
			*dst = xstrdup(it->valuestring);
		} else if (strcmp(it->string, "rules") == 0) {
			if (set_json_list(&w->rules, it, path, "webhooks[].rules", err) < 0)
				return -1;
		} else if (strcmp(it->string, "streams") == 0) {
			if (set_json_list(&w->streams, it, path, "webhooks[].streams", err) < 0)
				return -1;
		} else if (strcmp(it->string, "timeout") == 0) {
			int r = -1;
			if (cJSON_IsNumber(it) && it->valuedouble > 0 && it->valuedouble <= 3600) {
				w->timeout_ms = (int64_t)(it->valuedouble * 1000.0 + 0.5);
				r = 0;
			} else if (cJSON_IsString(it)) {
				r = parse_duration(it->valuestring, &w->timeout_ms);
			}
			if (r < 0 || w->timeout_ms <= 0 || w->timeout_ms > 3600 * 1000)
				return xerr_set(err, XR_EUSAGE, "%s: 'timeout' must be a duration "
				    "from 1ms to 1h, such as \"10s\"", where);
		} else {
			return xerr_set(err, XR_EUSAGE, "%s: unknown key '%s' (known: name, url, "
			    "url_file, format, secret, secret_file, min_severity, ca_file, timeout, "
			    "rules, streams)", where, it->string);
		}
	}
	if (w->name == NULL)
		return xerr_set(err, XR_EUSAGE, "%s: needs a 'name'", where);
	if ((w->url == NULL) == (w->url_file == NULL))
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): give one of 'url' and 'url_file'",
		    where, w->name);
	if (w->format == NULL || webhook_format_parse(w->format) < 0)
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): 'format' must be slack, discord, "
		    "teams or json", where, w->name);
	if (w->secret != NULL && w->secret_file != NULL)
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): give 'secret' or 'secret_file', "
		    "not both", where, w->name);
	if ((w->secret != NULL || w->secret_file != NULL) && strcmp(w->format, "json") != 0)
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): a secret signs json requests only; "
		    "%s webhooks carry their token in the URL", where, w->name, w->format);
	if (w->min_severity != NULL && severity_parse(w->min_severity) < 0)
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): 'min_severity' must be info, warning "
		    "or critical", where, w->name);
	if (w->rules == NULL)
		w->rules = list_new();
	if (w->streams == NULL)
		w->streams = list_new();
	return 0;
}

int
set_webhooks(struct config *c, const cJSON *v, const char *path, struct xerr *err)
{
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(v))
		return xerr_set(err, XR_EUSAGE, "config '%s': 'webhooks' must be a list, not %s",
		    path, json_type_name(v));
	cJSON_ArrayForEach(it, v) {
		char where[600];

		snprintf(where, sizeof(where), "config '%s': webhook %zu", path, n + 1);
		c->webhooks = xrealloc(c->webhooks, (n + 1) * sizeof(*c->webhooks));
		memset(&c->webhooks[n], 0, sizeof(c->webhooks[n]));
		c->nwebhooks = ++n;
		if (set_webhook(&c->webhooks[n - 1], it, path, where, err) < 0)
			return -1;
		for (size_t k = 0; k + 1 < n; k++)
			if (strcmp(c->webhooks[k].name, c->webhooks[n - 1].name) == 0)
				return xerr_set(err, XR_EUSAGE, "%s: the name '%s' is used twice",
				    where, c->webhooks[k].name);
	}
	return 0;
}

int
config_webhook_find(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nwebhooks; i++)
		if (strcmp(c->webhooks[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A secret read from a file named in webhook cw: "webhook 'NAME' KEY". */
static int
read_webhook_file(const struct config *c, const struct config_webhook *cw, const char *key,
    const char *file, char **ret, struct xerr *err)
{
	char what[300];
	char *path = config_relative(c, file);
	int r;

	snprintf(what, sizeof(what), "webhook '%s' %s", cw->name, key);
	r = read_password(path, what, false, ret, err);
	free(path);
	return r < 0 ? -1 : 0;
}

int
config_webhook_open(const struct config *c, size_t i, struct webhook *ret, struct xerr *err)
{
	const struct config_webhook *cw = &c->webhooks[i];
	struct webhook w;

	memset(&w, 0, sizeof(w));
	w.name = xstrdup(cw->name);
	w.format = (enum webhook_format)webhook_format_parse(cw->format);
	w.min_severity = cw->min_severity != NULL ?
	    (enum severity)severity_parse(cw->min_severity) : SEV_WARNING;
	w.timeout_ms = cw->timeout_ms;
	w.connect_timeout_ms = 5000;
	w.rules = list_new();
	for (char **p = cw->rules; p != NULL && *p != NULL; p++)
		w.rules = list_add(w.rules, *p);
	w.streams = list_new();
	for (char **p = cw->streams; p != NULL && *p != NULL; p++)
		w.streams = list_add(w.streams, *p);
	if (cw->ca_file != NULL)
		w.ca_file = config_relative(c, cw->ca_file);
	if (cw->url != NULL)
		w.url = xstrdup(cw->url);
	else if (read_webhook_file(c, cw, "url_file", cw->url_file, &w.url, err) < 0)
		goto fail;
	if (cw->secret != NULL)
		w.secret = xstrdup(cw->secret);
	else if (cw->secret_file != NULL &&
	    read_webhook_file(c, cw, "secret_file", cw->secret_file, &w.secret, err) < 0)
		goto fail;
	if (w.secret != NULL) {
		/* A whsec_ secret that is not base64 is found now, not at each post. */
		struct buf sig = BUF_INIT;
		struct xerr e = {0};
		int r = notify_sign(w.secret, "msg_0", 0, "", 0, &sig, &e);
		buf_free(&sig);
		if (r < 0) {
			xerr_set(err, XR_EUSAGE, "webhook '%s': %s", cw->name, e.msg);
			goto fail;
		}
	}
	if (strncasecmp(w.url, "https://", 8) != 0 && strncasecmp(w.url, "http://", 7) != 0) {
		xerr_set(err, XR_EUSAGE, "webhook '%s': the URL must start with https:// "
		    "(or http://)", cw->name);
		goto fail;
	}
	*ret = w;
	return 0;
fail:
	webhook_free(&w);
	return -1;
}
