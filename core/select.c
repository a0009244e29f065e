/* select.c: the streams and groups a command works on. */
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "select.h"

int
select_streams(struct rconn *rc, const struct config *cfg, bool all_by_default,
    struct selected **ret, size_t *ret_n, struct xerr *err)
{
	const char *match = cfg->match;
	struct selected *s = NULL;
	size_t n = 0;
	char **scanned = NULL;
	size_t nscanned = 0;

	if (cfg->streams[0] == NULL && match == NULL) {
		if (!all_by_default)
			return xerr_set(err, XR_EUSAGE,
			    "no streams selected: give --stream NAME or --match GLOB, or set "
			    "\"streams\" or \"match\" in the config");
		match = "*";
	}
	for (char **p = cfg->streams; *p != NULL; p++) {
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup = dup || strcmp(s[i].name, *p) == 0;
		if (dup)
			continue;
		s = xrealloc(s, (n + 1) * sizeof(*s));
		s[n].name = xstrdup(*p);
		s[n].named = true;
		n++;
	}
	if (match != NULL) {
		if (redis_scan_streams(rc, match, &scanned, &nscanned, err) < 0) {
			selected_free(s, n);
			return -1;
		}
		for (size_t k = 0; k < nscanned; k++) {
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup = dup || strcmp(s[i].name, scanned[k]) == 0;
			if (dup)
				continue;
			s = xrealloc(s, (n + 1) * sizeof(*s));
			s[n].name = xstrdup(scanned[k]);
			s[n].named = false;
			n++;
		}
		strv_free(scanned);
	}
	*ret = s;
	*ret_n = n;
	return 0;
}

void
selected_free(struct selected *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].name);
	free(s);
}

bool
group_selected(const struct config *cfg, const char *name)
{
	if (cfg->groups[0] == NULL)
		return true;
	for (char **g = cfg->groups; *g != NULL; g++)
		if (strcmp(*g, name) == 0)
			return true;
	return false;
}
