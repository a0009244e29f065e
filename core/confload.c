/*
 * confload.c: config_load(), the one place that decides where each
 * setting comes from: the built-in defaults, then the JSON config file,
 * then the environment, then the command-line flags, each beating the
 * one before; then the checks across settings.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/buf.h"
#include "conf.h"

#define DEFAULT_CONFIG "/etc/xrecover/config.json"

/* Line and column of byte offset off in text, for parse errors. */
static void
line_col(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int
load_file(struct config *c, const char *path, struct xerr *err)
{
	FILE *f = fopen(path, "re");
	struct buf text = BUF_INIT;
	char chunk[4096];
	size_t n;
	cJSON *root = NULL;
	const char *end = NULL;
	int rc = -1;

	if (f == NULL)
		return xerr_set(err, XR_EUSAGE, "cannot read config '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&text, chunk, n);
	if (ferror(f)) {
		xerr_set(err, XR_EUSAGE, "cannot read config '%s': %s", path, strerror(errno));
		fclose(f);
		buf_free(&text);
		return -1;
	}
	fclose(f);
	if (memchr(buf_str(&text), '\0', text.len) != NULL) {
		xerr_set(err, XR_EUSAGE, "config '%s': contains a NUL byte; not a JSON text", path);
		goto out;
	}
	/* The length counts the terminating NUL, which cJSON then requires. */
	root = cJSON_ParseWithLengthOpts(buf_str(&text), text.len + 1, &end, true);
	if (root == NULL) {
		int line, col;
		size_t off = end != NULL && end >= text.data ? (size_t)(end - text.data) : 0;
		line_col(buf_str(&text), off, &line, &col);
		xerr_set(err, XR_EUSAGE, "config '%s': malformed JSON at line %d, column %d",
		    path, line, col);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		xerr_set(err, XR_EUSAGE, "config '%s': must be a JSON object, not %s", path,
		    json_type_name(root));
		goto out;
	}
	if (check_duplicates(root, path, "", err) < 0)
		goto out;
	for (const cJSON *it = root->child; it != NULL; it = it->next) {
		const struct setting *s = find_setting(it->string);
		if (s == NULL || !s->in_file) {
			xerr_set(err, XR_EUSAGE, "config '%s': unknown key '%s'", path, it->string);
			goto out;
		}
		if (set_json(c, s, it, path, err) < 0)
			goto out;
		if (s->off == F(redis_url))
			c->redis_from = FROM_FILE;
	}
	c->config_path = xstrdup(path);
	rc = 0;
out:
	cJSON_Delete(root);
	buf_free(&text);
	return rc;
}

int
config_load(const char *config_file, const struct config_flag *flags, size_t nflags,
    struct config *ret, struct xerr *err)
{
	struct config c;
	const char *path = config_file;
	struct stat sb;

	set_defaults(&c);
	if (path == NULL) {
		const char *e = getenv("XRECOVER_CONFIG");
		if (e != NULL && e[0] != '\0')
			path = e;
		else if (stat(DEFAULT_CONFIG, &sb) == 0)
			path = DEFAULT_CONFIG;
	}
	if (path != NULL && load_file(&c, path, err) < 0)
		goto fail;

	for (size_t i = 0; i < nsettings; i++) {
		const struct setting *s = &settings[i];
		const char *names[2] = {s->env, s->env2};
		for (int k = 0; k < 2; k++) {
			const char *v = names[k] != NULL ? getenv(names[k]) : NULL;
			if (v == NULL || v[0] == '\0')
				continue;
			if (set_text(&c, s, v, names[k], false, err) < 0)
				goto fail;
			if (s->off == F(redis_url))
				c.redis_from = FROM_ENV;
			break;
		}
	}

	for (size_t i = 0; i < nflags; i++) {
		const struct setting *s = find_setting(flags[i].key);
		bool append = false;

		if (s == NULL) {
			xerr_set(err, XR_EUSAGE, "%s: not a setting", flags[i].spelling);
			goto fail;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(flags[k].key, flags[i].key) == 0)
				append = true;
		if (set_text(&c, s, flags[i].value != NULL ? flags[i].value : "",
		    flags[i].spelling, append, err) < 0)
			goto fail;
		if (s->off == F(redis_url))
			c.redis_from = FROM_FLAG;
		/* --claim-idle applies to every group. */
		if (s->type == S_IDLE)
			idle_groups_free(&c);
	}
	if (c.claim_idle_floor_ms > c.claim_idle_ceiling_ms) {
		xerr_set(err, XR_EUSAGE, "claim_idle_floor (%lld ms) is above claim_idle_ceiling "
		    "(%lld ms)", (long long)c.claim_idle_floor_ms, (long long)c.claim_idle_ceiling_ms);
		goto fail;
	}
	if (strcmp(c.action, "hold") != 0 && strcmp(c.action, "redeliver") != 0 &&
	    strcmp(c.action, "hand-off") != 0 && strcmp(c.action, "dead-letter") != 0) {
		xerr_set(err, XR_EUSAGE, "action '%s': must be hold, redeliver, hand-off or dead-letter",
		    c.action);
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	config_free(&c);
	return -1;
}
