/*
 * claim_baseline.c: the yardsticks the benchmarks measure xrecover against.
 *
 *   bench-claim xautoclaim URL STREAM GROUP CONSUMER BATCH
 *       drains the group with a plain loop of XAUTOCLAIM ... COUNT BATCH
 *       (min-idle 0) until the cursor is 0-0, journalling nothing: the
 *       ceiling Redis sets.  Prints "entries seconds".
 *   bench-claim rss COMMAND ARGS...
 *       runs COMMAND and prints its exit code, wall seconds and peak RSS
 *       in KiB ("rc seconds maxrss_kib").
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
		fprintf(stderr, "bench-claim: %s\n", err.msg);
		return 1;
	}
	t0 = now();
	for (;;) {
		const char *av[] = {"XAUTOCLAIM", argv[3], argv[4], argv[5], "0", cursor,
		    "COUNT", argv[6]};
		redisReply *r = redisCommandArgv(rc->c, 8, av, NULL);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
			fprintf(stderr, "bench-claim: XAUTOCLAIM failed\n");
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

static int
rss(char **argv)
{
	double t0 = now();
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
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
	if (argc >= 3 && strcmp(argv[1], "rss") == 0)
		return rss(argv);
	fprintf(stderr, "usage: bench-claim xautoclaim URL STREAM GROUP CONSUMER BATCH\n"
	    "       bench-claim rss COMMAND ARGS...\n");
	return 2;
}
