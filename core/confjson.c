/*
 * confjson.c: the config file's JSON values as the settings take them:
 * lists of non-empty strings, a key given twice refused, a value's type
 * named in messages; and the NULL-terminated string lists settings hold.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "conf.h"

char **
list_new(void)
{
	return xcalloc(1, sizeof(char *));
}

static size_t
list_len(char **l)
{
	size_t n = 0;

	while (l != NULL && l[n] != NULL)
		n++;
	return n;
}


char **
list_add(char **l, const char *s)
{
	size_t n = list_len(l);

	l = xrealloc(l, (n + 2) * sizeof(*l));
	l[n] = xstrdup(s);
	l[n + 1] = NULL;
	return l;
}

const char *
json_type_name(const cJSON *v)
{
	if (cJSON_IsString(v)) return "a string";
	if (cJSON_IsNumber(v)) return "a number";
	if (cJSON_IsBool(v)) return "true/false";
	if (cJSON_IsNull(v)) return "null";
	if (cJSON_IsArray(v)) return "a list";
	if (cJSON_IsObject(v)) return "an object";
	return "something else";
}

/* Reads a JSON list of non-empty strings into *ret (replacing it). */
int
set_json_list(char ***ret, const cJSON *v, const char *path, const char *key,
    struct xerr *err)
{
	const cJSON *it;
	char **l;

	if (!cJSON_IsArray(v))
		return xerr_set(err, XR_EUSAGE, "config '%s': '%s' must be a list of strings, not %s",
		    path, key, json_type_name(v));
	l = list_new();
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
			strv_free(l);
			return xerr_set(err, XR_EUSAGE,
			    "config '%s': '%s' must be a list of non-empty strings", path, key);
		}
		l = list_add(l, it->valuestring);
	}
	strv_free(*ret);
	*ret = l;
	return 0;
}

/* Refuses a key given twice in one JSON object (cJSON keeps both). */
int
check_duplicates(const cJSON *obj, const char *path, const char *ctx, struct xerr *err)
{
	for (const cJSON *a = obj->child; a != NULL; a = a->next)
		for (const cJSON *b = a->next; b != NULL; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return xerr_set(err, XR_EUSAGE, "config '%s': key '%s%s' is given twice",
				    path, ctx, a->string);
	return 0;
}
