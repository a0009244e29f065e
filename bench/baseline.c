/*
 * baseline.c: the yardsticks the benchmarks measure xrecover against.
 *
 *   bench-base xautoclaim URL STREAM GROUP CONSUMER BATCH
 *       drains the group with a plain loop of XAUTOCLAIM ... COUNT BATCH
 *       (min-idle 0) until the cursor is 0-0, journalling nothing: the
 *       ceiling Redis sets.  Prints "entries seconds".
 *   bench-base xadd URL STREAM DB
 *       reads the payloads of every claimed entry in the journal DB (not
 *       timed), then adds them to STREAM with XADD * in pipelined chunks of
 *       100, two chunks in flight, journalling nothing: the ceiling for a
 *       replay.  Prints "entries seconds".
 *   bench-base journal DB CLAIMS DAYS [DAY [SKIP]]
 *       writes a journal as a run every two minutes for DAYS days (ending
 *       at the last midnight UTC) would: CLAIMS claims of 100-byte
 *       payloads from 8 groups in all, with run_start and run_end around
 *       each run's.  With DAY (0 = the first), only that day's events:
 *       the same events a 1-day journal of that day holds (-1: all
 *       days).  SKIP "H1-H2": no runs from hour H1 to H2 of each day.
 *   bench-base scan DB
 *       reads every column of every event once, in one thread, hashing
 *       nothing: the floor under verify.  Prints "events seconds".
 *   bench-base rss COMMAND ARGS...
 *       runs COMMAND (its standard output to /dev/null) and prints its exit code, wall seconds and peak RSS
 *       in KiB ("rc seconds maxrss_kib").
 */
#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../store/journal.h"
#include "../lib/payload.h"
#include "../stream/redis.h"

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
xautoclaim(char **argv)
{
	struct redis_target t;
	struct rconn *rc;
	struct xerr err;
	char cursor[64] = "0-0";
	long total = 0;
	double t0;

	if (redis_target_parse(argv[2], &t, &err) < 0 ||
	    rconn_open(&t, 5000, 600000, &rc, &err) < 0) {
		fprintf(stderr, "bench-base: %s\n", err.msg);
		return 1;
	}
	t0 = now();
	for (;;) {
		const char *av[] = {"XAUTOCLAIM", argv[3], argv[4], argv[5], "0", cursor,
		    "COUNT", argv[6]};
		redisReply *r = redisCommandArgv(rc->c, 8, av, NULL);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
			fprintf(stderr, "bench-base: XAUTOCLAIM failed\n");
			return 1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		total += (long)r->element[1]->elements;
		freeReplyObject(r);
		if (strcmp(cursor, "0-0") == 0)
			break;
	}
	printf("%ld %.6f\n", total, now() - t0);
	rconn_close(rc);
	redis_target_free(&t);
	return 0;
}

struct msg {
	struct bytes *fv;
	size_t n;
	char *store;
};

/* Sends messages [from, to) as XADD STREAM * f v ... */
static void
xadd_send(redisContext *c, const char *stream, const struct msg *m, size_t from, size_t to)
{
	const char *av[2 + 2 * 64 + 1];
	size_t len[2 + 2 * 64 + 1];

	for (size_t i = from; i < to; i++) {
		int ac = 0;
		av[ac] = "XADD";
		len[ac++] = 4;
		av[ac] = stream;
		len[ac++] = strlen(stream);
		av[ac] = "*";
		len[ac++] = 1;
		for (size_t k = 0; k < m[i].n && ac < (int)(sizeof(av) / sizeof(*av)) - 1; k++) {
			av[ac] = m[i].fv[k].p;
			len[ac++] = m[i].fv[k].n;
		}
		redisAppendCommandArgv(c, ac, av, len);
	}
}

