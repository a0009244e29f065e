/*
 * log.h: how libraries hand log lines to cmd/, which alone writes them.
 *
 * A line is a level, a tag ("RECOVER", "CLEAN", "SUMMARY", ...), an
 * optional leading word ("XCLAIM") and key=value pairs in order.  cmd/
 * turns it into the logfmt line of docs/run.md, "Log lines":
 *
 *   2026-01-17T10:05:28Z [RECOVER] XCLAIM claimed=1 stream=orders ...
 */
#ifndef XR_LOG_H
#define XR_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

#define LOGLINE_MAX 24

struct logline {
	enum log_level level;
	const char *tag;
	const char *word;                   /* NULL for none */
	const char *key[LOGLINE_MAX];
	const char *val[LOGLINE_MAX];       /* point into num[] or the caller's strings */
	char num[LOGLINE_MAX][24];
	size_t n;
};

struct logger {
	void (*emit)(void *ctx, const struct logline *l);
	void *ctx;
};

void ll_start(struct logline *l, enum log_level level, const char *tag, const char *word);
void ll_str(struct logline *l, const char *key, const char *val);
void ll_int(struct logline *l, const char *key, int64_t val);
void ll_dur(struct logline *l, const char *key, int64_t ms);    /* "60s" */
void ll_emit(const struct logger *lg, const struct logline *l);

#endif
