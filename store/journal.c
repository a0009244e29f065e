/* journal.c: opening, migrating, locking and appending to the journal. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "chain.h"
#include "journal.h"
#include "migrations.h"

enum stmt_id {
	ST_APPEND,
	ST_APPEND_MANY,             /* APPEND_ROWS rows in one statement */
	ST_ENTRY_HAS,
	ST_CONSUMER_HAS,
	ST_COPIED,                  /* one row of the copied table */
	ST_COPIED_MANY,             /* COPIED_ROWS rows */
	ST_COUNT
};

/*
 * OR FAIL, not the default ABORT: an INSERT of several rows that may abort
 * half-way makes SQLite copy every page it touches to a statement journal
 * first, and with the indexes that was most of what a run wrote (5 GB of
 * temporary file for a million claims).  A failed statement may keep its
 * earlier rows; every caller then rolls the whole transaction back.
 */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_APPEND] =
	    "INSERT OR FAIL INTO events (seq, ts, run, kind, stream, grp, entry_ms, entry_seq,"
	    " consumer, idle_ms, deliveries, payload, detail, batch, ref_stream, ref_ms,"
	    " ref_seq, incident, hash)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
	    " ?17, ?18, ?19)",
	[ST_APPEND_MANY] = NULL,    /* made by append_many_sql() */
	[ST_ENTRY_HAS] =
	    "SELECT 1 FROM events WHERE stream = ?1 AND grp = ?2 AND entry_ms = ?3"
	    " AND entry_seq = ?4 AND entry_ms IS NOT NULL AND seq > ?5"
	    " AND kind IN (SELECT value FROM json_each(?6)) LIMIT 1",
	[ST_CONSUMER_HAS] =
	    "SELECT 1 FROM events WHERE seq > ?4 AND stream = ?1 AND grp = ?2"
	    " AND consumer = ?3 AND kind IN ('consumer_deleted', 'consumer_kept') LIMIT 1",
	[ST_COPIED] =
	    "INSERT OR FAIL INTO copied (entry_ms, entry_seq, stream, grp, seq, pos, batch)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)",
	[ST_COPIED_MANY] = NULL,    /* made by many_sql() */
};

struct journal {
	sqlite3 *db;
	char *path;
	enum journal_access access;
	int version;
	int lock_fd;
	dev_t dev;              /* the file the connection opened */
	ino_t ino;
	bool in_tx;
	bool durable;           /* the open transaction commits with synchronous=FULL */
	bool head_known;        /* head and head_seq are the newest event's */
	unsigned char head[CHAIN_HASH_LEN];
	int64_t head_seq;
	sqlite3_stmt *st[ST_COUNT];
	struct chain_hasher *hasher;    /* made at the first append */
	const struct journal_incidents *inc;    /* who decides incidents; NULL: none */
	void *inc_ctx;
	struct buf detail;              /* a replay_copies event's detail, being made */
};

/* Sets err from the connection's last error, with what was being done. */
#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", (j)->path, (what), \
	    sqlite3_errmsg((j)->db))

const char *
journal_path(const struct journal *j)
{
	return j->path;
}

struct sqlite3 *
journal_db(struct journal *j)
{
	return j->db;
}

const char *
journal_errmsg(struct journal *j)
{
	return sqlite3_errmsg(j->db);
}

int
journal_schema_version(void)
{
	return migrations[migrations_n - 1].version;
}

