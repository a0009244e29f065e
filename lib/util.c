/* util.c: durations, UTC times, entry IDs, UTF-8 checks. */
#include <ctype.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
parse_int(const char *s, long long min, long long max, long long *ret)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

int
parse_duration(const char *s, int64_t *ret_ms)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
		{"d", 86400000},
	};
	const char *p = s;
	int64_t total = 0;
	bool bare = true, too_long = false;

	if (s == NULL || *s == '\0')
		return -1;
	for (const char *q = s; *q != '\0'; q++)
		if (!isdigit((unsigned char)*q))
			bare = false;
	while (*p != '\0') {
		char *end;
		unsigned long long n;
		int64_t mult = bare ? 1000 : 0;
		size_t ulen = 0;

		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		n = strtoull(p, &end, 10);
		if (errno == ERANGE || n > (uint64_t)DURATION_MAX_MS)
			too_long = true;
		else if (errno != 0)
			return -1;
		p = end;
		while (isalpha((unsigned char)p[ulen]))
			ulen++;
		for (size_t i = 0; !bare && i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].unit) == ulen &&
			    strncmp(p, units[i].unit, ulen) == 0)
				mult = units[i].ms;
		}
		if (mult == 0)
			return -1;
		if (n > (uint64_t)(DURATION_MAX_MS / mult)) {
			too_long = true;
		} else {
			/* Both terms are at most DURATION_MAX_MS: no overflow. */
			total += (int64_t)n * mult;
			if (total > DURATION_MAX_MS) {
				too_long = true;
				total = 0;
			}
		}
		p += ulen;
	}
	if (too_long)
		return -2;
	*ret_ms = total;
	return 0;
}

void
format_duration(int64_t ms, char *out, size_t outlen)
{
	if (ms < 0) {
		snprintf(out, outlen, "-");
		return;
	}
	if (ms % 1000 != 0 || ms == 0) {
		snprintf(out, outlen, "%" PRId64 "ms", ms);
		return;
	}
	int64_t s = ms / 1000;
	if (s < 60 || s % 60 != 0) {
		if (s < 3600) {
			if (s < 60)
				snprintf(out, outlen, "%" PRId64 "s", s);
			else
				snprintf(out, outlen, "%" PRId64 "m%" PRId64 "s",
				    s / 60, s % 60);
		} else {
			snprintf(out, outlen, "%" PRId64 "h%" PRId64 "m%" PRId64 "s",
			    s / 3600, s / 60 % 60, s % 60);
		}
		return;
	}
	int64_t m = s / 60;
	if (m < 60)
		snprintf(out, outlen, "%" PRId64 "m", m);
	else if (m % 60 == 0)
		snprintf(out, outlen, "%" PRId64 "h", m / 60);
	else
		snprintf(out, outlen, "%" PRId64 "h%" PRId64 "m", m / 60, m % 60);
}

void
format_age(int64_t ms, char *out, size_t outlen)
{
	if (ms < 0)
		snprintf(out, outlen, "-");
	else if (ms < 1000)
		snprintf(out, outlen, "%" PRId64 "ms", ms);
	else if (ms < 60000)
		snprintf(out, outlen, "%" PRId64 ".%" PRId64 "s", ms / 1000, ms % 1000 / 100);
	else if (ms < 3600000)
		snprintf(out, outlen, "%" PRId64 "m%" PRId64 "s", ms / 60000, ms / 1000 % 60);
	else if (ms < 86400000)
		snprintf(out, outlen, "%" PRId64 "h%" PRId64 "m", ms / 3600000, ms / 60000 % 60);
	else
		snprintf(out, outlen, "%" PRId64 "d%" PRId64 "h", ms / 86400000, ms / 3600000 % 24);
}

void
format_utc(int64_t ms, bool with_ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (with_ms)
		snprintf(out, outlen, "%s.%03dZ", base, (int)(ms - (int64_t)t * 1000));
	else
		snprintf(out, outlen, "%sZ", base);
}

int
parse_time(const char *s, int64_t now, int64_t *ret_ms)
{
	struct tm tm;
	int64_t ago;
	const char *end;

	if (s == NULL || *s == '\0')
		return -1;
	if (parse_duration(s, &ago) == 0) {
		*ret_ms = now - ago;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL)
		return -1;
	if (*end == 'T' || *end == ' ') {
		const char *e2 = strptime(end + 1, "%H:%M:%S", &tm);
		if (e2 == NULL) {
			tm.tm_sec = 0;
			e2 = strptime(end + 1, "%H:%M", &tm);
		}
		if (e2 == NULL)
			return -1;
		end = e2;
		if (*end == 'Z')
			end++;
	}
	if (*end != '\0')
		return -1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ret_ms = (int64_t)t * 1000;
	return 0;
}

