/*
 * doctor.c: the checks of `xrecover doctor` (see doctor.h), in order:
 * the configuration, Redis (reachable, its version, the user's
 * permissions), the journal (schema, chain, size and growth), its lock,
 * each webhook, and the systemd timer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../notify/notify.h"
#include "../store/journal.h"
#include "../stream/perms.h"
#include "../stream/redis.h"
#include "doctor.h"
#include "verify.h"

#define DAY_MS (24 * 3600 * 1000LL)

const char *
check_level_name(enum check_level l)
{
	switch (l) {
	case CHECK_OK: return "ok";
	case CHECK_SKIP: return "skipped";
	case CHECK_WARN: return "warning";
	case CHECK_FAIL: return "FAIL";
	}
	return "?";
}

static void
add(struct doctor_result *r, const char *name, enum check_level l, const char *fix,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
add(struct doctor_result *r, const char *name, enum check_level l, const char *fix,
    const char *fmt, ...)
{
	struct check *c;
	char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	c = &r->v[r->n++];
	c->name = xstrdup(name);
	c->level = l;
	c->what = what != NULL ? what : xstrdup("?");
	c->fix = fix != NULL && l != CHECK_OK ? xstrdup(fix) : NULL;
}

/* ---------------------------------------------------------------- redis */

static void
check_version(struct doctor_result *r, const struct rconn *rc)
{
	const int *v = rc->version;
	bool ge62 = v[0] > 6 || (v[0] == 6 && v[1] >= 2);

	if (rc->has_inactive)
		add(r, "redis version", CHECK_OK, NULL, "%d.%d.%d: XAUTOCLAIM and XPENDING IDLE "
		    "(6.2+), and XINFO CONSUMERS 'inactive' (7.2+): zombies' quiet time is the "
		    "time since they last read", v[0], v[1], v[2]);
	else if (ge62)
		add(r, "redis version", CHECK_WARN, "upgrade to Redis 7.2 or later for 'inactive'",
		    "%d.%d.%d: XAUTOCLAIM and XPENDING IDLE (6.2+), but no XINFO CONSUMERS "
		    "'inactive' (7.2+): zombies' quiet time is 'idle', which XPENDING and claims "
		    "by others also reset", v[0], v[1], v[2]);
	else
		add(r, "redis version", CHECK_WARN, "upgrade to Redis 6.2 or later",
		    "%d.%d.%d: older than 6.2 (no XAUTOCLAIM, no XPENDING IDLE, no 'inactive'); "
		    "xrecover does not rely on them, but is tested on 6.2 and later",
		    v[0], v[1], v[2]);
}

