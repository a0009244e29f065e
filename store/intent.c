/* intent.c: the write-ahead intent file beside the journal (see intent.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "intent.h"

struct intent_log {
	int fd;
	char *path;
};

int
intent_open(const char *journal_path, struct intent_log **ret, struct xerr *err)
{
	struct intent_log *l = xcalloc(1, sizeof(*l));

	l->path = xmalloc(strlen(journal_path) + 8);
	sprintf(l->path, "%s.intent", journal_path);
	l->fd = open(l->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		xerr_set(err, XR_EJOURNAL, "cannot open intent file '%s': %s", l->path,
		    strerror(errno));
		free(l->path);
		free(l);
		return -1;
	}
	*ret = l;
	return 0;
}

void
intent_close(struct intent_log *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	free(l->path);
	free(l);
}

int
intent_append(struct intent_log *l, const char *line, size_t len, struct xerr *err)
{
	struct buf b = BUF_INIT;
	size_t off = 0;

	/* One write(2) for the line and its newline, so a reader sees it whole or cut. */
	buf_add(&b, line, len);
	buf_addc(&b, '\n');
	while (off < b.len) {
		ssize_t n = write(l->fd, b.data + off, b.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			xerr_set(err, XR_EJOURNAL, "cannot write intent file '%s': %s", l->path,
			    strerror(errno));
			buf_free(&b);
			return -1;
		}
		off += (size_t)n;
	}
	buf_free(&b);
	return 0;
}

int
intent_each(struct intent_log *l, int (*fn)(void *ctx, const char *line), void *ctx,
    struct xerr *err)
{
	struct buf all = BUF_INIT;
	char chunk[65536];
	ssize_t n;
	off_t pos = 0;
	int rc = 0;

	while ((n = pread(l->fd, chunk, sizeof(chunk), pos)) > 0) {
		buf_add(&all, chunk, (size_t)n);
		pos += n;
	}
	if (n < 0) {
		buf_free(&all);
		return xerr_set(err, XR_EJOURNAL, "cannot read intent file '%s': %s", l->path,
		    strerror(errno));
	}
	char *p = all.data, *end = all.data + all.len;
	while (p != NULL && p < end && rc == 0) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;          /* cut short by a kill: never acted on */
		*nl = '\0';
		if (nl > p)
			rc = fn(ctx, p);
		p = nl + 1;
	}
	buf_free(&all);
	return rc;
}

int
intent_pending(struct intent_log *l, int *ret, struct xerr *err)
{
	struct stat sb;

	if (fstat(l->fd, &sb) < 0)
		return xerr_set(err, XR_EJOURNAL, "cannot read intent file '%s': %s", l->path,
		    strerror(errno));
	*ret = sb.st_size > 0;
	return 0;
}

int
intent_clear(struct intent_log *l, struct xerr *err)
{
	if (ftruncate(l->fd, 0) < 0)
		return xerr_set(err, XR_EJOURNAL, "cannot empty intent file '%s': %s", l->path,
		    strerror(errno));
	return 0;
}
