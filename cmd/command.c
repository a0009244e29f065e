/*
 * command.c: what every command calls on its context (see command.h): its
 * own options, and failing with a message.  main.c holds the table.
 */
#include <string.h>

#include "../lib/buf.h"
#include "command.h"

const char *
ctx_opt(const struct ctx *c, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < c->nopts; i++)
		if (strcmp(c->opts[i].name, name) == 0)
			v = c->opts[i].value;
	return v;
}

bool
ctx_flag(const struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->nopts; i++)
		if (strcmp(c->opts[i].name, name) == 0)
			return true;
	return false;
}

int
fail(struct ctx *c, const struct xerr *err)
{
	int code = err->code != 0 ? err->code : XR_EFAIL;

	out_error(&c->out, err->msg);
	if (c->cfg.json)
		out_json_failure(&c->out, err->msg, code);
	return code;
}

int
parse_stream_id(const char *what, const char *s, char **ret_stream, struct entry_id *ret_id,
    struct xerr *err)
{
	const char *slash = strrchr(s, '/');

	if (slash == NULL || slash == s || entry_id_parse(slash + 1, strlen(slash + 1), ret_id) < 0)
		return xerr_set(err, XR_EUSAGE, "%s '%s': expected STREAM/ID, for example "
		    "orders/1700000000000-0", what, s);
	*ret_stream = xstrndup(s, (size_t)(slash - s));
	return 0;
}
