/*
 * confsecret.c: the secrets the configuration names: the Redis password
 * and where it came from (config_redis_target, config_redis_open), the
 * files that hold a secret (read_password: one line, refused when every
 * user may read it), and serve's bearer token.  A secret is zeroed when
 * freed and never repeated in a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../stream/redis.h"
#include "conf.h"

#define CREDENTIAL "redis-password"
#define PASSWORD_MAX 4096

/*
 * Reads a password from the file at path: one line, its newline dropped.
 * what names it in messages.  A file every user may read is refused: the
 * password would not be a secret.  Returns 1 and *ret (secret_free), 0
 * when missing_ok and the file does not exist, -1 on error (XR_EUSAGE).
 */
int
read_password(const char *path, const char *what, bool missing_ok, char **ret,
    struct xerr *err)
{
	char buf[PASSWORD_MAX + 2];
	size_t n = 0;
	struct stat sb;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (missing_ok && errno == ENOENT)
			return 0;
		return xerr_set(err, XR_EUSAGE, "%s '%s': cannot read it: %s", what, path,
		    strerror(errno));
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		xerr_set(err, XR_EUSAGE, "%s '%s': not a regular file", what, path);
		goto out;
	}
	if (sb.st_mode & S_IROTH) {
		xerr_set(err, XR_EUSAGE, "%s '%s' can be read by every user (mode %04o): "
		    "make it readable by its owner only (chmod 600), or by a group (chmod 640)",
		    what, path, (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			xerr_set(err, XR_EUSAGE, "%s '%s': cannot read it: %s", what, path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > PASSWORD_MAX) {
			xerr_set(err, XR_EUSAGE, "%s '%s': longer than %d bytes: not a password",
			    what, path, PASSWORD_MAX);
			goto out;
		}
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		xerr_set(err, XR_EUSAGE, "%s '%s' is empty", what, path);
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL || memchr(buf, '\n', n) != NULL) {
		xerr_set(err, XR_EUSAGE, "%s '%s': must be one line of text", what, path);
		goto out;
	}
	*ret = xstrndup(buf, n);
	rc = 1;
out:
	for (volatile char *p = buf; p < buf + sizeof(buf); p++)
		*p = '\0';
	close(fd);
	return rc;
}

/* A path from the config, relative to the config file's directory. OUT: malloc'd path. */
char *
config_relative(const struct config *c, const char *file)
{
	const char *slash;

	if (file[0] == '/' || c->config_path == NULL ||
	    (slash = strrchr(c->config_path, '/')) == NULL)
		return xstrdup(file);
	char *p = xmalloc((size_t)(slash - c->config_path) + strlen(file) + 2);
	sprintf(p, "%.*s/%s", (int)(slash - c->config_path), c->config_path, file);
	return p;
}

int
config_redis_target(const struct config *c, struct redis_target *ret, struct xerr *err)
{
	struct redis_target t;
	const char *env = getenv("REDISCLI_AUTH");
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char *pw = NULL;
	int r = 0;

	if (redis_target_parse_login(c->redis_url, true, &t, err) < 0)
		return -1;
	if (t.password != NULL && c->redis_from >= FROM_ENV) {
		/* 1, 2: a URL from a flag or the environment */
	} else if (env != NULL && env[0] != '\0') {
		pw = xstrdup(env);
		t.password_from = "REDISCLI_AUTH";
	} else if (t.password != NULL) {
		/* 4: the config file's URL */
	} else if (c->password_file != NULL) {
		char *path = config_relative(c, c->password_file);
		r = read_password(path, "password_file", false, &pw, err);
		free(path);
		t.password_from = "password_file";
	} else if (creds != NULL && creds[0] != '\0') {
		char *path = xmalloc(strlen(creds) + sizeof(CREDENTIAL) + 1);
		sprintf(path, "%s/" CREDENTIAL, creds);
		r = read_password(path, "credential", true, &pw, err);
		free(path);
		t.password_from = "the " CREDENTIAL " credential";
	}
	if (r < 0) {
		redis_target_free(&t);
		return -1;
	}
	if (pw != NULL) {
		secret_free(t.password);
		t.password = pw;
	}
	if (t.password == NULL)
		t.password_from = NULL;
	if (t.user != NULL && t.password == NULL) {
		redis_target_free(&t);
		return xerr_set(err, XR_EUSAGE, "bad redis URL: a user name is given without a "
		    "password (use user:password@, or :password@ for the default user, or give "
		    "the password in REDISCLI_AUTH, password_file in the config, or the "
		    CREDENTIAL " credential)");
	}
	*ret = t;
	return 0;
}

int
config_redis_open(const struct config *c, const struct redis_target *t, struct rconn **ret,
    struct xerr *err)
{
	static const char places[] = "in the URL (redis://:PASSWORD@host), REDISCLI_AUTH, "
	    "password_file in the config, or the systemd credential " CREDENTIAL;
	struct buf msg = BUF_INIT;

	if (rconn_open(t, c->connect_timeout_ms, c->command_timeout_ms, ret, err) == 0)
		return 0;
	if (strstr(err->msg, "NOAUTH") != NULL && t->password == NULL)
		buf_printf(&msg, "%s (Redis wants a password: give it %s)", err->msg, places);
	else if (strstr(err->msg, "refused the login") != NULL)
		buf_printf(&msg, "%s (the password came from %s; a password goes %s)", err->msg,
		    t->password_from != NULL ? t->password_from : "nowhere", places);
	if (msg.len > 0)
		xerr_set(err, err->code, "%s", buf_str(&msg));
	buf_free(&msg);
	return -1;
}

int
config_serve_token(const struct config *c, const char *flag_file, char **ret,
    struct xerr *err)
{
	char *path;
	int r;

	if (flag_file != NULL)
		return read_password(flag_file, "--token-file", false, ret, err);
	if (c->serve_token_file == NULL)
		return 0;
	path = config_relative(c, c->serve_token_file);
	r = read_password(path, "serve.token_file", false, ret, err);
	free(path);
	return r;
}

void
config_token_free(char *token)
{
	secret_free(token);
}
