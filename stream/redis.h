/*
 * redis.h: the connection to Redis and the reads xrecover makes of stream
 * metadata (SCAN, XINFO, XPENDING summaries).  Nothing here prints; every
 * function reports through struct xerr.  Who frees what is said per function.
 */
#ifndef XR_REDIS_H
#define XR_REDIS_H

#include <stdbool.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "../lib/xr.h"

/* Where and how to log in, from a redis:// or unix:// URL. */
struct redis_target {
	bool unix_socket;
	char *host;       /* tcp: host name or address (IPv6 without brackets) */
	int port;
	char *path;       /* unix: socket path */
	char *user;       /* NULL: the default user */
	char *password;   /* NULL: no AUTH; never printed, logged or journalled */
	const char *password_from;  /* where it came from, for messages ("the URL") */
	int db;
};

/*
 * Parses redis://[user[:password]@]host[:port][/db] or
 * unix://[user[:password]@]/path.sock[?db=N].  OUT: *ret, freed with
 * redis_target_free().  On error the message names the wrong part of the
 * URL and never contains the password.
 */
int redis_target_parse(const char *url, struct redis_target *ret, struct xerr *err);
/*
 * The same, but with password_elsewhere a user name without a password is
 * accepted: the caller supplies the password (core/confsecret.c).
 */
int redis_target_parse_login(const char *url, bool password_elsewhere,
    struct redis_target *ret, struct xerr *err);
void redis_target_free(struct redis_target *t);
/*
 * Where redis_target_parse() finds the password in arg, a URL or any text
 * with a URL after its first "://" (such as --redis=URL): arg[*ret_off]
 * and *ret_len bytes, as written (still %-escaped).  False when there is
 * none.  To blank a password out of the process's arguments.
 */
bool redis_url_password(const char *arg, size_t *ret_off, size_t *ret_len);
/* "127.0.0.1:6379 db 0" or "/run/redis.sock db 0": safe to print. */
void redis_target_describe(const struct redis_target *t, char *out, size_t len);

struct rconn {
	redisContext *c;
	char where[300];        /* redis_target_describe() */
	int version[3];         /* from INFO server */
	bool has_inactive;      /* XINFO CONSUMERS reports "inactive" (7.2+) */
	struct buf out;         /* commands formatted for a pipeline (resp_*) */
};

/*
 * Connects, logs in and selects the database.  Timeouts in milliseconds;
 * command_timeout bounds every later reply.  OUT: *ret, closed with
 * rconn_close().  Errors: XR_EREDIS (unreachable, login refused),
 * XR_EUSAGE (no such database).
 */
int rconn_open(const struct redis_target *t, int64_t connect_timeout_ms,
    int64_t command_timeout_ms, struct rconn **ret, struct xerr *err);
void rconn_close(struct rconn *rc);

/*
 * Commands in the Redis protocol, for long pipelines: resp_begin() starts
 * one of argc arguments in rc->out, resp_arg() adds each, resp_flush()
 * hands all of rc->out to hiredis and empties it.  The answers are read as
 * usual, one redisGetReply() per command.
 */
void resp_begin(struct rconn *rc, size_t argc);
void resp_arg(struct rconn *rc, const void *p, size_t n);
void resp_flush(struct rconn *rc);

/*
 * Runs one command given as argv.  Returns the reply (the caller frees it
 * with freeReplyObject) or NULL with err set: XR_EREDIS when the connection
 * failed, XR_EFAIL when Redis answered with an error (the reply is freed).
 */
redisReply *rconn_argv(struct rconn *rc, struct xerr *err, int argc,
    const char **argv, const size_t *lens);
/* The same with a hiredis format string (%s, %b, %lld...). */
redisReply *rconn_cmd(struct rconn *rc, struct xerr *err, const char *fmt, ...);
/* Sets err for a failed pipeline read or write on rc (XR_EREDIS). */
int rconn_io_error(struct rconn *rc, struct xerr *err);

/* Looks up key in a flat [key, value, key, value ...] reply; NULL if absent. */
const redisReply *reply_field(const redisReply *r, const char *key);
long long reply_int(const redisReply *r, const char *key, long long dflt);
const char *reply_str(const redisReply *r, const char *key);

