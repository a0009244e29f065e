/*
 * record.c: a record of the intent file read back for reconciliation:
 * its names (plain or base64), the items of its entry arrays, and
 * whether a stream or group Redis refused is gone (see record.h).
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "record.h"

/*
 * A name from the intent file (intent_name()): a string, or
 * {"base64":"..."} for one that is not UTF-8.  NULL if it is neither.  A
 * decoded name lives until names_free().
 */
const char *
name_of(struct rx *rx, const cJSON *v)
{
	const cJSON *b;
	struct buf d = BUF_INIT;

	if (cJSON_IsString(v))
		return v->valuestring;
	b = cJSON_GetObjectItemCaseSensitive(v, "base64");
	if (!cJSON_IsString(b) || base64_decode(b->valuestring, strlen(b->valuestring), &d) < 0 ||
	    d.data == NULL) {
		buf_free(&d);
		return NULL;
	}
	rx->names = xrealloc(rx->names, (rx->nnames + 1) * sizeof(*rx->names));
	rx->names[rx->nnames++] = d.data;       /* the buffer's memory, now the list's */
	return d.data;
}

void
names_free(struct rx *rx)
{
	for (size_t i = 0; i < rx->nnames; i++)
		free(rx->names[i]);
	free(rx->names);
	rx->names = NULL;
	rx->nnames = 0;
}

/*
 * After Redis refused a command about stream/group (NOGROUP, or no such
 * key): whether the whole stream is gone, or only the group (destroyed,
 * with its pending list).  Told by asking Redis again, not by the error's
 * text: a refusal of another kind (NOPERM) finds the group still there.
 * Returns -1, with the refusal (or the error of the asking) in rx->err,
 * when neither is gone: the record waits.
 */
int
group_gone(struct rx *rx, const char *stream, const char *group, enum gone *ret)
{
	struct xerr terr = {0};
	struct group_info *gs = NULL;
	size_t ng = 0;
	char type[16];
	bool found = false;

	*ret = GONE_NOT;
	if (rx->err->code != XR_EFAIL)
		return -1;
	if (redis_key_type(rx->p->rc, stream, type, &terr) < 0) {
		if (terr.code != XR_EFAIL)
			*rx->err = terr;        /* Redis went away; else the first refusal says more */
		return -1;
	}
	if (strcmp(type, "none") == 0) {
		*ret = GONE_STREAM;
		return 0;
	}
	if (strcmp(type, "stream") != 0)
		return -1;
	if (redis_groups(rx->p->rc, stream, &gs, &ng, &terr) < 0) {
		if (terr.code != XR_EFAIL)
			*rx->err = terr;
		return -1;
	}
	for (size_t i = 0; i < ng; i++)
		found = found || strcmp(gs[i].name, group) == 0;
	group_info_free(gs, ng);
	if (found)
		return -1;
	*ret = GONE_GROUP;
	return 0;
}

/* Item i of an intent entry array: a name, a plain string, an ID. */
const char *
item_name(struct rx *rx, const cJSON *a, int i)
{
	return name_of(rx, cJSON_GetArrayItem(a, i));
}

const char *
item_str(const cJSON *a, int i)
{
	const cJSON *v = cJSON_GetArrayItem(a, i);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool
item_id(const cJSON *a, int i, struct entry_id *ret)
{
	const char *s = item_str(a, i);
	return s != NULL && entry_id_parse(s, strlen(s), ret) == 0;
}