static int
xadd_recv(redisContext *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void *r;
		if (redisGetReply(c, &r) != REDIS_OK || ((redisReply *)r)->type != REDIS_REPLY_STRING) {
			fprintf(stderr, "bench-base: XADD failed\n");
			return -1;
		}
		freeReplyObject(r);
	}
	return 0;
}

static int
xadd(char **argv)
{
	struct redis_target t;
	struct rconn *rc;
	struct xerr err;
	struct msg *m = NULL;
	size_t n = 0, cap = 0, sent = 0, acked = 0;
	sqlite3 *db;
	sqlite3_stmt *st;
	double t0;

	if (sqlite3_open_v2(argv[4], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT payload FROM claimed_messages ORDER BY seq", -1, &st,
	    NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-base: %s: %s\n", argv[4], sqlite3_errmsg(db));
		return 1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			m = realloc(m, cap * sizeof(*m));
			if (m == NULL)
				return 1;
		}
		if (payload_decode((const char *)sqlite3_column_text(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), &m[n].fv, &m[n].n, &m[n].store) < 0) {
			fprintf(stderr, "bench-base: a payload does not decode\n");
			return 1;
		}
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (redis_target_parse(argv[2], &t, &err) < 0 ||
	    rconn_open(&t, 5000, 600000, &rc, &err) < 0) {
		fprintf(stderr, "bench-base: %s\n", err.msg);
		return 1;
	}
	t0 = now();
	while (acked < n) {
		while (sent < n && sent - acked < 200) {
			size_t to = sent + 100 < n ? sent + 100 : n;
			xadd_send(rc->c, argv[3], m, sent, to);
			sent = to;
		}
		size_t k = sent - acked < 100 ? sent - acked : 100;
		if (xadd_recv(rc->c, k) < 0)
			return 1;
		acked += k;
	}
	printf("%zu %.6f\n", n, now() - t0);
	for (size_t i = 0; i < n; i++) {
		free(m[i].fv);
		free(m[i].store);
	}
	free(m);
	rconn_close(rc);
	redis_target_free(&t);
	return 0;
}

static int
gen_journal(char **argv, int argc)
{
	struct journal *j;
	struct xerr err;
	long long claims = atoll(argv[3]), days = atoll(argv[4]);
	long long only = argc > 5 ? atoll(argv[5]) : -1;
	int skip_from = -1, skip_to = -1;
	long long runs = days * 720, done = 0;
	int64_t end = (int64_t)time(NULL) / 86400 * 86400 * 1000;
	int64_t start = end - days * 86400000LL;
	static const char *streams[] = {"orders", "invoices", "payments", "shipments"};
	static const char *groups[] = {"billing", "audit"};
	char payload[160], detail[1024];
	struct event *evs = NULL;
	size_t cap = 0;

	if (argc > 6 && sscanf(argv[6], "%d-%d", &skip_from, &skip_to) != 2) {
		fprintf(stderr, "bench-base: SKIP is H1-H2\n");
		return 2;
	}
	if (journal_open(argv[2], JOURNAL_WRITE, &j, &err) < 0) {
		fprintf(stderr, "bench-base: %s\n", err.msg);
		return 1;
	}
	for (long long r = 0; r < runs; r++) {
		int64_t ts = start + r * 120000;
		long long n = claims * (r + 1) / runs - done;
		int hour = (int)(ts % 86400000 / 3600000);
		size_t k = 0;

		done += n;
		if (only >= 0 && (ts - start) / 86400000 != only)
			continue;
		if (hour >= skip_from && hour < skip_to)
			continue;
		if (cap < (size_t)n + 2) {
			cap = (size_t)n + 2;
			evs = realloc(evs, cap * sizeof(*evs));
			if (evs == NULL)
				return 1;
		}
		if (journal_begin(j, &err) < 0)
			goto fail;
		struct event ev = EVENT_INIT;
		ev.kind = "run_start";
		ev.ts = ts;
		ev.run = r + 1;
		ev.detail = "{\"mode\":\"LIVE\",\"host\":\"bench\"}";
		evs[k++] = ev;
		for (long long i = 0; i < n; i++) {
			long long g = (r + i) % 8;
			struct event c = EVENT_INIT;
			c.kind = "claim";
			c.ts = ts + 5;
			c.run = r + 1;
			c.stream = streams[g / 2];
			c.grp = groups[g % 2];
			c.has_entry = true;
			c.entry.ms = (uint64_t)(ts - 300000 + i % 1000);
			c.entry.seq = (uint64_t)i;
			/* a consumer dies each hour in each group */
			c.consumer = r % 30 < 15 ? "worker-a" : "worker-b";
			c.idle_ms = 60000 + i;
			c.deliveries = 1 + i % 3;
			snprintf(payload, sizeof(payload), "{\"order_id\":\"%lld\",\"amount\":\"%lld.%02lld\","
			    "\"note\":\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx\"}",
			    done - n + i, i % 1000, i % 100);
			c.payload = strdup(payload);
			c.payload_len = strlen(payload);
			evs[k++] = c;
		}
		ev = (struct event)EVENT_INIT;
		ev.kind = "run_end";
		ev.ts = ts + 900;
		ev.run = r + 1;
		/* what each group had pending afterwards: a slow wave over the day */
		int len = snprintf(detail, sizeof(detail), "{\"status\":\"ok\",\"claimed\":%lld,"
		    "\"duration_ms\":900,\"pending\":[", n);
		for (int g = 0; g < 8; g++)
			len += snprintf(detail + len, sizeof(detail) - (size_t)len,
			    "%s{\"stream\":\"%s\",\"group\":\"%s\",\"pending\":%lld,\"held\":0}",
			    g > 0 ? "," : "", streams[g / 2], groups[g % 2],
			    (long long)(20 + g * 10 + (r % 720 < 360 ? r % 360 : 360 - r % 360) / (g + 2)));
		snprintf(detail + len, sizeof(detail) - (size_t)len, "]}");
		ev.detail = detail;
		evs[k++] = ev;
		int rc = journal_append_many(j, evs, k, &err);
		for (size_t i = 0; i < k; i++)
			if (evs[i].payload != NULL)
				free((char *)evs[i].payload);
		if (rc < 0 || journal_commit(j, &err) < 0)
			goto fail;
	}
	free(evs);
	journal_close(j);
	return 0;
fail:
	fprintf(stderr, "bench-base: %s\n", err.msg);
	return 1;
}

static int
scan(char **argv)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = 0, sum = 0;
	double t0 = now();

	if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT * FROM events ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench-base: %s: %s\n", argv[2], sqlite3_errmsg(db));
		return 1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++)
			sum += sqlite3_column_bytes(st, i);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	printf("%lld %.6f\n", n, now() - t0);
	return sum < 0;
}

static int
rss(char **argv)
{
	double t0 = now();
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		/* Its output is not the benchmark's. */
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return 1;
	printf("%d %.6f %ld\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128,
	    now() - t0, ru.ru_maxrss);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 7 && strcmp(argv[1], "xautoclaim") == 0)
		return xautoclaim(argv);
	if (argc >= 5 && strcmp(argv[1], "journal") == 0)
		return gen_journal(argv, argc);
	if (argc >= 3 && strcmp(argv[1], "scan") == 0)
		return scan(argv);
	if (argc >= 5 && strcmp(argv[1], "xadd") == 0)
		return xadd(argv);
	if (argc >= 3 && strcmp(argv[1], "rss") == 0)
		return rss(argv);
	fprintf(stderr, "usage: bench-base xautoclaim URL STREAM GROUP CONSUMER BATCH\n"
	    "       bench-base xadd URL STREAM DB\n"
	    "       bench-base journal DB CLAIMS DAYS [DAY]\n"
	    "       bench-base scan DB\n"
	    "       bench-base rss COMMAND ARGS...\n");
	return 2;
}
