/*
 * xr.h: what every part of xrecover shares: the exit codes and the error
 * record that libraries fill in and only cmd/ prints.
 *
 * Who owns what, everywhere unless a header says otherwise:
 * - A result a function fills in through a pointer named ret (or ret_*)
 *   is the caller's, and is freed with the *_free() function named beside
 *   the declaration (struct replay_result: replay_result_free()).  It is
 *   filled in even on failure when the header says so, and then freed the
 *   same way.
 * - A returned const char * is not the caller's: a static string, or one
 *   that lives as long as the object it was asked of.  A returned char *
 *   is the caller's, to free().
 * - Arguments are borrowed for the call; a function that keeps one
 *   (a callback's ctx, a journal handed to a writer thread) says so.
 * - On failure, functions return -1 (or NULL) and fill in the struct xerr
 *   if one is given; nothing is left half-allocated for the caller.
 */
#ifndef XR_H
#define XR_H

#include <stdarg.h>
#include <stddef.h>

#define XR_VERSION "0.1.0"

/*
 * Exit codes.  One list for the whole tool; README.md and `xrecover help`
 * print it from exit_code_table[] so the three cannot drift.
 */
enum xr_exit {
	XR_OK = 0,          /* success */
	XR_EFAIL = 1,       /* the command ran and something failed */
	XR_EUSAGE = 2,      /* bad command line, config file or input */
	XR_EREDIS = 3,      /* Redis unreachable, refused the login, or went away */
	XR_EJOURNAL = 4,    /* the journal cannot be opened, read or written */
	XR_ELOCKED = 5,     /* another xrecover holds the journal's lock */
	XR_ENOTHING = 6,    /* nothing matched, or nothing left to do */
	XR_EBROKEN = 7,     /* the journal's hash chain is broken (verify) */
	XR_EMISSING = 8,    /* run: a stream or group it was told to work on does not exist */
	XR_EUNSAFE = 9,     /* entries kept back: a copy would reach groups that did not ask for it */
	XR_EMETRICS = 10,   /* run: all went well, but the metrics file could not be written */
	XR_EOWNS = 11,      /* release: the consumer still owns pending entries */
};

struct exit_code_doc {
	int code;
	const char *meaning;
};
extern const struct exit_code_doc exit_code_table[];

/*
 * An error: the exit code it maps to and one line saying what went wrong.
 * Libraries set it and return -1; cmd/ prints msg and exits with code.
 */
struct xerr {
	int code;
	char msg[512];
};

/* Sets err (when err is not NULL) and returns -1, so `return xerr_set(...)`. */
int xerr_set(struct xerr *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int xerr_vset(struct xerr *err, int code, const char *fmt, va_list ap);

#endif
