/*
 * util.h: small pieces of text and time that several parts share:
 * durations ("1500ms", "90s", "5m", "1h", "90"), UTC timestamps, stream
 * entry IDs, UTF-8 checks.
 */
#ifndef XR_UTIL_H
#define XR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock, Unix milliseconds. */
int64_t now_ms(void);
/* Monotonic clock in milliseconds, for timeouts and rates. */
int64_t mono_ms(void);
/* Sleeps ms milliseconds (nothing when ms <= 0); a signal cuts it short. */
void sleep_ms(int64_t ms);

/* Frees a NULL-terminated array of strings (NULL is fine). */
void strv_free(char **v);
/* Zeroes a secret (a password, a token, a URL with one) and frees it (NULL is fine). */
void secret_free(char *s);

/*
 * The longest duration there is: 36500 days (about a century).  Every
 * timeout, deadline and age computed from a duration stays far inside
 * int64_t milliseconds.
 */
#define DURATION_MAX_MS (36500LL * 86400000)
#define DURATION_MAX_TEXT "36500d"

/*
 * Parses a duration: one or more <number><unit> with units ms, s, m, h, d,
 * or a bare number of seconds.  OUT: *ret_ms on success.  Returns 0; -1
 * when s is not a duration; -2 when it is longer than DURATION_MAX_MS
 * (nothing is written then).
 */
int parse_duration(const char *s, int64_t *ret_ms);
/* Formats ms the way parse_duration reads it back: "1500ms", "90s", "2h3m". */
void format_duration(int64_t ms, char *out, size_t outlen);

/* A rounded duration for people: "850ms", "12.3s", "4m5s", "3h4m", "2d3h". */
void format_age(int64_t ms, char *out, size_t outlen);

/* "2026-01-17T10:05:28Z" (with_ms adds ".123"); out needs 32 bytes. */
void format_utc(int64_t ms, bool with_ms, char *out, size_t outlen);
/*
 * Parses a time given on the command line: an RFC 3339 UTC time
 * (2026-01-17T10:05:28Z, seconds and Z optional), a date (2026-01-17, its
 * midnight UTC), or a duration meaning that long ago ("2h").
 */
int parse_time(const char *s, int64_t now, int64_t *ret_ms);

/* A stream entry ID, <ms>-<seq>. */
struct entry_id {
	uint64_t ms;
	uint64_t seq;
};
#define ENTRY_ID_STRLEN 44   /* two 20-digit numbers, '-', NUL */

int entry_id_parse(const char *s, size_t n, struct entry_id *ret);
void entry_id_format(struct entry_id id, char *out, size_t outlen);
int entry_id_cmp(struct entry_id a, struct entry_id b);
/* The smallest ID greater than id (for exclusive range starts on any Redis). */
struct entry_id entry_id_next(struct entry_id id);

/* True when the n bytes at s are valid UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t n);
/* The length of the valid multi-byte UTF-8 sequence at s (n bytes left), or 0. */
size_t utf8_seq(const char *s, size_t n);
/* The code point of the valid sequence of len bytes at s (len from utf8_seq). */
uint32_t utf8_cp(const char *s, size_t len);
/*
 * Whether a terminal acts on code point cp, or it breaks or reorders the
 * text around it: the C1 controls (U+0080 to U+009F, such as U+009B, CSI),
 * U+2028 and U+2029, and the bidirectional marks, embeddings, overrides
 * and isolates.  Printed text escapes them (buf_add_esc, json_quote).
 */
bool cp_hidden(uint32_t cp);

/*
 * Crash tests: when $XRECOVER_FAILPOINT is "NAME" or "NAME:N", the Nth
 * (default first) call of failpoint("NAME") kills the process with
 * SIGKILL, as a power cut or an OOM kill would, at an exact spot.  With
 * ":stop" after it ("NAME:stop", "NAME:N:stop") the process stops there
 * (SIGSTOP) instead, so that a test can act on Redis at that instant and
 * let it go on with SIGCONT.  With ":pause=MS" every call from the Nth
 * on sleeps MS milliseconds and goes on: a slow network, made exact.
 */
void failpoint(const char *name);

/* Parses a whole decimal integer in [min, max]; -1 otherwise. */
int parse_int(const char *s, long long min, long long max, long long *ret);

/* Syncs the directory that holds path, so that a rename into it is durable. */
void sync_dir_of(const char *path);

/*
 * Replaces the file at path with the len bytes at data, through a
 * temporary file beside it and a rename, so a reader never sees half of
 * it.  The temporary file is created under a name nobody can guess and
 * exclusively (mkostemp: O_CREAT|O_EXCL), so a file or symlink planted
 * there is never written through; it gets mode whatever the umask, and is
 * synced before the rename.  The rename replaces path itself, never what a
 * symlink at path points to.  Returns 0, or -1 with errno set and no
 * temporary file left.
 */
int file_replace(const char *path, const void *data, size_t len, unsigned mode);

#endif