static void
check_perms(struct doctor_result *r, const struct config *cfg, struct rconn *rc,
    const struct redis_target *t)
{
	size_t n = 0;
	bool *denied;
	const char *how = "?";
	struct xerr err = {0};
	struct buf no = BUF_INIT, acl = BUF_INIT, fix = BUF_INIT;
	const char *key = cfg->streams[0] != NULL ? cfg->streams[0] : "xrecover:doctor:probe";

	while (redis_perms[n].acl != NULL)
		n++;
	denied = xcalloc(n + 1, sizeof(*denied));
	if (redis_perms_check(rc, t->user, key, denied, &how, &err) < 0) {
		add(r, "redis permissions", CHECK_FAIL, "check that Redis stays up", "%s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (denied[i])
			buf_printf(&no, "%s%s", no.len ? " " : "", redis_perms[i].acl);
	redis_perms_acl(&acl);
	buf_printf(&fix, "ACL SETUSER %s on >PASSWORD ~* resetchannels -@all %s%s",
	    t->user != NULL ? t->user : "default", buf_str(&acl),
	    t->db != 0 ? " +select" : "");
	if (no.len == 0)
		add(r, "redis permissions", CHECK_OK, NULL, "user '%s' may run every command "
		    "xrecover sends (%zu, checked by %s on '%s'): %s",
		    t->user != NULL ? t->user : "default", n, how, key, buf_str(&acl));
	else
		add(r, "redis permissions", CHECK_FAIL, buf_str(&fix), "user '%s' may not run "
		    "(checked by %s on '%s'): %s", t->user != NULL ? t->user : "default", how,
		    key, buf_str(&no));
out:
	free(denied);
	buf_free(&no);
	buf_free(&acl);
	buf_free(&fix);
}

static void
check_redis(struct doctor_result *r, const struct config *cfg)
{
	struct redis_target t;
	struct rconn *rc = NULL;
	struct xerr err = {0};

	if (config_redis_target(cfg, &t, &err) < 0) {
		add(r, "redis", CHECK_FAIL, "correct --redis, $XRECOVER_REDIS_URL or redis_url",
		    "%s", err.msg);
		return;
	}
	if (config_redis_open(cfg, &t, &rc, &err) < 0) {
		add(r, "redis", CHECK_FAIL, "start Redis, or correct the URL or the password",
		    "%s", err.msg);
		add(r, "redis version", CHECK_SKIP, NULL, "Redis is not reachable");
		add(r, "redis permissions", CHECK_SKIP, NULL, "Redis is not reachable");
	} else {
		add(r, "redis", CHECK_OK, NULL, "reachable at %s", rc->where);
		check_version(r, rc);
		check_perms(r, cfg, rc, &t);
	}
	rconn_close(rc);
	redis_target_free(&t);
}

/* -------------------------------------------------------------- journal */

static void
check_journal(struct doctor_result *r, const struct config *cfg)
{
	const char *path = cfg->db_path;
	struct journal *j = NULL;
	struct chain_report cr;
	struct xerr err = {0};
	struct stat sb;
	int version = 0;
	int64_t day = 0, week = 0, now = now_ms();
	char line[512];

	if (stat(path, &sb) < 0) {
		add(r, "journal", errno == ENOENT ? CHECK_WARN : CHECK_FAIL,
		    "run 'xrecover run' once (it creates the journal), or correct --db",
		    "'%s': %s", path, strerror(errno));
		add(r, "lock", CHECK_SKIP, NULL, "no journal");
		return;
	}
	if (journal_file_version(path, &version, &err) < 0) {
		add(r, "journal", CHECK_FAIL, "is --db an xrecover journal?", "%s", err.msg);
		add(r, "lock", CHECK_SKIP, NULL, "the journal cannot be read");
		return;
	}
	if (version > journal_schema_version()) {
		add(r, "journal schema", CHECK_FAIL, "use a newer xrecover",
		    "version %d, newer than this xrecover's %d", version, journal_schema_version());
	} else if (version < journal_schema_version()) {
		add(r, "journal schema", CHECK_WARN, "nothing to do: the next run migrates it",
		    "version %d; this xrecover's is %d: the next run migrates it", version,
		    journal_schema_version());
	} else {
		add(r, "journal schema", CHECK_OK, NULL, "version %d, this xrecover's", version);
	}
	if (version == journal_schema_version()) {
		if (verify_journal(cfg, NULL, NULL, NULL, &cr, &err) < 0) {
			add(r, "journal chain", CHECK_FAIL, "see 'xrecover verify'", "%s", err.msg);
		} else {
			verify_explain(&cr, line, sizeof(line));
			if (cr.status == CHAIN_WHOLE)
				add(r, "journal chain", CHECK_OK, NULL, "%s", line);
			else
				add(r, "journal chain", CHECK_FAIL, "see 'xrecover verify' and keep the "
				    "journal as it is for inspection", "%s", line);
		}
		if (journal_open(path, JOURNAL_READ, &j, &err) < 0 ||
		    journal_events_since(j, now - DAY_MS, &day, &err) < 0 ||
		    journal_events_since(j, now - 7 * DAY_MS, &week, &err) < 0)
			add(r, "journal size", CHECK_FAIL, "see the message", "%s", err.msg);
		else
			add(r, "journal size", CHECK_OK, NULL, "%lld bytes; %lld events in the last "
			    "day, %lld in the last week", (long long)sb.st_size, (long long)day,
			    (long long)week);
	} else {
		add(r, "journal chain", CHECK_SKIP, NULL, "verified once migrated");
	}
	/* The lock: taken with no wait and let go at once, as a run would find it. */
	if (j == NULL)
		err = (struct xerr){0};
	if (j == NULL && journal_open(path, JOURNAL_READ, &j, &err) < 0) {
		add(r, "lock", CHECK_SKIP, NULL, "%s", err.msg);
	} else if (journal_lock(j, 0, &err) < 0) {
		add(r, "lock", CHECK_FAIL, err.code == XR_ELOCKED ? "wait for it to end; if it "
		    "hangs, look at that process (a run holds the lock for its whole pass)" :
		    "see the message", "%s", err.msg);
	} else {
		journal_unlock(j);
		add(r, "lock", CHECK_OK, NULL, "free");
	}
	journal_close(j);
}

/* ------------------------------------------------------------- webhooks */

static void
check_webhooks(struct doctor_result *r, const struct config *cfg)
{
	if (cfg->nwebhooks == 0) {
		add(r, "webhooks", CHECK_SKIP, NULL, "none configured");
		return;
	}
	for (size_t i = 0; i < cfg->nwebhooks; i++) {
		struct webhook w;
		struct notify_result nr;
		struct xerr err = {0};
		struct buf name = BUF_INIT;

		buf_printf(&name, "webhook %s", cfg->webhooks[i].name);
		if (config_webhook_open(cfg, i, &w, &err) < 0) {
			add(r, buf_str(&name), CHECK_FAIL, "correct the webhook in the config", "%s",
			    err.msg);
		} else {
			if (notify_probe(&w, &nr) == 0)
				add(r, buf_str(&name), CHECK_OK, NULL, "%s answers (connected in %lldms; "
				    "nothing sent)", nr.target, (long long)nr.elapsed_ms);
			else
				add(r, buf_str(&name), CHECK_FAIL, "start the receiver or correct its "
				    "URL; 'xrecover test-alert' sends a test alert", "%s: %s", nr.target,
				    nr.error);
			webhook_free(&w);
		}
		buf_free(&name);
	}
}

/* ---------------------------------------------------------------- timer */

/* Runs systemctl ARG xrecover.timer quietly; its exit status, or -1. */
static int
systemctl(const char *arg)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("systemctl", "systemctl", arg, "--quiet", "xrecover.timer", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
check_timer(struct doctor_result *r)
{
	int enabled, active;

	/* systemd's own test of whether it is the init system. */
	if (access("/run/systemd/system", F_OK) != 0) {
		add(r, "timer", CHECK_SKIP, NULL, "no systemd");
		return;
	}
	enabled = systemctl("is-enabled");
	active = systemctl("is-active");
	if (enabled == 127 || active == 127)
		add(r, "timer", CHECK_SKIP, NULL, "no systemctl");
	else if (enabled != 0)
		add(r, "timer", CHECK_FAIL, "install the units (deploy/) and 'systemctl enable --now "
		    "xrecover.timer'", "xrecover.timer is not installed or not enabled");
	else if (active != 0)
		add(r, "timer", CHECK_FAIL, "systemctl start xrecover.timer",
		    "xrecover.timer is enabled but not active");
	else
		add(r, "timer", CHECK_OK, NULL, "xrecover.timer is enabled and active");
}

void
doctor_run(const struct config *cfg, const struct xerr *config_error, struct doctor_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (config_error != NULL) {
		add(ret, "config", CHECK_FAIL, "correct the file, or the flag or variable named; "
		    "the other checks need it", "%s", config_error->msg);
		return;
	}
	if (cfg->config_path != NULL)
		add(ret, "config", CHECK_OK, NULL, "'%s' parses", cfg->config_path);
	else
		add(ret, "config", CHECK_OK, NULL, "no config file: flags, environment and defaults");
	check_redis(ret, cfg);
	check_journal(ret, cfg);
	check_webhooks(ret, cfg);
	check_timer(ret);
}

bool
doctor_failed(const struct doctor_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].level == CHECK_FAIL)
			return true;
	return false;
}

void
doctor_result_free(struct doctor_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].what);
		free(r->v[i].fix);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}
