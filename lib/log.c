/* log.c: building log lines for cmd/ to write. */
#include <inttypes.h>
#include <stdio.h>

#include "log.h"
#include "util.h"

void
ll_start(struct logline *l, enum log_level level, const char *tag, const char *word)
{
	l->level = level;
	l->tag = tag;
	l->word = word;
	l->n = 0;
}

void
ll_str(struct logline *l, const char *key, const char *val)
{
	if (l->n >= LOGLINE_MAX)
		return;
	l->key[l->n] = key;
	l->val[l->n] = val != NULL ? val : "";
	l->n++;
}

void
ll_int(struct logline *l, const char *key, int64_t val)
{
	if (l->n >= LOGLINE_MAX)
		return;
	snprintf(l->num[l->n], sizeof(l->num[l->n]), "%" PRId64, val);
	l->key[l->n] = key;
	l->val[l->n] = l->num[l->n];
	l->n++;
}

void
ll_dur(struct logline *l, const char *key, int64_t ms)
{
	if (l->n >= LOGLINE_MAX)
		return;
	format_duration(ms, l->num[l->n], sizeof(l->num[l->n]));
	l->key[l->n] = key;
	l->val[l->n] = l->num[l->n];
	l->n++;
}

void
ll_emit(const struct logger *lg, const struct logline *l)
{
	if (lg != NULL && lg->emit != NULL)
		lg->emit(lg->ctx, l);
}
