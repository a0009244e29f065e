/* mode.c: TEST or LIVE, from explicit rules only (see mode.h). */
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mode.h"

static bool
in_list(char *const *list, const char *pair)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, pair) == 0)
			return true;
	return false;
}

/* Turns one env-file line into "KEY=VALUE" in out; false for none. */
static bool
env_pair(char *line, char *out, size_t outlen)
{
	char *p = line, *eq, *v, *end;

	line[strcspn(line, "\r\n")] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || *p == '\0')
		return false;
	if (strncmp(p, "export ", 7) == 0)
		p += 7;
	while (*p == ' ' || *p == '\t')
		p++;
	eq = strchr(p, '=');
	if (eq == NULL || eq == p)
		return false;
	*eq = '\0';
	for (end = eq; end > p && (end[-1] == ' ' || end[-1] == '\t'); end--)
		end[-1] = '\0';
	v = eq + 1;
	size_t vl = strlen(v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
	if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
		v[vl - 1] = '\0';
		v++;
	}
	size_t kl = strlen(p), vlen = strlen(v);
	if (kl + 1 + vlen + 1 > outlen)
		return false;
	memcpy(out, p, kl);
	out[kl] = '=';
	memcpy(out + kl + 1, v, vlen + 1);
	return true;
}

int
mode_resolve(const struct config *c, struct mode *ret, struct xerr *err)
{
	const char *env = getenv("XRECOVER_MODE");
	const char *live_hit = NULL;
	char live_pair[1024] = "", live_file[1024] = "";

	if (env != NULL && env[0] != '\0') {
		if (strcasecmp(env, "LIVE") == 0)
			ret->name = "LIVE";
		else if (strcasecmp(env, "TEST") == 0)
			ret->name = "TEST";
		else
			return xerr_set(err, XR_EUSAGE, "XRECOVER_MODE: must be TEST or LIVE, not '%s'", env);
		snprintf(ret->why, sizeof(ret->why), "XRECOVER_MODE=%s", ret->name);
		return 0;
	}
	for (char **g = c->mode_files; g != NULL && *g != NULL; g++) {
		glob_t gl;
		int grc = glob(*g, 0, NULL, &gl);

		if (grc == GLOB_NOMATCH)
			continue;
		if (grc != 0)
			return xerr_set(err, XR_EUSAGE, "mode.files: cannot expand '%s'", *g);
		for (size_t i = 0; i < gl.gl_pathc; i++) {
			const char *path = gl.gl_pathv[i];
			FILE *f = fopen(path, "re");
			char line[1024], pair[1024];

			if (f == NULL) {
				xerr_set(err, XR_EUSAGE, "mode.files: cannot read '%s': %s", path,
				    strerror(errno));
				globfree(&gl);
				return -1;
			}
			while (fgets(line, sizeof(line), f) != NULL) {
				if (!env_pair(line, pair, sizeof(pair)))
					continue;
				if (in_list(c->test_when, pair)) {
					ret->name = "TEST";
					snprintf(ret->why, sizeof(ret->why),
					    "%.200s in %.200s matches mode.test_when", pair, path);
					fclose(f);
					globfree(&gl);
					return 0;
				}
				if (live_hit == NULL && in_list(c->live_when, pair)) {
					snprintf(live_pair, sizeof(live_pair), "%s", pair);
					snprintf(live_file, sizeof(live_file), "%.1000s", path);
					live_hit = live_pair;
				}
			}
			fclose(f);
		}
		globfree(&gl);
	}
	if (live_hit != NULL) {
		ret->name = "LIVE";
		snprintf(ret->why, sizeof(ret->why), "%.200s in %.200s matches mode.live_when",
		    live_pair, live_file);
		return 0;
	}
	ret->name = "TEST";
	snprintf(ret->why, sizeof(ret->why), "no rule says LIVE");
	return 0;
}