/* Reads the decimal number that starts s[*at..n); -1 if none, or if it overflows. */
static int
parse_u64(const char *s, size_t n, size_t *at, uint64_t *ret)
{
	size_t i = *at, start = *at;
	uint64_t v = 0;

	for (; i < n && (unsigned)(s[i] - '0') < 10; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		/* Nineteen digits always fit; only a twentieth can overflow. */
		if (i - start >= 19 && v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (i == start)
		return -1;
	*at = i;
	*ret = v;
	return 0;
}

int
entry_id_parse(const char *s, size_t n, struct entry_id *ret)
{
	size_t i = 0;
	uint64_t ms, seq = 0;

	if (parse_u64(s, n, &i, &ms) < 0)
		return -1;
	if (i < n && (s[i] != '-' || (i++, parse_u64(s, n, &i, &seq)) < 0))
		return -1;
	if (i != n)
		return -1;
	ret->ms = ms;
	ret->seq = seq;
	return 0;
}

/* Writes v in decimal at out; returns the end. */
static char *
put_u64(char *out, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*out++ = tmp[--n];
	return out;
}

void
entry_id_format(struct entry_id id, char *out, size_t outlen)
{
	char tmp[ENTRY_ID_STRLEN];
	char *p = put_u64(tmp, id.ms);
	size_t n;

	*p++ = '-';
	p = put_u64(p, id.seq);
	n = (size_t)(p - tmp);
	if (outlen == 0)
		return;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, tmp, n);
	out[n] = '\0';
}

int
entry_id_cmp(struct entry_id a, struct entry_id b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	if (a.seq != b.seq)
		return a.seq < b.seq ? -1 : 1;
	return 0;
}

struct entry_id
entry_id_next(struct entry_id id)
{
	if (id.seq == UINT64_MAX) {
		id.ms++;
		id.seq = 0;
	} else {
		id.seq++;
	}
	return id;
}

size_t
utf8_seq(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

uint32_t
utf8_cp(const char *s, size_t len)
{
	uint32_t cp = (unsigned char)s[0] & (0xff >> (len + 1));

	for (size_t k = 1; k < len; k++)
		cp = cp << 6 | ((unsigned char)s[k] & 0x3f);
	return cp;
}

bool
cp_hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

bool
utf8_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		size_t len = utf8_seq(s + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	for (volatile char *p = s; *p != '\0'; p++)
		*p = '\0';
	free(s);
}

void
sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	if (ms > 0)
		nanosleep(&ts, NULL);
}

void
failpoint(const char *name)
{
	static const char *fp;
	static size_t fplen;
	static long at = 1, hits, pause_ms;
	static bool init, stop;

	if (!init) {
		init = true;
		fp = getenv("XRECOVER_FAILPOINT");
		if (fp != NULL) {
			const char *colon = strchr(fp, ':');
			fplen = colon != NULL ? (size_t)(colon - fp) : strlen(fp);
			if (colon != NULL && colon[1] >= '0' && colon[1] <= '9')
				at = atol(colon + 1);
			stop = colon != NULL && strstr(colon, ":stop") != NULL;
			const char *pz = colon != NULL ? strstr(colon, ":pause=") : NULL;
			if (pz != NULL)
				pause_ms = atol(pz + 7);
		}
	}
	if (fp == NULL || strlen(name) != fplen || strncmp(fp, name, fplen) != 0)
		return;
	if (++hits >= at && pause_ms > 0)
		sleep_ms(pause_ms);
	else if (hits == at && stop)
		raise(SIGSTOP);         /* the test acts, then sends SIGCONT */
	else if (hits >= at && !stop)
		raise(SIGKILL);
}

int
file_replace(const char *path, const void *data, size_t len, unsigned mode)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 8);
	const char *p = data;
	int fd, rc = -1, saved;

	if (tmp == NULL)
		return -1;
	/* mkostemp's template: path, a dot, six X that it replaces */
	memcpy(tmp, path, plen);
	tmp[plen] = '.';
	memset(tmp + plen + 1, 'X', 6);
	tmp[plen + 7] = '\0';
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	if (fchmod(fd, (mode_t)mode) < 0)
		goto out;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
	free(tmp);
	errno = saved;
	return rc;
}

void
sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}
