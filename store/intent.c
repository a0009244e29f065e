/* intent.c: the write-ahead intent file beside the journal (see intent.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "intent.h"
#include "../lib/payload.h"

struct intent_log {
	int fd;
	char *path;
	off_t kept;                 /* the first bytes, earlier commands' records */
};

static off_t
file_size(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 ? sb.st_size : 0;
}

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
	l->kept = file_size(l->fd);
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

/* Replaces the file's content with the n bytes at p: a new file, renamed over it. */
static int
intent_replace(struct intent_log *l, const char *p, size_t n, struct xerr *err)
{
	char *tmp = xmalloc(strlen(l->path) + 8);
	size_t off = 0;
	int fd;

	sprintf(tmp, "%s.new", l->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, l->path) < 0)
		goto fail;
	fd = open(l->path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	close(l->fd);
	l->fd = fd;
	free(tmp);
	return 0;
fail:
	xerr_set(err, XR_EJOURNAL, "cannot rewrite intent file '%s': %s", l->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

/* The whole file at fd into all (path names it in the error). */
static int
read_all(int fd, const char *path, struct buf *all, struct xerr *err)
{
	char chunk[65536];
	ssize_t n;
	off_t pos = 0;

	while ((n = pread(fd, chunk, sizeof(chunk), pos)) > 0) {
		buf_add(all, chunk, (size_t)n);
		pos += n;
	}
	if (n < 0)
		return xerr_set(err, XR_EJOURNAL, "cannot read intent file '%s': %s", path,
		    strerror(errno));
	return 0;
}

int
intent_peek(const char *journal_path, void (*fn)(void *ctx, const char *line), void *ctx,
    struct xerr *err)
{
	char *path = xmalloc(strlen(journal_path) + 8);
	struct buf all = BUF_INIT;
	int fd, rc;

	sprintf(path, "%s.intent", journal_path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? 0 : xerr_set(err, XR_EJOURNAL,
		    "cannot read intent file '%s': %s", path, strerror(errno));
		free(path);
		return rc;
	}
	rc = read_all(fd, path, &all, err);
	close(fd);
	for (char *p = all.data, *end = all.data + all.len; rc == 0 && p != NULL && p < end; ) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;              /* cut short by a kill: never acted on */
		*nl = '\0';
		if (nl > p)
			fn(ctx, p);
		p = nl + 1;
	}
	buf_free(&all);
	free(path);
	return rc;
}

int
intent_each(struct intent_log *l, int (*fn)(void *ctx, const char *line), void *ctx,
    struct xerr *err)
{
	struct buf all = BUF_INIT, keep = BUF_INIT;
	int rc = 0;
	bool dropped = false;

	if (read_all(l->fd, l->path, &all, err) < 0) {
		buf_free(&all);
		return -1;
	}
	char *p = all.data, *end = all.data + all.len;
	while (p != NULL && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			dropped = true;     /* cut short by a kill: never acted on */
			break;
		}
		*nl = '\0';
		int r = INTENT_DONE;
		if (nl > p && rc == 0)
			r = fn(ctx, p);
		if (r < 0)
			rc = -1;            /* this one and the rest stay */
		if (nl > p && (rc < 0 || r == INTENT_KEEP)) {
			buf_add(&keep, p, (size_t)(nl - p));
			buf_addc(&keep, '\n');
		} else {
			dropped = true;
		}
		p = nl + 1;
	}
	buf_free(&all);
	if (dropped) {
		struct xerr werr;
		if (intent_replace(l, keep.data, keep.len, &werr) < 0 && rc == 0) {
			*err = werr;
			rc = -1;
		}
	}
	l->kept = file_size(l->fd);
	buf_free(&keep);
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
	if (ftruncate(l->fd, l->kept) < 0)
		return xerr_set(err, XR_EJOURNAL, "cannot empty intent file '%s': %s", l->path,
		    strerror(errno));
	return 0;
}

void
intent_name(struct jw *w, const char *name)
{
	size_t n = strlen(name);

	if (utf8_valid(name, n)) {
		jw_strn(w, name, n);
		return;
	}
	struct buf b = BUF_INIT;
	base64_encode(name, n, &b);
	jw_obj(w);
	jw_kstr(w, "base64", buf_str(&b));
	jw_obj_end(w);
	buf_free(&b);
}

void
intent_kname(struct jw *w, const char *key, const char *name)
{
	jw_key(w, key);
	intent_name(w, name);
}