static int
exec(struct journal *j, const char *sql, struct xerr *err)
{
	char *msg = NULL;

	if (sqlite3_exec(j->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		xerr_set(err, XR_EJOURNAL, "journal '%s': %s", j->path,
		    msg != NULL ? msg : sqlite3_errmsg(j->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
read_version(struct journal *j, struct xerr *err)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading the schema version");
	if (sqlite3_step(st) != SQLITE_ROW) {
		DB_ERR(j, err, "reading the schema version");
		sqlite3_finalize(st);
		return -1;
	}
	j->version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/*
 * What a migration does beyond its SQL, run after it in its transaction:
 * 003 gives every event of an older journal its place in the hash chain.
 */
static int
migration_code(struct journal *j, int version, struct xerr *err)
{
	if (version == 3)
		return chain_backfill(j->db, j->path, err);
	return 0;
}

/*
 * Copies the journal as it is at schema version `from` to
 * "<path>.bak-v<from>" (mode 0600: it holds payloads), synced, through a
 * temporary file renamed into place, so that the file of that name is
 * always a whole journal.  Called inside the transaction of the first
 * migration, before its SQL, which holds the write lock: nobody can write
 * the journal between the copy and the migration.  A copy left by an earlier attempt whose migration
 * failed (the journal is still at `from`, and nothing wrote it since) is
 * replaced.  ROLLBACK.md says how to put it back.
 */
static int
backup_before_migrating(struct journal *j, int from, struct xerr *err)
{
	struct buf path = BUF_INIT, tmp = BUF_INIT;
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk;
	int fd, rc = -1;

	buf_printf(&path, "%s.bak-v%d", j->path, from);
	buf_printf(&tmp, "%s.tmp", buf_str(&path));
	unlink(buf_str(&tmp));
	fd = open(buf_str(&tmp), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		xerr_set(err, XR_EJOURNAL, "cannot create '%s' for the backup before migrating: %s",
		    buf_str(&tmp), strerror(errno));
		goto out;
	}
	close(fd);
	if (sqlite3_open_v2(buf_str(&tmp), &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		xerr_set(err, XR_EJOURNAL, "cannot open '%s' for the backup before migrating: %s",
		    buf_str(&tmp), dst != NULL ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	/*
	 * Read through a connection of its own: this one holds the write
	 * lock (which keeps every writer out), and WAL lets a reader in.
	 */
	if (sqlite3_open_v2(j->path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		xerr_set(err, XR_EJOURNAL, "cannot open journal '%s' to back it up: %s", j->path,
		    src != NULL ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(src, 10000);
	bk = sqlite3_backup_init(dst, "main", src, "main");
	if (bk == NULL) {
		xerr_set(err, XR_EJOURNAL, "cannot back up journal '%s' to '%s': %s", j->path,
		    buf_str(&tmp), sqlite3_errmsg(dst));
		goto out;
	}
	sqlite3_backup_step(bk, -1);
	if (sqlite3_backup_finish(bk) != SQLITE_OK) {
		xerr_set(err, XR_EJOURNAL, "cannot back up journal '%s' to '%s': %s", j->path,
		    buf_str(&tmp), sqlite3_errmsg(dst));
		goto out;
	}
	/* The copy committed with synchronous=FULL: it is on disk. */
	if (sqlite3_close(dst) != SQLITE_OK) {
		xerr_set(err, XR_EJOURNAL, "cannot close the backup '%s'", buf_str(&tmp));
		goto out;
	}
	dst = NULL;
	if (rename(buf_str(&tmp), buf_str(&path)) < 0) {
		xerr_set(err, XR_EJOURNAL, "cannot rename '%s' to '%s': %s", buf_str(&tmp),
		    buf_str(&path), strerror(errno));
		goto out;
	}
	sync_dir_of(buf_str(&path));
	rc = 0;
out:
	sqlite3_close(src);
	if (dst != NULL)
		sqlite3_close(dst);
	if (rc < 0)
		unlink(buf_str(&tmp));
	buf_free(&path);
	buf_free(&tmp);
	return rc;
}

/*
 * Applies each migration newer than the journal, each in its own
 * BEGIN IMMEDIATE ... COMMIT together with its PRAGMA user_version.  A
 * journal that has a schema already is first copied as it is (see
 * backup_before_migrating), in the first migration's transaction.
 */
static int
migrate(struct journal *j, struct xerr *err)
{
	if (read_version(j, err) < 0)
		return -1;
	if (j->version > journal_schema_version())
		return xerr_set(err, XR_EJOURNAL,
		    "journal '%s' has schema version %d, newer than this xrecover knows (%d); "
		    "use a newer xrecover", j->path, j->version, journal_schema_version());
	if (j->access == JOURNAL_READ) {
		if (j->version < journal_schema_version())
			return xerr_set(err, XR_EJOURNAL,
			    "journal '%s' has schema version %d and needs migrating to %d; "
			    "run 'xrecover run' once to migrate it", j->path, j->version,
			    journal_schema_version());
		return 0;
	}
	/* A new journal (version 0) has nothing to back up. */
	bool backed_up = j->version == 0;
	for (size_t i = 0; i < migrations_n; i++) {
		const struct migration *m = &migrations[i];
		char pragma[64];

		if (m->version <= j->version)
			continue;
		if (exec(j, "BEGIN IMMEDIATE", err) < 0)
			return -1;
		/* Another process may have migrated it meanwhile. */
		if (read_version(j, err) < 0) {
			sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (m->version <= j->version) {
			sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
			continue;
		}
		if (!backed_up) {
			if (backup_before_migrating(j, j->version, err) < 0) {
				sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
				return -1;
			}
			backed_up = true;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m->version);
		if (exec(j, m->sql, err) < 0 || migration_code(j, m->version, err) < 0 ||
		    exec(j, pragma, err) < 0) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err != NULL ? err->msg : "");
			sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
			return xerr_set(err, XR_EJOURNAL, "journal '%s': migration %s failed: %s",
			    j->path, m->name, why);
		}
		if (exec(j, "COMMIT", err) < 0)
			return -1;
		j->version = m->version;
	}
	return 0;
}

/*
 * Creates every missing directory level of dir, each mode 0700 (a journal
 * holds payloads: only its owner may look in).
 */
static int
make_dirs(const char *dir, struct xerr *err)
{
	char *p = xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; ; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = xerr_set(err, XR_EJOURNAL, "cannot create journal directory '%s': %s", p,
			    strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/* Creates the journal file (mode 0600) and, if missing, its directories. */
static int
create_file(const char *path, struct xerr *err)
{
	char *dir = xstrdup(path);
	const char *d = dirname(dir);
	struct stat sb;
	int fd;

	if (stat(d, &sb) < 0 && errno == ENOENT && make_dirs(d, err) < 0) {
		free(dir);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		xerr_set(err, XR_EJOURNAL, "cannot create journal '%s': %s", path,
		    strerror(errno));
		free(dir);
		return -1;
	}
	fsync(fd);
	close(fd);
	/* Make the new directory entry itself durable. */
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
	return 0;
}

/*
 * SQLite keeps allocation statistics behind a global mutex by default;
 * xrecover never reads them, and the journal writer thread allocates a lot.
 */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void
sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/*
 * Opens the SQLite connection to j->path as j->access says, and notes
 * which file it is (the inode: an archive may put another in its place).
 */
static int
connect_db(struct journal *j, struct xerr *err)
{
	struct stat sb;
	int flags;

	if (j->access == JOURNAL_READ) {
		if (stat(j->path, &sb) < 0)
			return xerr_set(err, XR_EJOURNAL, "cannot open journal '%s': %s%s", j->path,
			    strerror(errno), errno == ENOENT ? " (no run has written it yet)" : "");
		flags = SQLITE_OPEN_READONLY;
	} else {
		if (stat(j->path, &sb) < 0 && create_file(j->path, err) < 0)
			return -1;
		flags = SQLITE_OPEN_READWRITE;
	}
	if (sqlite3_open_v2(j->path, &j->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return xerr_set(err, XR_EJOURNAL, "cannot open journal '%s': %s", j->path,
		    j->db != NULL ? sqlite3_errmsg(j->db) : "out of memory");
	if (stat(j->path, &sb) == 0) {
		j->dev = sb.st_dev;
		j->ino = sb.st_ino;
	}
	sqlite3_extended_result_codes(j->db, 1);
	sqlite3_busy_timeout(j->db, 10000);
	if (j->access == JOURNAL_WRITE) {
		sqlite3_stmt *st;
		const char *mode = NULL;

		/*
		 * 16 KiB pages: rows of a few hundred bytes, written in order,
		 * commit with fewer page writes.  Only takes effect on a new file.
		 */
		if (exec(j, "PRAGMA page_size = 16384", err) < 0)
			return -1;
		if (sqlite3_prepare_v2(j->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
			return DB_ERR(j, err, "cannot switch to WAL");
		if (sqlite3_step(st) == SQLITE_ROW)
			mode = (const char *)sqlite3_column_text(st, 0);
		if (mode == NULL || strcmp(mode, "wal") != 0) {
			DB_ERR(j, err, "cannot switch to WAL");
			sqlite3_finalize(st);
			return -1;
		}
		sqlite3_finalize(st);
		if (exec(j, "PRAGMA synchronous = NORMAL", err) < 0)
			return -1;
		/*
		 * Checkpoint each 8 MiB of WAL (512 pages).  A long run then
		 * merges most of its pages into the file while it still claims
		 * (the writer's queue rides out the sync), and the merge left for
		 * the end, when nothing else runs, stays small.  Measured against
		 * 64 and 16 MiB: claims of 100,000 and 1,000,000 entries faster.
		 */
		if (exec(j, "PRAGMA wal_autocheckpoint = 512", err) < 0)
			return -1;
	}
	return 0;
}

/* Closes the connection and forgets its statements (the journal itself stays). */
static void
disconnect_db(struct journal *j)
{
	for (int i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(j->st[i]);
		j->st[i] = NULL;
	}
	if (j->db != NULL) {
		if (j->in_tx)
			sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(j->db);
	}
	j->db = NULL;
	j->in_tx = false;
	j->head_known = false;
}

/*
 * An archive is sealed (journal_seal): a trigger refuses every event
 * added, and its name marks the file.
 */
#define SEAL "events_sealed"

int
journal_seal(struct journal *j, struct xerr *err)
{
	return exec(j, "CREATE TRIGGER " SEAL " BEFORE INSERT ON events BEGIN"
	    " SELECT RAISE(ABORT, 'this journal is an archive: it is read, never written'); END", err);
}

/* Refuses to write an archive: its chain must end where the live journal goes on. */
static int
refuse_sealed(struct journal *j, struct xerr *err)
{
	sqlite3_stmt *st;
	bool sealed;

	if (sqlite3_prepare_v2(j->db, "SELECT 1 FROM sqlite_master WHERE type = 'trigger'"
	    " AND name = '" SEAL "'", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "read its schema");
	sealed = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (sealed)
		return xerr_set(err, XR_EUSAGE, "journal '%s' is an archive: it is read, never "
		    "written; commands that write take the live journal (--db)", j->path);
	return 0;
}

int
journal_open(const char *path, enum journal_access access, struct journal **ret,
    struct xerr *err)
{
	struct journal *j = xcalloc(1, sizeof(*j));

	pthread_once(&sqlite_once, sqlite_setup);
	j->path = xstrdup(path);
	j->access = access;
	j->lock_fd = -1;
	if (connect_db(j, err) < 0 ||
	    (access == JOURNAL_WRITE && refuse_sealed(j, err) < 0) || migrate(j, err) < 0)
		goto fail;
	*ret = j;
	return 0;
fail:
	journal_close(j);
	return -1;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	disconnect_db(j);
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	chain_hasher_free(j->hasher);
	if (j->inc != NULL)
		j->inc->done(j->inc_ctx);
	buf_free(&j->detail);
	free(j->path);
	free(j);
}

/*
 * Takes the flock on "<journal path><suffix>", waiting up to wait_ms; says
 * who holds it in the file.  busy: what the message says the journal is
 * when another process keeps it ("is locked by").
 */
static int
lock_file(const char *path, const char *suffix, const char *busy, int64_t wait_ms,
    int *ret_fd, struct xerr *err)
{
	char *lpath = xmalloc(strlen(path) + strlen(suffix) + 1);
	int64_t deadline = mono_ms() + wait_ms;
	int fd;

	sprintf(lpath, "%s%s", path, suffix);
	fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		xerr_set(err, XR_EJOURNAL, "cannot open lock file '%s': %s", lpath,
		    strerror(errno));
		free(lpath);
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			xerr_set(err, XR_EJOURNAL, "cannot lock '%s': %s", lpath, strerror(errno));
			goto fail;
		}
		if (mono_ms() >= deadline) {
			char holder[32] = "";
			ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
			long pid = n > 0 ? strtol(holder, NULL, 10) : 0;
			char who[48] = "another xrecover";
			if (pid > 0)
				snprintf(who, sizeof(who), "another xrecover (pid %ld)", pid);
			xerr_set(err, XR_ELOCKED, "journal '%s' %s %s; gave up after %" PRId64 "ms",
			    path, busy, who, wait_ms);
			goto fail;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	/* Say who holds it, for the message the next one will print. */
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) {
		/* The pid is only a courtesy; the lock is what matters. */
	}
	*ret_fd = fd;
	free(lpath);
	return 0;
fail:
	close(fd);
	free(lpath);
	return -1;
}

/* Whether the file at the journal's path is not the one the connection opened. */
static bool
replaced(const struct journal *j)
{
	struct stat sb;

	return stat(j->path, &sb) == 0 && (sb.st_dev != j->dev || sb.st_ino != j->ino);
}

int
journal_lock(struct journal *j, int64_t wait_ms, struct xerr *err)
{
	if (j->lock_fd >= 0)
		return 0;
	if (lock_file(j->path, ".lock", "is locked by", wait_ms, &j->lock_fd,
	    err) < 0)
		return -1;
	/*
	 * An archive may have put a new file in the journal's place while
	 * the lock was free: what is written must go to that one.
	 */
	if (!j->in_tx && replaced(j) && (disconnect_db(j), connect_db(j, err) < 0 ||
	    migrate(j, err) < 0)) {
		journal_unlock(j);
		return -1;
	}
	/* Others may have written while it was free: what this connection knew is stale. */
	j->head_known = false;
	if (j->inc != NULL)
		j->inc->forget(j->inc_ctx);
	return 0;
}

void
journal_unlock(struct journal *j)
{
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	j->lock_fd = -1;
}

int
journal_lock_archive(const char *path, int64_t wait_ms, int *ret_fd, struct xerr *err)
{
	return lock_file(path, ".archive.lock", "has an archive running in", wait_ms, ret_fd,
	    err);
}

int
journal_lock_deliver(const char *path, int *ret_fd, struct xerr *err)
{
	char *cut;

	if (lock_file(path, ".deliver.lock", "has a delivery running in", 0, ret_fd, err) == 0)
		return 0;
	/* Not waited for: how long is not news. */
	if (err->code == XR_ELOCKED && (cut = strstr(err->msg, "; gave up after")) != NULL)
		*cut = '\0';
	return -1;
}

int
journal_replace(struct journal *j, const char *from, struct xerr *err)
{
	size_t n = strlen(j->path) + 8;
	char *wal = xmalloc(n), *shm = xmalloc(n);
	sqlite3_stmt *st;
	struct stat sb;
	int rc = -1, step, busy;

	if (j->lock_fd < 0 || j->in_tx || j->access != JOURNAL_WRITE) {
		xerr_set(err, XR_EJOURNAL, "journal '%s': replaced without its lock", j->path);
		goto out;
	}
	/*
	 * Everything into the file, the WAL emptied: readers that still have
	 * the old file open keep reading it whole; the new file must not meet
	 * the old file's WAL.
	 */
	if (sqlite3_prepare_v2(j->db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL) != SQLITE_OK) {
		DB_ERR(j, err, "checkpoint");
		goto out;
	}
	step = sqlite3_step(st);
	busy = step == SQLITE_ROW ? sqlite3_column_int(st, 0) : 1;
	sqlite3_finalize(st);
	if (busy != 0) {
		/* Its WAL must be empty before it goes: a kill then leaves it whole. */
		xerr_set(err, XR_EJOURNAL, "journal '%s': another process kept its WAL busy; "
		    "nothing was changed, try again", j->path);
		goto out;
	}
	/* The new file belongs to whom the old one did, with its mode. */
	if (stat(j->path, &sb) == 0) {
		if (chown(from, sb.st_uid, sb.st_gid) < 0) {
			/* Not root: the file is already this user's. */
		}
		chmod(from, sb.st_mode & 07777);
	}
	disconnect_db(j);
	snprintf(wal, n, "%s-wal", j->path);
	snprintf(shm, n, "%s-shm", j->path);
	if ((unlink(wal) < 0 && errno != ENOENT) || (unlink(shm) < 0 && errno != ENOENT)) {
		xerr_set(err, XR_EJOURNAL, "journal '%s': cannot remove its WAL: %s", j->path,
		    strerror(errno));
		goto reopen;
	}
	if (rename(from, j->path) < 0) {
		xerr_set(err, XR_EJOURNAL, "cannot rename '%s' to '%s': %s", from, j->path,
		    strerror(errno));
		goto reopen;
	}
	sync_dir_of(j->path);
	rc = 0;
reopen:
	if (connect_db(j, rc < 0 ? NULL : err) < 0 || migrate(j, rc < 0 ? NULL : err) < 0)
		rc = -1;
out:
	free(wal);
	free(shm);
	return rc;
}

int
journal_lock_rollback(const char *path, int64_t wait_ms, int *ret_fd, struct xerr *err)
{
	return lock_file(path, ".rollback.lock", "has a rollback running in",
	    wait_ms, ret_fd, err);
}

int
journal_begin(struct journal *j, struct xerr *err)
{
	if (exec(j, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	j->in_tx = true;
	j->head_known = false;      /* read again under the write lock */
	return 0;
}

int
journal_begin_durable(struct journal *j, struct xerr *err)
{
	if (exec(j, "PRAGMA synchronous = FULL", err) < 0)
		return -1;
	j->durable = true;
	if (journal_begin(j, err) < 0) {
		sqlite3_exec(j->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
		j->durable = false;
		return -1;
	}
	return 0;
}

/* Back to the fast setting once a durable transaction is over. */
static void
end_durable(struct journal *j)
{
	if (j->durable)
		sqlite3_exec(j->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	j->durable = false;
}

int
journal_commit(struct journal *j, struct xerr *err)
{
	if (exec(j, "COMMIT", err) < 0) {
		journal_rollback(j);
		return -1;
	}
	j->in_tx = false;
	end_durable(j);
	return 0;
}

bool
journal_in_tx(const struct journal *j)
{
	return j->in_tx;
}

void
journal_rollback(struct journal *j)
{
	if (j->in_tx)
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	j->in_tx = false;
	j->head_known = false;
	if (j->inc != NULL)
		j->inc->forget(j->inc_ctx);     /* its incident_opened events are gone */
	end_durable(j);
}

#define APPEND_PARAMS (CHAIN_COLS + 1)  /* the columns and the hash */
#define APPEND_ROWS 16
#define COPIED_PARAMS 7
#define COPIED_ROWS 25

/* The INSERT of statement one with rows rows of params values: one statement run, not many. */
static char *
many_sql(enum stmt_id one, int rows, int params)
{
	struct buf b = BUF_INIT;
	const char *sql = stmt_sql[one];

	buf_add(&b, sql, (size_t)(strstr(sql, " VALUES") - sql));
	buf_adds(&b, " VALUES ");
	for (int r = 0; r < rows; r++) {
		buf_adds(&b, r > 0 ? ", (" : "(");
		for (int c = 0; c < params; c++)
			buf_adds(&b, c > 0 ? ", ?" : "?");
		buf_addc(&b, ')');
	}
	return b.data;
}

static sqlite3_stmt *
stmt(struct journal *j, enum stmt_id id, struct xerr *err)
{
	if (j->st[id] == NULL) {
		char *made = id == ST_APPEND_MANY ? many_sql(ST_APPEND, APPEND_ROWS, APPEND_PARAMS) :
		    id == ST_COPIED_MANY ? many_sql(ST_COPIED, COPIED_ROWS, COPIED_PARAMS) : NULL;
		int rc = sqlite3_prepare_v3(j->db, made != NULL ? made : stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &j->st[id], NULL);
		free(made);
		if (rc != SQLITE_OK) {
			DB_ERR(j, err, "preparing a statement");
			return NULL;
		}
	}
	return j->st[id];
}

static struct cval
v_text(const char *s, size_t n)
{
	return s != NULL ? (struct cval){CV_TEXT, 0, s, n} : (struct cval){CV_NULL, 0, NULL, 0};
}

static struct cval
v_str(const char *s)
{
	return v_text(s, s != NULL ? strlen(s) : 0);
}

static struct cval
v_int(int64_t i, bool present)
{
	return present ? (struct cval){CV_INT, i, NULL, 0} : (struct cval){CV_NULL, 0, NULL, 0};
}

/* The row an event becomes at seq: what is stored and what is hashed. */
static void
event_values(const struct event *ev, int64_t seq, int64_t ts, struct cval v[CHAIN_COLS])
{
	v[0] = v_int(seq, true);
	v[1] = v_int(ts, true);
	v[2] = v_int(ev->run, ev->run != 0);
	v[3] = v_str(ev->kind);
	v[4] = v_str(ev->stream);
	v[5] = v_str(ev->grp);
	v[6] = v_int((int64_t)ev->entry.ms, ev->has_entry);
	v[7] = v_int((int64_t)ev->entry.seq, ev->has_entry);
	v[8] = v_str(ev->consumer);
	v[9] = v_int(ev->idle_ms, ev->idle_ms >= 0);
	v[10] = v_int(ev->deliveries, ev->deliveries >= 0);
	v[11] = v_text(ev->payload, ev->payload_len);
	v[12] = v_str(ev->detail);
	v[13] = v_int(ev->batch, ev->batch != 0);
	v[14] = v_str(ev->ref_stream);
	v[15] = v_int((int64_t)ev->ref.ms, ev->has_ref);
	v[16] = v_int((int64_t)ev->ref.seq, ev->has_ref);
	v[17] = v_int(ev->incident, ev->incident != 0);
}

/*
 * Binds ev, as the event after the head, to the parameters from base + 1
 * on, and moves the head (in memory) to it.  hash is where its hash is
 * kept until the statement has run.
 */
static void
bind_next(struct journal *j, sqlite3_stmt *st, int base, const struct event *ev,
    unsigned char hash[CHAIN_HASH_LEN])
{
	struct cval v[CHAIN_COLS];

	event_values(ev, j->head_seq + 1, ev->ts != 0 ? ev->ts : now_ms(), v);
	if (j->hasher == NULL)
		j->hasher = chain_hasher_new();
	chain_hash(j->hasher, j->head, v, hash);
	for (int i = 0; i < CHAIN_COLS; i++) {
		if (v[i].type == CV_INT)
			sqlite3_bind_int64(st, base + i + 1, v[i].i);
		else if (v[i].type == CV_TEXT)
			sqlite3_bind_text(st, base + i + 1, v[i].s, (int)v[i].n, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, base + i + 1);
	}
	sqlite3_bind_blob(st, base + CHAIN_COLS + 1, hash, CHAIN_HASH_LEN, SQLITE_STATIC);
	memcpy(j->head, hash, CHAIN_HASH_LEN);
	j->head_seq++;
}

int
journal_append(struct journal *j, const struct event *ev, struct xerr *err)
{
	return journal_append_many(j, ev, 1, err);
}

/* Inserts ev[0..n) after the head, several rows per statement. */
static int
insert_rows(struct journal *j, const struct event *ev, size_t n, struct xerr *err)
{
	unsigned char h[APPEND_ROWS][CHAIN_HASH_LEN];

	while (n > 0) {
		size_t m = n >= APPEND_ROWS ? APPEND_ROWS : 1;
		sqlite3_stmt *st = stmt(j, m > 1 ? ST_APPEND_MANY : ST_APPEND, err);
		int rc;

		if (st == NULL)
			return -1;
		for (size_t r = 0; r < m; r++)
			bind_next(j, st, (int)r * APPEND_PARAMS, &ev[r], h[r]);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			j->head_known = false;
			return DB_ERR(j, err, "cannot append");
		}
		ev += m;
		n -= m;
	}
	return 0;
}

/* A replay_copies event's detail: ev's members, then its copies (see journal.h). */
static const char *
copies_detail(struct journal *j, const struct event *ev)
{
	struct buf *b = &j->detail;
	struct jw w;

	buf_reset(b);
	if (ev->detail != NULL && strlen(ev->detail) > 2) {
		buf_add(b, ev->detail, strlen(ev->detail) - 1);     /* without its '}' */
		buf_addc(b, ',');
	} else {
		buf_addc(b, '{');
	}
	buf_adds(b, "\"copies\":");
	jw_init(&w, b);
	jw_arr(&w);
	for (size_t i = 0; i < ev->ncopies; i++) {
		const struct copy_item *c = &ev->copies[i];
		jw_arr(&w);
		jw_str(&w, c->stream);
		jw_str(&w, c->grp);
		jw_int(&w, (int64_t)c->id.ms);
		jw_int(&w, (int64_t)c->id.seq);
		jw_int(&w, (int64_t)c->copy.ms);
		jw_int(&w, (int64_t)c->copy.seq);
		jw_str(&w, c->consumer);
		jw_int(&w, c->deliveries);
		jw_str(&w, c->source);
		if (c->dlq_stream != NULL) {
			jw_str(&w, c->dlq_stream);
			jw_int(&w, (int64_t)c->dlq_id.ms);
			jw_int(&w, (int64_t)c->dlq_id.seq);
		}
		jw_arr_end(&w);
	}
	jw_arr_end(&w);
	buf_addc(b, '}');
	return buf_str(b);
}

/* The copied rows of the replay_copies event ev, which is at seq. */
static int
insert_copied(struct journal *j, const struct event *ev, int64_t seq, struct xerr *err)
{
	size_t i = 0;

	while (i < ev->ncopies) {
		size_t m = ev->ncopies - i >= COPIED_ROWS ? COPIED_ROWS : 1;
		sqlite3_stmt *st = stmt(j, m > 1 ? ST_COPIED_MANY : ST_COPIED, err);
		int rc;

		if (st == NULL)
			return -1;
		for (size_t r = 0; r < m; r++, i++) {
			const struct copy_item *c = &ev->copies[i];
			int p = (int)r * COPIED_PARAMS;
			sqlite3_bind_int64(st, p + 1, (int64_t)c->id.ms);
			sqlite3_bind_int64(st, p + 2, (int64_t)c->id.seq);
			sqlite3_bind_text(st, p + 3, c->stream, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, p + 4, c->grp, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, p + 5, seq);
			sqlite3_bind_int64(st, p + 6, (int64_t)i);
			sqlite3_bind_int64(st, p + 7, ev->batch);
		}
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return DB_ERR(j, err, "cannot append");
	}
	return 0;
}

int
journal_append_many(struct journal *j, const struct event *ev, size_t n, struct xerr *err)
{
	struct event group[APPEND_ROWS];
	size_t ng = 0;

	/* Outside a transaction another writer may come between: read it each time. */
	if ((!j->head_known || !j->in_tx) && chain_head(j->db, j->path, j->head, &j->head_seq, err) < 0)
		return -1;
	j->head_known = true;
	for (size_t i = 0; i < n; i++) {
		struct event e = ev[i];
		int64_t id = 0;
		bool open = false;

		if (e.ts == 0)
			e.ts = now_ms();
		if (j->inc != NULL && j->inc->assign(j->inc_ctx, j, &e, &id, &open, err) < 0)
			return -1;
		if (open) {
			/* A new incident: its opening event comes first, and names it. */
			struct event o = EVENT_INIT;
			o.kind = "incident_opened";
			o.ts = e.ts;
			o.run = e.run;
			o.stream = e.stream;
			o.grp = e.grp;
			o.consumer = e.consumer;
			if (insert_rows(j, group, ng, err) < 0 || insert_rows(j, &o, 1, err) < 0)
				return -1;
			ng = 0;
			id = j->head_seq;
			j->inc->opened(j->inc_ctx, &e, id);
		}
		if (id != 0)
			e.incident = id;
		if (j->inc != NULL)
			j->inc->appended(j->inc_ctx, &e);
		if (e.ncopies > 0) {
			/* On its own, after those before it, and its copies indexed. */
			e.detail = copies_detail(j, &e);
			if (insert_rows(j, group, ng, err) < 0 || insert_rows(j, &e, 1, err) < 0 ||
			    insert_copied(j, &e, j->head_seq, err) < 0)
				return -1;
			ng = 0;
			continue;
		}
		group[ng++] = e;
		if (ng == APPEND_ROWS) {
			if (insert_rows(j, group, ng, err) < 0)
				return -1;
			ng = 0;
		}
	}
	return insert_rows(j, group, ng, err);
}

void
journal_set_incidents(struct journal *j, const struct journal_incidents *ops, void *ctx)
{
	if (j->inc != NULL)
		j->inc->done(j->inc_ctx);
	j->inc = ops;
	j->inc_ctx = ctx;
}

int
journal_append_commit(struct journal *j, const struct event *ev, struct xerr *err)
{
	if (journal_append(j, ev, err) < 0) {
		journal_rollback(j);
		return -1;
	}
	return journal_commit(j, err);
}

int
journal_head(struct journal *j, char hex[CHAIN_HEX_LEN], int64_t *ret_seq, struct xerr *err)
{
	unsigned char h[CHAIN_HASH_LEN];

	if (chain_head(j->db, j->path, h, ret_seq, err) < 0)
		return -1;
	chain_hex(h, hex);
	return 0;
}

int
journal_next_run(struct journal *j, int64_t *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(j->db,
	    "SELECT max(coalesce((SELECT max(run) FROM events WHERE kind = 'run_start'), 0),"
	    " coalesce((SELECT max(last_run) FROM archives), 0)) + 1",
	    -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading runs");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return DB_ERR(j, err, "reading runs");
	return 0;
}

int
journal_unfinished_runs(struct journal *j, int64_t **ret, size_t *ret_n,
    struct xerr *err)
{
	sqlite3_stmt *st;
	int64_t *runs = NULL;
	size_t n = 0;
	int rc;

	if (sqlite3_prepare_v2(j->db,
	    "SELECT s.run FROM events s WHERE s.kind = 'run_start' AND NOT EXISTS"
	    " (SELECT 1 FROM events e WHERE e.kind = 'run_end' AND e.run = s.run)"
	    " ORDER BY s.run", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading runs");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		runs = xrealloc(runs, (n + 1) * sizeof(*runs));
		runs[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(runs);
		return DB_ERR(j, err, "reading runs");
	}
	*ret = runs;
	*ret_n = n;
	return 0;
}

int
journal_run_counts(struct journal *j, int64_t run, int64_t *claimed, int64_t *lost,
    int64_t *deleted, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	/* Runs never overlap (the lock): a run's events lie before the next one starts. */
	if (sqlite3_prepare_v2(j->db,
	    "SELECT coalesce(sum(kind = 'claim'), 0), coalesce(sum(kind = 'lost'), 0),"
	    " coalesce(sum(kind = 'consumer_deleted'), 0) FROM events"
	    " WHERE seq >= (SELECT seq FROM events WHERE kind = 'run_start' AND run = ?1)"
	    " AND seq < coalesce((SELECT min(seq) FROM events WHERE kind = 'run_start'"
	    "   AND run > ?1), 9223372036854775807) AND run = ?1", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading runs");
	sqlite3_bind_int64(st, 1, run);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*claimed = sqlite3_column_int64(st, 0);
		*lost = sqlite3_column_int64(st, 1);
		*deleted = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return DB_ERR(j, err, "reading runs");
	return 0;
}

int
journal_run_start_seq(struct journal *j, int64_t run, int64_t *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(j->db,
	    "SELECT seq FROM events WHERE kind = 'run_start' AND run = ?1", -1, &st,
	    NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading runs");
	sqlite3_bind_int64(st, 1, run);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading runs");
	return 0;
}

int
journal_entry_has(struct journal *j, const char *stream, const char *grp,
    struct entry_id id, const char *const *kinds, int64_t since_seq, bool *ret,
    struct xerr *err)
{
	sqlite3_stmt *st = stmt(j, ST_ENTRY_HAS, err);
	struct buf list = BUF_INIT;
	int rc;

	if (st == NULL)
		return -1;
	buf_addc(&list, '[');
	for (const char *const *k = kinds; *k != NULL; k++) {
		if (k != kinds)
			buf_addc(&list, ',');
		buf_json_str(&list, *k, strlen(*k));
	}
	buf_addc(&list, ']');
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, grp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)id.ms);
	sqlite3_bind_int64(st, 4, (int64_t)id.seq);
	sqlite3_bind_int64(st, 5, since_seq);
	sqlite3_bind_text(st, 6, buf_str(&list), -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	buf_free(&list);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading events");
	return 0;
}

int
journal_consumer_has(struct journal *j, const char *stream, const char *grp,
    const char *consumer, int64_t since_seq, bool *ret, struct xerr *err)
{
	sqlite3_stmt *st = stmt(j, ST_CONSUMER_HAS, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, grp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, consumer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, since_seq);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return DB_ERR(j, err, "reading events");
	return 0;
}

int
journal_file_version(const char *path, int *ret, struct xerr *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;

	pthread_once(&sqlite_once, sqlite_setup);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		xerr_set(err, XR_EJOURNAL, "cannot read journal '%s': %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	*ret = sqlite3_column_int(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* The ts of event seq, or INT64_MAX past the end (-1 on error). */
static int64_t
ts_at(sqlite3_stmt *st, int64_t seq)
{
	int64_t ts = INT64_MAX;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ts = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		ts = -1;
	return ts;
}

int
journal_events_since(struct journal *j, int64_t since_ms, int64_t *ret, struct xerr *err)
{
	sqlite3_stmt *st;
	char head[65];
	int64_t last, lo = 1, hi;

	if (journal_head(j, head, &last, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(j->db, "SELECT ts FROM events WHERE seq >= ?1 ORDER BY seq LIMIT 1",
	    -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "reading event times");
	/* Events are appended in time order: the first at or after since_ms, by halves. */
	hi = last + 1;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2, ts = ts_at(st, mid);
		if (ts < 0) {
			sqlite3_finalize(st);
			return DB_ERR(j, err, "reading event times");
		}
		if (ts >= since_ms)
			hi = mid;
		else
			lo = mid + 1;
	}
	sqlite3_finalize(st);
	*ret = last - lo + 1;
	return 0;
}