/* The type of a key: "stream", "none", "string", ... OUT: type, 16 bytes. */
int redis_key_type(struct rconn *rc, const char *key, char *type, struct xerr *err);

/*
 * Every stream key matching glob (SCAN ... MATCH glob TYPE stream), sorted.
 * OUT: *ret_names, a NULL-terminated array; free with strv_free().
 */
int redis_scan_streams(struct rconn *rc, const char *glob, char ***ret_names,
    size_t *ret_n, struct xerr *err);

struct group_info {
	char *name;
	long long consumers;
	long long pending;
	long long lag;            /* -1 when Redis does not know it */
	long long entries_read;   /* -1 when Redis does not report it */
	char last_delivered[ENTRY_ID_STRLEN];
};

/* XINFO GROUPS.  OUT: *ret (free with group_info_free), *ret_n. */
int redis_groups(struct rconn *rc, const char *stream, struct group_info **ret,
    size_t *ret_n, struct xerr *err);
void group_info_free(struct group_info *g, size_t n);

struct consumer_info {
	char *name;
	long long pending;
	long long idle_ms;
	long long inactive_ms;    /* -1 when Redis has no "inactive" or never saw a read */
};

/*
 * How long a consumer has been silent: "inactive" (its last successful
 * read or claim) where Redis reports it (7.2+), "idle" otherwise.
 */
int64_t consumer_quiet_ms(const struct rconn *rc, const struct consumer_info *c);

/* XINFO CONSUMERS.  OUT: *ret (free with consumer_info_free), *ret_n. */
int redis_consumers(struct rconn *rc, const char *stream, const char *group,
    struct consumer_info **ret, size_t *ret_n, struct xerr *err);
void consumer_info_free(struct consumer_info *c, size_t n);

/* XPENDING summary: count and oldest pending ID (ms 0 when none). */
struct pending_summary {
	long long count;
	struct entry_id oldest;
	struct entry_id newest;
};
int redis_pending_summary(struct rconn *rc, const char *stream, const char *group,
    struct pending_summary *ret, struct xerr *err);

/*
 * How many entries were ever added to the stream (XINFO STREAM
 * "entries-added", Redis 7.0+).  OUT: *ret, -1 when Redis does not say.
 */
int redis_stream_added(struct rconn *rc, const char *stream, long long *ret,
    struct xerr *err);

/*
 * Who each of ids[0..n) is pending on now, in one pipeline (XPENDING
 * <stream> <group> <id> <id> 1 each).  OUT: ret_owners[i], malloc'd, or
 * NULL when the entry is not pending; the caller frees each and keeps the
 * array (n of them).
 */
int redis_pending_owners(struct rconn *rc, const char *stream, const char *group,
    const struct entry_id *ids, size_t n, char **ret_owners, struct xerr *err);

/* An entry pending on a consumer, and how often it was delivered. */
struct pending_id {
	struct entry_id id;
	long long deliveries;
};

/*
 * The entries pending on consumer in stream/group, in ID order (XPENDING
 * ... consumer, a page of 1000 at a time).  OUT: *ret (free()), *ret_n.
 */
int redis_pending_ids(struct rconn *rc, const char *stream, const char *group,
    const char *consumer, struct pending_id **ret, size_t *ret_n, struct xerr *err);

/*
 * The idle time of the first entry (lowest ID) pending on consumer in
 * stream/group: how long it has been held since it was last delivered or
 * claimed (XPENDING ... - + 1 consumer).  OUT: *ret_idle_ms, -1 when the
 * consumer holds nothing.
 */
int redis_oldest_held(struct rconn *rc, const char *stream, const char *group,
    const char *consumer, int64_t *ret_idle_ms, struct xerr *err);

/* Whether stream holds entry id (XRANGE id id). */
int redis_entry_exists(struct rconn *rc, const char *stream, struct entry_id id, bool *ret,
    struct xerr *err);

/*
 * Whether entry id is pending in stream/group, and if so on whom (XPENDING
 * with id as start and end).  OUT: *ret_consumer (free()), NULL when not
 * pending.
 */
int redis_entry_pending(struct rconn *rc, const char *stream, const char *group,
    struct entry_id id, char **ret_consumer, long long *ret_idle_ms,
    long long *ret_deliveries, struct xerr *err);

#endif
